#include "controlplane/lns_service.h"

#include <algorithm>
#include <type_traits>
#include <utility>
#include <variant>

#include "controlplane/lns_link.h"
#include "controlplane/names.h"
#include "controlplane/udp_datagram.h"
#include "dataplane/config/config.h"
#include "dataplane/wire/headers.h"
#include "dataplane/wire/l2tp.h"

namespace l2tpgw::cp {
namespace {

l2tp::Instant instant(LnsService::Clock::time_point t) {
  return std::chrono::time_point_cast<l2tp::Duration>(t);
}

ppp::UserDb read_users(const std::string& path, Logger& log) {
  if (path.empty()) {
    log.warning("ppp", "no users file configured: every authentication will fail");
    return {};
  }
  ppp::UsersLoad u = ppp::load_users(path);
  if (!u.db) {
    throw ConfigError(u.error);
  }
  log.info("ppp", std::to_string(u.db->size()) + " users from " + path);
  return std::move(*u.db);
}

// RFC 2661 §4.4.2 CDN result codes.
constexpr std::uint16_t cdn_general_error = 2;
constexpr std::uint16_t cdn_administrative = 3;
constexpr std::uint16_t error_vendor_specific = 6;  // the message says what

std::string mppe_text(const ppp::SessionUp& up) {
  if (up.mppe_bits == 0) {
    return "no MPPE";
  }
  return "MPPE-" + std::to_string(up.mppe_bits) + (up.mppe_stateless ? " stateless" : " stateful");
}

ppp::ProxyInfo proxy_info(const l2tp::ProxyAvps& a) {
  ppp::ProxyInfo p;
  p.last_sent_confreq = a.last_sent_lcp_confreq.value_or(ppp::Bytes{});
  p.last_received_confreq = a.last_received_lcp_confreq.value_or(ppp::Bytes{});
  p.authen_type = a.authen_type.value_or(0);
  p.authen_name = a.authen_name.value_or("");
  p.authen_challenge = a.authen_challenge.value_or(ppp::Bytes{});
  p.authen_id = a.authen_id.value_or(0);
  p.authen_response = a.authen_response.value_or(ppp::Bytes{});
  return p;
}

}  // namespace

LnsService::LnsService(LnsSettings settings, std::uint32_t local_addr, Logger& log, LnsHooks hooks)
    : _settings(std::move(settings)),
      _local_addr(local_addr),
      _log(log),
      _hooks(std::move(hooks)),
      _users(read_users(_settings.users_file, log)),
      _pool(_settings.pool_first, _settings.pool_last),
      _mgr(crypto::make_mgr()),
      _ppp_ctx{_settings.ppp, _users, _pool, _mgr.get(), _random},
      _lns(_settings.l2tp) {
  if (!_mgr) {
    throw std::runtime_error("cannot allocate an IPsec-MB manager for MPPE key derivation");
  }
  _log.info("l2tp", "LNS on " + format_ipv4(local_addr) + ":1701, address pool of " +
                        std::to_string(_pool.size()));
}

LnsService::~LnsService() = default;

void LnsService::on_punt(const channel::PuntMsg& m, Clock::time_point now) {
  const UdpDatagram d = parse_udp_datagram({m.data, std::min<std::size_t>(m.len, sizeof m.data)});
  if (!d.ok()) {
    ++_counters.malformed_ip;
    _log.debug("l2tp", std::string("punted packet dropped: ") + std::string(describe(d.error)));
    return;
  }
  if (d.ends.dst_port != wire::port_l2tp) {
    ++_counters.not_l2tp_port;
    return;
  }
  // Through an SA the peer is who the SA belongs to: its outer address (the
  // inner one of transport mode behind NAT is the client's private one).
  l2tp::Endpoint from{d.ends.src_addr, d.ends.src_port, std::nullopt};
  if (m.sa_slot != channel::no_sa) {
    from.addr = m.peer_addr;
    from.spi = m.sa_spi;
  }
  if (m.reason == channel::PuntReason::l2tp) {
    on_l2tp(d.payload, from, now);
  } else {
    on_ppp(d.payload, from, now);
  }
}

void LnsService::on_l2tp(std::span<const std::uint8_t> payload, const l2tp::Endpoint& from,
                         Clock::time_point now) {
  l2tp::LnsOutput out;
  _lns.on_packet(payload, from, instant(now), out);
  handle(out, now);
  reap();
}

void LnsService::on_ppp(std::span<const std::uint8_t> payload, const l2tp::Endpoint& from,
                        Clock::time_point now) {
  const wire::L2tpParse h = wire::parse_l2tp(payload);
  if (!h.ok() || h.is_control) {
    ++_counters.malformed_l2tp;
    return;
  }
  const auto it = _links.find({h.tunnel_id, h.session_id});
  if (it == _links.end() || it->second->finished) {
    ++_counters.unknown_session;
    return;
  }
  Link& link = *it->second;
  // The data plane let the frame through only from an SA of the session's
  // peer; around a rekey that may be the other pair of the same peer.
  if (link.l2tp.peer.addr != from.addr || link.l2tp.peer.port != from.port ||
      link.l2tp.peer.spi.has_value() != from.spi.has_value()) {
    ++_counters.wrong_peer;
    return;
  }
  link.ppp.input(now, payload.subspan(h.payload_offset, h.payload_len));
  drain(link, now);
  reap();
}

void LnsService::on_mppe_reset_request(std::uint16_t tunnel_id, std::uint16_t session_id,
                                       Clock::time_point now) {
  const auto it = _links.find({tunnel_id, session_id});
  if (it != _links.end() && !it->second->finished) {
    it->second->ppp.request_mppe_reset(now);
    drain(*it->second, now);
    reap();
  }
}

void LnsService::handle(l2tp::LnsOutput& out, Clock::time_point now) {
  for (const auto& rec : out.logs) {
    _log.write(rec.level, "l2tp", rec.text);
  }
  // Offered sessions reach the data plane before the ICRP leaves.
  for (const auto& ev : out.events) {
    if (const auto* e = std::get_if<l2tp::SessionOffered>(&ev)) {
      on_offered(*e, now);
    }
  }
  for (const auto& p : out.packets) {
    send_l2tp(p.to, p.payload);
  }
  for (const auto& ev : out.events) {
    std::visit(
        [&](const auto& e) {
          using T = std::decay_t<decltype(e)>;
          if constexpr (std::is_same_v<T, l2tp::SessionEstablished>) {
            on_established(e, now);
          } else if constexpr (std::is_same_v<T, l2tp::SessionClosed>) {
            on_closed(e.tunnel_id, e.session_id,
                      std::string("L2TP session closed: ") + l2tp::close_cause_name(e.cause));
          } else if constexpr (std::is_same_v<T, l2tp::TunnelClosed>) {
            // Its sessions each had their SessionClosed; nothing left here.
            for (auto& [key, link] : _links) {
              if (key.first == e.tunnel_id) {
                on_closed(key.first, key.second,
                          std::string("L2TP tunnel closed: ") + l2tp::close_cause_name(e.cause));
              }
            }
            if (e.cause == l2tp::CloseCause::peer_silent) {
              release_if_unused(e.peer, "L2TP tunnel " + std::to_string(e.tunnel_id) +
                                            " closed: the client went silent");
            }
          }
        },
        ev);
  }
}

void LnsService::on_offered(const l2tp::SessionOffered& e, Clock::time_point now) {
  auto link = std::make_unique<Link>(_ppp_ctx);
  link->l2tp.tunnel_id = e.tunnel_id;
  link->l2tp.peer_tunnel_id = e.peer_tunnel_id;
  link->l2tp.session_id = e.session_id;
  link->l2tp.peer_session_id = e.peer_session_id;
  link->l2tp.peer = e.peer;
  link->since = now;
  if (e.peer.spi) {
    link->out_sa = _hooks.outbound_for(*e.peer.spi, e.peer.addr);
  }
  Link& l = *link;
  _links[{e.tunnel_id, e.session_id}] = std::move(link);
  if (!push_session(l)) {
    refuse(l, now);
  }
}

// The data plane did not take the session: it ends here, with a CDN
// that says why.
void LnsService::refuse(Link& link, Clock::time_point now) {
  finish(link);
  remove_from_dataplane(link);
  l2tp::LnsOutput out;
  _lns.close_session(link.l2tp.tunnel_id, link.l2tp.session_id,
                     {cdn_general_error, error_vendor_specific, "data plane refused the session"},
                     instant(now), out);
  handle(out, now);
}

void LnsService::on_established(const l2tp::SessionEstablished& e, Clock::time_point now) {
  const auto it = _links.find({e.tunnel_id, e.session_id});
  if (it == _links.end() || it->second->finished) {
    return;  // refused by the data plane when offered, and closed then
  }
  Link& l = *it->second;
  const bool sequencing = e.sequencing_required;
  l.l2tp = e;
  // The ICCN may ask for sequence numbers on data (§5.4): the data plane
  // must then number what it sends.
  if (sequencing && !push_session(l)) {
    refuse(l, now);
    return;
  }
  const l2tp::ProxyAvps& px = e.proxy;
  if (px.authen_type || px.last_received_lcp_confreq) {
    l.ppp.start_proxied(now, proxy_info(px));
    if (!l.ppp.proxy_note().empty()) {
      _log.info("ppp", session_name(e.tunnel_id, e.session_id) + ": " + l.ppp.proxy_note());
    }
  } else {
    l.ppp.start(now);
  }
  drain(l, now);
}

void LnsService::on_closed(std::uint16_t tunnel_id, std::uint16_t session_id,
                           const std::string& cause) {
  const auto it = _links.find({tunnel_id, session_id});
  if (it == _links.end() || it->second->finished) {
    return;
  }
  Link& link = *it->second;
  finish(link);  // before lower_down: its down event must not close L2TP again
  link.ppp.lower_down(cause);
  (void)link.ppp.take_output();
  for (const auto& ev : link.ppp.take_events()) {
    if (ev.kind == ppp::EventKind::down && link.up) {
      _log.info("ppp", "user " + link.ppp.auth_result().user + " disconnected (" + cause + ")");
    }
  }
  remove_from_dataplane(link);
}

// PPP frames go out as L2TP data messages without sequence numbers: the
// data plane numbers the session's data when sequencing is on, and a
// control frame never needs a place in that order (RFC 2661 §5.4 leaves
// it to the sender).
void LnsService::drain(Link& link, Clock::time_point now) {
  auto frames = link.ppp.take_output();
  auto events = link.ppp.take_events();
  // The data plane learns the address before the frame that completes
  // IPCP leaves: a client sends as soon as it has it, and its first
  // packets must not meet a session without an address.
  const auto up_first = std::stable_partition(
      events.begin(), events.end(), [](const ppp::Event& e) { return e.kind == ppp::EventKind::up; });
  const std::string name = session_name(link.l2tp.tunnel_id, link.l2tp.session_id);
  auto send_frames = [&] {
    for (const auto& frame : std::exchange(frames, {})) {
      wire::L2tpDataHeader h;
      h.tunnel_id = link.l2tp.peer_tunnel_id;
      h.session_id = link.l2tp.peer_session_id;
      std::vector<std::uint8_t> msg(wire::l2tp_data_header_len(h) + frame.size());
      const std::size_t n = wire::build_l2tp_data_header(msg, h, frame.size());
      std::copy(frame.begin(), frame.end(), msg.begin() + static_cast<std::ptrdiff_t>(n));
      send_l2tp(link.l2tp.peer, msg);
    }
  };
  for (auto it = events.begin(); it != events.end(); ++it) {
    if (it == up_first) {
      send_frames();
    }
    const ppp::Event& ev = *it;
    switch (ev.kind) {
      case ppp::EventKind::up: {
        link.up = true;
        ++_version;
        if (!push_session(link)) {
          link.ppp.close(now, "data plane refused the session");
          break;
        }
        const ppp::SessionUp& up = ev.up;
        _log.info("ppp", "user " + up.user + " connected: address " + format_ipv4(up.address) +
                             ", " + name + " from " + l2tp::format_endpoint(link.l2tp.peer) +
                             ", " + ppp::auth_name(link.ppp.auth_result().proto) + ", " +
                             mppe_text(up));
        break;
      }
      case ppp::EventKind::down: {
        // A link that was up ends normally (the user hung up, or the peer
        // vanished); one that never came up is a failure to connect, and
        // its cause goes into the CDN for the client's log too.
        const std::string where = name + " from " + l2tp::format_endpoint(link.l2tp.peer);
        l2tp::ResultCode rc{cdn_general_error, error_vendor_specific, ev.cause};
        if (link.up) {
          const auto secs = std::chrono::duration_cast<std::chrono::seconds>(now - link.since).count();
          _log.info("ppp", "user " + link.ppp.auth_result().user + " disconnected after " +
                               std::to_string(secs) + " s (" + where + "): " + ev.cause);
          rc = {cdn_administrative, std::nullopt, ""};
        } else {
          _log.warning("ppp", where + ": " + ev.cause);
        }
        finish(link);
        remove_from_dataplane(link);
        l2tp::LnsOutput out;
        _lns.close_session(link.l2tp.tunnel_id, link.l2tp.session_id, rc, instant(now), out);
        // The client stopped answering LCP echoes: when this was the
        // tunnel's last session, the tunnel and its IPsec SA go too rather
        // than wait for the CDN's retransmissions to find the same.
        const l2tp::Tunnel* t = _lns.find_tunnel(link.l2tp.tunnel_id);
        if (ev.peer_silent && t != nullptr && t->sessions().empty()) {
          _lns.abandon_tunnel(link.l2tp.tunnel_id, l2tp::CloseCause::peer_silent,
                              "closed: the client went silent (LCP echo timeout)", out);
        }
        handle(out, now);
        break;
      }
      case ppp::EventKind::mppe_tx_reset: {
        const auto ack = link.in_dataplane
                             ? _hooks.call(channel::make_session_ref(channel::MsgType::session_mppe_reset,
                                                                     link.l2tp.tunnel_id, link.l2tp.session_id))
                             : std::nullopt;
        _log.debug("ppp", name + ": CCP Reset-Request from the client, MPPE transmit reset: " +
                              (ack ? ack_result_name(ack->result) : std::string("not sent")));
        break;
      }
    }
  }
  send_frames();
}

void LnsService::send_l2tp(const l2tp::Endpoint& to, std::span<const std::uint8_t> payload) {
  std::optional<SaRef> via;
  if (to.spi) {
    via = _hooks.outbound_for(*to.spi, to.addr);
    if (!via) {
      ++_counters.no_outbound_sa;
      _log.warning("l2tp", "no outbound SA towards " + l2tp::format_endpoint(to) +
                               ": reply not sent");
      return;
    }
  }
  const auto pkt = build_udp_datagram({_local_addr, to.addr, wire::port_l2tp, to.port}, payload);
  if (!_hooks.send(pkt, via)) {
    ++_counters.tx_failed;
  }
}

bool LnsService::push_session(Link& link) {
  channel::SessionParams p{};
  const l2tp::SessionEstablished& e = link.l2tp;
  p.local_tunnel_id = e.tunnel_id;
  p.local_session_id = e.session_id;
  p.peer_tunnel_id = e.peer_tunnel_id;
  p.peer_session_id = e.peer_session_id;
  p.peer_addr = e.peer.addr;
  p.peer_port = e.peer.port;
  p.local_port = wire::port_l2tp;
  p.sa_in_spi = e.peer.spi.value_or(0);
  p.sa_out_spi = link.out_sa ? link.out_sa->spi : 0;
  p.l2tp_sequencing = e.sequencing_required ? 1 : 0;
  if (link.up) {
    link.ppp.fill(p);
  }
  const auto ack = _hooks.call(channel::make_session_add(p));
  const bool ok = ack && (ack->result == channel::AckResult::ok ||
                          ack->result == channel::AckResult::replaced);
  if (!ok) {
    ++_counters.dp_refused;
    _log.warning("session", session_name(e.tunnel_id, e.session_id) + ": the data plane refused it: " +
                                (ack ? ack_result_name(ack->result) : std::string("no ack")));
    return false;
  }
  link.in_dataplane = true;
  return true;
}

void LnsService::remove_from_dataplane(Link& link) {
  if (!link.in_dataplane) {
    return;
  }
  const auto ack = _hooks.call(
      channel::make_session_ref(channel::MsgType::session_del, link.l2tp.tunnel_id, link.l2tp.session_id));
  link.in_dataplane = false;
  if (!ack || (ack->result != channel::AckResult::ok &&
               ack->result != channel::AckResult::not_found)) {
    _log.warning("session", session_name(link.l2tp.tunnel_id, link.l2tp.session_id) +
                                ": delete from the data plane: " +
                                (ack ? ack_result_name(ack->result) : std::string("no ack")));
  }
}

void LnsService::release_if_unused(const l2tp::Endpoint& peer, const std::string& why) {
  if (!peer.spi || !_hooks.release_sa || !_lns.tunnels_on(peer.addr, *peer.spi).empty()) {
    return;
  }
  _log.info("l2tp", "IPsec SA " + spi_hex(*peer.spi) + " of " + format_ipv4(peer.addr) +
                        " released: " + why);
  _hooks.release_sa(*peer.spi, peer.addr, why);
}

void LnsService::on_pair_moved(std::uint32_t peer, std::uint32_t from_in, std::uint32_t to_in,
                               std::uint32_t to_out) {
  _lns.move_spi(peer, from_in, to_in);
  for (auto& [key, link] : _links) {
    l2tp::Endpoint& p = link->l2tp.peer;
    if (link->finished || p.addr != peer || p.spi != from_in) {
      continue;
    }
    p.spi = to_in;
    link->out_sa = SaRef{to_out, peer};
    ++_version;
    if (!link->in_dataplane) {
      continue;
    }
    const auto ack = _hooks.call(channel::make_session_set_sa(key.first, key.second, to_in, to_out));
    const bool ok = ack && ack->result == channel::AckResult::ok;
    const std::string text = session_name(key.first, key.second) + " moved to IPsec SAs in " +
                             spi_hex(to_in) + " out " + spi_hex(to_out) +
                             (ok ? std::string()
                                 : ": " + (ack ? ack_result_name(ack->result) : std::string("no ack")));
    if (ok) {
      _log.info("session", text);
    } else {
      ++_counters.dp_refused;
      _log.warning("session", text);
    }
  }
}

void LnsService::on_pair_gone(std::uint32_t peer, std::uint32_t in_spi, const std::string& why,
                              Clock::time_point now) {
  l2tp::LnsOutput out;
  for (const auto id : _lns.tunnels_on(peer, in_spi)) {
    _lns.abandon_tunnel(id, l2tp::CloseCause::transport_gone, "closed: IPsec SA removed (" + why + ")",
                        out);
  }
  handle(out, now);
  reap();
}

// Links are erased only here, called last by every entry point: deeper
// down, a link's own handler may still be running.
void LnsService::reap() {
  // A key may have been taken again by a new link since it finished.
  for (const auto& key : _finished) {
    if (const auto it = _links.find(key); it != _links.end() && it->second->finished) {
      _links.erase(it);
    }
  }
  _finished.clear();
}

// Marks the link for the next reap; keeping the keys spares reap a walk
// over every link after each datagram.
void LnsService::finish(Link& link) {
  if (link.up) {
    ++_version;
  }
  link.finished = true;
  _finished.emplace_back(link.l2tp.tunnel_id, link.l2tp.session_id);
}

void LnsService::poll(Clock::time_point now) {
  if (const auto d = _lns.next_deadline(); d && *d <= instant(now)) {
    l2tp::LnsOutput out;
    _lns.poll(instant(now), out);
    handle(out, now);
  }
  for (auto& [key, link] : _links) {
    if (link->finished) {
      continue;
    }
    if (const auto d = link->ppp.deadline(); d && *d <= now) {
      link->ppp.tick(now);
      drain(*link, now);
    }
  }
  reap();
}

std::size_t LnsService::disconnect_session(std::uint16_t tunnel_id, std::uint16_t session_id,
                                           Clock::time_point now) {
  const auto it = _links.find({tunnel_id, session_id});
  if (it == _links.end() || it->second->finished) {
    return 0;
  }
  Link& link = *it->second;
  _log.info("ppp", session_name(tunnel_id, session_id) + ": disconnected by the operator");
  finish(link);
  link.ppp.close(now, "disconnected by the operator");
  drain(link, now);  // the Terminate-Request, best effort
  remove_from_dataplane(link);
  l2tp::LnsOutput out;
  _lns.close_session(tunnel_id, session_id, {cdn_administrative, std::nullopt, ""}, instant(now), out);
  handle(out, now);
  reap();
  return 1;
}

std::size_t LnsService::disconnect_user(const std::string& user, Clock::time_point now) {
  std::vector<LinkKey> keys;
  for (const auto& [key, link] : _links) {
    if (!link->finished && link->ppp.auth_result().user == user) {
      keys.push_back(key);
    }
  }
  std::size_t n = 0;
  for (const auto& k : keys) {
    n += disconnect_session(k.first, k.second, now);
  }
  return n;
}

std::vector<LinkView> LnsService::links(Clock::time_point now) const {
  std::vector<LinkView> out;
  for (const auto& [key, link] : _links) {
    LinkView v;
    v.tunnel_id = key.first;
    v.session_id = key.second;
    v.peer_tunnel_id = link->l2tp.peer_tunnel_id;
    v.peer_session_id = link->l2tp.peer_session_id;
    v.peer = link->l2tp.peer;
    v.phase = ppp::phase_name(link->ppp.phase());
    const ppp::AuthResult& a = link->ppp.auth_result();
    v.user = a.user;
    if (a.outcome != ppp::AuthOutcome::pending) {
      v.auth = ppp::auth_name(a.proto);
    }
    channel::SessionParams p{};
    if (link->up) {
      link->ppp.fill(p);
      v.address = p.inner_addr;
      v.mppe = p.mppe_bits == 0 ? "none"
                                : std::to_string(p.mppe_bits) + (p.mppe_stateless ? " stateless" : " stateful");
    }
    v.age = std::chrono::duration_cast<std::chrono::seconds>(now - link->since);
    v.in_dataplane = link->in_dataplane;
    out.push_back(std::move(v));
  }
  return out;
}

}  // namespace l2tpgw::cp
