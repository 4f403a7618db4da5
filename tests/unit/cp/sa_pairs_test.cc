#include "controlplane/sa_pairs.h"

#include <gtest/gtest.h>

#include <vector>

namespace l2tpgw::cp {
namespace {

channel::SaParams sa(channel::Direction d, std::uint32_t spi, std::uint32_t peer,
                     channel::Encap e = channel::Encap::none, std::uint16_t port = 0) {
  channel::SaParams p{};
  p.dir = d;
  p.spi = spi;
  p.peer_addr = peer;
  p.encap = e;
  p.peer_port = port;
  return p;
}

constexpr auto in = channel::Direction::in;
constexpr auto out = channel::Direction::out;
constexpr auto udp = channel::Encap::udp;

TEST(SaPairs, OutboundToTheSamePeerCarriedTheSameWay) {
  const std::vector<channel::SaParams> sas = {
      sa(out, 0x20, 0x0a000002), sa(in, 0x10, 0x0a000001), sa(out, 0x11, 0x0a000001),
      sa(in, 0x12, 0x0a000002)};
  const auto r = find_outbound_pair(sas, 0x10, 0x0a000001);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->spi, 0x11u);
  EXPECT_EQ(find_outbound_pair(sas, 0x12, 0x0a000002)->spi, 0x20u);
}

TEST(SaPairs, TwoClientsBehindOneNatKeptApartByPort) {
  const std::uint32_t nat = 0xcb000071;
  const std::vector<channel::SaParams> sas = {
      sa(in, 0x100, nat, udp, 4500), sa(in, 0x200, nat, udp, 61001),
      sa(out, 0x101, nat, udp, 4500), sa(out, 0x201, nat, udp, 61001)};
  EXPECT_EQ(find_outbound_pair(sas, 0x200, nat)->spi, 0x201u);
  EXPECT_EQ(find_outbound_pair(sas, 0x100, nat)->spi, 0x101u);
}

TEST(SaPairs, NoneWithoutTheInboundOrAMatchingOutbound) {
  const std::vector<channel::SaParams> sas = {sa(in, 0x10, 0x0a000001, udp, 4500),
                                              sa(out, 0x11, 0x0a000001)};
  EXPECT_FALSE(find_outbound_pair(sas, 0x10, 0x0a000009));  // another peer's SPI
  EXPECT_FALSE(find_outbound_pair(sas, 0x99, 0x0a000001));
  EXPECT_FALSE(find_outbound_pair(sas, 0x10, 0x0a000001));  // raw ESP out, UDP in
}

}  // namespace
}  // namespace l2tpgw::cp
