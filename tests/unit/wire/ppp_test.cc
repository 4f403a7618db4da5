// PPP framing codec (RFC 1661 §2, §6.5, §6.6; RFC 1662 §3.1) against frames
// built by python3-scapy. The vectors are printed by
// tests/unit/wire/gen_vectors.py (run with /usr/bin/python3); forms scapy
// cannot write are built by hand from the RFC and say so.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "dataplane/wire/ppp.h"

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

struct HeaderVector {
  std::uint16_t protocol;
  const char* with_address_control;  // HDLC()/PPP(proto=...)
  const char* compressed;            // PPP(proto=...): ACFC, and PFC below 0x100
};

// scapy: HDLC()/PPP(proto=0x0021)/Raw(b"abcd")
const char* ppp_ac_short = "ff032161626364";
// scapy: PPP(proto=0x0021)/Raw(b"abcd")
const char* ppp_short = "2161626364";
// scapy: PPP(proto=0x0057)/Raw(b"abcd")
const char* ppp_ipv6_short = "5761626364";
// scapy: HDLC()/PPP(proto=0x00fd)/Raw(bytes.fromhex("9001deadbeef"))
const char* ppp_mppe = "ff03fd9001deadbeef";
// scapy: HDLC()/PPP(proto=0xc021)/PPP_LCP_Echo(id=1, magic_number=0x01020304)
const char* ppp_lcp_echo = "ff03c0210901000801020304";
// scapy: PPP(proto=0x8021)/PPP_IPCP(code=1, id=1,
//     options=[PPP_IPCP_Option_IPAddress(data='0.0.0.0')])
const char* ppp_ipcp_compressed = "80210101000a030600000000";
// scapy: HDLC(control=0x05)/PPP(proto=0x0021)/Raw(b"abcd")
const char* ppp_bad_control = "ff052161626364";
// by hand, RFC 1661 §2 (2-byte Protocol 0x0021); scapy reads it as proto=0x21
const char* ppp_ac_full = "ff03002161626364";
// by hand, RFC 1661 §2 (2-byte Protocol 0x0021); scapy reads it as proto=0x21
const char* ppp_full = "002161626364";
// by hand, RFC 1661 §2: last Protocol byte even (0x0020, 0x0022) is invalid
const char* ppp_bad_proto_ac = "ff03002061626364";
const char* ppp_bad_proto = "002261626364";
const HeaderVector header_vectors[] = {
    // HDLC()/PPP(proto=0x0021) and PPP(proto=0x0021)
    {0x0021, "ff0321", "21"},
    // HDLC()/PPP(proto=0x0057) and PPP(proto=0x0057)
    {0x0057, "ff0357", "57"},
    // HDLC()/PPP(proto=0x00fd) and PPP(proto=0x00fd)
    {0x00fd, "ff03fd", "fd"},
    // HDLC()/PPP(proto=0x8021) and PPP(proto=0x8021)
    {0x8021, "ff038021", "8021"},
    // HDLC()/PPP(proto=0x8057) and PPP(proto=0x8057)
    {0x8057, "ff038057", "8057"},
    // HDLC()/PPP(proto=0x80fd) and PPP(proto=0x80fd)
    {0x80fd, "ff0380fd", "80fd"},
    // HDLC()/PPP(proto=0xc021) and PPP(proto=0xc021)
    {0xc021, "ff03c021", "c021"},
    // HDLC()/PPP(proto=0xc023) and PPP(proto=0xc023)
    {0xc023, "ff03c023", "c023"},
    // HDLC()/PPP(proto=0xc223) and PPP(proto=0xc223)
    {0xc223, "ff03c223", "c223"},
    // HDLC()/PPP(proto=0xc227) and PPP(proto=0xc227)
    {0xc227, "ff03c227", "c227"},
};

void expect_frame(const char* h, std::uint16_t protocol, std::uint8_t header_len, bool acfc,
                  bool pfc) {
  SCOPED_TRACE(h);
  const PppParse r = parse_ppp(hex(h));
  ASSERT_EQ(r.error, PppError::ok);
  EXPECT_EQ(r.protocol, protocol);
  EXPECT_EQ(r.header_len, header_len);
  EXPECT_EQ(r.acfc, acfc);
  EXPECT_EQ(r.pfc, pfc);
}

