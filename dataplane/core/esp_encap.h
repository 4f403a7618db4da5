// ESP outbound, transport mode (RFC 4303 §3.3), raw or UDP-encapsulated
// (RFC 3948 §2.1), for a burst: sequence number, IV, padding and trailer,
// then encryption and ICV through IPsec-MB with the whole burst in flight.
#pragma once

#include "dataplane/core/runtime.h"

namespace l2tpgw {

struct EncapItem {
  rte_mbuf* m;  // room for Ethernet + 20-byte IPv4 header + payload, trimmed
  SaState* sa;  // outbound SA toward the packet's destination
};

// Returns how many packets in `out` are ready for ip_output; every other
// packet was dropped under its reason.
unsigned esp_encap(WorkerCtx& w, const EncapItem* in, unsigned n, rte_mbuf** out) noexcept;

}  // namespace l2tpgw
