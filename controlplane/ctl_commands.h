// The operator commands served on the control socket (l2tpgwctl): parsing a
// command line and rendering the answer as text or JSON.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "controlplane/punt_sink.h"
#include "dataplane/channel/segment.h"

namespace l2tpgw::cp {

struct CtlReply {
  bool ok = true;
  std::string text;
};

struct InjectRequest;
class SessionEvents;
class LnsService;
class IkeService;

struct CtlContext {
  const channel::Segment* seg = nullptr;  // null while no data plane is attached
  const PuntSink* punts = nullptr;
  const SessionEvents* session_events = nullptr;  // null: no event counts shown as 0
  bool synced = false;
  std::uint64_t now_unix_ns = 0;  // for SA and session ages
  std::uint64_t now_mono_ns = 0;  // for the heartbeat age
  // Deletes an SA through the data plane; nullopt when no ack came.
  std::function<std::optional<channel::Ack>(channel::Direction, std::uint32_t spi,
                                            std::uint32_t peer)>
      sa_del;
  // Deletes a session by our tunnel and session ids; nullopt when no ack came.
  std::function<std::optional<channel::Ack>(std::uint16_t tunnel, std::uint16_t session)>
      session_del;
  // Sends the packets of a pcap file (inject.h).
  std::function<CtlReply(const InjectRequest&)> inject;
  // The LNS, when the configuration has one; null otherwise.
  const LnsService* lns = nullptr;
  // Switches the IKE trace of a peer; false when there is no IKE.
  std::function<bool(std::uint32_t peer, bool on)> ike_trace;
  // Starts rekeys of a peer's IPsec SAs, or with phase1 of its ISAKMP SAs;
  // how many started, nullopt when there is no IKE.
  std::function<std::optional<std::size_t>(std::uint32_t peer, bool phase1)> ike_rekey;
  // Ends sessions by ids or by user name; how many were ended.
  std::function<std::size_t(std::uint16_t tunnel, std::uint16_t session)> disconnect;
  std::function<std::size_t(const std::string& user)> disconnect_user;
  // IKE, when the configuration has an ike section; null otherwise.
  const IkeService* ike = nullptr;
};

CtlReply run_command(std::string_view line, const CtlContext& ctx);

// Decimal or 0x-prefixed hexadecimal.
std::optional<std::uint32_t> parse_spi(const std::string& s);

// On the socket: "ok\n" or "error\n", then the text.
std::string encode_reply(const CtlReply& r);

// The texts of each command, also used by tests.
std::string render_sas_text(const channel::Segment& seg, std::uint64_t now_unix_ns);
std::string render_sessions_text(const channel::Segment& seg, std::uint64_t now_unix_ns,
                                 const SessionEvents* events = nullptr);
std::string render_workers_text(const channel::Segment& seg);
std::string render_ports_text(const channel::Segment& seg);
std::string render_drops_text(const channel::Segment& seg, bool all);
std::string render_punts_text(const PuntSink& punts);
std::string render_status_text(const CtlContext& ctx);
std::string render_stats_json(const CtlContext& ctx);
std::string render_tunnels_text(const LnsService& lns);
std::string render_users_text(const LnsService& lns, const channel::Segment* seg,
                              std::chrono::steady_clock::time_point now);
// seg: the data plane's counters of each SA are shown when attached.
std::string render_ike_text(const IkeService& ike, std::chrono::steady_clock::time_point now,
                            const channel::Segment* seg = nullptr);
std::string render_ike_json(const IkeService& ike, std::chrono::steady_clock::time_point now,
                            const channel::Segment* seg = nullptr);
std::string render_json(std::string_view command, const CtlContext& ctx);

}  // namespace l2tpgw::cp
