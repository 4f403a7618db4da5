// One control connection as LNS (RFC 2661 §7.2.1): SCCRQ → SCCRP → SCCCN →
// established; StopCCN either way; HELLO keepalive; tunnel authentication;
// the incoming-call sessions it carries.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "controlplane/l2tp/counters.h"
#include "controlplane/l2tp/lns_config.h"
#include "controlplane/l2tp/message.h"
#include "controlplane/l2tp/output.h"
#include "controlplane/l2tp/reliable.h"
#include "controlplane/l2tp/session.h"
#include "controlplane/l2tp/tunnel_state.h"

namespace l2tpgw::l2tp {

enum class TunnelState : std::uint8_t {
  idle,           // created for an SCCRQ not yet processed
  wait_ctl_conn,  // SCCRP sent, waiting for SCCCN
  established,
  closing,          // our StopCCN sent, waiting for its acknowledgement
  held_after_stop,  // the peer's StopCCN acknowledged; kept to re-ack (§5.7)
  finished,         // to be removed
};

const char* tunnel_state_name(TunnelState s) noexcept;

// What every tunnel of one Lns shares.
struct LnsShared {
  const LnsConfig& cfg;
  RandomSource& random;
  LnsCounters& counters;
  std::size_t& total_sessions;
  // Whether another tunnel from the same peer address has this session id:
  // tells a confused or hostile peer apart from a stale id in the counters.
  std::function<bool(std::uint32_t addr, std::uint16_t except_tunnel, std::uint16_t session)>
      session_elsewhere;
  // Raised whenever what a snapshot holds changes in substance: a tunnel
  // or session established or ended, a tunnel moved to another SA.
  std::uint64_t& version;
};

class Tunnel {
 public:
  Tunnel(std::uint16_t id, const Endpoint& peer, std::uint16_t peer_tunnel_id, LnsShared& shared);
  // An established tunnel rebuilt after a restart (tunnel_state.cc): its
  // channel resynchronises on the peer's first message.
  Tunnel(const TunnelSnapshot& snapshot, LnsShared& shared);
  // Valid in established; only established sessions are in it.
  TunnelSnapshot snapshot() const;

  // A message routed to this tunnel by Tunnel ID (or, for an SCCRQ, by the
  // peer's Assigned Tunnel ID), header and AVPs parsed.
  void receive(ControlMessage msg, Instant now, LnsOutput& out);
  void poll(Instant now, LnsOutput& out);
  std::optional<Instant> next_deadline() const noexcept;

  // Local teardown: StopCCN with rc (all sessions go with it, §5.7).
  void close(const ResultCode& rc, CloseCause cause, const std::string& why, Instant now,
             LnsOutput& out);
  // Local teardown without a message to the peer, which can no longer be
  // reached (its IPsec SA is gone) or has gone silent: every session and
  // the tunnel end at once with `cause`; why is logged.
  void abandon(CloseCause cause, const std::string& why, LnsOutput& out);
  // Local teardown of one session: CDN with rc. False when unknown.
  bool close_session(std::uint16_t session_id, const ResultCode& rc, Instant now, LnsOutput& out,
                     CloseCause cause = CloseCause::local_request);

  // The inbound SA changed (IKE rekey): later packets go with the new one.
  void set_spi(std::optional<std::uint32_t> spi) noexcept {
    if (_peer.spi != spi) {
      _peer.spi = spi;
      ++_shared.version;
    }
  }

  std::uint16_t id() const noexcept { return _id; }
  std::uint16_t peer_id() const noexcept { return _peer_id; }
  const Endpoint& peer() const noexcept { return _peer; }
  TunnelState state() const noexcept { return _state; }
  const std::map<std::uint16_t, Session>& sessions() const noexcept { return _sessions; }
  const ReliableChannel& channel() const noexcept { return _channel; }

 private:
  void handle(const ControlMessage& m, Instant now, LnsOutput& out);
  void on_sccrq(const ControlMessage& m, Instant now, LnsOutput& out);
  void on_scccn(const ControlMessage& m, Instant now, LnsOutput& out);
  void on_stopccn(const ControlMessage& m, Instant now, LnsOutput& out);
  void on_icrq(const ControlMessage& m, Instant now, LnsOutput& out);
  void on_iccn(const ControlMessage& m, Instant now, LnsOutput& out);
  void on_cdn(const ControlMessage& m, Instant now, LnsOutput& out);
  void on_session_info(const ControlMessage& m, LnsOutput& out);
  void on_unknown_mandatory(const ControlMessage& m, Instant now, LnsOutput& out);

  Session* find_session(std::uint16_t id, LnsOutput& out);
  void expire_setups(Instant now, LnsOutput& out);
  std::optional<Instant> earliest_setup_deadline() const noexcept;
  std::optional<std::uint16_t> allocate_session_id();
  void refuse_call(const ControlMessage& icrq, const ResultCode& rc, LnsCounter why,
                   const std::string& text, Instant now, LnsOutput& out);
  void remove_session(std::uint16_t id, CloseCause cause, std::optional<ResultCode> rc,
                      LnsOutput& out);
  void end(CloseCause cause, std::optional<ResultCode> rc, LnsOutput& out);

  void send(ControlMessage m, Instant now, LnsOutput& out);
  void emit(ReliableOutput& ro, Instant now, LnsOutput& out);
  void log(cp::LogLevel level, const std::string& text, LnsOutput& out) const;

  std::uint16_t _id;
  std::uint16_t _peer_id;
  Endpoint _peer;
  LnsShared& _shared;
  TunnelState _state = TunnelState::idle;
  ReliableChannel _channel;
  std::map<std::uint16_t, Session> _sessions;
  std::uint16_t _next_session_id = 1;
  // Sessions in wait_connect: their setup timers are scanned only when
  // there are any, so an idle tunnel with many sessions costs nothing.
  std::size_t _pending_setups = 0;
  Bytes _our_challenge;  // sent in SCCRP when a secret is configured
  std::optional<std::string> _peer_host_name;
  Instant _last_receive{};
  std::optional<Instant> _hold_until;
  bool _ended = false;  // TunnelClosed emitted
};

}  // namespace l2tpgw::l2tp
