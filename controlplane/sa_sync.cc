#include "controlplane/sa_sync.h"

#include <algorithm>
#include <string>

#include "controlplane/names.h"

namespace l2tpgw::cp {
namespace {

using channel::CtrlMsg;
using channel::SaParams;

struct SaKind {
  using Params = SaParams;
  using Config = SaConfig;
  static constexpr std::string_view subsystem = "sa";
  static bool same(const Params& a, const Params& b) { return same_sa(a, b); }
  static bool same_id(const Params& a, const Params& b) { return same_triple(a, b); }
  static std::string name(const Params& p) { return sa_name(p); }
  static std::string full_name(const Params& p) { return sa_name(p) + " " + transform_name(p); }
  static CtrlMsg del_msg(const Params& p) { return channel::make_sa_del(p.dir, p.spi, p.peer_addr); }
  static CtrlMsg add_msg(const Params& p) { return channel::make_sa_add(p); }
};

}  // namespace

std::vector<SaParams> read_sa_directory(const channel::Segment& seg) {
  std::vector<SaParams> out;
  for (const auto& e : seg.sa_dir()) {
    SaParams p{};
    std::uint64_t installed = 0;
    if (channel::read_dir_entry(e, p, installed)) {
      out.push_back(p);
    }
  }
  return out;
}

bool same_triple(const SaParams& a, const SaParams& b) {
  return a.dir == b.dir && a.spi == b.spi && a.peer_addr == b.peer_addr;
}

bool same_sa(const SaParams& a, const SaParams& b) {
  return same_triple(a, b) && a.cipher == b.cipher && a.auth == b.auth && a.encap == b.encap &&
         a.local_port == b.local_port && a.peer_port == b.peer_port && a.mode == b.mode &&
         (a.mode == channel::Mode::transport ||
          (a.peer_net.addr == b.peer_net.addr && a.peer_net.len == b.peer_net.len &&
           a.local_net.addr == b.local_net.addr && a.local_net.len == b.local_net.len));
}

SyncStats sync_static_sas(DpChannel& ch, std::span<const SaConfig> sas, Logger& log,
                          std::chrono::milliseconds ack_timeout,
                          std::span<const channel::SaParams> kept) {
  for (const auto& sa : sas) {
    if (sa.params.dir == channel::Direction::in && sa.params.replay_window == 0) {
      log.warning("sa", sa_name(sa.params) + " (line " + std::to_string(sa.line) +
                            "): anti-replay is switched off (replay_window = 0); for benchmarks only");
    }
  }
  return sync_static<SaKind>(ch, sas, read_sa_directory(ch.segment()), kept, log, ack_timeout);
}

}  // namespace l2tpgw::cp
