#include "dataplane/wire/checksum.h"

#include <cstring>

namespace l2tpgw::wire {

std::uint32_t csum_partial(std::span<const std::uint8_t> data, std::uint32_t sum) noexcept {
  // 64-bit accumulator over 32-bit loads: a carry can only overflow after
  // 2^32 words, far beyond any packet.
  std::uint64_t acc = sum;
  const std::uint8_t* p = data.data();
  std::size_t n = data.size();
  while (n >= 4) {
    std::uint32_t w;
    std::memcpy(&w, p, 4);
    acc += byteswap(w);
    p += 4;
    n -= 4;
  }
  if (n >= 2) {
    acc += static_cast<std::uint32_t>(p[0]) << 8 | p[1];
    p += 2;
    n -= 2;
  }
  if (n == 1) {
    acc += static_cast<std::uint32_t>(p[0]) << 8;
  }
  while (acc >> 32) {
    acc = (acc & 0xffffffffu) + (acc >> 32);
  }
  // Fold 32 → 16 bits twice so the result fits the caller's uint32_t sums.
  std::uint32_t s = static_cast<std::uint32_t>((acc & 0xffff) + ((acc >> 16) & 0xffff));
  s = (s & 0xffff) + (s >> 16);
  return s;
}

}  // namespace l2tpgw::wire
