// A worker lcore: the order of the stages lives here and nowhere else.
//
//   loop:  quiescent (RCU) → for each port it owns: rx burst → outside_input
//          (with this worker's reassembly table) or inside_input
//          → (worker 0) drain the control plane's tx ring
//          → free what reassembly gave up → flush tx buffers
//          → account busy cycles
#pragma once

#include "dataplane/core/runtime.h"

namespace l2tpgw {

struct WorkerLaunch {
  Runtime* rt;
  unsigned index;
};

// rte_eal_remote_launch entry point; arg is a WorkerLaunch*.
int worker_main(void* arg);

}  // namespace l2tpgw
