// SA lifetimes in bytes and packets (RFC 4301 §4.4.2.1): the soft limit
// tells the control plane to rekey, the hard limit ends the SA's use. Each
// crossing raises one event on the event ring, once per SA.
#pragma once

#include "dataplane/core/runtime.h"

namespace l2tpgw {

// Counts one packet of `bytes` payload through s.
void sa_account(WorkerCtx& w, SaState& s, std::uint64_t bytes) noexcept;

inline bool sa_usable(const SaState& s) noexcept {
  return !s.hard_expired.load(std::memory_order_relaxed);
}

}  // namespace l2tpgw