TEST(PppParse, AllFourCompressionForms) {
  expect_frame(ppp_ac_short, 0x0021, 3, false, true);
  expect_frame(ppp_short, 0x0021, 1, true, true);
  // RFC 1661 §6.5: both Protocol forms are accepted and mean the same thing.
  expect_frame(ppp_ac_full, 0x0021, 4, false, false);
  expect_frame(ppp_full, 0x0021, 2, true, false);
}

TEST(PppParse, ScapyFramesOfEachKind) {
  expect_frame(ppp_ipv6_short, 0x0057, 1, true, true);
  expect_frame(ppp_mppe, 0x00fd, 3, false, true);
  expect_frame(ppp_lcp_echo, 0xc021, 4, false, false);
  expect_frame(ppp_ipcp_compressed, 0x8021, 2, true, false);
  // The information field starts right after the header.
  const auto lcp = hex(ppp_lcp_echo);
  EXPECT_EQ(lcp[parse_ppp(lcp).header_len], 0x09);  // LCP code 9: Echo-Request
}

TEST(PppParse, BadAddressOrControl) {
  EXPECT_EQ(parse_ppp(hex(ppp_bad_control)).error, PppError::bad_address_control);
  EXPECT_EQ(parse_ppp(hex("ff00002161626364")).error, PppError::bad_address_control);
  EXPECT_EQ(parse_ppp(hex("ffff0021")).error, PppError::bad_address_control);
}

TEST(PppParse, BadProtocolField) {
  EXPECT_EQ(parse_ppp(hex(ppp_bad_proto_ac)).error, PppError::bad_protocol);
  EXPECT_EQ(parse_ppp(hex(ppp_bad_proto)).error, PppError::bad_protocol);
}

TEST(PppParse, EveryTruncation) {
  for (const char* h : {ppp_ac_full, ppp_full, ppp_ac_short, ppp_short, ppp_lcp_echo}) {
    const auto f = hex(h);
    const std::uint8_t header_len = parse_ppp(f).header_len;
    ASSERT_GT(header_len, 0);
    for (std::size_t n = 0; n < header_len; ++n) {
      EXPECT_EQ(parse_ppp(std::span(f).first(n)).error, PppError::truncated) << h << " " << n;
    }
    // A header with an empty information field is still a frame.
    EXPECT_EQ(parse_ppp(std::span(f).first(header_len)).error, PppError::ok) << h;
  }
}

TEST(PppClassify, Ranges) {
  EXPECT_EQ(classify_ppp(ppp_proto_ipv4), PppClass::ipv4);
  EXPECT_EQ(classify_ppp(ppp_proto_ipv6), PppClass::ipv6);
  EXPECT_EQ(classify_ppp(ppp_proto_compressed), PppClass::compressed);
  for (std::uint16_t p : {ppp_proto_lcp, ppp_proto_pap, ppp_proto_chap, ppp_proto_eap,
                          ppp_proto_ipcp, ppp_proto_ipv6cp, ppp_proto_ccp}) {
    EXPECT_EQ(classify_ppp(p), PppClass::control) << p;
  }
  // RFC 1661 §2: all of 8000-ffff is NCP or link-layer control.
  EXPECT_EQ(classify_ppp(0x8001), PppClass::control);
  EXPECT_EQ(classify_ppp(0x8053), PppClass::control);  // ECP
  EXPECT_EQ(classify_ppp(0xffff), PppClass::control);
  EXPECT_EQ(classify_ppp(0x7fff), PppClass::other);
  EXPECT_EQ(classify_ppp(0x002d), PppClass::other);  // VJ compressed TCP/IP (RFC 1332)
  EXPECT_EQ(classify_ppp(0x00fb), PppClass::other);  // per-link compressed (RFC 1962)
  EXPECT_EQ(classify_ppp(0x4021), PppClass::other);
}

