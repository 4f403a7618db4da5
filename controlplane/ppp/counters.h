// Why PPP input was dropped or refused, one counter per named reason. The
// parse errors of options.h come first, in their order, so that a
// ParseError converts to its counter by value.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "controlplane/ppp/options.h"

namespace l2tpgw::ppp {

#define L2TPGW_PPP_COUNTERS(X)                                                                \
  L2TPGW_PPP_PARSE_ERRORS(X)                                                                  \
  X(bad_ppp_header, "frame without a valid PPP Address/Control or Protocol field")            \
  X(not_lcp_before_open, "non-LCP frame before LCP opened: discarded (RFC 1661 §3.4)")        \
  X(bad_identifier, "Ack/Nak/Reject not matching our last Configure-Request's Identifier")    \
  X(ack_mismatch, "Configure-Ack that does not repeat our Configure-Request (RFC 1661 §5.2)") \
  X(endless_naks, "peer kept sending Configure-Naks: negotiation abandoned")                  \
  X(nak_to_reject, "Configure-Nak turned into Configure-Reject after Max-Failure (§4.6)")     \
  X(bad_option_length, "known option with a wrong Length: rejected")                          \
  X(code_reject_sent, "Code-Reject sent for an unknown Code (RFC 1661 §5.6)")                 \
  X(protocol_reject_sent, "Protocol-Reject sent for an unknown protocol (RFC 1661 §5.7)")     \
  X(ipv6cp_rejected, "IPv6CP refused with Protocol-Reject: no IPv6 on sessions yet")          \
  X(magic_loop, "peer's Magic-Number equal to ours: looped-back link? (RFC 1661 §6.4)")       \
  X(echo_missed, "LCP Echo-Request without a Reply before the next one")                      \
  X(pap_bad_length, "PAP Authenticate-Request whose lengths disagree (RFC 1334 §2.2)")        \
  X(chap_bad_length, "CHAP packet whose Value-Size or Name does not fit (RFC 1994 §4)")       \
  X(mschapv2_bad_length, "MS-CHAPv2 Response with Value-Size other than 49 (RFC 2759 §4)")    \
  X(auth_stale_id, "CHAP Response whose Identifier is not our Challenge's: discarded")        \
  X(auth_unexpected, "authentication packet of a protocol or code not negotiated")            \
  X(proxy_lcp_renegotiated, "proxy LCP from the LAC not acceptable: LCP renegotiated")

enum class Counter : std::uint8_t {
#define L2TPGW_PPP_CENUM(name, text) name,
  L2TPGW_PPP_COUNTERS(L2TPGW_PPP_CENUM)
#undef L2TPGW_PPP_CENUM
      count_
};

inline constexpr std::size_t counter_count = static_cast<std::size_t>(Counter::count_);

const char* counter_name(Counter c) noexcept;
const char* describe(Counter c) noexcept;

constexpr Counter to_counter(ParseError e) noexcept {
  return static_cast<Counter>(e);
}
static_assert(static_cast<int>(Counter::option_flood) ==
              static_cast<int>(ParseError::option_flood));

struct Counters {
  std::array<std::uint64_t, counter_count> values{};

  void add(Counter c) noexcept { ++values[static_cast<std::size_t>(c)]; }
  std::uint64_t operator[](Counter c) const noexcept { return values[static_cast<std::size_t>(c)]; }
};

}  // namespace l2tpgw::ppp
