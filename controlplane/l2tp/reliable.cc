#include "controlplane/l2tp/reliable.h"

#include <algorithm>

namespace l2tpgw::l2tp {

std::uint16_t built_message_type(std::span<const std::uint8_t> message) noexcept {
  // Message Type is the first AVP (§3.2): its value sits right after the
  // 12-byte header and the 6-byte AVP header.
  if (message.size() < control_header_len + avp_header_len + 2) {
    return 0;
  }
  const std::size_t at = control_header_len + avp_header_len;
  return static_cast<std::uint16_t>((message[at] << 8) | message[at + 1]);
}

std::vector<std::uint8_t> ReliableChannel::zlb() const {
  ControlMessage m;
  m.header = ControlHeader{_peer_tunnel_id, 0, _ns_next, _nr_expected};
  return build_control_message(m);
}

void ReliableChannel::transmit(Pending& p, ReliableOutput& out) {
  // §5.8: a retransmission keeps its Ns but carries the latest Nr, which
  // acknowledges whatever arrived since; so it also stands in for a ZLB.
  stamp_sequence(p.bytes, p.ns, _nr_expected);
  out.transmit.push_back(p.bytes);
  _ack_at.reset();
}

void ReliableChannel::fill_window(Instant now, ReliableOutput& out) {
  while (!_held.empty() && _unacked.size() < _peer_window) {
    _unacked.push_back(std::move(_held.front()));
    _held.pop_front();
    transmit(_unacked.back(), out);
    if (!_retransmit_at) {
      _retransmit_at = now + _timeout;
    }
  }
}

void ReliableChannel::send(std::vector<std::uint8_t> message, Instant now, ReliableOutput& out) {
  if (_failed) {
    return;
  }
  _held.push_back(Pending{std::move(message), _ns_next});
  ++_ns_next;
  fill_window(now, out);
}

void ReliableChannel::process_ack(std::uint16_t nr, Instant now, ReliableOutput& out) {
  // Nr beyond anything we sent acknowledges nothing real: ignore it rather
  // than drop messages the peer never saw.
  const std::uint16_t sent_end =
      _unacked.empty() ? _ns_next : static_cast<std::uint16_t>(_unacked.back().ns + 1);
  if (seq_before(sent_end, nr)) {
    return;
  }
  bool progressed = false;
  while (!_unacked.empty() && seq_before(_unacked.front().ns, nr)) {
    _unacked.pop_front();
    progressed = true;
  }
  if (progressed) {
    _retransmits = 0;
    _timeout = _cfg.initial_timeout;
    _retransmit_at.reset();
    if (!_unacked.empty()) {
      _retransmit_at = now + _timeout;
    }
    fill_window(now, out);
  }
}

ReliableChannel::Snapshot ReliableChannel::snapshot() const noexcept {
  Snapshot s;
  s.ns = !_unacked.empty() ? _unacked.front().ns : !_held.empty() ? _held.front().ns : _ns_next;
  s.nr = _nr_expected;
  s.peer_window = _peer_window;
  return s;
}

void ReliableChannel::restore(const Snapshot& s) noexcept {
  _unacked.clear();
  _held.clear();
  _reorder.clear();
  _ns_next = s.ns;
  _nr_expected = s.nr;
  set_peer_window(s.peer_window);
  _timeout = _cfg.initial_timeout;
  _retransmits = 0;
  _retransmit_at.reset();
  _ack_at.reset();
  _failed = false;
  _resync = true;
}

// A snapshot saved before our last messages or the peer's last ones were
// acknowledged is behind the peer: the peer would take our Ns as
// duplicates and we its Ns as ahead of a gap that never fills. True when
// what we sent had to be renumbered (and must go out again).
bool ReliableChannel::resync(const ControlMessage& msg) {
  if (!msg.zlb() && seq_before(_nr_expected, msg.header.ns)) {
    _nr_expected = msg.header.ns;
    _reorder.clear();
  }
  // An Nr up to our next Ns acknowledges what we sent; beyond it, numbers
  // of our previous life that the snapshot missed.
  if (!seq_before(_ns_next, msg.header.nr)) {
    return false;
  }
  std::uint16_t ns = msg.header.nr;
  for (Pending& p : _unacked) {
    p.ns = ns++;
  }
  for (Pending& p : _held) {
    p.ns = ns++;
  }
  _ns_next = ns;
  return !_unacked.empty();
}

Receipt ReliableChannel::on_receive(ControlMessage msg, Instant now, ReliableOutput& out) {
  if (!_resync) {
    return receive(std::move(msg), now, out);
  }
  // Those sent before: the window may open for held ones, sent anyway.
  const std::size_t renumbered = resync(msg) ? _unacked.size() : 0;
  const Receipt r = receive(std::move(msg), now, out);
  if (r == Receipt::delivered) {
    _resync = false;
  }
  if (renumbered > 0) {
    // The peer saw none of them under their new numbers.
    for (std::size_t i = 0; i < renumbered && i < _unacked.size(); ++i) {
      transmit(_unacked[i], out);
    }
    _retransmits = 0;
    _timeout = _cfg.initial_timeout;
    _retransmit_at = now + _timeout;
  }
  return r;
}

Receipt ReliableChannel::receive(ControlMessage msg, Instant now, ReliableOutput& out) {
  process_ack(msg.header.nr, now, out);
  if (msg.zlb()) {
    return Receipt::ack_only;
  }
  const std::uint16_t ns = msg.header.ns;
  if (ns == _nr_expected) {
    out.deliver.push_back(std::move(msg));
    ++_nr_expected;
    for (auto it = _reorder.find(_nr_expected); it != _reorder.end();
         it = _reorder.find(_nr_expected)) {
      out.deliver.push_back(std::move(it->second));
      _reorder.erase(it);
      ++_nr_expected;
    }
    if (!_ack_at) {
      _ack_at = now + _cfg.ack_delay;
    }
    return Receipt::delivered;
  }
  if (seq_before(ns, _nr_expected)) {
    // The peer retransmitted because our acknowledgement was lost: say it
    // again at once, and do not hand the message over twice (§5.8).
    out.transmit.push_back(zlb());
    _ack_at.reset();
    return Receipt::duplicate;
  }
  if (static_cast<std::uint16_t>(ns - _nr_expected) < _cfg.receive_window) {
    _reorder.emplace(ns, std::move(msg));
    return Receipt::queued;
  }
  return Receipt::outside_window;
}

void ReliableChannel::poll(Instant now, ReliableOutput& out) {
  if (_failed) {
    return;
  }
  if (_retransmit_at && now >= *_retransmit_at) {
    if (_retransmits >= _cfg.max_retransmits) {
      _failed = true;
      out.silent_on = built_message_type(_unacked.front().bytes);
      _retransmit_at.reset();
      _ack_at.reset();
      return;
    }
    ++_retransmits;
    for (Pending& p : _unacked) {
      transmit(p, out);
    }
    _timeout = std::min(_timeout * 2, _cfg.max_timeout);
    _retransmit_at = now + _timeout;
  }
  if (_ack_at && now >= *_ack_at) {
    out.transmit.push_back(zlb());
    _ack_at.reset();
  }
}

std::optional<Instant> ReliableChannel::next_deadline() const noexcept {
  if (_failed) {
    return std::nullopt;
  }
  if (_retransmit_at && _ack_at) {
    return std::min(*_retransmit_at, *_ack_at);
  }
  return _retransmit_at ? _retransmit_at : _ack_at;
}

}  // namespace l2tpgw::l2tp
