#include "controlplane/ppp/lcp.h"

#include <algorithm>

#include "dataplane/wire/ppp.h"

namespace l2tpgw::ppp {
namespace {

void append_auth(Bytes& out, AuthProto a) {
  switch (a) {
    case AuthProto::pap: {
      const std::uint8_t v[2] = {0xc0, 0x23};
      append_option(out, lcp_auth, v);
      break;
    }
    case AuthProto::chap_md5: {
      const std::uint8_t v[3] = {0xc2, 0x23, chap_alg_md5};
      append_option(out, lcp_auth, v);
      break;
    }
    case AuthProto::mschapv2: {
      const std::uint8_t v[3] = {0xc2, 0x23, chap_alg_mschapv2};
      append_option(out, lcp_auth, v);
      break;
    }
  }
}

std::optional<AuthProto> decode_auth(std::span<const std::uint8_t> v) {
  if (v.size() == 2 && read_u16(v) == wire::ppp_proto_pap) {
    return AuthProto::pap;
  }
  if (v.size() == 3 && read_u16(v) == wire::ppp_proto_chap) {
    if (v[2] == chap_alg_md5) {
      return AuthProto::chap_md5;
    }
    if (v[2] == chap_alg_mschapv2) {
      return AuthProto::mschapv2;
    }
  }
  return std::nullopt;
}

std::string describe_auth(std::span<const std::uint8_t> v) {
  if (const auto a = decode_auth(v)) {
    return auth_name(*a);
  }
  if (v.size() >= 2 && read_u16(v) == wire::ppp_proto_eap) {
    return "EAP";
  }
  if (v.size() == 3 && read_u16(v) == wire::ppp_proto_chap && v[2] == 0x80) {
    return "MS-CHAPv1";
  }
  return "an unknown protocol";
}

}  // namespace

Lcp::Lcp(const PppSettings& settings, Random& random, Outbox& out, Counters& counters)
    : _settings(settings),
      _random(random),
      _counters(counters),
      _fsm(wire::ppp_proto_lcp, "LCP", *this, settings.timers, out, counters),
      _auth_tried(settings.auth.size(), false),
      _send_mru(settings.mru != 1500),
      _mru(settings.mru),
      _magic(new_magic()) {
  if (!settings.auth.empty()) {
    _auth_idx = 0;
  }
}

std::uint32_t Lcp::new_magic() {
  // RFC 1661 §6.4: zero is not a valid magic number.
  std::uint32_t m = 0;
  while (m == 0) {
    m = _random.u32();
  }
  return m;
}

void Lcp::build_request(Bytes& out) {
  if (_send_mru) {
    append_u16_option(out, lcp_mru, _mru);
  }
  if (_auth_idx) {
    append_auth(out, _settings.auth[*_auth_idx]);
  }
  if (_send_magic) {
    append_u32_option(out, lcp_magic, _magic);
  }
}

void Lcp::check_request(const OptionList& req, Bytes& nak, Bytes& reject) {
  _peer_mru = 1500;
  _peer_pfc = false;
  _peer_acfc = false;
  auto refuse_length = [&](const Option& o) {
    _counters.add(Counter::bad_option_length);
    append_option_raw(reject, o);
  };
  for (const Option& o : req.options()) {
    switch (o.type) {
      case lcp_mru:
        if (o.value.size() != 2) {
          refuse_length(o);
        } else if (read_u16(o.value) < _settings.min_mru) {
          append_u16_option(nak, lcp_mru, _settings.min_mru);
        } else {
          _peer_mru = read_u16(o.value);
        }
        break;
      case lcp_accm:
        // Async framing only (RFC 1662 §7.1); L2TP carries no such framing
        // (RFC 2661 §5.3), so any value is harmless.
        if (o.value.size() != 4) {
          refuse_length(o);
        }
        break;
      case lcp_magic:
        if (o.value.size() != 4) {
          refuse_length(o);
        } else if (read_u32(o.value) == 0) {
          // §6.4: zero is invalid; suggest a value.
          append_u32_option(nak, lcp_magic, new_magic());
        } else if (_send_magic && read_u32(o.value) == _magic) {
          // §6.4: our own number came back: possibly a looped-back link.
          // Both sides pick new numbers; a real loop keeps colliding and
          // ends in Max-Failure.
          _counters.add(Counter::magic_loop);
          ++_magic_loops;
          _magic = new_magic();
          append_u32_option(nak, lcp_magic, new_magic());
        }
        break;
      case lcp_pfc:
      case lcp_acfc:
        if (!o.value.empty()) {
          refuse_length(o);
        } else if (o.type == lcp_pfc) {
          _peer_pfc = true;
        } else {
          _peer_acfc = true;
        }
        break;
      default:
        // Authentication-Protocol (we do not authenticate to clients),
        // Quality-Protocol, Callback (Windows asks for it), MRRU and all
        // others.
        append_option_raw(reject, o);
        break;
    }
  }
}

void Lcp::on_ack(const OptionList&) {
  if (_auth_idx) {
    _auth_acked = _settings.auth[*_auth_idx];
  }
}

std::optional<std::size_t> Lcp::next_auth(std::optional<AuthProto> suggested) const {
  if (suggested) {
    for (std::size_t i = 0; i < _settings.auth.size(); ++i) {
      if (_settings.auth[i] == *suggested && !_auth_tried[i]) {
        return i;
      }
    }
  }
  for (std::size_t i = 0; i < _settings.auth.size(); ++i) {
    if (!_auth_tried[i]) {
      return i;
    }
  }
  return std::nullopt;
}

std::string Lcp::on_nak(const OptionList& nak) {
  for (const Option& o : nak.options()) {
    switch (o.type) {
      case lcp_mru:
        if (o.value.size() == 2 && read_u16(o.value) >= _settings.min_mru) {
          _mru = read_u16(o.value);
          _send_mru = _mru != 1500;
        }
        break;
      case lcp_magic:
        _magic = new_magic();
        break;
      case lcp_auth: {
        if (!_auth_idx) {
          break;
        }
        // The client cannot do the protocol we asked for and names one it
        // can (RFC 1661 §6.2): try it if allowed, else the next allowed one.
        _auth_tried[*_auth_idx] = true;
        _auth_idx = next_auth(decode_auth(o.value));
        if (!_auth_idx) {
          return "authentication protocol not allowed: client asked for " + describe_auth(o.value);
        }
        break;
      }
      default:
        break;
    }
  }
  return {};
}

std::string Lcp::on_reject(const OptionList& rej) {
  for (const Option& o : rej.options()) {
    switch (o.type) {
      case lcp_mru:
        _send_mru = false;
        break;
      case lcp_magic:
        _send_magic = false;
        break;
      case lcp_auth:
        if (_auth_idx) {
          return "authentication protocol not allowed: client refuses to authenticate";
        }
        break;
      default:
        break;
    }
  }
  return {};
}

std::string Lcp::adopt(const OptionList& last_sent, const OptionList& last_received) {
  Bytes nak;
  Bytes reject;
  check_request(last_received, nak, reject);
  if (!nak.empty() || !reject.empty()) {
    return "the client's LCP options are not acceptable";
  }
  std::optional<std::size_t> auth_idx;
  std::optional<std::uint32_t> magic;
  std::optional<std::uint16_t> mru;
  for (const Option& o : last_sent.options()) {
    switch (o.type) {
      case lcp_mru:
        if (o.value.size() != 2) {
          return "malformed MRU";
        }
        mru = read_u16(o.value);
        break;
      case lcp_accm:
      case lcp_pfc:
      case lcp_acfc:
        // What the LAC asked the client to accept: harmless to us, since
        // we accept every framing form (RFC 1661 §6.5, §6.6).
        break;
      case lcp_magic:
        if (o.value.size() != 4 || read_u32(o.value) == 0) {
          return "malformed Magic-Number";
        }
        magic = read_u32(o.value);
        break;
      case lcp_auth: {
        const auto a = decode_auth(o.value);
        for (std::size_t i = 0; a && i < _settings.auth.size(); ++i) {
          if (_settings.auth[i] == *a) {
            auth_idx = i;
            break;
          }
        }
        if (!auth_idx) {
          return std::string("the LAC authenticated with ") + describe_auth(o.value) +
                 ", which is not allowed";
        }
        break;
      }
      default:
        return "the LAC negotiated LCP option " + std::to_string(o.type);
    }
  }
  if (!_settings.auth.empty() && !auth_idx) {
    return "the LAC negotiated no authentication";
  }
  _auth_idx = auth_idx;
  if (auth_idx) {
    _auth_acked = _settings.auth[*auth_idx];
  }
  if (magic) {
    _magic = *magic;
  }
  _send_magic = magic.has_value();
  if (mru) {
    _mru = *mru;
  }
  return {};
}

void Lcp::save(LinkSnapshot& s) const noexcept {
  s.magic = _send_magic ? _magic : 0;
  s.mru = _mru;
  s.peer_mru = _peer_mru;
  s.acfc = _peer_acfc;
  s.pfc = _peer_pfc;
  s.lcp_id = _fsm.next_id();
  s.auth = _auth_acked;
}

void Lcp::restore(Time now, const LinkSnapshot& s) {
  _send_magic = s.magic != 0;
  if (_send_magic) {
    _magic = s.magic;
  }
  _mru = s.mru;
  _send_mru = _mru != 1500;
  _peer_mru = s.peer_mru;
  _peer_acfc = s.acfc;
  _peer_pfc = s.pfc;
  _auth_acked = s.auth;
  _auth_idx.reset();
  for (std::size_t i = 0; s.auth && i < _settings.auth.size(); ++i) {
    if (_settings.auth[i] == *s.auth) {
      _auth_idx = i;
    }
  }
  _fsm.restore_opened(s.lcp_id);
  _dead = false;
  layer_up(now);
}

void Lcp::layer_up(Time now) {
  _echo_outstanding = 0;
  if (_settings.echo_interval.count() > 0 && _settings.echo_max_missed > 0) {
    _next_echo = now + _settings.echo_interval;
  }
}

void Lcp::layer_down() {
  _next_echo.reset();
}

void Lcp::tick(Time now) {
  _fsm.tick(now);
  if (!_next_echo || now < *_next_echo || !_fsm.opened()) {
    return;
  }
  if (_echo_outstanding > 0) {
    _counters.add(Counter::echo_missed);
  }
  if (_echo_outstanding >= _settings.echo_max_missed) {
    _dead = true;
    _next_echo.reset();
    return;
  }
  ++_echo_outstanding;
  std::uint8_t m[4];
  const std::uint32_t magic = _send_magic ? _magic : 0;
  for (int i = 0; i < 4; ++i) {
    m[i] = static_cast<std::uint8_t>(magic >> (24 - 8 * i));
  }
  _fsm.send_other(Code::echo_request, m);
  _next_echo = now + _settings.echo_interval;
}

std::optional<Time> Lcp::deadline() const noexcept {
  auto d = _fsm.deadline();
  if (_next_echo && (!d || *_next_echo < *d)) {
    d = _next_echo;
  }
  return d;
}

void Lcp::send_protocol_reject(std::uint16_t protocol, std::span<const std::uint8_t> info) {
  if (!_fsm.opened()) {
    return;
  }
  // RFC 1661 §5.7: Rejected-Protocol then the rejected information,
  // truncated to fit the peer's MRU.
  Bytes data;
  data.push_back(static_cast<std::uint8_t>(protocol >> 8));
  data.push_back(static_cast<std::uint8_t>(protocol));
  const std::size_t room = _peer_mru > 8u ? _peer_mru - 8u : 0u;
  const auto keep = info.first(std::min(info.size(), room));
  data.insert(data.end(), keep.begin(), keep.end());
  _fsm.send_other(Code::protocol_reject, data);
}

bool Lcp::other_code(Time, const Packet& p) {
  switch (static_cast<Code>(p.code)) {
    case Code::echo_request: {
      // §5.8: answered in Opened only, with our own magic number.
      if (!_fsm.opened() || p.data.size() < 4) {
        return true;
      }
      if (_send_magic && read_u32(p.data) == _magic) {
        _counters.add(Counter::magic_loop);
        return true;
      }
      Bytes reply(p.data.begin(), p.data.end());
      const std::uint32_t magic = _send_magic ? _magic : 0;
      for (int i = 0; i < 4; ++i) {
        reply[i] = static_cast<std::uint8_t>(magic >> (24 - 8 * i));
      }
      _fsm.send(Code::echo_reply, p.id, reply);
      return true;
    }
    case Code::echo_reply:
      if (_fsm.opened()) {
        _echo_outstanding = 0;
      }
      return true;
    case Code::protocol_reject:
      if (_fsm.opened() && p.data.size() >= 2) {
        _rejected.push_back(read_u16(p.data));
      }
      return true;
    case Code::discard_request:
    case Code::identification:
    case Code::time_remaining:
      return true;
    default:
      return false;
  }
}

}  // namespace l2tpgw::ppp
