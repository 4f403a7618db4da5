#include "controlplane/dp_channel.h"

#include <rte_ring.h>
#include <rte_ring_elem.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <thread>

namespace l2tpgw::cp {
namespace {

using Clock = std::chrono::steady_clock;

// Acks and events drained per ring access; punts are 2 KB each.
constexpr unsigned event_burst = 64;
constexpr unsigned punt_burst = 32;
// Commands in flight at once: far below the cmd ring, so that a big batch of
// static SAs leaves room for other producers' commands later.
constexpr std::size_t max_in_flight = 256;
// How long to sleep while waiting for acks: the data plane's main thread
// polls the cmd ring about every millisecond.
constexpr auto ack_poll = std::chrono::microseconds(200);

// Cookies from a new control-plane process must not match acks still queued
// for a previous one.
std::uint32_t first_cookie() {
  const auto t = static_cast<std::uint64_t>(Clock::now().time_since_epoch().count());
  return static_cast<std::uint32_t>(t ^ (t >> 32) ^ (static_cast<std::uint32_t>(getpid()) << 16));
}

}  // namespace

struct DpChannel::Pending {
  std::map<std::uint32_t, std::size_t> by_cookie;
  std::vector<std::optional<channel::Ack>> results;
};

DpChannel::DpChannel(channel::Segment seg, std::uint8_t tx_port)
    : _seg(std::move(seg)),
      _generation(_seg.header().generation),
      _tx_port(tx_port),
      _next_cookie(first_cookie()),
      _events(event_burst),
      _punts(punt_burst) {}

bool DpChannel::enqueue_cmd(channel::CtrlMsg& msg) {
  msg.hdr.version = channel::version;
  msg.hdr.cookie = _next_cookie;
  if (rte_ring_enqueue_elem(_seg.cmd_ring(), &msg, channel::ctrl_elem_size) != 0) {
    return false;
  }
  ++_next_cookie;
  return true;
}

// True when at least one awaited ack arrived.
bool DpChannel::collect_acks(Pending& p) {
  const unsigned n = rte_ring_dequeue_burst_elem(_seg.event_ring(), _events.data(),
                                                 channel::ctrl_elem_size, event_burst, nullptr);
  bool progress = false;
  for (unsigned i = 0; i < n; ++i) {
    const channel::CtrlMsg& m = _events[i];
    const auto it = m.hdr.type == channel::MsgType::ack ? p.by_cookie.find(m.hdr.cookie)
                                                        : p.by_cookie.end();
    if (it == p.by_cookie.end()) {
      if (_on_event) {
        _on_event(m);
      }
      continue;
    }
    p.results[it->second] = m.ack;
    p.by_cookie.erase(it);
    progress = true;
  }
  return progress;
}

std::vector<std::optional<channel::Ack>> DpChannel::call(std::vector<channel::CtrlMsg> cmds,
                                                         std::chrono::milliseconds timeout) {
  Pending p;
  p.results.resize(cmds.size());
  std::size_t next = 0;
  auto deadline = Clock::now() + timeout;
  while (next < cmds.size() || !p.by_cookie.empty()) {
    while (next < cmds.size() && p.by_cookie.size() < max_in_flight) {
      const std::uint32_t cookie = _next_cookie;
      if (!enqueue_cmd(cmds[next])) {
        break;
      }
      p.by_cookie.emplace(cookie, next++);
    }
    if (collect_acks(p)) {
      deadline = Clock::now() + timeout;
    } else if (Clock::now() >= deadline) {
      break;
    } else {
      std::this_thread::sleep_for(ack_poll);
    }
  }
  return std::move(p.results);
}

std::optional<channel::Ack> DpChannel::call(const channel::CtrlMsg& cmd,
                                            std::chrono::milliseconds timeout) {
  return call(std::vector<channel::CtrlMsg>{cmd}, timeout).front();
}

std::size_t DpChannel::poll_events() {
  const unsigned n = rte_ring_dequeue_burst_elem(_seg.event_ring(), _events.data(),
                                                 channel::ctrl_elem_size, event_burst, nullptr);
  for (unsigned i = 0; i < n; ++i) {
    if (_on_event) {
      _on_event(_events[i]);
    }
  }
  return n;
}

std::size_t DpChannel::poll_punts(const PuntHandler& on_punt) {
  const unsigned n = rte_ring_dequeue_burst_elem(_seg.punt_ring(), _punts.data(),
                                                 channel::packet_elem_size, punt_burst, nullptr);
  for (unsigned i = 0; i < n; ++i) {
    on_punt(_punts[i]);
  }
  return n;
}

bool DpChannel::send_packet(std::span<const std::uint8_t> ipv4_packet,
                            std::optional<SaRef> via_sa) {
  return send_packet(ipv4_packet, via_sa, _tx_port) == SendResult::queued;
}

DpChannel::SendResult DpChannel::send_packet(std::span<const std::uint8_t> ipv4_packet,
                                             std::optional<SaRef> via_sa, std::uint8_t port) {
  if (ipv4_packet.empty() || ipv4_packet.size() > channel::max_packet) {
    return SendResult::too_big;
  }
  // The ring element is sized for the largest message (a PuntMsg).
  alignas(8) std::uint8_t elem[channel::packet_elem_size]{};
  auto* tx = new (elem) channel::TxMsg{};
  tx->hdr = {channel::version, channel::MsgType::tx, _next_cookie++};
  tx->port = port;
  tx->via_sa = via_sa ? 1 : 0;
  tx->len = static_cast<std::uint16_t>(ipv4_packet.size());
  tx->sa_spi = via_sa ? via_sa->spi : 0;
  tx->peer_addr = via_sa ? via_sa->peer_addr : 0;
  std::memcpy(tx->data, ipv4_packet.data(), ipv4_packet.size());
  return rte_ring_enqueue_elem(_seg.tx_ring(), elem, channel::packet_elem_size) == 0
             ? SendResult::queued
             : SendResult::ring_full;
}

}  // namespace l2tpgw::cp
