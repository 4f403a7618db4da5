#include "controlplane/l2tp/lns.h"
#include "controlplane/l2tp/tunnel.h"

namespace l2tpgw::l2tp {

Tunnel::Tunnel(const TunnelSnapshot& s, LnsShared& shared)
    : _id(s.id),
      _peer_id(s.peer_id),
      _peer(s.peer),
      _shared(shared),
      _state(TunnelState::established),
      _channel(shared.cfg.reliable),
      _next_session_id(s.next_session_id),
      _peer_host_name(s.peer_host_name),
      _last_receive(s.last_receive) {
  _channel.set_peer_tunnel_id(_peer_id);
  _channel.restore(s.channel);
  for (const Session& saved : s.sessions) {
    Session& x = _sessions.emplace(saved.id, saved).first->second;
    x.state = SessionState::established;
    ++_shared.total_sessions;
  }
}

TunnelSnapshot Tunnel::snapshot() const {
  TunnelSnapshot s;
  s.id = _id;
  s.peer_id = _peer_id;
  s.peer = _peer;
  s.channel = _channel.snapshot();
  s.next_session_id = _next_session_id;
  s.last_receive = _last_receive;
  s.peer_host_name = _peer_host_name;
  for (const auto& [id, x] : _sessions) {
    if (x.state == SessionState::established) {
      s.sessions.push_back(x);
    }
  }
  return s;
}

std::string Lns::restore_tunnel(const TunnelSnapshot& s) {
  if (s.id == 0 || s.peer_id == 0) {
    return "tunnel id 0";
  }
  if (_by_id.contains(s.id)) {
    return "tunnel id " + std::to_string(s.id) + " already in use";
  }
  const Key peer_key{s.peer.addr, s.peer.port, s.peer_id};
  if (_by_peer_tunnel.contains(peer_key)) {
    return "peer tunnel " + std::to_string(s.peer_id) + " of " + format_endpoint(s.peer) +
           " already known";
  }
  for (std::size_t i = 0; i < s.sessions.size(); ++i) {
    if (s.sessions[i].id == 0 || s.sessions[i].peer_id == 0) {
      return "session id 0";
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (s.sessions[j].id == s.sessions[i].id) {
        return "session " + std::to_string(s.sessions[i].id) + " twice";
      }
    }
  }
  const Key k{s.peer.addr, s.peer.port, s.id};
  _tunnels.emplace(k, std::make_unique<Tunnel>(s, _shared));
  _by_id.emplace(s.id, k);
  _by_peer_tunnel.emplace(peer_key, s.id);
  ++_per_peer[s.peer.addr];
  ++_version;
  return {};
}

}  // namespace l2tpgw::l2tp
