// Shared by the PPP tests: hex parsing, a scripted random source, a
// simulated clock.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <vector>

#include "controlplane/ppp/fsm.h"
#include "controlplane/ppp/random.h"
#include "tests/unit/crypto/crypto_test_util.h"

namespace l2tpgw::ppp::test {

using ::l2tpgw::crypto::test::hex;

inline std::string to_hex(std::span<const std::uint8_t> b) {
  static constexpr char d[] = "0123456789abcdef";
  std::string s;
  for (auto x : b) {
    s.push_back(d[x >> 4]);
    s.push_back(d[x & 15]);
  }
  return s;
}

// Bytes from a script, then a counter: every draw is known to the test.
class ScriptedRandom final : public Random {
 public:
  void push(std::span<const std::uint8_t> b) { _script.insert(_script.end(), b.begin(), b.end()); }
  void fill(std::span<std::uint8_t> out) override {
    for (auto& b : out) {
      if (!_script.empty()) {
        b = _script.front();
        _script.pop_front();
      } else {
        b = ++_counter;
      }
    }
  }

 private:
  std::deque<std::uint8_t> _script;
  std::uint8_t _counter = 0x40;
};

inline Time at(long ms) {
  return Time{} + std::chrono::milliseconds(ms);
}

}  // namespace l2tpgw::ppp::test
