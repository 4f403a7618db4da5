// Big-endian wire integers: the byte order is part of the type, so a field
// read off the wire cannot be compared with a host value without a visible
// conversion.
#pragma once

#include <bit>
#include <cstdint>

namespace l2tpgw::wire {

template <typename T>
constexpr T byteswap(T v) noexcept {
  if constexpr (sizeof(T) == 1) {
    return v;
  } else if constexpr (sizeof(T) == 2) {
    return static_cast<T>(__builtin_bswap16(v));
  } else if constexpr (sizeof(T) == 4) {
    return static_cast<T>(__builtin_bswap32(v));
  } else {
    return static_cast<T>(__builtin_bswap64(v));
  }
}

// Packed: alignment 1, so a header overlaid at any offset (an inner IPv4
// header behind a 3-byte PPP header, say) reads its fields without
// undefined behaviour.
template <typename T>
struct [[gnu::packed]] Be {
  T raw;  // network order, as on the wire

  static constexpr Be from_host(T v) noexcept { return Be{to_net(v)}; }
  constexpr T host() const noexcept { return to_net(raw); }
  constexpr bool operator==(const Be&) const noexcept = default;

 private:
  static constexpr T to_net(T v) noexcept {
    if constexpr (std::endian::native == std::endian::little) {
      return byteswap(v);
    } else {
      return v;
    }
  }
};

using Be16 = Be<std::uint16_t>;
using Be32 = Be<std::uint32_t>;
using Be64 = Be<std::uint64_t>;

static_assert(sizeof(Be16) == 2 && sizeof(Be32) == 4 && sizeof(Be64) == 8);
static_assert(alignof(Be16) == 1 && alignof(Be32) == 1 && alignof(Be64) == 1);

}  // namespace l2tpgw::wire
