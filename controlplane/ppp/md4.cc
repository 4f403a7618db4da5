#include "controlplane/ppp/md4.h"

#include <bit>
#include <cstring>

namespace l2tpgw::ppp {
namespace {

std::uint32_t load_le32(const std::uint8_t* p) noexcept {
  return std::uint32_t{p[0]} | std::uint32_t{p[1]} << 8 | std::uint32_t{p[2]} << 16 |
         std::uint32_t{p[3]} << 24;
}

// RFC 1320 §3.4: the three rounds over one 64-byte block.
void block(std::uint32_t h[4], const std::uint8_t* p) noexcept {
  std::uint32_t x[16];
  for (int i = 0; i < 16; ++i) {
    x[i] = load_le32(p + 4 * i);
  }
  std::uint32_t a = h[0];
  std::uint32_t b = h[1];
  std::uint32_t c = h[2];
  std::uint32_t d = h[3];
  auto f = [](std::uint32_t x1, std::uint32_t y, std::uint32_t z) { return (x1 & y) | (~x1 & z); };
  auto g = [](std::uint32_t x1, std::uint32_t y, std::uint32_t z) {
    return (x1 & y) | (x1 & z) | (y & z);
  };
  auto hh = [](std::uint32_t x1, std::uint32_t y, std::uint32_t z) { return x1 ^ y ^ z; };
  // Each round is sixteen steps a = (a + fn(b,c,d) + X[k] + K) <<< s with
  // (a,b,c,d) rotating; only fn, the word order, K and the shifts differ.
  auto run_round = [&](auto fn, const int (&order)[16], std::uint32_t k, const int (&shift)[4]) {
    for (int i = 0; i < 16; ++i) {
      const std::uint32_t t = std::rotl(a + fn(b, c, d) + x[order[i]] + k, shift[i % 4]);
      a = d;
      d = c;
      c = b;
      b = t;
    }
  };
  constexpr int o1[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  constexpr int o2[16] = {0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15};
  constexpr int o3[16] = {0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15};
  run_round(f, o1, 0, {3, 7, 11, 19});
  run_round(g, o2, 0x5a827999u, {3, 5, 9, 13});
  run_round(hh, o3, 0x6ed9eba1u, {3, 9, 11, 15});
  h[0] += a;
  h[1] += b;
  h[2] += c;
  h[3] += d;
}

}  // namespace

std::array<std::uint8_t, 16> md4(std::span<const std::uint8_t> data) noexcept {
  std::uint32_t h[4] = {0x67452301u, 0xefcdab89u, 0x98badcfeu, 0x10325476u};
  std::size_t off = 0;
  for (; data.size() - off >= 64; off += 64) {
    block(h, data.data() + off);
  }
  // RFC 1320 §3.1, §3.2: a 1 bit, zeros to 56 mod 64, the bit length.
  std::uint8_t tail[128] = {};
  const std::size_t rest = data.size() - off;
  if (rest > 0) {
    std::memcpy(tail, data.data() + off, rest);
  }
  tail[rest] = 0x80;
  const std::size_t tail_len = rest < 56 ? 64 : 128;
  const std::uint64_t bits = static_cast<std::uint64_t>(data.size()) * 8;
  for (int i = 0; i < 8; ++i) {
    tail[tail_len - 8 + i] = static_cast<std::uint8_t>(bits >> (8 * i));
  }
  for (std::size_t o = 0; o < tail_len; o += 64) {
    block(h, tail + o);
  }
  std::array<std::uint8_t, 16> out{};
  for (int i = 0; i < 4; ++i) {
    for (int j = 0; j < 4; ++j) {
      out[4 * i + j] = static_cast<std::uint8_t>(h[i] >> (8 * j));
    }
  }
  return out;
}

}  // namespace l2tpgw::ppp
