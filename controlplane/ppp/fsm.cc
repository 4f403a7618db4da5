#include "controlplane/ppp/fsm.h"

#include <algorithm>

namespace l2tpgw::ppp {

void Outbox::send(std::uint16_t protocol, std::span<const std::uint8_t> packet) {
  Bytes f;
  f.reserve(4 + packet.size());
  f.push_back(0xff);
  f.push_back(0x03);
  f.push_back(static_cast<std::uint8_t>(protocol >> 8));
  f.push_back(static_cast<std::uint8_t>(protocol));
  f.insert(f.end(), packet.begin(), packet.end());
  frames.push_back(std::move(f));
}

const char* state_name(FsmState s) noexcept {
  switch (s) {
    case FsmState::initial:
      return "Initial";
    case FsmState::starting:
      return "Starting";
    case FsmState::closed:
      return "Closed";
    case FsmState::stopped:
      return "Stopped";
    case FsmState::closing:
      return "Closing";
    case FsmState::stopping:
      return "Stopping";
    case FsmState::req_sent:
      return "Req-Sent";
    case FsmState::ack_rcvd:
      return "Ack-Rcvd";
    case FsmState::ack_sent:
      return "Ack-Sent";
    case FsmState::opened:
      return "Opened";
  }
  return "unknown";
}

Fsm::Fsm(std::uint16_t protocol, const char* name, FsmPolicy& policy, const FsmTimers& timers,
         Outbox& out, Counters& counters)
    : _protocol(protocol),
      _name(name),
      _policy(policy),
      _timers(timers),
      _out(out),
      _counters(counters) {
}

void Fsm::set_cause(std::string_view c) {
  // The first cause is the one the operator needs; later ones are effects.
  if (_cause.empty()) {
    _cause = c;
  }
}

void Fsm::send(Code code, std::uint8_t id, std::span<const std::uint8_t> data) {
  _out.send(_protocol, build_packet(code, id, data));
}

std::uint8_t Fsm::send_other(Code code, std::span<const std::uint8_t> data) {
  const std::uint8_t id = _next_id++;
  send(code, id, data);
  return id;
}

void Fsm::scr(Time now) {
  _req_options.clear();
  _policy.build_request(_req_options);
  _req_id = _next_id++;
  send(Code::configure_request, _req_id, _req_options);
  if (_restart > 0) {
    --_restart;
  }
  _deadline = now + _timers.restart;
}

void Fsm::str(Time now) {
  _term_id = _next_id++;
  send(Code::terminate_request, _term_id, {});
  if (_restart > 0) {
    --_restart;
  }
  _deadline = now + _timers.restart;
}

void Fsm::sta(std::uint8_t id) {
  send(Code::terminate_ack, id, {});
}

void Fsm::tlu(Time now) {
  _deadline.reset();
  _naks_received = 0;
  _policy.layer_up(now);
}

void Fsm::tld() {
  _policy.layer_down();
}

void Fsm::tlf() {
  _deadline.reset();
  _finished = true;
  _policy.layer_finished();
}

void Fsm::to_closed_or_stopped(FsmState s) {
  _state = s;
  tlf();
}

void Fsm::up(Time now) {
  switch (_state) {
    case FsmState::initial:
      _state = FsmState::closed;
      break;
    case FsmState::starting:
      send_first_request(now);
      break;
    default:
      break;
  }
}

void Fsm::down() {
  switch (_state) {
    case FsmState::closed:
    case FsmState::closing:
      _state = FsmState::initial;
      break;
    case FsmState::opened:
      tld();
      _state = FsmState::starting;
      break;
    case FsmState::stopped:
    case FsmState::stopping:
    case FsmState::req_sent:
    case FsmState::ack_rcvd:
    case FsmState::ack_sent:
      _state = FsmState::starting;
      break;
    default:
      break;
  }
  _deadline.reset();
}

void Fsm::open(Time now) {
  switch (_state) {
    case FsmState::initial:
      _state = FsmState::starting;
      break;
    case FsmState::closed:
      send_first_request(now);
      break;
    case FsmState::closing:
      _state = FsmState::stopping;
      break;
    default:
      break;
  }
}

void Fsm::close(Time now, std::string_view cause) {
  set_cause(cause);
  switch (_state) {
    case FsmState::starting:
      _state = FsmState::initial;
      tlf();
      break;
    case FsmState::stopped:
      _state = FsmState::closed;
      break;
    case FsmState::stopping:
      _state = FsmState::closing;
      break;
    case FsmState::opened:
      tld();
      [[fallthrough]];
    case FsmState::req_sent:
    case FsmState::ack_rcvd:
    case FsmState::ack_sent:
      irc_terminate();
      str(now);
      _state = FsmState::closing;
      break;
    default:
      break;
  }
}

void Fsm::assume_opened(Time now) {
  if (_state != FsmState::initial && _state != FsmState::starting) {
    return;
  }
  _state = FsmState::opened;
  tlu(now);
}

void Fsm::fail(Time now, std::string_view cause) {
  close(now, cause);
}

void Fsm::tick(Time now) {
  if (!_deadline || now < *_deadline) {
    return;
  }
  _deadline.reset();
  const bool more = _restart > 0;
  switch (_state) {
    case FsmState::closing:
    case FsmState::stopping:
      if (more) {
        str(now);
      } else {
        to_closed_or_stopped(_state == FsmState::closing ? FsmState::closed : FsmState::stopped);
      }
      break;
    case FsmState::req_sent:
    case FsmState::ack_rcvd:
    case FsmState::ack_sent:
      if (more) {
        scr(now);
        if (_state == FsmState::ack_rcvd) {
          _state = FsmState::req_sent;
        }
      } else {
        // RFC 1661 §4.6 Max-Configure: the peer is not answering.
        set_cause(std::string("no answer to ") + _name + " Configure-Request after " +
                  std::to_string(_timers.max_configure) + " tries");
        to_closed_or_stopped(FsmState::stopped);
      }
      break;
    default:
      break;
  }
}

void Fsm::input(Time now, std::span<const std::uint8_t> bytes) {
  const PacketParse pp = parse_packet(bytes);
  if (!pp.ok()) {
    _counters.add(to_counter(pp.error));
    return;
  }
  const Packet& p = pp.packet;
  // RFC 1661 §4.2: packets received in Initial or Starting are silently
  // discarded (there is no lower layer to answer on).
  if (_state == FsmState::initial || _state == FsmState::starting) {
    return;
  }
  switch (static_cast<Code>(p.code)) {
    case Code::configure_request:
      rcr(now, p);
      return;
    case Code::configure_ack:
      rca(now, p);
      return;
    case Code::configure_nak:
      rcn(now, p, false);
      return;
    case Code::configure_reject:
      rcn(now, p, true);
      return;
    case Code::terminate_request:
      rtr(now, p);
      return;
    case Code::terminate_ack:
      rta(now);
      return;
    case Code::code_reject: {
      // RFC 1661 §5.6: a rejected Code the automaton needs is catastrophic.
      const std::uint8_t rejected = p.data.empty() ? 0 : p.data[0];
      const bool catastrophic = rejected >= 1 && rejected <= 7;
      rxj(now, catastrophic,
          std::string("peer rejected ") + _name + " code " + std::to_string(rejected));
      return;
    }
    default:
      break;
  }
  if (_policy.other_code(now, p)) {
    return;
  }
  // RFC 1661 §5.6: the rejected packet follows, truncated to what fits in
  // the peer's MRU; 1500 less our header is always safe for control traffic.
  _counters.add(Counter::code_reject_sent);
  const std::size_t keep = std::min<std::size_t>(bytes.size(), 1400);
  send(Code::code_reject, _next_id++, bytes.first(keep));
}

void Fsm::rcr(Time now, const Packet& p) {
  const OptionList opts = parse_options(p.data);
  if (!opts.ok()) {
    // A request we cannot parse is neither acceptable nor Nak-able: count it
    // and let the peer's restart timer try again.
    _counters.add(to_counter(opts.error));
    return;
  }
  if (_state == FsmState::closed || _state == FsmState::stopped) {
    if (_state == FsmState::closed) {
      sta(p.id);
      return;
    }
    // Stopped (RFC 1661 §4.2): restart negotiation on the peer's request.
    irc_configure();
    scr(now);
  } else if (_state == FsmState::closing || _state == FsmState::stopping) {
    return;
  } else if (_state == FsmState::opened) {
    tld();
    scr(now);
  }
  Bytes nak;
  Bytes reject;
  _policy.check_request(opts, nak, reject);
  bool good = nak.empty() && reject.empty();
  Code reply = Code::configure_ack;
  std::span<const std::uint8_t> data = p.data;
  Bytes converted;
  if (!reject.empty()) {
    reply = Code::configure_reject;
    data = reject;
  } else if (!nak.empty()) {
    if (_naks_sent >= _timers.max_failure) {
      // RFC 1661 §4.6 Max-Failure: "Configure-Reject packets are sent
      // instead" of Configure-Naks that are not converging: reject the
      // options we kept Nak'ing, as the peer sent them.
      const OptionList nak_opts = parse_options(nak);
      for (const Option& o : opts.options()) {
        for (const Option& n : nak_opts.options()) {
          if (n.type == o.type) {
            append_option_raw(converted, o);
            break;
          }
        }
      }
      _counters.add(Counter::nak_to_reject);
      if (converted.empty()) {
        fail(now, std::string("peer will not accept our ") + _name + " Configure-Nak");
        return;
      }
      reply = Code::configure_reject;
      data = converted;
    } else {
      ++_naks_sent;
      reply = Code::configure_nak;
      data = nak;
    }
  }
  if (good) {
    _naks_sent = 0;
  }
  send(reply, p.id, data);
  switch (_state) {
    case FsmState::stopped:
    case FsmState::req_sent:
    case FsmState::opened:
      _state = good ? FsmState::ack_sent : FsmState::req_sent;
      break;
    case FsmState::ack_rcvd:
      if (good) {
        _state = FsmState::opened;
        tlu(now);
      }
      break;
    case FsmState::ack_sent:
      if (!good) {
        _state = FsmState::req_sent;
      }
      break;
    default:
      break;
  }
}

bool Fsm::answers_our_request(const Packet& p) {
  if (_state == FsmState::closed || _state == FsmState::stopped) {
    sta(p.id);
    return false;
  }
  if (_state == FsmState::closing || _state == FsmState::stopping) {
    return false;
  }
  // RFC 1661 §5.2, §5.3, §5.4: an Ack, Nak or Reject must answer our last
  // request.
  if (p.id != _req_id) {
    _counters.add(Counter::bad_identifier);
    return false;
  }
  return true;
}

void Fsm::send_first_request(Time now) {
  irc_configure();
  scr(now);
  _state = FsmState::req_sent;
}

void Fsm::renegotiate(Time now) {
  tld();
  scr(now);
  _state = FsmState::req_sent;
}

void Fsm::rca(Time now, const Packet& p) {
  if (!answers_our_request(p)) {
    return;
  }
  // RFC 1661 §5.2: an Ack repeats the request it answers.
  if (!std::equal(p.data.begin(), p.data.end(), _req_options.begin(), _req_options.end())) {
    _counters.add(Counter::ack_mismatch);
    return;
  }
  _naks_received = 0;
  switch (_state) {
    case FsmState::req_sent:
      // The restart timer runs on in Ack-Rcvd (§4.2): should the peer's
      // own request be lost, ours goes again.
      _policy.on_ack(parse_options(p.data));
      irc_configure();
      _state = FsmState::ack_rcvd;
      break;
    case FsmState::ack_rcvd:
      // A crossed or duplicated Ack (§4.3): start over.
      scr(now);
      _state = FsmState::req_sent;
      break;
    case FsmState::ack_sent:
      _policy.on_ack(parse_options(p.data));
      irc_configure();
      _state = FsmState::opened;
      tlu(now);
      break;
    case FsmState::opened:
      renegotiate(now);
      break;
    default:
      break;
  }
}

void Fsm::rcn(Time now, const Packet& p, bool reject) {
  if (!answers_our_request(p)) {
    return;
  }
  const OptionList opts = parse_options(p.data);
  if (!opts.ok()) {
    _counters.add(to_counter(opts.error));
    return;
  }
  if (++_naks_received > _timers.max_naks_received) {
    _counters.add(Counter::endless_naks);
    fail(now, std::string("peer sent endless ") + _name +
                  (reject ? " Configure-Rejects" : " Configure-Naks"));
    return;
  }
  const std::string failure = reject ? _policy.on_reject(opts) : _policy.on_nak(opts);
  if (!failure.empty()) {
    fail(now, failure);
    return;
  }
  switch (_state) {
    case FsmState::req_sent:
    case FsmState::ack_sent:
      irc_configure();
      scr(now);
      break;
    case FsmState::ack_rcvd:
      scr(now);
      _state = FsmState::req_sent;
      break;
    case FsmState::opened:
      renegotiate(now);
      break;
    default:
      break;
  }
}

void Fsm::rtr(Time now, const Packet& p) {
  switch (_state) {
    case FsmState::req_sent:
    case FsmState::ack_rcvd:
    case FsmState::ack_sent:
      sta(p.id);
      _state = FsmState::req_sent;
      break;
    case FsmState::opened:
      set_cause(std::string("peer sent ") + _name + " Terminate-Request");
      tld();
      _restart = 0;
      sta(p.id);
      _state = FsmState::stopping;
      // RFC 1661 §4.6 zrc: wait one restart period for the peer to see the
      // Ack before finishing.
      _deadline = now + _timers.restart;
      break;
    default:
      sta(p.id);
      break;
  }
}

void Fsm::rta(Time now) {
  switch (_state) {
    case FsmState::closing:
      to_closed_or_stopped(FsmState::closed);
      break;
    case FsmState::stopping:
      to_closed_or_stopped(FsmState::stopped);
      break;
    case FsmState::ack_rcvd:
      _state = FsmState::req_sent;
      break;
    case FsmState::opened:
      renegotiate(now);
      break;
    default:
      break;
  }
}

void Fsm::rxj(Time now, bool catastrophic, std::string_view what) {
  if (!catastrophic) {
    if (_state == FsmState::ack_rcvd) {
      _state = FsmState::req_sent;
    }
    return;
  }
  set_cause(what);
  switch (_state) {
    case FsmState::closed:
    case FsmState::stopped:
      tlf();
      _state = FsmState::closed;
      break;
    case FsmState::closing:
      to_closed_or_stopped(FsmState::closed);
      break;
    case FsmState::stopping:
    case FsmState::req_sent:
    case FsmState::ack_rcvd:
    case FsmState::ack_sent:
      to_closed_or_stopped(FsmState::stopped);
      break;
    case FsmState::opened:
      tld();
      irc_terminate();
      str(now);
      _state = FsmState::stopping;
      break;
    default:
      break;
  }
}

}  // namespace l2tpgw::ppp
