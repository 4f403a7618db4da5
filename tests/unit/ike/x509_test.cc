// RSA signatures with X.509 certificates (RFC 2409 §5.1, RFC 4945): the
// CERT/CERTREQ codecs, DNs, chain checks (trust, validity, CRL, key usage),
// ID matching, raw PKCS#1 v1.5 signatures, and whole Main Mode exchanges,
// all against gen_cert_vectors.py (python3-cryptography, RSA by hand).
#include "controlplane/ike/x509.h"

#include <gtest/gtest.h>

#include <random>

#include "controlplane/ike/cipher.h"
#include "controlplane/ike/main_mode.h"
#include "tests/unit/ike/cert_vectors.h"
#include "tests/unit/ike/test_util.h"
#include "tests/unit/ike/vectors.h"

namespace l2tpgw::ike {
namespace {

namespace cv = certvec;
using test::hex;
using test::to_hex;

// A DN from its text; a test failure (not undefined behaviour) when it does not parse.
Bytes dn_of(std::string_view text) {
  auto d = dn_from_text(text);
  EXPECT_TRUE(d) << text;
  return d.value_or(Bytes{});
}

std::vector<ByteView> one(const Bytes& b) {
  return {ByteView(b)};
}

TrustStore store(bool with_crl = true) {
  std::string why;
  auto t = TrustStore::from_pem(cv::ca_pem, with_crl ? cv::crl_pem : "", why);
  EXPECT_TRUE(t) << why;
  return *t;
}

LocalCredential gateway() {
  std::string why;
  auto c = LocalCredential::from_pem(cv::gw_pem, cv::gw_key_pem, why);
  EXPECT_TRUE(c) << why;
  return *c;
}

// ---- codecs ----

TEST(X509Codec, CertRequestNamesTheCa) {
  // Message 4 of the independent exchange carries CERTREQ(X.509, CA DN).
  Message m;
  const auto m4 = hex(cv::rsa_msg4);
  ASSERT_EQ(parse_message(m4, m), ParseError::none);
  const auto* cr = m.find(PayloadType::certificate_request);
  ASSERT_NE(cr, nullptr);
  CertificateRequest req;
  ASSERT_EQ(parse_cert_request(cr->body, req), ParseError::none);
  EXPECT_EQ(req.type, cert_x509_signature);
  EXPECT_EQ(to_hex(req.authority), cv::ca_subject);
  EXPECT_EQ(to_hex(encode_cert_request(cert_x509_signature, hex(cv::ca_subject))),
            to_hex(cr->body));
  // An empty authority: "any CA".
  ASSERT_EQ(parse_cert_request(Bytes{4}, req), ParseError::none);
  EXPECT_TRUE(req.authority.empty());
  EXPECT_EQ(parse_cert_request({}, req), ParseError::truncated);
}

TEST(X509Codec, CertPayload) {
  const auto der = hex(cv::client_der);
  const auto body = encode_cert(cert_x509_signature, der);
  ASSERT_EQ(body.size(), der.size() + 1);
  EXPECT_EQ(body[0], 4);
  Certificate c;
  ASSERT_EQ(parse_cert(body, c), ParseError::none);
  EXPECT_EQ(c.encoding, 4);
  EXPECT_EQ(to_hex(c.data), cv::client_der);
  EXPECT_EQ(parse_cert({}, c), ParseError::truncated);
  EXPECT_EQ(parse_cert(Bytes{4}, c), ParseError::empty_payload);
}

TEST(X509Codec, DistinguishedNames) {
  EXPECT_EQ(dn_text(hex(cv::client_subject)), "C=CH, O=test, CN=client");
  EXPECT_EQ(dn_text(hex(cv::ca_subject)), "C=CH, O=test, CN=Test CA");
  const auto dn = dn_from_text("C=CH, O=test, CN=client");
  ASSERT_TRUE(dn);
  EXPECT_TRUE(dn_equal(*dn, hex(cv::client_subject)));
  // RFC 5280 §7.1: case and spacing do not matter; order and values do.
  EXPECT_TRUE(dn_equal(dn_of("c=ch,o=TEST,  cn=Client"), hex(cv::client_subject)));
  EXPECT_TRUE(dn_equal(dn_of("/C=CH/O=test/CN=client"), hex(cv::client_subject)));
  EXPECT_FALSE(dn_equal(dn_of("C=CH, CN=client, O=test"), hex(cv::client_subject)));
  EXPECT_FALSE(dn_equal(dn_of("C=CH, O=test, CN=clients"), hex(cv::client_subject)));
  for (const char* bad : {"", "CN", "CN=", "=x", "C=CH,, CN=x", "XYZZY=1", "C=CH, O"}) {
    EXPECT_FALSE(dn_from_text(bad)) << bad;
  }
  EXPECT_FALSE(dn_equal(Bytes{0x30, 0x01}, hex(cv::client_subject)));
  EXPECT_NE(dn_text(Bytes{0x30, 0x05, 0x01}).find("malformed DN"), std::string::npos);
}

TEST(X509Codec, HostileDerNeverCrashes) {
  std::mt19937 rng(9);
  const auto der = hex(cv::client_der);
  const auto subject = hex(cv::client_subject);
  const auto ts = store();
  for (std::size_t len = 0; len < der.size(); len += 7) {
    const Bytes cut(der.begin(), der.begin() + static_cast<std::ptrdiff_t>(len));
    EXPECT_FALSE(X509Certificate::from_der(cut));
    EXPECT_EQ(ts.verify(one(cut), cv::check_time).error, CertError::malformed);
  }
  int accepted = 0;
  for (int round = 0; round < 300; ++round) {
    auto bad = der;
    bad[rng() % bad.size()] = static_cast<std::uint8_t>(rng());
    // A changed byte breaks the DER or the CA's signature over it, but for
    // the few bytes outside the signed part that a DER reader tolerates.
    accepted += ts.verify(one(bad), cv::check_time).error == CertError::none ? 1 : 0;
    auto name = subject;
    name[rng() % name.size()] = static_cast<std::uint8_t>(rng());
    (void)dn_text(name);
    (void)dn_equal(name, subject);
  }
  EXPECT_LT(accepted, 10);
  // Bytes after one certificate are not one certificate.
  auto longer = der;
  longer.push_back(0);
  EXPECT_FALSE(X509Certificate::from_der(longer));
}

// ---- chains ----

struct ChainCase {
  const char* name;
  std::vector<const char*> ders;
  bool crl;
  CertError want;
  const char* detail;
};

TEST(X509Trust, ChainChecks) {
  const ChainCase cases[] = {
      {"good", {cv::client_der}, true, CertError::none, ""},
      {"gateway", {cv::gw_der}, true, CertError::none, ""},
      {"other CA",
       {cv::client_other_der},
       true,
       CertError::untrusted,
       "C=CH, O=test, CN=client (issuer C=CH, O=other, CN=Other CA): unable to get local issuer"},
      {"expired",
       {cv::old_der},
       true,
       CertError::expired,
       "C=CH, O=test, CN=old valid until 2011-01-01 00:00:00 UTC"},
      {"not yet valid",
       {cv::future_der},
       true,
       CertError::not_yet_valid,
       "C=CH, O=test, CN=future valid from 2050-01-01 00:00:00 UTC"},
      {"revoked", {cv::revoked_der}, true, CertError::revoked, "C=CH, O=test, CN=revoked"},
      {"revoked, no CRL given", {cv::revoked_der}, false, CertError::none, ""},
      {"no digitalSignature",
       {cv::noku_der},
       true,
       CertError::key_usage,
       "keyUsage without digitalSignature"},
      {"with intermediate", {cv::subclient_der, cv::sub_ca_der}, true, CertError::none, ""},
      {"intermediate missing",
       {cv::subclient_der},
       true,
       CertError::untrusted,
       "CN=subclient (issuer C=CH, O=test, CN=Test Sub CA)"},
      {"none", {}, true, CertError::missing, ""},
  };
  for (const auto& c : cases) {
    std::vector<Bytes> owned;
    for (const auto* d : c.ders) {
      owned.push_back(hex(d));
    }
    std::vector<ByteView> chain(owned.begin(), owned.end());
    const auto r = store(c.crl).verify(chain, cv::check_time);
    EXPECT_EQ(r.error, c.want) << c.name << ": " << r.detail;
    EXPECT_NE(r.detail.find(c.detail), std::string::npos) << c.name << ": " << r.detail;
    EXPECT_EQ(r.leaf.has_value(), c.want == CertError::none) << c.name;
  }
  // The same chain on this machine's clock: the test PKI runs to 2060.
  EXPECT_EQ(store().verify(one(hex(cv::client_der)), std::time(nullptr)).error, CertError::none);
  // After the CA itself expired nothing verifies.
  EXPECT_EQ(store(false).verify(one(hex(cv::client_der)), 2'900'000'000).error, CertError::expired);
}

TEST(X509Trust, BundlesAreChecked) {
  std::string why;
  EXPECT_FALSE(TrustStore::from_pem("not a certificate", "", why));
  EXPECT_NE(why.find("no PEM certificate"), std::string::npos);
  EXPECT_FALSE(TrustStore::from_pem(cv::ca_pem, "garbage", why));
  EXPECT_NE(why.find("no PEM CRL"), std::string::npos);
  const std::string both = std::string(cv::ca_pem) + cv::other_ca_pem;
  const auto t = TrustStore::from_pem(both, cv::crl_pem, why);
  ASSERT_TRUE(t) << why;
  ASSERT_EQ(t->ca_subjects().size(), 2U);
  EXPECT_EQ(to_hex(t->ca_subjects()[0]), cv::ca_subject);
  EXPECT_EQ(t->crl_count(), 1U);
  // Trusting the other CA too makes its client good; its CA has no CRL in
  // the file, which is not a reason to refuse.
  EXPECT_EQ(t->verify(one(hex(cv::client_other_der)), cv::check_time).error, CertError::none);

  EXPECT_FALSE(LocalCredential::from_pem(cv::gw_pem, cv::client_key_pem, why));
  EXPECT_NE(why.find("does not belong"), std::string::npos) << why;
  EXPECT_FALSE(LocalCredential::from_pem(cv::gw_pem, "", why));
  EXPECT_FALSE(LocalCredential::from_pem("", cv::gw_key_pem, why));
  const auto g = gateway();
  EXPECT_EQ(g.subject(), "C=CH, O=test, CN=gw");
  EXPECT_EQ(to_hex(g.subject_der()), cv::gw_subject);
  ASSERT_EQ(g.chain().size(), 1U);
  EXPECT_EQ(to_hex(g.chain()[0]), cv::gw_der);
}

TEST(X509Trust, IdentityMatchesSubjectOrAltName) {
  const auto c = X509Certificate::from_der(hex(cv::client_der));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->subject(), "C=CH, O=test, CN=client");
  EXPECT_EQ(c->issuer(), "C=CH, O=test, CN=Test CA");
  EXPECT_EQ(c->alt_names(), "DNS:client.example.org, IP:198.51.100.5, email:client@example.org");
  auto id = [](IdType t, const Bytes& data) {
    Identification i;
    i.type = static_cast<std::uint8_t>(t);
    i.data = data;
    return i;
  };
  const auto subject = hex(cv::client_subject);
  const Bytes fqdn{'C', 'l', 'i', 'e', 'n', 't', '.', 'e', 'x',
                   'a', 'm', 'p', 'l', 'e', '.', 'o', 'r', 'g'};
  const Bytes other_fqdn{'g', 'w', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'o', 'r', 'g'};
  const Bytes ip{198, 51, 100, 5}, other_ip{198, 51, 100, 6};
  const auto gw_subject = hex(cv::gw_subject);
  EXPECT_TRUE(c->names(id(IdType::der_asn1_dn, subject)));
  EXPECT_TRUE(c->names(id(IdType::fqdn, fqdn)));
  EXPECT_TRUE(c->names(id(IdType::ipv4_addr, ip)));
  EXPECT_FALSE(c->names(id(IdType::der_asn1_dn, gw_subject)));
  EXPECT_FALSE(c->names(id(IdType::fqdn, other_fqdn)));
  EXPECT_FALSE(c->names(id(IdType::ipv4_addr, other_ip)));
  EXPECT_FALSE(c->names(id(IdType::key_id, subject)));
  // The address is not a DNS name, the DNS name not a mail address.
  EXPECT_FALSE(c->names(id(IdType::user_fqdn, fqdn)));
}

// ---- signatures ----

TEST(X509Signature, RawPkcs1MatchesIndependentRsa) {
  // PKCS#1 v1.5 is deterministic: the signature python computed with
  // pow(m, d, n) over 00 01 FF.. 00 || HASH is the one we must produce.
  const auto sig = gateway().sign_raw(hex(cv::sign_hash));
  ASSERT_TRUE(sig);
  EXPECT_EQ(to_hex(*sig), cv::sign_gw);
  const auto gw = X509Certificate::from_der(hex(cv::gw_der));
  ASSERT_TRUE(gw);
  EXPECT_TRUE(gw->verify_raw(hex(cv::sign_hash), hex(cv::sign_gw)));
  // With a DigestInfo (the X.509 way) it is another signature.
  EXPECT_FALSE(gw->verify_raw(hex(cv::sign_hash), hex(cv::sign_gw_digestinfo)));
  auto flipped = hex(cv::sign_gw);
  flipped[100] ^= 0x40;
  EXPECT_FALSE(gw->verify_raw(hex(cv::sign_hash), flipped));
  auto other_hash = hex(cv::sign_hash);
  other_hash[0] ^= 1;
  EXPECT_FALSE(gw->verify_raw(other_hash, hex(cv::sign_gw)));
  const auto client = X509Certificate::from_der(hex(cv::client_der));
  EXPECT_FALSE(client->verify_raw(hex(cv::sign_hash), hex(cv::sign_gw)));
  for (const Bytes& hostile : {Bytes{}, Bytes{0}, Bytes(1, 0xff), Bytes(255, 0xff),
                               Bytes(256, 0xff), Bytes(257, 1), Bytes(4096, 0)}) {
    EXPECT_FALSE(gw->verify_raw(hex(cv::sign_hash), hostile)) << hostile.size();
  }
  EXPECT_FALSE(gw->verify_raw({}, hex(cv::sign_gw)));
}

// ---- Main Mode with RSA signatures ----

const std::uint8_t gw_addr[] = {192, 0, 2, 1};
const std::uint8_t client_addr[] = {198, 51, 100, 5};

Datagram dgram(const Bytes& b) {
  return {b, {gw_addr, 500}, {client_addr, 500}};
}

MainModeRandom rsa_random() {
  MainModeRandom r;
  const auto ck = hex(cv::rsa_rcky);
  std::copy(ck.begin(), ck.end(), r.rcookie.begin());
  r.nonce = hex(cv::rsa_nr);
  r.dh_private = hex(cv::rsa_xr);
  return r;
}

MainModeConfig rsa_config(AuthMethods methods = {false, true}) {
  MainModeConfig c;
  c.policy = default_phase1_policy();
  c.methods_for = [methods](Endpoint) { return methods; };
  c.trust = std::make_shared<const TrustStore>(store());
  c.credential = std::make_shared<const LocalCredential>(gateway());
  c.wall_clock = [] { return std::int64_t{cv::check_time}; };
  c.local_id = hex(vec::mm_idir);
  return c;
}

// Messages 1 and 3, then `m5`.
MainModeStep run(const MainModeConfig& cfg, const Bytes& m5, MainModeResponder& r) {
  auto s = r.handle(dgram(hex(cv::rsa_msg1)));
  EXPECT_EQ(s.failure, MainModeFailure::none) << s.cause;
  s = r.handle(dgram(hex(cv::rsa_msg3)));
  EXPECT_EQ(s.failure, MainModeFailure::none) << s.cause;
  (void)cfg;
  return r.handle(dgram(m5));
}

TEST(MainModeRsa, WholeExchangeMatchesIndependentPeer) {
  const auto cfg = rsa_config();
  MainModeResponder r(cfg, rsa_random());
  auto s = r.handle(dgram(hex(cv::rsa_msg1)));
  ASSERT_EQ(s.failure, MainModeFailure::none) << s.cause;
  EXPECT_EQ(to_hex(*s.reply), cv::rsa_msg2);
  s = r.handle(dgram(hex(cv::rsa_msg3)));
  ASSERT_EQ(s.failure, MainModeFailure::none) << s.cause;
  // KE, Nr and CERTREQ naming our CA.
  EXPECT_EQ(to_hex(*s.reply), cv::rsa_msg4);
  s = r.handle(dgram(hex(cv::rsa_msg5)));
  ASSERT_EQ(s.failure, MainModeFailure::none) << s.cause;
  ASSERT_TRUE(s.reply);
  // Our ID (the certificate's DN), CERT and SIG_R, byte for byte.
  EXPECT_EQ(to_hex(*s.reply), cv::rsa_msg6);
  ASSERT_EQ(r.state(), MainModeState::established);
  const auto* sa = r.sa();
  ASSERT_NE(sa, nullptr);
  EXPECT_EQ(sa->transform.suite.describe(), "AES-CBC-256/SHA1/ECP256/RSA-SIG");
  EXPECT_EQ(to_hex(sa->skeyid_d), cv::rsa_skeyid_d);
  EXPECT_EQ(to_hex(sa->skeyid_a), cv::rsa_skeyid_a);
  EXPECT_EQ(to_hex(sa->enc_key), cv::rsa_enc_key);
  EXPECT_EQ(identity_text(sa->peer_id), "C=CH, O=test, CN=client");
  EXPECT_EQ(sa->peer_certificate, "C=CH, O=test, CN=client, issued by C=CH, O=test, CN=Test CA");
}

TEST(MainModeRsa, IdsFromTheAltNamesAndChains) {
  const auto cfg = rsa_config();
  for (const char* m5 :
       {cv::rsa_msg5_id_fqdn, cv::rsa_msg5_id_ipv4, cv::rsa_msg5_id_email, cv::rsa_msg5_chain}) {
    MainModeResponder r(cfg, rsa_random());
    const auto s = run(cfg, hex(m5), r);
    EXPECT_EQ(s.failure, MainModeFailure::none) << s.cause;
    EXPECT_EQ(r.state(), MainModeState::established);
  }
}

TEST(MainModeRsa, EachFailureIsNamed) {
  const auto cfg = rsa_config();
  const std::tuple<const char*, MainModeFailure, const char*> cases[] = {
      {cv::rsa_msg5_untrusted, MainModeFailure::cert_untrusted,
       "certificate not trusted: C=CH, O=test, CN=client (issuer C=CH, O=other, CN=Other CA)"},
      {cv::rsa_msg5_expired, MainModeFailure::cert_expired,
       "certificate expired: C=CH, O=test, CN=old valid until 2011-01-01"},
      {cv::rsa_msg5_future, MainModeFailure::cert_not_yet_valid,
       "certificate not yet valid: C=CH, O=test, CN=future valid from 2050"},
      {cv::rsa_msg5_revoked, MainModeFailure::cert_revoked,
       "certificate revoked: C=CH, O=test, CN=revoked"},
      {cv::rsa_msg5_noku, MainModeFailure::cert_key_usage, "certificate not for signatures"},
      {cv::rsa_msg5_wrong_id, MainModeFailure::id_mismatch,
       "no matching ID: ID intruder.example.org not in certificate C=CH, O=test, CN=client "
       "(DNS:client.example.org, IP:198.51.100.5, email:client@example.org)"},
      {cv::rsa_msg5_bad_sig, MainModeFailure::bad_signature,
       "signature invalid: SIG_I (256 bytes)"},
      {cv::rsa_msg5_wrong_key, MainModeFailure::bad_signature, "signature invalid"},
      {cv::rsa_msg5_digestinfo, MainModeFailure::bad_signature, "signature invalid"},
      {cv::rsa_msg5_no_intermediate, MainModeFailure::cert_untrusted, "certificate not trusted"},
      {cv::rsa_msg5_no_cert, MainModeFailure::cert_missing,
       "no certificate: message 5 carries no CERT payload"},
      {cv::rsa_msg5_pgp_cert, MainModeFailure::cert_missing,
       "no certificate: no X.509 signature certificate (CERT encodings 2)"},
      {cv::rsa_msg5_garbage_cert, MainModeFailure::cert_malformed, "malformed certificate"},
  };
  for (const auto& [m5, want, cause] : cases) {
    MainModeResponder r(cfg, rsa_random());
    const auto s = run(cfg, hex(m5), r);
    EXPECT_EQ(s.failure, want) << s.cause;
    EXPECT_EQ(s.cause.rfind(cause, 0), 0U) << s.cause;
    EXPECT_FALSE(s.reply);
    EXPECT_EQ(r.state(), MainModeState::failed);
    EXPECT_EQ(s.cause.find('\n'), std::string::npos);
  }
}

TEST(MainModeRsa, MethodFollowsPeerPolicy) {
  // A source configured for pre-shared keys is never offered RSA, and the
  // other way round; the refusal names why.
  {
    const auto cfg = rsa_config({true, false});
    MainModeResponder r(cfg, rsa_random());
    const auto s = r.handle(dgram(hex(cv::rsa_msg1)));
    EXPECT_EQ(s.failure, MainModeFailure::no_proposal_chosen);
    EXPECT_NE(s.cause.find("RSA-SIG: not configured"), std::string::npos) << s.cause;
  }
  {
    const auto cfg = rsa_config({false, true});
    MainModeResponder r(cfg, rsa_random());
    const auto s = r.handle(dgram(hex(vec::mm_msg1)));
    EXPECT_EQ(s.failure, MainModeFailure::no_proposal_chosen);
    EXPECT_NE(s.cause.find("PSK: not configured"), std::string::npos) << s.cause;
  }
  {
    // Without our own credential RSA cannot be offered at all.
    auto cfg = rsa_config({true, true});
    cfg.credential.reset();
    MainModeResponder r(cfg, rsa_random());
    EXPECT_EQ(r.handle(dgram(hex(cv::rsa_msg1))).failure, MainModeFailure::no_proposal_chosen);
  }
  {
    // The peer policy refuses a proven identity.
    auto cfg = rsa_config();
    cfg.authorize = [](Endpoint, const Identification& id, AuthMethod m) -> std::string {
      return m == AuthMethod::rsa_sig && identity_text(id) == "C=CH, O=test, CN=client"
                 ? "this ID is configured for auth psk"
                 : "";
    };
    MainModeResponder r(cfg, rsa_random());
    const auto s = run(cfg, hex(cv::rsa_msg5), r);
    EXPECT_EQ(s.failure, MainModeFailure::id_rejected);
    EXPECT_EQ(s.cause,
              "peer identity not accepted: C=CH, O=test, CN=client: this ID is "
              "configured for auth psk");
  }
}

// The plaintext of message 5 with bytes changed, encrypted again under the
// exchange's keys: what an authenticated but hostile peer can send.
TEST(MainModeRsa, HostilePayloadsUnderValidEncryption) {
  const auto cfg = rsa_config();
  const auto m5 = hex(cv::rsa_msg5);
  const auto key = hex(cv::rsa_enc_key), iv = hex(cv::rsa_iv0);
  const CipherSpec aes256{Cipher::aes_cbc, 256};
  Bytes plain;
  SecretBytes next;
  ASSERT_EQ(decrypt_message(m5, aes256, key, iv, plain, next), CryptError::none);
  std::mt19937 rng(17);
  int established = 0;
  for (int round = 0; round < 400; ++round) {
    auto bad = plain;
    bad[19] &= static_cast<std::uint8_t>(~flag_encryption);
    const int changes = 1 + static_cast<int>(rng() % 3);
    for (int i = 0; i < changes; ++i) {
      // Mostly the payload headers and the first bytes of CERT and SIG.
      const std::size_t at =
          header_len + (rng() % 2 ? rng() % 64 : rng() % (bad.size() - header_len));
      bad[at] = static_cast<std::uint8_t>(rng());
    }
    if (rng() % 5 == 0) {
      bad.resize(header_len + rng() % (bad.size() - header_len));
    }
    SecretBytes last;
    ASSERT_EQ(encrypt_message(bad, aes256, key, iv, last), CryptError::none);
    MainModeResponder r(cfg, rsa_random());
    const auto s = run(cfg, bad, r);
    if (s.failure == MainModeFailure::none) {
      ++established;
    } else {
      EXPECT_FALSE(s.cause.empty());
    }
  }
  // Changing anything the signature covers must break it; only bytes it
  // does not cover (padding) can leave the exchange intact.
  EXPECT_LT(established, 400);
}

}  // namespace
}  // namespace l2tpgw::ike
