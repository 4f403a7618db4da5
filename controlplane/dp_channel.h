// The control plane's end of the shared segment: commands with their acks,
// events, punted packets and packets to transmit. Single-threaded: the
// control plane is the only producer of the cmd and tx rings and the only
// consumer of the event and punt rings.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "dataplane/channel/segment.h"

namespace l2tpgw::cp {

// An outbound SA by the pair the data plane looks it up with.
struct SaRef {
  std::uint32_t spi;
  std::uint32_t peer_addr;  // host order
};

class DpChannel {
 public:
  using EventHandler = std::function<void(const channel::CtrlMsg&)>;
  using PuntHandler = std::function<void(const channel::PuntMsg&)>;

  // tx_port: the data plane's index of the outside port.
  DpChannel(channel::Segment seg, std::uint8_t tx_port);

  const channel::Segment& segment() const noexcept { return _seg; }
  std::uint64_t generation() const noexcept { return _generation; }

  // Events that are not the ack of a command being waited for.
  void set_event_handler(EventHandler h) { _on_event = std::move(h); }

  // Sends the commands (version and cookie filled in here) and waits for
  // their acks while dispatching other events. A command gets nullopt when
  // no ack came within `timeout` of the last ack received (or of the start),
  // so a long batch is not cut short while the data plane makes progress.
  std::vector<std::optional<channel::Ack>> call(std::vector<channel::CtrlMsg> cmds,
                                                std::chrono::milliseconds timeout);
  std::optional<channel::Ack> call(const channel::CtrlMsg& cmd, std::chrono::milliseconds timeout);

  std::size_t poll_events();
  std::size_t poll_punts(const PuntHandler& on_punt);

  enum class SendResult : std::uint8_t { queued, too_big, ring_full };

  // A whole IPv4 packet from the gateway's address, sent out of the outside
  // port, protected by the outbound SA via_sa when given. False when it does
  // not fit a message or the tx ring is full.
  bool send_packet(std::span<const std::uint8_t> ipv4_packet, std::optional<SaRef> via_sa);
  // The same out of the port of that index (the data plane's numbering, as
  // in the segment's port names); only the outside port has outbound SAs.
  SendResult send_packet(std::span<const std::uint8_t> ipv4_packet, std::optional<SaRef> via_sa,
                         std::uint8_t port);
  std::uint8_t tx_port() const noexcept { return _tx_port; }

 private:
  struct Pending;
  bool enqueue_cmd(channel::CtrlMsg& msg);
  bool collect_acks(Pending& p);

  channel::Segment _seg;
  std::uint64_t _generation;
  std::uint8_t _tx_port;
  std::uint32_t _next_cookie;
  EventHandler _on_event;
  std::vector<channel::CtrlMsg> _events;
  std::vector<channel::PuntMsg> _punts;
};

}  // namespace l2tpgw::cp
