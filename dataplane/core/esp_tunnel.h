// ESP tunnel mode for IPv4 (RFC 4301 §4.1): whole packets between a peer's
// network and the networks behind our inside port.
//
//   outside: esp_decap leaves the outer IPv4 header (protocol 4) before the
//            inner packet → tunnel_input: the inner source must lie in the
//            SA's peer_net and the destination in its local_net (§5.2),
//            TTL, out of the inside port
//   inside:  a packet to an outbound tunnel SA's peer_net → tunnel_output:
//            TTL, the tunnel MTU, an outer IPv4 header from our outside
//            address to the peer → esp_encap (next header 4)
#pragma once

#include "dataplane/core/esp_decap.h"
#include "dataplane/core/esp_encap.h"
#include "dataplane/core/runtime.h"

namespace l2tpgw {

// d: a packet esp_decap returned with next header 4. Consumes it.
void tunnel_input(WorkerCtx& w, const Decapped& d) noexcept;

// m: Ethernet room + an inner IPv4 packet (checked, trimmed, no options)
// from the inside to sa's peer_net. Consumes it.
void tunnel_output(WorkerCtx& w, SaState& sa, rte_mbuf* m, EncapBatch& batch) noexcept;

}  // namespace l2tpgw
