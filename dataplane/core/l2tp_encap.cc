#include "dataplane/core/l2tp_encap.h"

#include <algorithm>
#include <cstring>

#include "dataplane/core/inner_mtu.h"
#include "dataplane/core/ip6_output.h"
#include "dataplane/core/ip_output.h"
#include "dataplane/crypto/mppe.h"
#include "dataplane/wire/checksum.h"
#include "dataplane/wire/ip_too_big.h"
#include "dataplane/wire/ipv4.h"
#include "dataplane/wire/ipv6.h"
#include "dataplane/wire/l2tp.h"
#include "dataplane/wire/ppp.h"
#include "dataplane/wire/tcp_mss.h"
#include "dataplane/wire/tunnel_mtu.h"

namespace l2tpgw {
namespace {

void drop_session(WorkerCtx& w, rte_mbuf* m, Drop why, const SessionState& s) noexcept {
  ++w.session_ctr[s.slot].other_drops;
  w.drop(m, why);
}

// Puts outer IPv4, UDP, L2TP and PPP (with MPPE when negotiated) in front
// of the inner packet of inner_len bytes that follows m's Ethernet header.
bool wrap(WorkerCtx& w, SessionState& s, rte_mbuf* m, unsigned inner_len, std::uint16_t ppp_proto) noexcept {
  const channel::SessionParams& sp = s.params;
  const unsigned add =
      sizeof(wire::Ipv4Hdr) + sizeof(wire::UdpHdr) + s.l2tp_hdr_len + s.ppp_hdr_len + s.mppe_hdr_len;
  if (rte_pktmbuf_headroom(m) < add) {
    drop_session(w, m, Drop::encap_too_big, s);
    return false;
  }
  // The old Ethernet header's bytes become the front of the outer IPv4
  // header; ip_output writes a new one in front after ESP.
  auto* base = reinterpret_cast<std::uint8_t*>(rte_pktmbuf_prepend(m, static_cast<std::uint16_t>(add)));
  std::uint8_t* p = base + sizeof(wire::EthHdr);
  auto* ip = reinterpret_cast<wire::Ipv4Hdr*>(p);
  const unsigned udp_len = add - sizeof(wire::Ipv4Hdr) + inner_len;
  *ip = wire::Ipv4Hdr{};
  ip->ver_ihl = 0x45;
  ip->total_len = wire::Be16::from_host(static_cast<std::uint16_t>(sizeof(wire::Ipv4Hdr) + udp_len));
  ip->ttl = wire::originated_ttl;
  ip->proto = wire::ipproto_udp;
  ip->src = wire::Be32::from_host(w.rt.outside_port().addr);
  ip->dst = wire::Be32::from_host(sp.peer_addr);
  ip->csum = wire::Be16::from_host(wire::ipv4_header_csum(p));
  auto* udp = reinterpret_cast<wire::UdpHdr*>(ip + 1);
  udp->src = wire::Be16::from_host(sp.local_port);
  udp->dst = wire::Be16::from_host(sp.peer_port);
  udp->len = wire::Be16::from_host(static_cast<std::uint16_t>(udp_len));
  udp->csum = wire::Be16{0};  // IPv4 allows it, and ESP's ICV covers the datagram

  wire::L2tpDataHeader h{};
  h.tunnel_id = sp.peer_tunnel_id;
  h.session_id = sp.peer_session_id;
  if (sp.l2tp_sequencing != 0) {
    h.with_sequence = true;
    h.ns = s.ns_out.fetch_add(1, std::memory_order_relaxed);
  }
  std::uint8_t* l2tp = reinterpret_cast<std::uint8_t*>(udp + 1);
  std::uint8_t* ppp = l2tp + s.l2tp_hdr_len;
  wire::build_l2tp_data_header({l2tp, s.l2tp_hdr_len}, h, s.ppp_hdr_len + s.mppe_hdr_len + inner_len);
  if (s.mppe_hdr_len == 0) {
    wire::build_ppp_header({ppp, s.ppp_hdr_len}, ppp_proto, sp.ppp_acfc != 0, sp.ppp_pfc != 0);
  } else {
    // RFC 3078 §3: PPP protocol 0x00FD, the MPPE header, then the encrypted
    // protocol field and datagram.
    wire::build_ppp_header({ppp, s.ppp_hdr_len}, crypto::mppe_ppp_protocol, sp.ppp_acfc != 0, sp.ppp_pfc != 0);
    std::uint8_t* frame = ppp + s.ppp_hdr_len;
    std::uint8_t* proto = frame + crypto::mppe_header_len;
    if (sp.ppp_pfc != 0) {
      proto[0] = static_cast<std::uint8_t>(ppp_proto);
    } else {
      proto[0] = 0;
      proto[1] = static_cast<std::uint8_t>(ppp_proto);
    }
    if (s.mppe_tx_reset.load(std::memory_order_relaxed) &&
        s.mppe_tx_reset.exchange(false, std::memory_order_acquire)) [[unlikely]] {
      s.mppe_tx.reset();
    }
    s.mppe_tx.encrypt(w.mgr.get(), {frame, s.mppe_hdr_len + inner_len});
  }
  SessionCounters& c = w.session_ctr[s.slot];
  ++c.tx_packets;
  c.tx_bytes += inner_len;
  return true;
}

// Where a session's packets leave: through its outbound SA, or, for plain
// L2TP from a trusted LAC (SPIs 0), straight out of the outside port.
struct OutPath {
  SaState* sa = nullptr;
  unsigned max_payload = 0;  // the largest IPv4 payload (UDP and all) that fits
  bool ok = false;
};

OutPath out_path(WorkerCtx& w, const SessionState& s) noexcept {
  const channel::SessionParams& sp = s.params;
  // Moved by the main thread on a rekey (SessionTable::set_sa).
  const std::uint32_t out_spi = __atomic_load_n(&sp.sa_out_spi, __ATOMIC_RELAXED);
  if (out_spi == 0) {
    return {nullptr, static_cast<unsigned>(w.rt.outside_port().mtu - sizeof(wire::Ipv4Hdr)), true};
  }
  SaState* sa = w.rt.sas->find_outbound(out_spi, sp.peer_addr);
  return {sa, sa != nullptr ? sa->max_payload : 0u, sa != nullptr};
}

// A wrapped packet of a plain session carries UDP checksum 0, which IPv4
// allows (RFC 768); for ESP sessions the ICV covers the datagram.
void emit(WorkerCtx& w, rte_mbuf* m, const OutPath& out, EncapBatch& batch) noexcept {
  if (out.sa != nullptr) {
    batch.add(w, m, out.sa);
  } else {
    ip_output(w, w.rt.outside_port(), m);
  }
}

// RFC 1191 §4: "fragmentation needed and DF set" with the next-hop MTU.
void icmp_frag_needed(WorkerCtx& w, const SessionState& s, rte_mbuf* m, unsigned inner_len,
                      unsigned mtu) noexcept {
  Drop why{};
  if (!send_frag_needed(w, m, inner_len, mtu, why)) {
    drop_session(w, m, why, s);
  }
}

// RFC 791 §3.2: each fragment is then wrapped like any packet.
void fragment(WorkerCtx& w, SessionState& s, const OutPath& out, rte_mbuf* m, unsigned inner_len,
              unsigned mtu, EncapBatch& batch) noexcept {
  rte_mbuf* frags[max_inner_fragments];
  Drop why{};
  const unsigned n = cut_fragments(w, m, inner_len, mtu, frags, why);
  if (n == 0) {
    drop_session(w, m, why, s);
    return;
  }
  for (unsigned k = 0; k < n; ++k) {
    const unsigned len = rte_pktmbuf_data_len(frags[k]) - sizeof(wire::EthHdr);
    if (wrap(w, s, frags[k], len, wire::ppp_proto_ipv4)) {
      emit(w, frags[k], out, batch);
    }
  }
}

// RFC 4443 §3.2: Packet Too Big with the tunnel MTU, from our inside IPv6
// address, quoting what fits in 1280 bytes; built in place as for IPv4.
void icmp6_too_big(WorkerCtx& w, const SessionState& s, rte_mbuf* m, unsigned len, unsigned mtu) noexcept {
  auto* inner = rte_pktmbuf_mtod_offset(m, std::uint8_t*, sizeof(wire::EthHdr));
  if (w.rt.inside < 0 || !wire::icmp6_error_allowed({inner, len})) {
    drop_session(w, m, Drop::inner_too_big, s);
    return;
  }
  constexpr unsigned hdrs = sizeof(wire::Ipv6Hdr) + 8;
  if (rte_pktmbuf_headroom(m) < hdrs) {
    drop_session(w, m, Drop::encap_too_big, s);
    return;
  }
  if (!w.take_icmp_token()) {
    drop_session(w, m, Drop::icmp_rate, s);
    return;
  }
  const wire::Ipv6Addr to = reinterpret_cast<const wire::Ipv6Hdr*>(inner)->src;
  const unsigned quote = std::min(len, wire::icmp6_quote_max);
  rte_pktmbuf_prepend(m, hdrs);
  rte_pktmbuf_trim(m, static_cast<std::uint16_t>(len - quote));
  const PortInfo& inside = w.rt.ports[static_cast<unsigned>(w.rt.inside)];
  wire::write_icmp6_packet_too_big({rte_pktmbuf_mtod_offset(m, std::uint8_t*, sizeof(wire::EthHdr)), hdrs + quote},
                                   inside.addr6, to, mtu);
  ++w.ctr.icmp_too_big_sent;
  ip6_output(w, inside, m);
}

}  // namespace

void l2tp_encap6(WorkerCtx& w, SessionState& s, rte_mbuf* m, EncapBatch& batch) noexcept {
  const OutPath out = out_path(w, s);
  if (!out.ok) {
    drop_session(w, m, Drop::session_no_sa, s);
    return;
  }
  auto* ip = rte_pktmbuf_mtod_offset(m, wire::Ipv6Hdr*, sizeof(wire::EthHdr));
  if (ip->hop_limit <= 1) {
    drop_session(w, m, Drop::inner6_hop_limit, s);
    return;
  }
  const unsigned len = sizeof(wire::Ipv6Hdr) + ip->payload_len.host();
  const unsigned mtu = wire::tunnel_mtu(out.max_payload, s.overhead);
  if (len > mtu) [[unlikely]] {
    icmp6_too_big(w, s, m, len, mtu);
    return;
  }
  --ip->hop_limit;  // no header checksum in IPv6
  if (w.rt.cfg.tcp_mss != 0) {
    // IPv6 40 + TCP 20 (RFC 9293 §3.7.1).
    const unsigned limit = std::min<unsigned>(w.rt.cfg.tcp_mss, mtu > 60 ? mtu - 60 : 0);
    wire::clamp_tcp_mss6({reinterpret_cast<std::uint8_t*>(ip), len}, static_cast<std::uint16_t>(limit));
  }
  if (wrap(w, s, m, len, wire::ppp_proto_ipv6)) {
    emit(w, m, out, batch);
  }
}

void l2tp_encap(WorkerCtx& w, SessionState& s, rte_mbuf* m, EncapBatch& batch) noexcept {
  const OutPath out = out_path(w, s);
  if (!out.ok) {
    drop_session(w, m, Drop::session_no_sa, s);
    return;
  }
  auto* inner = rte_pktmbuf_mtod_offset(m, wire::Ipv4Hdr*, sizeof(wire::EthHdr));
  if (inner->ttl <= 1) {
    drop_session(w, m, Drop::inner_ttl, s);
    return;
  }
  const unsigned inner_len = inner->total_len.host();
  const unsigned mtu = wire::tunnel_mtu(out.max_payload, s.overhead);
  if (inner_len > mtu) [[unlikely]] {
    switch (too_big_action(w, *inner)) {
      case TooBig::send_icmp:
        icmp_frag_needed(w, s, m, inner_len, mtu);
        return;
      case TooBig::drop:
        drop_session(w, m, Drop::inner_too_big, s);
        return;
      case TooBig::fragment:
        break;
    }
  }
  wire::decrement_ttl(*inner);
  if (w.rt.cfg.tcp_mss != 0) {
    wire::clamp_tcp_mss({reinterpret_cast<std::uint8_t*>(inner), inner_len}, w.rt.cfg.tcp_mss);
  }
  if (inner_len > mtu) [[unlikely]] {
    fragment(w, s, out, m, inner_len, mtu, batch);
    return;
  }
  if (wrap(w, s, m, inner_len, wire::ppp_proto_ipv4)) {
    emit(w, m, out, batch);
  }
}

}  // namespace l2tpgw
