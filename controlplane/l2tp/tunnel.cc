#include "controlplane/l2tp/tunnel.h"

#include <algorithm>

#include "controlplane/l2tp/tunnel_auth.h"

namespace l2tpgw::l2tp {
namespace {

constexpr std::size_t challenge_len = 16;  // as long as the MD5 it feeds

bool session_scoped(std::uint16_t type) noexcept {
  switch (static_cast<MessageType>(type)) {
    case MessageType::ocrq:
    case MessageType::ocrp:
    case MessageType::occn:
    case MessageType::icrq:
    case MessageType::icrp:
    case MessageType::iccn:
    case MessageType::cdn:
    case MessageType::wen:
    case MessageType::sli:
      return true;
    default:
      return false;
  }
}

ResultCode result(std::uint16_t r, std::optional<std::uint16_t> e = std::nullopt,
                  std::string text = {}) {
  ResultCode rc;
  rc.result = r;
  rc.error = e;
  if (e) {
    rc.message = std::move(text);
  }
  return rc;
}

}  // namespace

const char* tunnel_state_name(TunnelState s) noexcept {
  switch (s) {
    case TunnelState::idle:
      return "idle";
    case TunnelState::wait_ctl_conn:
      return "wait-ctl-conn";
    case TunnelState::established:
      return "established";
    case TunnelState::closing:
      return "closing";
    case TunnelState::held_after_stop:
      return "held-after-stop";
    case TunnelState::finished:
      return "finished";
  }
  return "unknown";
}

Tunnel::Tunnel(std::uint16_t id, const Endpoint& peer, std::uint16_t peer_tunnel_id,
               LnsShared& shared)
    : _id(id),
      _peer_id(peer_tunnel_id),
      _peer(peer),
      _shared(shared),
      _channel(shared.cfg.reliable) {
  _channel.set_peer_tunnel_id(peer_tunnel_id);
  // Session IDs start at a random point so that a peer cannot predict the
  // ids of other sessions (they are all it takes to spoof a CDN).
  std::uint8_t r[2];
  _shared.random(r);
  _next_session_id = static_cast<std::uint16_t>((r[0] << 8) | r[1]);
}

void Tunnel::log(cp::LogLevel level, const std::string& text, LnsOutput& out) const {
  out.logs.push_back(LogRecord{
      level, "tunnel " + std::to_string(_id) + " from " + format_endpoint(_peer) + ": " + text});
}

void Tunnel::emit(ReliableOutput& ro, Instant /*now*/, LnsOutput& out) {
  for (auto& t : ro.transmit) {
    out.packets.push_back(OutPacket{_peer, std::move(t)});
  }
  ro.transmit.clear();
  if (!ro.silent_on) {
    return;
  }
  _shared.counters.count(LnsCounter::peer_silent);
  const std::string what = "no response to " + std::string(message_type_name(*ro.silent_on)) +
                           " after " + std::to_string(_shared.cfg.reliable.max_retransmits) +
                           " retransmits";
  if (_state == TunnelState::closing) {
    log(cp::LogLevel::info, what + "; tunnel removed", out);
  } else {
    log(cp::LogLevel::warning, what + " (client went silent)", out);
    while (!_sessions.empty()) {
      remove_session(_sessions.begin()->first, CloseCause::peer_silent, std::nullopt, out);
    }
    end(CloseCause::peer_silent, std::nullopt, out);
  }
  _state = TunnelState::finished;
}

void Tunnel::send(ControlMessage m, Instant now, LnsOutput& out) {
  std::vector<std::uint8_t> bytes = build_control_message(m);
  if (bytes.empty()) {
    _shared.counters.count(LnsCounter::build_failed);
    log(cp::LogLevel::error,
        std::string("could not encode ") + message_type_name(m.type) + " (value too long)", out);
    return;
  }
  ReliableOutput ro;
  _channel.send(std::move(bytes), now, ro);
  emit(ro, now, out);
}

void Tunnel::receive(ControlMessage msg, Instant now, LnsOutput& out) {
  if (_state == TunnelState::finished) {
    return;
  }
  _last_receive = now;
  ReliableOutput ro;
  switch (_channel.on_receive(std::move(msg), now, ro)) {
    case Receipt::ack_only:
      _shared.counters.count(LnsCounter::zlb_received);
      break;
    case Receipt::duplicate:
      _shared.counters.count(LnsCounter::duplicates);
      break;
    case Receipt::queued:
      _shared.counters.count(LnsCounter::out_of_order_queued);
      break;
    case Receipt::outside_window:
      _shared.counters.count(LnsCounter::outside_window);
      break;
    case Receipt::delivered:
      break;
  }
  std::vector<ControlMessage> delivered = std::move(ro.deliver);
  ro.deliver.clear();
  emit(ro, now, out);
  for (const ControlMessage& m : delivered) {
    _shared.counters.count(LnsCounter::messages_delivered);
    handle(m, now, out);
  }
  if (_state == TunnelState::closing && _channel.all_acked()) {
    _state = TunnelState::finished;
  }
}

void Tunnel::handle(const ControlMessage& m, Instant now, LnsOutput& out) {
  // After StopCCN either way, messages are acknowledged by the channel and
  // otherwise ignored (§5.7).
  if (_state == TunnelState::closing || _state == TunnelState::held_after_stop ||
      _state == TunnelState::finished) {
    return;
  }
  if (m.unknown_mandatory_avp) {
    on_unknown_mandatory(m, now, out);
    return;
  }
  switch (static_cast<MessageType>(m.type)) {
    case MessageType::sccrq:
      on_sccrq(m, now, out);
      return;
    case MessageType::scccn:
      on_scccn(m, now, out);
      return;
    case MessageType::stopccn:
      on_stopccn(m, now, out);
      return;
    case MessageType::hello:
      return;  // its acknowledgement is all it asks for (§6.5)
    case MessageType::icrq:
      on_icrq(m, now, out);
      return;
    case MessageType::iccn:
      on_iccn(m, now, out);
      return;
    case MessageType::cdn:
      on_cdn(m, now, out);
      return;
    case MessageType::wen:
    case MessageType::sli:
      on_session_info(m, out);
      return;
    case MessageType::ocrq:
    case MessageType::ocrp:
    case MessageType::occn:
      // Outgoing calls are placed by an LNS, and this one places none: a LAC
      // sending these is confused. Count and let the acknowledgement stand.
      _shared.counters.count(LnsCounter::outgoing_call_message);
      return;
    case MessageType::sccrp:
    case MessageType::icrp:
      // Replies to requests an LNS does not make.
      _shared.counters.count(LnsCounter::unexpected_message);
      return;
  }
  _shared.counters.count(LnsCounter::unknown_message_ignored);
}

void Tunnel::on_unknown_mandatory(const ControlMessage& m, Instant now, LnsOutput& out) {
  _shared.counters.count(LnsCounter::unknown_mandatory_teardown);
  const std::uint16_t avp = *m.unknown_mandatory_avp;
  const std::string what =
      avp == 0 ? "unknown message type " + std::to_string(m.type) + " with the M bit set"
               : std::string(message_type_name(m.type)) + " carries unknown mandatory AVP " +
                     std::to_string(avp);
  const ResultCode session_rc = result(
      cdn_result::general_error, general_error::unknown_mandatory_avp, "unknown mandatory AVP");
  // A peer tearing down with an AVP we do not know is still tearing down.
  if (m.message_type() == MessageType::stopccn) {
    on_stopccn(m, now, out);
    return;
  }
  // §4.1: the session the message belongs to goes; the tunnel when the
  // message is about the tunnel (or its type is unknown).
  if (avp != 0 && session_scoped(m.type)) {
    if (m.message_type() == MessageType::icrq) {
      log(cp::LogLevel::warning, what + "; call refused", out);
      send(make_cdn(_peer_id, m.avps.assigned_session_id.value_or(0), 0, session_rc), now, out);
      return;
    }
    if (m.message_type() == MessageType::cdn) {
      on_cdn(m, now, out);
      return;
    }
    if (find_session(m.header.session_id, out) != nullptr) {
      log(cp::LogLevel::warning,
          what + "; session " + std::to_string(m.header.session_id) + " closed", out);
      close_session(m.header.session_id, session_rc, now, out, CloseCause::unknown_mandatory);
    }
    return;
  }
  close(result(stopccn_result::general_error, general_error::unknown_mandatory_avp,
               "unknown mandatory AVP"),
        CloseCause::unknown_mandatory, what, now, out);
}

void Tunnel::on_sccrq(const ControlMessage& m, Instant now, LnsOutput& out) {
  if (_state != TunnelState::idle) {
    // A second SCCRQ with a new Ns on a live tunnel: the peer restarted
    // without a StopCCN. Its retransmissions are caught as duplicates.
    _shared.counters.count(LnsCounter::unexpected_message);
    return;
  }
  const AvpSet& a = m.avps;
  _peer_host_name = a.host_name;
  // §5.8: without a Receive Window Size AVP the peer's window is 4.
  _channel.set_peer_window(a.receive_window_size.value_or(4));
  if (a.protocol_version != ProtocolVersion{1, 0}) {
    _shared.counters.count(LnsCounter::unsupported_version);
    close(result(stopccn_result::unsupported_version), CloseCause::refused,
          "SCCRQ with protocol version " + std::to_string(a.protocol_version->version) + "." +
              std::to_string(a.protocol_version->revision) + " refused",
          now, out);
    return;
  }
  const std::span<const std::uint8_t> secret(_shared.cfg.secret);
  if (a.challenge && secret.empty()) {
    _shared.counters.count(LnsCounter::auth_failed);
    close(result(stopccn_result::not_authorized), CloseCause::auth_failed,
          "tunnel authentication failed: peer sent a Challenge but no secret is configured", now,
          out);
    return;
  }
  // Tie Breaker (§4.4.3) settles two SCCRQs crossing between the same pair;
  // an LNS never sends SCCRQ, so there is no crossing to settle and the AVP
  // is only checked for its format.
  ControlMessage r;
  r.header.tunnel_id = _peer_id;
  r.type = static_cast<std::uint16_t>(MessageType::sccrp);
  r.avps.protocol_version = ProtocolVersion{1, 0};
  r.avps.framing_capabilities = framing_sync | framing_async;
  r.avps.host_name = _shared.cfg.host_name;
  r.avps.vendor_name = _shared.cfg.vendor_name;
  r.avps.firmware_revision = _shared.cfg.firmware_revision;
  r.avps.assigned_tunnel_id = _id;
  r.avps.receive_window_size = _shared.cfg.reliable.receive_window;
  if (a.challenge) {
    const Md5Digest d =
        challenge_response(static_cast<std::uint8_t>(MessageType::sccrp), secret, *a.challenge);
    r.avps.challenge_response.emplace();
    std::copy(d.begin(), d.end(), r.avps.challenge_response->begin());
  }
  if (!secret.empty()) {
    _our_challenge.resize(challenge_len);
    _shared.random(_our_challenge);
    r.avps.challenge = _our_challenge;
  }
  _state = TunnelState::wait_ctl_conn;
  send(std::move(r), now, out);
}

void Tunnel::on_scccn(const ControlMessage& m, Instant now, LnsOutput& out) {
  if (_state != TunnelState::wait_ctl_conn) {
    _shared.counters.count(LnsCounter::unexpected_message);
    return;
  }
  const std::span<const std::uint8_t> secret(_shared.cfg.secret);
  if (!secret.empty()) {
    const auto& resp = m.avps.challenge_response;
    if (!resp || !check_challenge_response(static_cast<std::uint8_t>(MessageType::scccn), secret,
                                           _our_challenge, *resp)) {
      _shared.counters.count(LnsCounter::auth_failed);
      close(result(stopccn_result::not_authorized), CloseCause::auth_failed,
            resp ? "tunnel authentication failed: wrong Challenge Response in SCCCN"
                 : "tunnel authentication failed: SCCCN without Challenge Response",
            now, out);
      return;
    }
  }
  _state = TunnelState::established;
  ++_shared.version;
  log(cp::LogLevel::info,
      "tunnel established with peer tunnel " + std::to_string(_peer_id) +
          (_peer_host_name ? " (host name '" + _peer_host_name->substr(0, 64) + "')" : ""),
      out);
}

void Tunnel::on_stopccn(const ControlMessage& m, Instant now, LnsOutput& out) {
  // Result Code is mandatory, but a StopCCN that also carries an unknown
  // mandatory AVP reaches here unchecked.
  const std::optional<ResultCode>& rc = m.avps.result_code;
  log(cp::LogLevel::info,
      "peer sent StopCCN: " + (rc ? describe_stopccn_result(*rc) : std::string("no result code")),
      out);
  while (!_sessions.empty()) {
    remove_session(_sessions.begin()->first, CloseCause::peer_stopccn, std::nullopt, out);
  }
  end(CloseCause::peer_stopccn, rc, out);
  _state = TunnelState::held_after_stop;
  _hold_until = now + _shared.cfg.stop_hold;
}

std::optional<std::uint16_t> Tunnel::allocate_session_id() {
  for (std::uint32_t tries = 0; tries < 0x10000; ++tries) {
    const std::uint16_t id = _next_session_id++;
    if (id != 0 && !_sessions.contains(id)) {
      return id;
    }
  }
  return std::nullopt;
}

void Tunnel::refuse_call(const ControlMessage& icrq, const ResultCode& rc, LnsCounter why,
                         const std::string& text, Instant now, LnsOutput& out) {
  _shared.counters.count(why);
  log(cp::LogLevel::warning,
      "ICRQ for peer session " + std::to_string(icrq.avps.assigned_session_id.value_or(0)) +
          " refused: " + text,
      out);
  send(make_cdn(_peer_id, icrq.avps.assigned_session_id.value_or(0), 0, rc), now, out);
}

void Tunnel::on_icrq(const ControlMessage& m, Instant now, LnsOutput& out) {
  if (_state != TunnelState::established) {
    _shared.counters.count(LnsCounter::unexpected_message);
    return;
  }
  const LnsLimits& lim = _shared.cfg.limits;
  const ResultCode busy = result(cdn_result::no_facilities_temporary,
                                 general_error::insufficient_resources, "session limit reached");
  if (_sessions.size() >= lim.max_sessions_per_tunnel) {
    refuse_call(m, busy, LnsCounter::session_per_tunnel_limit,
                "session limit of the tunnel reached", now, out);
    return;
  }
  if (_shared.total_sessions >= lim.max_sessions) {
    refuse_call(m, busy, LnsCounter::session_limit, "session limit reached", now, out);
    return;
  }
  const std::optional<std::uint16_t> id = allocate_session_id();
  if (!id) {
    refuse_call(m, busy, LnsCounter::session_ids_exhausted, "no free session id", now, out);
    return;
  }
  Session& s = _sessions.emplace(*id, session_from_icrq(*id, m)).first->second;
  s.setup_deadline = now + _shared.cfg.session_setup_timeout;
  ++_pending_setups;
  ++_shared.total_sessions;
  out.events.emplace_back(SessionOffered{_id, _peer_id, s.id, s.peer_id, _peer});
  send(make_icrp(_peer_id, s), now, out);
}

Session* Tunnel::find_session(std::uint16_t id, LnsOutput& out) {
  const auto it = _sessions.find(id);
  if (it != _sessions.end()) {
    return &it->second;
  }
  if (id != 0 && _shared.session_elsewhere && _shared.session_elsewhere(_peer.addr, _id, id)) {
    _shared.counters.count(LnsCounter::session_of_another_tunnel);
    log(cp::LogLevel::warning, "message for session " + std::to_string(id) + " of another tunnel",
        out);
  } else {
    _shared.counters.count(LnsCounter::unknown_session_id);
  }
  return nullptr;
}

void Tunnel::on_iccn(const ControlMessage& m, Instant /*now*/, LnsOutput& out) {
  Session* s = find_session(m.header.session_id, out);
  if (s == nullptr) {
    return;
  }
  if (!session_on_iccn(*s, m)) {
    _shared.counters.count(LnsCounter::unexpected_message);
    return;
  }
  --_pending_setups;
  SessionEstablished e;
  e.tunnel_id = _id;
  e.peer_tunnel_id = _peer_id;
  e.session_id = s->id;
  e.peer_session_id = s->peer_id;
  e.peer = _peer;
  e.sequencing_required = s->sequencing_required;
  e.tx_connect_speed = s->tx_connect_speed;
  e.rx_connect_speed = s->rx_connect_speed;
  e.framing_type = s->framing_type;
  e.calling_number = s->calling_number;
  e.called_number = s->called_number;
  e.proxy = s->proxy;
  out.events.emplace_back(std::move(e));
  log(cp::LogLevel::info,
      "session " + std::to_string(s->id) + " (peer session " + std::to_string(s->peer_id) +
          ") established",
      out);
}

void Tunnel::on_cdn(const ControlMessage& m, Instant /*now*/, LnsOutput& out) {
  Session* s = nullptr;
  if (m.header.session_id != 0) {
    s = find_session(m.header.session_id, out);
  } else {
    // A LAC that gives up before our ICRP arrived knows no id of ours; it
    // names the call by its own Assigned Session ID.
    for (auto& [id, sess] : _sessions) {
      if (sess.peer_id == m.avps.assigned_session_id) {
        s = &sess;
        break;
      }
    }
    if (s == nullptr) {
      _shared.counters.count(LnsCounter::unknown_session_id);
    }
  }
  if (s == nullptr) {
    return;
  }
  const ResultCode rc = m.avps.result_code.value_or(ResultCode{});
  log(cp::LogLevel::info,
      "session " + std::to_string(s->id) + " closed by the peer's CDN: " + describe_cdn_result(rc),
      out);
  remove_session(s->id,
                 m.unknown_mandatory_avp ? CloseCause::unknown_mandatory : CloseCause::peer_cdn, rc,
                 out);
}

void Tunnel::on_session_info(const ControlMessage& m, LnsOutput& out) {
  Session* s = find_session(m.header.session_id, out);
  if (s == nullptr) {
    return;
  }
  if (m.avps.call_errors) {
    s->call_errors = m.avps.call_errors;
  }
  if (m.avps.accm) {
    s->accm = m.avps.accm;
  }
}

void Tunnel::remove_session(std::uint16_t id, CloseCause cause, std::optional<ResultCode> rc,
                            LnsOutput& out) {
  const auto it = _sessions.find(id);
  if (it == _sessions.end()) {
    return;
  }
  SessionClosed e;
  e.tunnel_id = _id;
  e.peer_tunnel_id = _peer_id;
  e.session_id = id;
  e.peer_session_id = it->second.peer_id;
  e.peer = _peer;
  e.was_established = it->second.state == SessionState::established;
  if (!e.was_established) {
    --_pending_setups;
  }
  e.cause = cause;
  e.result = std::move(rc);
  if (e.was_established) {
    ++_shared.version;
  }
  out.events.emplace_back(std::move(e));
  _sessions.erase(it);
  --_shared.total_sessions;
}

void Tunnel::end(CloseCause cause, std::optional<ResultCode> rc, LnsOutput& out) {
  if (_ended) {
    return;
  }
  _ended = true;
  if (_state == TunnelState::established) {
    ++_shared.version;
  }
  TunnelClosed e;
  e.tunnel_id = _id;
  e.peer_tunnel_id = _peer_id;
  e.peer = _peer;
  e.cause = cause;
  e.result = std::move(rc);
  out.events.emplace_back(std::move(e));
}

bool Tunnel::close_session(std::uint16_t session_id, const ResultCode& rc, Instant now,
                           LnsOutput& out, CloseCause cause) {
  const auto it = _sessions.find(session_id);
  if (it == _sessions.end() || _state != TunnelState::established) {
    return false;
  }
  send(make_cdn(_peer_id, it->second.peer_id, session_id, rc), now, out);
  if (cause == CloseCause::local_request) {
    log(cp::LogLevel::info,
        "session " + std::to_string(session_id) + " closed locally: " + describe_cdn_result(rc),
        out);
  }
  remove_session(session_id, cause, rc, out);
  return true;
}

void Tunnel::abandon(CloseCause cause, const std::string& why, LnsOutput& out) {
  if (_state == TunnelState::finished) {
    return;
  }
  if (_state == TunnelState::closing || _state == TunnelState::held_after_stop) {
    // Already ended (StopCCN sent or received): only the wait for its
    // acknowledgement was left, and nothing can be sent any more.
    _state = TunnelState::finished;
    return;
  }
  log(cp::LogLevel::warning, why, out);
  while (!_sessions.empty()) {
    remove_session(_sessions.begin()->first, cause, std::nullopt, out);
  }
  end(cause, std::nullopt, out);
  _state = TunnelState::finished;
}

void Tunnel::close(const ResultCode& rc, CloseCause cause, const std::string& why, Instant now,
                   LnsOutput& out) {
  if (_state == TunnelState::closing || _state == TunnelState::held_after_stop ||
      _state == TunnelState::finished) {
    return;
  }
  log(cause == CloseCause::local_request ? cp::LogLevel::info : cp::LogLevel::warning,
      why + "; sending StopCCN " + describe_stopccn_result(rc), out);
  // §5.7: StopCCN takes every session of the tunnel with it; no CDNs.
  while (!_sessions.empty()) {
    remove_session(_sessions.begin()->first, cause, std::nullopt, out);
  }
  ControlMessage m;
  m.header.tunnel_id = _peer_id;
  m.type = static_cast<std::uint16_t>(MessageType::stopccn);
  m.avps.assigned_tunnel_id = _id;
  m.avps.result_code = rc;
  end(cause, rc, out);
  _state = TunnelState::closing;
  send(std::move(m), now, out);
}

std::optional<Instant> Tunnel::earliest_setup_deadline() const noexcept {
  std::optional<Instant> d;
  if (_pending_setups == 0) {
    return d;
  }
  for (const auto& [id, s] : _sessions) {
    if (s.state == SessionState::wait_connect && (!d || s.setup_deadline < *d)) {
      d = s.setup_deadline;
    }
  }
  return d;
}

void Tunnel::expire_setups(Instant now, LnsOutput& out) {
  if (_pending_setups == 0) {
    return;
  }
  std::vector<std::uint16_t> expired;
  for (const auto& [id, s] : _sessions) {
    if (s.state == SessionState::wait_connect && now >= s.setup_deadline) {
      expired.push_back(id);
    }
  }
  for (const std::uint16_t id : expired) {
    _shared.counters.count(LnsCounter::session_setup_timeout);
    log(cp::LogLevel::warning,
        "session " + std::to_string(id) + ": no ICCN after ICRP; call dropped", out);
    ResultCode rc;
    rc.result = cdn_result::general_error;
    rc.error = general_error::none;
    rc.message = "no ICCN in time";
    close_session(id, rc, now, out, CloseCause::protocol_error);
  }
}

void Tunnel::poll(Instant now, LnsOutput& out) {
  if (_state == TunnelState::finished) {
    return;
  }
  if (_state == TunnelState::held_after_stop && _hold_until && now >= *_hold_until) {
    _state = TunnelState::finished;
    return;
  }
  ReliableOutput ro;
  _channel.poll(now, ro);
  emit(ro, now, out);
  if (_state == TunnelState::established) {
    expire_setups(now, out);
  }
  if (_state == TunnelState::established && _channel.all_acked() &&
      now - _last_receive >= _shared.cfg.hello_interval) {
    // §6.5: a HELLO is acknowledged like any message, so its retransmissions
    // running out is what finds a dead peer.
    ControlMessage h;
    h.header.tunnel_id = _peer_id;
    h.type = static_cast<std::uint16_t>(MessageType::hello);
    _last_receive = now;
    send(std::move(h), now, out);
  }
}

std::optional<Instant> Tunnel::next_deadline() const noexcept {
  if (_state == TunnelState::finished) {
    return std::nullopt;
  }
  std::optional<Instant> d = _channel.next_deadline();
  const auto earliest = [&d](Instant t) { d = d ? std::min(*d, t) : t; };
  if (_state == TunnelState::held_after_stop && _hold_until) {
    earliest(*_hold_until);
  }
  if (_state == TunnelState::established && _channel.all_acked()) {
    earliest(_last_receive + _shared.cfg.hello_interval);
  }
  if (_state == TunnelState::established) {
    if (const auto s = earliest_setup_deadline()) {
      earliest(*s);
    }
  }
  return d;
}

}  // namespace l2tpgw::l2tp
