// Text renderings of the operator commands: aligned columns, one row per
// object, like an IPsec monitor.
#include <algorithm>
#include <cstdio>
#include <iterator>

#include "controlplane/ctl_commands.h"
#include "controlplane/ctl_view.h"
#include "controlplane/names.h"
#include "controlplane/session_events.h"
#include "controlplane/text_table.h"
#include "dataplane/config/config.h"

namespace l2tpgw::cp {
namespace {

using std::to_string;

std::string age_text(std::uint64_t installed_ns, std::uint64_t now_ns) {
  const std::uint64_t s = now_ns > installed_ns ? (now_ns - installed_ns) / 1'000'000'000 : 0;
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%lluh%02llum%02llus", static_cast<unsigned long long>(s / 3600),
                  static_cast<unsigned long long>(s / 60 % 60), static_cast<unsigned long long>(s % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%llum%02llus", static_cast<unsigned long long>(s / 60),
                  static_cast<unsigned long long>(s % 60));
  }
  return buf;
}

std::string limit_pair(std::uint64_t soft, std::uint64_t hard) {
  auto one = [](std::uint64_t v) { return v == 0 ? std::string("-") : to_string(v); };
  return soft == 0 && hard == 0 ? "-" : one(soft) + "/" + one(hard);
}

std::string peer_text(const channel::SaParams& p) {
  const std::string a = format_ipv4(p.peer_addr);
  return p.encap == channel::Encap::udp ? a + ":" + to_string(p.peer_port) : a;
}

std::string cycles_per_packet(const WorkerCounters& w) {
  if (w.rx_packets == 0) {
    return "-";
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f",
                static_cast<double>(w.busy_cycles) / static_cast<double>(w.rx_packets));
  return buf;
}

std::vector<std::string> worker_row(const std::string& name, const WorkerCounters& w) {
  return {name,
          to_string(w.loops),
          to_string(w.busy_loops),
          to_string(w.busy_cycles),
          to_string(w.rx_packets),
          to_string(w.tx_packets),
          to_string(w.punted),
          to_string(w.esp_decapped),
          to_string(w.esp_encapped),
          to_string(w.arp_replies),
          to_string(w.icmp_replies),
          cycles_per_packet(w)};
}

std::uint64_t mppe_resets(const SessionEvents* events, const channel::SessionParams& p) {
  return events == nullptr ? 0 : events->mppe_resets(p.local_tunnel_id, p.local_session_id);
}


}  // namespace

std::string render_sas_text(const channel::Segment& seg, std::uint64_t now_unix_ns) {
  TextTable t({{"DIR"}, {"SPI"}, {"PEER"}, {"ENCAP"}, {"MODE"}, {"PEER-NET"}, {"LOCAL-NET"},
               {"TRANSFORM"}, {"WINDOW", true}, {"LIFE-BYTES", true}, {"LIFE-PKTS", true},
               {"AGE", true}, {"PACKETS", true}, {"BYTES", true}, {"AUTH-FAIL", true},
               {"REPLAY", true}, {"DECRYPT-ERR", true}, {"EXPIRED", true}});
  const auto sas = collect_sas(seg);
  for (const auto& v : sas) {
    const auto& p = v.params;
    const auto& c = v.counters;
    const bool tunnel = p.mode == channel::Mode::tunnel;
    t.add({direction_name(p.dir), spi_hex(p.spi), peer_text(p), encap_name(p.encap),
           mode_name(p.mode), tunnel ? prefix_text(p.peer_net) : "-",
           tunnel ? prefix_text(p.local_net) : "-", transform_name(p),
           p.dir != channel::Direction::in ? "-"
           : p.replay_window == 0          ? "off"
                                           : to_string(p.replay_window),
           limit_pair(p.lifetime.soft_bytes, p.lifetime.hard_bytes),
           limit_pair(p.lifetime.soft_packets, p.lifetime.hard_packets),
           age_text(v.installed_unix_ns, now_unix_ns), to_string(c.packets), to_string(c.bytes),
           to_string(c.auth_failures), to_string(c.replay_drops), to_string(c.decrypt_errors),
           to_string(c.expired_drops)});
  }
  return t.render() + to_string(sas.size()) + " SAs\n";
}

