// Wire helpers against bytes computed elsewhere: the expected checksums and
// packets below were produced by python3-scapy (noted per case).
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <vector>

#include "dataplane/wire/checksum.h"
#include "dataplane/wire/esp.h"
#include "dataplane/wire/icmp.h"
#include "dataplane/wire/ipv4.h"

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

// scapy: bytes(IP(src="198.51.100.7", dst="198.51.100.1", id=1)/ICMP(id=7, seq=3)/b"hello")
const char* echo_request =
    "45000021000100004001266cc6336407c63364010800b4230007000368656c6c6f";
// scapy: the reply a host sends: IP(src=dst, dst=src, id=1, ttl=64)/ICMP(type=0, id=7, seq=3)/b"hello"
const char* echo_reply =
    "45000021000100004001266cc6336401c63364070000bc230007000368656c6c6f";

TEST(Checksum, Rfc1071Example) {
  // RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to ddf2 (one's complement).
  const auto b = hex("0001f203f4f5f6f7");
  EXPECT_EQ(csum_partial(b), 0xddf2u);
  EXPECT_EQ(csum(b), static_cast<std::uint16_t>(~0xddf2u));
}

TEST(Checksum, OddLength) {
  const auto b = hex("0001f203f4f5f6f7ab");
  EXPECT_EQ(csum_partial(b), (0xddf2u + 0xab00u) % 0xffffu);
}

TEST(Checksum, IncrementalMatchesFull) {
  auto b = hex(echo_request);
  const std::uint16_t before = static_cast<std::uint16_t>(b[10] << 8 | b[11]);
  const std::uint16_t ttl_word = static_cast<std::uint16_t>(b[8] << 8 | b[9]);
  b[8] = 0x3f;  // TTL 64 → 63
  const std::uint16_t updated = csum_update16(before, ttl_word, static_cast<std::uint16_t>(b[8] << 8 | b[9]));
  b[10] = b[11] = 0;
  EXPECT_EQ(updated, csum(std::span(b).first(20)));
}

TEST(Ipv4Check, AcceptsScapyPacket) { EXPECT_EQ(ipv4_check(hex(echo_request)), Ipv4Check::ok); }

TEST(Ipv4Check, NamesEachDefect) {
  auto good = hex(echo_request);
  EXPECT_EQ(ipv4_check(std::span(good).first(19)), Ipv4Check::truncated);
  auto v = good;
  v[0] = 0x65;
  EXPECT_EQ(ipv4_check(v), Ipv4Check::version);
  auto ihl = good;
  ihl[0] = 0x44;
  EXPECT_EQ(ipv4_check(ihl), Ipv4Check::header_len);
  auto tl = good;
  tl[3] = 0x40;
  EXPECT_EQ(ipv4_check(tl), Ipv4Check::total_len);
  auto cs = good;
  cs[11] ^= 1;
  EXPECT_EQ(ipv4_check(cs), Ipv4Check::checksum);
  // TTL 0 with its checksum made right (scapy: IP(..., ttl=0) has csum 0x666c).
  auto ttl = good;
  ttl[8] = 0;
  ttl[10] = 0x66;
  ttl[11] = 0x6c;
  EXPECT_EQ(ipv4_check(ttl), Ipv4Check::ttl_zero);
}

TEST(Icmp, EchoReplyMatchesScapy) {
  auto b = hex(echo_request);
  ASSERT_EQ(icmp_echo_reply_in_place(b), EchoResult::reply);
  EXPECT_EQ(b, hex(echo_reply));
}

TEST(Icmp, RejectsBadChecksumAndOtherTypes) {
  auto bad = hex(echo_request);
  bad[30] ^= 0xff;
  EXPECT_EQ(icmp_echo_reply_in_place(bad), EchoResult::malformed);
  auto reply = hex(echo_reply);
  EXPECT_EQ(icmp_echo_reply_in_place(reply), EchoResult::not_echo_request);
  auto shortp = hex(echo_request);
  EXPECT_EQ(icmp_echo_reply_in_place(std::span(shortp).first(27)), EchoResult::malformed);
}

TEST(Esp, PadLengthAlignsTrailer) {
  // RFC 4303 §2.4: payload + padding + 2 is a multiple of the block (>= 4).
  for (unsigned block : {4u, 8u, 16u}) {
    for (unsigned len = 0; len < 64; ++len) {
      const unsigned pad = esp_pad_len(len, block);
      EXPECT_LT(pad, block);
      EXPECT_EQ((len + pad + 2) % block, 0u);
    }
  }
}

TEST(Esp, TrailerRoundTripAndDefaultPadCheck) {
  std::array<std::uint8_t, 32> buf{};
  esp_write_trailer(buf.data() + 10, 5, 17);
  EXPECT_EQ(buf[10], 1);
  EXPECT_EQ(buf[14], 5);
  EXPECT_EQ(buf[15], 5);  // pad length
  EXPECT_EQ(buf[16], 17);  // next header
  EXPECT_TRUE(esp_pad_ok(std::span(buf).first(15), 5));
  buf[12] = 9;
  EXPECT_FALSE(esp_pad_ok(std::span(buf).first(15), 5));
  EXPECT_FALSE(esp_pad_ok(std::span(buf).first(3), 5));
  EXPECT_TRUE(esp_pad_ok(std::span(buf).first(0), 0));
}

}  // namespace
}  // namespace l2tpgw::wire
