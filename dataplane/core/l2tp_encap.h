// A packet from the inside to a session's address, wrapped for the client:
// PPP (as negotiated: ACFC, PFC), L2TP data header with the client's ids
// (and Ns when the session sequences), UDP to the client's L2TP port, outer
// IPv4 from our outside address — ready for esp_encap with the session's
// outbound SA.
#pragma once

#include "dataplane/core/esp_encap.h"
#include "dataplane/core/runtime.h"
#include "dataplane/core/session_table.h"

namespace l2tpgw {

// m: Ethernet + the inner IPv4 packet (trimmed). On success m holds
// Ethernet + outer IPv4 + UDP + L2TP + PPP + inner, and item names the SA to
// protect it with; otherwise m was dropped and false is returned.
bool l2tp_encap(WorkerCtx& w, SessionState& s, rte_mbuf* m, EncapItem& item) noexcept;

}  // namespace l2tpgw
