#include "dataplane/core/l2tp_demux.h"

#include "dataplane/core/ip_output.h"
#include "dataplane/core/punt.h"
#include "dataplane/wire/checksum.h"
#include "dataplane/wire/ipv4.h"
#include "dataplane/wire/l2tp.h"
#include "dataplane/wire/ppp.h"

namespace l2tpgw {
namespace {

constexpr unsigned l2l3 = sizeof(wire::EthHdr) + sizeof(wire::Ipv4Hdr);
constexpr unsigned l2tp_off = l2l3 + sizeof(wire::UdpHdr);  // L2TP from the frame's start

void drop_session(WorkerCtx& w, rte_mbuf* m, Drop why, std::uint64_t SessionCounters::*field,
                  const SessionState& s) noexcept {
  ++(w.session_ctr[s.slot].*field);
  w.drop(m, why);
}

// Forwards the inner packet at inner_off of m out of the inside port.
void forward_inner(WorkerCtx& w, rte_mbuf* m, SessionState& s, unsigned inner_off,
                   unsigned inner_len) noexcept {
  auto* ip = rte_pktmbuf_mtod_offset(m, wire::Ipv4Hdr*, inner_off);
  const std::span<const std::uint8_t> bytes{reinterpret_cast<const std::uint8_t*>(ip), inner_len};
  if (wire::ipv4_check(bytes) != wire::Ipv4Check::ok) {
    drop_session(w, m, Drop::inner_malformed, &SessionCounters::other_drops, s);
    return;
  }
  // The source check is the session's anti-spoofing: a client may only
  // send from the address it was given.
  if (ip->src.host() != s.params.inner_addr) {
    drop_session(w, m, Drop::inner_spoofed, &SessionCounters::spoofed, s);
    return;
  }
  if (ip->ttl <= 1) {
    drop_session(w, m, Drop::inner_ttl, &SessionCounters::other_drops, s);
    return;
  }
  // RFC 1624: TTL shares its 16-bit word with the protocol.
  const std::uint16_t before = static_cast<std::uint16_t>(ip->ttl << 8 | ip->proto);
  --ip->ttl;
  ip->csum = wire::Be16::from_host(
      wire::csum_update16(ip->csum.host(), before, static_cast<std::uint16_t>(ip->ttl << 8 | ip->proto)));
  const unsigned total = ip->total_len.host();
  // Keep room for a fresh Ethernet header right in front of the inner packet.
  rte_pktmbuf_adj(m, static_cast<std::uint16_t>(inner_off - sizeof(wire::EthHdr)));
  rte_pktmbuf_trim(m, static_cast<std::uint16_t>(rte_pktmbuf_data_len(m) - sizeof(wire::EthHdr) - total));
  SessionCounters& c = w.session_ctr[s.slot];
  ++c.rx_packets;
  c.rx_bytes += total;
  if (w.rt.inside < 0) {
    w.drop(m, Drop::no_route);
    return;
  }
  ip_output(w, w.rt.ports[static_cast<unsigned>(w.rt.inside)], m);
}

}  // namespace

void l2tp_demux(WorkerCtx& w, const PortInfo& outside, const Decapped& d) noexcept {
  rte_mbuf* m = d.m;
  const auto* ip = rte_pktmbuf_mtod_offset(m, const wire::Ipv4Hdr*, sizeof(wire::EthHdr));
  const auto* udp = reinterpret_cast<const wire::UdpHdr*>(ip + 1);
  const std::span<const std::uint8_t> l2tp{rte_pktmbuf_mtod_offset(m, const std::uint8_t*, l2tp_off),
                                           udp->len.host() - sizeof(wire::UdpHdr)};
  const PuntOrigin from{d.sa, ip->src.host(), d.peer_port, d.sa->params.encap};
  const wire::L2tpParse h = wire::parse_l2tp(l2tp);
  if (!h.ok()) {
    w.drop(m, Drop::l2tp_malformed);
    return;
  }
  if (h.is_control) {
    punt(w, outside, m, channel::PuntReason::l2tp, from);
    return;
  }
  SessionState* s = w.rt.sessions->find_by_ids(h.tunnel_id, h.session_id);
  if (s == nullptr) {
    w.drop(m, Drop::l2tp_unknown_session);
    return;
  }
  const channel::SessionParams& sp = s->params;
  if (sp.sa_in_spi != d.sa->params.spi || sp.peer_addr != ip->src.host() || sp.peer_port != udp->src.host()) {
    w.drop(m, Drop::l2tp_wrong_sa);
    return;
  }
  const auto ppp_bytes = l2tp.subspan(h.payload_offset, h.payload_len);
  const wire::PppParse p = wire::parse_ppp(ppp_bytes);
  if (!p.ok()) {
    drop_session(w, m, Drop::ppp_malformed, &SessionCounters::other_drops, *s);
    return;
  }
  switch (wire::classify_ppp(p.protocol)) {
    case wire::PppClass::ipv4:
      forward_inner(w, m, *s, l2tp_off + h.payload_offset + p.header_len, h.payload_len - p.header_len);
      return;
    case wire::PppClass::control:
    case wire::PppClass::other:
      ++w.session_ctr[s->slot].punted;
      punt(w, outside, m, channel::PuntReason::ppp, from);
      return;
    case wire::PppClass::ipv6:
    case wire::PppClass::compressed:
      drop_session(w, m, Drop::ppp_protocol, &SessionCounters::other_drops, *s);
      return;
  }
}

}  // namespace l2tpgw
