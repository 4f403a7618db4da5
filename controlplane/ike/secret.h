// Byte buffers for key material: wiped with OPENSSL_cleanse when freed, so
// SKEYIDs, KEYMAT and DH secrets do not linger in released heap memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <vector>

namespace l2tpgw::ike {

void wipe(void* p, std::size_t n) noexcept;

template <typename T>
struct WipingAllocator {
  using value_type = T;
  WipingAllocator() noexcept = default;
  template <typename U>
  WipingAllocator(const WipingAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T))); }
  void deallocate(T* p, std::size_t n) noexcept {
    wipe(p, n * sizeof(T));
    ::operator delete(p);
  }
  template <typename U>
  bool operator==(const WipingAllocator<U>&) const noexcept {
    return true;
  }
};

using SecretBytes = std::vector<std::uint8_t, WipingAllocator<std::uint8_t>>;

}  // namespace l2tpgw::ike
