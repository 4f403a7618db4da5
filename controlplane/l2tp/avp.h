// The AVP list of an L2TP control message (RFC 2661 §4.1) as pure functions
// over byte spans: the parser walks the list, unhides hidden AVPs (§4.3) and
// applies the M-bit policy; the writer appends AVPs, hidden ones included.
//
//   |M|H| rsvd  |      Length       |           Vendor ID           |
//   |         Attribute Type        |        Attribute Value...
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace l2tpgw::l2tp {

// IETF attribute types of RFC 2661 §4.4 (Vendor ID 0).
enum class AvpType : std::uint16_t {
  message_type = 0,
  result_code = 1,
  protocol_version = 2,
  framing_capabilities = 3,
  bearer_capabilities = 4,
  tie_breaker = 5,
  firmware_revision = 6,
  host_name = 7,
  vendor_name = 8,
  assigned_tunnel_id = 9,
  receive_window_size = 10,
  challenge = 11,
  q931_cause_code = 12,
  challenge_response = 13,
  assigned_session_id = 14,
  call_serial_number = 15,
  minimum_bps = 16,
  maximum_bps = 17,
  bearer_type = 18,
  framing_type = 19,
  // 20 is reserved in §4.4.
  called_number = 21,
  calling_number = 22,
  sub_address = 23,
  tx_connect_speed = 24,
  physical_channel_id = 25,
  initial_received_lcp_confreq = 26,
  last_sent_lcp_confreq = 27,
  last_received_lcp_confreq = 28,
  proxy_authen_type = 29,
  proxy_authen_name = 30,
  proxy_authen_challenge = 31,
  proxy_authen_id = 32,
  proxy_authen_response = 33,
  call_errors = 34,
  accm = 35,
  random_vector = 36,
  private_group_id = 37,
  rx_connect_speed = 38,
  sequencing_required = 39,
};

inline constexpr std::uint16_t avp_type_count = 40;

// True for the attribute types this library knows (Vendor ID 0, §4.4).
bool known_avp_type(std::uint16_t type) noexcept;
// "Host Name", ... for logs; "unknown" otherwise.
const char* avp_name(std::uint16_t type) noexcept;
// The M bit we send (§4.4 says per AVP whether it MUST be 0 or 1).
bool avp_mandatory_bit(AvpType type) noexcept;

#define L2TP_AVP_ERRORS(X)                                                          \
  X(ok, "no error")                                                                 \
  X(truncated, "fewer than 6 bytes left for an AVP header")                         \
  X(bad_length, "AVP Length below the 6-byte header")                               \
  X(length_beyond_message, "AVP Length runs past the end of the message")           \
  X(hidden_without_secret, "hidden AVP but no shared secret is configured")         \
  X(hidden_without_random_vector, "hidden AVP with no Random Vector AVP before it") \
  X(hidden_too_short, "hidden AVP value shorter than its original-length field")    \
  X(hidden_length_lies, "hidden AVP original length beyond the hidden value")       \
  X(hidden_not_allowed, "H bit on an AVP that must not be hidden")                  \
  X(unknown_mandatory, "unrecognised AVP with the M bit set")                       \
  X(bad_value_length, "AVP value length does not fit its format")                   \
  X(bad_value, "AVP value out of range")

enum class AvpError : std::uint8_t {
#define L2TP_X(name, text) name,
  L2TP_AVP_ERRORS(L2TP_X)
#undef L2TP_X
};

inline constexpr std::size_t avp_error_count = 0
#define L2TP_X(name, text) +1
    L2TP_AVP_ERRORS(L2TP_X)
#undef L2TP_X
    ;

// A stable snake_case name for counters, and a sentence for logs.
const char* avp_error_name(AvpError e) noexcept;
const char* describe(AvpError e) noexcept;

inline constexpr std::size_t avp_header_len = 6;
inline constexpr std::size_t avp_max_len = 1023;  // the 10-bit Length field
inline constexpr std::uint16_t avp_flag_mandatory = 0x8000;
inline constexpr std::uint16_t avp_flag_hidden = 0x4000;
inline constexpr std::uint16_t avp_length_mask = 0x03ff;

// One AVP as received; value is the plain value (unhidden when H was set).
struct Avp {
  bool mandatory = false;
  bool hidden = false;
  std::uint16_t vendor_id = 0;
  std::uint16_t type = 0;
  std::size_t offset = 0;  // of its header in the AVP list
  std::vector<std::uint8_t> value;
};

struct AvpList {
  AvpError error = AvpError::ok;
  std::uint16_t error_type = 0;  // the attribute type at fault
  std::size_t error_offset = 0;  // its offset in the AVP list
  // Known AVPs in order, Random Vector included. With unknown_mandatory the
  // walk continues to the end so that the caller still finds the ids it
  // needs to tear the session or tunnel down (§4.1).
  std::vector<Avp> avps;
  unsigned ignored = 0;  // unknown AVPs without the M bit, skipped (§4.1)
};

// body: the bytes after the control message header, bounded by its Length.
// secret: the tunnel's shared secret, empty when none is configured.
AvpList parse_avp_list(std::span<const std::uint8_t> body, std::span<const std::uint8_t> secret);

// §4.3 hiding: the Hidden AVP Subformat (2-byte original length, value,
// padding) XORed with MD5(type || secret || RV), then MD5(secret || c(i-1)).
std::vector<std::uint8_t> hide_avp_value(std::uint16_t type, std::span<const std::uint8_t> value,
                                         std::span<const std::uint8_t> secret,
                                         std::span<const std::uint8_t> random_vector,
                                         std::span<const std::uint8_t> padding);

// Inverse of hide_avp_value on the AVP's value field; returns the error and
// fills value on success.
AvpError unhide_avp_value(std::uint16_t type, std::span<const std::uint8_t> hidden,
                          std::span<const std::uint8_t> secret,
                          std::span<const std::uint8_t> random_vector,
                          std::vector<std::uint8_t>& value);

// Appends AVPs to a message under construction. Hidden AVPs use the secret
// and the Random Vector last written with put_random_vector().
class AvpWriter {
 public:
  explicit AvpWriter(std::vector<std::uint8_t>& out) : _out(out) {}

  // Length checks: false (and failed() from then on) when the value does
  // not fit the 10-bit Length.
  bool put(std::uint16_t type, bool mandatory, std::span<const std::uint8_t> value);
  bool put(AvpType type, std::span<const std::uint8_t> value) {
    return put(static_cast<std::uint16_t>(type), avp_mandatory_bit(type), value);
  }
  bool put_vendor(std::uint16_t vendor_id, std::uint16_t type, bool mandatory,
                  std::span<const std::uint8_t> value);
  bool put_random_vector(std::span<const std::uint8_t> rv);
  // Needs a secret and a Random Vector written before it.
  bool put_hidden(AvpType type, std::span<const std::uint8_t> value,
                  std::span<const std::uint8_t> secret, std::span<const std::uint8_t> padding);

  bool failed() const noexcept { return _failed; }

 private:
  bool put_header(std::uint16_t flags_len, std::uint16_t vendor, std::uint16_t type);

  std::vector<std::uint8_t>& _out;
  std::vector<std::uint8_t> _random_vector;
  bool _failed = false;
};

}  // namespace l2tpgw::l2tp
