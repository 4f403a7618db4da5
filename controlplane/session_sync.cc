#include "controlplane/session_sync.h"

#include <algorithm>
#include <string>

#include "controlplane/names.h"

namespace l2tpgw::cp {
namespace {

using channel::AckResult;
using channel::CtrlMsg;
using channel::SessionParams;

struct Plan {
  std::vector<const SessionConfig*> add;
  std::vector<SessionParams> del;
  unsigned present = 0;
};

Plan make_plan(std::span<const SessionConfig> sessions, const std::vector<SessionParams>& dir,
               Logger& log) {
  Plan plan;
  for (const auto& s : sessions) {
    const bool there = std::any_of(
        dir.begin(), dir.end(), [&](const SessionParams& d) { return same_session(d, s.params); });
    if (there) {
      log.info("session", "already present " + session_text(s.params));
      ++plan.present;
    } else {
      plan.add.push_back(&s);
    }
  }
  // Only the configuration installs sessions so far: one it no longer lists
  // is stale. (A changed one is replaced in place by its SessionAdd.)
  for (const auto& d : dir) {
    const bool wanted = std::any_of(sessions.begin(), sessions.end(), [&](const SessionConfig& s) {
      return same_session_ids(d, s.params);
    });
    if (!wanted) {
      plan.del.push_back(d);
    }
  }
  return plan;
}

CtrlMsg del_msg(const SessionParams& p) {
  CtrlMsg m{};
  m.session_del.hdr.type = channel::MsgType::session_del;
  m.session_del.local_tunnel_id = p.local_tunnel_id;
  m.session_del.local_session_id = p.local_session_id;
  return m;
}

CtrlMsg add_msg(const SessionParams& p) {
  CtrlMsg m{};
  m.session_add.hdr.type = channel::MsgType::session_add;
  m.session_add.session = p;
  return m;
}

// Without an early exit: how long a comparison takes says nothing about
// where two keys differ.
unsigned key_diff(const std::uint8_t (&a)[16], const std::uint8_t (&b)[16]) {
  unsigned diff = 0;
  for (std::size_t i = 0; i < sizeof a; ++i) {
    diff |= static_cast<unsigned>(a[i] ^ b[i]);
  }
  return diff;
}

bool has_keys(const SessionParams& p) {
  constexpr std::uint8_t zero[16] = {};
  return (key_diff(p.mppe_send_key, zero) | key_diff(p.mppe_recv_key, zero)) != 0;
}

// The data plane's directory shows the MPPE keys zeroed (key material never
// leaves it, as with SAs): keys count only when both sides carry them.
bool same_keys(const SessionParams& a, const SessionParams& b) {
  if (!has_keys(a) || !has_keys(b)) {
    return true;
  }
  return (key_diff(a.mppe_send_key, b.mppe_send_key) |
          key_diff(a.mppe_recv_key, b.mppe_recv_key)) == 0;
}

std::string timeout_text(std::chrono::milliseconds t) {
  return "no ack from the data plane within " + std::to_string(t.count()) + " ms";
}

// Deletes first: they free table slots and inner addresses for the adds.
void run_deletes(DpChannel& ch, const Plan& plan, Logger& log, std::chrono::milliseconds t,
                 SyncStats& st) {
  std::vector<CtrlMsg> msgs;
  for (const auto& d : plan.del) {
    msgs.push_back(del_msg(d));
  }
  const auto acks = ch.call(std::move(msgs), t);
  for (std::size_t i = 0; i < acks.size(); ++i) {
    const std::string name = session_text(plan.del[i]);
    if (!acks[i]) {
      log.error("session", "delete of " + name + " failed: " + timeout_text(t));
      ++st.failed;
    } else if (acks[i]->result != AckResult::ok) {
      log.error("session", "delete of " + name + " failed: " + ack_result_name(acks[i]->result));
      ++st.failed;
    } else {
      log.info("session", "deleted " + name + " (no longer in the configuration)");
      ++st.deleted;
    }
  }
}

void run_adds(DpChannel& ch, const Plan& plan, Logger& log, std::chrono::milliseconds t,
              SyncStats& st) {
  std::vector<CtrlMsg> msgs;
  for (const auto* s : plan.add) {
    msgs.push_back(add_msg(s->params));
  }
  const auto acks = ch.call(std::move(msgs), t);
  for (std::size_t i = 0; i < acks.size(); ++i) {
    const std::string name = session_text(plan.add[i]->params);
    const std::string line = " (line " + std::to_string(plan.add[i]->line) + ")";
    if (!acks[i]) {
      log.error("session", "install of " + name + line + " failed: " + timeout_text(t));
      ++st.failed;
    } else if (acks[i]->result == AckResult::ok || acks[i]->result == AckResult::replaced) {
      const bool replaced = acks[i]->result == AckResult::replaced;
      log.info("session", (replaced ? "replaced " : "installed ") + name);
      ++(replaced ? st.replaced : st.installed);
    } else {
      log.error("session",
                "install of " + name + line + " failed: " + ack_result_name(acks[i]->result));
      ++st.failed;
    }
  }
}

}  // namespace

std::vector<SessionParams> read_session_directory(const channel::Segment& seg) {
  std::vector<SessionParams> out;
  for (const auto& e : seg.session_dir()) {
    SessionParams p{};
    std::uint64_t installed = 0;
    if (channel::read_dir_entry(e, p, installed)) {
      out.push_back(p);
    }
  }
  return out;
}

bool same_session_ids(const SessionParams& a, const SessionParams& b) {
  return a.local_tunnel_id == b.local_tunnel_id && a.local_session_id == b.local_session_id;
}

bool same_session(const SessionParams& a, const SessionParams& b) {
  return same_session_ids(a, b) && a.peer_tunnel_id == b.peer_tunnel_id &&
         a.peer_session_id == b.peer_session_id && a.peer_addr == b.peer_addr &&
         a.peer_port == b.peer_port && a.local_port == b.local_port && a.sa_in_spi == b.sa_in_spi &&
         a.sa_out_spi == b.sa_out_spi && a.inner_addr == b.inner_addr && a.ppp_acfc == b.ppp_acfc &&
         a.ppp_pfc == b.ppp_pfc && a.l2tp_sequencing == b.l2tp_sequencing &&
         a.mppe_bits == b.mppe_bits && a.mppe_stateless == b.mppe_stateless && same_keys(a, b);
}

SyncStats sync_static_sessions(DpChannel& ch, std::span<const SessionConfig> sessions, Logger& log,
                               std::chrono::milliseconds ack_timeout) {
  const Plan plan = make_plan(sessions, read_session_directory(ch.segment()), log);
  SyncStats st;
  st.present = plan.present;
  run_deletes(ch, plan, log, ack_timeout, st);
  run_adds(ch, plan, log, ack_timeout, st);
  return st;
}

}  // namespace l2tpgw::cp
