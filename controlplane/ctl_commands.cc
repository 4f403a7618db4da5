#include "controlplane/ctl_commands.h"

#include <algorithm>
#include <charconv>
#include <span>
#include <sstream>
#include <vector>

#include "controlplane/inject.h"
#include "controlplane/names.h"
#include "dataplane/config/config.h"

namespace l2tpgw::cp {
namespace {

constexpr std::string_view usage =
    "commands:\n"
    "  status                      data plane, heartbeat, synchronisation\n"
    "  sa                          SAs with their counters\n"
    "  sessions                    L2TP sessions with their counters\n"
    "  ports                       port counters\n"
    "  drops [--all]               drop reasons with their counts\n"
    "  workers                     per-worker counters and cycles per packet\n"
    "  punts                       packets punted to the control plane\n"
    "  stats                       everything above as one JSON object\n"
    "  sa-del in|out SPI PEER      delete an SA\n"
    "  session-del TUNNEL SESSION  delete a session by our tunnel and session ids\n"
    "  tunnels                     L2TP tunnels: peer, SA or plain, state, sessions\n"
    "  ike-trace PEER on|off       log every IKE message to and from PEER\n"
    "  ike-rekey PEER [phase1]     rekey PEER's newest IPsec SA pair now (Quick Mode by us);\n"
    "                              phase1: its IKE SAs (Main Mode by us)\n"
    "  users                       PPP users: address, peer, phase, auth, MPPE, uptime\n"
    "  disconnect TUNNEL SESSION   end a user's session (CDN, LCP Terminate)\n"
    "  disconnect-user NAME        end every session of a user\n"
    "  ike                         IKE SAs and IPsec SA pairs per peer: state, algorithms,\n"
    "                              NAT-T, lifetimes left\n"
    "  inject --pcap FILE [--port NAME] [--sa SPI PEER]\n"
    "                              send the IPv4 packets of a pcap file out of a port\n"
    "                              (default: outside), through an outbound SA if given\n"
    "add --json to any of them for JSON\n";

struct Args {
  std::vector<std::string> words;
  bool json = false;
  bool all = false;
};

Args split(std::string_view line) {
  Args a;
  std::istringstream in{std::string(line)};
  for (std::string w; in >> w;) {
    if (w == "--json") {
      a.json = true;
    } else if (w == "--all") {
      a.all = true;
    } else {
      a.words.push_back(w);
    }
  }
  return a;
}

CtlReply fail(std::string text) { return {false, std::move(text) + "\n"}; }

CtlReply sa_del(const Args& a, const CtlContext& ctx) {
  if (a.words.size() != 4 || (a.words[1] != "in" && a.words[1] != "out")) {
    return fail("usage: sa-del in|out SPI PEER");
  }
  const auto spi = parse_spi(a.words[2]);
  const auto peer = parse_ipv4(a.words[3]);
  if (!spi || !peer) {
    return fail(!spi ? "bad SPI '" + a.words[2] + "'" : "bad peer address '" + a.words[3] + "'");
  }
  const auto dir = a.words[1] == "in" ? channel::Direction::in : channel::Direction::out;
  const std::string name = sa_name(dir, *spi, *peer);
  const auto ack = ctx.sa_del(dir, *spi, *peer);
  if (!ack) {
    return fail("delete " + name + ": no ack from the data plane");
  }
  if (ack->result != channel::AckResult::ok) {
    return fail("delete " + name + ": " + ack_result_name(ack->result));
  }
  return {true, "deleted " + name + "\n"};
}

// An L2TP id as the operator types it: decimal 1..65535.
std::optional<std::uint16_t> parse_id(const std::string& s) {
  std::uint32_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc{} || end != s.data() + s.size() || v == 0 || v > 65535) {
    return std::nullopt;
  }
  return static_cast<std::uint16_t>(v);
}

CtlReply session_del(const Args& a, const CtlContext& ctx) {
  if (a.words.size() != 3) {
    return fail("usage: session-del TUNNEL SESSION");
  }
  const auto tunnel = parse_id(a.words[1]);
  const auto session = parse_id(a.words[2]);
  if (!tunnel || !session) {
    return fail("bad " + std::string(!tunnel ? "tunnel" : "session") + " id '" +
                a.words[!tunnel ? 1 : 2] + "' (1..65535)");
  }
  if (!ctx.session_del) {
    return fail("session-del is not available here");
  }
  const std::string name = session_name(*tunnel, *session);
  const auto ack = ctx.session_del(*tunnel, *session);
  if (!ack) {
    return fail("delete " + name + ": no ack from the data plane");
  }
  if (ack->result != channel::AckResult::ok) {
    return fail("delete " + name + ": " + ack_result_name(ack->result));
  }
  return {true, "deleted " + name + "\n"};
}

CtlReply inject(const Args& a, const CtlContext& ctx) {
  const InjectParse p = parse_inject(std::span(a.words).subspan(1));
  if (!p.request) {
    return fail(p.error);
  }
  if (!ctx.inject) {
    return fail("inject is not available here");
  }
  return ctx.inject(*p.request);
}

CtlReply disconnect(const Args& a, const CtlContext& ctx) {
  std::size_t n = 0;
  if (a.words[0] == "disconnect-user") {
    if (a.words.size() != 2) {
      return fail("usage: disconnect-user NAME");
    }
    n = ctx.disconnect_user(a.words[1]);
  } else {
    const auto tunnel = a.words.size() == 3 ? parse_id(a.words[1]) : std::nullopt;
    const auto session = a.words.size() == 3 ? parse_id(a.words[2]) : std::nullopt;
    if (!tunnel || !session) {
      return fail("usage: disconnect TUNNEL SESSION");
    }
    n = ctx.disconnect(*tunnel, *session);
  }
  if (n == 0) {
    return fail("no such session");
  }
  return {true, "disconnected " + std::to_string(n) + (n == 1 ? " session\n" : " sessions\n")};
}

bool needs_data_plane(const std::string& cmd) {
  return cmd == "sa" || cmd == "sessions" || cmd == "ports" || cmd == "drops" ||
         cmd == "workers" || cmd == "sa-del" || cmd == "session-del" || cmd == "inject";
}

CtlReply render(const Args& a, const CtlContext& ctx) {
  const std::string& cmd = a.words[0];
  if (cmd == "stats" || a.json) {
    return {true, render_json(cmd, ctx)};
  }
  if (cmd == "sa") {
    return {true, render_sas_text(*ctx.seg, ctx.now_unix_ns)};
  }
  if (cmd == "sessions") {
    return {true, render_sessions_text(*ctx.seg, ctx.now_unix_ns, ctx.session_events)};
  }
  if (cmd == "ports") {
    return {true, render_ports_text(*ctx.seg)};
  }
  if (cmd == "drops") {
    return {true, render_drops_text(*ctx.seg, a.all)};
  }
  if (cmd == "workers") {
    return {true, render_workers_text(*ctx.seg)};
  }
  if (cmd == "punts") {
    return {true, render_punts_text(*ctx.punts)};
  }
  return {true, render_status_text(ctx)};
}

}  // namespace

