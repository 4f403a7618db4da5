// Named counters of the LNS engine: one per malformed-input reason (every
// message and AVP parse error) and one per refusal or protocol event.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "controlplane/l2tp/avp.h"
#include "controlplane/l2tp/message.h"

namespace l2tpgw::l2tp {

#define L2TP_LNS_COUNTERS(X)                                                              \
  X(packets_received, "UDP payloads handed to the engine")                                \
  X(messages_delivered, "control messages delivered in order to a tunnel")                \
  X(zlb_received, "ZLB acknowledgements received")                                        \
  X(duplicates, "retransmitted messages already delivered (acknowledged again)")          \
  X(out_of_order_queued, "messages held until a gap in Ns fills")                         \
  X(outside_window, "messages too far ahead of the expected Ns, dropped")                 \
  X(plain_not_allowed, "plain L2TP from an address outside the trusted prefixes")         \
  X(transport_mismatch, "plain L2TP for a tunnel set up over IPsec")                      \
  X(unknown_tunnel_id, "Tunnel ID that names no tunnel of ours")                          \
  X(tunnel_of_another_peer, "Tunnel ID of ours, but from another address or port")        \
  X(tunnel_zero_not_sccrq, "Tunnel ID 0 on a message other than SCCRQ")                   \
  X(sccrq_nonzero_ns, "new SCCRQ whose Ns is not 0")                                      \
  X(unknown_session_id, "Session ID that names no session of this tunnel")                \
  X(session_of_another_tunnel, "Session ID of another tunnel from the same peer")         \
  X(unexpected_message, "message the tunnel or session state cannot take")                \
  X(unknown_message_ignored, "unknown message type without the M bit, ignored")           \
  X(unknown_mandatory_teardown, "teardown for an unknown AVP or message type with M set") \
  X(auth_failed, "tunnel authentication failed or impossible")                            \
  X(unsupported_version, "SCCRQ with a Protocol Version other than 1.0")                  \
  X(tunnel_limit, "SCCRQ refused: tunnel limit reached")                                  \
  X(tunnel_per_peer_limit, "SCCRQ refused: tunnel limit of this peer reached")            \
  X(tunnel_ids_exhausted, "SCCRQ refused: no free Tunnel ID")                             \
  X(session_limit, "ICRQ refused: session limit reached")                                 \
  X(session_per_tunnel_limit, "ICRQ refused: session limit of this tunnel reached")       \
  X(session_ids_exhausted, "ICRQ refused: no free Session ID")                            \
  X(session_setup_timeout, "sessions dropped for want of an ICCN after our ICRP")         \
  X(outgoing_call_message, "OCRQ/OCRP/OCCN: outgoing calls are not placed by this LNS")   \
  X(peer_silent, "control connections whose peer stopped acknowledging")                  \
  X(build_failed, "outgoing message that could not be encoded")

enum class LnsCounter : std::uint8_t {
#define L2TP_X(name, text) name,
  L2TP_LNS_COUNTERS(L2TP_X)
#undef L2TP_X
};

inline constexpr std::size_t lns_counter_count = 0
#define L2TP_X(name, text) +1
    L2TP_LNS_COUNTERS(L2TP_X)
#undef L2TP_X
    ;

const char* lns_counter_name(LnsCounter c) noexcept;
const char* describe(LnsCounter c) noexcept;

struct LnsCounters {
  std::array<std::uint64_t, lns_counter_count> events{};
  std::array<std::uint64_t, message_error_count> message_errors{};
  std::array<std::uint64_t, avp_error_count> avp_errors{};

  void count(LnsCounter c) noexcept { ++events[static_cast<std::size_t>(c)]; }
  std::uint64_t get(LnsCounter c) const noexcept { return events[static_cast<std::size_t>(c)]; }
  std::uint64_t get(MessageError e) const noexcept {
    return message_errors[static_cast<std::size_t>(e)];
  }
  std::uint64_t get(AvpError e) const noexcept { return avp_errors[static_cast<std::size_t>(e)]; }

  // Every non-zero counter as ("message_<name>" | "avp_<name>" | "<name>", value).
  std::vector<std::pair<std::string, std::uint64_t>> nonzero() const;
};

}  // namespace l2tpgw::l2tp
