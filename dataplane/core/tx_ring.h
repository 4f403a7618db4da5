// Packets the control plane asks us to send (IKE replies, L2TP control,
// PPP negotiation), optionally through an outbound SA so that they ride in
// the same ESP SA as the data. Drained by worker 0 between RX bursts.
#pragma once

#include "dataplane/core/runtime.h"

namespace l2tpgw {

// Returns the number of messages taken from the ring.
unsigned drain_tx_ring(WorkerCtx& w) noexcept;

}  // namespace l2tpgw
