#include "controlplane/l2tp/lns.h"

#include <openssl/rand.h>

#include <stdexcept>

namespace l2tpgw::l2tp {

RandomSource system_random() {
  return [](std::span<std::uint8_t> out) {
    if (!out.empty() && RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) {
      throw std::runtime_error("RAND_bytes failed");
    }
  };
}

Lns::Lns(LnsConfig cfg, RandomSource random)
    : _cfg(std::move(cfg)),
      _random(std::move(random)),
      _shared{_cfg, _random, _counters, _total_sessions,
              [this](std::uint32_t addr, std::uint16_t except, std::uint16_t session) {
                return session_elsewhere(addr, except, session);
              },
              _version} {
  // A random first Tunnel ID: a restarted gateway does not hand out the ids
  // of its previous life to peers that may still send to them.
  std::uint8_t r[2];
  _random(r);
  _next_tunnel_id = static_cast<std::uint16_t>((r[0] << 8) | r[1]);
}

bool Lns::plain_allowed(std::uint32_t addr) const noexcept {
  for (const PlainPrefix& p : _cfg.plain_allowed) {
    if (p.contains(addr)) {
      return true;
    }
  }
  return false;
}

bool Lns::session_elsewhere(std::uint32_t addr, std::uint16_t except, std::uint16_t session) const {
  for (auto it = _tunnels.lower_bound(Key{addr, 0, 0});
       it != _tunnels.end() && it->first.addr == addr; ++it) {
    if (it->first.tunnel_id != except && it->second->sessions().contains(session)) {
      return true;
    }
  }
  return false;
}

std::optional<std::uint16_t> Lns::allocate_tunnel_id() {
  for (std::uint32_t tries = 0; tries < 0x10000; ++tries) {
    const std::uint16_t id = _next_tunnel_id++;
    if (id != 0 && !_by_id.contains(id)) {
      return id;
    }
  }
  return std::nullopt;
}

std::vector<const Tunnel*> Lns::tunnels() const {
  std::vector<const Tunnel*> out;
  out.reserve(_tunnels.size());
  for (const auto& [key, t] : _tunnels) {
    out.push_back(t.get());
  }
  return out;
}

const Tunnel* Lns::find_tunnel(std::uint16_t tunnel_id) const {
  const auto it = _by_id.find(tunnel_id);
  return it == _by_id.end() ? nullptr : _tunnels.at(it->second).get();
}

void Lns::refuse_sccrq(const ControlMessage& msg, const Endpoint& from, std::uint16_t result,
                       std::uint16_t error, LnsCounter why, const char* text, LnsOutput& out) {
  _counters.count(why);
  out.logs.push_back(LogRecord{
      cp::LogLevel::warning, "tunnel from " + format_endpoint(from) + ": SCCRQ refused: " + text});
  // No tunnel is created for a refusal, so the StopCCN goes once, outside
  // any reliable channel: Ns 0, and Nr 1 acknowledging the SCCRQ. A lost
  // one is answered again when the peer retransmits its SCCRQ.
  ControlMessage m;
  m.header = ControlHeader{*msg.avps.assigned_tunnel_id, 0, 0, 1};
  m.type = static_cast<std::uint16_t>(MessageType::stopccn);
  m.avps.assigned_tunnel_id = 0;
  ResultCode rc;
  rc.result = result;
  rc.error = error;
  rc.message = text;
  m.avps.result_code = rc;
  std::vector<std::uint8_t> bytes = build_control_message(m);
  if (bytes.empty()) {
    _counters.count(LnsCounter::build_failed);
    return;
  }
  out.packets.push_back(OutPacket{from, std::move(bytes)});
}

void Lns::on_sccrq(ControlMessage msg, const Endpoint& from, Instant now, LnsOutput& out) {
  if (!msg.avps.assigned_tunnel_id || *msg.avps.assigned_tunnel_id == 0) {
    _counters.avp_errors[static_cast<std::size_t>(AvpError::bad_value)]++;
    return;
  }
  const std::uint16_t peer_tid = *msg.avps.assigned_tunnel_id;
  const Key peer_key{from.addr, from.port, peer_tid};
  if (const auto it = _by_peer_tunnel.find(peer_key); it != _by_peer_tunnel.end()) {
    // A retransmitted SCCRQ: the tunnel's channel acknowledges it again.
    const Key k{from.addr, from.port, it->second};
    _tunnels.at(k)->receive(std::move(msg), now, out);
    return;
  }
  if (msg.header.ns != 0) {
    // §5.8: a control connection starts at Ns 0. A tunnel made for any
    // other value would wait forever for the gap to fill.
    _counters.count(LnsCounter::sccrq_nonzero_ns);
    return;
  }
  const LnsLimits& lim = _cfg.limits;
  if (_tunnels.size() >= lim.max_tunnels) {
    refuse_sccrq(msg, from, stopccn_result::general_error, general_error::insufficient_resources,
                 LnsCounter::tunnel_limit, "tunnel limit reached", out);
    return;
  }
  const auto per_peer = _per_peer.find(from.addr);
  if (per_peer != _per_peer.end() && per_peer->second >= lim.max_tunnels_per_peer) {
    refuse_sccrq(msg, from, stopccn_result::general_error, general_error::insufficient_resources,
                 LnsCounter::tunnel_per_peer_limit, "tunnel limit of this peer reached", out);
    return;
  }
  const std::optional<std::uint16_t> id = allocate_tunnel_id();
  if (!id) {
    refuse_sccrq(msg, from, stopccn_result::general_error, general_error::insufficient_resources,
                 LnsCounter::tunnel_ids_exhausted, "no free tunnel id", out);
    return;
  }
  const Key k{from.addr, from.port, *id};
  auto t = std::make_unique<Tunnel>(*id, from, peer_tid, _shared);
  Tunnel& tunnel = *t;
  _tunnels.emplace(k, std::move(t));
  _by_id.emplace(*id, k);
  _by_peer_tunnel.emplace(peer_key, *id);
  ++_per_peer[from.addr];
  tunnel.receive(std::move(msg), now, out);
  if (tunnel.state() == TunnelState::finished) {
    remove_finished();
  }
}

void Lns::log_malformed(const MessageParse& p, const Endpoint& from, LnsOutput& out) const {
  // Debug level: a flood of garbage must not flood the log at the usual
  // level; the counters carry the totals.
  std::string text = "from " + format_endpoint(from) + ": dropped: " + describe(p.error);
  if (p.error == MessageError::avp) {
    text += std::string(": ") + describe(p.avp_error) + " (AVP " + std::to_string(p.avp_type) +
            ", " + avp_name(p.avp_type) + ")";
  } else if (p.error == MessageError::missing_mandatory_avp) {
    text += std::string(" (") + avp_name(p.avp_type) + " in " + message_type_name(p.msg.type) + ")";
  }
  out.logs.push_back(LogRecord{cp::LogLevel::debug, std::move(text)});
}

void Lns::on_packet(std::span<const std::uint8_t> udp_payload, const Endpoint& from, Instant now,
                    LnsOutput& out) {
  _counters.count(LnsCounter::packets_received);
  if (!from.spi && !plain_allowed(from.addr)) {
    _counters.count(LnsCounter::plain_not_allowed);
    // The operator learns why a LAC gets no answer, at most once a second
    // so that a flood of plain datagrams cannot flood the log.
    if (now >= _next_plain_log) {
      _next_plain_log = now + std::chrono::seconds(1);
      out.logs.push_back(LogRecord{cp::LogLevel::warning,
                                   "plain L2TP from " + format_endpoint(from) +
                                       " refused: not inside IPsec and not from a trusted LAC "
                                       "prefix (l2tp.plain_from)"});
    }
    return;
  }
  MessageParse p = parse_control_message(udp_payload, _cfg.secret);
  if (!p.ok()) {
    _counters.message_errors[static_cast<std::size_t>(p.error)]++;
    if (p.error == MessageError::avp) {
      _counters.avp_errors[static_cast<std::size_t>(p.avp_error)]++;
    }
    // These three still take part in sequencing and reach the tunnel, which
    // tears down or ignores per §4.1 and §4.4.1; every other error drops
    // the datagram unacknowledged, as if it had been lost.
    if (p.error == MessageError::unknown_message_type) {
      p.msg.unknown_mandatory_avp = 0;  // the Message Type AVP itself
    } else if (!p.unknown_mandatory_avp() &&
               p.error != MessageError::unknown_message_type_ignored) {
      log_malformed(p, from, out);
      return;
    }
  }
  ControlMessage& m = p.msg;
  if (m.header.tunnel_id == 0) {
    if (m.message_type() == MessageType::sccrq) {
      on_sccrq(std::move(m), from, now, out);
    } else {
      _counters.count(LnsCounter::tunnel_zero_not_sccrq);
    }
    return;
  }
  const auto it = _tunnels.find(Key{from.addr, from.port, m.header.tunnel_id});
  if (it == _tunnels.end()) {
    _counters.count(_by_id.contains(m.header.tunnel_id) ? LnsCounter::tunnel_of_another_peer
                                                        : LnsCounter::unknown_tunnel_id);
    return;
  }
  Tunnel& t = *it->second;
  if (!from.spi && t.peer().spi) {
    // A tunnel set up inside IPsec never takes plain messages: that would
    // let anyone on the path inject them.
    _counters.count(LnsCounter::transport_mismatch);
    return;
  }
  if (from.spi != t.peer().spi) {
    t.set_spi(from.spi);
  }
  t.receive(std::move(m), now, out);
  if (t.state() == TunnelState::finished) {
    remove_finished();
  }
}

void Lns::remove_finished() {
  for (auto it = _tunnels.begin(); it != _tunnels.end();) {
    const Tunnel& t = *it->second;
    if (t.state() != TunnelState::finished) {
      ++it;
      continue;
    }
    _by_id.erase(t.id());
    _by_peer_tunnel.erase(Key{it->first.addr, it->first.port, t.peer_id()});
    if (auto pp = _per_peer.find(it->first.addr); pp != _per_peer.end() && --pp->second == 0) {
      _per_peer.erase(pp);
    }
    it = _tunnels.erase(it);
  }
}

void Lns::poll(Instant now, LnsOutput& out) {
  for (auto& [key, t] : _tunnels) {
    t->poll(now, out);
  }
  remove_finished();
}

std::optional<Instant> Lns::next_deadline() const {
  std::optional<Instant> d;
  for (const auto& [key, t] : _tunnels) {
    if (const auto td = t->next_deadline()) {
      d = d ? std::min(*d, *td) : *td;
    }
  }
  return d;
}

bool Lns::close_session(std::uint16_t tunnel_id, std::uint16_t session_id, const ResultCode& rc,
                        Instant now, LnsOutput& out) {
  const auto it = _by_id.find(tunnel_id);
  if (it == _by_id.end()) {
    return false;
  }
  return _tunnels.at(it->second)->close_session(session_id, rc, now, out);
}

bool Lns::abandon_tunnel(std::uint16_t tunnel_id, CloseCause cause, const std::string& why,
                         LnsOutput& out) {
  const auto it = _by_id.find(tunnel_id);
  if (it == _by_id.end()) {
    return false;
  }
  _tunnels.at(it->second)->abandon(cause, why, out);
  remove_finished();
  return true;
}

void Lns::move_spi(std::uint32_t addr, std::uint32_t from, std::uint32_t to) noexcept {
  for (auto& [key, t] : _tunnels) {
    if (key.addr == addr && t->peer().spi == from) {
      t->set_spi(to);
    }
  }
}

std::vector<std::uint16_t> Lns::tunnels_on(std::uint32_t addr, std::uint32_t spi) const {
  std::vector<std::uint16_t> ids;
  for (const auto& [key, t] : _tunnels) {
    if (key.addr == addr && t->peer().spi == spi && t->state() != TunnelState::finished) {
      ids.push_back(t->id());
    }
  }
  return ids;
}

bool Lns::close_tunnel(std::uint16_t tunnel_id, const ResultCode& rc, Instant now, LnsOutput& out) {
  const auto it = _by_id.find(tunnel_id);
  if (it == _by_id.end()) {
    return false;
  }
  Tunnel& t = *_tunnels.at(it->second);
  t.close(rc, CloseCause::local_request, "closed locally", now, out);
  if (t.state() == TunnelState::finished) {
    remove_finished();
  }
  return true;
}

}  // namespace l2tpgw::l2tp
