// The default policy against the proposals Windows, macOS/iOS and Android
// send (built by scapy in gen_vectors.py), and the refusals it must log.
#include "controlplane/ike/proposal.h"

#include <gtest/gtest.h>

#include "tests/unit/ike/test_util.h"
#include "tests/unit/ike/vectors.h"

namespace l2tpgw::ike {
namespace {

using test::hex;
using test::to_hex;

struct Parsed {
  Bytes msg;
  Message m;
  SecurityAssociation sa;
};

// Parsed in place: the views point into `msg`, so the object is not moved.
void parse(const char* v, Parsed& p) {
  p.msg = hex(v);
  ASSERT_EQ(parse_message(p.msg, p.m), ParseError::none);
  const auto* sa = p.m.find(PayloadType::sa);
  ASSERT_NE(sa, nullptr);
  ASSERT_EQ(parse_sa(sa->body, p.sa), ParseError::none);
}

bool contains(const std::string& s, std::string_view what) {
  return s.find(what) != std::string::npos;
}

TEST(Phase1Policy, WindowsFirstTransformChosen) {
  Parsed p;
  parse(vec::windows_mm1, p);
  const auto m = match_phase1(p.sa, default_phase1_policy());
  ASSERT_TRUE(m.chosen) << m.failure();
  EXPECT_EQ(m.chosen->transform_number, 1);
  EXPECT_EQ(m.chosen->suite,
            (Phase1Suite{{Cipher::aes_cbc, 256}, Hash::sha1, AuthMethod::psk, DhGroup::ecp384}));
  EXPECT_EQ(m.chosen->life_seconds, 28800U);
  EXPECT_EQ(m.transform, &p.sa.proposals[0].transforms[0]);
}

TEST(Phase1Policy, EveryClientTransformIsAccepted) {
  const auto policy = default_phase1_policy();
  for (const char* v : {vec::windows_mm1, vec::macos_mm1, vec::android_mm1}) {
    Parsed p;
    parse(v, p);
    for (const auto& t : p.sa.proposals[0].transforms) {
      const auto d = decode_phase1(p.sa.proposals[0], t);
      ASSERT_TRUE(d.problem.empty()) << d.describe();
      const auto why = policy.refusal(d.suite);
      if (d.suite.hash == Hash::md5) {
        EXPECT_EQ(why, "MD5 refused");
      } else {
        EXPECT_EQ(why, "") << d.describe();
      }
    }
  }
}

TEST(Phase1Policy, MacosAndAndroidChoices) {
  Parsed mac;
  parse(vec::macos_mm1, mac);
  auto m = match_phase1(mac.sa, default_phase1_policy());
  ASSERT_TRUE(m.chosen);
  EXPECT_EQ(m.chosen->suite.describe(), "AES-CBC-256/SHA2-256/MODP2048/PSK");

  Parsed android;
  parse(vec::android_mm1, android);
  m = match_phase1(android.sa, default_phase1_policy());
  ASSERT_TRUE(m.chosen);
  EXPECT_EQ(m.chosen->suite.describe(), "AES-CBC-256/SHA2-256/MODP1024/PSK");
  EXPECT_EQ(m.chosen->life_seconds, 3600U);

  auto strict = default_phase1_policy();
  strict.allow_modp1024 = false;
  m = match_phase1(android.sa, strict);
  EXPECT_FALSE(m.chosen);
  EXPECT_TRUE(contains(m.failure(), "MODP1024 refused")) << m.failure();
  EXPECT_FALSE(contains(m.configured, "MODP1024"));
}

TEST(Phase1Policy, Md5OnlyRefused) {
  Parsed p;
  parse(vec::md5_only_mm1, p);
  const auto m = match_phase1(p.sa, default_phase1_policy());
  EXPECT_FALSE(m.chosen);
  const auto f = m.failure();
  EXPECT_TRUE(contains(f,
                       "no proposal chosen: offered [#1.1 (3DES-CBC-192/MD5/MODP1024/PSK: MD5 "
                       "refused), #1.2 (AES-CBC-128/MD5/MODP2048/PSK: MD5 refused)]"))
      << f;
  EXPECT_TRUE(contains(f,
                       "configured [{AES-CBC-256,AES-CBC-128,3DES-CBC-192}/"
                       "{SHA2-256,SHA1,SHA2-384,SHA2-512}/"
                       "{ECP384,ECP256,MODP4096,MODP3072,MODP2048,MODP1536,MODP1024}/"
                       "{PSK,RSA-SIG}]"))
      << f;
  auto lax = default_phase1_policy();
  lax.allow_md5 = true;
  EXPECT_FALSE(match_phase1(p.sa, lax).chosen);  // allowed, but not configured
  lax.suites.push_back({{Cipher::des3_cbc, 192}, Hash::md5, AuthMethod::psk, DhGroup::modp1024});
  EXPECT_TRUE(match_phase1(p.sa, lax).chosen);
}

TEST(Phase1Policy, XauthDesAndUnknownGroupNamed) {
  Parsed p;
  parse(vec::xauth_mm1, p);
  const auto m = match_phase1(p.sa, default_phase1_policy());
  EXPECT_FALSE(m.chosen);
  EXPECT_TRUE(contains(m.offered, "#1.1 (XAUTH/hybrid auth method 65001 refused)")) << m.offered;
  EXPECT_TRUE(contains(m.offered, "#1.2 (encryption 1 (DES) not supported)")) << m.offered;
  EXPECT_TRUE(contains(m.offered, "#1.3 (DH group 18 not supported)")) << m.offered;
}

TEST(Phase1Policy, TlvLifetimes) {
  Parsed p;
  parse(vec::lifetime_mm1, p);
  const auto m = match_phase1(p.sa, default_phase1_policy());
  ASSERT_TRUE(m.chosen);
  EXPECT_EQ(m.chosen->life_seconds, 86400U);
  EXPECT_EQ(m.chosen->life_kilobytes, 250000U);
}

TEST(Phase1Policy, ReplyCarriesOnlyTheChosenTransform) {
  Parsed p;
  parse(vec::macos_mm1, p);
  auto policy = default_phase1_policy();
  policy.suites = {{{Cipher::des3_cbc, 192}, Hash::sha1, AuthMethod::psk, DhGroup::modp2048}};
  const auto m = match_phase1(p.sa, policy);
  ASSERT_TRUE(m.chosen);
  EXPECT_EQ(m.chosen->transform_number, 5);
  const auto reply = reply_sa(p.sa, *m.proposal, *m.transform);
  SecurityAssociation back;
  ASSERT_EQ(parse_sa(reply, back), ParseError::none);
  ASSERT_EQ(back.proposals.size(), 1U);
  ASSERT_EQ(back.proposals[0].transforms.size(), 1U);
  // Identical to the offered transform except its Next Payload (now last).
  EXPECT_EQ(to_hex(back.proposals[0].transforms[0].whole.subspan(1)),
            to_hex(m.transform->whole.subspan(1)));
  EXPECT_EQ(back.proposals[0].transforms[0].whole[0], 0);
}

TEST(Phase1Policy, AesNeedsKeyLength) {
  ProposalSpec ps{1, 1, {}, {}};
  TransformSpec ts{1, key_ike, {}};
  append_attribute_tv(ts.attributes, p1_attr::encryption, 7);
  append_attribute_tv(ts.attributes, p1_attr::hash, 2);
  append_attribute_tv(ts.attributes, p1_attr::auth_method, 1);
  append_attribute_tv(ts.attributes, p1_attr::group, 14);
  ps.transforms.push_back(ts);
  const auto body = encode_sa(doi_ipsec, sit_identity_only, std::span<const ProposalSpec>(&ps, 1));
  SecurityAssociation sa;
  ASSERT_EQ(parse_sa(body, sa), ParseError::none);
  const auto d = decode_phase1(sa.proposals[0], sa.proposals[0].transforms[0]);
  EXPECT_EQ(d.problem, "AES without a key length");
}

TEST(Phase2Policy, WindowsQuickMode) {
  Parsed p;
  parse(vec::windows_qm1, p);
  const auto m = match_phase2(p.sa, default_phase2_policy());
  ASSERT_TRUE(m.chosen) << m.failure();
  const auto& t = *m.chosen;
  EXPECT_EQ(t.transform_number, 1);
  EXPECT_EQ(t.spi, 0xc0ffee01U);
  EXPECT_EQ(t.suite, (Phase2Suite{EspId::aes_cbc, 256, EspAuthAlg::hmac_sha1}));
  EXPECT_EQ(t.encapsulation, EncapMode::udp_transport);
  EXPECT_TRUE(is_udp_encapsulated(t.encapsulation));
  EXPECT_EQ(t.life_seconds, 3600U);
  EXPECT_EQ(t.life_kilobytes, 250000U);
  EXPECT_FALSE(t.pfs_group);
  const auto dp = to_dataplane(t.suite);
  ASSERT_TRUE(dp);
  EXPECT_EQ(dp->first, EspCipher::aes_cbc_256);
  EXPECT_EQ(dp->second, EspAuth::hmac_sha1_96);
  // The DES and MD5 transforms are refused by name.
  EXPECT_TRUE(contains(m.offered, "#1.4 (ESP transform 2 not supported)")) << m.offered;
  EXPECT_TRUE(contains(m.offered, "HMAC-MD5 refused")) << m.offered;
  // The reply carries our SPI.
  const auto reply = reply_sa(p.sa, *m.proposal, *m.transform, hex("12345678"));
  SecurityAssociation back;
  ASSERT_EQ(parse_sa(reply, back), ParseError::none);
  EXPECT_EQ(to_hex(back.proposals[0].spi), "12345678");
  EXPECT_EQ(back.proposals[0].transforms.size(), 1U);
}

TEST(Phase2Policy, MacosSha256AndTruncation) {
  Parsed p;
  parse(vec::macos_qm1, p);
  auto m = match_phase2(p.sa, default_phase2_policy());
  ASSERT_TRUE(m.chosen);
  EXPECT_EQ(m.chosen->suite, (Phase2Suite{EspId::aes_cbc, 256, EspAuthAlg::hmac_sha256}));
  EXPECT_EQ(m.chosen->encapsulation, EncapMode::udp_transport_draft);
  EXPECT_EQ(to_dataplane(m.chosen->suite)->second, EspAuth::hmac_sha256_128);
  // Configured for the 96-bit truncation of the earlier draft: the same
  // choice, installed as HMAC-SHA256-96.
  auto old_macos = default_phase2_policy();
  old_macos.sha256_icv_bits = 96;
  m = match_phase2(p.sa, old_macos);
  ASSERT_TRUE(m.chosen);
  EXPECT_EQ(m.chosen->suite, (Phase2Suite{EspId::aes_cbc, 256, EspAuthAlg::hmac_sha256}));
  EXPECT_EQ(to_dataplane(m.chosen->suite, 96)->second, EspAuth::hmac_sha256_96);
  // Any other length is none the data plane has: SHA2-256 is passed over.
  auto odd = default_phase2_policy();
  odd.sha256_icv_bits = 64;
  m = match_phase2(p.sa, odd);
  ASSERT_TRUE(m.chosen);
  EXPECT_EQ(m.chosen->suite.auth, EspAuthAlg::hmac_sha1);
  EXPECT_TRUE(contains(m.offered, "not implemented by the data plane")) << m.offered;
}

TEST(Phase2Policy, PfsModesAndRefusals) {
  Parsed p;
  parse(vec::pfs_qm1, p);
  auto m = match_phase2(p.sa, default_phase2_policy());
  ASSERT_TRUE(m.chosen);
  EXPECT_EQ(m.chosen->pfs_group, DhGroup::modp2048);
  EXPECT_EQ(m.chosen->encapsulation, EncapMode::transport);
  auto no_pfs = default_phase2_policy();
  no_pfs.pfs_groups.clear();
  m = match_phase2(p.sa, no_pfs);
  EXPECT_FALSE(m.chosen);
  const auto f = m.failure();
  EXPECT_TRUE(contains(f, "PFS group not configured")) << f;
  EXPECT_TRUE(contains(f, "HMAC-MD5 refused")) << f;
  EXPECT_TRUE(contains(f, "tunnel mode refused")) << f;
  EXPECT_TRUE(contains(f, "configured [ESP AES-CBC-256/HMAC-SHA1")) << f;
}

TEST(Phase2Policy, CombinedProposalsRefused) {
  ProposalSpec esp{1, 3, hex("00000101"), {}};
  TransformSpec t{1, 12, {}};
  append_attribute_tv(t.attributes, p2_attr::encapsulation, 2);
  append_attribute_tv(t.attributes, p2_attr::auth_algorithm, 2);
  append_attribute_tv(t.attributes, p2_attr::key_length, 128);
  esp.transforms.push_back(t);
  ProposalSpec ah{1, 2, hex("00000102"), {{1, 3, {}}}};
  append_attribute_tv(ah.transforms[0].attributes, p2_attr::auth_algorithm, 2);
  const ProposalSpec both[] = {ah, esp};
  const auto body = encode_sa(doi_ipsec, sit_identity_only, both);
  SecurityAssociation sa;
  ASSERT_EQ(parse_sa(body, sa), ParseError::none);
  const auto m = match_phase2(sa, default_phase2_policy());
  EXPECT_FALSE(m.chosen);
  EXPECT_TRUE(contains(m.offered, "combined with another protocol")) << m.offered;
  EXPECT_TRUE(contains(m.offered, "protocol 2 is not ESP")) << m.offered;
}

}  // namespace
}  // namespace l2tpgw::ike
