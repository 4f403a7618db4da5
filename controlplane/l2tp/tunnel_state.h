// What an established tunnel is made of, for keeping it across a restart of
// the control plane (the data plane keeps forwarding meanwhile): enough to
// go on with reliable delivery, HELLOs and the sessions it carries.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "controlplane/l2tp/output.h"
#include "controlplane/l2tp/reliable.h"
#include "controlplane/l2tp/session.h"

namespace l2tpgw::l2tp {

struct TunnelSnapshot {
  std::uint16_t id = 0;
  std::uint16_t peer_id = 0;
  Endpoint peer;
  ReliableChannel::Snapshot channel;
  std::uint16_t next_session_id = 1;
  Instant last_receive{};
  std::optional<std::string> peer_host_name;
  std::vector<Session> sessions;  // established ones only
};

}  // namespace l2tpgw::l2tp
