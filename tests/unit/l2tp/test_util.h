// Helpers shared by the L2TP unit tests: hex vectors, a settable clock and a
// deterministic random source.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "controlplane/l2tp/lns_config.h"
#include "controlplane/l2tp/reliable.h"

namespace l2tp_test {

inline std::vector<std::uint8_t> unhex(const std::string& h) {
  std::vector<std::uint8_t> out;
  for (std::size_t i = 0; i + 1 < h.size(); i += 2) {
    out.push_back(static_cast<std::uint8_t>(std::stoul(h.substr(i, 2), nullptr, 16)));
  }
  return out;
}

inline std::vector<std::uint8_t> bytes(const std::string& s) {
  return std::vector<std::uint8_t>(s.begin(), s.end());
}

inline l2tpgw::l2tp::Instant at_ms(std::int64_t ms) {
  return l2tpgw::l2tp::Instant{l2tpgw::l2tp::Duration{ms}};
}

// Counts up from a seed: tests can predict challenges and ids.
inline l2tpgw::l2tp::RandomSource counting_random(std::uint8_t seed = 1) {
  auto state = std::make_shared<std::uint8_t>(seed);
  return [state](std::span<std::uint8_t> out) {
    for (auto& b : out) {
      b = (*state)++;
    }
  };
}

}  // namespace l2tp_test
