// The last stage before a port: choose the next hop (on-link destination or
// the port's gateway), resolve its MAC and write the Ethernet header.
#pragma once

#include "dataplane/core/runtime.h"

namespace l2tpgw {

// m starts with room for an Ethernet header, followed by an IPv4 packet
// whose header (checksum included) is final. Consumes m.
void ip_output(WorkerCtx& w, const PortInfo& port, rte_mbuf* m) noexcept;

// An inner IPv4 packet of `total` bytes at ip_off of m (header final, TTL
// already decremented) forwarded out of `port`: TCP MSS clamped to
// dataplane.tcp_mss, what precedes it cut to the Ethernet header's room,
// what follows it (padding, trailers) cut off, then ip_output.
void ip_forward(WorkerCtx& w, const PortInfo& port, rte_mbuf* m, unsigned ip_off, unsigned total) noexcept;

}  // namespace l2tpgw
