// The outside port's pipeline for one RX burst:
//   ip_input → reassembly of fragments to us → classify (ARP, ICMP, IKE punt, NAT-T keepalive, ESP raw/UDP)
//   → esp_decap → inner dispatch (L2TP punt, ICMP echo through the SA,
//     tunnel mode to the inside)
//   → esp_encap (replies) → ip_output
#pragma once

#include "dataplane/core/runtime.h"

namespace l2tpgw {

class Reassembly;

void outside_input(WorkerCtx& w, Reassembly& frags, const PortInfo& port, rte_mbuf** pkts,
                   unsigned n) noexcept;

}  // namespace l2tpgw
