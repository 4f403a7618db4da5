// Events the data plane raises about sessions (channel::SessionEvent): each
// is logged once and counted per session for l2tpgwctl.
#pragma once

#include <cstdint>
#include <map>
#include <utility>

#include "controlplane/log.h"
#include "dataplane/channel/messages.h"

namespace l2tpgw::cp {

class SessionEvents {
 public:
  explicit SessionEvents(Logger& log) : _log(log) {}

  void on_event(const channel::SessionEvent& e);

  // Stateful MPPE gaps the data plane reported for a session (by our ids)
  // since this control plane started.
  std::uint64_t mppe_resets(std::uint16_t tunnel, std::uint16_t session) const;
  // The session is gone: its count goes with it.
  void forget(std::uint16_t tunnel, std::uint16_t session) {
    _mppe_resets.erase({tunnel, session});
  }

 private:
  Logger& _log;
  std::map<std::pair<std::uint16_t, std::uint16_t>, std::uint64_t> _mppe_resets;
};

}  // namespace l2tpgw::cp
