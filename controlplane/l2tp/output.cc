#include "controlplane/l2tp/output.h"

namespace l2tpgw::l2tp {

std::string format_endpoint(const Endpoint& e) {
  return std::to_string(e.addr >> 24) + "." + std::to_string((e.addr >> 16) & 0xff) + "." +
         std::to_string((e.addr >> 8) & 0xff) + "." + std::to_string(e.addr & 0xff) + ":" +
         std::to_string(e.port);
}

const char* close_cause_name(CloseCause c) noexcept {
  switch (c) {
    case CloseCause::peer_cdn:
      return "peer_cdn";
    case CloseCause::peer_stopccn:
      return "peer_stopccn";
    case CloseCause::local_request:
      return "local_request";
    case CloseCause::peer_silent:
      return "peer_silent";
    case CloseCause::auth_failed:
      return "auth_failed";
    case CloseCause::unknown_mandatory:
      return "unknown_mandatory";
    case CloseCause::protocol_error:
      return "protocol_error";
    case CloseCause::refused:
      return "refused";
    case CloseCause::transport_gone:
      return "transport_gone";
  }
  return "unknown";
}

}  // namespace l2tpgw::l2tp
