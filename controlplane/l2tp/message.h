// L2TP control messages (RFC 2661 §3.1 header, §3.2 and §6 messages): parse
// a UDP payload into a typed message with its AVPs decoded and the
// mandatory AVPs of §6 checked; build one back.
#pragma once

#include <bitset>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "controlplane/l2tp/avp.h"
#include "controlplane/l2tp/avp_values.h"

namespace l2tpgw::l2tp {

// §3.2 control message types. 5 and 13 are reserved; OCRQ/OCRP/OCCN exist
// only for calls an LNS places, which this LNS never does.
enum class MessageType : std::uint16_t {
  sccrq = 1,
  sccrp = 2,
  scccn = 3,
  stopccn = 4,
  hello = 6,
  ocrq = 7,
  ocrp = 8,
  occn = 9,
  icrq = 10,
  icrp = 11,
  iccn = 12,
  cdn = 14,
  wen = 15,
  sli = 16,
};

bool known_message_type(std::uint16_t type) noexcept;
const char* message_type_name(std::uint16_t type) noexcept;  // "SCCRQ", ..., "ZLB" for 0

#define L2TP_MESSAGE_ERRORS(X)                                                       \
  X(ok, "no error")                                                                  \
  X(header_truncated, "control header cut short")                                    \
  X(header_bad_version, "L2TP version other than 2")                                 \
  X(header_length_mismatch, "header Length beyond the datagram or below the header") \
  X(header_control_flags, "control message without L or S, or with O set")           \
  X(not_control, "data message handed to the control parser")                        \
  X(avp, "malformed AVP list (see the AVP error)")                                   \
  X(message_type_not_first, "first AVP is not a Message Type")                       \
  X(unknown_message_type, "unknown message type with the M bit set")                 \
  X(unknown_message_type_ignored, "unknown message type without the M bit")          \
  X(missing_mandatory_avp, "a mandatory AVP of this message type is missing")

enum class MessageError : std::uint8_t {
#define L2TP_X(name, text) name,
  L2TP_MESSAGE_ERRORS(L2TP_X)
#undef L2TP_X
};

inline constexpr std::size_t message_error_count = 0
#define L2TP_X(name, text) +1
    L2TP_MESSAGE_ERRORS(L2TP_X)
#undef L2TP_X
    ;

const char* message_error_name(MessageError e) noexcept;
const char* describe(MessageError e) noexcept;

inline constexpr std::size_t control_header_len = 12;      // flags, Length, ids, Ns, Nr
inline constexpr std::uint16_t control_flags_v2 = 0xc802;  // T, L, S set; Ver 2

struct ControlHeader {
  std::uint16_t tunnel_id = 0;   // the receiver's Tunnel ID
  std::uint16_t session_id = 0;  // the receiver's Session ID, 0 for the tunnel
  std::uint16_t ns = 0;
  std::uint16_t nr = 0;
  bool operator==(const ControlHeader&) const = default;
};

// One control message. type 0 with no AVPs is a ZLB acknowledgement (§5.8).
struct ControlMessage {
  ControlHeader header;
  std::uint16_t type = 0;
  AvpSet avps;
  // Which AVPs arrived hidden (on parse) or are to be hidden (on build).
  std::bitset<avp_type_count> hidden;
  // Set on parse when an unrecognised AVP with the M bit was present (§4.1):
  // its attribute type. The rest of the message is decoded all the same.
  std::optional<std::uint16_t> unknown_mandatory_avp;

  bool zlb() const noexcept { return type == 0; }
  MessageType message_type() const noexcept { return static_cast<MessageType>(type); }
};

struct MessageParse {
  MessageError error = MessageError::header_truncated;
  AvpError avp_error = AvpError::ok;  // with error avp
  std::uint16_t avp_type = 0;         // the AVP at fault, or the mandatory one missing
  bool header_ok = false;             // msg.header is valid even when error is not ok
  ControlMessage msg;

  bool ok() const noexcept { return error == MessageError::ok; }
  // §4.1: an unknown AVP with the M bit set ends the session (or the tunnel
  // for a tunnel message); msg is otherwise fully decoded.
  bool unknown_mandatory_avp() const noexcept {
    return error == MessageError::avp && avp_error == AvpError::unknown_mandatory;
  }
};

// udp_payload: the whole UDP payload; secret: empty when none configured.
MessageParse parse_control_message(std::span<const std::uint8_t> udp_payload,
                                   std::span<const std::uint8_t> secret);

// §6: the AVPs each message MUST carry (besides Message Type). Empty for a
// ZLB and for unknown types.
std::span<const AvpType> mandatory_avps(std::uint16_t type) noexcept;

// The first mandatory AVP of msg.type that set lacks.
std::optional<AvpType> first_missing_mandatory(std::uint16_t type, const AvpSet& set) noexcept;

// Material for hidden AVPs: the AVPs flagged in msg.hidden are hidden with
// secret and random_vector (a Random Vector AVP is written before them) and
// padded with padding.
struct HideMaterial {
  std::span<const std::uint8_t> secret;
  std::span<const std::uint8_t> random_vector;
  std::span<const std::uint8_t> padding;
};

// The whole UDP payload; empty when a value does not fit its AVP, the
// message exceeds 65535 bytes, or hiding lacks its material.
std::vector<std::uint8_t> build_control_message(const ControlMessage& msg,
                                                const HideMaterial& hide = {});

// Rewrites Ns and Nr of a built message in place: the reliable layer stamps
// them at (re)transmission time.
void stamp_sequence(std::span<std::uint8_t> message, std::uint16_t ns, std::uint16_t nr) noexcept;

}  // namespace l2tpgw::l2tp
