#include "controlplane/controlplane.h"

#include <poll.h>
#include <time.h>
#include <unistd.h>

#include <stdexcept>

#include "controlplane/ctl_commands.h"
#include "controlplane/inject.h"
#include "controlplane/names.h"
#include "controlplane/sa_pairs.h"
#include "controlplane/sa_sync.h"
#include "controlplane/session_sync.h"

namespace l2tpgw::cp {
namespace {

std::uint64_t clock_ns(clockid_t id) {
  timespec ts{};
  clock_gettime(id, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

std::uint8_t outside_port_index(const Config& c) {
  for (std::size_t i = 0; i < c.ports.size(); ++i) {
    if (c.ports[i].role == PortRole::outside) {
      return static_cast<std::uint8_t>(i);
    }
  }
  return 0;
}

std::string sync_summary(const SyncStats& st) {
  return std::to_string(st.installed) + " installed, " + std::to_string(st.replaced) +
         " replaced, " + std::to_string(st.present) + " already present, " +
         std::to_string(st.deleted) + " deleted, " + std::to_string(st.failed) + " failed";
}

}  // namespace

ControlPlane::ControlPlane(CpOptions opts, Logger& log)
    : _opts(std::move(opts)),
      _log(log),
      _tx_port(outside_port_index(_opts.config)),
      _punts(log, _opts.punt_pcap),
      _session_events(log),
      _ctl(std::make_unique<CtlServer>(_opts.config.controlplane.socket,
                                       [this](const std::string& l) { return handle_command(l); })),
      _lns(make_lns()),
      _ike(make_ike()),
      _state(_opts.config.controlplane.state_file, log) {
  _log.info("ctl", "listening on " + _opts.config.controlplane.socket);
}

std::unique_ptr<LnsService> ControlPlane::make_lns() {
  if (!_opts.lns || !_opts.lns->enabled) {
    return nullptr;
  }
  const PortConfig* outside = _opts.config.port(PortRole::outside);
  LnsHooks hooks;
  hooks.send = [this](std::span<const std::uint8_t> pkt, std::optional<SaRef> via) {
    return send_packet(pkt, via);
  };
  hooks.call = [this](const channel::CtrlMsg& m) -> std::optional<channel::Ack> {
    if (!_dp) {
      return std::nullopt;
    }
    return _dp->call(m, _opts.ack_timeout);
  };
  // The data plane's SA directory holds every SA, static or negotiated.
  hooks.outbound_for = [this](std::uint32_t in_spi, std::uint32_t peer) -> std::optional<SaRef> {
    if (!_dp) {
      return std::nullopt;
    }
    // A negotiated pair is known exactly; a peer may hold two around a
    // rekey, and the directory would pair either outbound SA.
    if (_ike) {
      if (const auto p = _ike->pair_of(in_spi, peer)) {
        return SaRef{p->spi_out, p->peer_addr};
      }
    }
    return find_outbound_pair(read_sa_directory(_dp->segment()), in_spi, peer);
  };
  hooks.release_sa = [this](std::uint32_t in_spi, std::uint32_t peer, const std::string& why) {
    if (_ike) {
      _ike->release_pair(in_spi, peer, why);
    }
  };
  return std::make_unique<LnsService>(*_opts.lns, outside != nullptr ? outside->address.addr : 0,
                                      _log, std::move(hooks));
}

// IKE: replies leave in the clear; SAs go to the data plane, where the
// LNS's outbound_for finds them through the SA directory like static ones.
std::unique_ptr<IkeService> ControlPlane::make_ike() {
  if (!_opts.ike || !_opts.ike->enabled) {
    return nullptr;
  }
  const PortConfig* outside = _opts.config.port(PortRole::outside);
  IkeHooks hooks;
  hooks.send = [this](std::span<const std::uint8_t> pkt) { return send_packet(pkt, std::nullopt); };
  hooks.call = [this](const channel::CtrlMsg& m) -> std::optional<channel::Ack> {
    if (!_dp) {
      return std::nullopt;
    }
    return _dp->call(m, _opts.ack_timeout);
  };
  // The LNS follows the pairs: a rekey moves its tunnels and sessions, a
  // pair removed for good ends them (docs/ARCHITECTURE.md).
  hooks.pair_moved = [this](const IpsecPairRef& from, const IpsecPairRef& to) {
    if (_lns) {
      _lns->on_pair_moved(from.peer_addr, from.spi_in, to.spi_in, to.spi_out);
    }
  };
  hooks.pair_gone = [this](const IpsecPairRef& pair, const std::string& why) {
    if (_lns) {
      _lns->on_pair_gone(pair.peer_addr, pair.spi_in, why, Clock::now());
    }
  };
  return std::make_unique<IkeService>(*_opts.ike, outside != nullptr ? outside->address.addr : 0,
                                      _log, std::move(hooks));
}

void ControlPlane::try_attach(Clock::time_point now) {
  if (now < _next_attach) {
    return;
  }
  _next_attach = now + _opts.attach_retry;
  const std::string& name = _opts.config.dataplane.channel;
  try {
    channel::Segment seg = channel::Segment::attach(name);
    if (seg.header().ready.load(std::memory_order_acquire) != 0) {
      adopt(std::move(seg));
      return;
    }
  } catch (const std::runtime_error& e) {
    if (!_waiting_logged) {
      _log.info("dp", std::string("waiting for the data plane: ") + e.what());
      _waiting_logged = true;
    }
    return;
  }
  if (!_waiting_logged) {
    _log.info("dp", "waiting for the data plane on channel '" + name + "' to become ready");
    _waiting_logged = true;
  }
}

void ControlPlane::adopt(channel::Segment seg) {
  _dp.emplace(std::move(seg), _tx_port);
  _dp->set_event_handler([this](const channel::CtrlMsg& m) { on_event(m); });
  auto& h = _dp->segment().header();
  h.cp_pid.store(static_cast<std::int32_t>(getpid()), std::memory_order_relaxed);
  _log.info("dp", "attached to the data plane pid " + std::to_string(h.dp_pid) + " generation " +
                      std::to_string(h.generation) + " (" + std::to_string(h.n_workers) +
                      " workers)");
  _waiting_logged = _heartbeat_stale = _segment_gone = false;
  _synced = false;
  Restored kept;
  if (!_restore_tried) {
    _restore_tried = true;
    kept = restore_state(h.generation, Clock::now());
  }
  const SyncStats sas = sync_static_sas(*_dp, _opts.config.sas, _log, _opts.ack_timeout, kept.sas);
  _log.info("sa", "static SAs: " + sync_summary(sas));
  // After the SAs: a session's first packets must find its SAs in place.
  const SyncStats sessions = sync_static_sessions(*_dp, _opts.config.sessions, _log,
                                                  _opts.ack_timeout, kept.sessions);
  _log.info("session", "static sessions: " + sync_summary(sessions));
  // Tells a data plane started with --wait-cp that the static SAs and
  // sessions are in place and it may start receiving.
  h.cp_synced.store(1, std::memory_order_release);
  _synced = true;
}

// What the previous process left: IKE first (the LNS restores a tunnel
// over IPsec only when its pair is back), then the LNS. What is restored
// stays in the data plane; the reconcile removes the rest as before.
ControlPlane::Restored ControlPlane::restore_state(std::uint64_t dp_generation,
                                                   Clock::time_point now) {
  Restored kept;
  const auto recs = _state.load(dp_generation);
  if (recs.empty()) {
    return kept;
  }
  try {
    if (_ike) {
      kept.sas = _ike->restore(recs, read_sa_directory(_dp->segment()), now);
    }
    if (_lns) {
      kept.sessions = _lns->restore(recs, read_session_directory(_dp->segment()), now);
    }
  } catch (const state::StateError& e) {
    _log.warning("state", _state.path() + ": " + e.what() + ": the rest is not restored");
  }
  return kept;
}

std::uint64_t ControlPlane::state_version() const noexcept {
  return (_ike ? _ike->state_version() : 0) + (_lns ? _lns->state_version() : 0);
}

void ControlPlane::fill_state(std::vector<state::Record>& out) const {
  const auto now = Clock::now();
  if (_ike) {
    _ike->save(out, now);
  }
  if (_lns) {
    _lns->save(out, now);
  }
}

void ControlPlane::on_event(const channel::CtrlMsg& m) {
  if (m.hdr.type == channel::MsgType::ack) {
    _log.debug("dp", "ack with cookie " + std::to_string(m.hdr.cookie) +
                         " for no pending command: " + ack_result_name(m.ack.result));
  } else if (m.hdr.type == channel::MsgType::sa_lifetime) {
    const auto& e = m.lifetime;
    _log.warning("sa", sa_name(e.dir, e.spi, e.peer_addr) + " " + lifetime_kind_name(e.kind) +
                           " lifetime reached (packets=" + std::to_string(e.packets) +
                           ", bytes=" + std::to_string(e.bytes) + ")");
    if (_ike) {
      _ike->on_lifetime(e, Clock::now());
    }
  } else if (m.hdr.type == channel::MsgType::session_event) {
    _session_events.on_event(m.session_event);
    const auto& e = m.session_event;
    if (_lns && e.kind == channel::SessionEventKind::mppe_reset_request) {
      _lns->on_mppe_reset_request(e.local_tunnel_id, e.local_session_id, Clock::now());
    }
  } else {
    _log.warning("dp", "unexpected event type " +
                           std::to_string(static_cast<unsigned>(m.hdr.type)) + " ignored");
  }
}

void ControlPlane::on_punt(const channel::PuntMsg& m, Clock::time_point now) {
  _punts.on_punt(m);
  if (_lns && (m.reason == channel::PuntReason::l2tp || m.reason == channel::PuntReason::ppp)) {
    _lns->on_punt(m, now);
  }
  if (_ike && m.reason == channel::PuntReason::ike) {
    _ike->on_punt(m, now);
  }
}

void ControlPlane::check_heartbeat() {
  const std::uint64_t hb = _dp->segment().header().dp_heartbeat_ns.load(std::memory_order_relaxed);
  const std::uint64_t now = clock_ns(CLOCK_MONOTONIC);
  const auto limit = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(_opts.heartbeat_timeout).count());
  const bool stale = hb != 0 && now > hb && now - hb > limit;
  if (stale && !_heartbeat_stale) {
    _log.warning("dp", "no heartbeat from the data plane for " +
                           std::to_string((now - hb) / 1'000'000) + " ms");
  } else if (!stale && _heartbeat_stale) {
    _log.info("dp", "data plane heartbeat resumed");
  }
  _heartbeat_stale = stale;
}

// A restarted data plane creates a new segment under the same name; our
// mapping still shows the old one, so the name is opened again to see it.
void ControlPlane::check_generation() {
  try {
    channel::Segment seg = channel::Segment::attach(_opts.config.dataplane.channel);
    _segment_gone = false;
    if (seg.header().generation == _dp->generation()) {
      return;
    }
    _log.warning("dp", "the data plane restarted (generation " +
                           std::to_string(seg.header().generation) + "): re-attaching");
    _dp.reset();
    _synced = false;
    _next_attach = {};
  } catch (const std::runtime_error& e) {
    if (!_segment_gone) {
      _log.warning("dp", std::string("the data plane's segment is gone: ") + e.what());
      _segment_gone = true;
    }
  }
}

void ControlPlane::watch(Clock::time_point now) {
  if (now < _next_generation_check) {
    return;
  }
  _next_generation_check = now + _opts.generation_check;
  check_heartbeat();
  check_generation();
}

bool ControlPlane::step() {
  const auto now = Clock::now();
  if (!_dp) {
    try_attach(now);
    return _dp.has_value();
  }
  std::size_t work = _dp->poll_events();
  work += _dp->poll_punts([this, now](const channel::PuntMsg& m) { on_punt(m, now); });
  // The protocol timers are seconds apart; each pass walks every tunnel and
  // every IKE SA, so its cost grows with the sessions held: 100 ms keeps a
  // retransmit within a tenth of a second of its time and the walks a small
  // share of the work (docs/PERFORMANCE.md, "Session setup").
  if (_lns && now >= _next_lns_poll) {
    _next_lns_poll = now + std::chrono::milliseconds(100);
    _lns->poll(now);
  }
  if (_ike && now >= _next_ike_poll) {
    _next_ike_poll = now + std::chrono::milliseconds(100);
    _ike->poll(now);
  }
  _punts.maybe_summarize(now);
  watch(now);
  if (_dp && _synced) {
    _state.maybe_save(now, _dp->generation(), state_version(),
                      [this](std::vector<state::Record>& out) { fill_state(out); });
  }
  return work != 0;
}

void ControlPlane::run(int stop_fd) {
  for (;;) {
    const bool busy = step();
    pollfd fds[2] = {{_ctl->fd(), POLLIN, 0}, {stop_fd, POLLIN, 0}};
    // Idle: a 1 ms sleep in poll() keeps punt latency low at no cost.
    if (poll(fds, 2, busy ? 0 : 1) > 0) {
      if (fds[1].revents != 0) {
        // The data plane forwards on without us; the next control plane
        // takes the sessions over from this last state.
        if (_dp && _synced) {
          _state.save(_dp->generation(), state_version(),
                      [this](std::vector<state::Record>& out) { fill_state(out); });
        }
        return;
      }
      if (fds[0].revents != 0) {
        _ctl->serve_pending();
      }
    }
  }
}

bool ControlPlane::send_packet(std::span<const std::uint8_t> ipv4_packet,
                               std::optional<SaRef> via_sa) {
  return _dp && _dp->send_packet(ipv4_packet, via_sa);
}

std::optional<channel::Ack> ControlPlane::delete_sa(channel::Direction d, std::uint32_t spi,
                                                    std::uint32_t peer) {
  const auto ack = _dp->call(channel::make_sa_del(d, spi, peer), _opts.ack_timeout);
  _log.info("sa", "delete of " + sa_name(d, spi, peer) + " from the CLI: " +
                      (ack ? ack_result_name(ack->result) : std::string("no ack")));
  return ack;
}

std::optional<channel::Ack> ControlPlane::delete_session(std::uint16_t tunnel,
                                                         std::uint16_t session) {
  const auto ack =
      _dp->call(channel::make_session_ref(channel::MsgType::session_del, tunnel, session), _opts.ack_timeout);
  _log.info("session", "delete of " + session_name(tunnel, session) + " from the CLI: " +
                           (ack ? ack_result_name(ack->result) : std::string("no ack")));
  if (ack && ack->result == channel::AckResult::ok) {
    _session_events.forget(tunnel, session);
  }
  return ack;
}

std::string ControlPlane::handle_command(const std::string& line) {
  CtlContext ctx;
  ctx.seg = _dp ? &_dp->segment() : nullptr;
  ctx.punts = &_punts;
  ctx.session_events = &_session_events;
  ctx.synced = _synced;
  ctx.now_unix_ns = clock_ns(CLOCK_REALTIME);
  ctx.now_mono_ns = clock_ns(CLOCK_MONOTONIC);
  ctx.sa_del = [this](channel::Direction d, std::uint32_t spi, std::uint32_t peer) {
    return delete_sa(d, spi, peer);
  };
  ctx.session_del = [this](std::uint16_t tunnel, std::uint16_t session) {
    return delete_session(tunnel, session);
  };
  ctx.inject = [this](const InjectRequest& r) { return run_inject(*_dp, r, _opts.ack_timeout, _log); };
  ctx.lns = _lns.get();
  ctx.ike = _ike.get();
  ctx.ike_trace = [this](std::uint32_t peer, bool on) {
    if (!_ike) {
      return false;
    }
    _ike->set_trace(peer, on);
    return true;
  };
  ctx.ike_rekey = [this](std::uint32_t peer, bool phase1) -> std::optional<std::size_t> {
    if (!_ike) {
      return std::nullopt;
    }
    return phase1 ? _ike->rekey_phase1(peer, Clock::now()) : _ike->rekey_peer(peer, Clock::now());
  };
  ctx.disconnect = [this](std::uint16_t tunnel, std::uint16_t session) {
    return _lns->disconnect_session(tunnel, session, Clock::now());
  };
  ctx.disconnect_user = [this](const std::string& user) {
    return _lns->disconnect_user(user, Clock::now());
  };
  _log.debug("ctl", "command: " + line);
  return encode_reply(run_command(line, ctx));
}

}  // namespace l2tpgw::cp
