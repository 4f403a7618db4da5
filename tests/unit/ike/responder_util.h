// The responder's randomness fixed to a generator's values, so that its
// replies can be compared byte for byte.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <random>
#include <string_view>

#include "controlplane/ike/main_mode.h"
#include "controlplane/ike/wire_util.h"
#include "tests/unit/ike/test_util.h"

namespace l2tpgw::ike::test {

// Its cookie, nonce and DH private value, each in hex.
inline MainModeRandom fixed_random(std::string_view rcky, std::string_view nr,
                                   std::string_view xr) {
  MainModeRandom r;
  const auto ck = hex(rcky);
  std::copy_n(ck.begin(), std::min(ck.size(), r.rcookie.size()), r.rcookie.begin());
  r.nonce = hex(nr);
  r.dh_private = hex(xr);
  return r;
}

// The keys of an established ISAKMP SA against the generator's.
inline void expect_phase1_keys(const IsakmpSa& sa, std::string_view skeyid_d,
                               std::string_view skeyid_a, std::string_view enc_key) {
  EXPECT_EQ(to_hex(sa.skeyid_d), skeyid_d);
  EXPECT_EQ(to_hex(sa.skeyid_a), skeyid_a);
  EXPECT_EQ(to_hex(sa.enc_key), enc_key);
}

// Hostile copies of `msg`, each to a fresh responder that first took
// `before` (message 1; empty when `msg` is message 1): `msg` cut at every
// `step`th length, as it is and with the header's length made to fit (so
// that the payloads are what is cut), then `rounds` copies with one byte
// changed. A cut one is a named one-line failure and never an SA; no copy
// crashes (the ASan build checks the reads) or fails without a cause.
inline void expect_hostile_handled(const MainModeConfig& cfg, const MainModeRandom& random,
                                   const Bytes& before, const Bytes& msg,
                                   const std::function<Datagram(const Bytes&)>& dgram,
                                   std::size_t step, int rounds, unsigned seed) {
  auto fresh = [&](MainModeResponder& r) {
    if (!before.empty()) {
      ASSERT_EQ(r.handle(dgram(before)).failure, MainModeFailure::none);
    }
  };
  for (std::size_t len = 0; len < msg.size(); len += step) {
    for (const bool fit : {false, true}) {
      MainModeResponder r(cfg, random);
      fresh(r);
      Bytes cut(msg.begin(), msg.begin() + static_cast<std::ptrdiff_t>(len));
      if (fit && cut.size() >= header_len) {
        set32(cut, 24, static_cast<std::uint32_t>(cut.size()));
      }
      const auto s = r.handle(dgram(cut));
      EXPECT_NE(s.failure, MainModeFailure::none) << len << (fit ? " (length fitted)" : "");
      EXPECT_FALSE(s.cause.empty());
      EXPECT_EQ(s.cause.find('\n'), std::string::npos);
      EXPECT_NE(r.state(), MainModeState::established) << len;
    }
  }
  std::mt19937 rng(seed);
  for (int round = 0; round < rounds; ++round) {
    MainModeResponder r(cfg, random);
    fresh(r);
    auto bad = msg;
    bad[rng() % bad.size()] ^= static_cast<std::uint8_t>(1 + rng() % 255);
    const auto s = r.handle(dgram(bad));
    if (s.failure != MainModeFailure::none) {
      EXPECT_FALSE(s.cause.empty());
    }
  }
}

}  // namespace l2tpgw::ike::test
