#include "controlplane/udp_datagram.h"

#include <gtest/gtest.h>

#include "tests/unit/cp/udp_datagram_vectors.h"

namespace l2tpgw::cp {
namespace {

// The packet with one IPv4 header byte changed and the header checksum
// made right again, so only that change is under test.
std::vector<std::uint8_t> with_ip_byte(std::vector<std::uint8_t> v, std::size_t i, std::uint8_t b) {
  v[i] = b;
  v[10] = v[11] = 0;
  std::uint32_t s = 0;
  for (std::size_t k = 0; k < 20; k += 2) {
    s += static_cast<std::uint32_t>(v[k] << 8 | v[k + 1]);
  }
  s = (s & 0xffff) + (s >> 16);
  s = (s & 0xffff) + (s >> 16);
  v[10] = static_cast<std::uint8_t>(~s >> 8);
  v[11] = static_cast<std::uint8_t>(~s);
  return v;
}

TEST(UdpDatagram, BuildsWhatScapyBuilds) {
  const UdpEndpoints e{0xc0000201, 0xc6336407, 1701, 53211};
  EXPECT_EQ(build_udp_datagram(e, vectors::reply_payload), vectors::reply);
}

TEST(UdpDatagram, ZeroChecksumGoesOutAsAllOnes) {
  const auto& v = vectors::all_ones_csum;
  const UdpEndpoints e{0x0a000001, 0x0a000002, 500, 500};
  EXPECT_EQ(build_udp_datagram(e, std::span(v).subspan(28)), v);
  EXPECT_TRUE(parse_udp_datagram(v).ok());
}

TEST(UdpDatagram, ParsesAroundIpOptions) {
  const UdpDatagram d = parse_udp_datagram(vectors::punted_options);
  ASSERT_TRUE(d.ok()) << describe(d.error);
  EXPECT_EQ(d.ends.src_addr, 0xcb007109u);
  EXPECT_EQ(d.ends.dst_addr, 0xc0000201u);
  EXPECT_EQ(d.ends.src_port, 4500);
  EXPECT_EQ(d.ends.dst_port, 4500);
  EXPECT_EQ(std::vector<std::uint8_t>(d.payload.begin(), d.payload.end()),
            (std::vector<std::uint8_t>{0, 0, 0, 0, 'i', 's', 'a', 'k', 'm', 'p'}));
}

TEST(UdpDatagram, IgnoresLinkPadding) {
  auto v = vectors::reply;
  v.resize(v.size() + 6, 0);
  const UdpDatagram d = parse_udp_datagram(v);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d.payload.size(), vectors::reply_payload.size());
}

TEST(UdpDatagram, RejectsEachDefectByName) {
  auto bad_csum = vectors::reply;
  bad_csum.back() ^= 1;
  EXPECT_EQ(parse_udp_datagram(bad_csum).error, UdpDatagramError::udp_checksum);

  auto no_csum = bad_csum;
  no_csum[26] = no_csum[27] = 0;  // none sent: accepted as it is
  EXPECT_TRUE(parse_udp_datagram(no_csum).ok());

  auto long_udp = vectors::reply;
  long_udp[25] += 1;  // UDP length one past the IPv4 payload
  EXPECT_EQ(parse_udp_datagram(long_udp).error, UdpDatagramError::udp_truncated);

  EXPECT_EQ(parse_udp_datagram(std::span(vectors::reply).first(24)).error,
            UdpDatagramError::ipv4_malformed);

  EXPECT_EQ(parse_udp_datagram(with_ip_byte(vectors::reply, 6, 0x20)).error,  // MF
            UdpDatagramError::fragment);
  const auto tcp = with_ip_byte(vectors::reply, 9, 6);
  EXPECT_EQ(parse_udp_datagram(tcp).error, UdpDatagramError::not_udp);
}

}  // namespace
}  // namespace l2tpgw::cp
