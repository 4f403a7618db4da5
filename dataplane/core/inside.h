// The inside port's pipeline for one RX burst:
//   ip_input → to a session's address: l2tp_encap (PPP, L2TP, UDP, IPv4)
//            → to a tunnel-mode SA's peer network: tunnel_output (outer IPv4)
//            → from our outside address to a peer: as it is (transport mode)
//   → esp_encap → ip_output on the outside port
// ARP and ICMP echo to the inside address are answered.
#pragma once

#include "dataplane/core/runtime.h"

namespace l2tpgw {

void inside_input(WorkerCtx& w, const PortInfo& port, rte_mbuf** pkts, unsigned n) noexcept;

}  // namespace l2tpgw
