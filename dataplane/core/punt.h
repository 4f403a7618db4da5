// Hands a packet the fast path does not handle to the control plane: copied
// into a fixed-size message on the punt ring, at a bounded rate per worker.
#pragma once

#include "dataplane/core/runtime.h"

namespace l2tpgw {

struct PuntOrigin {
  const SaState* sa = nullptr;  // the inbound SA it arrived in
  std::uint32_t peer_addr = 0;
  std::uint16_t peer_port = 0;
  channel::Encap encap = channel::Encap::none;
};

// m: Ethernet + the IPv4 packet to hand over (trimmed to its total length).
// Consumes m.
void punt(WorkerCtx& w, const PortInfo& port, rte_mbuf* m, channel::PuntReason reason,
          const PuntOrigin& from) noexcept;

}  // namespace l2tpgw
