// The option-negotiation automaton of RFC 1661 §4, shared by LCP, IPCP and
// CCP. What is specific to a protocol (which options to request, how to
// judge the peer's) is a FsmPolicy; the automaton owns the states, the
// Identifiers, the restart timer and its counters. It reads no clock: every
// call that may start or expire the timer takes `now`, and the owner calls
// tick() at deadline().
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "controlplane/ppp/counters.h"
#include "controlplane/ppp/options.h"

namespace l2tpgw::ppp {

using Clock = std::chrono::steady_clock;
using Time = Clock::time_point;
using Duration = std::chrono::milliseconds;

// Control packets to send, each a complete PPP frame with FF 03 and a
// 2-byte Protocol: a peer must accept that form before LCP has negotiated
// ACFC/PFC, and LCP always uses it (RFC 1661 §6.5, §6.6).
struct Outbox {
  std::vector<Bytes> frames;

  void send(std::uint16_t protocol, std::span<const std::uint8_t> packet);
};

// RFC 1661 §4.6 defaults, except the restart interval: 3 s is the RFC's
// value, kept.
struct FsmTimers {
  Duration restart{3000};
  unsigned max_configure = 10;
  unsigned max_terminate = 2;
  unsigned max_failure = 5;
  // Not in the RFC: each Nak from the peer makes us send a new request with
  // a fresh restart counter, so a peer that never stops Nak'ing would keep
  // the link in negotiation forever.
  unsigned max_naks_received = 10;
};

enum class FsmState : std::uint8_t {
  initial,
  starting,
  closed,
  stopped,
  closing,
  stopping,
  req_sent,
  ack_rcvd,
  ack_sent,
  opened,
};

const char* state_name(FsmState s) noexcept;

class FsmPolicy {
 public:
  virtual ~FsmPolicy() = default;

  // Our Configure-Request options, as they are now.
  virtual void build_request(Bytes& options) = 0;
  // Judges the peer's Configure-Request: options to Nak (with the values we
  // want) go to `nak`, options to Reject (verbatim) to `reject`; both empty
  // means Ack. The policy records the values it accepts: the last request
  // judged before the layer opens is the one in force.
  virtual void check_request(const OptionList& request, Bytes& nak, Bytes& reject) = 0;
  // The peer acknowledged our request as sent.
  virtual void on_ack(const OptionList&) {}
  // The peer Nak'ed or Rejected some of our options: adjust the next
  // request. A non-empty result is a failure cause: the layer closes.
  virtual std::string on_nak(const OptionList& nak) = 0;
  virtual std::string on_reject(const OptionList& reject) = 0;
  // The This-Layer-* actions of RFC 1661 §4.4.
  virtual void layer_up(Time) {}
  virtual void layer_down() {}
  virtual void layer_finished() {}
  // Codes past 7 (LCP Echo, Discard, Protocol-Reject; CCP Reset): true when
  // handled, false to answer Code-Reject.
  virtual bool other_code(Time, const Packet&) { return false; }
};

class Fsm {
 public:
  Fsm(std::uint16_t protocol, const char* name, FsmPolicy& policy, const FsmTimers& timers,
      Outbox& out, Counters& counters);

  // RFC 1661 §4.1 events from below and from administration.
  void up(Time now);
  void down();
  void open(Time now);
  void close(Time now, std::string_view cause);
  // RFC 2661 §4.4.5 proxy LCP: the LAC negotiated with the peer and this
  // side takes the result as its own, opening without sending anything.
  void assume_opened(Time now);
  // A control-plane restart: the layer was Opened and stays so, with the
  // Identifiers going on from next_id; nothing is sent and no This-Layer-Up
  // runs (the policy restores what it agreed itself).
  void restore_opened(std::uint8_t next_id) noexcept {
    _state = FsmState::opened;
    _next_id = next_id;
    _deadline.reset();
    _finished = false;
  }
  std::uint8_t next_id() const noexcept { return _next_id; }
  // One control packet, without the PPP header.
  void input(Time now, std::span<const std::uint8_t> packet);
  void tick(Time now);

  // Sends a packet with the next Identifier (Echo, Reset-Request...).
  std::uint8_t send_other(Code code, std::span<const std::uint8_t> data);
  void send(Code code, std::uint8_t id, std::span<const std::uint8_t> data);

  FsmState state() const noexcept { return _state; }
  bool opened() const noexcept { return _state == FsmState::opened; }
  // Finished: Closed or Stopped after having been started.
  bool finished() const noexcept { return _finished; }
  std::optional<Time> deadline() const noexcept { return _deadline; }
  // Why the layer closed or stopped, for the operator; empty if it did not.
  const std::string& cause() const noexcept { return _cause; }
  std::uint16_t protocol() const noexcept { return _protocol; }
  const char* name() const noexcept { return _name; }

 private:
  void set_cause(std::string_view c);
  void irc_configure() noexcept { _restart = _timers.max_configure; }
  void irc_terminate() noexcept { _restart = _timers.max_terminate; }
  void scr(Time now);
  void str(Time now);
  void sta(std::uint8_t id);
  void tlu(Time now);
  void tld();
  void tlf();
  void to_closed_or_stopped(FsmState s);
  void rcr(Time now, const Packet& p);
  // The part of RCA and RCN that does not depend on the code: false when the
  // state or the identifier means the reply is not acted on.
  bool answers_our_request(const Packet& p);
  // RFC 1661 §4.1 "irc,scr/6": the restart counter set, a request sent.
  void send_first_request(Time now);
  // Opened, then an Ack, Nak or Terminate-Ack: This-Layer-Down and start over.
  void renegotiate(Time now);
  void rca(Time now, const Packet& p);
  void rcn(Time now, const Packet& p, bool reject);
  void rtr(Time now, const Packet& p);
  void rta(Time now);
  void rxj(Time now, bool catastrophic, std::string_view what);
  void fail(Time now, std::string_view cause);

  std::uint16_t _protocol;
  const char* _name;
  FsmPolicy& _policy;
  const FsmTimers& _timers;
  Outbox& _out;
  Counters& _counters;
  FsmState _state = FsmState::initial;
  std::optional<Time> _deadline;
  unsigned _restart = 0;
  unsigned _naks_sent = 0;      // since our last Configure-Ack (Max-Failure)
  unsigned _naks_received = 0;  // since our last request was acknowledged
  std::uint8_t _next_id = 1;
  std::uint8_t _req_id = 0;
  Bytes _req_options;  // the options of our last Configure-Request
  std::uint8_t _term_id = 0;
  bool _finished = false;
  std::string _cause;
};

}  // namespace l2tpgw::ppp
