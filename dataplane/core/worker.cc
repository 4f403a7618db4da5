#include "dataplane/core/worker.h"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_pause.h>
#include <rte_rcu_qsbr.h>

#include "dataplane/core/inside.h"
#include "dataplane/core/outside.h"
#include "dataplane/core/reassembly.h"
#include "dataplane/core/tx_ring.h"

namespace l2tpgw {
namespace {

bool poll_ports(WorkerCtx& w, Reassembly& frags) noexcept {
  bool work = false;
  for (const PortInfo& port : w.rt.ports) {
    if (port.rx_worker != w.index) {
      continue;
    }
    rte_mbuf* pkts[burst_size];
    const std::uint16_t n = rte_eth_rx_burst(port.port_id, 0, pkts, burst_size);
    if (n == 0) {
      continue;
    }
    work = true;
    w.ctr.rx_packets += n;
    if (port.role == PortRole::outside) {
      outside_input(w, frags, port, pkts, n);
    } else {
      inside_input(w, port, pkts, n);
    }
  }
  return work;
}

}  // namespace

int worker_main(void* arg) {
  const auto& launch = *static_cast<WorkerLaunch*>(arg);
  Runtime& rt = *launch.rt;
  WorkerCtx w(rt, launch.index);
  Reassembly frags(rt.tsc_hz, static_cast<int>(rte_socket_id()));
  rte_rcu_qsbr_thread_register(rt.rcu, w.index);
  rte_rcu_qsbr_thread_online(rt.rcu, w.index);

  // With --wait-cp nothing is received before the control plane has
  // installed its SAs, so no packet meets an empty table at start.
  while (rt.wait_cp && rt.seg->header().cp_synced.load(std::memory_order_acquire) == 0 &&
         !rt.stop.load(std::memory_order_relaxed)) {
    rte_rcu_qsbr_quiescent(rt.rcu, w.index);
    rte_pause();
  }

  while (!rt.stop.load(std::memory_order_relaxed)) {
    rte_rcu_qsbr_quiescent(rt.rcu, w.index);
    const std::uint64_t t0 = rte_rdtsc();
    w.set_now(t0);
    bool work = poll_ports(w, frags);
    if (w.index == 0) {
      work |= drain_tx_ring(w) != 0;
    }
    frags.free_dropped(w);
    w.flush();
    ++w.ctr.loops;
    if (work) {
      ++w.ctr.busy_loops;
      w.ctr.busy_cycles += rte_rdtsc() - t0;
    }
  }
  w.flush();
  rte_rcu_qsbr_thread_offline(rt.rcu, w.index);
  rte_rcu_qsbr_thread_unregister(rt.rcu, w.index);
  return 0;
}

}  // namespace l2tpgw