std::optional<std::uint32_t> parse_spi(const std::string& s) {
  const bool hex = s.starts_with("0x") || s.starts_with("0X");
  const char* b = s.data() + (hex ? 2 : 0);
  const char* e = s.data() + s.size();
  std::uint32_t v = 0;
  const auto [end, ec] = std::from_chars(b, e, v, hex ? 16 : 10);
  if (b == e || ec != std::errc{} || end != e) {
    return std::nullopt;
  }
  return v;
}

CtlReply run_command(std::string_view line, const CtlContext& ctx) {
  const Args a = split(line);
  static constexpr std::string_view known[] = {"sa",     "sessions", "ports",       "drops",
                                               "workers", "punts",   "stats",       "status",
                                               "sa-del", "session-del", "inject",  "help",
                                               "users", "tunnels", "disconnect", "disconnect-user",
                                               "ike", "ike-trace", "ike-rekey"};
  if (a.words.empty() || std::find(std::begin(known), std::end(known), a.words[0]) == std::end(known)) {
    return fail((a.words.empty() ? "no command" : "unknown command '" + a.words[0] + "'") + "\n" +
                std::string(usage));
  }
  if (a.words[0] == "help") {
    return {true, std::string(usage)};
  }
  if (needs_data_plane(a.words[0]) && ctx.seg == nullptr) {
    return fail("no data plane attached");
  }
  if (a.words[0] == "sa-del") {
    return sa_del(a, ctx);
  }
  if (a.words[0] == "session-del") {
    return session_del(a, ctx);
  }
  if (a.words[0] == "inject") {
    return inject(a, ctx);
  }
  // IKE (ike_service.h).
  if (a.words[0] == "ike-trace") {
    const auto peer = a.words.size() == 3 ? parse_ipv4(a.words[1]) : std::nullopt;
    if (!peer || (a.words[2] != "on" && a.words[2] != "off")) {
      return fail("usage: ike-trace PEER on|off");
    }
    if (!ctx.ike_trace || !ctx.ike_trace(*peer, a.words[2] == "on")) {
      return fail("no IKE configured (the ike section)");
    }
    return {true, "IKE trace of " + a.words[1] + " " + a.words[2] + "\n"};
  }
  if (a.words[0] == "ike-rekey") {
    const bool phase1 = a.words.size() == 3 && a.words[2] == "phase1";
    const auto peer = a.words.size() == 2 || phase1 ? parse_ipv4(a.words[1]) : std::nullopt;
    if (!peer) {
      return fail("usage: ike-rekey PEER [phase1]");
    }
    const auto started = ctx.ike_rekey ? ctx.ike_rekey(*peer, phase1) : std::nullopt;
    if (!started) {
      return fail("no IKE configured (the ike section)");
    }
    const std::string what = phase1 ? "IKE SA" : "IPsec SA pair";
    if (*started == 0) {
      return fail("no " + what + " of " + a.words[1] + " to rekey (or one is being rekeyed)");
    }
    return {true, "rekeying " + std::to_string(*started) + " " + what + (*started == 1 ? "" : "s") +
                      " of " + a.words[1] + "\n"};
  }
  if (a.words[0] == "ike") {
    if (ctx.ike == nullptr) {
      return fail("no IKE configured (the ike section)");
    }
    const auto now = std::chrono::steady_clock::now();
    return {true, a.json ? render_ike_json(*ctx.ike, now, ctx.seg)
                         : render_ike_text(*ctx.ike, now, ctx.seg)};
  }
  const bool lns_command =
      a.words[0] == "users" || a.words[0] == "tunnels" || a.words[0].starts_with("disconnect");
  if (lns_command && ctx.lns == nullptr) {
    return fail("no LNS configured (the l2tp section)");
  }
  if (a.words[0] == "users") {
    return {true, render_users_text(*ctx.lns, ctx.seg, std::chrono::steady_clock::now())};
  }
  if (a.words[0] == "tunnels") {
    return {true, render_tunnels_text(*ctx.lns)};
  }
  if (lns_command) {
    return disconnect(a, ctx);
  }
  return render(a, ctx);
}

std::string encode_reply(const CtlReply& r) { return (r.ok ? "ok\n" : "error\n") + r.text; }

}  // namespace l2tpgw::cp
