#include "controlplane/ppp/session.h"

namespace l2tpgw::ppp {

LinkSnapshot Session::snapshot() const {
  LinkSnapshot s;
  _lcp.save(s);
  const AuthResult& a = _auth.result();
  if (a.outcome == AuthOutcome::success) {
    s.auth = a.proto;
    s.user = a.user;
  } else {
    s.auth.reset();
  }
  s.address = _up.address;
  s.ipcp_id = _ipcp.fsm().next_id();
  s.ccp_active = _ccp_active;
  if (_ccp_active) {
    _ccp.save(s);
  }
  return s;
}

std::string Session::restore(Time now, const LinkSnapshot& s) {
  if (_phase != Phase::dead) {
    return "the session already started";
  }
  if (s.address == 0) {
    return "no address";
  }
  if (_ctx.pool.contains(s.address)) {
    if (!_ctx.pool.reserve(s.address)) {
      return "address " + ipv4_text(s.address) + " already in use";
    }
    _pool_address = s.address;
  }
  _lcp.restore(now, s);
  if (s.auth) {
    _auth.restore(*s.auth, s.user);
  }
  _ipcp.set_peer_address(s.address);
  _ipcp.fsm().restore_opened(s.ipcp_id);
  _ccp_active = s.ccp_active;
  if (_ccp_active) {
    _ccp.restore(s);
  }
  _up = SessionUp{};
  _up.user = s.user;
  _up.address = s.address;
  _up.acfc = s.acfc;
  _up.pfc = s.pfc;
  _up.peer_mru = s.peer_mru;
  if (_ccp_active) {
    _up.mppe_bits = s.mppe_bits;
    _up.mppe_stateless = s.mppe_bits != 0 && s.mppe_stateless;
  }
  _phase = Phase::running;
  return {};
}

}  // namespace l2tpgw::ppp
