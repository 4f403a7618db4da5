// Hostile input: every message and payload truncated at every length, lying
// lengths, unknown payload types, bad versions and counts. Each must give a
// named error and never read outside the buffer (the ASan build checks that).
#include <gtest/gtest.h>

#include <random>

#include "controlplane/ike/isakmp.h"
#include "controlplane/ike/proposal.h"
#include "tests/unit/ike/test_util.h"
#include "tests/unit/ike/vectors.h"

namespace l2tpgw::ike {
namespace {

using test::hex;

const char* const all_messages[] = {vec::windows_mm1,  vec::macos_mm1,   vec::android_mm1,
                                    vec::md5_only_mm1, vec::xauth_mm1,   vec::lifetime_mm1,
                                    vec::mm3,          vec::mm5_plain,   vec::windows_qm1,
                                    vec::macos_qm1,    vec::pfs_qm1,     vec::info_dpd_delete,
                                    vec::cert_cr_sig,  vec::fragment_msg};

// Runs every body parser the payload type has; returns the first error.
ParseError parse_body(std::uint8_t type, ByteView body) {
  switch (static_cast<PayloadType>(type)) {
    case PayloadType::sa: {
      SecurityAssociation sa;
      const auto e = parse_sa(body, sa);
      if (e == ParseError::none) {
        // Decoding must cope with whatever the parse accepted.
        (void)match_phase1(sa, default_phase1_policy());
        (void)match_phase2(sa, default_phase2_policy());
      }
      return e;
    }
    case PayloadType::identification: {
      Identification id;
      return parse_id(body, id);
    }
    case PayloadType::certificate: {
      Certificate c;
      return parse_cert(body, c);
    }
    case PayloadType::certificate_request: {
      CertificateRequest c;
      return parse_cert_request(body, c);
    }
    case PayloadType::nonce:
      return parse_nonce(body);
    case PayloadType::notification: {
      Notification n;
      const auto e = parse_notification(body, n);
      if (e == ParseError::none) {
        (void)n.dpd_sequence();
      }
      return e;
    }
    case PayloadType::delete_: {
      Delete d;
      const auto e = parse_delete(body, d);
      if (e == ParseError::none) {
        for (std::size_t i = 0; i < d.count; ++i) {
          (void)d.spi(i);
        }
      }
      return e;
    }
    case PayloadType::nat_oa:
    case PayloadType::nat_oa_draft: {
      NatOa oa;
      return parse_nat_oa(body, oa);
    }
    case PayloadType::fragment: {
      Fragment f;
      return parse_fragment(body, f);
    }
    default:
      return parse_opaque(body);
  }
}

TEST(IkeHostile, EveryMessageTruncatedAtEveryLength) {
  for (const char* v : all_messages) {
    const auto msg = hex(v);
    for (std::size_t n = 0; n < msg.size(); ++n) {
      // The datagram cut short: the header length now lies.
      std::vector<std::uint8_t> cut(msg.begin(), msg.begin() + static_cast<std::ptrdiff_t>(n));
      Message m;
      const auto e = parse_message(cut, m);
      EXPECT_EQ(e, ParseError::truncated) << n;
      // The same bytes with the length field agreeing: the payload chain is cut.
      if (n >= header_len) {
        cut[24] = static_cast<std::uint8_t>(n >> 24);
        cut[25] = static_cast<std::uint8_t>(n >> 16);
        cut[26] = static_cast<std::uint8_t>(n >> 8);
        cut[27] = static_cast<std::uint8_t>(n);
        const auto e2 = parse_message(cut, m);
        EXPECT_TRUE(e2 == ParseError::truncated || e2 == ParseError::lying_length) << n;
      }
    }
  }
}

TEST(IkeHostile, EveryPayloadBodyTruncatedAtEveryLength) {
  for (const char* v : all_messages) {
    const auto msg = hex(v);
    Message m;
    ASSERT_EQ(parse_message(msg, m), ParseError::none);
    for (const auto& p : m.payloads) {
      EXPECT_EQ(parse_body(p.type, p.body), ParseError::none);
      for (std::size_t n = 0; n < p.body.size(); ++n) {
        // A copy of exactly n bytes, so ASan sees any read past it.
        const std::vector<std::uint8_t> cut(p.body.begin(),
                                            p.body.begin() + static_cast<std::ptrdiff_t>(n));
        const auto e = parse_body(p.type, cut);
        if (p.type == static_cast<std::uint8_t>(PayloadType::sa) ||
            p.type == static_cast<std::uint8_t>(PayloadType::delete_) ||
            p.type == static_cast<std::uint8_t>(PayloadType::nat_oa)) {
          EXPECT_NE(e, ParseError::none) << int(p.type) << " at " << n;
        }
      }
    }
  }
}

TEST(IkeHostile, LyingPayloadLengths) {
  const auto msg = hex(vec::mm3);
  // First payload (KE) at offset 28; its length field at 30.
  for (const std::uint16_t len : {0, 1, 3, 0xFFFF}) {
    auto bad = msg;
    bad[30] = static_cast<std::uint8_t>(len >> 8);
    bad[31] = static_cast<std::uint8_t>(len);
    Message m;
    EXPECT_EQ(parse_message(bad, m), ParseError::lying_length) << len;
  }
  // One byte short of the true length leaves a byte the next header needs.
  auto shorter = msg;
  shorter[31] = static_cast<std::uint8_t>(shorter[31] - 1);
  Message m;
  EXPECT_NE(parse_message(shorter, m), ParseError::none);
}

TEST(IkeHostile, UnknownPayloadTypes) {
  for (const std::uint8_t t : {15, 19, 22, 33, 46, 99, 129, 133, 255}) {
    auto bad = hex(vec::mm3);
    bad[16] = t;  // the header's Next Payload
    Message m;
    EXPECT_EQ(parse_message(bad, m), ParseError::unknown_payload_type) << int(t);
    auto bad2 = hex(vec::mm3);
    bad2[28] = t;  // the KE payload's Next Payload
    EXPECT_EQ(parse_message(bad2, m), ParseError::unknown_payload_type) << int(t);
  }
}

TEST(IkeHostile, VersionsAndHeaderLength) {
  auto msg = hex(vec::windows_mm1);
  Header h;
  msg[17] = 0x20;
  EXPECT_EQ(parse_header(msg, h), ParseError::bad_version);
  msg[17] = 0x11;  // minor versions are tolerated
  EXPECT_EQ(parse_header(msg, h), ParseError::none);
  msg[17] = 0x10;
  msg[24] = msg[25] = msg[26] = 0;
  msg[27] = 27;
  EXPECT_EQ(parse_header(msg, h), ParseError::lying_length);
}

TEST(IkeHostile, TrailingBytes) {
  auto msg = hex(vec::mm3);
  msg.push_back(0);
  const auto n = static_cast<std::uint32_t>(msg.size());
  msg[27] = static_cast<std::uint8_t>(n);
  msg[26] = static_cast<std::uint8_t>(n >> 8);
  Message m;
  EXPECT_EQ(parse_message(msg, m), ParseError::trailing_bytes);
  // After decryption the same bytes are CBC padding.
  std::vector<PayloadView> out;
  EXPECT_EQ(walk_payloads(4, ByteView(msg).subspan(header_len), true, out), ParseError::none);
  EXPECT_EQ(out.size(), 4U);
}

TEST(IkeHostile, SaStructure) {
  const auto msg = hex(vec::windows_mm1);
  Message m;
  ASSERT_EQ(parse_message(msg, m), ParseError::none);
  const Bytes body(m.payloads[0].body.begin(), m.payloads[0].body.end());
  SecurityAssociation sa;
  auto bad = body;
  bad[3] = 2;  // DOI 2
  EXPECT_EQ(parse_sa(bad, sa), ParseError::bad_doi);
  bad = body;
  bad[7] = 2;  // SIT_SECRECY
  EXPECT_EQ(parse_sa(bad, sa), ParseError::bad_situation);
  bad = body;
  bad[8 + 7] = 4;  // proposal says 4 transforms, carries 5
  EXPECT_EQ(parse_sa(bad, sa), ParseError::transform_count_mismatch);
  bad = body;
  bad[8 + 7] = 0;
  EXPECT_EQ(parse_sa(bad, sa), ParseError::transform_count_mismatch);
  bad = body;
  bad[8] = 5;  // the proposal chain continues with a KE
  EXPECT_EQ(parse_sa(bad, sa), ParseError::bad_proposal_chain);
  bad = body;
  bad[8 + 8] = 1;  // first transform followed by an SA
  EXPECT_EQ(parse_sa(bad, sa), ParseError::bad_transform_chain);
  bad = body;
  bad[8 + 6] = 200;  // SPI size beyond the proposal
  EXPECT_EQ(parse_sa(bad, sa), ParseError::bad_spi_size);
  bad = body;
  // First attribute of the first transform as a TLV claiming 0xFFFF bytes.
  bad[8 + 8 + 8] = 0x00;
  bad[8 + 8 + 10] = 0xFF;
  bad[8 + 8 + 11] = 0xFF;
  EXPECT_EQ(parse_sa(bad, sa), ParseError::bad_attribute);
}

TEST(IkeHostile, PayloadSpecific) {
  Notification n;
  EXPECT_EQ(parse_notification(hex("0000000101ff0001aabb"), n), ParseError::bad_spi_size);
  Delete d;
  EXPECT_EQ(parse_delete(hex("0000000103040002c0ffee01"), d), ParseError::bad_spi_size);
  EXPECT_EQ(parse_delete(hex("0000000103000000"), d), ParseError::bad_spi_size);
  NatOa oa;
  EXPECT_EQ(parse_nat_oa(hex("01000000c0a801"), oa), ParseError::bad_nat_oa);
  EXPECT_EQ(parse_nat_oa(hex("02000000c0a80101"), oa), ParseError::bad_nat_oa);
  Fragment f;
  EXPECT_EQ(parse_fragment(hex("00070001aa"), f), ParseError::bad_fragment);
  EXPECT_EQ(parse_fragment(hex("00070101"), f), ParseError::bad_fragment);
  EXPECT_EQ(parse_nonce(hex("00112233445566")), ParseError::bad_nonce);
  EXPECT_EQ(parse_nonce(Bytes(257, 1)), ParseError::bad_nonce);
  EXPECT_EQ(parse_opaque({}), ParseError::empty_payload);
  for (auto e = 0; e <= static_cast<int>(ParseError::bad_fragment); ++e) {
    EXPECT_FALSE(to_string(static_cast<ParseError>(e)).empty());
  }
}

TEST(IkeHostile, TooManyPayloads) {
  Header h;
  MessageBuilder b(h);
  for (std::size_t i = 0; i < max_payloads + 1; ++i) {
    b.add(PayloadType::vendor_id, hex("00"));
  }
  const auto msg = std::move(b).finish();
  Message m;
  EXPECT_EQ(parse_message(msg, m), ParseError::too_many_payloads);
}

// Deterministic mutation of real messages: any outcome but a crash or an
// out-of-bounds read is fine.
TEST(IkeHostile, MutatedMessages) {
  std::mt19937 rng(20240601);
  for (const char* v : all_messages) {
    const auto msg = hex(v);
    for (int round = 0; round < 300; ++round) {
      auto bad = msg;
      const int flips = 1 + static_cast<int>(rng() % 4);
      for (int i = 0; i < flips; ++i) {
        bad[rng() % bad.size()] = static_cast<std::uint8_t>(rng());
      }
      Message m;
      if (parse_message(bad, m) == ParseError::none) {
        for (const auto& p : m.payloads) {
          (void)parse_body(p.type, p.body);
        }
      }
    }
  }
}

}  // namespace
}  // namespace l2tpgw::ike
