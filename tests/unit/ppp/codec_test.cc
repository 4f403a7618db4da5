// The RFC 1661 §5 packet and §6 option codec against frames built by scapy
// (vectors.h), and its refusals of malformed input.
#include <gtest/gtest.h>

#include "controlplane/ppp/counters.h"
#include "controlplane/ppp/options.h"
#include "tests/unit/ppp/test_util.h"
#include "tests/unit/ppp/vectors.h"

namespace l2tpgw::ppp {
namespace {

using test::hex;

// Skips FF 03 and the 2-byte protocol that every vector carries.
std::span<const std::uint8_t> body(const test::Bytes& f) {
  return std::span(f).subspan(4);
}

TEST(Options, ParsesWindowsLcpRequest) {
  const PacketParse p = parse_packet(body(test::win_lcp_request));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.packet.code, 1);
  EXPECT_EQ(p.packet.id, 0);
  const OptionList l = parse_options(p.packet.data);
  ASSERT_TRUE(l.ok());
  ASSERT_EQ(l.count, 5u);
  EXPECT_EQ(l.items[0].type, 1);
  EXPECT_EQ(read_u16(l.items[0].value), 1400);
  EXPECT_EQ(l.items[1].type, 5);
  EXPECT_EQ(read_u32(l.items[1].value), 0x5a6b7c8du);
  EXPECT_EQ(l.items[2].type, 7);
  EXPECT_TRUE(l.items[2].value.empty());
  EXPECT_EQ(l.items[3].type, 8);
  EXPECT_EQ(l.items[4].type, 13);
  EXPECT_EQ(l.items[4].value.size(), 1u);
}

TEST(Options, BuildsWhatScapyBuilds) {
  Bytes opts;
  append_u16_option(opts, 1, 1400);
  append_u32_option(opts, 5, 0x5a6b7c8d);
  append_option(opts, 7, {});
  append_option(opts, 8, {});
  const std::uint8_t cb[1] = {6};
  append_option(opts, 13, cb);
  const Bytes pkt = build_packet(Code::configure_request, 0, opts);
  EXPECT_EQ(test::to_hex(pkt), test::to_hex(body(test::win_lcp_request)));
}

TEST(Options, ReencodesParsedOptionsVerbatim) {
  const PacketParse p = parse_packet(body(test::win_ipcp_request));
  ASSERT_TRUE(p.ok());
  const OptionList l = parse_options(p.packet.data);
  ASSERT_TRUE(l.ok());
  Bytes again;
  for (const Option& o : l.options()) {
    append_option_raw(again, o);
  }
  EXPECT_EQ(test::to_hex(again), test::to_hex(p.packet.data));
}

TEST(Options, PaddingPastLengthIgnored) {
  // RFC 1661 §5: octets outside Length are padding.
  test::Bytes f(body(test::win_lcp_request2).begin(), body(test::win_lcp_request2).end());
  const std::size_t n = f.size();
  f.push_back(0xaa);
  f.push_back(0xbb);
  const PacketParse p = parse_packet(f);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.packet.data.size(), n - 4);
}

TEST(Options, PacketErrors) {
  EXPECT_EQ(parse_packet(hex("01 01 00")).error, ParseError::truncated_packet);
  EXPECT_EQ(parse_packet(hex("01 01 00 03")).error, ParseError::short_length);
  EXPECT_EQ(parse_packet(hex("01 01 00 09 01 04 05 dc")).error, ParseError::lying_length);
  EXPECT_EQ(parse_packet(hex("01 01 00 04")).error, ParseError::ok);
}

TEST(Options, OptionErrors) {
  EXPECT_EQ(parse_options(hex("01")).error, ParseError::truncated_option);
  EXPECT_EQ(parse_options(hex("07 00")).error, ParseError::short_option_length);
  EXPECT_EQ(parse_options(hex("07 01")).error, ParseError::short_option_length);
  EXPECT_EQ(parse_options(hex("01 04 05")).error, ParseError::lying_option_length);
  EXPECT_EQ(parse_options(hex("01 04 05 dc 05 06 00 00 00")).error,
            ParseError::lying_option_length);
  EXPECT_TRUE(parse_options(hex("")).ok());
}

TEST(Options, FloodRefused) {
  Bytes many;
  for (std::size_t i = 0; i < max_options; ++i) {
    append_option(many, 7, {});
  }
  EXPECT_TRUE(parse_options(many).ok());
  append_option(many, 7, {});
  EXPECT_EQ(parse_options(many).error, ParseError::option_flood);
}

TEST(Counters, ParseErrorsMapByValue) {
  EXPECT_EQ(to_counter(ParseError::lying_length), Counter::lying_length);
  EXPECT_STREQ(counter_name(Counter::option_flood), "option_flood");
  EXPECT_STREQ(counter_name(Counter::mschapv2_bad_length), "mschapv2_bad_length");
}

}  // namespace
}  // namespace l2tpgw::ppp
