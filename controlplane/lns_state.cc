// LnsService::save and restore: established tunnels and the sessions whose
// PPP link is up, as state-file records. Fields of "l2tp_tunnel":
//   id peer_id addr port [spi] ns nr window next_sid last_rx [host] sessions
// and of "l2tp_session":
//   tunnel id peer_id serial seq tx_speed [rx_speed] framing [calling]
//   [called] since, then the PPP link: magic mru peer_mru acfc pfc lcp_id
//   [auth user] address ipcp_id ccp [mppe_policy mppe_bits mppe_stateless
//   ccp_id]
// Times are steady_clock nanoseconds (CLOCK_MONOTONIC: they hold across a
// restart on the same boot). No secret is written: the MPPE keys stay in
// the data plane, whose directory does not show them either, so a restored
// link holds none. Nothing pushes a running session again with its keys;
// a renegotiation (new authentication) derives new ones.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <iterator>

#include "controlplane/lns_link.h"
#include "controlplane/lns_service.h"
#include "controlplane/names.h"

namespace l2tpgw::cp {
namespace {

constexpr const char* kind_tunnel = "l2tp_tunnel";
constexpr const char* kind_session = "l2tp_session";

using Clock = LnsService::Clock;

// L2TP ids are never 0 (RFC 2661 §3.1: 0 addresses the tunnel itself).
std::uint16_t id_field(const state::Record& r, std::string_view name) {
  const std::uint16_t id = r.u16(name);
  if (id == 0) {
    r.fail(name, "out of range");
  }
  return id;
}

std::optional<std::string> opt_str(const state::Record& r, std::string_view name) {
  if (!r.has(name)) {
    return std::nullopt;
  }
  return r.str(name);
}

struct SavedTunnel {
  l2tp::TunnelSnapshot t;
  std::size_t saved_sessions = 0;
};

struct SavedSession {
  std::uint16_t tunnel_id = 0;
  l2tp::Session l2tp;
  ppp::LinkSnapshot ppp;
  Clock::time_point since{};
};

SavedTunnel read_tunnel(const state::Record& r) {
  SavedTunnel s;
  l2tp::TunnelSnapshot& t = s.t;
  t.id = id_field(r, "id");
  t.peer_id = id_field(r, "peer_id");
  t.peer.addr = r.u32("addr");
  t.peer.port = r.u16("port");
  if (r.has("spi")) {
    t.peer.spi = r.u32("spi");
  }
  t.channel.ns = r.u16("ns");
  t.channel.nr = r.u16("nr");
  t.channel.peer_window = r.u16("window");
  t.next_session_id = r.u16("next_sid");
  t.last_receive = std::chrono::time_point_cast<l2tp::Duration>(r.time("last_rx"));
  t.peer_host_name = opt_str(r, "host");
  s.saved_sessions = r.u16("sessions");
  return s;
}

SavedSession read_session(const state::Record& r) {
  SavedSession s;
  s.tunnel_id = r.u16("tunnel");
  l2tp::Session& l = s.l2tp;
  l.id = id_field(r, "id");
  l.peer_id = id_field(r, "peer_id");
  l.state = l2tp::SessionState::established;
  l.call_serial_number = r.u32("serial");
  l.sequencing_required = r.flag("seq");
  l.tx_connect_speed = r.u32("tx_speed");
  if (r.has("rx_speed")) {
    l.rx_connect_speed = r.u32("rx_speed");
  }
  l.framing_type = r.u32("framing");
  l.calling_number = opt_str(r, "calling");
  l.called_number = opt_str(r, "called");
  s.since = r.time("since");
  ppp::LinkSnapshot& p = s.ppp;
  p.magic = r.u32("magic");
  p.mru = r.u16("mru");
  p.peer_mru = r.u16("peer_mru");
  p.acfc = r.flag("acfc");
  p.pfc = r.flag("pfc");
  p.lcp_id = r.u8("lcp_id");
  if (r.has("auth")) {
    const std::uint8_t a = r.u8("auth");
    if (a > static_cast<std::uint8_t>(ppp::AuthProto::mschapv2)) {
      r.fail("auth", "out of range");
    }
    p.auth = static_cast<ppp::AuthProto>(a);
    p.user = r.str("user");
  }
  p.address = r.u32("address");
  if (p.address == 0) {
    r.fail("address", "out of range");
  }
  p.ipcp_id = r.u8("ipcp_id");
  p.ccp_active = r.flag("ccp");
  if (p.ccp_active) {
    const std::uint8_t policy = r.u8("mppe_policy");
    if (policy > static_cast<std::uint8_t>(ppp::MppePolicy::require)) {
      r.fail("mppe_policy", "out of range");
    }
    p.mppe_policy = static_cast<ppp::MppePolicy>(policy);
    p.mppe_bits = r.u8("mppe_bits");
    if (p.mppe_bits != 0 && p.mppe_bits != 40 && p.mppe_bits != 56 && p.mppe_bits != 128) {
      r.fail("mppe_bits", "out of range");
    }
    p.mppe_stateless = r.flag("mppe_stateless");
    p.ccp_id = r.u8("ccp_id");
  }
  return s;
}

state::Record tunnel_record(const l2tp::TunnelSnapshot& t, std::size_t sessions) {
  state::Record r(kind_tunnel);
  r.put("id", t.id).put("peer_id", t.peer_id).put("addr", t.peer.addr).put("port", t.peer.port);
  if (t.peer.spi) {
    r.put("spi", *t.peer.spi);
  }
  r.put("ns", t.channel.ns).put("nr", t.channel.nr).put("window", t.channel.peer_window);
  r.put("next_sid", t.next_session_id).put_time("last_rx", t.last_receive);
  if (t.peer_host_name) {
    r.put_str("host", *t.peer_host_name);
  }
  r.put("sessions", sessions);
  return r;
}

state::Record session_record(std::uint16_t tunnel_id, const l2tp::Session& l,
                             const ppp::LinkSnapshot& p, Clock::time_point since) {
  state::Record r(kind_session);
  r.put("tunnel", tunnel_id).put("id", l.id).put("peer_id", l.peer_id);
  r.put("serial", l.call_serial_number).put("seq", l.sequencing_required ? 1 : 0);
  r.put("tx_speed", l.tx_connect_speed);
  if (l.rx_connect_speed) {
    r.put("rx_speed", *l.rx_connect_speed);
  }
  r.put("framing", l.framing_type);
  if (l.calling_number) {
    r.put_str("calling", *l.calling_number);
  }
  if (l.called_number) {
    r.put_str("called", *l.called_number);
  }
  r.put_time("since", since);
  r.put("magic", p.magic).put("mru", p.mru).put("peer_mru", p.peer_mru);
  r.put("acfc", p.acfc ? 1 : 0).put("pfc", p.pfc ? 1 : 0).put("lcp_id", p.lcp_id);
  if (p.auth) {
    r.put("auth", static_cast<std::uint8_t>(*p.auth)).put_str("user", p.user);
  }
  r.put("address", p.address).put("ipcp_id", p.ipcp_id).put("ccp", p.ccp_active ? 1 : 0);
  if (p.ccp_active) {
    r.put("mppe_policy", static_cast<std::uint8_t>(p.mppe_policy)).put("mppe_bits", p.mppe_bits);
    r.put("mppe_stateless", p.mppe_stateless ? 1 : 0).put("ccp_id", p.ccp_id);
  }
  return r;
}

}  // namespace

void LnsService::save(std::vector<state::Record>& out, Clock::time_point /*now*/) const {
  for (const l2tp::Tunnel* t : _lns.tunnels()) {
    if (t->state() != l2tp::TunnelState::established) {
      continue;
    }
    const l2tp::TunnelSnapshot snap = t->snapshot();
    std::vector<state::Record> sessions;
    for (const l2tp::Session& s : snap.sessions) {
      const auto it = _links.find({snap.id, s.id});
      if (it == _links.end()) {
        continue;
      }
      const Link& link = *it->second;
      // Only a link that is up and settled: one still negotiating would
      // come back in a state no frame of the client fits.
      const ppp::Session& p = link.ppp;
      if (link.finished || !link.up || !link.in_dataplane || p.phase() != ppp::Phase::running ||
          !p.lcp().fsm().opened() || !p.ipcp().fsm().opened()) {
        continue;
      }
      const ppp::LinkSnapshot ls = p.snapshot();
      if (ls.ccp_active && !p.ccp().fsm().opened()) {
        continue;
      }
      sessions.push_back(session_record(snap.id, s, ls, link.since));
    }
    out.push_back(tunnel_record(snap, sessions.size()));
    std::move(sessions.begin(), sessions.end(), std::back_inserter(out));
  }
}

std::vector<channel::SessionParams> LnsService::restore(
    std::span<const state::Record> records, std::span<const channel::SessionParams> dp_sessions,
    Clock::time_point now) {
  // Every record is read before anything changes: a malformed one throws
  // with the service as it was.
  std::vector<SavedTunnel> tunnels;
  std::vector<SavedSession> sessions;
  for (const state::Record& r : records) {
    if (r.kind() == kind_tunnel) {
      tunnels.push_back(read_tunnel(r));
    } else if (r.kind() == kind_session) {
      sessions.push_back(read_session(r));
    }
  }
  std::vector<channel::SessionParams> kept;
  std::size_t restored_tunnels = 0;
  std::vector<bool> placed(sessions.size(), false);
  for (SavedTunnel& st : tunnels) {
    l2tp::TunnelSnapshot& t = st.t;
    const std::string tname =
        "tunnel " + std::to_string(t.id) + " from " + l2tp::format_endpoint(t.peer);
    std::optional<SaRef> out_sa;
    if (t.peer.spi) {
      out_sa = _hooks.outbound_for ? _hooks.outbound_for(*t.peer.spi, t.peer.addr) : std::nullopt;
    }
    std::vector<std::pair<std::unique_ptr<Link>, const channel::SessionParams*>> links;
    for (std::size_t i = 0; i < sessions.size(); ++i) {
      SavedSession& ss = sessions[i];
      if (ss.tunnel_id != t.id || placed[i]) {
        continue;
      }
      placed[i] = true;
      const std::string sname =
          session_name(t.id, ss.l2tp.id) + " from " + l2tp::format_endpoint(t.peer);
      if (t.peer.spi && !out_sa) {
        continue;  // the tunnel's line says why
      }
      const auto d = std::find_if(
          dp_sessions.begin(), dp_sessions.end(), [&](const channel::SessionParams& p) {
            return p.local_tunnel_id == t.id && p.local_session_id == ss.l2tp.id &&
                   p.peer_tunnel_id == t.peer_id && p.peer_session_id == ss.l2tp.peer_id;
          });
      if (d == dp_sessions.end()) {
        _log.warning("session", sname + ": not restored: no longer in the data plane");
        continue;
      }
      if (_links.contains({t.id, ss.l2tp.id})) {
        _log.warning("session", sname + ": not restored: already known");
        continue;
      }
      auto link = std::make_unique<Link>(_ppp_ctx);
      l2tp::SessionEstablished& e = link->l2tp;
      e.tunnel_id = t.id;
      e.peer_tunnel_id = t.peer_id;
      e.session_id = ss.l2tp.id;
      e.peer_session_id = ss.l2tp.peer_id;
      e.peer = t.peer;
      e.sequencing_required = ss.l2tp.sequencing_required;
      e.tx_connect_speed = ss.l2tp.tx_connect_speed;
      e.rx_connect_speed = ss.l2tp.rx_connect_speed;
      e.framing_type = ss.l2tp.framing_type;
      e.calling_number = ss.l2tp.calling_number;
      e.called_number = ss.l2tp.called_number;
      link->out_sa = out_sa;
      link->since = ss.since;
      link->in_dataplane = true;
      link->up = true;
      const std::string why = link->ppp.restore(now, ss.ppp);
      if (!why.empty()) {
        _log.warning("session", sname + ": not restored: " + why);
        continue;
      }
      t.sessions.push_back(ss.l2tp);
      links.emplace_back(std::move(link), &*d);
    }
    if (t.peer.spi && !out_sa) {
      _log.warning("l2tp",
                   tname + ": not restored: its IPsec SA " + spi_hex(*t.peer.spi) + " is gone");
      continue;
    }
    if (st.saved_sessions > 0 && links.empty()) {
      _log.warning("l2tp", tname + ": not restored: none of its sessions is");
      continue;
    }
    // Links dropped here release their addresses as they go.
    if (const std::string why = _lns.restore_tunnel(t); !why.empty()) {
      _log.warning("l2tp", tname + ": not restored: " + why);
      continue;
    }
    ++restored_tunnels;
    for (auto& [link, d] : links) {
      const LinkKey key{link->l2tp.tunnel_id, link->l2tp.session_id};
      _links[key] = std::move(link);
      kept.push_back(*d);
    }
  }
  for (std::size_t i = 0; i < sessions.size(); ++i) {
    if (!placed[i]) {
      _log.warning("session", session_name(sessions[i].tunnel_id, sessions[i].l2tp.id) +
                                  ": not restored: its tunnel was not saved");
    }
  }
  ++_version;
  _log.info("l2tp", "restored " + std::to_string(restored_tunnels) + " tunnels, " +
                        std::to_string(kept.size()) + " sessions");
  return kept;
}

}  // namespace l2tpgw::cp
