#include "dataplane/core/runtime.h"

#include <rte_cycles.h>
#include <rte_ethdev.h>

namespace l2tpgw {

WorkerCtx::WorkerCtx(const Runtime& r, unsigned i)
    : rt(r),
      index(i),
      ctr(r.seg->worker_counters(i)),
      sa_ctr(r.seg->sa_counters(i)),
      session_ctr(r.seg->session_counters(i)),
      mgr(crypto::make_mgr()),
      iv() {
  _now = rte_rdtsc();
  _punt_bucket = TokenBucket(r.tsc_hz, r.cfg.punt_rate, r.cfg.punt_burst, _now);
  _icmp_bucket = TokenBucket(r.tsc_hz, r.cfg.icmp_rate, r.cfg.icmp_burst, _now);
}

void WorkerCtx::send(const PortInfo& port, rte_mbuf* m) noexcept {
  TxBuffer& b = _tx[port.index];
  b.pkts[b.n++] = m;
  if (b.n == std::size(b.pkts)) {
    flush_port(port.index);
  }
}

void WorkerCtx::flush_port(unsigned p) noexcept {
  TxBuffer& b = _tx[p];
  if (b.n == 0) {
    return;
  }
  const std::uint16_t sent =
      rte_eth_tx_burst(rt.ports[p].port_id, static_cast<std::uint16_t>(index), b.pkts,
                       static_cast<std::uint16_t>(b.n));
  ctr.tx_packets += sent;
  for (unsigned k = sent; k < b.n; ++k) {
    drop(b.pkts[k], Drop::tx_full);
  }
  b.n = 0;
}

void WorkerCtx::free_dead() noexcept {
  rte_pktmbuf_free_bulk(_dead, _n_dead);
  _n_dead = 0;
}

void WorkerCtx::flush() noexcept {
  for (unsigned p = 0; p < rt.ports.size(); ++p) {
    flush_port(p);
  }
  free_dead();
}

}  // namespace l2tpgw
