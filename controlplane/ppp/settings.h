// What an operator chooses for PPP on the LNS: timers, authentication
// protocols in order of preference, IPCP addresses, MPPE policy. Filled from
// the configuration file by the control plane; defaults are what a Windows,
// macOS or Linux client expects.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "controlplane/ppp/fsm.h"

namespace l2tpgw::ppp {

enum class AuthProto : std::uint8_t { pap, chap_md5, mschapv2 };
const char* auth_name(AuthProto a) noexcept;  // "PAP", "CHAP-MD5", "MS-CHAPv2"

enum class MppePolicy : std::uint8_t { none, allow, require };
std::optional<MppePolicy> parse_mppe_policy(std::string_view s) noexcept;

// Key strengths an operator allows (RFC 3078 §2.1 L, M, S bits).
inline constexpr std::uint8_t mppe_allow_40 = 1;
inline constexpr std::uint8_t mppe_allow_56 = 2;
inline constexpr std::uint8_t mppe_allow_128 = 4;

struct PppSettings {
  FsmTimers timers;
  // Asked in this order; a client that Naks one is offered the next.
  std::vector<AuthProto> auth{AuthProto::mschapv2};
  // The Name field of our CHAP Challenges (RFC 1994 §4.1).
  std::string server_name = "l2tpgw";
  // Our MRU (RFC 1661 §6.1), asked only when not the default 1500; the
  // client's is accepted down to min_mru (576: the IPv4 minimum datagram).
  std::uint16_t mru = 1500;
  std::uint16_t min_mru = 576;
  // Keepalives (RFC 1661 §5.8) once LCP is open; the session is declared
  // dead after echo_max_missed Requests in a row without a Reply. 0 = off.
  Duration echo_interval{20000};
  unsigned echo_max_missed = 3;
  // IPCP (RFC 1332 §3.3; RFC 1877 §1.1-1.4). Host order; 0 = not offered.
  std::uint32_t local_address = 0;
  std::uint32_t dns_primary = 0;
  std::uint32_t dns_secondary = 0;
  std::uint32_t nbns_primary = 0;
  std::uint32_t nbns_secondary = 0;
  // CCP/MPPE (RFC 3078). A user's own policy replaces `mppe`.
  MppePolicy mppe = MppePolicy::allow;
  std::uint8_t mppe_allowed = mppe_allow_40 | mppe_allow_56 | mppe_allow_128;
  // Stateless mode (H bit) when the client offers it: every packet carries
  // its own key change, so a lost packet costs no resynchronisation.
  bool mppe_prefer_stateless = true;
};

}  // namespace l2tpgw::ppp
