#include "dataplane/core/esp_tunnel.h"

#include "dataplane/core/inner_mtu.h"
#include "dataplane/core/ip_output.h"
#include "dataplane/wire/ip_too_big.h"
#include "dataplane/wire/ipv4.h"
#include "dataplane/wire/tcp_mss.h"

namespace l2tpgw {
namespace {

// Puts the outer IPv4 header in front of the inner packet of len bytes
// that follows m's Ethernet room; esp_encap then takes the inner packet as
// its payload and the protocol (4) as its next header.
bool add_outer(WorkerCtx& w, const SaState& sa, rte_mbuf* m, unsigned len) noexcept {
  if (rte_pktmbuf_headroom(m) < sizeof(wire::Ipv4Hdr)) {
    w.drop(m, Drop::encap_too_big);
    return false;
  }
  auto* base = reinterpret_cast<std::uint8_t*>(rte_pktmbuf_prepend(m, sizeof(wire::Ipv4Hdr)));
  auto* outer = reinterpret_cast<wire::Ipv4Hdr*>(base + sizeof(wire::EthHdr));
  const auto* inner = reinterpret_cast<const wire::Ipv4Hdr*>(outer + 1);
  // RFC 4301 §5.1.2.1: DSCP and DF copied from the inner header; ECN
  // copied too, the normal mode of RFC 6040 §4.1.
  *outer = wire::Ipv4Hdr{};
  outer->ver_ihl = 0x45;
  outer->tos = inner->tos;
  outer->total_len = wire::Be16::from_host(static_cast<std::uint16_t>(sizeof(wire::Ipv4Hdr) + len));
  outer->id = inner->id;
  outer->frag = wire::Be16::from_host(inner->frag.host() & wire::ipv4_df);
  outer->ttl = wire::originated_ttl;
  outer->proto = wire::ipproto_ipip;
  outer->src = wire::Be32::from_host(sa.params.local_addr);
  outer->dst = wire::Be32::from_host(sa.params.peer_addr);
  outer->csum = wire::Be16::from_host(wire::ipv4_header_csum(reinterpret_cast<const std::uint8_t*>(outer)));
  return true;
}

void protect(WorkerCtx& w, SaState& sa, rte_mbuf* m, unsigned len, EncapBatch& batch) noexcept {
  if (add_outer(w, sa, m, len)) {
    ++w.ctr.tunnel_out;
    batch.add(w, m, &sa);
  }
}

}  // namespace

void tunnel_input(WorkerCtx& w, const Decapped& d) noexcept {
  rte_mbuf* m = d.m;
  const channel::SaParams& sp = d.sa->params;
  auto* outer = rte_pktmbuf_mtod_offset(m, wire::Ipv4Hdr*, sizeof(wire::EthHdr));
  const unsigned len = outer->total_len.host() - sizeof(wire::Ipv4Hdr);
  auto* inner = outer + 1;
  if (wire::ipv4_check({reinterpret_cast<const std::uint8_t*>(inner), len}) != wire::Ipv4Check::ok) {
    w.drop(m, Drop::esp_tunnel_malformed);
    return;
  }
  // RFC 4301 §5.2: what arrives in an SA must match its selectors.
  if (!wire::in_prefix(inner->src.host(), sp.peer_net.addr, sp.peer_net.len) ||
      !wire::in_prefix(inner->dst.host(), sp.local_net.addr, sp.local_net.len)) {
    w.drop(m, Drop::esp_tunnel_selector);
    return;
  }
  if (w.rt.inside < 0) {
    w.drop(m, Drop::no_route);
    return;
  }
  const PortInfo& inside = w.rt.ports[static_cast<unsigned>(w.rt.inside)];
  if (inner->dst.host() == inside.addr) {
    w.drop(m, Drop::esp_inner_unhandled);
    return;
  }
  if (inner->ttl <= 1) {
    w.drop(m, Drop::esp_tunnel_ttl);
    return;
  }
  wire::decrement_ttl(*inner);
  ++w.ctr.tunnel_in;
  // The outer header's room becomes the Ethernet header's.
  ip_forward(w, inside, m, sizeof(wire::EthHdr) + sizeof(wire::Ipv4Hdr), inner->total_len.host());
}

void tunnel_output(WorkerCtx& w, SaState& sa, rte_mbuf* m, EncapBatch& batch) noexcept {
  auto* inner = rte_pktmbuf_mtod_offset(m, wire::Ipv4Hdr*, sizeof(wire::EthHdr));
  if (inner->ttl <= 1) {
    w.drop(m, Drop::esp_tunnel_ttl);
    return;
  }
  const unsigned len = inner->total_len.host();
  // The whole inner packet is the ESP payload: the SA's largest payload is
  // the tunnel's MTU.
  const unsigned mtu = sa.max_payload;
  if (len > mtu) [[unlikely]] {
    Drop why = Drop::inner_too_big;
    switch (too_big_action(w, *inner)) {
      case TooBig::send_icmp:
        if (!send_frag_needed(w, m, len, mtu, why)) {
          w.drop(m, why);
        }
        return;
      case TooBig::drop:
        w.drop(m, why);
        return;
      case TooBig::fragment:
        break;
    }
  }
  wire::decrement_ttl(*inner);
  if (w.rt.cfg.tcp_mss != 0) {
    wire::clamp_tcp_mss({reinterpret_cast<std::uint8_t*>(inner), len}, w.rt.cfg.tcp_mss);
  }
  if (len <= mtu) [[likely]] {
    protect(w, sa, m, len, batch);
    return;
  }
  rte_mbuf* frags[max_inner_fragments];
  Drop why{};
  const unsigned n = cut_fragments(w, m, len, mtu, frags, why);
  if (n == 0) {
    w.drop(m, why);
    return;
  }
  for (unsigned k = 0; k < n; ++k) {
    protect(w, sa, frags[k], rte_pktmbuf_data_len(frags[k]) - sizeof(wire::EthHdr), batch);
  }
}

}  // namespace l2tpgw
