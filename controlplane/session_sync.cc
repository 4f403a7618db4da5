#include "controlplane/session_sync.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "controlplane/names.h"

namespace l2tpgw::cp {
namespace {

using channel::CtrlMsg;
using channel::SessionParams;

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
         a.mppe_bits == b.mppe_bits && a.mppe_stateless == b.mppe_stateless && a.ipv6 == b.ipv6 &&
         std::memcmp(a.ipv6_prefix, b.ipv6_prefix, sizeof a.ipv6_prefix) == 0 &&
         std::memcmp(a.ipv6_ifid, b.ipv6_ifid, sizeof a.ipv6_ifid) == 0 && same_keys(a, b);
}

namespace {

// Only the configuration installs sessions so far: one it no longer lists is
// stale. (A changed one is replaced in place by its SessionAdd.)
struct SessionKind {
  using Params = SessionParams;
  using Config = SessionConfig;
  static constexpr std::string_view subsystem = "session";
  static bool same(const Params& a, const Params& b) { return same_session(a, b); }
  static bool same_id(const Params& a, const Params& b) { return same_session_ids(a, b); }
  static std::string name(const Params& p) { return session_text(p); }
  static std::string full_name(const Params& p) { return session_text(p); }
  static CtrlMsg del_msg(const Params& p) {
    return channel::make_session_ref(channel::MsgType::session_del, p.local_tunnel_id, p.local_session_id);
  }
  static CtrlMsg add_msg(const Params& p) { return channel::make_session_add(p); }
};

}  // namespace

SyncStats sync_static_sessions(DpChannel& ch, std::span<const SessionConfig> sessions, Logger& log,
                               std::chrono::milliseconds ack_timeout,
                               std::span<const channel::SessionParams> kept) {
  return sync_static<SessionKind>(ch, sessions, read_session_directory(ch.segment()), kept, log, ack_timeout);
}

}  // namespace l2tpgw::cp
