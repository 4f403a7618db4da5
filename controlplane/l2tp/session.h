// Incoming-call sessions of an LNS (RFC 2661 §5.2.2, §7.4.2): ICRQ → ICRP →
// ICCN → established; CDN either way. The tunnel routes messages here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "controlplane/l2tp/avp_values.h"
#include "controlplane/l2tp/message.h"
#include "controlplane/l2tp/output.h"
#include "controlplane/l2tp/reliable.h"

namespace l2tpgw::l2tp {

// §4.4.2 Result Code values of a CDN.
namespace cdn_result {
inline constexpr std::uint16_t lost_carrier = 1;
inline constexpr std::uint16_t general_error = 2;  // see the Error Code
inline constexpr std::uint16_t administrative = 3;
inline constexpr std::uint16_t no_facilities_temporary = 4;
inline constexpr std::uint16_t no_facilities_permanent = 5;
}  // namespace cdn_result

// §4.4.2 Result Code values of a StopCCN.
namespace stopccn_result {
inline constexpr std::uint16_t general_request = 1;
inline constexpr std::uint16_t general_error = 2;  // see the Error Code
inline constexpr std::uint16_t already_exists = 3;
inline constexpr std::uint16_t not_authorized = 4;
inline constexpr std::uint16_t unsupported_version = 5;
inline constexpr std::uint16_t shutting_down = 6;
inline constexpr std::uint16_t fsm_error = 7;
}  // namespace stopccn_result

// §4.4.2 General Error Codes.
namespace general_error {
inline constexpr std::uint16_t none = 0;
inline constexpr std::uint16_t no_control_connection = 1;
inline constexpr std::uint16_t bad_length = 2;
inline constexpr std::uint16_t out_of_range = 3;
inline constexpr std::uint16_t insufficient_resources = 4;
inline constexpr std::uint16_t invalid_session_id = 5;
inline constexpr std::uint16_t vendor_specific = 6;
inline constexpr std::uint16_t try_another = 7;
inline constexpr std::uint16_t unknown_mandatory_avp = 8;
}  // namespace general_error

enum class SessionState : std::uint8_t {
  wait_connect,  // ICRP sent, waiting for ICCN
  established,
};

struct Session {
  std::uint16_t id = 0;       // ours (Assigned Session ID of our ICRP)
  std::uint16_t peer_id = 0;  // the LAC's (Assigned Session ID of its ICRQ)
  SessionState state = SessionState::wait_connect;
  Instant setup_deadline{};  // in wait_connect: when to give up on the ICCN
  std::uint32_t call_serial_number = 0;
  std::optional<std::uint32_t> bearer_type;
  std::optional<std::uint32_t> physical_channel_id;
  std::optional<std::string> calling_number;
  std::optional<std::string> called_number;
  std::optional<std::string> sub_address;
  // From the ICCN.
  std::uint32_t tx_connect_speed = 0;
  std::optional<std::uint32_t> rx_connect_speed;
  std::uint32_t framing_type = 0;
  bool sequencing_required = false;
  std::optional<Bytes> private_group_id;
  ProxyAvps proxy;
  // From WEN and SLI (§6.15, §6.16).
  std::optional<CallErrors> call_errors;
  std::optional<Accm> accm;
};

// A new session for an ICRQ (which carries the mandatory AVPs of §6.6).
Session session_from_icrq(std::uint16_t id, const ControlMessage& icrq);

// Takes an ICCN in wait_connect: stores its AVPs and establishes the
// session. False in any other state (the caller counts it).
bool session_on_iccn(Session& s, const ControlMessage& iccn);

ProxyAvps proxy_avps_of(const AvpSet& avps);

ControlMessage make_icrp(std::uint16_t peer_tunnel_id, const Session& s);
// header session id: the peer's; Assigned Session ID: ours (0 when the
// session never got one, as when an ICRQ is refused).
ControlMessage make_cdn(std::uint16_t peer_tunnel_id, std::uint16_t peer_session_id,
                        std::uint16_t our_session_id, const ResultCode& rc);

// "result 4 (no facilities, temporary), error 4 (insufficient resources): text"
std::string describe_cdn_result(const ResultCode& rc);
std::string describe_stopccn_result(const ResultCode& rc);

}  // namespace l2tpgw::l2tp
