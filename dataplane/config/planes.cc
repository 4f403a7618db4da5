// The dataplane { } and controlplane { } sections.
#include <sys/un.h>

#include <cctype>
#include <set>

#include "dataplane/config/sections.h"

namespace l2tpgw::config_detail {
namespace {

// DPDK's RTE_MAX_LCORE as Debian builds it: lcore ids are below it.
constexpr std::int64_t max_lcore = 127;

std::vector<unsigned> read_workers(const Reader& r, const Setting& s) {
  r.require_list(s);
  if (s.getLength() == 0) {
    r.fail(s, "'workers' must name at least one lcore");
  }
  std::vector<unsigned> lcores;
  std::set<unsigned> seen;
  for (const Setting& e : s) {
    const auto lc = static_cast<unsigned>(r.as_int(e, 0, max_lcore));
    if (!seen.insert(lc).second) {
      r.fail(e, "worker lcore " + std::to_string(lc) + " is listed twice");
    }
    lcores.push_back(lc);
  }
  return lcores;
}

// The channel names a POSIX shared-memory object: keep it to a portable file
// name.
std::string read_channel(const Reader& r, const Setting& s) {
  const std::string name = r.as_string(s);
  if (name.empty() || name.size() > 64) {
    r.fail(s, "'channel' must be 1..64 characters");
  }
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') {
      r.fail(s, "'channel' may contain only letters, digits, '-' and '_'");
    }
  }
  return name;
}

std::uint32_t read_replay_window(const Reader& r, const Setting& s) {
  // The data plane's bitmap is kept in 64-bit words (RFC 4303 §3.4.3 leaves
  // the size to the implementation, 32 at least, 64 recommended).
  const auto w = static_cast<std::uint32_t>(r.as_int(s, 64, 4096));
  if (w % 64 != 0) {
    r.fail(s, "'replay_window' is " + std::to_string(w) + ", must be a multiple of 64");
  }
  return w;
}

}  // namespace

std::uint32_t read_replay_window_setting(const Reader& r, const Setting& s) {
  return read_replay_window(r, s);
}

DataplaneConfig read_dataplane(const Reader& r, const Setting& s) {
  r.require_group(s);
  r.check_keys(s, {"workers", "channel", "max_sas", "max_sessions", "mbufs", "replay_window",
                   "punt_rate", "punt_burst", "tcp_mss", "inner_too_big", "icmp_rate",
                   "icmp_burst"});
  DataplaneConfig d;
  if (const Setting* w = r.find(s, "workers")) {
    d.worker_lcores = read_workers(r, *w);
  }
  if (const Setting* c = r.find(s, "channel")) {
    d.channel = read_channel(r, *c);
  }
  // Bounds: the SA table and its per-worker counters live in the shared
  // segment (64 bytes per SA per worker) and each slot holds ~2 KB of key
  // schedules in hugepages; a million remote-access clients need two
  // million SAs (docs/PERFORMANCE.md, "Memory per session").
  d.max_sas = static_cast<std::uint32_t>(r.opt_int(s, "max_sas", 1, 1 << 22).value_or(d.max_sas));
  // Each session takes 64 bytes of counters per worker and 48 of directory
  // in the shared segment: 4M sessions with 4 workers is ~1.3 GB, far beyond
  // what one gateway terminates.
  d.max_sessions = static_cast<std::uint32_t>(
      r.opt_int(s, "max_sessions", 1, 1 << 22).value_or(d.max_sessions));
  // A pool below one burst per queue cannot run; 16M mbufs is 32 GB.
  d.mbufs = static_cast<std::uint32_t>(r.opt_int(s, "mbufs", 1023, 1 << 24).value_or(d.mbufs));
  if (const Setting* w = r.find(s, "replay_window")) {
    d.replay_window = read_replay_window(r, *w);
  }
  d.punt_rate =
      static_cast<std::uint32_t>(r.opt_int(s, "punt_rate", 1, 10'000'000).value_or(d.punt_rate));
  d.punt_burst =
      static_cast<std::uint32_t>(r.opt_int(s, "punt_burst", 1, 1'000'000).value_or(d.punt_burst));
  // 0 switches clamping off; below 536 (RFC 9293 §3.7.1's default) would
  // shrink what every host may already send.
  if (const Setting* m = r.find(s, "tcp_mss")) {
    const auto v = r.as_int(*m, 0, 65535);
    if (v != 0 && v < 536) {
      r.fail(*m, "'tcp_mss' is " + std::to_string(v) + ": 0 (off) or 536..65535");
    }
    d.tcp_mss = static_cast<std::uint16_t>(v);
  }
  if (const Setting* p = r.find(s, "inner_too_big")) {
    const std::string v = r.as_string(*p);
    if (v == "fragment") {
      d.inner_too_big = InnerTooBig::fragment;
    } else if (v == "icmp") {
      d.inner_too_big = InnerTooBig::icmp;
    } else if (v == "drop") {
      d.inner_too_big = InnerTooBig::drop;
    } else {
      r.fail(*p, "'inner_too_big' is '" + v + "', must be \"fragment\", \"icmp\" or \"drop\"");
    }
  }
  d.icmp_rate =
      static_cast<std::uint32_t>(r.opt_int(s, "icmp_rate", 1, 10'000'000).value_or(d.icmp_rate));
  d.icmp_burst =
      static_cast<std::uint32_t>(r.opt_int(s, "icmp_burst", 1, 1'000'000).value_or(d.icmp_burst));
  return d;
}

ControlplaneConfig read_controlplane(const Reader& r, const Setting& s) {
  r.require_group(s);
  r.check_keys(s, {"socket", "log_level", "state_file"});
  ControlplaneConfig c;
  if (const Setting* p = r.find(s, "socket")) {
    c.socket = r.as_string(*p);
    if (c.socket.empty() || c.socket[0] != '/' || c.socket.size() >= sizeof(sockaddr_un{}.sun_path)) {
      r.fail(*p, "'socket' must be an absolute path shorter than " +
                     std::to_string(sizeof(sockaddr_un{}.sun_path)) + " characters");
    }
    const std::string_view sock = c.socket;
    c.state_file = std::string(sock.ends_with(".sock") ? sock.substr(0, sock.size() - 5) : sock) + ".state";
  }
  if (const Setting* p = r.find(s, "state_file")) {
    c.state_file = r.as_string(*p);
    if (!c.state_file.empty() && c.state_file[0] != '/') {
      r.fail(*p, "'state_file' must be an absolute path, or \"\" to keep no state");
    }
  }
  if (const Setting* l = r.find(s, "log_level")) {
    c.log_level = r.as_string(*l);
    if (c.log_level != "debug" && c.log_level != "info" && c.log_level != "warning" &&
        c.log_level != "error") {
      r.fail(*l, "'log_level' is '" + c.log_level + "', must be debug, info, warning or error");
    }
  }
  return c;
}

}  // namespace l2tpgw::config_detail
