// ISAKMP codecs against messages built by scapy (and struct where scapy has
// no layer) in gen_vectors.py.
#include "controlplane/ike/isakmp.h"

#include <gtest/gtest.h>

#include "tests/unit/ike/test_util.h"
#include "tests/unit/ike/vectors.h"

namespace l2tpgw::ike {
namespace {

using test::hex;
using test::to_hex;

std::vector<std::uint8_t> bytes(ByteView v) {
  return {v.begin(), v.end()};
}

TEST(IsakmpHeader, WindowsMainMode1) {
  const auto msg = hex(vec::windows_mm1);
  Message m;
  ASSERT_EQ(parse_message(msg, m), ParseError::none);
  EXPECT_EQ(to_hex(m.header.icookie), "0102030405060708");
  EXPECT_EQ(to_hex(m.header.rcookie), "0000000000000000");
  EXPECT_EQ(m.header.major, 1);
  EXPECT_EQ(m.header.minor, 0);
  EXPECT_EQ(m.header.exchange, static_cast<std::uint8_t>(ExchangeType::main_mode));
  EXPECT_EQ(m.header.flags, 0);
  EXPECT_EQ(m.header.message_id, 0U);
  EXPECT_EQ(m.header.length, msg.size());
  ASSERT_EQ(m.payloads.size(), 7U);
  EXPECT_EQ(m.payloads[0].type, static_cast<std::uint8_t>(PayloadType::sa));
  for (std::size_t i = 1; i < 7; ++i) {
    EXPECT_EQ(m.payloads[i].type, static_cast<std::uint8_t>(PayloadType::vendor_id));
  }
  EXPECT_EQ(to_hex(m.payloads[2].body), vec::vid_rfc3947);
}

TEST(IsakmpHeader, WriteMatchesScapy) {
  const auto msg = hex(vec::mm3);
  Header h;
  ASSERT_EQ(parse_header(msg, h), ParseError::none);
  std::array<std::uint8_t, header_len> out{};
  write_header(h, out);
  EXPECT_EQ(to_hex(out), to_hex(ByteView(msg).first(header_len)));
}

TEST(IsakmpSa, WindowsProposal) {
  const auto msg = hex(vec::windows_mm1);
  Message m;
  ASSERT_EQ(parse_message(msg, m), ParseError::none);
  SecurityAssociation sa;
  ASSERT_EQ(parse_sa(m.payloads[0].body, sa), ParseError::none);
  EXPECT_EQ(sa.doi, doi_ipsec);
  EXPECT_EQ(sa.situation, sit_identity_only);
  ASSERT_EQ(sa.proposals.size(), 1U);
  const auto& p = sa.proposals[0];
  EXPECT_EQ(p.number, 1);
  EXPECT_EQ(p.protocol, static_cast<std::uint8_t>(ProtocolId::isakmp));
  EXPECT_TRUE(p.spi.empty());
  ASSERT_EQ(p.transforms.size(), 5U);
  const auto& t = p.transforms[0];
  EXPECT_EQ(t.number, 1);
  EXPECT_EQ(t.id, 1);
  ASSERT_EQ(t.attributes.size(), 7U);
  const std::pair<std::uint16_t, std::uint64_t> want[] = {{1, 7},  {14, 256}, {2, 2},     {3, 1},
                                                          {4, 20}, {11, 1},   {12, 28800}};
  for (std::size_t i = 0; i < 7; ++i) {
    EXPECT_EQ(t.attributes[i].type, want[i].first);
    EXPECT_TRUE(t.attributes[i].tv);
    EXPECT_EQ(t.attributes[i].integer(), want[i].second);
  }
  EXPECT_EQ(p.transforms[4].find(4)->integer(), 2U);
  EXPECT_EQ(p.transforms[4].find(14), nullptr);
}

TEST(IsakmpSa, EncodeReproducesScapyBytes) {
  for (const char* v : {vec::windows_mm1, vec::macos_mm1, vec::android_mm1, vec::windows_qm1}) {
    const auto msg = hex(v);
    Message m;
    ASSERT_EQ(parse_message(msg, m), ParseError::none);
    const auto* sa_payload = m.find(PayloadType::sa);
    ASSERT_NE(sa_payload, nullptr);
    SecurityAssociation sa;
    ASSERT_EQ(parse_sa(sa_payload->body, sa), ParseError::none);
    std::vector<ProposalSpec> specs;
    for (const auto& p : sa.proposals) {
      ProposalSpec ps{p.number, p.protocol, bytes(p.spi), {}};
      for (const auto& t : p.transforms) {
        ps.transforms.push_back({t.number, t.id, bytes(t.whole.subspan(8))});
      }
      specs.push_back(std::move(ps));
    }
    EXPECT_EQ(to_hex(encode_sa(sa.doi, sa.situation, specs)), to_hex(sa_payload->body));
  }
}

TEST(IsakmpBuilder, RebuildsScapyMessages) {
  for (const char* v : {vec::windows_mm1, vec::mm3, vec::mm5_plain, vec::windows_qm1,
                        vec::info_dpd_delete, vec::cert_cr_sig}) {
    const auto msg = hex(v);
    Message m;
    ASSERT_EQ(parse_message(msg, m), ParseError::none);
    MessageBuilder b(m.header);
    for (const auto& p : m.payloads) {
      b.add(static_cast<PayloadType>(p.type), p.body);
    }
    EXPECT_EQ(to_hex(std::move(b).finish()), to_hex(msg));
  }
}

TEST(IsakmpAttributes, TlvLifetimes) {
  const auto msg = hex(vec::lifetime_mm1);
  Message m;
  ASSERT_EQ(parse_message(msg, m), ParseError::none);
  SecurityAssociation sa;
  ASSERT_EQ(parse_sa(m.payloads[0].body, sa), ParseError::none);
  const auto& attrs = sa.proposals[0].transforms[0].attributes;
  ASSERT_EQ(attrs.size(), 9U);
  EXPECT_FALSE(attrs[6].tv);
  EXPECT_EQ(attrs[6].integer(), 86400U);
  EXPECT_FALSE(attrs[8].tv);
  EXPECT_EQ(attrs[8].integer(), 250000U);
}

TEST(IsakmpAttributes, EncodeForms) {
  Bytes out;
  append_attribute_int(out, 12, 28800);
  append_attribute_int(out, 12, 86400);
  EXPECT_EQ(to_hex(out), "800c7080000c000400015180");
  std::vector<Attribute> attrs;
  ASSERT_EQ(parse_attributes(out, attrs), ParseError::none);
  EXPECT_EQ(attrs[1].integer(), 86400U);
}

TEST(IsakmpPayloads, MainMode3) {
  const auto msg = hex(vec::mm3);
  Message m;
  ASSERT_EQ(parse_message(msg, m), ParseError::none);
  ASSERT_EQ(m.payloads.size(), 4U);
  EXPECT_EQ(m.payloads[0].type, 4);
  EXPECT_EQ(to_hex(m.payloads[0].body), vec::mm3_ke);
  EXPECT_EQ(parse_opaque(m.payloads[0].body), ParseError::none);
  EXPECT_EQ(m.payloads[1].type, 10);
  EXPECT_EQ(parse_nonce(m.payloads[1].body), ParseError::none);
  EXPECT_EQ(to_hex(m.payloads[1].body), vec::mm3_nonce);
  EXPECT_EQ(m.payloads[2].type, static_cast<std::uint8_t>(PayloadType::nat_d));
  EXPECT_EQ(to_hex(m.payloads[2].body), vec::mm3_natd1);
  EXPECT_EQ(to_hex(m.payloads[3].body), vec::mm3_natd2);
}

TEST(IsakmpPayloads, MainMode5IdHashInitialContact) {
  const auto msg = hex(vec::mm5_plain);
  Message m;
  ASSERT_EQ(parse_message(msg, m), ParseError::none);
  ASSERT_EQ(m.payloads.size(), 3U);
  Identification id;
  ASSERT_EQ(parse_id(m.payloads[0].body, id), ParseError::none);
  EXPECT_EQ(id.type, static_cast<std::uint8_t>(IdType::ipv4_addr));
  EXPECT_EQ(id.protocol, 17);
  EXPECT_EQ(id.port, 500);
  EXPECT_EQ(id.ipv4(), 0xC000020AU);
  EXPECT_EQ(to_hex(encode_id(IdType::ipv4_addr, 17, 500, id.data)), to_hex(m.payloads[0].body));
  EXPECT_EQ(to_hex(m.payloads[1].body), vec::mm5_hash);
  Notification n;
  ASSERT_EQ(parse_notification(m.payloads[2].body, n), ParseError::none);
  EXPECT_EQ(n.type, static_cast<std::uint16_t>(NotifyType::initial_contact));
  EXPECT_EQ(n.doi, doi_ipsec);
  EXPECT_EQ(n.protocol, 1);
  EXPECT_EQ(to_hex(n.spi), "0102030405060708a1a2a3a4a5a6a7a8");
  EXPECT_TRUE(n.data.empty());
  EXPECT_FALSE(n.is_error());
  EXPECT_EQ(name(static_cast<NotifyType>(n.type)), "INITIAL-CONTACT");
  EXPECT_EQ(to_hex(encode_notification(doi_ipsec, 1, NotifyType::initial_contact, n.spi, {})),
            to_hex(m.payloads[2].body));
}

TEST(IsakmpPayloads, QuickMode1) {
  const auto msg = hex(vec::windows_qm1);
  Message m;
  ASSERT_EQ(parse_message(msg, m), ParseError::none);
  EXPECT_EQ(m.header.exchange, static_cast<std::uint8_t>(ExchangeType::quick_mode));
  EXPECT_EQ(m.header.message_id, 0x11223344U);
  ASSERT_EQ(m.payloads.size(), 7U);
  const std::uint8_t types[] = {8, 1, 10, 5, 5, 21, 21};
  for (std::size_t i = 0; i < 7; ++i) {
    EXPECT_EQ(m.payloads[i].type, types[i]);
  }
  SecurityAssociation sa;
  ASSERT_EQ(parse_sa(m.payloads[1].body, sa), ParseError::none);
  ASSERT_EQ(sa.proposals.size(), 1U);
  EXPECT_EQ(sa.proposals[0].protocol, static_cast<std::uint8_t>(ProtocolId::esp));
  EXPECT_EQ(to_hex(sa.proposals[0].spi), "c0ffee01");
  EXPECT_EQ(sa.proposals[0].transforms.size(), 5U);
  Identification ci, cr;
  ASSERT_EQ(parse_id(m.payloads[3].body, ci), ParseError::none);
  ASSERT_EQ(parse_id(m.payloads[4].body, cr), ParseError::none);
  EXPECT_EQ(ci.port, 1701);
  EXPECT_EQ(ci.ipv4(), 0xC0A80114U);
  EXPECT_EQ(cr.ipv4(), 0xC6336407U);
  NatOa oa;
  ASSERT_EQ(parse_nat_oa(m.payloads[5].body, oa), ParseError::none);
  EXPECT_EQ(to_hex(oa.address), "c0a80114");
  EXPECT_EQ(to_hex(encode_nat_oa(oa.address)), to_hex(m.payloads[5].body));
  ASSERT_EQ(parse_nat_oa(m.payloads[6].body, oa), ParseError::none);
  EXPECT_EQ(to_hex(oa.address), "c6336407");
}

TEST(IsakmpPayloads, DpdAndDelete) {
  const auto msg = hex(vec::info_dpd_delete);
  Message m;
  ASSERT_EQ(parse_message(msg, m), ParseError::none);
  EXPECT_EQ(m.header.exchange, static_cast<std::uint8_t>(ExchangeType::informational));
  ASSERT_EQ(m.payloads.size(), 3U);
  Notification n;
  ASSERT_EQ(parse_notification(m.payloads[1].body, n), ParseError::none);
  EXPECT_EQ(n.type, static_cast<std::uint16_t>(NotifyType::dpd_r_u_there));
  EXPECT_EQ(n.dpd_sequence(), 0x01020304U);
  Cookie ic{}, rc{};
  std::copy_n(m.header.icookie.begin(), 8, ic.begin());
  std::copy_n(m.header.rcookie.begin(), 8, rc.begin());
  EXPECT_EQ(to_hex(encode_dpd(NotifyType::dpd_r_u_there, ic, rc, 0x01020304)),
            to_hex(m.payloads[1].body));
  Delete d;
  ASSERT_EQ(parse_delete(m.payloads[2].body, d), ParseError::none);
  EXPECT_EQ(d.protocol, static_cast<std::uint8_t>(ProtocolId::esp));
  EXPECT_EQ(d.count, 2);
  EXPECT_EQ(to_hex(d.spi(0)), "c0ffee01");
  EXPECT_EQ(to_hex(d.spi(1)), "0badf00d");
  const ByteView spis[] = {d.spi(0), d.spi(1)};
  EXPECT_EQ(to_hex(encode_delete(doi_ipsec, 3, 4, spis)), to_hex(m.payloads[2].body));
}

TEST(IsakmpPayloads, CertCrSig) {
  const auto msg = hex(vec::cert_cr_sig);
  Message m;
  ASSERT_EQ(parse_message(msg, m), ParseError::none);
  ASSERT_EQ(m.payloads.size(), 4U);
  Certificate c;
  ASSERT_EQ(parse_cert(m.payloads[0].body, c), ParseError::none);
  EXPECT_EQ(c.encoding, 4);
  EXPECT_EQ(c.data.size(), 16U);
  EXPECT_EQ(to_hex(encode_cert(4, c.data)), to_hex(m.payloads[0].body));
  CertificateRequest cr;
  ASSERT_EQ(parse_cert_request(m.payloads[1].body, cr), ParseError::none);
  EXPECT_EQ(cr.type, 4);
  EXPECT_TRUE(cr.authority.empty());
  ASSERT_EQ(parse_cert_request(m.payloads[2].body, cr), ParseError::none);
  EXPECT_EQ(to_hex(cr.authority), "434e");
  EXPECT_EQ(m.payloads[3].type, static_cast<std::uint8_t>(PayloadType::signature));
  EXPECT_EQ(m.payloads[3].body.size(), 128U);
}

TEST(IsakmpPayloads, Fragment) {
  const auto msg = hex(vec::fragment_msg);
  Message m;
  ASSERT_EQ(parse_message(msg, m), ParseError::none);
  ASSERT_EQ(m.payloads.size(), 1U);
  EXPECT_EQ(m.payloads[0].type, static_cast<std::uint8_t>(PayloadType::fragment));
  Fragment f;
  ASSERT_EQ(parse_fragment(m.payloads[0].body, f), ParseError::none);
  EXPECT_EQ(f.id, 7);
  EXPECT_EQ(f.number, 2);
  EXPECT_TRUE(f.last);
  EXPECT_EQ(std::string(f.data.begin(), f.data.end()), "fragment-data");
}

TEST(IsakmpPayloads, DraftNatPayloadNumbers) {
  // Older clients number NAT-D and NAT-OA 130 and 131.
  const auto msg = hex(vec::mm3);
  Message m;
  ASSERT_EQ(parse_message(msg, m), ParseError::none);
  MessageBuilder b(m.header);
  b.add(PayloadType::nat_d_draft, m.payloads[2].body);
  b.add(PayloadType::nat_oa_draft, encode_nat_oa(hex("c0a80114")));
  const auto built = std::move(b).finish();
  EXPECT_EQ(built[16], 130);
  Message back;
  ASSERT_EQ(parse_message(built, back), ParseError::none);
  ASSERT_EQ(back.payloads.size(), 2U);
  EXPECT_EQ(back.payloads[0].type, 130);
  EXPECT_EQ(back.payloads[0].whole[0], 131);
  EXPECT_EQ(to_hex(back.payloads[0].body), vec::mm3_natd1);
  NatOa oa;
  ASSERT_EQ(parse_nat_oa(back.payloads[1].body, oa), ParseError::none);
  EXPECT_EQ(to_hex(oa.address), "c0a80114");
}

TEST(IsakmpPayloads, IdTypes) {
  Identification id;
  const auto fqdn = encode_id(IdType::fqdn, 0, 0, hex("76706e2e6578616d706c65"));
  ASSERT_EQ(parse_id(fqdn, id), ParseError::none);
  EXPECT_EQ(id.type, 2);
  const auto subnet = encode_id(IdType::ipv4_addr_subnet, 17, 1701, hex("c0a80100ffffff00"));
  ASSERT_EQ(parse_id(subnet, id), ParseError::none);
  EXPECT_EQ(id.ipv4(), 0xC0A80100U);
  EXPECT_EQ(id.ipv4_mask(), 0xFFFFFF00U);
  const auto dn = encode_id(IdType::der_asn1_dn, 0, 0, hex("3000"));
  EXPECT_EQ(parse_id(dn, id), ParseError::none);
  const auto ufqdn = encode_id(IdType::user_fqdn, 0, 0, hex("61406221"));
  EXPECT_EQ(parse_id(ufqdn, id), ParseError::none);
  EXPECT_EQ(parse_id(encode_id(IdType::ipv4_addr, 0, 0, hex("c0a801")), id), ParseError::bad_id);
  EXPECT_EQ(parse_id(encode_id(IdType::fqdn, 0, 0, {}), id), ParseError::bad_id);
  EXPECT_EQ(parse_id(hex("63000000aa"), id), ParseError::bad_id);
}

}  // namespace
}  // namespace l2tpgw::ike
