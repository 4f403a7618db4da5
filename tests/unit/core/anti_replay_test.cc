// Anti-replay window edges of RFC 4303 §3.4.3.
#include "dataplane/core/anti_replay.h"

#include <gtest/gtest.h>

namespace l2tpgw {
namespace {

using V = ReplayWindow::Verdict;

TEST(ReplayWindow, SequenceZeroIsNeverValid) {
  ReplayWindow w(64);
  EXPECT_EQ(w.check_and_update(0), V::too_old);  // §3.3.3: the first packet is 1
}

TEST(ReplayWindow, DuplicateIsReplayed) {
  ReplayWindow w(64);
  EXPECT_EQ(w.check_and_update(1), V::ok);
  EXPECT_EQ(w.check_and_update(1), V::replayed);
  EXPECT_EQ(w.check(1), V::replayed);
}

TEST(ReplayWindow, OutOfOrderInsideWindowAccepted) {
  ReplayWindow w(64);
  EXPECT_EQ(w.check_and_update(10), V::ok);
  EXPECT_EQ(w.check_and_update(5), V::ok);
  EXPECT_EQ(w.check_and_update(7), V::ok);
  EXPECT_EQ(w.check_and_update(5), V::replayed);
  EXPECT_EQ(w.top(), 10u);
}

TEST(ReplayWindow, WindowEdgeIsExact) {
  for (std::uint32_t size : {64u, 128u, 1024u, 4096u}) {
    ReplayWindow w(size);
    const std::uint32_t top = 100000;
    ASSERT_EQ(w.check_and_update(top), V::ok);
    // The oldest acceptable number is top - size + 1.
    EXPECT_EQ(w.check(top - size), V::too_old) << size;
    EXPECT_EQ(w.check_and_update(top - size + 1), V::ok) << size;
    EXPECT_EQ(w.check_and_update(top - size + 1), V::replayed) << size;
  }
}

TEST(ReplayWindow, JumpClearsStaleBits) {
  ReplayWindow w(64);
  for (std::uint32_t s = 1; s <= 64; ++s) {
    ASSERT_EQ(w.check_and_update(s), V::ok);
  }
  // A jump of exactly one ring revolution must not see old bits as replays.
  const std::uint32_t jump = 64 + 128;
  EXPECT_EQ(w.check_and_update(jump), V::ok);
  for (std::uint32_t s = jump - 63; s < jump; ++s) {
    EXPECT_EQ(w.check(s), V::ok) << s;
  }
  EXPECT_EQ(w.check(jump - 64), V::too_old);
}

TEST(ReplayWindow, EveryNumberOnceAcrossManyWords) {
  ReplayWindow w(256);
  for (std::uint32_t s = 1; s < 5000; s += 2) {
    ASSERT_EQ(w.check_and_update(s), V::ok) << s;
  }
  // Even numbers inside the last 256 are still acceptable, once.
  for (std::uint32_t even = 4999 - 255 + 2; even < 4999; even += 2) {
    EXPECT_EQ(w.check_and_update(even), V::ok) << even;
    EXPECT_EQ(w.check_and_update(even), V::replayed) << even;
  }
  EXPECT_EQ(w.check(4999 - 256), V::too_old);
}

TEST(ReplayWindow, ZeroWindowAcceptsEverything) {
  ReplayWindow w(0);
  EXPECT_EQ(w.check_and_update(5), V::ok);
  EXPECT_EQ(w.check_and_update(5), V::ok);
  EXPECT_EQ(w.check_and_update(1), V::ok);
}

TEST(ReplayWindow, TopOfSequenceSpace) {
  ReplayWindow w(64);
  EXPECT_EQ(w.check_and_update(0xffffffffu), V::ok);
  EXPECT_EQ(w.check_and_update(0xffffffffu), V::replayed);
  EXPECT_EQ(w.check_and_update(0xffffffffu - 63), V::ok);
  EXPECT_EQ(w.check(0xffffffffu - 64), V::too_old);
}

}  // namespace
}  // namespace l2tpgw
