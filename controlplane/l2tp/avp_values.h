// The value formats of every AVP of RFC 2661 §4.4, decoded into one typed
// set (an absent AVP is an empty optional) and encoded back from it.
#pragma once

#include <array>
#include <bitset>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "controlplane/l2tp/avp.h"

namespace l2tpgw::l2tp {

// §4.4.2 Result Code: result, optional error code, optional message.
struct ResultCode {
  std::uint16_t result = 0;
  std::optional<std::uint16_t> error;
  std::string message;  // only sent when error is present (the format needs it)
  bool operator==(const ResultCode&) const = default;
};

struct ProtocolVersion {
  std::uint8_t version = 1;  // §4.4.3: 1.0 for RFC 2661
  std::uint8_t revision = 0;
  bool operator==(const ProtocolVersion&) const = default;
};

// §4.4.6 Q.931 Cause Code: cause, message code, optional advisory text.
struct Q931Cause {
  std::uint16_t cause = 0;
  std::uint8_t message = 0;
  std::string advisory;
  bool operator==(const Q931Cause&) const = default;
};

// §4.4.7 Call Errors (WEN).
struct CallErrors {
  std::uint32_t crc = 0;
  std::uint32_t framing = 0;
  std::uint32_t hardware_overruns = 0;
  std::uint32_t buffer_overruns = 0;
  std::uint32_t timeouts = 0;
  std::uint32_t alignment = 0;
  bool operator==(const CallErrors&) const = default;
};

// §4.4.7 ACCM (SLI).
struct Accm {
  std::uint32_t send = 0;
  std::uint32_t receive = 0;
  bool operator==(const Accm&) const = default;
};

// Framing and Bearer bits (§4.4.3, §4.4.5).
inline constexpr std::uint32_t framing_sync = 0x1;
inline constexpr std::uint32_t framing_async = 0x2;
inline constexpr std::uint32_t bearer_digital = 0x1;
inline constexpr std::uint32_t bearer_analog = 0x2;

// §4.4.5 Proxy Authen Type values.
enum class ProxyAuthenType : std::uint16_t {
  reserved = 0,
  textual = 1,
  chap = 2,
  pap = 3,
  none = 4,
  mschap_v1 = 5,
};

using Bytes = std::vector<std::uint8_t>;

// Every AVP of §4.4 except Message Type (the message's own type) and Random
// Vector (a property of the encoding, not of the content).
struct AvpSet {
  std::optional<ResultCode> result_code;
  std::optional<ProtocolVersion> protocol_version;
  std::optional<std::uint32_t> framing_capabilities;
  std::optional<std::uint32_t> bearer_capabilities;
  std::optional<std::array<std::uint8_t, 8>> tie_breaker;
  std::optional<std::uint16_t> firmware_revision;
  std::optional<std::string> host_name;
  std::optional<std::string> vendor_name;
  std::optional<std::uint16_t> assigned_tunnel_id;
  std::optional<std::uint16_t> receive_window_size;
  std::optional<Bytes> challenge;
  std::optional<Q931Cause> q931_cause;
  std::optional<std::array<std::uint8_t, 16>> challenge_response;
  std::optional<std::uint16_t> assigned_session_id;
  std::optional<std::uint32_t> call_serial_number;
  std::optional<std::uint32_t> minimum_bps;
  std::optional<std::uint32_t> maximum_bps;
  std::optional<std::uint32_t> bearer_type;
  std::optional<std::uint32_t> framing_type;
  std::optional<std::string> called_number;
  std::optional<std::string> calling_number;
  std::optional<std::string> sub_address;
  std::optional<std::uint32_t> tx_connect_speed;
  std::optional<std::uint32_t> physical_channel_id;
  std::optional<Bytes> initial_received_lcp_confreq;
  std::optional<Bytes> last_sent_lcp_confreq;
  std::optional<Bytes> last_received_lcp_confreq;
  std::optional<std::uint16_t> proxy_authen_type;
  std::optional<std::string> proxy_authen_name;
  std::optional<Bytes> proxy_authen_challenge;
  std::optional<std::uint8_t> proxy_authen_id;
  std::optional<Bytes> proxy_authen_response;
  std::optional<CallErrors> call_errors;
  std::optional<Accm> accm;
  std::optional<Bytes> private_group_id;
  std::optional<std::uint32_t> rx_connect_speed;
  bool sequencing_required = false;

  bool operator==(const AvpSet&) const = default;

  // True when the AVP of that type is present.
  bool has(AvpType type) const noexcept;
};

// Decodes one received AVP's value into set (Message Type and Random Vector
// are not stored and accepted as they are). bad_value_length when the value
// does not fit the AVP's format; bad_value when a field is out of range.
AvpError decode_avp_value(const Avp& avp, AvpSet& set);

// Which AVPs to send hidden, with the material hiding needs. Hiding needs
// both a secret and a random vector; padding is appended to each hidden
// value (§4.3 leaves its length to the sender).
struct HideOptions {
  std::bitset<avp_type_count> hide;
  std::span<const std::uint8_t> secret;
  std::span<const std::uint8_t> random_vector;
  std::span<const std::uint8_t> padding;
};

// Appends every present AVP of set in attribute-type order, Random Vector
// first when anything is hidden. False when a value does not fit an AVP or
// hiding was asked without a secret or a random vector.
bool encode_avp_set(const AvpSet& set, const HideOptions& hide, AvpWriter& w);

}  // namespace l2tpgw::l2tp
