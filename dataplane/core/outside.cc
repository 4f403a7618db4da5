#include "dataplane/core/outside.h"

#include <rte_prefetch.h>

#include "dataplane/core/esp_decap.h"
#include "dataplane/core/esp_tunnel.h"
#include "dataplane/core/esp_encap.h"
#include "dataplane/core/ip_input.h"
#include "dataplane/core/ip_output.h"
#include "dataplane/core/l2tp_demux.h"
#include "dataplane/core/punt.h"
#include "dataplane/core/reassembly.h"

namespace l2tpgw {
namespace {

// How far ahead the classifier prefetches packet data: enough to cover the
// DRAM latency of one packet with the work on the others.
constexpr unsigned prefetch_ahead = 4;

constexpr unsigned l2l3 = sizeof(wire::EthHdr) + sizeof(wire::Ipv4Hdr);
constexpr std::uint8_t nat_keepalive_byte = 0xff;  // RFC 3948 §2.3

void udp_input(WorkerCtx& w, const PortInfo& port, rte_mbuf* m, const wire::Ipv4Hdr* ip,
               EspPacket* esp, unsigned& n_esp) noexcept {
  const unsigned total = ip->total_len.host();
  const auto* udp = reinterpret_cast<const wire::UdpHdr*>(ip + 1);
  if (total < sizeof(wire::Ipv4Hdr) + sizeof(wire::UdpHdr) ||
      udp->len.host() != total - sizeof(wire::Ipv4Hdr) || udp->src.host() == 0) {
    w.drop(m, Drop::udp_malformed);
    return;
  }
  const std::uint16_t dport = udp->dst.host();
  const PuntOrigin from{nullptr, ip->src.host(), udp->src.host(), channel::Encap::none};
  if (dport == wire::port_ike) {
    punt(w, port, m, channel::PuntReason::ike, from);
    return;
  }
  // Plain L2TP: control goes to the control plane, which takes it only from
  // the LACs it trusts; data only reaches sessions set up that way.
  if (dport == wire::port_l2tp) {
    l2tp_demux(w, port, {m, nullptr, udp->src.host(), wire::ipproto_udp});
    return;
  }
  if (dport != wire::port_nat_t) {
    w.drop(m, Drop::udp_port);
    return;
  }
  const unsigned payload = total - sizeof(wire::Ipv4Hdr) - sizeof(wire::UdpHdr);
  const auto* p = reinterpret_cast<const std::uint8_t*>(udp + 1);
  if (payload == 1 && p[0] == nat_keepalive_byte) {
    w.drop(m, Drop::nat_keepalive);
    return;
  }
  // RFC 3948 §2.2: a zero SPI field is the non-ESP marker in front of IKE.
  if (payload >= 4 && (p[0] | p[1] | p[2] | p[3]) == 0) {
    punt(w, port, m, channel::PuntReason::ike, from);
    return;
  }
  if (payload < sizeof(wire::EspHdr)) {
    w.drop(m, Drop::esp_truncated);
    return;
  }
  esp[n_esp++] = {m, static_cast<std::uint16_t>(l2l3 + sizeof(wire::UdpHdr)),
                  static_cast<std::uint16_t>(payload), udp->src.host()};
}

void classify(WorkerCtx& w, Reassembly& frags, const PortInfo& port, rte_mbuf* m, EspPacket* esp,
              unsigned& n_esp) noexcept {
  wire::Ipv4Hdr* ip = ip_input(w, port, m);
  if (ip == nullptr) {
    return;
  }
  if (ip->dst.host() != port.addr) {
    w.drop(m, Drop::not_for_us);
    return;
  }
  if (ip->is_fragment()) {
    m = frags.add(w, m, ip);
    if (m == nullptr) {
      return;
    }
    ip = rte_pktmbuf_mtod_offset(m, wire::Ipv4Hdr*, sizeof(wire::EthHdr));
  }
  switch (ip->proto) {
    case wire::ipproto_esp: {
      const unsigned esp_len = ip->total_len.host() - sizeof(wire::Ipv4Hdr);
      if (esp_len < sizeof(wire::EspHdr)) {
        w.drop(m, Drop::esp_truncated);
        return;
      }
      esp[n_esp++] = {m, static_cast<std::uint16_t>(l2l3), static_cast<std::uint16_t>(esp_len), 0};
      return;
    }
    case wire::ipproto_udp:
      udp_input(w, port, m, ip, esp, n_esp);
      return;
    case wire::ipproto_icmp:
      icmp_input(w, port, m);
      return;
    default:
      w.drop(m, Drop::ip_proto);
  }
}

// What a decapsulated packet becomes: L2TP (a session's traffic, or control
// for the control plane), an ICMP echo reply back through the peer's
// outbound SA, an inner packet of a tunnel-mode SA for the inside, or a drop.
void inner_input(WorkerCtx& w, const PortInfo& port, const Decapped& d, EncapItem* enc,
                 unsigned& n_enc) noexcept {
  rte_mbuf* m = d.m;
  if (d.next_header == wire::ipproto_ipip) {
    tunnel_input(w, d);
    return;
  }
  auto* ip = rte_pktmbuf_mtod_offset(m, wire::Ipv4Hdr*, sizeof(wire::EthHdr));
  const unsigned inner_len = ip->total_len.host() - sizeof(wire::Ipv4Hdr);
  if (d.next_header == wire::ipproto_udp) {
    const auto* udp = reinterpret_cast<const wire::UdpHdr*>(ip + 1);
    if (inner_len < sizeof(wire::UdpHdr) || udp->len.host() != inner_len) {
      w.drop(m, Drop::esp_inner_malformed);
      return;
    }
    if (udp->dst.host() != wire::port_l2tp) {
      w.drop(m, Drop::esp_inner_unhandled);
      return;
    }
    l2tp_demux(w, port, d);
    return;
  }
  if (!icmp_echo_reply(w, m, Drop::esp_inner_malformed, Drop::esp_inner_unhandled)) {
    return;
  }
  SaState* out = w.rt.sas->find_outbound(ip->dst.host());
  if (out == nullptr) {
    w.drop(m, Drop::no_outbound_sa);
    return;
  }
  ++w.ctr.icmp_replies;
  enc[n_enc++] = {m, out};
}

}  // namespace

void outside_input(WorkerCtx& w, Reassembly& frags, const PortInfo& port, rte_mbuf** pkts,
                   unsigned n) noexcept {
  EspPacket esp[burst_size];
  unsigned n_esp = 0;
  for (unsigned i = 0; i < n; ++i) {
    if (i + prefetch_ahead < n) {
      rte_prefetch0(rte_pktmbuf_mtod(pkts[i + prefetch_ahead], void*));
    }
    classify(w, frags, port, pkts[i], esp, n_esp);
  }
  if (n_esp == 0) {
    return;
  }
  Decapped dec[burst_size];
  const unsigned n_dec = esp_decap(w, esp, n_esp, dec);

  EncapItem enc[burst_size];
  unsigned n_enc = 0;
  for (unsigned i = 0; i < n_dec; ++i) {
    inner_input(w, port, dec[i], enc, n_enc);
  }
  if (n_enc == 0) {
    return;
  }
  rte_mbuf* out[burst_size];
  const unsigned n_out = esp_encap(w, enc, n_enc, out);
  for (unsigned i = 0; i < n_out; ++i) {
    ip_output(w, port, out[i]);
  }
}

}  // namespace l2tpgw
