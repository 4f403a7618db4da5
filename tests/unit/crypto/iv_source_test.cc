// IvSource: unpredictable CBC IVs (RFC 3602 §3) from a CTR keystream. What
// can be checked without timing: outputs differ, are never all zero, never
// repeat across refills, and two sources do not share a stream.
#include <gtest/gtest.h>

#include <array>
#include <set>

#include "tests/unit/crypto/crypto_test_util.h"

namespace l2tpgw::crypto::test {
namespace {

using Iv = std::array<std::uint8_t, 16>;

bool all_zero(const Iv& iv) {
  for (auto b : iv) {
    if (b != 0) {
      return false;
    }
  }
  return true;
}

TEST(IvSource, TwoIvsDifferAndAreNotZero) {
  IvSource src;
  Iv a{};
  Iv b{};
  src.take(a.data(), 16);
  src.take(b.data(), 16);
  EXPECT_NE(a, b);
  EXPECT_FALSE(all_zero(a));
  EXPECT_FALSE(all_zero(b));
}

TEST(IvSource, NoRepeatAcrossManyRefills) {
  IvSource src;
  // 20000 IVs of 16 bytes use ~78 refills of the 4 KiB buffer.
  std::set<Iv> seen;
  for (int i = 0; i < 20000; ++i) {
    Iv iv{};
    src.take(iv.data(), 16);
    ASSERT_FALSE(all_zero(iv)) << i;
    ASSERT_TRUE(seen.insert(iv).second) << "repeated IV at " << i;
  }
}

TEST(IvSource, OddLengthsStraddleRefills) {
  IvSource src;
  // 8-byte (3DES) and odd-sized takes that cross the end of the buffer.
  std::set<std::array<std::uint8_t, 8>> seen;
  for (int i = 0; i < 3000; ++i) {
    std::array<std::uint8_t, 8> iv{};
    src.take(iv.data(), 8);
    ASSERT_TRUE(seen.insert(iv).second) << i;
    std::uint8_t odd[13];
    src.take(odd, sizeof(odd));
  }
  // One take larger than the whole buffer.
  std::vector<std::uint8_t> big(10000, 0);
  src.take(big.data(), static_cast<unsigned>(big.size()));
  std::size_t zeros = 0;
  for (auto b : big) {
    zeros += b == 0;
  }
  // A keystream byte is zero with probability 1/256; a bug that hands out
  // zeroed or unfilled buffer regions would make far more.
  EXPECT_LT(zeros, 200u);
}

TEST(IvSource, TwoSourcesHaveDifferentStreams) {
  IvSource a;
  IvSource b;
  Iv x{};
  Iv y{};
  a.take(x.data(), 16);
  b.take(y.data(), 16);
  EXPECT_NE(x, y);
}

}  // namespace
}  // namespace l2tpgw::crypto::test
