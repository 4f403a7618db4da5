#include "dataplane/wire/l2tp.h"

#include <cstring>

#include "dataplane/wire/be.h"

namespace l2tpgw::wire {
namespace {

// The optional fields put every later field at a variable offset, so fields
// are copied out rather than overlaid with a packed struct.
std::uint16_t load16(const std::uint8_t* p) noexcept {
  Be16 v;
  std::memcpy(&v, p, sizeof(v));
  return v.host();
}

void store16(std::uint8_t* p, std::uint16_t host) noexcept {
  const Be16 v = Be16::from_host(host);
  std::memcpy(p, &v, sizeof(v));
}

}  // namespace

const char* l2tp_error_name(L2tpError e) noexcept {
  switch (e) {
    case L2tpError::ok:
      return "ok";
    case L2tpError::truncated:
      return "truncated";
    case L2tpError::bad_version:
      return "bad_version";
    case L2tpError::l2tpv3:
      return "l2tpv3";
    case L2tpError::length_mismatch:
      return "length_mismatch";
    case L2tpError::offset_beyond:
      return "offset_beyond";
    case L2tpError::control_flags:
      return "control_flags";
  }
  return "unknown";
}

L2tpParse parse_l2tp(std::span<const std::uint8_t> udp_payload) noexcept {
  L2tpParse r;
  const std::size_t size = udp_payload.size();
  const std::uint8_t* p = udp_payload.data();
  if (size < 2) {
    r.error = L2tpError::truncated;
    return r;
  }
  const std::uint16_t flags = load16(p);
  const unsigned version = flags & l2tp_version_mask;
  if (version != l2tp_version) {
    r.error = version == 3 ? L2tpError::l2tpv3 : L2tpError::bad_version;
    return r;
  }
  r.is_control = (flags & l2tp_flag_type) != 0;
  r.has_length = (flags & l2tp_flag_length) != 0;
  r.has_sequence = (flags & l2tp_flag_sequence) != 0;
  r.has_offset = (flags & l2tp_flag_offset) != 0;
  r.priority = (flags & l2tp_flag_priority) != 0;

  // §3.1: L and S MUST be set and O MUST be 0 for control messages; the
  // control plane relies on Length and Ns/Nr being there. P (also MUST be 0
  // there) changes no field position, so it is reported, not refused.
  if (r.is_control && (!r.has_length || !r.has_sequence || r.has_offset)) {
    r.error = L2tpError::control_flags;
    return r;
  }

  const std::size_t fixed = 6u + (r.has_length ? 2u : 0u) + (r.has_sequence ? 4u : 0u) +
                            (r.has_offset ? 2u : 0u);
  if (size < fixed) {
    r.error = L2tpError::truncated;
    return r;
  }
  std::size_t at = 2;
  if (r.has_length) {
    r.length = load16(p + at);
    at += 2;
  }
  r.tunnel_id = load16(p + at);
  r.session_id = load16(p + at + 2);
  at += 4;
  if (r.has_sequence) {
    r.ns = load16(p + at);
    r.nr = load16(p + at + 2);
    at += 4;
  }
  if (r.has_offset) {
    r.offset_size = load16(p + at);
    at += 2;
  }

  // The message ends where Length says; the datagram may carry more (§3.1:
  // "total length of the message"), which is not ours to interpret.
  std::size_t end = size;
  if (r.has_length) {
    if (r.length > size || r.length < fixed) {
      r.error = L2tpError::length_mismatch;
      return r;
    }
    end = r.length;
  }
  // §3.1: "the L2TP header ends after the last byte of the offset padding";
  // the pad's content is undefined and not looked at.
  if (at + r.offset_size > end) {
    r.error = L2tpError::offset_beyond;
    return r;
  }
  at += r.offset_size;
  r.payload_offset = static_cast<std::uint32_t>(at);
  r.payload_len = static_cast<std::uint32_t>(end - at);
  r.error = L2tpError::ok;
  return r;
}

std::size_t build_l2tp_data_header(std::span<std::uint8_t> out, const L2tpDataHeader& h,
                                   std::size_t payload_len) noexcept {
  const std::size_t len = l2tp_data_header_len(h);
  if (out.size() < len) {
    return 0;
  }
  if (h.with_length && len + payload_len > 0xffffu) {
    return 0;
  }
  // Reserved bits stay 0 (§3.1) and T is 0: this is a data message.
  std::uint16_t flags = l2tp_version;
  flags |= h.with_length ? l2tp_flag_length : 0;
  flags |= h.with_sequence ? l2tp_flag_sequence : 0;
  flags |= h.with_offset ? l2tp_flag_offset : 0;
  flags |= h.priority ? l2tp_flag_priority : 0;

  std::uint8_t* p = out.data();
  store16(p, flags);
  std::size_t at = 2;
  if (h.with_length) {
    store16(p + at, static_cast<std::uint16_t>(len + payload_len));
    at += 2;
  }
  store16(p + at, h.tunnel_id);
  store16(p + at + 2, h.session_id);
  at += 4;
  if (h.with_sequence) {
    store16(p + at, h.ns);
    store16(p + at + 2, h.nr);
    at += 4;
  }
  if (h.with_offset) {
    store16(p + at, h.offset_pad);
    at += 2;
    // The pad is undefined on the wire; zeros keep no stale buffer bytes.
    std::memset(p + at, 0, h.offset_pad);
  }
  return len;
}

}  // namespace l2tpgw::wire
