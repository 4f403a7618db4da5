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
  const std::uint64_t rate = r.cfg.punt_rate == 0 ? 1 : r.cfg.punt_rate;
  _cycles_per_token = r.tsc_hz / rate;
  _punt_cap_tsc = _cycles_per_token * r.cfg.punt_burst;
  _punt_tokens_tsc = _punt_cap_tsc;
  _punt_last = rte_rdtsc();
  _now = _punt_last;
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

bool WorkerCtx::take_punt_token() noexcept {
  const std::uint64_t now = _now;
  _punt_tokens_tsc = std::min(_punt_cap_tsc, _punt_tokens_tsc + (now - _punt_last));
  _punt_last = now;
  if (_punt_tokens_tsc < _cycles_per_token) {
    return false;
  }
  _punt_tokens_tsc -= _cycles_per_token;
  return true;
}

}  // namespace l2tpgw