std::string render_sessions_text(const channel::Segment& seg, std::uint64_t now_unix_ns,
                                 const SessionEvents* events) {
  TextTable t({{"TUNNEL/SESSION"}, {"PEER-IDS"}, {"PEER"}, {"ADDRESS"}, {"SA-IN"}, {"SA-OUT"},
               {"FLAGS"}, {"MPPE"}, {"AGE", true}, {"RX-PKTS", true}, {"RX-BYTES", true},
               {"TX-PKTS", true}, {"TX-BYTES", true}, {"SPOOFED", true}, {"PUNTED", true},
               {"DROPS", true}, {"MPPE-RESETS", true}});
  const auto sessions = collect_sessions(seg);
  for (const auto& v : sessions) {
    const auto& p = v.params;
    const auto& c = v.counters;
    t.add({to_string(p.local_tunnel_id) + "/" + to_string(p.local_session_id),
           to_string(p.peer_tunnel_id) + "/" + to_string(p.peer_session_id),
           format_ipv4(p.peer_addr) + ":" + to_string(p.peer_port), format_ipv4(p.inner_addr),
           spi_hex(p.sa_in_spi), spi_hex(p.sa_out_spi), session_flags(p), mppe_mode(p),
           age_text(v.installed_unix_ns, now_unix_ns), to_string(c.rx_packets),
           to_string(c.rx_bytes), to_string(c.tx_packets), to_string(c.tx_bytes),
           to_string(c.spoofed), to_string(c.punted), to_string(c.other_drops),
           to_string(mppe_resets(events, p))});
  }
  return t.render() + to_string(sessions.size()) + " sessions\n";
}

std::string render_workers_text(const channel::Segment& seg) {
  TextTable t({{"WORKER"}, {"LOOPS", true}, {"BUSY-LOOPS", true}, {"BUSY-CYCLES", true},
               {"RX-PKTS", true}, {"TX-PKTS", true}, {"PUNTED", true}, {"DECAP", true},
               {"ENCAP", true}, {"ARP-REPLY", true}, {"ICMP-REPLY", true},
               {"CYCLES/PKT", true}});
  WorkerCounters sum{};
  for (unsigned w = 0; w < seg.header().n_workers; ++w) {
    const WorkerCounters c = read_worker(seg, w);
    add_counters(sum, c);
    t.add(worker_row(to_string(w), c));
  }
  t.add(worker_row("total", sum));
  return t.render() + "tsc_hz " + to_string(seg.header().tsc_hz) + "\n";
}

std::string render_ports_text(const channel::Segment& seg) {
  TextTable t({{"PORT"}, {"NAME"}, {"RX-PKTS", true}, {"TX-PKTS", true}, {"RX-BYTES", true},
               {"TX-BYTES", true}, {"RX-MISSED", true}, {"RX-ERR", true}, {"TX-ERR", true},
               {"RX-NOMBUF", true}});
  for (unsigned p = 0; p < seg.header().n_ports; ++p) {
    const PortCounters c = read_port(seg, p);
    t.add({to_string(p), port_name(seg, p), to_string(c.ipackets), to_string(c.opackets),
           to_string(c.ibytes), to_string(c.obytes), to_string(c.imissed), to_string(c.ierrors),
           to_string(c.oerrors), to_string(c.rx_nombuf)});
  }
  return t.render();
}

std::string render_drops_text(const channel::Segment& seg, bool all) {
  TextTable t({{"COUNT", true}, {"REASON"}, {"DESCRIPTION"}});
  for (const auto& d : collect_drops(seg)) {
    if (d.count != 0 || all) {
      const DropInfo& i = drop_info[static_cast<unsigned>(d.reason)];
      t.add({to_string(d.count), std::string(i.name), std::string(i.description)});
    }
  }
  return t.render();
}

std::string render_punts_text(const PuntSink& punts) {
  TextTable t({{"REASON"}, {"PACKETS", true}});
  for (unsigned r = 0; r < punts.counts().size(); ++r) {
    const auto reason = static_cast<channel::PuntReason>(r);
    const bool known = std::find(std::begin(known_punt_reasons), std::end(known_punt_reasons),
                                 reason) != std::end(known_punt_reasons);
    if (punts.counts()[r] != 0 || known) {
      t.add({punt_reason_name(reason), to_string(punts.counts()[r])});
    }
  }
  t.add({"total", to_string(punts.total())});
  t.add({"malformed", to_string(punts.malformed())});
  return t.render();
}

std::string render_status_text(const CtlContext& ctx) {
  if (ctx.seg == nullptr) {
    return "data plane: not attached (waiting for the shared segment)\n";
  }
  const auto& h = ctx.seg->header();
  const std::uint64_t hb = h.dp_heartbeat_ns.load(std::memory_order_relaxed);
  char age[32] = "never";
  if (hb != 0) {
    std::snprintf(age, sizeof age, "%.3f s ago",
                  static_cast<double>(ctx.now_mono_ns - std::min(hb, ctx.now_mono_ns)) / 1e9);
  }
  return "data plane:    pid " + to_string(h.dp_pid) + ", generation " + to_string(h.generation) +
         ", " + to_string(h.n_workers) + " workers, " + to_string(h.n_ports) + " ports\n" +
         "heartbeat:     " + age + "\n" + "control plane: attached, " +
         (ctx.synced ? "synced" : "not synced") + "\n" +
         "sas:           " + to_string(collect_sas(*ctx.seg).size()) + " of " +
         to_string(h.max_sas) + "\n" +
         "sessions:      " + to_string(collect_sessions(*ctx.seg).size()) + " of " +
         to_string(h.max_sessions) + "\n";
}

}  // namespace l2tpgw::cp
