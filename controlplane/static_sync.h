// One reconcile for every kind of static state the configuration installs
// in the data plane (SAs, sessions): what is installed identically is left
// alone (a restart must not reset sequence numbers, replay windows or MPPE
// state), what the configuration no longer has is deleted first (freeing
// slots and addresses), then the rest is added; every command is answered
// by the data plane's ack, and each outcome is logged.
//
// A Kind names: Params, Config (with .params and .line), subsystem, same()
// (installed identically), same_id() (the same entry), name() and
// full_name() for logs, add_msg() and del_msg().
#pragma once

#include <algorithm>
#include <chrono>
#include <span>
#include <string>
#include <vector>

#include "controlplane/dp_channel.h"
#include "controlplane/log.h"
#include "controlplane/names.h"

namespace l2tpgw::cp {

struct SyncStats {
  unsigned installed = 0;
  unsigned replaced = 0;
  unsigned present = 0;
  unsigned deleted = 0;
  unsigned failed = 0;
};

namespace detail {

inline std::string ack_failure(const std::optional<channel::Ack>& a, std::chrono::milliseconds t) {
  return a ? ack_result_name(a->result)
           : "no ack from the data plane within " + std::to_string(t.count()) + " ms";
}

}  // namespace detail

// `kept`: entries a restarted control plane restored from its state file
// (negotiated, not configured); the reconcile leaves them alone.
template <typename Kind>
SyncStats sync_static(DpChannel& ch, std::span<const typename Kind::Config> wanted,
                      std::vector<typename Kind::Params> installed,
                      std::span<const typename Kind::Params> kept, Logger& log,
                      std::chrono::milliseconds t) {
  using Params = typename Kind::Params;
  using Config = typename Kind::Config;
  std::erase_if(installed, [&](const Params& d) {
    return std::any_of(kept.begin(), kept.end(), [&](const Params& k) { return Kind::same_id(d, k); });
  });
  SyncStats st;
  std::vector<const Config*> add;
  for (const Config& c : wanted) {
    const bool there = std::any_of(installed.begin(), installed.end(),
                                   [&](const Params& d) { return Kind::same(d, c.params); });
    if (there) {
      log.info(Kind::subsystem, "already present " + Kind::full_name(c.params));
      ++st.present;
    } else {
      add.push_back(&c);
    }
  }
  std::vector<Params> del;
  std::vector<channel::CtrlMsg> msgs;
  for (const Params& d : installed) {
    const bool kept = std::any_of(wanted.begin(), wanted.end(),
                                  [&](const Config& c) { return Kind::same_id(d, c.params); });
    if (!kept) {
      del.push_back(d);
      msgs.push_back(Kind::del_msg(d));
    }
  }
  const auto del_acks = ch.call(std::move(msgs), t);
  for (std::size_t i = 0; i < del_acks.size(); ++i) {
    const std::string name = Kind::name(del[i]);
    if (del_acks[i] && del_acks[i]->result == channel::AckResult::ok) {
      log.info(Kind::subsystem, "deleted " + name + " (no longer in the configuration)");
      ++st.deleted;
    } else {
      log.error(Kind::subsystem, "delete of " + name + " failed: " + detail::ack_failure(del_acks[i], t));
      ++st.failed;
    }
  }
  msgs.clear();
  for (const Config* c : add) {
    msgs.push_back(Kind::add_msg(c->params));
  }
  const auto add_acks = ch.call(std::move(msgs), t);
  for (std::size_t i = 0; i < add_acks.size(); ++i) {
    const std::string name = Kind::full_name(add[i]->params);
    const auto& a = add_acks[i];
    if (a && (a->result == channel::AckResult::ok || a->result == channel::AckResult::replaced)) {
      const bool replaced = a->result == channel::AckResult::replaced;
      log.info(Kind::subsystem, (replaced ? "replaced " : "installed ") + name);
      ++(replaced ? st.replaced : st.installed);
    } else {
      log.error(Kind::subsystem, "install of " + name + " (line " + std::to_string(add[i]->line) +
                                     ") failed: " + detail::ack_failure(a, t));
      ++st.failed;
    }
  }
  return st;
}

}  // namespace l2tpgw::cp
