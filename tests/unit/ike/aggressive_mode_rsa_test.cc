// Aggressive Mode with RSA signatures against a whole exchange computed in
// gen_aggressive_rsa_vectors.py (the client's messages 1 and 3, our
// expected message 2, the keys), each failure cause the operator's line
// must name, the refusal of IDs not enabled for it, and hostile input.
#include <gtest/gtest.h>

#include <tuple>

#include "controlplane/ike/fragment.h"
#include "controlplane/ike/main_mode.h"
#include "tests/unit/ike/aggressive_rsa_vectors.h"
#include "tests/unit/ike/cert_vectors.h"
#include "tests/unit/ike/responder_util.h"

namespace l2tpgw::ike {
namespace {

namespace av = am_rsa;
namespace cv = certvec;
using test::hex;
using test::to_hex;

const std::uint8_t gw[] = {192, 0, 2, 1};
const std::uint8_t client_seen[] = {203, 0, 113, 9};

Datagram dgram(const Bytes& b) {
  return {b, {gw, 500}, {client_seen, 500}};
}

MainModeRandom fixed_random() {
  return test::fixed_random(av::rcky, av::nr, av::xr);
}

struct Calls {
  int aggressive_rsa = 0;
  std::string last_id;
};

// The IDs of the vectors are enabled for signatures from the client's
// address as we see it; `psk_ids` are enabled with a pre-shared key instead.
MainModeConfig config(Calls& calls, bool psk_ids = false) {
  MainModeConfig c;
  c.policy = default_phase1_policy();
  std::string why;
  auto trust = TrustStore::from_pem(cv::ca_pem, cv::crl_pem, why);
  EXPECT_TRUE(trust) << why;
  auto own = LocalCredential::from_pem(cv::gw_pem, cv::gw_key_pem, why);
  EXPECT_TRUE(own) << why;
  c.trust = std::make_shared<const TrustStore>(std::move(*trust));
  c.credential = std::make_shared<const LocalCredential>(std::move(*own));
  c.wall_clock = [] { return std::int64_t{cv::check_time}; };
  auto enabled = [](Endpoint peer, const Identification& id) {
    const auto text = identity_text(id);
    return to_hex(peer.address) == "cb007109" &&
           (text == "C=CH, O=test, CN=client" || text == "C=CH, O=test, CN=revoked" ||
            text == "intruder.example.org");
  };
  c.aggressive_psk = [psk_ids, enabled](Endpoint peer, const Identification& id)
      -> std::optional<SecretBytes> {
    if (!psk_ids || !enabled(peer, id)) {
      return std::nullopt;
    }
    const std::string_view key = "a pre-shared key of this ID";
    return SecretBytes(key.begin(), key.end());
  };
  c.aggressive_rsa = [enabled, &calls](Endpoint peer, const Identification& id) {
    ++calls.aggressive_rsa;
    calls.last_id = identity_text(id);
    return enabled(peer, id);
  };
  c.psk_for = [](Endpoint) -> std::optional<SecretBytes> {
    ADD_FAILURE() << "psk_for called in Aggressive Mode";
    return std::nullopt;
  };
  return c;
}

// Message 1 (`m1`, answered), then `m3` (whole, as bytes).
MainModeStep run3(MainModeResponder& r, const Bytes& m3, const char* m1 = av::msg1) {
  const auto s2 = r.handle(dgram(hex(m1)));
  EXPECT_EQ(s2.failure, MainModeFailure::none) << s2.cause;
  return r.handle(dgram(m3));
}

void expect_established(const MainModeResponder& r) {
  ASSERT_EQ(r.state(), MainModeState::established);
  const auto* sa = r.sa();
  ASSERT_NE(sa, nullptr);
  EXPECT_TRUE(sa->aggressive);
  EXPECT_EQ(sa->transform.suite.describe(), "AES-CBC-256/SHA1/ECP256/RSA-SIG");
  test::expect_phase1_keys(*sa, av::skeyid_d, av::skeyid_a, av::enc_key);
  EXPECT_EQ(identity_text(sa->peer_id), "C=CH, O=test, CN=client");
  EXPECT_EQ(sa->peer_certificate, "C=CH, O=test, CN=client, issued by C=CH, O=test, CN=Test CA");
  EXPECT_FALSE(sa->psk);
  EXPECT_EQ(sa->peer_caps.nat_t, NatTVariant::rfc3947);
  EXPECT_TRUE(sa->peer_caps.dpd);
  EXPECT_TRUE(sa->peer_caps.fragmentation);
  EXPECT_TRUE(sa->nat.peer_behind_nat);
  EXPECT_FALSE(sa->nat.local_behind_nat);
}

TEST(AggressiveModeRsa, WholeExchangeMatchesIndependentPeer) {
  Calls calls;
  const auto cfg = config(calls);
  MainModeResponder r(cfg, fixed_random());
  const auto s2 = r.handle(dgram(hex(av::msg1)));
  // The method asked for by the ID of message 1, once.
  EXPECT_EQ(calls.last_id, "C=CH, O=test, CN=client");
  EXPECT_EQ(calls.aggressive_rsa, 1);
  ASSERT_EQ(s2.failure, MainModeFailure::none) << s2.cause;
  EXPECT_EQ(r.state(), MainModeState::wait_msg3);
  EXPECT_TRUE(r.aggressive());
  // SA, KE, Nr, our DN, CERT, CERTREQ of our CA, SIG_R, vendor IDs and
  // NAT-D, byte for byte (PKCS#1 v1.5 signatures are deterministic).
  EXPECT_EQ(s2.reply ? to_hex(*s2.reply) : "no reply", av::msg2);
  const auto s3 = r.handle(dgram(hex(av::msg3)));
  ASSERT_EQ(s3.failure, MainModeFailure::none) << s3.cause;
  EXPECT_FALSE(s3.reply);
  expect_established(r);
  EXPECT_EQ(to_hex(r.sa()->last_block), av::last_block);
  EXPECT_TRUE(r.sa()->initial_contact);
  // The SA was authenticated by a signature: no key to use again.
  EXPECT_FALSE(psk_again(cfg, *r.sa()));
}

TEST(AggressiveModeRsa, ClearMessage3Establishes) {
  Calls calls;
  const auto cfg = config(calls);
  MainModeResponder r(cfg, fixed_random());
  const auto s = run3(r, hex(av::msg3_clear));
  ASSERT_EQ(s.failure, MainModeFailure::none) << s.cause;
  expect_established(r);
  // Nothing encrypted in phase 1: phase 2 IVs start from the first IV.
  EXPECT_EQ(to_hex(r.sa()->last_block), av::iv0);
  EXPECT_FALSE(r.sa()->initial_contact);
}

TEST(AggressiveModeRsa, FragmentedMessage3Establishes) {
  Calls calls;
  const auto cfg = config(calls);
  FragmentReassembly f;
  std::string why;
  EXPECT_EQ(f.add(hex(av::msg3_frag2), why), FragmentReassembly::Status::incomplete) << why;
  EXPECT_EQ(f.add(hex(av::msg3_frag3), why), FragmentReassembly::Status::incomplete) << why;
  ASSERT_EQ(f.add(hex(av::msg3_frag1), why), FragmentReassembly::Status::complete) << why;
  EXPECT_EQ(to_hex(f.whole()), av::msg3);
  MainModeResponder r(cfg, fixed_random());
  const auto s = run3(r, f.whole());
  ASSERT_EQ(s.failure, MainModeFailure::none) << s.cause;
  expect_established(r);
}

TEST(AggressiveModeRsa, EachFailureIsNamed) {
  Calls calls;
  const auto cfg = config(calls);
  const char* const bad_sig =
      "signature invalid: SIG_I (256 bytes) does not verify with the key of C=CH, O=test, "
      "CN=client";
  const std::tuple<const char*, const char*, MainModeFailure, const char*> cases[] = {
      {av::msg1, av::msg3_untrusted, MainModeFailure::cert_untrusted,
       "certificate not trusted: C=CH, O=test, CN=client (issuer C=CH, O=other, CN=Other CA): "
       "unable to get local issuer certificate"},
      {av::msg1_revoked, av::msg3_revoked, MainModeFailure::cert_revoked,
       "certificate revoked: C=CH, O=test, CN=revoked (issuer C=CH, O=test, CN=Test CA)"},
      {av::msg1_fqdn, av::msg3_fqdn, MainModeFailure::id_mismatch,
       "no matching ID: ID intruder.example.org not in certificate C=CH, O=test, CN=client "
       "(DNS:client.example.org, IP:198.51.100.5, email:client@example.org)"},
      {av::msg1, av::msg3_bad_sig, MainModeFailure::bad_signature, bad_sig},
      {av::msg1, av::msg3_wrong_key, MainModeFailure::bad_signature, bad_sig},
      {av::msg1, av::msg3_no_cert, MainModeFailure::cert_missing,
       "no certificate: message 3 carries no CERT payload"},
      {av::msg1, av::msg3_no_sig, MainModeFailure::missing_payload,
       "a mandatory payload is missing: SIG in message 3"},
  };
  for (const auto& [m1, m3, want, cause] : cases) {
    MainModeResponder r(cfg, fixed_random());
    const auto s = run3(r, hex(m3), m1);
    EXPECT_EQ(s.failure, want) << s.cause;
    EXPECT_EQ(s.cause, cause);
    EXPECT_FALSE(s.reply);
    EXPECT_EQ(r.state(), MainModeState::failed);
    EXPECT_EQ(r.sa(), nullptr);
  }
}

TEST(AggressiveModeRsa, IdNotEnabledIsRefusedBeforeDiffieHellman) {
  Calls calls;
  auto cfg = config(calls);
  cfg.aggressive_rsa = [&calls](Endpoint, const Identification& id) {
    ++calls.aggressive_rsa;
    calls.last_id = identity_text(id);
    return false;
  };
  auto random = fixed_random();
  random.nonce.clear();  // the DH step would fail: the refusal came first
  MainModeResponder r(cfg, random);
  const auto s = r.handle(dgram(hex(av::msg1)));
  EXPECT_EQ(calls.aggressive_rsa, 1);
  EXPECT_EQ(calls.last_id, r.peer_identity());
  // The cause names the ID for the one-line refusal; no reply, no DH.
  EXPECT_EQ(s.cause, "not enabled for this peer: ID C=CH, O=test, CN=client");
  EXPECT_TRUE(s.failure == MainModeFailure::aggressive_refused && !s.reply);
  EXPECT_EQ(r.state(), MainModeState::failed);
  // Without a policy at all, the same.
  cfg.aggressive_rsa = nullptr;
  MainModeResponder none(cfg, fixed_random());
  EXPECT_EQ(none.handle(dgram(hex(av::msg1))).failure, MainModeFailure::aggressive_refused);
}

TEST(AggressiveModeRsa, MethodFollowsTheIdsEntry) {
  {
    // An ID enabled with a pre-shared key is not offered signatures.
    Calls calls;
    const auto cfg = config(calls, true);
    MainModeResponder r(cfg, fixed_random());
    const auto s = r.handle(dgram(hex(av::msg1)));
    EXPECT_EQ(s.failure, MainModeFailure::no_proposal_chosen);
    EXPECT_NE(s.cause.find("RSA-SIG: not configured"), std::string::npos) << s.cause;
    EXPECT_EQ(calls.aggressive_rsa, 0);
  }
  {
    // Without our own credential signatures cannot be offered at all.
    Calls calls;
    auto cfg = config(calls);
    cfg.credential.reset();
    MainModeResponder r(cfg, fixed_random());
    EXPECT_EQ(r.handle(dgram(hex(av::msg1))).failure, MainModeFailure::no_proposal_chosen);
  }
  {
    // The peer policy refuses the proven identity.
    Calls calls;
    auto cfg = config(calls);
    cfg.authorize = [](Endpoint, const Identification&, AuthMethod m) -> std::string {
      return m == AuthMethod::rsa_sig ? "this ID is configured for address 198.51.100.77" : "";
    };
    MainModeResponder r(cfg, fixed_random());
    const auto s = run3(r, hex(av::msg3));
    EXPECT_EQ(s.failure, MainModeFailure::id_rejected);
    EXPECT_EQ(s.cause,
              "peer identity not accepted: C=CH, O=test, CN=client: this ID is configured for "
              "address 198.51.100.77");
  }
}

// Every truncation and random changes of messages 1 and 3 (message 3
// encrypted at every 7th length, in the clear at every one).
TEST(AggressiveModeRsa, TruncatedAndGarbledMessages) {
  Calls calls;
  const auto cfg = config(calls);
  const auto m1 = hex(av::msg1);
  test::expect_hostile_handled(cfg, fixed_random(), {}, m1, dgram, 1, 200, 23);
  test::expect_hostile_handled(cfg, fixed_random(), m1, hex(av::msg3), dgram, 7, 200, 23);
  test::expect_hostile_handled(cfg, fixed_random(), m1, hex(av::msg3_clear), dgram, 1, 200, 23);
}

}  // namespace
}  // namespace l2tpgw::ike
