// The SA tables: one writer (the data plane's main thread, applying the
// control plane's commands), many lock-free readers (the workers).
//
// SAs live in a fixed array of slots allocated at start. Inbound SAs are
// identified and found by SPI (we chose it), outbound ones by SPI and peer
// (the peer chose the SPI: two peers may pick the same), each through an
// rte_hash in lock-free read/write mode that maps the key to a slot. A second
// index maps a peer address to its newest outbound SA, for traffic that
// knows only the address (replies to the peer itself). A slot replaced or
// deleted is reused only after every worker has passed a quiescent state
// (rte_rcu_qsbr), so a worker that found it in the middle of a burst never
// reads freed or reused state.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "dataplane/channel/messages.h"
#include "dataplane/channel/segment.h"
#include "dataplane/core/anti_replay.h"
#include "dataplane/core/slot_reclaim.h"
#include "dataplane/crypto/esp_crypto.h"

struct rte_hash;
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
  // The newest outbound SA toward an address.
  SaState* find_outbound(std::uint32_t peer_addr) const noexcept;
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

  channel::Segment& _seg;
  rte_rcu_qsbr* _rcu;
  SlotPool<SaState> _slots;
  rte_hash* _in_by_spi;       // u32 SPI
  rte_hash* _out_by_spi;      // u64 peer << 32 | SPI
  rte_hash* _out_by_peer;     // u32 peer address → newest outbound SA
  crypto::MgrPtr _mgr;  // for key schedules at installation
  SlotReclaim _reclaim;
  std::uint32_t _in_use = 0;
  unsigned _link_mtu;
};

bool sa_params_valid(const channel::SaParams& p) noexcept;

}  // namespace l2tpgw
