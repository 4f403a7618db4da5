// Deferred reuse of table slots after an RCU grace period: the one writer of
// a table retires a slot (with the hash key positions it held) once no
// lookup can return it any more, and gets it back when every worker has
// passed a quiescent state (rte_rcu_qsbr), so a worker holding the slot for
// the rest of its burst never sees it reused.
#pragma once

#include <rte_hash.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include <array>
#include <cstdint>
#include <deque>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

namespace l2tpgw {

// A fixed array of T allocated once at start, so no path allocates later,
// and the free list of its slots; the table's one writer owns it.
template <typename T>
class SlotPool {
 public:
  SlotPool(const char* name, std::uint32_t n, int socket) : _n(n) {
    _slots = static_cast<T*>(rte_zmalloc_socket(name, sizeof(T) * std::size_t{n}, 64, socket));
    if (_slots == nullptr) {
      throw std::runtime_error("cannot allocate " + std::to_string(n) + " slots of " + name);
    }
    _free.reserve(n);
    for (std::uint32_t i = n; i-- > 0;) {
      _free.push_back(i);
    }
  }
  ~SlotPool() { rte_free(_slots); }
  SlotPool(const SlotPool&) = delete;
  SlotPool& operator=(const SlotPool&) = delete;

  T& operator[](std::uint32_t slot) const noexcept { return _slots[slot]; }
  // Lock-free: the slot a hash of this pool maps key to, or nullptr.
  T* find(rte_hash* h, const void* key) const noexcept {
    void* data = nullptr;
    if (rte_hash_lookup_data(h, key, &data) < 0) {
      return nullptr;
    }
    return &_slots[static_cast<std::uint32_t>(reinterpret_cast<std::uintptr_t>(data))];
  }
  std::uint32_t size() const noexcept { return _n; }
  bool exhausted() const noexcept { return _free.empty(); }

  // A free slot holding a freshly built T. The caller has checked
  // exhausted(); a slot comes back here only when no worker can reach it.
  std::uint32_t take() {
    const std::uint32_t slot = _free.back();
    _free.pop_back();
    _slots[slot].~T();
    new (&_slots[slot]) T{};
    return slot;
  }
  void give_back(std::uint32_t slot) { _free.push_back(slot); }

 private:
  T* _slots;
  std::uint32_t _n;
  std::vector<std::uint32_t> _free;
};

// A hash key deleted in lock-free mode keeps its position reserved until
// the grace period ends too (rte_hash_free_key_with_position).
struct HashKeyPos {
  rte_hash* hash = nullptr;
  std::int32_t pos = -1;
};

class SlotReclaim {
 public:
  using KeyPos = HashKeyPos;

  explicit SlotReclaim(rte_rcu_qsbr* rcu) noexcept : _rcu(rcu) {}

  void retire(std::uint32_t slot, KeyPos a = {}, KeyPos b = {}, KeyPos c = {}) {
    _deferred.push_back({slot, {a, b, c}, rte_rcu_qsbr_start(_rcu)});
  }

  // Calls free_slot(slot) for every slot whose grace period has ended.
  template <typename FreeSlot>
  void reclaim(FreeSlot&& free_slot) {
    while (!_deferred.empty() && rte_rcu_qsbr_check(_rcu, _deferred.front().token, false) == 1) {
      const Deferred d = _deferred.front();
      _deferred.pop_front();
      for (const KeyPos& k : d.keys) {
        if (k.hash != nullptr && k.pos >= 0) {
          rte_hash_free_key_with_position(k.hash, k.pos);
        }
      }
      free_slot(d.slot);
    }
  }

 private:
  struct Deferred {
    std::uint32_t slot;
    std::array<KeyPos, 3> keys;
    std::uint64_t token;
  };

  rte_rcu_qsbr* _rcu;
  std::deque<Deferred> _deferred;
};

// A lock-free read/write rte_hash of `entries` keys of key_len bytes; throws
// std::runtime_error naming it when it cannot be made.
rte_hash* make_lf_hash(const char* name, std::uint32_t entries, std::uint32_t key_len, int socket);

// Wall-clock time for the directories' "installed" stamps.
std::uint64_t unix_now_ns() noexcept;

// Key data of the tables: a slot number.
inline void* slot_data(std::uint32_t slot) noexcept {
  return reinterpret_cast<void*>(std::uintptr_t{slot});
}
inline std::uint32_t data_slot(void* data) noexcept {
  return static_cast<std::uint32_t>(reinterpret_cast<std::uintptr_t>(data));
}

}  // namespace l2tpgw
