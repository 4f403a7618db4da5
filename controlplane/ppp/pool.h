// An IPv4 address pool over one inclusive range: allocate, reserve a given
// address (a client's request or a user's static address inside the range),
// release; each O(1). Free offsets are kept in an array with a position
// index, so a reserved address leaves the free list by swap-remove.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace l2tpgw::ppp {

class AddressPool {
 public:
  // first..last inclusive, host order; an empty pool when last < first.
  AddressPool(std::uint32_t first, std::uint32_t last);

  std::optional<std::uint32_t> allocate() noexcept;
  // Takes `addr` out of the free list; false when outside or in use.
  bool reserve(std::uint32_t addr) noexcept;
  // False when outside the range or not in use (a double release).
  bool release(std::uint32_t addr) noexcept;

  bool contains(std::uint32_t addr) const noexcept {
    return addr >= _first && addr - _first < _size;
  }
  bool in_use(std::uint32_t addr) const noexcept;
  std::uint32_t size() const noexcept { return _size; }
  std::uint32_t free_count() const noexcept { return static_cast<std::uint32_t>(_free.size()); }

 private:
  static constexpr std::uint32_t not_free = UINT32_MAX;

  void take(std::uint32_t off) noexcept;

  std::uint32_t _first;
  std::uint32_t _size;
  std::vector<std::uint32_t> _free;  // offsets; allocate() takes the back
  std::vector<std::uint32_t> _pos;   // offset → index in _free, or not_free
};

// Dotted quad of a host-order address, for the lines that name one.
std::string ipv4_text(std::uint32_t host_order);

}  // namespace l2tpgw::ppp
