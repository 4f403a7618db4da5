// L2TP data to a session's inner IPv4 packet (RFC 2661 §3.1, RFC 1661 §2):
// the session is found by our (tunnel, session) ids and must be the one of
// the SA, peer address and UDP port the packet came in, so that no client
// can speak into another's session; PPP control frames go to the control
// plane; inner IPv4 must come from the session's address, and is forwarded
// out of the inside port.
#pragma once

#include "dataplane/core/esp_decap.h"
#include "dataplane/core/runtime.h"

namespace l2tpgw {

// d: a decapsulated packet, Ethernet + IPv4 + UDP to port 1701 (lengths
// checked); d.sa null for plain L2TP, which only plain sessions take. Consumes d.m: forwarded, punted (L2TP or PPP control) or dropped.
void l2tp_demux(WorkerCtx& w, const PortInfo& outside, const Decapped& d) noexcept;

}  // namespace l2tpgw