TEST(PppBuild, MatchesScapy) {
  for (const auto& v : header_vectors) {
    SCOPED_TRACE(v.protocol);
    std::array<std::uint8_t, 8> buf{};
    const std::size_t n = build_ppp_header(buf, v.protocol, false, true);
    EXPECT_EQ(std::vector<std::uint8_t>(buf.begin(), buf.begin() + static_cast<long>(n)),
              hex(v.with_address_control));
    EXPECT_EQ(n, ppp_header_len(v.protocol, false, true));

    const std::size_t c = build_ppp_header(buf, v.protocol, true, true);
    EXPECT_EQ(c, ppp_header_len(v.protocol, true, true));
    const std::vector<std::uint8_t> got(buf.begin(), buf.begin() + static_cast<long>(c));
    if (v.protocol == ppp_proto_lcp) {
      // RFC 1661 §6.6: LCP keeps Address and Control even under ACFC, where
      // scapy's bare PPP() drops them.
      EXPECT_EQ(got, hex(v.with_address_control));
      EXPECT_NE(got, hex(v.compressed));
    } else {
      EXPECT_EQ(got, hex(v.compressed));
    }
  }
}

TEST(PppBuild, FullProtocolFieldMatchesRfcForm) {
  std::array<std::uint8_t, 8> buf{};
  ASSERT_EQ(build_ppp_header(buf, 0x0021, false, false), 4u);
  const auto ac_full = hex(ppp_ac_full);
  EXPECT_EQ(std::vector<std::uint8_t>(buf.begin(), buf.begin() + 4),
            std::vector<std::uint8_t>(ac_full.begin(), ac_full.begin() + 4));
  ASSERT_EQ(build_ppp_header(buf, 0x0021, true, false), 2u);
  const auto full = hex(ppp_full);
  EXPECT_EQ(std::vector<std::uint8_t>(buf.begin(), buf.begin() + 2),
            std::vector<std::uint8_t>(full.begin(), full.begin() + 2));
}

TEST(PppBuild, RoundTrip) {
  for (std::uint16_t proto : {ppp_proto_ipv4, ppp_proto_ipv6, ppp_proto_compressed, ppp_proto_ipcp,
                              ppp_proto_ccp, ppp_proto_lcp, ppp_proto_pap, ppp_proto_chap,
                              ppp_proto_eap, std::uint16_t{0x0001}, std::uint16_t{0x00fb},
                              std::uint16_t{0xfeff}}) {
    for (bool acfc : {false, true}) {
      for (bool pfc : {false, true}) {
        SCOPED_TRACE(testing::Message() << proto << " acfc " << acfc << " pfc " << pfc);
        std::array<std::uint8_t, 8> buf{};
        const std::size_t n = build_ppp_header(buf, proto, acfc, pfc);
        ASSERT_GT(n, 0u);
        buf[n] = 0x45;
        const PppParse r = parse_ppp(std::span(buf).first(n + 1));
        ASSERT_EQ(r.error, PppError::ok);
        EXPECT_EQ(r.protocol, proto);
        EXPECT_EQ(r.header_len, n);
        EXPECT_EQ(r.acfc, acfc && proto != ppp_proto_lcp);
        EXPECT_EQ(r.pfc, pfc && proto < 0x100);
      }
    }
  }
}

TEST(PppBuild, Refusals) {
  std::array<std::uint8_t, 8> buf{};
  EXPECT_EQ(build_ppp_header(buf, 0x0020, false, false), 0u);  // low byte even
  EXPECT_EQ(build_ppp_header(buf, 0x0121, false, false), 0u);  // high byte odd
  EXPECT_EQ(build_ppp_header(buf, 0x0000, true, true), 0u);
  // 0x00ff compressed would be a lone FF, which a receiver takes for the
  // Address byte; IANA keeps it reserved ("compression inefficient").
  EXPECT_EQ(build_ppp_header(buf, 0x00ff, true, true), 0u);
  EXPECT_EQ(build_ppp_header(buf, 0x00ff, false, false), 0u);
  std::array<std::uint8_t, 3> small{};
  EXPECT_EQ(build_ppp_header(small, 0x8021, false, false), 0u);
  EXPECT_EQ(build_ppp_header(small, 0x0021, false, true), 3u);
  EXPECT_TRUE(ppp_protocol_valid(0xc021));
  EXPECT_FALSE(ppp_protocol_valid(0xc020));
}

TEST(PppError, NamesAreDistinct) {
  EXPECT_STREQ(ppp_error_name(PppError::ok), "ok");
  EXPECT_STREQ(ppp_error_name(PppError::truncated), "truncated");
  EXPECT_STREQ(ppp_error_name(PppError::bad_address_control), "bad_address_control");
  EXPECT_STREQ(ppp_error_name(PppError::bad_protocol), "bad_protocol");
}

}  // namespace
}  // namespace l2tpgw::wire
