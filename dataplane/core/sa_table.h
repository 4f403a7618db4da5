// The SA tables: one writer (the data plane's main thread, applying the
// control plane's commands), many lock-free readers (the workers).
//
// SAs live in a fixed array of slots allocated at start. Inbound SAs are
// identified and found by SPI (we chose it), outbound ones by SPI and peer
// (the peer chose the SPI: two peers may pick the same), each through an
// rte_hash in lock-free read/write mode that maps the key to a slot. A second
// index maps a peer address to its newest outbound transport-mode SA, for
// traffic that knows only the address (replies to the peer itself). A slot replaced or
// deleted is reused only after every worker has passed a quiescent state
// (rte_rcu_qsbr), so a worker that found it in the middle of a burst never
// reads freed or reused state.
//
// Outbound tunnel-mode SAs are also routes: an rte_lpm maps each SA's
// peer_net to the newest SA for it, so the inside finds the SA for a
// destination by longest prefix. Its tbl8 groups are freed through the same
// quiescent states.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <vector>

#include "dataplane/channel/messages.h"
#include "dataplane/channel/segment.h"
#include "dataplane/core/anti_replay.h"
#include "dataplane/core/slot_reclaim.h"
#include "dataplane/crypto/esp_crypto.h"

struct rte_hash;
struct rte_lpm;
struct rte_rcu_qsbr;

namespace l2tpgw {

// Lifetime events raised once per SA, as bits of SaState::events_raised.
enum : std::uint32_t {
  event_soft_bytes = 1u << 0,
  event_hard_bytes = 1u << 1,
  event_soft_packets = 1u << 2,
  event_hard_packets = 1u << 3,
};

struct alignas(64) SaState {
  // Set at installation, read-only afterwards.
  crypto::SaKeys keys;
  channel::SaParams params;  // key fields wiped
  std::uint32_t slot;
  std::uint8_t hdr_len;  // outbound: UDP (if encapsulated) + ESP header + IV
  // Outbound: the largest ESP payload whose packet fits the outside port's
  // MTU (wire/tunnel_mtu.h); a session's tunnel MTU is this less its own
  // headers.
  std::uint16_t max_payload;

  // Inbound only; written by the one worker that owns the outside port.
  alignas(64) ReplayWindow replay;

  // Shared by the workers that send through the SA or receive on it.
  alignas(64) std::atomic<std::uint64_t> seq_out;  // last sequence number sent
  std::atomic<std::uint64_t> life_packets;
  std::atomic<std::uint64_t> life_bytes;
  std::atomic<std::uint32_t> events_raised;
  std::atomic<bool> hard_expired;
};

class SaTable {
 public:
  // link_mtu: the outside port's MTU, which every outbound ESP packet must fit.
  SaTable(channel::Segment& seg, rte_rcu_qsbr* rcu, std::uint32_t max_sas, int socket, unsigned link_mtu);
  ~SaTable();
  SaTable(const SaTable&) = delete;
  SaTable& operator=(const SaTable&) = delete;

  // Workers: lock-free lookups; nullptr when absent.
  SaState* find_inbound(std::uint32_t spi) const noexcept;
  SaState* find_outbound(std::uint32_t spi, std::uint32_t peer_addr) const noexcept;
  // The newest outbound transport-mode SA toward an address.
  SaState* find_outbound(std::uint32_t peer_addr) const noexcept;
  // The outbound tunnel-mode SA whose peer_net holds dst (longest prefix).
  SaState* find_tunnel(std::uint32_t dst) const noexcept;
  // Whether any tunnel-mode route exists: the inside skips the lookup if not.
  bool has_tunnels() const noexcept { return _tunnel_routes_n.load(std::memory_order_relaxed) != 0; }
  SaState& at(std::uint32_t slot) const noexcept { return _slots[slot]; }

  // Main thread only.
  channel::Ack add(const channel::SaParams& p);
  channel::Ack del(channel::Direction dir, std::uint32_t spi, std::uint32_t peer_addr);
  // Frees slots whose grace period has ended; call regularly.
  void reclaim();
  std::uint32_t in_use() const noexcept { return _in_use; }

 private:
  // The primary index of an SA and its key: SPI inbound, (SPI, peer) outbound.
  rte_hash* primary(channel::Direction dir) const noexcept;
  static std::uint64_t key_of(channel::Direction dir, std::uint32_t spi, std::uint32_t peer) noexcept;
  void publish_dir(std::uint32_t slot, const channel::SaParams* p);
  // Drops slot from the by-peer index if it is there; the key position.
  SlotReclaim::KeyPos unlink_by_peer(std::uint32_t slot);
  void retire(std::uint32_t slot, SlotReclaim::KeyPos primary_key);
  // Tunnel routes: slot becomes the newest SA for its peer_net (false when
  // the route table cannot be made or is full), or leaves it (the route
  // then goes to the newest one left, or away).
  bool route_tunnel(std::uint32_t slot);
  void unroute_tunnel(std::uint32_t slot);

  channel::Segment& _seg;
  rte_rcu_qsbr* _rcu;
  SlotPool<SaState> _slots;
  rte_hash* _in_by_spi;       // u32 SPI
  rte_hash* _out_by_spi;      // u64 peer << 32 | SPI
  rte_hash* _out_by_peer;     // u32 peer address → newest outbound transport SA
  // peer_net of outbound tunnel SAs → newest slot. Made with the first
  // tunnel SA: its 64 MB of tbl24 are not spent on a gateway without any.
  std::atomic<rte_lpm*> _tunnel_routes{nullptr};
  // Main thread only: every outbound tunnel SA of each peer_net (address
  // << 8 | length), oldest first.
  std::map<std::uint64_t, std::vector<std::uint32_t>> _tunnel_slots;
  std::atomic<std::uint32_t> _tunnel_routes_n{0};  // _tunnel_slots.size(), for the workers
  crypto::MgrPtr _mgr;  // for key schedules at installation
  SlotReclaim _reclaim;
  std::uint32_t _in_use = 0;
  unsigned _link_mtu;
};

bool sa_params_valid(const channel::SaParams& p) noexcept;

}  // namespace l2tpgw
