// L2TPv2 message header (RFC 2661 §3.1) as pure functions over the UDP
// payload: the parser tells a data message from a control message and finds
// the PPP frame; the builder writes a data-message header for the way back.
//
//   |T|L|x|x|S|x|O|P|x|x|x|x|  Ver  |          Length (opt)         |
//   |           Tunnel ID           |           Session ID          |
//   |             Ns (opt)          |             Nr (opt)          |
//   |      Offset Size (opt)        |    Offset pad... (opt)
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace l2tpgw::wire {

inline constexpr std::uint16_t l2tp_flag_type = 0x8000;      // T: control message
inline constexpr std::uint16_t l2tp_flag_length = 0x4000;    // L: Length present
inline constexpr std::uint16_t l2tp_flag_sequence = 0x0800;  // S: Ns and Nr present
inline constexpr std::uint16_t l2tp_flag_offset = 0x0200;    // O: Offset Size present
inline constexpr std::uint16_t l2tp_flag_priority = 0x0100;  // P: data message priority
inline constexpr std::uint16_t l2tp_version_mask = 0x000f;
// §3.1: the x bits "MUST be set to 0 on outgoing messages and ignored on
// incoming messages", so the parser never looks at them.
inline constexpr std::uint16_t l2tp_reserved_mask = 0x34f0;
inline constexpr std::uint16_t l2tp_version = 2;

enum class L2tpError : std::uint8_t {
  ok,
  truncated,        // the fields announced by the flags are not all present
  bad_version,      // Ver other than 2 or 3 (1 is L2F, RFC 2341): §3.1 "MUST be discarded"
  l2tpv3,           // Ver 3: an L2TPv3 (RFC 3931) message, which we do not speak
  length_mismatch,  // L set and Length beyond the bytes present or below the header
  offset_beyond,    // O set and the offset pad runs past the end of the message
  control_flags,    // T set without L or S, or with O (§3.1 MUST rules for control)
};

// A stable name for counters and traces.
const char* l2tp_error_name(L2tpError e) noexcept;

struct L2tpParse {
  L2tpError error = L2tpError::truncated;
  bool is_control = false;
  bool has_length = false;
  bool has_sequence = false;
  bool has_offset = false;
  bool priority = false;
  std::uint16_t length = 0;  // total message length, header included (§3.1)
  std::uint16_t tunnel_id = 0;
  std::uint16_t session_id = 0;
  std::uint16_t ns = 0;
  std::uint16_t nr = 0;  // reserved in data messages: §3.1 "MUST be ignored upon receipt"
  std::uint16_t offset_size = 0;
  // The payload (PPP frame, or the AVPs of a control message) starts at
  // payload_offset from the start of the UDP payload. With L set, Length
  // bounds it and bytes beyond the message are not part of it.
  std::uint32_t payload_offset = 0;
  std::uint32_t payload_len = 0;

  constexpr bool ok() const noexcept { return error == L2tpError::ok; }
};

// udp_payload: the bytes after the UDP header, as far as the UDP length says.
L2tpParse parse_l2tp(std::span<const std::uint8_t> udp_payload) noexcept;

// A data message header (T = 0) as we send it. Nr is reserved in data
// messages (§3.1), so the peer ignores it; it is kept only so that a header
// template can echo whatever a session was configured with.
struct L2tpDataHeader {
  std::uint16_t tunnel_id = 0;
  std::uint16_t session_id = 0;
  bool with_length = false;
  bool with_sequence = false;
  std::uint16_t ns = 0;
  std::uint16_t nr = 0;
  bool with_offset = false;
  std::uint16_t offset_pad = 0;  // Offset Size: zero bytes written after the field
  bool priority = false;
};

constexpr std::size_t l2tp_data_header_len(const L2tpDataHeader& h) noexcept {
  std::size_t n = 6;  // flags/version, Tunnel ID, Session ID
  if (h.with_length) {
    n += 2;
  }
  if (h.with_sequence) {
    n += 4;
  }
  if (h.with_offset) {
    n += 2u + h.offset_pad;
  }
  return n;
}

// Writes the header for a payload of payload_len bytes that will follow it.
// Returns the header size, or 0 when out is too small or, with Length, when
// the message would not fit the 16-bit Length field.
std::size_t build_l2tp_data_header(std::span<std::uint8_t> out, const L2tpDataHeader& h,
                                   std::size_t payload_len) noexcept;

}  // namespace l2tpgw::wire
