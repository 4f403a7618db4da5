#include "controlplane/l2tp/session.h"

#include <string>

namespace l2tpgw::l2tp {
namespace {

const char* cdn_result_text(std::uint16_t r) noexcept {
  switch (r) {
    case 1:
      return "loss of carrier";
    case 2:
      return "general error";
    case 3:
      return "administrative";
    case 4:
      return "no facilities, temporary";
    case 5:
      return "no facilities, permanent";
    case 6:
      return "invalid destination";
    case 7:
      return "no carrier";
    case 8:
      return "busy";
    case 9:
      return "no dial tone";
    case 10:
      return "not established in time";
    case 11:
      return "no framing detected";
    default:
      return "unknown result";
  }
}

const char* stopccn_result_text(std::uint16_t r) noexcept {
  switch (r) {
    case 1:
      return "general request to clear";
    case 2:
      return "general error";
    case 3:
      return "control channel already exists";
    case 4:
      return "not authorized";
    case 5:
      return "protocol version not supported";
    case 6:
      return "requester shutting down";
    case 7:
      return "finite state machine error";
    default:
      return "unknown result";
  }
}

const char* error_text(std::uint16_t e) noexcept {
  switch (e) {
    case 0:
      return "no general error";
    case 1:
      return "no control connection";
    case 2:
      return "length is wrong";
    case 3:
      return "field value out of range";
    case 4:
      return "insufficient resources";
    case 5:
      return "invalid session id";
    case 6:
      return "vendor-specific error";
    case 7:
      return "try another";
    case 8:
      return "unknown mandatory AVP";
    default:
      return "unknown error";
  }
}

// Peer-supplied text goes into one-line logs: keep it printable and short.
std::string printable(const std::string& s) {
  std::string r;
  for (const char c : s.substr(0, 128)) {
    r.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  }
  return r;
}

std::string describe_result(const ResultCode& rc, const char* result_text) {
  std::string s = "result " + std::to_string(rc.result) + " (" + result_text + ")";
  if (rc.error) {
    s += ", error " + std::to_string(*rc.error) + " (" + error_text(*rc.error) + ")";
  }
  if (!rc.message.empty()) {
    s += ": " + printable(rc.message);
  }
  return s;
}

}  // namespace

std::string describe_cdn_result(const ResultCode& rc) {
  return describe_result(rc, cdn_result_text(rc.result));
}

std::string describe_stopccn_result(const ResultCode& rc) {
  return describe_result(rc, stopccn_result_text(rc.result));
}

Session session_from_icrq(std::uint16_t id, const ControlMessage& icrq) {
  const AvpSet& a = icrq.avps;
  Session s;
  s.id = id;
  s.peer_id = a.assigned_session_id.value_or(0);
  s.call_serial_number = a.call_serial_number.value_or(0);
  s.bearer_type = a.bearer_type;
  s.physical_channel_id = a.physical_channel_id;
  s.calling_number = a.calling_number;
  s.called_number = a.called_number;
  s.sub_address = a.sub_address;
  return s;
}

ProxyAvps proxy_avps_of(const AvpSet& a) {
  ProxyAvps p;
  p.initial_received_lcp_confreq = a.initial_received_lcp_confreq;
  p.last_sent_lcp_confreq = a.last_sent_lcp_confreq;
  p.last_received_lcp_confreq = a.last_received_lcp_confreq;
  p.authen_type = a.proxy_authen_type;
  p.authen_name = a.proxy_authen_name;
  p.authen_challenge = a.proxy_authen_challenge;
  p.authen_id = a.proxy_authen_id;
  p.authen_response = a.proxy_authen_response;
  return p;
}

bool session_on_iccn(Session& s, const ControlMessage& iccn) {
  if (s.state != SessionState::wait_connect) {
    return false;
  }
  const AvpSet& a = iccn.avps;
  s.tx_connect_speed = a.tx_connect_speed.value_or(0);
  s.rx_connect_speed = a.rx_connect_speed;
  s.framing_type = a.framing_type.value_or(0);
  // §4.4.6: with Sequencing Required the LNS must send sequence numbers on
  // data messages for the life of the session.
  s.sequencing_required = a.sequencing_required;
  s.private_group_id = a.private_group_id;
  s.proxy = proxy_avps_of(a);
  s.state = SessionState::established;
  return true;
}

ControlMessage make_icrp(std::uint16_t peer_tunnel_id, const Session& s) {
  ControlMessage m;
  m.header.tunnel_id = peer_tunnel_id;
  m.header.session_id = s.peer_id;
  m.type = static_cast<std::uint16_t>(MessageType::icrp);
  m.avps.assigned_session_id = s.id;
  return m;
}

ControlMessage make_cdn(std::uint16_t peer_tunnel_id, std::uint16_t peer_session_id,
                        std::uint16_t our_session_id, const ResultCode& rc) {
  ControlMessage m;
  m.header.tunnel_id = peer_tunnel_id;
  m.header.session_id = peer_session_id;
  m.type = static_cast<std::uint16_t>(MessageType::cdn);
  m.avps.result_code = rc;
  m.avps.assigned_session_id = our_session_id;
  return m;
}

}  // namespace l2tpgw::l2tp
