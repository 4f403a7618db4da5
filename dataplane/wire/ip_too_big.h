// What a router does with an IPv4 packet larger than the next link's MTU
// (RFC 791 §2.3 and §3.2, RFC 1191, RFC 1812 §4.3.2): cut it into fragments,
// or answer ICMP "fragmentation needed" with the MTU. Pure functions over
// byte spans; the caller owns the buffers.
#pragma once

#include <cstdint>
#include <span>

#include "dataplane/wire/headers.h"

namespace l2tpgw::wire {

inline constexpr std::uint16_t ipv4_df = 0x4000;
inline constexpr std::uint16_t ipv4_mf = 0x2000;
inline constexpr std::uint16_t ipv4_offset_mask = 0x1fff;

// RFC 1812 §4.3.2.3: the ICMP error quotes as much of the datagram as fits
// in 576 bytes with its own IPv4 and ICMP headers.
inline constexpr unsigned icmp_error_max = 576;
inline constexpr unsigned icmp_quote_max = icmp_error_max - sizeof(Ipv4Hdr) - sizeof(IcmpHdr);

// Bytes of data per fragment for a packet with a 20-byte header and an MTU:
// a multiple of 8 (RFC 791 §3.1, fragment offset in 8-byte units).
constexpr unsigned fragment_data_len(unsigned mtu) noexcept {
  return mtu > sizeof(Ipv4Hdr) ? (mtu - static_cast<unsigned>(sizeof(Ipv4Hdr))) / 8 * 8 : 0;
}

constexpr unsigned fragment_count(unsigned data_len, unsigned per_fragment) noexcept {
  return per_fragment == 0 ? 0 : (data_len + per_fragment - 1) / per_fragment;
}

// The header of one fragment of `orig` (20 bytes, no options): `offset`
// bytes into orig's data, `len` bytes of it; MF set unless it is the last
// piece of a datagram that was itself the last (or only) one. Checksum
// computed. RFC 791 §3.2 "fragmentation procedure".
void ipv4_fragment_header(Ipv4Hdr& out, const Ipv4Hdr& orig, unsigned offset, unsigned len, bool last) noexcept;

// Whether an ICMP error may answer this packet (RFC 1812 §4.3.2.7): not a
// non-initial fragment, not an ICMP error itself, not from an address that
// names no single host. `ip` is the whole packet (20-byte header).
bool icmp_error_allowed(std::span<const std::uint8_t> ip) noexcept;

// Writes, into the first 28 bytes of `out`, the IPv4 and ICMP headers of a
// "destination unreachable, fragmentation needed and DF set" (type 3 code
// 4) from src to dst carrying next-hop MTU `mtu` (RFC 1191 §4); the quoted
// datagram must already fill out[28:]. Both checksums computed.
void write_icmp_frag_needed(std::span<std::uint8_t> out, std::uint32_t src, std::uint32_t dst,
                            std::uint16_t mtu) noexcept;

}  // namespace l2tpgw::wire
