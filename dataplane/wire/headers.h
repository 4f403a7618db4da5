// Wire headers as they sit in a frame. Every multi-byte field is a Be type;
// structs are packed so they can overlay a byte span at any offset.
#pragma once

#include <array>
#include <cstdint>

#include "dataplane/wire/be.h"

namespace l2tpgw::wire {

using Mac = std::array<std::uint8_t, 6>;

// Per frame: two loads and a compare, where std::array's == calls memcmp.
inline bool mac_equal(const Mac& a, const Mac& b) noexcept {
  std::uint32_t a4, b4;
  std::uint16_t a2, b2;
  __builtin_memcpy(&a4, a.data(), 4);
  __builtin_memcpy(&b4, b.data(), 4);
  __builtin_memcpy(&a2, a.data() + 4, 2);
  __builtin_memcpy(&b2, b.data() + 4, 2);
  return ((a4 ^ b4) | static_cast<std::uint32_t>(a2 ^ b2)) == 0;
}

inline constexpr std::uint16_t ethertype_ipv4 = 0x0800;
inline constexpr std::uint16_t ethertype_arp = 0x0806;
inline constexpr std::uint8_t ipproto_icmp = 1;
inline constexpr std::uint8_t ipproto_ipip = 4;  // IPv4 in IPv4: the next header of tunnel-mode ESP
inline constexpr std::uint8_t ipproto_udp = 17;
inline constexpr std::uint8_t ipproto_esp = 50;
inline constexpr std::uint16_t port_ike = 500;
inline constexpr std::uint16_t port_nat_t = 4500;  // RFC 3948
inline constexpr std::uint16_t port_l2tp = 1701;   // RFC 2661

struct [[gnu::packed]] EthHdr {
  Mac dst;
  Mac src;
  Be16 type;
};
static_assert(sizeof(EthHdr) == 14);

struct [[gnu::packed]] ArpHdr {
  Be16 htype;  // 1: Ethernet
  Be16 ptype;  // 0x0800
  std::uint8_t hlen;
  std::uint8_t plen;
  Be16 op;  // 1 request, 2 reply
  Mac sha;
  Be32 spa;
  Mac tha;
  Be32 tpa;
};
static_assert(sizeof(ArpHdr) == 28);

struct [[gnu::packed]] Ipv4Hdr {
  std::uint8_t ver_ihl;
  std::uint8_t tos;
  Be16 total_len;
  Be16 id;
  Be16 frag;  // flags (3 bits) and fragment offset in 8-byte units
  std::uint8_t ttl;
  std::uint8_t proto;
  Be16 csum;
  Be32 src;
  Be32 dst;

  constexpr unsigned ihl_bytes() const noexcept { return (ver_ihl & 0x0fu) * 4u; }
  constexpr bool is_fragment() const noexcept { return (frag.host() & 0x3fffu) != 0; }
};
static_assert(sizeof(Ipv4Hdr) == 20);

struct [[gnu::packed]] UdpHdr {
  Be16 src;
  Be16 dst;
  Be16 len;
  Be16 csum;
};
static_assert(sizeof(UdpHdr) == 8);

struct [[gnu::packed]] IcmpHdr {
  std::uint8_t type;  // 8 echo request, 0 echo reply
  std::uint8_t code;
  Be16 csum;
  Be16 id;
  Be16 seq;
};
static_assert(sizeof(IcmpHdr) == 8);

// RFC 4303 §2: SPI and sequence number; IV and payload follow.
struct [[gnu::packed]] EspHdr {
  Be32 spi;
  Be32 seq;
};
static_assert(sizeof(EspHdr) == 8);

// RFC 4303 §2.4-2.6: pad length and next header precede the ICV.
struct [[gnu::packed]] EspTrailer {
  std::uint8_t pad_len;
  std::uint8_t next_header;
};
static_assert(sizeof(EspTrailer) == 2);

}  // namespace l2tpgw::wire
