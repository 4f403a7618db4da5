// Reliable delivery of control messages over one control connection
// (RFC 2661 §5.8): Ns/Nr sequencing, the peer's receive window, retransmission
// with exponential back-off, ZLB acknowledgements, duplicate and
// out-of-order handling. Time is passed in; nothing here reads a clock.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <vector>

#include "controlplane/l2tp/message.h"

namespace l2tpgw::l2tp {

using Duration = std::chrono::milliseconds;
using Instant = std::chrono::time_point<std::chrono::steady_clock, Duration>;

// §5.8 sequence numbers wrap at 2^16: a is before b when b - a, taken modulo
// 2^16, lies in the upper half-space's complement (serial arithmetic).
constexpr bool seq_before(std::uint16_t a, std::uint16_t b) noexcept {
  return static_cast<std::int16_t>(static_cast<std::uint16_t>(a - b)) < 0;
}

struct ReliableConfig {
  // §5.8: the first retransmission after 1 s, doubling, capped at no less
  // than 8 s.
  Duration initial_timeout{1000};
  Duration max_timeout{8000};
  // Retransmissions of one message before the peer is declared silent.
  unsigned max_retransmits = 5;
  // §5.8 recommends a short wait for a message to piggy-back the ack on
  // before sending a ZLB; a quarter of the initial timeout keeps the peer's
  // timer from firing.
  Duration ack_delay{250};
  // The window we advertise: how far ahead of the next expected Ns a
  // message is still held for in-order delivery.
  std::uint16_t receive_window = 16;
};

// What one call asks the caller to do.
struct ReliableOutput {
  std::vector<std::vector<std::uint8_t>> transmit;  // UDP payloads, in order
  std::vector<ControlMessage> deliver;              // new messages, in Ns order
  // Set once: the peer never acknowledged a message of this type after
  // max_retransmits retransmissions.
  std::optional<std::uint16_t> silent_on;
};

enum class Receipt : std::uint8_t {
  delivered,       // in order, handed over (with any queued successors)
  queued,          // ahead of a gap, held until the gap fills
  duplicate,       // already delivered: acknowledged again, not delivered twice
  outside_window,  // too far ahead: dropped, the peer will retransmit
  ack_only,        // a ZLB
};

class ReliableChannel {
 public:
  explicit ReliableChannel(const ReliableConfig& cfg) : _cfg(cfg), _timeout(cfg.initial_timeout) {}

  // The Tunnel ID put in our ZLBs (the peer's Assigned Tunnel ID).
  void set_peer_tunnel_id(std::uint16_t id) noexcept { _peer_tunnel_id = id; }
  // §5.8: from the peer's Receive Window Size AVP; 4 when it sent none.
  void set_peer_window(std::uint16_t w) noexcept { _peer_window = w == 0 ? 1 : w; }

  // A built control message (not a ZLB): it takes the next Ns, carries the
  // current Nr, and is sent now or when the peer's window opens.
  void send(std::vector<std::uint8_t> message, Instant now, ReliableOutput& out);
  // A message from the peer whose header was parsed.
  Receipt on_receive(ControlMessage msg, Instant now, ReliableOutput& out);
  // Fires the retransmission and ZLB timers that are due.
  void poll(Instant now, ReliableOutput& out);

  std::optional<Instant> next_deadline() const noexcept;
  // Nothing sent is waiting for an acknowledgement.
  bool all_acked() const noexcept { return _unacked.empty() && _held.empty(); }
  bool failed() const noexcept { return _failed; }

  std::uint16_t next_ns() const noexcept { return _ns_next; }
  std::uint16_t expected_ns() const noexcept { return _nr_expected; }
  std::size_t in_flight() const noexcept { return _unacked.size(); }
  std::size_t held() const noexcept { return _held.size(); }
  unsigned retransmits() const noexcept { return _retransmits; }

  // State across a control-plane restart: the Ns the peer expects next
  // (our first message it has not acknowledged), the Nr we expect, and
  // the peer's window. Messages in flight are not kept.
  struct Snapshot {
    std::uint16_t ns = 0;
    std::uint16_t nr = 0;
    std::uint16_t peer_window = 4;
  };
  Snapshot snapshot() const noexcept;
  // A channel rebuilt from a snapshot, which may be a few messages behind
  // the peer: until a message from the peer is delivered, its Ns ahead of
  // the Nr we expect is taken as ours to expect, and its Nr ahead of our
  // next Ns renumbers what we send from there (resynchronisation).
  void restore(const Snapshot& s) noexcept;
  bool resyncing() const noexcept { return _resync; }

 private:
  struct Pending {
    std::vector<std::uint8_t> bytes;
    std::uint16_t ns = 0;
  };

  void transmit(Pending& p, ReliableOutput& out);
  void process_ack(std::uint16_t nr, Instant now, ReliableOutput& out);
  void fill_window(Instant now, ReliableOutput& out);
  bool resync(const ControlMessage& msg);
  Receipt receive(ControlMessage msg, Instant now, ReliableOutput& out);
  std::vector<std::uint8_t> zlb() const;

  ReliableConfig _cfg;
  std::deque<Pending> _unacked;                      // sent, in Ns order
  std::deque<Pending> _held;                         // waiting for the peer's window
  std::map<std::uint16_t, ControlMessage> _reorder;  // by Ns, all ahead of _nr_expected
  std::uint16_t _ns_next = 0;
  std::uint16_t _nr_expected = 0;
  std::uint16_t _peer_window = 4;
  std::uint16_t _peer_tunnel_id = 0;
  Duration _timeout;
  unsigned _retransmits = 0;
  std::optional<Instant> _retransmit_at;
  std::optional<Instant> _ack_at;
  bool _failed = false;
  bool _resync = false;  // restored, no message of the peer delivered yet
};

// The message type of a built message (0 for a ZLB).
std::uint16_t built_message_type(std::span<const std::uint8_t> message) noexcept;

}  // namespace l2tpgw::l2tp
