// Where challenges and magic numbers come from: the operating system's
// CSPRNG in the process, a fixed sequence in tests.
#pragma once

#include <cstdint>
#include <span>

namespace l2tpgw::ppp {

class Random {
 public:
  virtual ~Random() = default;
  virtual void fill(std::span<std::uint8_t> out) = 0;

  std::uint32_t u32() {
    std::uint8_t b[4];
    fill(b);
    return std::uint32_t{b[0]} << 24 | std::uint32_t{b[1]} << 16 | std::uint32_t{b[2]} << 8 | b[3];
  }
};

// OpenSSL's RAND_bytes; aborts when the CSPRNG fails, since a predictable
// CHAP challenge would let a recorded response be replayed.
class OsRandom final : public Random {
 public:
  void fill(std::span<std::uint8_t> out) override;
};

}  // namespace l2tpgw::ppp
