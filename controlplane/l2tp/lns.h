// The LNS: every tunnel of the gateway, keyed by (peer address, peer port,
// our Tunnel ID). It takes the UDP payloads of L2TP control messages that
// the data plane punted, with their source and the inbound SA they came
// through, and returns the packets to send, the events for the session
// tables and PPP, and the log lines. No sockets, threads or clock reads:
// the caller passes the time and calls poll() by next_deadline().
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "controlplane/l2tp/counters.h"
#include "controlplane/l2tp/lns_config.h"
#include "controlplane/l2tp/output.h"
#include "controlplane/l2tp/tunnel.h"

namespace l2tpgw::l2tp {

class Lns {
 public:
  explicit Lns(LnsConfig cfg, RandomSource random = system_random());
  Lns(const Lns&) = delete;
  Lns& operator=(const Lns&) = delete;

  // One UDP payload sent to our port 1701 by from.
  void on_packet(std::span<const std::uint8_t> udp_payload, const Endpoint& from, Instant now,
                 LnsOutput& out);
  // Runs the timers that are due: retransmissions, ZLB acks, HELLOs, the
  // end of the hold after a StopCCN; removes finished tunnels.
  void poll(Instant now, LnsOutput& out);
  std::optional<Instant> next_deadline() const;

  // Operator or PPP-initiated teardown. False when no such tunnel/session.
  bool close_session(std::uint16_t tunnel_id, std::uint16_t session_id, const ResultCode& rc,
                     Instant now, LnsOutput& out);
  bool close_tunnel(std::uint16_t tunnel_id, const ResultCode& rc, Instant now, LnsOutput& out);
  // Ends a tunnel without a message to the peer (Tunnel::abandon).
  bool abandon_tunnel(std::uint16_t tunnel_id, CloseCause cause, const std::string& why,
                      LnsOutput& out);
  // IKE rekey: tunnels of peer addr that use inbound SA `from` use `to`.
  void move_spi(std::uint32_t addr, std::uint32_t from, std::uint32_t to) noexcept;
  // The live tunnels of peer addr carried by inbound SA spi.
  std::vector<std::uint16_t> tunnels_on(std::uint32_t addr, std::uint32_t spi) const;

  const LnsCounters& counters() const noexcept { return _counters; }
  std::size_t tunnel_count() const noexcept { return _tunnels.size(); }
  std::size_t session_count() const noexcept { return _total_sessions; }
  const Tunnel* find_tunnel(std::uint16_t tunnel_id) const;
  // Every tunnel, for the operator's listing.
  std::vector<const Tunnel*> tunnels() const;
  const LnsConfig& config() const noexcept { return _cfg; }

  // After a control-plane restart: the tunnel as it was, established, with
  // the sessions in it. Empty when done, else why not (an id in use, ids of
  // zero); nothing changes then.
  std::string restore_tunnel(const TunnelSnapshot& snapshot);
  // Raised whenever what the tunnels' snapshots hold changes in substance.
  std::uint64_t state_version() const noexcept { return _version; }

 private:
  struct Key {
    std::uint32_t addr = 0;
    std::uint16_t port = 0;
    std::uint16_t tunnel_id = 0;
    auto operator<=>(const Key&) const = default;
  };

  void on_sccrq(ControlMessage msg, const Endpoint& from, Instant now, LnsOutput& out);
  void refuse_sccrq(const ControlMessage& msg, const Endpoint& from, std::uint16_t result,
                    std::uint16_t error, LnsCounter why, const char* text, LnsOutput& out);
  void log_malformed(const MessageParse& p, const Endpoint& from, LnsOutput& out) const;
  std::optional<std::uint16_t> allocate_tunnel_id();
  bool plain_allowed(std::uint32_t addr) const noexcept;
  bool session_elsewhere(std::uint32_t addr, std::uint16_t except, std::uint16_t session) const;
  void remove_finished();

  LnsConfig _cfg;
  RandomSource _random;
  LnsCounters _counters;
  std::size_t _total_sessions = 0;
  std::uint64_t _version = 0;
  LnsShared _shared;
  std::map<Key, std::unique_ptr<Tunnel>> _tunnels;
  std::unordered_map<std::uint16_t, Key> _by_id;
  // (peer address, peer port, peer's Assigned Tunnel ID) → our id: finds the
  // tunnel a retransmitted SCCRQ (Tunnel ID 0) belongs to.
  std::map<Key, std::uint16_t> _by_peer_tunnel;
  std::map<std::uint32_t, std::size_t> _per_peer;  // tunnels per peer address
  std::uint16_t _next_tunnel_id = 1;
  Instant _next_plain_log{};
};

}  // namespace l2tpgw::l2tp
