// The IPv6 neighbour table: learning, replacement, static entries that NDP
// cannot override, and the once-per-interval solicitation gate.
#include "dataplane/core/neighbor6.h"

#include <gtest/gtest.h>

#include <memory>

namespace l2tpgw {
namespace {

wire::Ipv6Addr addr(std::uint8_t last, std::uint8_t net = 0xff) {
  return {0x20, 0x01, 0x0d, 0xb8, net, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, last};
}

TEST(Neighbor6Table, LearnsAndReplaces) {
  auto t = std::make_unique<Neighbor6Table>();
  wire::Mac m{};
  EXPECT_FALSE(t->lookup(addr(2), m));
  t->learn(addr(2), {2, 0, 0, 0, 0, 2});
  ASSERT_TRUE(t->lookup(addr(2), m));
  EXPECT_EQ(m, (wire::Mac{2, 0, 0, 0, 0, 2}));
  // Same interface identifier, other prefix: same bucket, another address.
  EXPECT_FALSE(t->lookup(addr(2, 0xfe), m));
  t->learn(addr(2), {2, 0, 0, 0, 0, 9});
  ASSERT_TRUE(t->lookup(addr(2), m));
  EXPECT_EQ(m, (wire::Mac{2, 0, 0, 0, 0, 9}));
  // A colliding address evicts a learnt one.
  t->learn(addr(2, 0xfe), {2, 0, 0, 0, 0, 3});
  EXPECT_FALSE(t->lookup(addr(2), m));
  ASSERT_TRUE(t->lookup(addr(2, 0xfe), m));
  EXPECT_EQ(m, (wire::Mac{2, 0, 0, 0, 0, 3}));
}

TEST(Neighbor6Table, StaticEntriesWin) {
  auto t = std::make_unique<Neighbor6Table>();
  t->add_static(addr(1), {2, 0, 0, 0, 0, 1});
  t->learn(addr(1), {2, 0, 0, 0, 0, 7});
  t->learn(addr(1, 0xfe), {2, 0, 0, 0, 0, 8});  // same bucket
  wire::Mac m{};
  ASSERT_TRUE(t->lookup(addr(1), m));
  EXPECT_EQ(m, (wire::Mac{2, 0, 0, 0, 0, 1}));
  EXPECT_FALSE(t->lookup(addr(1, 0xfe), m));
}

TEST(Neighbor6Table, OneSolicitationPerInterval) {
  auto t = std::make_unique<Neighbor6Table>();
  EXPECT_TRUE(t->should_request(addr(5), 1000, 100));
  EXPECT_FALSE(t->should_request(addr(5), 1050, 100));
  EXPECT_TRUE(t->should_request(addr(5), 1100, 100));
}

}  // namespace
}  // namespace l2tpgw
