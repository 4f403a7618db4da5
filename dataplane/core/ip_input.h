// Admission of a frame on any port: Ethernet to our MAC, ARP handed to the
// ARP stage, a well-formed IPv4 header without options, frame trimmed to the
// IPv4 total length. Fragments pass: the caller reassembles those for us.
#pragma once

#include "dataplane/core/runtime.h"

namespace l2tpgw {

// The IPv4 header of m, or nullptr when m was consumed (ARP) or dropped.
wire::Ipv4Hdr* ip_input(WorkerCtx& w, const PortInfo& port, rte_mbuf* m) noexcept;

// Turns the ICMP echo request in m (Ethernet + IPv4, trimmed) into its reply
// in place; false when m was dropped, under `malformed` or `unhandled`.
bool icmp_echo_reply(WorkerCtx& w, rte_mbuf* m, Drop malformed, Drop unhandled) noexcept;

// Answers an ICMP echo request addressed to us, back to the MAC it came from.
void icmp_input(WorkerCtx& w, const PortInfo& port, rte_mbuf* m) noexcept;

}  // namespace l2tpgw
