#include "controlplane/ppp/session.h"

#include <openssl/crypto.h>

#include <cstring>

#include "controlplane/ppp/mschapv2.h"
#include "dataplane/wire/ppp.h"

namespace l2tpgw::ppp {
namespace {

bool negotiating_or_open(FsmState s) noexcept {
  return s == FsmState::req_sent || s == FsmState::ack_rcvd || s == FsmState::ack_sent ||
         s == FsmState::opened;
}

std::uint8_t bits_value(crypto::MppeBits b) noexcept {
  switch (b) {
    case crypto::MppeBits::b40:
      return 40;
    case crypto::MppeBits::b56:
      return 56;
    case crypto::MppeBits::b128:
      return 128;
  }
  return 0;
}

}  // namespace

const char* phase_name(Phase p) noexcept {
  switch (p) {
    case Phase::dead:
      return "dead";
    case Phase::establish:
      return "establish";
    case Phase::authenticate:
      return "authenticate";
    case Phase::network:
      return "network";
    case Phase::running:
      return "running";
    case Phase::terminated:
      return "terminated";
  }
  return "unknown";
}

Session::Session(const SessionContext& ctx)
    : _ctx(ctx),
      _lcp(ctx.settings, ctx.random, _out, _counters),
      _auth(ctx.settings, ctx.users, ctx.random, _out, _counters),
      _ipcp(ctx.settings, _out, _counters),
      _ccp(ctx.settings, _out, _counters) {
}

Session::~Session() {
  release_address();
  OPENSSL_cleanse(_up.mppe_send_key.data(), _up.mppe_send_key.size());
  OPENSSL_cleanse(_up.mppe_recv_key.data(), _up.mppe_recv_key.size());
}

void Session::release_address() noexcept {
  if (_pool_address) {
    _ctx.pool.release(*_pool_address);
    _pool_address.reset();
  }
}

void Session::start(Time now) {
  if (_phase != Phase::dead) {
    return;
  }
  _phase = Phase::establish;
  // RFC 1661 §3.2: the lower layer is up and we are administratively open.
  _lcp.fsm().open(now);
  _lcp.fsm().up(now);
}

void Session::start_proxied(Time now, const ProxyInfo& proxy) {
  if (_phase != Phase::dead) {
    return;
  }
  const OptionList sent = parse_options(proxy.last_sent_confreq);
  const OptionList received = parse_options(proxy.last_received_confreq);
  std::string why;
  if (!sent.ok() || !received.ok()) {
    why = "malformed proxy LCP";
  } else {
    why = _lcp.adopt(sent, received);
  }
  const auto proto = _lcp.auth();
  if (why.empty() && proto) {
    const bool pap_type = proxy.authen_type == 1 || proxy.authen_type == 3;
    const bool chap_type = proxy.authen_type == 2;
    if (!((*proto == AuthProto::pap && pap_type) || (*proto == AuthProto::chap_md5 && chap_type))) {
      why = "proxy authentication type " + std::to_string(proxy.authen_type) + " does not match " +
            auth_name(*proto);
    }
  }
  if (!why.empty()) {
    // RFC 2661 §4.4.5: the LNS may always renegotiate LCP itself.
    _counters.add(Counter::proxy_lcp_renegotiated);
    _proxy_note = "proxy LCP not used (" + why + "): renegotiating";
    start(now);
    return;
  }
  _phase = Phase::establish;
  _lcp.fsm().assume_opened(now);
  if (proto) {
    _phase = Phase::authenticate;
    _auth.check_proxy(*proto, proxy.authen_name, proxy.authen_challenge, proxy.authen_id,
                      proxy.authen_response);
  }
  advance(now);
}

void Session::go_down(std::string_view cause, bool peer_silent) {
  if (_phase == Phase::terminated) {
    return;
  }
  _phase = Phase::terminated;
  release_address();
  Event e;
  e.kind = EventKind::down;
  e.cause = cause;
  e.peer_silent = peer_silent;
  _events.push_back(std::move(e));
}

void Session::fail(Time now, std::string_view cause) {
  // The Terminate-Request goes out with the other output; the session is
  // down at once rather than after the Terminate-Ack, since the L2TP session
  // is torn down right after (RFC 1661 §3.7 allows the lower layer to go).
  _lcp.fsm().close(now, cause);
  go_down(cause);
}

void Session::close(Time now, std::string_view cause) {
  if (_phase == Phase::terminated || _phase == Phase::dead) {
    return;
  }
  fail(now, cause);
}

void Session::lower_down(std::string_view cause) {
  if (_phase == Phase::terminated) {
    return;
  }
  _lcp.fsm().down();
  go_down(cause);
}

void Session::request_mppe_reset(Time now) {
  if (_phase == Phase::running) {
    _ccp.request_reset(now);
  }
}

void Session::input(Time now, std::span<const std::uint8_t> frame) {
  if (_phase == Phase::terminated || _phase == Phase::dead) {
    return;
  }
  const wire::PppParse h = wire::parse_ppp(frame);
  if (!h.ok()) {
    _counters.add(Counter::bad_ppp_header);
    return;
  }
  const auto body = frame.subspan(h.header_len);
  const std::uint16_t proto = h.protocol;
  if (proto == wire::ppp_proto_lcp) {
    _lcp.fsm().input(now, body);
  } else if (!_lcp.fsm().opened()) {
    // RFC 1661 §3.4: only LCP before the link is established.
    _counters.add(Counter::not_lcp_before_open);
    return;
  } else if (proto == wire::ppp_proto_pap || proto == wire::ppp_proto_chap) {
    _auth.input(now, proto, body);
  } else if (proto == wire::ppp_proto_ipcp) {
    if (_phase == Phase::network || _phase == Phase::running) {
      _ipcp.fsm().input(now, body);
    }
  } else if (proto == wire::ppp_proto_ccp && _ccp_active) {
    if (_phase == Phase::network || _phase == Phase::running) {
      _ccp.fsm().input(now, body);
    }
  } else if (proto == wire::ppp_proto_ccp && _phase != Phase::network && _phase != Phase::running) {
    // CCP before authentication finished: not yet known whether it runs.
    return;
  } else if (wire::classify_ppp(proto) == wire::PppClass::control ||
             wire::classify_ppp(proto) == wire::PppClass::other) {
    // IPv6CP (no IPv6 on sessions yet), EAP (never negotiated), CCP under
    // policy "none", and anything unknown: RFC 1661 §5.7.
    if (proto == wire::ppp_proto_ipv6cp) {
      _counters.add(Counter::ipv6cp_rejected);
    }
    _counters.add(Counter::protocol_reject_sent);
    _lcp.send_protocol_reject(proto, body);
  }
  // Data protocols (IPv4, MPPE) are the data plane's: nothing to do here.
  advance(now);
}

void Session::tick(Time now) {
  if (_phase == Phase::terminated || _phase == Phase::dead) {
    return;
  }
  _lcp.tick(now);
  _auth.tick(now);
  _ipcp.fsm().tick(now);
  _ccp.tick(now);
  advance(now);
}

std::optional<Time> Session::deadline() const noexcept {
  if (_phase == Phase::terminated || _phase == Phase::dead) {
    return std::nullopt;
  }
  std::optional<Time> d;
  for (const auto& c :
       {_lcp.deadline(), _auth.deadline(), _ipcp.fsm().deadline(), _ccp.deadline()}) {
    if (c && (!d || *c < *d)) {
      d = c;
    }
  }
  return d;
}

void Session::begin_network(Time now) {
  const AuthResult& r = _auth.result();
  const User* u = r.record;
  // The address: the user's static one (reserved when it lies in the pool),
  // else one from the pool.
  std::uint32_t addr = 0;
  if (u != nullptr && u->address) {
    addr = *u->address;
    if (_ctx.pool.contains(addr)) {
      if (!_ctx.pool.reserve(addr)) {
        fail(now, "static address " + ipv4_text(addr) + " of user " + r.user + " already in use");
        return;
      }
      _pool_address = addr;
    }
  } else if (const auto a = _ctx.pool.allocate()) {
    addr = *a;
    _pool_address = addr;
  } else {
    fail(now, "address pool exhausted");
    return;
  }
  _ipcp.set_peer_address(addr);
  _up.user = r.user;
  _up.address = addr;

  const MppePolicy policy = (u != nullptr && u->mppe) ? *u->mppe : _ctx.settings.mppe;
  const bool keys = r.have_mppe_material && _ctx.mgr != nullptr;
  if (policy == MppePolicy::require && !keys) {
    fail(now, std::string(
                  "encryption required but not possible: MPPE keys need MS-CHAPv2, client used ") +
                  auth_name(r.proto));
    return;
  }
  _ccp.configure(policy, keys);
  _ccp_active = policy != MppePolicy::none && keys;
  _phase = Phase::network;
  _ipcp.fsm().open(now);
  _ipcp.fsm().up(now);
  if (_ccp_active) {
    _ccp.fsm().open(now);
    _ccp.fsm().up(now);
  }
}

void Session::advance(Time now) {
  if (_phase == Phase::terminated) {
    return;
  }
  if (_lcp.dead()) {
    const std::string cause = "LCP echo timeout: no reply to " +
                              std::to_string(_ctx.settings.echo_max_missed) + " Echo-Requests";
    _lcp.fsm().close(now, cause);
    go_down(cause, true);
    return;
  }
  const FsmState ls = _lcp.fsm().state();
  if (!negotiating_or_open(ls)) {
    // Closing, Stopping or finished: the link is over, whoever ended it; the
    // Terminate-Request or -Ack is already in the output.
    go_down(_lcp.fsm().cause().empty() ? "LCP closed" : _lcp.fsm().cause());
    return;
  }
  if (ls != FsmState::opened) {
    // Renegotiation (RFC 1661 §4.2 Opened + RCR): wait for LCP to reopen.
    return;
  }
  for (const std::uint16_t p : _lcp.take_rejected_protocols()) {
    if (p == wire::ppp_proto_ipcp) {
      fail(now, "client refused IPCP (Protocol-Reject)");
      return;
    }
    if (p == wire::ppp_proto_ccp) {
      _ccp.peer_refused(now);
      _ccp_active = false;
    }
  }
  if (_phase == Phase::establish) {
    const auto a = _lcp.auth();
    if (a) {
      _phase = Phase::authenticate;
      _auth.start(now, *a);
    } else {
      begin_network(now);
    }
  }
  if (_phase == Phase::authenticate) {
    if (!_auth.done()) {
      return;
    }
    if (_auth.result().outcome != AuthOutcome::success) {
      fail(now, _auth.result().cause());
      return;
    }
    begin_network(now);
    if (_phase != Phase::network) {
      return;
    }
  }
  if (!_ccp.failure().empty()) {
    fail(now, _ccp.failure());
    return;
  }
  if (_ipcp.fsm().finished()) {
    fail(now, _ipcp.fsm().cause().empty() ? "IPCP failed" : "IPCP: " + _ipcp.fsm().cause());
    return;
  }
  if (_ccp_active && _ccp.fsm().finished() && !_ccp.fsm().opened()) {
    // CCP gave up (the client never answered): same as refusing it.
    _ccp.peer_refused(now);
    _ccp_active = false;
    if (!_ccp.failure().empty()) {
      fail(now, _ccp.failure());
      return;
    }
  }
  if (_phase == Phase::network) {
    const bool ccp_ready = !_ccp_active || _ccp.fsm().opened();
    if (!_ipcp.fsm().opened() || !ccp_ready) {
      return;
    }
    _up.acfc = _lcp.acfc();
    _up.pfc = _lcp.pfc();
    _up.peer_mru = _lcp.peer_mru();
    if (_ccp_active && _ccp.bits()) {
      const AuthResult& r = _auth.result();
      const MppeStartKeys k = server_mppe_keys(_ctx.mgr, r.password_hash, r.nt_response);
      _up.mppe_bits = bits_value(*_ccp.bits());
      _up.mppe_stateless = _ccp.stateless();
      _up.mppe_send_key = k.send;
      _up.mppe_recv_key = k.recv;
    }
    _phase = Phase::running;
    Event e;
    e.kind = EventKind::up;
    e.up = _up;
    _events.push_back(std::move(e));
  }
  if (_phase == Phase::running && _ccp.take_tx_reset()) {
    Event e;
    e.kind = EventKind::mppe_tx_reset;
    _events.push_back(std::move(e));
  }
}

void Session::fill(channel::SessionParams& p) const noexcept {
  p.inner_addr = _up.address;
  p.ppp_acfc = _up.acfc ? 1 : 0;
  p.ppp_pfc = _up.pfc ? 1 : 0;
  p.mppe_bits = _up.mppe_bits;
  p.mppe_stateless = _up.mppe_stateless ? 1 : 0;
  std::memcpy(p.mppe_send_key, _up.mppe_send_key.data(), sizeof p.mppe_send_key);
  std::memcpy(p.mppe_recv_key, _up.mppe_recv_key.data(), sizeof p.mppe_recv_key);
}

}  // namespace l2tpgw::ppp
