// IPv6 on the inside port: the last stage before the port (next hop,
// neighbour, Ethernet) and Neighbor Discovery for our address (RFC 4861):
// solicitations answered, advertisements learnt, solicitations sent for
// next hops we do not know — what arp.cc and ip_output.cc do for IPv4.
#pragma once

#include "dataplane/core/runtime.h"

namespace l2tpgw {

// m starts with room for an Ethernet header, followed by an IPv6 packet
// that is final. Consumes m.
void ip6_output(WorkerCtx& w, const PortInfo& port, rte_mbuf* m) noexcept;

// An IPv6 packet (checked, trimmed) to our address, our solicited-node
// group or another multicast group: NS/NA handled, echo requests to our
// address answered, the rest dropped under a reason. Consumes m.
void ip6_local_input(WorkerCtx& w, const PortInfo& port, rte_mbuf* m) noexcept;

// Multicasts a Neighbor Solicitation for target, at most once per second.
void nd_request(WorkerCtx& w, const PortInfo& port, const wire::Ipv6Addr& target) noexcept;

}  // namespace l2tpgw
