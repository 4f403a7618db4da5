// The Internet checksum (RFC 1071) and its incremental update (RFC 1624).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "dataplane/wire/be.h"

namespace l2tpgw::wire {

// One's-complement sum of 16-bit big-endian words, not yet folded.
std::uint32_t csum_partial(std::span<const std::uint8_t> data, std::uint32_t sum = 0) noexcept;

constexpr std::uint16_t csum_fold(std::uint32_t sum) noexcept {
  sum = (sum & 0xffffu) + (sum >> 16);
  sum = (sum & 0xffffu) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum & 0xffffu);
}

// The value to store in a checksum field (host order of the 16-bit word).
inline std::uint16_t csum(std::span<const std::uint8_t> data) noexcept {
  return csum_fold(csum_partial(data));
}

// RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m') for a 16-bit field changed m → m'.
constexpr std::uint16_t csum_update16(std::uint16_t hc, std::uint16_t m, std::uint16_t m_new) noexcept {
  std::uint32_t sum = static_cast<std::uint16_t>(~hc);
  sum += static_cast<std::uint16_t>(~m);
  sum += m_new;
  sum = (sum & 0xffffu) + (sum >> 16);
  sum = (sum & 0xffffu) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum & 0xffffu);
}

constexpr std::uint16_t csum_update32(std::uint16_t hc, std::uint32_t m, std::uint32_t m_new) noexcept {
  hc = csum_update16(hc, static_cast<std::uint16_t>(m >> 16), static_cast<std::uint16_t>(m_new >> 16));
  return csum_update16(hc, static_cast<std::uint16_t>(m & 0xffff), static_cast<std::uint16_t>(m_new & 0xffff));
}

// The checksum of a 20-byte IPv4 header (no options) with its checksum
// field as it is: 0 when the header is right, the value to store when the
// field was zeroed. Five 32-bit words, unrolled: the generic loop costs more
// than the header it sums.
inline std::uint16_t ipv4_header_csum(const std::uint8_t* h) noexcept {
  std::uint64_t acc = 0;
  for (unsigned i = 0; i < 20; i += 4) {
    std::uint32_t w;
    __builtin_memcpy(&w, h + i, 4);
    acc += byteswap(w);
  }
  acc = (acc & 0xffffffffu) + (acc >> 32);
  std::uint32_t s = static_cast<std::uint32_t>((acc & 0xffff) + ((acc >> 16) & 0xffff));
  return csum_fold(s);
}

// Sum of the IPv4 pseudo-header (RFC 768) for UDP/TCP checksums.
constexpr std::uint32_t pseudo_header_sum(std::uint32_t src, std::uint32_t dst, std::uint8_t proto,
                                          std::uint16_t len) noexcept {
  return (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + proto + len;
}

}  // namespace l2tpgw::wire
