#include "controlplane/sa_sync.h"

#include <algorithm>
#include <string>

#include "controlplane/names.h"

namespace l2tpgw::cp {
namespace {

using channel::AckResult;
using channel::CtrlMsg;
using channel::SaParams;

struct Plan {
  std::vector<const SaConfig*> add;
  std::vector<SaParams> del;
  unsigned present = 0;
};

Plan make_plan(std::span<const SaConfig> sas, const std::vector<SaParams>& dir, Logger& log) {
  Plan plan;
  for (const auto& sa : sas) {
    if (sa.params.dir == channel::Direction::in && sa.params.replay_window == 0) {
      log.warning("sa", sa_name(sa.params) + " (line " + std::to_string(sa.line) +
                         "): anti-replay is switched off (replay_window = 0); for benchmarks only");
    }
    const bool there = std::any_of(dir.begin(), dir.end(),
                                   [&](const SaParams& d) { return same_sa(d, sa.params); });
    if (there) {
      log.info("sa", "already present " + sa_name(sa.params) + " " + transform_name(sa.params));
      ++plan.present;
    } else {
      plan.add.push_back(&sa);
    }
  }
  for (const auto& d : dir) {
    const bool wanted = std::any_of(sas.begin(), sas.end(), [&](const SaConfig& sa) {
      return same_triple(d, sa.params);
    });
    if (!wanted) {
      plan.del.push_back(d);
    }
  }
  return plan;
}

CtrlMsg del_msg(const SaParams& p) {
  CtrlMsg m{};
  m.sa_del.hdr.type = channel::MsgType::sa_del;
  m.sa_del.dir = p.dir;
  m.sa_del.spi = p.spi;
  m.sa_del.peer_addr = p.peer_addr;
  return m;
}

CtrlMsg add_msg(const SaParams& p) {
  CtrlMsg m{};
  m.sa_add.hdr.type = channel::MsgType::sa_add;
  m.sa_add.sa = p;
  return m;
}

std::string timeout_text(std::chrono::milliseconds t) {
  return "no ack from the data plane within " + std::to_string(t.count()) + " ms";
}

void run_deletes(DpChannel& ch, const Plan& plan, Logger& log, std::chrono::milliseconds t,
                 SyncStats& st) {
  std::vector<CtrlMsg> msgs;
  for (const auto& d : plan.del) {
    msgs.push_back(del_msg(d));
  }
  const auto acks = ch.call(std::move(msgs), t);
  for (std::size_t i = 0; i < acks.size(); ++i) {
    const std::string name = sa_name(plan.del[i]);
    if (!acks[i]) {
      log.error("sa", "delete of " + name + " failed: " + timeout_text(t));
      ++st.failed;
    } else if (acks[i]->result != AckResult::ok) {
      log.error("sa", "delete of " + name + " failed: " + ack_result_name(acks[i]->result));
      ++st.failed;
    } else {
      log.info("sa", "deleted " + name + " (no longer in the configuration)");
      ++st.deleted;
    }
  }
}

void run_adds(DpChannel& ch, const Plan& plan, Logger& log, std::chrono::milliseconds t,
              SyncStats& st) {
  std::vector<CtrlMsg> msgs;
  for (const auto* sa : plan.add) {
    msgs.push_back(add_msg(sa->params));
  }
  const auto acks = ch.call(std::move(msgs), t);
  for (std::size_t i = 0; i < acks.size(); ++i) {
    const SaParams& p = plan.add[i]->params;
    const std::string name = sa_name(p) + " " + transform_name(p);
    const std::string line = " (line " + std::to_string(plan.add[i]->line) + ")";
    if (!acks[i]) {
      log.error("sa", "install of " + name + line + " failed: " + timeout_text(t));
      ++st.failed;
    } else if (acks[i]->result == AckResult::ok || acks[i]->result == AckResult::replaced) {
      const bool replaced = acks[i]->result == AckResult::replaced;
      log.info("sa", (replaced ? "replaced " : "installed ") + name);
      ++(replaced ? st.replaced : st.installed);
    } else {
      log.error("sa", "install of " + name + line + " failed: " + ack_result_name(acks[i]->result));
      ++st.failed;
    }
  }
}

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
         a.local_port == b.local_port && a.peer_port == b.peer_port;
}

SyncStats sync_static_sas(DpChannel& ch, std::span<const SaConfig> sas, Logger& log,
                          std::chrono::milliseconds ack_timeout) {
  const Plan plan = make_plan(sas, read_sa_directory(ch.segment()), log);
  SyncStats st;
  st.present = plan.present;
  // Deletes first: they free table slots for the adds.
  run_deletes(ch, plan, log, ack_timeout, st);
  run_adds(ch, plan, log, ack_timeout, st);
  return st;
}

}  // namespace l2tpgw::cp
