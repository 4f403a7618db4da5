#include <gtest/gtest.h>

#include "dataplane/config/config.h"

namespace l2tpgw {
namespace {

TEST(Address, Ipv4) {
  EXPECT_EQ(parse_ipv4("192.0.2.1"), 0xc0000201u);
  EXPECT_EQ(parse_ipv4("255.255.255.255"), 0xffffffffu);
  EXPECT_EQ(parse_ipv4("0.0.0.0"), 0u);
  for (const char* bad : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.4 ", " 1.2.3.4", "01.2.3.4",
                          "1..2.3", "a.b.c.d", "1.2.3.-4", "1.2.3.+4", "1.2.3.4/24", "1.2.3.1000"}) {
    EXPECT_FALSE(parse_ipv4(bad)) << bad;
  }
}

TEST(Address, Prefix) {
  const auto p = parse_prefix("198.51.100.1/24");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->addr, 0xc6336401u);
  EXPECT_EQ(p->len, 24);
  EXPECT_TRUE(p->contains(0xc63364feu));
  EXPECT_FALSE(p->contains(0xc6336501u));
  EXPECT_EQ(parse_prefix("0.0.0.0/0")->len, 0);
  for (const char* bad : {"198.51.100.1", "198.51.100.1/33", "198.51.100.1/", "/24",
                          "198.51.100.1/024", "198.51.100.1/2a"}) {
    EXPECT_FALSE(parse_prefix(bad)) << bad;
  }
}

TEST(Address, Mac) {
  const auto m = parse_mac("02:00:5e:0A:ff:07");
  ASSERT_TRUE(m);
  EXPECT_EQ(*m, (wire::Mac{0x02, 0x00, 0x5e, 0x0a, 0xff, 0x07}));
  EXPECT_EQ(format_mac(*m), "02:00:5e:0a:ff:07");
  for (const char* bad : {"02:00:5e:0a:ff", "02:00:5e:0a:ff:07:01", "02-00-5e-0a-ff-07",
                          "02:00:5e:0a:ff:0g", "2:00:5e:0a:ff:07:"}) {
    EXPECT_FALSE(parse_mac(bad)) << bad;
  }
}

TEST(Address, FormatIpv4) {
  EXPECT_EQ(format_ipv4(0xcb007105u), "203.0.113.5");
  EXPECT_EQ(format_ipv4(0), "0.0.0.0");
  EXPECT_EQ(format_ipv4(0xffffffffu), "255.255.255.255");
}

}  // namespace
}  // namespace l2tpgw
