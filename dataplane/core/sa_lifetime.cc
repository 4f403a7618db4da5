#include "dataplane/core/sa_lifetime.h"

#include <rte_ring.h>
#include <rte_ring_elem.h>

namespace l2tpgw {
namespace {

void raise(WorkerCtx& w, SaState& s, std::uint32_t bit, channel::LifetimeKind kind,
           std::uint64_t packets, std::uint64_t bytes) noexcept {
  if (s.events_raised.fetch_or(bit, std::memory_order_relaxed) & bit) {
    return;
  }
  channel::CtrlMsg msg{};
  msg.lifetime.hdr = {channel::version, channel::MsgType::sa_lifetime, 0};
  msg.lifetime.dir = s.params.dir;
  msg.lifetime.kind = kind;
  msg.lifetime.spi = s.params.spi;
  msg.lifetime.peer_addr = s.params.peer_addr;
  msg.lifetime.slot = s.slot;
  msg.lifetime.packets = packets;
  msg.lifetime.bytes = bytes;
  // A full event ring loses the event but never stalls the worker; the
  // control plane also sees the SA's counters.
  rte_ring_mp_enqueue_elem(w.rt.seg->event_ring(), &msg, channel::ctrl_elem_size);
}

}  // namespace

namespace {

std::uint64_t add(std::atomic<std::uint64_t>& total, std::uint64_t n, bool single_writer) noexcept {
  if (single_writer) {
    // An inbound SA is received by one worker only (docs/ARCHITECTURE.md):
    // a plain add, without the bus lock of fetch_add.
    const std::uint64_t v = total.load(std::memory_order_relaxed) + n;
    total.store(v, std::memory_order_relaxed);
    return v;
  }
  return total.fetch_add(n, std::memory_order_relaxed) + n;
}

}  // namespace

void sa_account(WorkerCtx& w, SaState& s, std::uint64_t bytes) noexcept {
  const channel::Lifetime& lt = s.params.lifetime;
  if ((lt.soft_packets | lt.hard_packets | lt.soft_bytes | lt.hard_bytes) == 0) [[likely]] {
    return;  // nothing to enforce; the SA's counters are kept per worker anyway
  }
  const bool single = s.params.dir == channel::Direction::in;
  const std::uint64_t pk = add(s.life_packets, 1, single);
  const std::uint64_t by = add(s.life_bytes, bytes, single);
  using K = channel::LifetimeKind;
  if (lt.soft_packets != 0 && pk >= lt.soft_packets) {
    raise(w, s, event_soft_packets, K::soft_packets, pk, by);
  }
  if (lt.soft_bytes != 0 && by >= lt.soft_bytes) {
    raise(w, s, event_soft_bytes, K::soft_bytes, pk, by);
  }
  if (lt.hard_packets != 0 && pk >= lt.hard_packets) {
    s.hard_expired.store(true, std::memory_order_relaxed);
    raise(w, s, event_hard_packets, K::hard_packets, pk, by);
  }
  if (lt.hard_bytes != 0 && by >= lt.hard_bytes) {
    s.hard_expired.store(true, std::memory_order_relaxed);
    raise(w, s, event_hard_bytes, K::hard_bytes, pk, by);
  }
}

}  // namespace l2tpgw
