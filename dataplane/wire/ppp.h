// PPP framing as carried in L2TP (RFC 2661 §5.3: CRC, link framing and
// transparency bytes are stripped by the LAC), as pure functions over the frame:
// the optional Address/Control bytes FF 03 (RFC 1662 §3.1, compressed away
// by ACFC, RFC 1661 §6.6) and the 1- or 2-byte Protocol field (RFC 1661 §2,
// compressed by PFC, §6.5).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace l2tpgw::wire {

inline constexpr std::uint8_t ppp_address = 0xff;  // RFC 1662 §3.1: All-Stations
inline constexpr std::uint8_t ppp_control = 0x03;  // RFC 1662 §3.1: UI frame

inline constexpr std::uint16_t ppp_proto_ipv4 = 0x0021;
inline constexpr std::uint16_t ppp_proto_ipv6 = 0x0057;
inline constexpr std::uint16_t ppp_proto_compressed = 0x00fd;  // RFC 1962 §2.1; MPPE (RFC 3078)
inline constexpr std::uint16_t ppp_proto_ipcp = 0x8021;
inline constexpr std::uint16_t ppp_proto_ipv6cp = 0x8057;
inline constexpr std::uint16_t ppp_proto_ccp = 0x80fd;
inline constexpr std::uint16_t ppp_proto_lcp = 0xc021;
inline constexpr std::uint16_t ppp_proto_pap = 0xc023;
inline constexpr std::uint16_t ppp_proto_chap = 0xc223;
inline constexpr std::uint16_t ppp_proto_eap = 0xc227;

enum class PppError : std::uint8_t {
  ok,
  truncated,            // no complete Protocol field
  bad_address_control,  // starts with FF but not FF 03 (RFC 1662 §3.1: discard)
  bad_protocol,         // a 2-byte field whose last byte has LSB 0 (RFC 1661 §2)
};

const char* ppp_error_name(PppError e) noexcept;

struct PppParse {
  PppError error = PppError::truncated;
  std::uint16_t protocol = 0;
  std::uint8_t header_len = 0;  // the PPP information field starts here
  bool acfc = false;            // Address and Control were absent
  bool pfc = false;             // the Protocol field was one byte

  constexpr bool ok() const noexcept { return error == PppError::ok; }
};

// Accepts every combination of ACFC and PFC whether or not they were
// negotiated: RFC 1661 §6.5 requires accepting both Protocol forms, and
// whether a compressed frame is acceptable on a session (§6.6 "MAY silently
// discard"; LCP never compressed) is a per-session policy for the caller.
PppParse parse_ppp(std::span<const std::uint8_t> frame) noexcept;

// True when v is a Protocol value RFC 1661 §2 allows: low byte odd, high
// byte even.
constexpr bool ppp_protocol_valid(std::uint16_t v) noexcept {
  return (v & 0x0001u) != 0 && (v & 0x0100u) == 0;
}

enum class PppClass : std::uint8_t {
  ipv4,
  ipv6,
  compressed,  // CCP-compressed or MPPE-encrypted datagram
  control,     // LCP, authentication and NCPs: handled by the control plane
  other,       // anything else: the control plane answers Protocol-Reject (RFC 1661 §5.7)
};

// RFC 1661 §2: values 8000-bfff are Network Control Protocols and c000-ffff
// link-layer control protocols (LCP, PAP, CHAP, EAP, ...); all of them are
// negotiation traffic for the control plane.
constexpr PppClass classify_ppp(std::uint16_t protocol) noexcept {
  if (protocol == ppp_proto_ipv4) {
    return PppClass::ipv4;
  }
  if (protocol == ppp_proto_ipv6) {
    return PppClass::ipv6;
  }
  if (protocol == ppp_proto_compressed) {
    return PppClass::compressed;
  }
  if (protocol >= 0x8000u) {
    return PppClass::control;
  }
  return PppClass::other;
}

// LCP keeps Address/Control and the full Protocol field whatever was
// negotiated (RFC 1661 §6.5, §6.6: "guarantees unambiguous recognition of
// LCP packets"); PFC applies only to values below 0x100.
constexpr std::size_t ppp_header_len(std::uint16_t protocol, bool acfc, bool pfc) noexcept {
  const bool lcp = protocol == ppp_proto_lcp;
  return (acfc && !lcp ? 0u : 2u) + (pfc && protocol < 0x100u ? 1u : 2u);
}

// Writes Address/Control (unless acfc) and the Protocol field (one byte if
// pfc and it fits). Returns the size written, or 0 when out is too small or
// protocol is not a valid PPP Protocol value or is the reserved 0x00ff.
std::size_t build_ppp_header(std::span<std::uint8_t> out, std::uint16_t protocol, bool acfc,
                             bool pfc) noexcept;

}  // namespace l2tpgw::wire
