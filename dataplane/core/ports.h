// Bringing up the ports of the config: create virtual devices, configure one
// RX queue (polled by one worker) and one TX queue per worker, set MACs.
#pragma once

#include "dataplane/core/runtime.h"

namespace l2tpgw {

// Fills rt.ports, rt.outside and rt.inside; throws std::runtime_error
// naming the port and what failed.
void ports_start(Runtime& rt, const Config& cfg, unsigned n_workers);
void ports_stop(Runtime& rt);
// Copies ethdev statistics into the shared segment's port counters.
void ports_snapshot(const Runtime& rt);

}  // namespace l2tpgw
