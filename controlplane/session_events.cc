#include "controlplane/session_events.h"

#include <string>

#include "controlplane/names.h"

namespace l2tpgw::cp {

void SessionEvents::on_event(const channel::SessionEvent& e) {
  const std::string name = session_name(e.local_tunnel_id, e.local_session_id);
  if (e.kind == channel::SessionEventKind::mppe_reset_request) {
    ++_mppe_resets[{e.local_tunnel_id, e.local_session_id}];
    // RFC 3078 §8.2: the peer re-keys when it receives a CCP Reset-Request;
    // until then the data plane discards the session's frames. Sending it
    // belongs to the CCP automaton.
    _log.warning("session", name + ": MPPE packets lost (coherency count " +
                                std::to_string(e.coherency_count) + "): CCP Reset-Request needed");
    return;
  }
  _log.warning("session", name + ": unknown event kind " +
                              std::to_string(static_cast<unsigned>(e.kind)) + " ignored");
}

std::uint64_t SessionEvents::mppe_resets(std::uint16_t tunnel, std::uint16_t session) const {
  const auto it = _mppe_resets.find({tunnel, session});
  return it == _mppe_resets.end() ? 0 : it->second;
}

}  // namespace l2tpgw::cp
