#include "dataplane/core/l2tp_encap.h"

#include "dataplane/crypto/mppe.h"
#include "dataplane/wire/checksum.h"
#include "dataplane/wire/l2tp.h"
#include "dataplane/wire/ppp.h"
#include "dataplane/wire/tcp_mss.h"

namespace l2tpgw {
namespace {

constexpr std::uint8_t outer_ttl = 64;  // RFC 1700's default for what we originate

void drop_session(WorkerCtx& w, rte_mbuf* m, Drop why, const SessionState& s) noexcept {
  ++w.session_ctr[s.slot].other_drops;
  w.drop(m, why);
}

}  // namespace

bool l2tp_encap(WorkerCtx& w, SessionState& s, rte_mbuf* m, EncapItem& item) noexcept {
  const channel::SessionParams& sp = s.params;
  SaState* sa = w.rt.sas->find_outbound(sp.sa_out_spi, sp.peer_addr);
  if (sa == nullptr) {
    drop_session(w, m, Drop::session_no_sa, s);
    return false;
  }
  auto* inner = rte_pktmbuf_mtod_offset(m, wire::Ipv4Hdr*, sizeof(wire::EthHdr));
  if (inner->ttl <= 1) {
    drop_session(w, m, Drop::inner_ttl, s);
    return false;
  }
  const std::uint16_t before = static_cast<std::uint16_t>(inner->ttl << 8 | inner->proto);
  --inner->ttl;
  inner->csum = wire::Be16::from_host(
      wire::csum_update16(inner->csum.host(), before, static_cast<std::uint16_t>(inner->ttl << 8 | inner->proto)));
  const unsigned inner_len = inner->total_len.host();
  if (w.rt.cfg.tcp_mss != 0) {
    wire::clamp_tcp_mss({reinterpret_cast<std::uint8_t*>(inner), inner_len}, w.rt.cfg.tcp_mss);
  }

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
  ip->ttl = outer_ttl;
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
    wire::build_ppp_header({ppp, s.ppp_hdr_len}, wire::ppp_proto_ipv4, sp.ppp_acfc != 0, sp.ppp_pfc != 0);
  } else {
    // RFC 3078 §3: PPP protocol 0x00FD, the MPPE header, then the encrypted
    // protocol field and datagram.
    wire::build_ppp_header({ppp, s.ppp_hdr_len}, crypto::mppe_ppp_protocol, sp.ppp_acfc != 0, sp.ppp_pfc != 0);
    std::uint8_t* frame = ppp + s.ppp_hdr_len;
    std::uint8_t* proto = frame + crypto::mppe_header_len;
    if (sp.ppp_pfc != 0) {
      proto[0] = static_cast<std::uint8_t>(wire::ppp_proto_ipv4);
    } else {
      proto[0] = 0;
      proto[1] = static_cast<std::uint8_t>(wire::ppp_proto_ipv4);
    }
    s.mppe_tx.encrypt(w.mgr.get(), {frame, s.mppe_hdr_len + inner_len});
  }
  SessionCounters& c = w.session_ctr[s.slot];
  ++c.tx_packets;
  c.tx_bytes += inner_len;
  item = {m, sa};
  return true;
}

}  // namespace l2tpgw
