#include "dataplane/wire/ipv6.h"

#include <utility>

#include "dataplane/wire/checksum.h"

namespace l2tpgw::wire {
namespace {

constexpr unsigned icmp6_hdr_len = 8;  // type, code, checksum, 4 bytes by type
constexpr std::uint8_t nd_hop_limit = 255;  // RFC 4861 §7.1: proves the sender is on-link

std::uint32_t sum_addr(const Ipv6Addr& a, std::uint32_t sum) noexcept {
  return csum_partial({a.data(), a.size()}, sum);
}

void write_header(Ipv6Hdr& h, const Ipv6Addr& src, const Ipv6Addr& dst, unsigned payload, std::uint8_t hop) noexcept {
  h.ver_tc_flow = Be32::from_host(6u << 28);
  h.payload_len = Be16::from_host(static_cast<std::uint16_t>(payload));
  h.next_header = ipproto_icmpv6;
  h.hop_limit = hop;
  h.src = src;
  h.dst = dst;
}

void set_checksum(std::span<std::uint8_t> packet) noexcept {
  packet[sizeof(Ipv6Hdr) + 2] = 0;
  packet[sizeof(Ipv6Hdr) + 3] = 0;
  const std::uint16_t c = icmp6_checksum(packet);
  packet[sizeof(Ipv6Hdr) + 2] = static_cast<std::uint8_t>(c >> 8);
  packet[sizeof(Ipv6Hdr) + 3] = static_cast<std::uint8_t>(c & 0xff);
}

void write_nd(std::span<std::uint8_t, nd_message_len> out, std::uint8_t type, std::uint32_t flags,
              const Ipv6Addr& src, const Ipv6Addr& dst, const Ipv6Addr& target, std::uint8_t opt,
              const Mac& mac) noexcept {
  auto& ip = *reinterpret_cast<Ipv6Hdr*>(out.data());
  write_header(ip, src, dst, nd_message_len - sizeof(Ipv6Hdr), nd_hop_limit);
  std::uint8_t* p = out.data() + sizeof(Ipv6Hdr);
  p[0] = type;
  p[1] = 0;
  p[2] = p[3] = 0;
  p[4] = static_cast<std::uint8_t>(flags >> 24);
  p[5] = p[6] = p[7] = 0;
  std::memcpy(p + 8, target.data(), 16);
  p[24] = opt;
  p[25] = 1;  // length in units of 8 bytes
  std::memcpy(p + 26, mac.data(), 6);
  set_checksum(out);
}

}  // namespace

Ipv6Check ipv6_check(std::span<const std::uint8_t> l3) noexcept {
  if (l3.size() < sizeof(Ipv6Hdr)) {
    return Ipv6Check::truncated;
  }
  if ((l3[0] >> 4) != 6) {
    return Ipv6Check::version;
  }
  const unsigned payload = static_cast<unsigned>(l3[4] << 8 | l3[5]);
  if (sizeof(Ipv6Hdr) + payload > l3.size()) {
    return Ipv6Check::payload_len;
  }
  return Ipv6Check::ok;
}

Ipv6Addr solicited_node(const Ipv6Addr& addr) noexcept {
  Ipv6Addr g{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff, addr[13], addr[14], addr[15]};
  return g;
}

Mac multicast_mac(const Ipv6Addr& group) noexcept {
  return Mac{0x33, 0x33, group[12], group[13], group[14], group[15]};
}

std::uint16_t icmp6_checksum(std::span<const std::uint8_t> packet) noexcept {
  const auto& ip = *reinterpret_cast<const Ipv6Hdr*>(packet.data());
  const auto msg = packet.subspan(sizeof(Ipv6Hdr));
  const auto len = static_cast<std::uint32_t>(msg.size());
  std::uint32_t sum = sum_addr(ip.src, 0);
  sum = sum_addr(ip.dst, sum);
  sum += (len >> 16) + (len & 0xffff) + ipproto_icmpv6;
  return csum_fold(csum_partial(msg, sum));
}

NdMessage parse_nd(std::span<const std::uint8_t> packet) noexcept {
  NdMessage nd;
  const auto& ip = *reinterpret_cast<const Ipv6Hdr*>(packet.data());
  // NS and NA are 24 bytes before their options (RFC 4861 §4.3, §4.4).
  constexpr unsigned fixed = icmp6_hdr_len + 16;
  if (ip.next_header != ipproto_icmpv6 || packet.size() < sizeof(Ipv6Hdr) + fixed) {
    return nd;
  }
  const std::uint8_t* p = packet.data() + sizeof(Ipv6Hdr);
  const unsigned len = static_cast<unsigned>(packet.size() - sizeof(Ipv6Hdr));
  nd.type = p[0];
  // RFC 4861 §7.1.1/§7.1.2: hop limit 255, code 0, checksum right, target
  // not multicast, options of non-zero length.
  if ((nd.type != icmp6_neighbor_solicit && nd.type != icmp6_neighbor_advert) || ip.hop_limit != nd_hop_limit ||
      p[1] != 0 || icmp6_checksum(packet) != 0) {
    return nd;
  }
  std::memcpy(nd.target.data(), p + 8, 16);
  if (is_multicast(nd.target)) {
    return nd;
  }
  nd.solicited = (p[4] & 0x40) != 0;
  nd.override_flag = (p[4] & 0x20) != 0;
  const std::uint8_t want = nd.type == icmp6_neighbor_solicit ? nd_opt_source_lladdr : nd_opt_target_lladdr;
  for (unsigned i = fixed; i < len;) {
    if (len - i < 2 || p[i + 1] == 0 || len - i < p[i + 1] * 8u) {
      return nd;
    }
    if (p[i] == want && p[i + 1] == 1) {
      nd.has_lladdr = true;
      std::memcpy(nd.lladdr.data(), p + i + 2, 6);
    }
    i += p[i + 1] * 8u;
  }
  // §7.1.1: a solicitation from the unspecified address (duplicate address
  // detection) carries no source link-layer option.
  if (nd.type == icmp6_neighbor_solicit && is_unspecified(ip.src) && nd.has_lladdr) {
    return nd;
  }
  // §7.1.2: a solicited advertisement is not sent to a multicast group.
  if (nd.type == icmp6_neighbor_advert && nd.solicited && is_multicast(ip.dst)) {
    return nd;
  }
  nd.ok = true;
  return nd;
}

void build_neighbor_solicit(std::span<std::uint8_t, nd_message_len> out, const Ipv6Addr& src,
                            const Ipv6Addr& target, const Mac& mac) noexcept {
  write_nd(out, icmp6_neighbor_solicit, 0, src, solicited_node(target), target, nd_opt_source_lladdr, mac);
}

void build_neighbor_advert(std::span<std::uint8_t, nd_message_len> out, const Ipv6Addr& target,
                           const Ipv6Addr& dst, const Mac& mac) noexcept {
  // S (solicited) and O (override): RFC 4861 §7.2.4.
  write_nd(out, icmp6_neighbor_advert, 0x60000000u, target, dst, target, nd_opt_target_lladdr, mac);
}

bool icmp6_echo_reply_in_place(std::span<std::uint8_t> packet) noexcept {
  auto& ip = *reinterpret_cast<Ipv6Hdr*>(packet.data());
  if (ip.next_header != ipproto_icmpv6 || packet.size() < sizeof(Ipv6Hdr) + icmp6_hdr_len) {
    return false;
  }
  std::uint8_t* p = packet.data() + sizeof(Ipv6Hdr);
  if (p[0] != icmp6_echo_request || p[1] != 0 || icmp6_checksum(packet) != 0) {
    return false;
  }
  // The pseudo-header's sum does not change when the addresses swap; only
  // the type word does (RFC 1624).
  std::swap(ip.src, ip.dst);
  ip.hop_limit = 64;
  p[0] = icmp6_echo_reply;
  const std::uint16_t c = csum_update16(static_cast<std::uint16_t>(p[2] << 8 | p[3]),
                                        icmp6_echo_request << 8, icmp6_echo_reply << 8);
  p[2] = static_cast<std::uint8_t>(c >> 8);
  p[3] = static_cast<std::uint8_t>(c & 0xff);
  return true;
}

bool icmp6_error_allowed(std::span<const std::uint8_t> packet) noexcept {
  if (packet.size() < sizeof(Ipv6Hdr)) {
    return false;
  }
  const auto& ip = *reinterpret_cast<const Ipv6Hdr*>(packet.data());
  if (is_unspecified(ip.src) || is_multicast(ip.src)) {
    return false;
  }
  // Error types are 0..127 (RFC 4443 §2.1).
  if (ip.next_header == ipproto_icmpv6 &&
      (packet.size() < sizeof(Ipv6Hdr) + 1 || packet[sizeof(Ipv6Hdr)] < 128)) {
    return false;
  }
  return true;
}

void write_icmp6_packet_too_big(std::span<std::uint8_t> out, const Ipv6Addr& src, const Ipv6Addr& dst,
                                std::uint32_t mtu) noexcept {
  auto& ip = *reinterpret_cast<Ipv6Hdr*>(out.data());
  write_header(ip, src, dst, static_cast<unsigned>(out.size() - sizeof(Ipv6Hdr)), 64);
  std::uint8_t* p = out.data() + sizeof(Ipv6Hdr);
  p[0] = icmp6_packet_too_big;
  p[1] = 0;
  p[4] = static_cast<std::uint8_t>(mtu >> 24);
  p[5] = static_cast<std::uint8_t>(mtu >> 16);
  p[6] = static_cast<std::uint8_t>(mtu >> 8);
  p[7] = static_cast<std::uint8_t>(mtu);
  set_checksum(out);
}

}  // namespace l2tpgw::wire
