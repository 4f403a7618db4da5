// What every worker shares (read-only after start) and what each worker owns.
#pragma once

#include <rte_mbuf.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "dataplane/channel/counters.h"
#include "dataplane/channel/messages.h"
#include "dataplane/channel/segment.h"
#include "dataplane/config/config.h"
#include "dataplane/core/neighbor.h"
#include "dataplane/core/neighbor6.h"
#include "dataplane/core/sa_table.h"
#include "dataplane/core/session_table.h"
#include "dataplane/crypto/esp_crypto.h"

struct rte_rcu_qsbr;
struct rte_ip_frag_tbl;

namespace l2tpgw {

// Packets handled per RX call and per crypto submission: 32 keeps a burst's
// mbuf headers (32 × 128 B) and its jobs in L1 while giving IPsec-MB enough
// lanes to fill (AVX-512 CBC runs 16 buffers at once).
inline constexpr unsigned burst_size = 32;

struct PortInfo {
  std::uint16_t port_id = 0;
  std::uint8_t index = 0;  // position in Runtime::ports and in the counters
  PortRole role = PortRole::outside;
  std::uint32_t addr = 0;
  Ipv4Prefix net;
  std::optional<std::uint32_t> gateway;
  wire::Mac mac{};
  std::uint16_t mtu = 1500;
  unsigned rx_worker = 0;
  std::shared_ptr<NeighborTable> neighbors;
  // IPv6 (inside port only): our address, its prefix, the next hop for
  // everything off-link, and what NDP has taught.
  bool has_v6 = false;
  wire::Ipv6Addr addr6{};
  Ipv6Prefix net6;
  std::optional<wire::Ipv6Addr> gateway6;
  wire::Ipv6Addr solicited6{};  // our solicited-node group (RFC 4291 §2.7.1)
  std::shared_ptr<Neighbor6Table> neighbors6;
};

struct Runtime {
  std::vector<PortInfo> ports;
  int outside = -1;  // index into ports
  int inside = -1;
  SaTable* sas = nullptr;
  SessionTable* sessions = nullptr;
  channel::Segment* seg = nullptr;
  rte_mempool* pool = nullptr;
  rte_rcu_qsbr* rcu = nullptr;
  DataplaneConfig cfg;
  std::uint64_t tsc_hz = 0;
  bool wait_cp = false;
  std::atomic<bool> stop{false};

  const PortInfo& outside_port() const noexcept { return ports[static_cast<unsigned>(outside)]; }
};

// A token bucket in TSC units, on the worker loop's clock: `rate` tokens a
// second, at most `burst` saved up.
class TokenBucket {
 public:
  TokenBucket() = default;
  TokenBucket(std::uint64_t tsc_hz, std::uint64_t rate, std::uint64_t burst, std::uint64_t now) noexcept
      : _cycles_per_token(tsc_hz / (rate == 0 ? 1 : rate)),
        _cap(_cycles_per_token * burst),
        _tokens(_cap),
        _last(now) {}

  bool take(std::uint64_t now) noexcept {
    _tokens = std::min(_cap, _tokens + (now - _last));
    _last = now;
    if (_tokens < _cycles_per_token) {
      return false;
    }
    _tokens -= _cycles_per_token;
    return true;
  }

 private:
  std::uint64_t _cycles_per_token = 0;
  std::uint64_t _cap = 0;
  std::uint64_t _tokens = 0;  // tokens × cycles-per-token
  std::uint64_t _last = 0;
};

// Packets queued for one port by one worker, sent in one tx burst.
struct TxBuffer {
  rte_mbuf* pkts[burst_size * 2];
  unsigned n = 0;
};

class WorkerCtx {
 public:
  WorkerCtx(const Runtime& rt, unsigned index);

  const Runtime& rt;
  const unsigned index;
  WorkerCounters& ctr;
  std::span<SaCounters> sa_ctr;
  std::span<SessionCounters> session_ctr;
  crypto::MgrPtr mgr;
  crypto::IvSource iv;

  // Counts m under its reason; it is freed with the burst's other drops in
  // one rte_pktmbuf_free_bulk.
  void drop(rte_mbuf* m, Drop why) noexcept {
    ++ctr.drops[static_cast<unsigned>(why)];
    _dead[_n_dead++] = m;
    if (_n_dead == std::size(_dead)) {
      free_dead();
    }
  }
  // Queue for transmission; flushes when the buffer is full.
  void send(const PortInfo& port, rte_mbuf* m) noexcept;
  void flush() noexcept;

  // Punt and ICMP-error rate limiting, on the loop's TSC.
  bool take_punt_token() noexcept { return _punt_bucket.take(_now); }
  bool take_icmp_token() noexcept { return _icmp_bucket.take(_now); }
  void set_now(std::uint64_t tsc) noexcept { _now = tsc; }
  std::uint64_t now() const noexcept { return _now; }
  channel::PuntMsg& punt_msg() noexcept { return _punt; }

  // Messages taken from the control plane's tx ring per call: control
  // traffic is light and each message is 2 KB of copying; 8 keeps a
  // worker's pause for them short.
  static constexpr unsigned tx_batch = 8;
  std::span<channel::TxMsg, tx_batch> tx_msgs() noexcept { return _tx_msgs; }

 private:
  void flush_port(unsigned p) noexcept;
  void free_dead() noexcept;

  TxBuffer _tx[channel::max_ports];
  TokenBucket _punt_bucket;
  TokenBucket _icmp_bucket;
  std::uint64_t _now = 0;
  rte_mbuf* _dead[burst_size * 2];
  unsigned _n_dead = 0;
  channel::PuntMsg _punt{};
  std::array<channel::TxMsg, tx_batch> _tx_msgs{};
};

}  // namespace l2tpgw
