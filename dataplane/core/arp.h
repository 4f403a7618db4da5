// ARP (RFC 826) for our own addresses: answer requests, learn senders, and
// ask for next hops we do not know yet.
#pragma once

#include <cstdint>

#include "dataplane/core/runtime.h"

namespace l2tpgw {

// Consumes m: replies in place, or drops it under a reason.
void arp_input(WorkerCtx& w, const PortInfo& port, rte_mbuf* m) noexcept;

// Broadcasts "who has target" from port, at most once per second per target.
void arp_request(WorkerCtx& w, const PortInfo& port, std::uint32_t target) noexcept;

}  // namespace l2tpgw
