// Shared by the PPP tests: hex parsing, a scripted random source, a
// simulated clock.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "controlplane/ppp/fsm.h"
#include "controlplane/ppp/random.h"

namespace l2tpgw::ppp::test {

inline std::vector<std::uint8_t> hex(std::string_view s) {
  auto nib = [](char c) -> int {
    if (c >= '0' && c <= '9') {
      return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
      return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
      return c - 'A' + 10;
    }
    return -1;
  };
  std::vector<std::uint8_t> out;
  int hi = -1;
  for (char c : s) {
    const int v = nib(c);
    if (v < 0) {
      continue;
    }
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(static_cast<std::uint8_t>(hi << 4 | v));
      hi = -1;
    }
  }
  return out;
}

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
