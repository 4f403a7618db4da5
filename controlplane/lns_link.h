// One user session of the LNS: the L2TP session and the PPP link over it.
// Private to lns_service.cc and lns_state.cc.
#pragma once

#include <optional>

#include "controlplane/lns_service.h"

namespace l2tpgw::cp {

struct LnsService::Link {
  explicit Link(const ppp::SessionContext& ctx) : ppp(ctx) {}

  l2tp::SessionEstablished l2tp;
  std::optional<SaRef> out_sa;  // nullopt: plain L2TP
  ppp::Session ppp;
  Clock::time_point since{};
  bool in_dataplane = false;
  bool up = false;
  bool finished = false;  // both protocols are done with it: reap
};

}  // namespace l2tpgw::cp
