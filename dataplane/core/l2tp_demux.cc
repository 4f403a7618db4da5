#include "dataplane/core/l2tp_demux.h"

#include <cstring>

#include "dataplane/core/ip6_output.h"
#include "dataplane/core/ip_output.h"
#include "dataplane/core/punt.h"
#include "dataplane/crypto/mppe.h"
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "dataplane/wire/checksum.h"
#include "dataplane/wire/ipv4.h"
#include "dataplane/wire/ipv6.h"
#include "dataplane/wire/l2tp.h"
#include "dataplane/wire/ppp.h"
#include "dataplane/wire/tcp_mss.h"

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
  wire::decrement_ttl(*ip);
  const unsigned total = ip->total_len.host();
  SessionCounters& c = w.session_ctr[s.slot];
  ++c.rx_packets;
  c.rx_bytes += total;
  if (w.rt.inside < 0) {
    w.drop(m, Drop::no_route);
    return;
  }
  ip_forward(w, w.rt.ports[static_cast<unsigned>(w.rt.inside)], m, inner_off, total);
}

// Forwards the inner IPv6 packet at inner_off of m out of the inside port.
void forward_inner6(WorkerCtx& w, rte_mbuf* m, SessionState& s, unsigned inner_off,
                    unsigned inner_len) noexcept {
  if (s.params.ipv6 == 0) {
    drop_session(w, m, Drop::ppp_protocol, &SessionCounters::other_drops, s);
    return;
  }
  auto* bytes = rte_pktmbuf_mtod_offset(m, std::uint8_t*, inner_off);
  if (wire::ipv6_check({bytes, inner_len}) != wire::Ipv6Check::ok) {
    drop_session(w, m, Drop::inner6_malformed, &SessionCounters::other_drops, s);
    return;
  }
  auto* ip = reinterpret_cast<wire::Ipv6Hdr*>(bytes);
  // Link-local traffic (router and neighbour solicitations on the PPP
  // link) stays on the link (RFC 4291 §2.5.6); multicast is not routed.
  if (wire::is_link_local(ip->src) || wire::is_multicast(ip->dst) || wire::is_link_local(ip->dst)) {
    drop_session(w, m, Drop::inner6_scope, &SessionCounters::other_drops, s);
    return;
  }
  // Anti-spoofing: a client sends only from the /64 it was given.
  if (std::memcmp(ip->src.data(), s.params.ipv6_prefix, 8) != 0) {
    drop_session(w, m, Drop::inner6_spoofed, &SessionCounters::spoofed, s);
    return;
  }
  if (ip->hop_limit <= 1) {
    drop_session(w, m, Drop::inner6_hop_limit, &SessionCounters::other_drops, s);
    return;
  }
  --ip->hop_limit;
  const unsigned total = sizeof(wire::Ipv6Hdr) + ip->payload_len.host();
  if (w.rt.cfg.tcp_mss != 0) {
    wire::clamp_tcp_mss6({bytes, total}, w.rt.cfg.tcp_mss);
  }
  rte_pktmbuf_adj(m, static_cast<std::uint16_t>(inner_off - sizeof(wire::EthHdr)));
  rte_pktmbuf_trim(m, static_cast<std::uint16_t>(rte_pktmbuf_data_len(m) - sizeof(wire::EthHdr) - total));
  SessionCounters& c = w.session_ctr[s.slot];
  ++c.rx_packets;
  c.rx_bytes += total;
  if (w.rt.inside < 0 || !w.rt.ports[static_cast<unsigned>(w.rt.inside)].has_v6) {
    w.drop(m, Drop::no_route);
    return;
  }
  ip6_output(w, w.rt.ports[static_cast<unsigned>(w.rt.inside)], m);
}

Drop drop_for(crypto::MppeError e) noexcept {
  switch (e) {
    case crypto::MppeError::too_short: return Drop::mppe_too_short;
    case crypto::MppeError::not_encrypted: return Drop::mppe_not_encrypted;
    case crypto::MppeError::compressed: return Drop::mppe_compressed;
    case crypto::MppeError::not_flushed: return Drop::mppe_not_flushed;
    case crypto::MppeError::stale_count: return Drop::mppe_stale_count;
    case crypto::MppeError::coherency_gap: return Drop::mppe_coherency_gap;
    case crypto::MppeError::awaiting_flush: return Drop::mppe_awaiting_flush;
    case crypto::MppeError::none: break;
  }
  return Drop::mppe_too_short;
}

// Asks the control plane for a CCP Reset-Request (RFC 3078 §8.2). A full
// event ring loses the request; the peer's next flag frame still resyncs.
void request_reset(WorkerCtx& w, const SessionState& s, std::uint16_t count) noexcept {
  channel::CtrlMsg msg{};
  msg.session_event.hdr = {channel::version, channel::MsgType::session_event, 0};
  msg.session_event.kind = channel::SessionEventKind::mppe_reset_request;
  msg.session_event.local_tunnel_id = s.params.local_tunnel_id;
  msg.session_event.local_session_id = s.params.local_session_id;
  msg.session_event.coherency_count = count;
  rte_ring_mp_enqueue_elem(w.rt.seg->event_ring(), &msg, channel::ctrl_elem_size);
}

