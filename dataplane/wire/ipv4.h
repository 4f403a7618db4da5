// IPv4 header validation (RFC 791, RFC 1122 §3.2.1) as a pure function over
// the bytes from the IPv4 header to the end of the frame.
#pragma once

#include <cstdint>
#include <span>

#include "dataplane/wire/checksum.h"
#include "dataplane/wire/headers.h"

namespace l2tpgw::wire {

enum class Ipv4Check : std::uint8_t {
  ok,
  truncated,   // fewer than 20 bytes
  version,     // not 4
  header_len,  // IHL below 5 or beyond the bytes present
  total_len,   // total length beyond the bytes present or below IHL
  checksum,
  ttl_zero,
};

// On ok, the header is well-formed; the frame may still carry link-layer
// padding past total_len, which the caller trims.
Ipv4Check ipv4_check(std::span<const std::uint8_t> l3) noexcept;

// The network part of an address under a prefix of len bits (0..32).
constexpr std::uint32_t prefix_mask(unsigned len) noexcept {
  return len == 0 ? 0 : ~std::uint32_t{0} << (32 - len);
}

constexpr bool in_prefix(std::uint32_t addr, std::uint32_t net, unsigned len) noexcept {
  return ((addr ^ net) & prefix_mask(len)) == 0;
}

// Whether addr/len names a network: no bits set beyond its length.
constexpr bool is_network(std::uint32_t addr, unsigned len) noexcept {
  return len <= 32 && (addr & ~prefix_mask(len)) == 0;
}

// RFC 1700's default TTL, for every IPv4 header we originate.
inline constexpr std::uint8_t originated_ttl = 64;

// A router's TTL decrement with the checksum patched (RFC 1624); the caller
// has checked that the TTL is above 1.
inline void decrement_ttl(Ipv4Hdr& ip) noexcept {
  // TTL shares its 16-bit word with the protocol.
  const std::uint16_t before = static_cast<std::uint16_t>(ip.ttl << 8 | ip.proto);
  --ip.ttl;
  ip.csum = Be16::from_host(csum_update16(ip.csum.host(), before, static_cast<std::uint16_t>(ip.ttl << 8 | ip.proto)));
}

}  // namespace l2tpgw::wire
