#include "dataplane/wire/ppp.h"

#include <cstring>

#include "dataplane/wire/be.h"

namespace l2tpgw::wire {

const char* ppp_error_name(PppError e) noexcept {
  switch (e) {
    case PppError::ok:
      return "ok";
    case PppError::truncated:
      return "truncated";
    case PppError::bad_address_control:
      return "bad_address_control";
    case PppError::bad_protocol:
      return "bad_protocol";
  }
  return "unknown";
}

PppParse parse_ppp(std::span<const std::uint8_t> frame) noexcept {
  PppParse r;
  const std::size_t size = frame.size();
  const std::uint8_t* p = frame.data();
  std::size_t at = 0;
  // RFC 1661 §6.6: a receiver takes FF 03 as Address/Control and anything
  // else as a compressed frame. A leading FF not followed by 03 cannot be a
  // Protocol field either: alone it would be 0x00ff, which is reserved, so
  // the frame has an address or control we do not know (RFC 1662 §3.1).
  if (size >= 1 && p[0] == ppp_address) {
    if (size < 2) {
      r.error = PppError::truncated;
      return r;
    }
    if (p[1] != ppp_control) {
      r.error = PppError::bad_address_control;
      return r;
    }
    at = 2;
  } else {
    r.acfc = true;
  }
  if (at >= size) {
    r.error = PppError::truncated;
    return r;
  }
  // RFC 1661 §2: the LSB of each Protocol byte says whether it is the last
  // one, so an odd first byte is a whole (PFC) field.
  if ((p[at] & 0x01u) != 0) {
    r.pfc = true;
    r.protocol = p[at];
    r.header_len = static_cast<std::uint8_t>(at + 1);
    r.error = PppError::ok;
    return r;
  }
  if (at + 2 > size) {
    r.error = PppError::truncated;
    return r;
  }
  Be16 proto;
  std::memcpy(&proto, p + at, sizeof(proto));
  r.protocol = proto.host();
  // An even second byte would extend the field past 16 bits, which no
  // assigned Protocol value does.
  if (!ppp_protocol_valid(r.protocol)) {
    r.error = PppError::bad_protocol;
    return r;
  }
  r.header_len = static_cast<std::uint8_t>(at + 2);
  r.error = PppError::ok;
  return r;
}

std::size_t build_ppp_header(std::span<std::uint8_t> out, std::uint16_t protocol, bool acfc,
                             bool pfc) noexcept {
  // 0x00ff is reserved (IANA PPP DLL numbers: "compression inefficient"):
  // compressed it would be a lone FF, which receivers read as the Address.
  if (!ppp_protocol_valid(protocol) || protocol == 0x00ffu) {
    return 0;
  }
  const std::size_t len = ppp_header_len(protocol, acfc, pfc);
  if (out.size() < len) {
    return 0;
  }
  const bool short_protocol = pfc && protocol < 0x100u;
  const bool with_address = !acfc || protocol == ppp_proto_lcp;
  std::uint8_t* p = out.data();
  std::size_t at = 0;
  if (with_address) {
    p[0] = ppp_address;
    p[1] = ppp_control;
    at = 2;
  }
  if (short_protocol) {
    p[at] = static_cast<std::uint8_t>(protocol);
  } else {
    const Be16 v = Be16::from_host(protocol);
    std::memcpy(p + at, &v, sizeof(v));
  }
  return len;
}

}  // namespace l2tpgw::wire
