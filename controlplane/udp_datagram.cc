#include "controlplane/udp_datagram.h"

#include <cstring>

#include "dataplane/wire/checksum.h"
#include "dataplane/wire/headers.h"
#include "dataplane/wire/ipv4.h"

namespace l2tpgw::cp {
namespace {

std::uint16_t udp_checksum(const UdpEndpoints& e, std::span<const std::uint8_t> udp) noexcept {
  std::uint32_t sum = wire::pseudo_header_sum(e.src_addr, e.dst_addr, wire::ipproto_udp,
                                              static_cast<std::uint16_t>(udp.size()));
  return wire::csum_fold(wire::csum_partial(udp, sum));
}

}  // namespace

UdpDatagram parse_udp_datagram(std::span<const std::uint8_t> ipv4) noexcept {
  UdpDatagram d;
  if (wire::ipv4_check(ipv4) != wire::Ipv4Check::ok) {
    d.error = UdpDatagramError::ipv4_malformed;
    return d;
  }
  const auto* ip = reinterpret_cast<const wire::Ipv4Hdr*>(ipv4.data());
  if (ip->is_fragment()) {
    d.error = UdpDatagramError::fragment;
    return d;
  }
  if (ip->proto != wire::ipproto_udp) {
    d.error = UdpDatagramError::not_udp;
    return d;
  }
  const auto l4 = ipv4.subspan(ip->ihl_bytes(), ip->total_len.host() - ip->ihl_bytes());
  if (l4.size() < sizeof(wire::UdpHdr)) {
    d.error = UdpDatagramError::udp_truncated;
    return d;
  }
  const auto* udp = reinterpret_cast<const wire::UdpHdr*>(l4.data());
  const unsigned udp_len = udp->len.host();
  if (udp_len < sizeof(wire::UdpHdr) || udp_len > l4.size()) {
    d.error = UdpDatagramError::udp_truncated;
    return d;
  }
  d.ends = {ip->src.host(), ip->dst.host(), udp->src.host(), udp->dst.host()};
  // A zero checksum means none was sent (RFC 768); RFC 3948 §3.1.2 senders
  // after ESP transport decapsulation may have had theirs zeroed for them.
  if (udp->csum.host() != 0 && udp_checksum(d.ends, l4.first(udp_len)) != 0) {
    d.error = UdpDatagramError::udp_checksum;
    return d;
  }
  d.payload = l4.subspan(sizeof(wire::UdpHdr), udp_len - sizeof(wire::UdpHdr));
  return d;
}

std::vector<std::uint8_t> build_udp_datagram(const UdpEndpoints& ends,
                                             std::span<const std::uint8_t> payload) {
  const std::size_t udp_len = sizeof(wire::UdpHdr) + payload.size();
  std::vector<std::uint8_t> pkt(sizeof(wire::Ipv4Hdr) + udp_len);
  auto* ip = reinterpret_cast<wire::Ipv4Hdr*>(pkt.data());
  ip->ver_ihl = 0x45;
  ip->total_len = wire::Be16::from_host(static_cast<std::uint16_t>(pkt.size()));
  ip->frag = wire::Be16::from_host(0x4000);  // DF: the data plane fragments nothing it sends
  ip->ttl = 64;
  ip->proto = wire::ipproto_udp;
  ip->src = wire::Be32::from_host(ends.src_addr);
  ip->dst = wire::Be32::from_host(ends.dst_addr);
  ip->csum = wire::Be16::from_host(wire::csum(std::span(pkt).first(sizeof(wire::Ipv4Hdr))));
  auto* udp = reinterpret_cast<wire::UdpHdr*>(ip + 1);
  udp->src = wire::Be16::from_host(ends.src_port);
  udp->dst = wire::Be16::from_host(ends.dst_port);
  udp->len = wire::Be16::from_host(static_cast<std::uint16_t>(udp_len));
  if (!payload.empty()) {
    std::memcpy(udp + 1, payload.data(), payload.size());
  }
  std::uint16_t c = udp_checksum(ends, std::span(pkt).subspan(sizeof(wire::Ipv4Hdr)));
  // RFC 768: a computed zero is sent as all ones.
  udp->csum = wire::Be16::from_host(c == 0 ? 0xffff : c);
  return pkt;
}

std::string_view describe(UdpDatagramError e) noexcept {
  switch (e) {
    case UdpDatagramError::none: return "ok";
    case UdpDatagramError::ipv4_malformed: return "malformed IPv4 header";
    case UdpDatagramError::fragment: return "IPv4 fragment";
    case UdpDatagramError::not_udp: return "not UDP";
    case UdpDatagramError::udp_truncated: return "UDP length beyond the packet";
    case UdpDatagramError::udp_checksum: return "bad UDP checksum";
  }
  return "unknown";
}

}  // namespace l2tpgw::cp
