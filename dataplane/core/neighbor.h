// IPv4 → MAC for one port: static entries from the config plus what ARP
// teaches. Written by one thread (the worker that receives on the port),
// read lock-free by every worker that sends through it.
//
// Direct-mapped: one entry per hash bucket, a learned entry evicts another
// learned one on collision. The next hops of a gateway are a handful of
// routers and on-link peers, so 1024 buckets rarely collide; a static entry
// is never evicted.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>

#include "dataplane/wire/headers.h"

namespace l2tpgw {

class NeighborTable {
 public:
  static constexpr unsigned buckets = 1024;

  bool lookup(std::uint32_t addr, wire::Mac& out) const noexcept {
    const Entry& e = _e[bucket(addr)];
    if (e.addr.load(std::memory_order_acquire) != addr || addr == 0) {
      return false;
    }
    const std::uint64_t v = e.mac.load(std::memory_order_acquire);
    // An entry rewritten under us shows a changed address: treat as a miss.
    if (e.addr.load(std::memory_order_relaxed) != addr || !(v & valid_bit)) {
      return false;
    }
    unpack(v, out);
    return true;
  }

  void learn(std::uint32_t addr, const wire::Mac& mac) noexcept { store(addr, mac, false); }
  void add_static(std::uint32_t addr, const wire::Mac& mac) noexcept { store(addr, mac, true); }

  // True at most once per interval per bucket: whether to send an ARP request.
  bool should_request(std::uint32_t addr, std::uint64_t now, std::uint64_t interval) noexcept {
    Entry& e = _e[bucket(addr)];
    std::uint64_t last = e.last_request.load(std::memory_order_relaxed);
    if (now - last < interval && last != 0) {
      return false;
    }
    return e.last_request.compare_exchange_strong(last, now, std::memory_order_relaxed);
  }

 private:
  static constexpr std::uint64_t valid_bit = 1ull << 62;
  static constexpr std::uint64_t static_bit = 1ull << 63;

  struct Entry {
    std::atomic<std::uint32_t> addr{0};
    std::atomic<std::uint64_t> mac{0};
    std::atomic<std::uint64_t> last_request{0};
  };

  static unsigned bucket(std::uint32_t addr) noexcept {
    return (addr * 2654435761u) >> 22;  // Knuth's multiplicative hash, top 10 bits
  }
  static std::uint64_t pack(const wire::Mac& m, bool is_static) noexcept {
    std::uint64_t v = 0;
    std::memcpy(&v, m.data(), 6);
    return v | valid_bit | (is_static ? static_bit : 0);
  }
  static void unpack(std::uint64_t v, wire::Mac& m) noexcept { std::memcpy(m.data(), &v, 6); }

  void store(std::uint32_t addr, const wire::Mac& mac, bool is_static) noexcept {
    Entry& e = _e[bucket(addr)];
    const std::uint64_t cur = e.mac.load(std::memory_order_relaxed);
    const std::uint32_t cur_addr = e.addr.load(std::memory_order_relaxed);
    if ((cur & static_bit) && !is_static) {
      return;  // configured entries win over anything ARP says
    }
    if (cur_addr != addr) {
      e.addr.store(0, std::memory_order_release);
    }
    e.mac.store(pack(mac, is_static), std::memory_order_release);
    e.addr.store(addr, std::memory_order_release);
  }

  Entry _e[buckets];
};

static_assert(NeighborTable::buckets == 1u << 10);

}  // namespace l2tpgw
