// The last stage before a port: choose the next hop (on-link destination or
// the port's gateway), resolve its MAC and write the Ethernet header.
#pragma once

#include "dataplane/core/runtime.h"

namespace l2tpgw {

// m starts with room for an Ethernet header, followed by an IPv4 packet
// whose header (checksum included) is final. Consumes m.
void ip_output(WorkerCtx& w, const PortInfo& port, rte_mbuf* m) noexcept;

}  // namespace l2tpgw
