// IPv6 → MAC for one port, learnt by Neighbor Discovery (RFC 4861): the
// NeighborTable of IPv4 (neighbor.h) for 16-byte addresses. Written by one
// thread (the worker that receives on the port), read lock-free by every
// worker that sends through it; direct-mapped, one entry per bucket.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>

#include "dataplane/wire/headers.h"
#include "dataplane/wire/ipv6.h"

namespace l2tpgw {

class Neighbor6Table {
 public:
  static constexpr unsigned buckets = 1024;

  bool lookup(const wire::Ipv6Addr& addr, wire::Mac& out) const noexcept {
    const auto [hi, lo] = halves(addr);
    const Entry& e = _e[bucket(lo)];
    if (e.hi.load(std::memory_order_acquire) != hi || e.lo.load(std::memory_order_acquire) != lo) {
      return false;
    }
    const std::uint64_t v = e.mac.load(std::memory_order_acquire);
    // An entry rewritten under us shows another address: treat as a miss.
    if (e.hi.load(std::memory_order_relaxed) != hi || e.lo.load(std::memory_order_relaxed) != lo ||
        !(v & valid_bit)) {
      return false;
    }
    std::memcpy(out.data(), &v, 6);
    return true;
  }

  void learn(const wire::Ipv6Addr& addr, const wire::Mac& mac) noexcept { store(addr, mac, false); }
  void add_static(const wire::Ipv6Addr& addr, const wire::Mac& mac) noexcept { store(addr, mac, true); }

  // True at most once per interval per bucket: whether to send a solicitation.
  bool should_request(const wire::Ipv6Addr& addr, std::uint64_t now, std::uint64_t interval) noexcept {
    Entry& e = _e[bucket(halves(addr).lo)];
    std::uint64_t last = e.last_request.load(std::memory_order_relaxed);
    if (now - last < interval && last != 0) {
      return false;
    }
    return e.last_request.compare_exchange_strong(last, now, std::memory_order_relaxed);
  }

 private:
  static constexpr std::uint64_t valid_bit = 1ull << 62;
  static constexpr std::uint64_t static_bit = 1ull << 63;

  void store(const wire::Ipv6Addr& addr, const wire::Mac& mac, bool is_static) noexcept {
    const auto [hi, lo] = halves(addr);
    Entry& e = _e[bucket(lo)];
    if ((e.mac.load(std::memory_order_relaxed) & static_bit) && !is_static) {
      return;  // configured entries win over anything NDP says
    }
    // Invalidate first: a reader between the stores sees a miss, never the
    // new MAC under the old address.
    if (e.hi.load(std::memory_order_relaxed) != hi || e.lo.load(std::memory_order_relaxed) != lo) {
      e.hi.store(0, std::memory_order_release);
    }
    std::uint64_t v = 0;
    std::memcpy(&v, mac.data(), 6);
    e.mac.store(v | valid_bit | (is_static ? static_bit : 0), std::memory_order_release);
    e.lo.store(lo, std::memory_order_release);
    e.hi.store(hi, std::memory_order_release);
  }

  struct Halves {
    std::uint64_t hi;
    std::uint64_t lo;
  };
  struct Entry {
    std::atomic<std::uint64_t> hi{0};
    std::atomic<std::uint64_t> lo{0};
    std::atomic<std::uint64_t> mac{0};
    std::atomic<std::uint64_t> last_request{0};
  };

  static Halves halves(const wire::Ipv6Addr& a) noexcept {
    Halves h;
    std::memcpy(&h.hi, a.data(), 8);
    std::memcpy(&h.lo, a.data() + 8, 8);
    return h;
  }
  // The interface identifier varies most among on-link neighbours.
  static unsigned bucket(std::uint64_t lo) noexcept {
    return static_cast<unsigned>((lo * 0x9e3779b97f4a7c15ull) >> 54);  // top 10 bits
  }

  Entry _e[buckets];
};

static_assert(Neighbor6Table::buckets == 1u << 10);

}  // namespace l2tpgw
