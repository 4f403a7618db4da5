#include "controlplane/ppp/ccp.h"

#include "dataplane/wire/ppp.h"

namespace l2tpgw::ppp {
namespace {

constexpr std::uint32_t strength_bits = mppe_bit_s | mppe_bit_m | mppe_bit_l;

std::optional<crypto::MppeBits> strength(std::uint32_t v) noexcept {
  if ((v & mppe_bit_s) != 0) {
    return crypto::MppeBits::b128;
  }
  if ((v & mppe_bit_m) != 0) {
    return crypto::MppeBits::b56;
  }
  if ((v & mppe_bit_l) != 0) {
    return crypto::MppeBits::b40;
  }
  return std::nullopt;
}

std::uint32_t strength_bit(crypto::MppeBits b) noexcept {
  switch (b) {
    case crypto::MppeBits::b128:
      return mppe_bit_s;
    case crypto::MppeBits::b56:
      return mppe_bit_m;
    case crypto::MppeBits::b40:
      return mppe_bit_l;
  }
  return 0;
}

}  // namespace

Ccp::Ccp(const PppSettings& settings, Outbox& out, Counters& counters)
    : _settings(settings),
      _counters(counters),
      _fsm(wire::ppp_proto_ccp, "CCP", *this, settings.timers, out, counters) {
}

void Ccp::configure(MppePolicy policy, bool keys_available) noexcept {
  _policy = keys_available ? policy : MppePolicy::none;
  _allowed = 0;
  if ((_settings.mppe_allowed & mppe_allow_128) != 0) {
    _allowed |= mppe_bit_s;
  }
  if ((_settings.mppe_allowed & mppe_allow_56) != 0) {
    _allowed |= mppe_bit_m;
  }
  if ((_settings.mppe_allowed & mppe_allow_40) != 0) {
    _allowed |= mppe_bit_l;
  }
  if (_policy == MppePolicy::none) {
    _allowed = 0;
  }
  _send_mppe = _allowed != 0;
  _ours = _allowed | (_settings.mppe_prefer_stateless ? mppe_bit_h : 0);
}

std::uint32_t Ccp::choose(std::uint32_t offered) const noexcept {
  const auto s = strength(offered & _allowed);
  if (!s) {
    return 0;
  }
  std::uint32_t c = strength_bit(*s);
  if ((offered & mppe_bit_h) != 0 && _settings.mppe_prefer_stateless) {
    c |= mppe_bit_h;
  }
  return c;
}

void Ccp::build_request(Bytes& out) {
  if (_send_mppe) {
    append_u32_option(out, ccp_mppe, _ours);
  }
}

void Ccp::check_request(const OptionList& req, Bytes& nak, Bytes& reject) {
  _rx_agreed = 0;
  for (const Option& o : req.options()) {
    if (o.type != ccp_mppe || _allowed == 0) {
      // MPPC, Deflate, BSD-Compress, Predictor...: the data plane does no
      // compression.
      append_option_raw(reject, o);
      continue;
    }
    if (o.value.size() != 4) {
      _counters.add(Counter::bad_option_length);
      append_option_raw(reject, o);
      continue;
    }
    const std::uint32_t offered = read_u32(o.value);
    std::uint32_t chosen = choose(offered);
    // The data plane keeps one MPPE mode per session, so both directions
    // must agree on the H bit. Our request went out first and may already
    // be Acked: the client's must carry its H bit (pppd does the same). A
    // client that wants the other mode Naks our request, and on_nak adopts
    // its choice for both.
    if (chosen != 0) {
      chosen = (chosen & ~mppe_bit_h) | (_ours & mppe_bit_h);
    }
    if (chosen == 0) {
      // Nothing we allow (MPPC alone, or only key lengths we refuse).
      append_option_raw(reject, o);
      continue;
    }
    // From now on our own request carries the same single choice.
    _ours = chosen;
    if (offered == chosen) {
      _rx_agreed = chosen;
    } else {
      // RFC 3078 §2.1: the Nak names the one combination to use.
      append_u32_option(nak, ccp_mppe, chosen);
    }
  }
}

void Ccp::on_ack(const OptionList& acked) {
  _tx_acked = 0;
  for (const Option& o : acked.options()) {
    if (o.type == ccp_mppe && o.value.size() == 4) {
      _tx_acked = read_u32(o.value);
    }
  }
}

std::string Ccp::on_nak(const OptionList& nak) {
  for (const Option& o : nak.options()) {
    if (o.type != ccp_mppe || o.value.size() != 4) {
      continue;
    }
    const std::uint32_t c = choose(read_u32(o.value));
    if (c == 0) {
      if (_policy == MppePolicy::require) {
        _failure = cause_encryption_required;
        return _failure;
      }
      _send_mppe = false;
    } else {
      // The client's choice of stateless mode stands for our direction too
      // (RFC 3078 §2.1 H bit is one setting per direction; one value is
      // kept for both in the data plane).
      _ours = (c & strength_bits) | (read_u32(o.value) & mppe_bit_h);
    }
  }
  return {};
}

std::string Ccp::on_reject(const OptionList& rej) {
  for (const Option& o : rej.options()) {
    if (o.type == ccp_mppe) {
      if (_policy == MppePolicy::require) {
        _failure = cause_encryption_required;
        return _failure;
      }
      _send_mppe = false;
    }
  }
  return {};
}

void Ccp::layer_up(Time) {
  const std::uint32_t tx = _send_mppe ? _tx_acked : 0;
  const auto rx_s = strength(_rx_agreed);
  const auto tx_s = strength(tx & strength_bits & _allowed);
  _bits.reset();
  if (!rx_s && !tx_s) {
    if (_policy == MppePolicy::require) {
      _failure = cause_encryption_required;
    }
    return;
  }
  if (!rx_s || !tx_s) {
    _failure = _policy == MppePolicy::require ? cause_encryption_required
                                              : "MPPE negotiated in one direction only";
    return;
  }
  if ((tx & strength_bit(*rx_s)) == 0) {
    _failure = "MPPE key lengths differ between the two directions";
    return;
  }
  _bits = rx_s;
  _stateless = (_rx_agreed & mppe_bit_h) != 0;
}

void Ccp::save(LinkSnapshot& s) const noexcept {
  s.mppe_policy = _policy;
  s.mppe_bits = 0;
  if (_bits) {
    s.mppe_bits = *_bits == crypto::MppeBits::b128  ? 128
                  : *_bits == crypto::MppeBits::b56 ? 56
                                                    : 40;
  }
  s.mppe_stateless = _bits && _stateless;
  s.ccp_id = _fsm.next_id();
}

void Ccp::restore(const LinkSnapshot& s) noexcept {
  configure(s.mppe_policy, true);
  _bits.reset();
  _stateless = false;
  const std::uint32_t bit = s.mppe_bits == 128  ? mppe_bit_s
                            : s.mppe_bits == 56 ? mppe_bit_m
                            : s.mppe_bits == 40 ? mppe_bit_l
                                                : 0;
  if (bit != 0) {
    const std::uint32_t chosen = bit | (s.mppe_stateless ? mppe_bit_h : 0);
    _ours = chosen;
    _tx_acked = chosen;
    _rx_agreed = chosen;
    _send_mppe = true;
    _bits = strength(chosen);
    _stateless = s.mppe_stateless;
  } else {
    _send_mppe = false;
  }
  _fsm.restore_opened(s.ccp_id);
}

void Ccp::layer_down() {
  _reset_id.reset();
  _reset_deadline.reset();
}

void Ccp::peer_refused(Time) {
  _refused = true;
  if (_policy == MppePolicy::require) {
    _failure = cause_encryption_required;
  }
}

void Ccp::send_reset(Time now) {
  _reset_id = _fsm.send_other(Code::reset_request, {});
  ++_reset_tries;
  _reset_deadline = now + _settings.timers.restart;
}

void Ccp::request_reset(Time now) {
  if (!_fsm.opened() || !_bits) {
    return;
  }
  // One outstanding request is enough: the client cannot tell several gaps
  // apart, and its next frame with the A bit resynchronises everything.
  if (_reset_id) {
    return;
  }
  _reset_tries = 0;
  send_reset(now);
}

void Ccp::tick(Time now) {
  _fsm.tick(now);
  if (!_reset_deadline || now < *_reset_deadline) {
    return;
  }
  // RFC 1962 §2.2: the Reset-Request is retransmitted until acknowledged.
  if (_fsm.opened() && _reset_tries < _settings.timers.max_configure) {
    send_reset(now);
  } else {
    _reset_id.reset();
    _reset_deadline.reset();
  }
}

std::optional<Time> Ccp::deadline() const noexcept {
  auto d = _fsm.deadline();
  if (_reset_deadline && (!d || *_reset_deadline < *d)) {
    d = _reset_deadline;
  }
  return d;
}

bool Ccp::other_code(Time, const Packet& p) {
  switch (static_cast<Code>(p.code)) {
    case Code::reset_request:
      if (_fsm.opened()) {
        _fsm.send(Code::reset_ack, p.id, p.data);
        _tx_reset = true;
      }
      return true;
    case Code::reset_ack:
      if (_reset_id && p.id == *_reset_id) {
        _reset_id.reset();
        _reset_deadline.reset();
      }
      return true;
    default:
      return false;
  }
}

}  // namespace l2tpgw::ppp
