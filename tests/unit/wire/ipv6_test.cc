// IPv6, ICMPv6 and Neighbor Discovery codecs against packets built by
// python3-scapy with scapy's checksums (tests/unit/wire/gen_ipv6_vectors.py,
// run with /usr/bin/python3).
#include "dataplane/wire/ipv6.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "dataplane/wire/tcp_mss.h"

namespace l2tpgw::wire {
namespace {

std::vector<std::uint8_t> hex(const char* s) {
  std::vector<std::uint8_t> out;
  auto nib = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
  for (; s[0] != 0 && s[1] != 0; s += 2) {
    out.push_back(static_cast<std::uint8_t>(nib(s[0]) << 4 | nib(s[1])));
  }
  return out;
}

const Ipv6Addr gw{0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
const Ipv6Addr host{0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
const Mac gw_mac{0x02, 0, 0, 0, 0x02, 0x01};
const Mac host_mac{0x02, 0, 0, 0, 0x0a, 0x02};

const char* const echo_request =
      "6000000000133a3f20010db8ffff0000000000000000000220010db8ffff000000000000000000018000034e12340007"
      "70696e6736206461746121";
const char* const echo_reply =
      "6000000000133a4020010db8ffff0000000000000000000120010db8ffff000000000000000000028100024e12340007"
      "70696e6736206461746121";
const char* const ns_from_gw =
      "6000000000203aff20010db8ffff00000000000000000001ff0200000000000000000001ff00000287001a2700000000"
      "20010db8ffff000000000000000000020101020000000201";
const char* const na_from_gw =
      "6000000000203aff20010db8ffff0000000000000000000120010db8ffff000000000000000000028800887360000000"
      "20010db8ffff000000000000000000010201020000000201";
const char* const ns_from_host =
      "6000000000203aff20010db8ffff00000000000000000002ff0200000000000000000001ff0000018700122700000000"
      "20010db8ffff000000000000000000010101020000000a02";
const char* const na_without_option =
      "6000000000183aff20010db8ffff0000000000000000000220010db8ffff0000000000000000000188008e7c60000000"
      "20010db8ffff00000000000000000002";
const char* const ns_hop_64 =
      "6000000000183a4020010db8ffff00000000000000000002ff0200000000000000000001ff00000187001f3200000000"
      "20010db8ffff00000000000000000001";
const char* const dad_ns_with_option =
      "6000000000203aff00000000000000000000000000000000ff0200000000000000000001ff00000187003fe200000000"
      "20010db8ffff000000000000000000010101020000000a02";
const char* const ptb_head =
      "6000000004d83a4020010db8ffff0000000000000000000120010db8ffff000000000000000000020200c8e50000058b";
const char* const syn6 =
      "600000000020064020010db8ffff0000000000000000000220010db800010002000000000000123480e801bb000003e8"
      "00000000800220005bdc0000020405b40103030704020000";
const char* const syn6_clamped =
      "600000000020064020010db8ffff0000000000000000000220010db800010002000000000000123480e801bb000003e8"
      "00000000800220005c400000020405500103030704020000";

TEST(Ipv6Check, NamesEachDefect) {
  auto p = hex(echo_request);
  EXPECT_EQ(ipv6_check(p), Ipv6Check::ok);
  p.push_back(0);  // link padding is allowed
  EXPECT_EQ(ipv6_check(p), Ipv6Check::ok);
  EXPECT_EQ(ipv6_check(std::span(p).first(39)), Ipv6Check::truncated);
  EXPECT_EQ(ipv6_check(std::span(p).first(58)), Ipv6Check::payload_len);
  p[0] = 0x40;
  EXPECT_EQ(ipv6_check(p), Ipv6Check::version);
}

TEST(Icmp6Checksum, MatchesScapy) {
  for (const char* v : {echo_request, echo_reply, ns_from_gw, na_from_gw, ns_from_host, ptb_head}) {
    auto p = hex(v);
    if (v == ptb_head) {
      continue;  // only the head of the packet: checked whole below
    }
    EXPECT_EQ(icmp6_checksum(p), 0) << v;
    const std::uint16_t scapy = static_cast<std::uint16_t>(p[42] << 8 | p[43]);
    p[42] = p[43] = 0;
    EXPECT_EQ(icmp6_checksum(p), scapy) << v;
  }
}

TEST(Icmp6Echo, ReplyInPlaceMatchesScapy) {
  auto p = hex(echo_request);
  ASSERT_TRUE(icmp6_echo_reply_in_place(p));
  EXPECT_EQ(p, hex(echo_reply));
  auto bad = hex(echo_request);
  bad[50] ^= 1;
  EXPECT_FALSE(icmp6_echo_reply_in_place(bad)) << "bad checksum";
  auto reply = hex(echo_reply);
  EXPECT_FALSE(icmp6_echo_reply_in_place(reply)) << "not a request";
}

TEST(Ndp, SolicitationAndAdvertisementMatchScapy) {
  std::array<std::uint8_t, nd_message_len> out{};
  build_neighbor_solicit(out, gw, host, gw_mac);
  EXPECT_EQ(std::vector<std::uint8_t>(out.begin(), out.end()), hex(ns_from_gw));
  build_neighbor_advert(out, gw, host, gw_mac);
  EXPECT_EQ(std::vector<std::uint8_t>(out.begin(), out.end()), hex(na_from_gw));
  EXPECT_EQ(multicast_mac(solicited_node(host)), (Mac{0x33, 0x33, 0xff, 0, 0, 2}));
}

TEST(Ndp, ParsesWhatHostsSend) {
  const auto ns = hex(ns_from_host);
  const NdMessage a = parse_nd(ns);
  ASSERT_TRUE(a.ok);
  EXPECT_EQ(a.type, icmp6_neighbor_solicit);
  EXPECT_EQ(a.target, gw);
  EXPECT_TRUE(a.has_lladdr);
  EXPECT_EQ(a.lladdr, host_mac);

  const auto na = hex(na_without_option);
  const NdMessage b = parse_nd(na);
  ASSERT_TRUE(b.ok);
  EXPECT_EQ(b.type, icmp6_neighbor_advert);
  EXPECT_TRUE(b.solicited);
  EXPECT_TRUE(b.override_flag);
  EXPECT_EQ(b.target, host);
  EXPECT_FALSE(b.has_lladdr);

  const auto gw_na = hex(na_from_gw);
  const NdMessage c = parse_nd(gw_na);
  ASSERT_TRUE(c.ok);
  EXPECT_TRUE(c.has_lladdr);
  EXPECT_EQ(c.lladdr, gw_mac);
}

TEST(Ndp, RefusesWhatRfc4861Refuses) {
  EXPECT_FALSE(parse_nd(hex(ns_hop_64)).ok) << "hop limit below 255 (§7.1.1)";
  EXPECT_FALSE(parse_nd(hex(dad_ns_with_option)).ok) << "DAD with a link-layer option (§7.1.1)";
  auto bad = hex(ns_from_host);
  bad[60] ^= 0x80;
  EXPECT_FALSE(parse_nd(bad).ok) << "checksum";
  auto zero_len = hex(ns_from_host);
  zero_len[65] = 0;  // option length 0
  zero_len[42] = zero_len[43] = 0;
  const std::uint16_t c = icmp6_checksum(zero_len);
  zero_len[42] = static_cast<std::uint8_t>(c >> 8);
  zero_len[43] = static_cast<std::uint8_t>(c);
  EXPECT_FALSE(parse_nd(zero_len).ok) << "option of length 0";
  EXPECT_FALSE(parse_nd(hex(echo_request)).ok) << "not ND";
}

TEST(Icmp6PacketTooBig, MatchesScapy) {
  // A 1500-byte UDP packet from the host to a client; MTU 1419; 1232 bytes
  // quoted, 1280 in all (RFC 4443 §2.4 (c)).
  std::vector<std::uint8_t> big(1500);
  const Ipv6Addr client{0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0x12, 0x34};
  big[0] = 0x60;
  big[4] = (1460 >> 8) & 0xff;
  big[5] = 1460 & 0xff;
  big[6] = 17;
  big[7] = 64;
  std::memcpy(&big[8], host.data(), 16);
  std::memcpy(&big[24], client.data(), 16);
  const std::uint8_t udp[8] = {0x03, 0xe8, 0x07, 0xd0, 0x05, 0xb4, 0, 0};
  std::memcpy(&big[40], udp, 8);
  for (unsigned i = 48; i < big.size(); ++i) {
    big[i] = static_cast<std::uint8_t>((i - 48) & 0xff);
  }
  // scapy's UDP checksum of that packet, as in its bytes.
  const std::uint32_t sum = [&] {
    std::uint32_t s = 0;
    for (unsigned i = 8; i < 40; i += 2) {
      s += static_cast<std::uint32_t>(big[i] << 8 | big[i + 1]);
    }
    s += 1460 + 17;
    for (unsigned i = 40; i < big.size(); i += 2) {
      s += static_cast<std::uint32_t>(big[i] << 8 | big[i + 1]);
    }
    while (s >> 16) {
      s = (s & 0xffff) + (s >> 16);
    }
    return s;
  }();
  const auto udp_csum = static_cast<std::uint16_t>(~sum & 0xffff);
  big[46] = static_cast<std::uint8_t>(udp_csum >> 8);
  big[47] = static_cast<std::uint8_t>(udp_csum & 0xff);
  ASSERT_EQ(icmp6_quote_max, 1232u);
  std::vector<std::uint8_t> out(48 + icmp6_quote_max);
  std::memcpy(out.data() + 48, big.data(), icmp6_quote_max);
  write_icmp6_packet_too_big(out, gw, host, 1419);
  EXPECT_EQ(std::vector<std::uint8_t>(out.begin(), out.begin() + 48), hex(ptb_head));
  EXPECT_EQ(icmp6_checksum(out), 0);
}

TEST(Icmp6PacketTooBig, WhoMayBeAnswered) {
  auto p = hex(syn6);
  EXPECT_TRUE(icmp6_error_allowed(p));
  auto from_multicast = p;
  from_multicast[8] = 0xff;
  EXPECT_FALSE(icmp6_error_allowed(from_multicast));
  auto from_unspecified = p;
  std::memset(&from_unspecified[8], 0, 16);
  EXPECT_FALSE(icmp6_error_allowed(from_unspecified));
  auto error = hex(ptb_head);
  EXPECT_FALSE(icmp6_error_allowed(error)) << "an ICMPv6 error";
  EXPECT_TRUE(icmp6_error_allowed(hex(echo_request))) << "an informational message";
}

TEST(TcpMss6, ClampedLikeScapy) {
  auto p = hex(syn6);
  EXPECT_EQ(clamp_tcp_mss6(p, 1360), MssResult::clamped);
  EXPECT_EQ(p, hex(syn6_clamped));
  EXPECT_EQ(clamp_tcp_mss6(p, 1360), MssResult::unchanged);
  auto udp = hex(ptb_head);
  EXPECT_EQ(clamp_tcp_mss6(udp, 1360), MssResult::not_syn);
}

}  // namespace
}  // namespace l2tpgw::wire
