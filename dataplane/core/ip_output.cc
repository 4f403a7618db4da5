#include "dataplane/core/ip_output.h"

#include "dataplane/core/arp.h"
#include "dataplane/wire/tcp_mss.h"

namespace l2tpgw {

void ip_output(WorkerCtx& w, const PortInfo& port, rte_mbuf* m) noexcept {
  auto* eth = rte_pktmbuf_mtod(m, wire::EthHdr*);
  const auto* ip = reinterpret_cast<const wire::Ipv4Hdr*>(eth + 1);
  const std::uint32_t dst = ip->dst.host();
  std::uint32_t next_hop = dst;
  if (!port.net.contains(dst)) {
    if (!port.gateway) {
      w.drop(m, Drop::no_route);
      return;
    }
    next_hop = *port.gateway;
  }
  if (!port.neighbors->lookup(next_hop, eth->dst)) {
    arp_request(w, port, next_hop);
    w.drop(m, Drop::arp_unresolved);
    return;
  }
  eth->src = port.mac;
  eth->type = wire::Be16::from_host(wire::ethertype_ipv4);
  w.send(port, m);
}

void ip_forward(WorkerCtx& w, const PortInfo& port, rte_mbuf* m, unsigned ip_off, unsigned total) noexcept {
  if (w.rt.cfg.tcp_mss != 0) {
    wire::clamp_tcp_mss({rte_pktmbuf_mtod_offset(m, std::uint8_t*, ip_off), total}, w.rt.cfg.tcp_mss);
  }
  rte_pktmbuf_adj(m, static_cast<std::uint16_t>(ip_off - sizeof(wire::EthHdr)));
  rte_pktmbuf_trim(m, static_cast<std::uint16_t>(rte_pktmbuf_data_len(m) - sizeof(wire::EthHdr) - total));
  ip_output(w, port, m);
}

}  // namespace l2tpgw
