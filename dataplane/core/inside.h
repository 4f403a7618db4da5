// The inside port's pipeline for one RX burst: traffic from our outside
// address to a peer with an outbound SA is protected in transport mode and
// sent out of the outside port; ARP and ICMP echo to the inside address are
// answered. (The L2TP/PPP encapsulation of user traffic will sit in front
// of esp_encap here.)
#pragma once

#include "dataplane/core/runtime.h"

namespace l2tpgw {

void inside_input(WorkerCtx& w, const PortInfo& port, rte_mbuf** pkts, unsigned n) noexcept;

}  // namespace l2tpgw