// An MPPE frame (the bytes after protocol 0x00FD) at frame_off of m: decrypted
// in place, then its inner protocol must be IPv4.
void mppe_input(WorkerCtx& w, rte_mbuf* m, SessionState& s, unsigned frame_off, unsigned frame_len) noexcept {
  std::uint8_t* frame = rte_pktmbuf_mtod_offset(m, std::uint8_t*, frame_off);
  const crypto::MppeResult r = s.mppe_rx.decrypt(w.mgr.get(), {frame, frame_len});
  if (r.error != crypto::MppeError::none) {
    if (r.send_reset_request) {
      request_reset(w, s, static_cast<std::uint16_t>((frame[0] & 0x0f) << 8 | frame[1]));
    }
    drop_session(w, m, drop_for(r.error), &SessionCounters::other_drops, s);
    return;
  }
  // The encrypted protocol field: one byte when its low bit is set (PFC,
  // RFC 1661 §6.5), else two.
  const std::span<std::uint8_t> inner = r.inner;
  const unsigned proto_len = inner.empty() || (inner[0] & 1u) ? 1 : 2;
  if (inner.size() <= proto_len) {
    drop_session(w, m, Drop::ppp_malformed, &SessionCounters::other_drops, s);
    return;
  }
  const unsigned proto = proto_len == 1 ? inner[0] : unsigned{inner[0]} << 8 | inner[1];
  if (proto != wire::ppp_proto_ipv4 && proto != wire::ppp_proto_ipv6) {
    drop_session(w, m, Drop::ppp_protocol, &SessionCounters::other_drops, s);
    return;
  }
  const auto inner_off = static_cast<unsigned>(inner.data() - rte_pktmbuf_mtod(m, std::uint8_t*)) + proto_len;
  if (proto == wire::ppp_proto_ipv6) {
    forward_inner6(w, m, s, inner_off, static_cast<unsigned>(inner.size()) - proto_len);
    return;
  }
  forward_inner(w, m, s, inner_off, static_cast<unsigned>(inner.size()) - proto_len);
}

// A plain session (SPI 0) takes only plain packets, an ESP session those
// of any inbound SA of its own peer: during an IKE rekey the client sends
// on the new SA while the session may still name the old one, or the other
// way round (packets in flight). The peer is the SA's: its address and, with
// UDP encapsulation, its port, since clients behind one NAT share the address.
// The second lookup runs only while SPIs differ, i.e. around a rekey.
bool same_peer_sa(WorkerCtx& w, const channel::SessionParams& sp, const SaState* via) noexcept {
  const std::uint32_t want = __atomic_load_n(&sp.sa_in_spi, __ATOMIC_RELAXED);
  if (via == nullptr || want == 0) {
    return via == nullptr && want == 0;
  }
  if (via->params.spi == want) {
    return true;
  }
  const SaState* own = w.rt.sas->find_inbound(want);
  if (own == nullptr) {
    return false;
  }
  const channel::SaParams& a = own->params;
  const channel::SaParams& b = via->params;
  return a.peer_addr == b.peer_addr && a.encap == b.encap &&
         (a.encap == channel::Encap::none || a.peer_port == b.peer_port);
}

}  // namespace

void l2tp_demux(WorkerCtx& w, const PortInfo& outside, const Decapped& d) noexcept {
  rte_mbuf* m = d.m;
  const auto* ip = rte_pktmbuf_mtod_offset(m, const wire::Ipv4Hdr*, sizeof(wire::EthHdr));
  const auto* udp = reinterpret_cast<const wire::UdpHdr*>(ip + 1);
  const std::span<const std::uint8_t> l2tp{rte_pktmbuf_mtod_offset(m, const std::uint8_t*, l2tp_off),
                                           udp->len.host() - sizeof(wire::UdpHdr)};
  const PuntOrigin from{d.sa, ip->src.host(), d.peer_port,
                        d.sa != nullptr ? d.sa->params.encap : channel::Encap::none};
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
  if (!same_peer_sa(w, sp, d.sa) || sp.peer_addr != ip->src.host() || sp.peer_port != udp->src.host()) {
    w.drop(m, Drop::l2tp_wrong_sa);
    return;
  }
  const auto ppp_bytes = l2tp.subspan(h.payload_offset, h.payload_len);
  const wire::PppParse p = wire::parse_ppp(ppp_bytes);
  if (!p.ok()) {
    drop_session(w, m, Drop::ppp_malformed, &SessionCounters::other_drops, *s);
    return;
  }
  const unsigned info_off = l2tp_off + h.payload_offset + p.header_len;
  const unsigned info_len = h.payload_len - p.header_len;
  const bool mppe = sp.mppe_bits != 0;
  switch (wire::classify_ppp(p.protocol)) {
    case wire::PppClass::ipv4:
      // With MPPE negotiated, clear IPv4 would bypass the encryption the
      // operator asked for.
      if (mppe) {
        drop_session(w, m, Drop::ppp_unencrypted, &SessionCounters::other_drops, *s);
        return;
      }
      forward_inner(w, m, *s, info_off, info_len);
      return;
    case wire::PppClass::control:
    case wire::PppClass::other:
      ++w.session_ctr[s->slot].punted;
      punt(w, outside, m, channel::PuntReason::ppp, from);
      return;
    case wire::PppClass::compressed:
      if (mppe && p.protocol == crypto::mppe_ppp_protocol) {
        mppe_input(w, m, *s, info_off, info_len);
        return;
      }
      drop_session(w, m, Drop::ppp_protocol, &SessionCounters::other_drops, *s);
      return;
    case wire::PppClass::ipv6:
      if (mppe && sp.ipv6 != 0) {
        drop_session(w, m, Drop::ppp_unencrypted, &SessionCounters::other_drops, *s);
        return;
      }
      forward_inner6(w, m, *s, info_off, info_len);
      return;
  }
}

}  // namespace l2tpgw
