// IPv6 (RFC 8200), ICMPv6 (RFC 4443) and Neighbor Discovery (RFC 4861) as
// pure functions over byte spans: the header check, the ICMPv6 checksum,
// the NS/NA messages the gateway sends and reads, and Packet Too Big.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <span>

#include "dataplane/wire/headers.h"

namespace l2tpgw::wire {

using Ipv6Addr = std::array<std::uint8_t, 16>;

inline constexpr std::uint16_t ethertype_ipv6 = 0x86dd;
inline constexpr std::uint8_t ipproto_tcp = 6;
inline constexpr std::uint8_t ipproto_icmpv6 = 58;

// RFC 4443 §2.1 and RFC 4861 §4.
inline constexpr std::uint8_t icmp6_packet_too_big = 2;
inline constexpr std::uint8_t icmp6_echo_request = 128;
inline constexpr std::uint8_t icmp6_echo_reply = 129;
inline constexpr std::uint8_t icmp6_neighbor_solicit = 135;
inline constexpr std::uint8_t icmp6_neighbor_advert = 136;

// RFC 8200 §5: every link carries 1280 bytes; an ICMPv6 error is at most
// that long (RFC 4443 §2.4 (c)).
inline constexpr unsigned ipv6_min_mtu = 1280;

struct [[gnu::packed]] Ipv6Hdr {
  Be32 ver_tc_flow;  // version 4 bits, traffic class 8, flow label 20
  Be16 payload_len;
  std::uint8_t next_header;
  std::uint8_t hop_limit;
  Ipv6Addr src;
  Ipv6Addr dst;
};
static_assert(sizeof(Ipv6Hdr) == 40);

enum class Ipv6Check : std::uint8_t {
  ok,
  truncated,    // fewer than 40 bytes
  version,      // not 6
  payload_len,  // payload length beyond the bytes present
};

// On ok the packet is 40 + payload_len bytes; what follows is link padding.
Ipv6Check ipv6_check(std::span<const std::uint8_t> l3) noexcept;

// The first 64 bits of an address: the /64 a client is given, as the
// integer the session table is keyed by (big-endian order kept, so equal
// prefixes give equal keys on any host).
inline std::uint64_t prefix64(const std::uint8_t* addr) noexcept {
  std::uint64_t v;
  std::memcpy(&v, addr, 8);
  return v;
}

inline bool is_link_local(const Ipv6Addr& a) noexcept { return a[0] == 0xfe && (a[1] & 0xc0) == 0x80; }
inline bool is_multicast(const Ipv6Addr& a) noexcept { return a[0] == 0xff; }
inline bool is_unspecified(const Ipv6Addr& a) noexcept { return a == Ipv6Addr{}; }

// RFC 4291 §2.7.1: ff02::1:ffXX:XXXX from the low 24 bits of addr.
Ipv6Addr solicited_node(const Ipv6Addr& addr) noexcept;
// RFC 2464 §7: 33:33 and the low 32 bits of a multicast address.
Mac multicast_mac(const Ipv6Addr& group) noexcept;

// The ICMPv6 checksum (RFC 4443 §2.3, pseudo-header of RFC 8200 §8.1) of
// the ICMPv6 message that follows the 40-byte header of `packet`, with its
// checksum field as it is: 0 when it is right, the value to store when the
// field was zeroed.
std::uint16_t icmp6_checksum(std::span<const std::uint8_t> packet) noexcept;

// The one-or-more 8-byte-unit options of NS/NA/RS/RA (RFC 4861 §4.6).
inline constexpr std::uint8_t nd_opt_source_lladdr = 1;
inline constexpr std::uint8_t nd_opt_target_lladdr = 2;

// A Neighbor Solicitation or Advertisement as read from an IPv6 packet
// whose header passed ipv6_check.
struct NdMessage {
  bool ok = false;  // false: not NS/NA, or failing RFC 4861 §7.1.1/§7.1.2
  std::uint8_t type = 0;
  bool solicited = false;  // NA: S flag
  bool override_flag = false;  // NA: O flag
  Ipv6Addr target{};
  bool has_lladdr = false;  // the source (NS) or target (NA) link-layer option
  Mac lladdr{};
};
NdMessage parse_nd(std::span<const std::uint8_t> packet) noexcept;

// Length of the NS and NA the gateway sends: IPv6 40 + ICMPv6 8 + target
// 16 + one link-layer address option 8.
inline constexpr unsigned nd_message_len = 72;

// Neighbor Solicitation from src for target to target's solicited-node
// group, with our link-layer address (RFC 4861 §4.3, §7.2.2); hop limit 255.
void build_neighbor_solicit(std::span<std::uint8_t, nd_message_len> out, const Ipv6Addr& src,
                            const Ipv6Addr& target, const Mac& mac) noexcept;
// Solicited Neighbor Advertisement for target (ours) to dst with the
// override flag and our link-layer address (RFC 4861 §4.4, §7.2.4).
void build_neighbor_advert(std::span<std::uint8_t, nd_message_len> out, const Ipv6Addr& target,
                           const Ipv6Addr& dst, const Mac& mac) noexcept;

// Turns an echo request (a packet that passed ipv6_check, ICMPv6 checksum
// right) into its reply in place: addresses swapped, hop limit 64, type
// 129, checksum updated. False when it is not a valid echo request.
bool icmp6_echo_reply_in_place(std::span<std::uint8_t> packet) noexcept;

// RFC 4443 §2.4 (c), §3.2: an ICMPv6 error quotes as much of the packet as
// keeps it within 1280 bytes.
inline constexpr unsigned icmp6_quote_max = ipv6_min_mtu - sizeof(Ipv6Hdr) - 8;

// Whether an ICMPv6 error may answer this packet (RFC 4443 §2.4 (e)): not
// an ICMPv6 error itself, not from the unspecified or a multicast address,
// not to a multicast address (Packet Too Big excepted, (e.3), which is all
// we send).
bool icmp6_error_allowed(std::span<const std::uint8_t> packet) noexcept;

// Writes, into the first 48 bytes of `out`, the IPv6 and ICMPv6 headers of
// a Packet Too Big (RFC 4443 §3.2) from src to dst with `mtu`; the quoted
// packet must already fill out[48:]. Checksum computed.
void write_icmp6_packet_too_big(std::span<std::uint8_t> out, const Ipv6Addr& src, const Ipv6Addr& dst,
                                std::uint32_t mtu) noexcept;

}  // namespace l2tpgw::wire
