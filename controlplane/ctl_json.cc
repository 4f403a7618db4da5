// JSON renderings of the operator commands; `stats --json` is the one object
// the benchmark scripts read: keep its field names stable.
#include <nlohmann/json.hpp>

#include "controlplane/ctl_commands.h"
#include "controlplane/ctl_view.h"
#include "controlplane/names.h"
#include "controlplane/session_events.h"
#include "dataplane/config/config.h"

namespace l2tpgw::cp {
namespace {

using nlohmann::json;

json lifetime_json(const channel::Lifetime& l) {
  return {{"soft_bytes", l.soft_bytes},
          {"hard_bytes", l.hard_bytes},
          {"soft_packets", l.soft_packets},
          {"hard_packets", l.hard_packets}};
}

json sa_counters_json(const SaCounters& c) {
  return {{"packets", c.packets},           {"bytes", c.bytes},
          {"auth_failures", c.auth_failures}, {"replay_drops", c.replay_drops},
          {"decrypt_errors", c.decrypt_errors}, {"expired_drops", c.expired_drops}};
}

json sa_json(const SaView& v, std::uint64_t now_unix_ns) {
  const auto& p = v.params;
  const std::uint64_t age =
      now_unix_ns > v.installed_unix_ns ? (now_unix_ns - v.installed_unix_ns) / 1'000'000'000 : 0;
  json o = {{"direction", direction_name(p.dir)},
            {"spi", p.spi},
            {"spi_hex", spi_hex(p.spi)},
            {"peer", format_ipv4(p.peer_addr)},
            {"local", format_ipv4(p.local_addr)},
            {"encap", encap_name(p.encap)},
            {"peer_port", p.peer_port},
            {"local_port", p.local_port},
            {"cipher", std::string(info(p.cipher).name)},
            {"integrity", std::string(info(p.auth).name)},
            {"replay_window", p.replay_window},
            {"lifetime", lifetime_json(p.lifetime)},
            {"slot", v.slot},
            {"installed_unix_ns", v.installed_unix_ns},
            {"age_s", age},
            {"mode", mode_name(p.mode)},
            {"counters", sa_counters_json(v.counters)}};
  if (p.mode == channel::Mode::tunnel) {
    o["peer_net"] = prefix_text(p.peer_net);
    o["local_net"] = prefix_text(p.local_net);
  }
  return o;
}

json session_json(const SessionView& v, std::uint64_t now_unix_ns, const SessionEvents* events) {
  const auto& p = v.params;
  const auto& c = v.counters;
  const std::uint64_t age =
      now_unix_ns > v.installed_unix_ns ? (now_unix_ns - v.installed_unix_ns) / 1'000'000'000 : 0;
  return {{"tunnel_id", p.local_tunnel_id},
          {"session_id", p.local_session_id},
          {"peer_tunnel_id", p.peer_tunnel_id},
          {"peer_session_id", p.peer_session_id},
          {"peer", format_ipv4(p.peer_addr)},
          {"peer_port", p.peer_port},
          {"local_port", p.local_port},
          {"address", format_ipv4(p.inner_addr)},
          {"sa_in", p.sa_in_spi},
          {"sa_in_hex", spi_hex(p.sa_in_spi)},
          {"sa_out", p.sa_out_spi},
          {"sa_out_hex", spi_hex(p.sa_out_spi)},
          {"acfc", p.ppp_acfc != 0},
          {"pfc", p.ppp_pfc != 0},
          {"sequencing", p.l2tp_sequencing != 0},
          // The mode only: keys never leave the control plane.
          {"mppe", mppe_mode(p)},
          {"mppe_bits", p.mppe_bits},
          {"mppe_stateless", p.mppe_stateless != 0},
          {"mppe_resets",
           events == nullptr ? 0 : events->mppe_resets(p.local_tunnel_id, p.local_session_id)},
          {"slot", v.slot},
          {"installed_unix_ns", v.installed_unix_ns},
          {"age_s", age},
          {"counters",
           {{"rx_packets", c.rx_packets},
            {"rx_bytes", c.rx_bytes},
            {"tx_packets", c.tx_packets},
            {"tx_bytes", c.tx_bytes},
            {"spoofed", c.spoofed},
            {"punted", c.punted},
            {"other_drops", c.other_drops}}}};
}

json sessions_json(const CtlContext& ctx) {
  json a = json::array();
  for (const auto& v : collect_sessions(*ctx.seg)) {
    a.push_back(session_json(v, ctx.now_unix_ns, ctx.session_events));
  }
  return a;
}

json sas_json(const CtlContext& ctx) {
  json a = json::array();
  for (const auto& v : collect_sas(*ctx.seg)) {
    a.push_back(sa_json(v, ctx.now_unix_ns));
  }
  return a;
}

json worker_json(const channel::Segment& seg, unsigned w) {
  const WorkerCounters c = read_worker(seg, w);
  json drops = json::object();
  for (unsigned r = 0; r < n_drop_reasons; ++r) {
    drops[std::string(drop_info[r].name)] = c.drops[r];
  }
  return {{"worker", w},
          {"loops", c.loops},
          {"busy_loops", c.busy_loops},
          {"busy_cycles", c.busy_cycles},
          {"rx_packets", c.rx_packets},
          {"tx_packets", c.tx_packets},
          {"punted", c.punted},
          {"esp_decapped", c.esp_decapped},
          {"esp_encapped", c.esp_encapped},
          {"arp_replies", c.arp_replies},
          {"icmp_replies", c.icmp_replies},
          {"tunnel_in", c.tunnel_in},
          {"tunnel_out", c.tunnel_out},
          {"cycles_per_packet", c.rx_packets == 0 ? json(nullptr)
                                                  : json(static_cast<double>(c.busy_cycles) /
                                                         static_cast<double>(c.rx_packets))},
          {"drops", drops}};
}

json workers_json(const channel::Segment& seg) {
  json a = json::array();
  for (unsigned w = 0; w < seg.header().n_workers; ++w) {
    a.push_back(worker_json(seg, w));
  }
  return a;
}

json ports_json(const channel::Segment& seg) {
  json a = json::array();
  for (unsigned p = 0; p < seg.header().n_ports; ++p) {
    const PortCounters c = read_port(seg, p);
    a.push_back({{"port", p},          {"name", port_name(seg, p)}, {"ipackets", c.ipackets},
                 {"opackets", c.opackets}, {"ibytes", c.ibytes},      {"obytes", c.obytes},
                 {"imissed", c.imissed},   {"ierrors", c.ierrors},    {"oerrors", c.oerrors},
                 {"rx_nombuf", c.rx_nombuf}});
  }
  return a;
}

json drops_json(const channel::Segment& seg) {
  json o = json::object();
  for (const auto& d : collect_drops(seg)) {
    o[std::string(drop_info[static_cast<unsigned>(d.reason)].name)] = d.count;
  }
  return o;
}

json punts_json(const PuntSink& punts) {
  json o = json::object();
  for (unsigned r = 0; r < punts.counts().size(); ++r) {
    const auto reason = static_cast<channel::PuntReason>(r);
    if (punts.counts()[r] != 0) {
      o[punt_reason_name(reason)] = punts.counts()[r];
    }
  }
  for (auto r : known_punt_reasons) {
    o[punt_reason_name(r)] = punts.count(r);
  }
  o["total"] = punts.total();
  o["malformed"] = punts.malformed();
  return o;
}

json status_json(const CtlContext& ctx) {
  if (ctx.seg == nullptr) {
    return {{"attached", false}, {"synced", false}};
  }
  const auto& h = ctx.seg->header();
  const std::uint64_t hb = h.dp_heartbeat_ns.load(std::memory_order_relaxed);
  return {{"attached", true},
          {"synced", ctx.synced},
          {"dp_pid", h.dp_pid},
          {"generation", h.generation},
          {"tsc_hz", h.tsc_hz},
          {"n_workers", h.n_workers},
          {"n_ports", h.n_ports},
          {"max_sas", h.max_sas},
          {"heartbeat_age_ns", hb == 0 ? json(nullptr) : json(ctx.now_mono_ns - std::min(hb, ctx.now_mono_ns))},
          {"n_sas", collect_sas(*ctx.seg).size()},
          {"max_sessions", h.max_sessions},
          {"n_sessions", collect_sessions(*ctx.seg).size()}};
}

}  // namespace

std::string render_stats_json(const CtlContext& ctx) {
  json o = status_json(ctx);
  if (ctx.seg != nullptr) {
    o["workers"] = workers_json(*ctx.seg);
    o["drops"] = drops_json(*ctx.seg);
    o["ports"] = ports_json(*ctx.seg);
    o["sas"] = sas_json(ctx);
    o["sessions"] = sessions_json(ctx);
  }
  if (ctx.punts != nullptr) {
    o["punts"] = punts_json(*ctx.punts);
  }
  return o.dump(2) + "\n";
}

// One command's part of the stats object; the caller has checked that a
// data plane is attached where the command needs one.
std::string render_json(std::string_view command, const CtlContext& ctx) {
  json o;
  if (command == "sa") {
    o = sas_json(ctx);
  } else if (command == "sessions") {
    o = sessions_json(ctx);
  } else if (command == "workers") {
    o = {{"tsc_hz", ctx.seg->header().tsc_hz}, {"workers", workers_json(*ctx.seg)}};
  } else if (command == "ports") {
    o = ports_json(*ctx.seg);
  } else if (command == "drops") {
    o = drops_json(*ctx.seg);
  } else if (command == "punts") {
    o = punts_json(*ctx.punts);
  } else if (command == "status") {
    o = status_json(ctx);
  } else {
    return render_stats_json(ctx);
  }
  return o.dump(2) + "\n";
}

}  // namespace l2tpgw::cp
