#include "controlplane/ppp/pool.h"

namespace l2tpgw::ppp {

AddressPool::AddressPool(std::uint32_t first, std::uint32_t last)
    : _first(first), _size(last >= first ? last - first + 1 : 0) {
  _free.resize(_size);
  _pos.resize(_size);
  // Reversed so that allocate() hands out the lowest address first: easier
  // for an operator to read.
  for (std::uint32_t i = 0; i < _size; ++i) {
    _free[i] = _size - 1 - i;
    _pos[_size - 1 - i] = i;
  }
}

void AddressPool::take(std::uint32_t off) noexcept {
  const std::uint32_t idx = _pos[off];
  const std::uint32_t last = _free.back();
  _free[idx] = last;
  _pos[last] = idx;
  _free.pop_back();
  _pos[off] = not_free;
}

std::optional<std::uint32_t> AddressPool::allocate() noexcept {
  if (_free.empty()) {
    return std::nullopt;
  }
  const std::uint32_t off = _free.back();
  take(off);
  return _first + off;
}

bool AddressPool::in_use(std::uint32_t addr) const noexcept {
  return contains(addr) && _pos[addr - _first] == not_free;
}

bool AddressPool::reserve(std::uint32_t addr) noexcept {
  if (!contains(addr) || _pos[addr - _first] == not_free) {
    return false;
  }
  take(addr - _first);
  return true;
}

bool AddressPool::release(std::uint32_t addr) noexcept {
  if (!in_use(addr)) {
    return false;
  }
  const std::uint32_t off = addr - _first;
  _pos[off] = static_cast<std::uint32_t>(_free.size());
  _free.push_back(off);
  return true;
}

std::string ipv4_text(std::uint32_t a) {
  return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 255) + "." +
         std::to_string((a >> 8) & 255) + "." + std::to_string(a & 255);
}

}  // namespace l2tpgw::ppp
