// The Main Mode initiator (a phase-1 rekey the gateway starts) against a
// responder computed in gen_initiator_vectors.py: messages 1, 3 and 5 byte
// for byte, the key schedule, retransmitted answers, forged and truncated
// answers that leave the exchange waiting, and the failures message 6 can
// bring.
#include "controlplane/ike/main_mode_initiator.h"

#include <gtest/gtest.h>

#include "tests/unit/ike/cert_vectors.h"
#include "tests/unit/ike/initiator_rsa_vectors.h"
#include "tests/unit/ike/initiator_vectors.h"
#include "tests/unit/ike/test_util.h"
#include "tests/unit/ike/vectors.h"

namespace l2tpgw::ike {
namespace {

using test::hex;
using test::to_hex;
namespace v = p1rk;

const std::uint8_t gw[] = {192, 0, 2, 1};
const std::uint8_t client_seen[] = {203, 0, 113, 9};

Datagram dgram(const Bytes& b) {
  return {b, {gw, 4500}, {client_seen, 4500}};
}

MainModeConfig config() {
  MainModeConfig c;
  c.policy = default_phase1_policy();
  c.local_id = encode_id(IdType::ipv4_addr, 17, 500, gw);
  return c;
}

// The SA of gen_vectors.py's Main Mode, as the service hands it over.
MainModeRekey rekey() {
  MainModeRekey r;
  r.suite = {{Cipher::aes_cbc, 256}, Hash::sha1, AuthMethod::psk, DhGroup::modp2048};
  r.life_seconds = 3000;
  r.caps.nat_t = NatTVariant::rfc3947;
  r.caps.nat_t_vid = VendorId::nat_t_rfc3947;
  r.caps.dpd = true;
  r.peer_id = encode_id(IdType::ipv4_addr, 17, 500, std::array<std::uint8_t, 4>{198, 51, 100, 5});
  const auto psk = hex(vec::mm_psk);
  r.psk = SecretBytes(psk.begin(), psk.end());
  return r;
}

// Our cookie, Ni and DH private value as the generator fixed them.
MainModeRandom random_of(const char* cookie, const char* ni, const char* xi) {
  MainModeRandom r;
  const auto ck = hex(cookie);
  std::copy(ck.begin(), ck.end(), r.rcookie.begin());
  r.nonce = hex(ni);
  r.dh_private = hex(xi);
  return r;
}

MainModeRandom fixed_random() {
  return random_of(v::p1rk_icky, v::p1rk_ni, v::p1rk_xi);
}

// Messages 1 to 4: the initiator waiting for message 6.
void to_msg6(MainModeInitiator& i) {
  auto s = i.start();
  ASSERT_TRUE(s.reply) << s.cause;
  s = i.handle(dgram(hex(v::p1rk_msg2)));
  ASSERT_TRUE(s.reply) << s.cause;
  s = i.handle(dgram(hex(v::p1rk_msg4)));
  ASSERT_TRUE(s.reply) << s.cause;
  ASSERT_EQ(i.state(), MainModeInitiatorState::wait_msg6);
}

TEST(MainModeInitiator, WholeExchangeMatchesIndependentResponder) {
  const auto cfg = config();
  MainModeInitiator i(cfg, rekey(), fixed_random());
  auto s = i.start();
  ASSERT_TRUE(s.reply) << s.cause;
  EXPECT_EQ(to_hex(*s.reply), v::p1rk_msg1);
  EXPECT_EQ(i.last_sent(), 1);

  s = i.handle(dgram(hex(v::p1rk_msg2)));
  ASSERT_EQ(s.failure, MainModeFailure::none) << s.cause;
  ASSERT_TRUE(s.reply);
  EXPECT_EQ(to_hex(*s.reply), v::p1rk_msg3);
  EXPECT_EQ(i.last_sent(), 3);

  s = i.handle(dgram(hex(v::p1rk_msg4)));
  ASSERT_EQ(s.failure, MainModeFailure::none) << s.cause;
  ASSERT_TRUE(s.reply);
  EXPECT_EQ(to_hex(*s.reply), v::p1rk_msg5);
  EXPECT_EQ(i.last_sent(), 5);

  s = i.handle(dgram(hex(v::p1rk_msg6)));
  ASSERT_EQ(s.failure, MainModeFailure::none) << s.cause;
  EXPECT_FALSE(s.reply);
  ASSERT_EQ(i.state(), MainModeInitiatorState::established);
  const auto* sa = i.sa();
  ASSERT_NE(sa, nullptr);
  EXPECT_EQ(to_hex(sa->icookie), v::p1rk_icky);
  EXPECT_EQ(to_hex(sa->rcookie), "c1c2c3c4c5c6c7c8");
  EXPECT_EQ(sa->transform.suite.describe(), "AES-CBC-256/SHA1/MODP2048/PSK");
  EXPECT_EQ(sa->transform.life_seconds, 3000u);
  EXPECT_EQ(to_hex(sa->skeyid_d), v::p1rk_skeyid_d);
  EXPECT_EQ(to_hex(sa->skeyid_a), v::p1rk_skeyid_a);
  EXPECT_EQ(to_hex(sa->enc_key), v::p1rk_enc_key);
  EXPECT_EQ(to_hex(sa->last_block), v::p1rk_last_block);
  EXPECT_EQ(identity_text(sa->peer_id), "198.51.100.5");
  EXPECT_TRUE(sa->nat.peer_behind_nat);
  EXPECT_FALSE(sa->nat.local_behind_nat);
  EXPECT_EQ(sa->peer_caps.nat_t, NatTVariant::rfc3947);
  EXPECT_TRUE(sa->peer_caps.dpd);
  EXPECT_EQ(sa->peer.port, 4500);
  EXPECT_EQ(sa->local.port, 4500);
}

// The key schedule with the initiator's roles, against the generator.
TEST(MainModeInitiator, KeysMatchIndependentComputation) {
  const auto psk = hex(vec::mm_psk), ni = hex(v::p1rk_ni);
  const auto m4 = hex(v::p1rk_msg4);
  Message msg;
  ASSERT_EQ(parse_message(m4, msg), ParseError::none);
  const auto nr = msg.find(PayloadType::nonce)->body;
  const auto gxr = msg.find(PayloadType::key_exchange)->body;
  auto dh = DhKeyPair::from_private(DhGroup::modp2048, hex(v::p1rk_xi));
  ASSERT_TRUE(dh);
  SecretBytes gxy;
  ASSERT_EQ(dh->shared_secret(gxr, gxy), DhError::none);
  auto skeyid = skeyid_psk(Hash::sha1, psk, ni, nr);
  EXPECT_EQ(to_hex(skeyid), v::p1rk_skeyid);
  const auto icky = hex(v::p1rk_icky), rcky = hex("c1c2c3c4c5c6c7c8");
  const auto k = derive_phase1(Hash::sha1, {Cipher::aes_cbc, 256}, std::move(skeyid), gxy, icky,
                               rcky, dh->public_value(), gxr);
  EXPECT_EQ(to_hex(k.skeyid_d), v::p1rk_skeyid_d);
  EXPECT_EQ(to_hex(k.skeyid_a), v::p1rk_skeyid_a);
  EXPECT_EQ(to_hex(k.skeyid_e), v::p1rk_skeyid_e);
  EXPECT_EQ(to_hex(k.enc_key), v::p1rk_enc_key);
  EXPECT_EQ(to_hex(k.iv), v::p1rk_iv);
}

TEST(MainModeInitiator, RepeatedAnswersGetTheSameMessageAgain) {
  const auto cfg = config();
  MainModeInitiator i(cfg, rekey(), fixed_random());
  ASSERT_TRUE(i.start().reply);
  ASSERT_TRUE(i.handle(dgram(hex(v::p1rk_msg2))).reply);
  auto s = i.handle(dgram(hex(v::p1rk_msg2)));  // our message 3 was lost
  ASSERT_TRUE(s.reply);
  EXPECT_EQ(to_hex(*s.reply), v::p1rk_msg3);
  ASSERT_TRUE(i.handle(dgram(hex(v::p1rk_msg4))).reply);
  s = i.handle(dgram(hex(v::p1rk_msg4)));
  ASSERT_TRUE(s.reply);
  EXPECT_EQ(to_hex(*s.reply), v::p1rk_msg5);
  EXPECT_EQ(i.handle(dgram(hex(v::p1rk_msg6))).failure, MainModeFailure::none);
  EXPECT_EQ(i.state(), MainModeInitiatorState::established);
}

// Every truncation of each answer, another transform chosen, the wrong
// cookie, a bad KE, message 6 in the clear or under the wrong IV: dropped
// with a cause, and the real answer still completes the exchange.
TEST(MainModeInitiator, ForgedAndTruncatedAnswersLeaveItWaiting) {
  const auto cfg = config();
  MainModeInitiator i(cfg, rekey(), fixed_random());
  ASSERT_TRUE(i.start().reply);
  const char* answers[] = {v::p1rk_msg2, v::p1rk_msg4, v::p1rk_msg6};
  for (const char* answer : answers) {
    const auto whole = hex(answer);
    const auto state = i.state();
    for (std::size_t n = 0; n < whole.size(); ++n) {
      const Bytes cut(whole.begin(), whole.begin() + static_cast<std::ptrdiff_t>(n));
      const auto s = i.handle(dgram(cut));
      EXPECT_NE(s.failure, MainModeFailure::none) << n;
      EXPECT_FALSE(s.reply) << n;
      ASSERT_EQ(i.state(), state) << n;
    }
    auto wrong_cookie = whole;
    wrong_cookie[1] ^= 1;
    EXPECT_EQ(i.handle(dgram(wrong_cookie)).failure, MainModeFailure::bad_cookie);
    if (state == MainModeInitiatorState::wait_msg2) {
      // AES-128 chosen where AES-256 was offered.
      auto other = std::string(answer);
      const auto at = other.find("800e0100");
      ASSERT_NE(at, std::string::npos);
      other.replace(at, 8, "800e0080");
      const auto s = i.handle(dgram(hex(other)));
      EXPECT_EQ(s.failure, MainModeFailure::no_proposal_chosen);
      EXPECT_NE(s.cause.find("chose AES-CBC-128/SHA1/MODP2048/PSK"), std::string::npos) << s.cause;
    }
    if (state == MainModeInitiatorState::wait_msg4) {
      auto bad_ke = whole;
      std::fill(bad_ke.begin() + 32, bad_ke.begin() + 32 + 256, 0);  // KE = 0
      EXPECT_EQ(i.handle(dgram(bad_ke)).failure, MainModeFailure::invalid_ke);
    }
    if (state == MainModeInitiatorState::wait_msg6) {
      auto noise = whole;
      noise[40] ^= 0x80;  // the first block decrypts to noise
      EXPECT_EQ(i.handle(dgram(noise)).failure, MainModeFailure::malformed);
      auto clear = whole;
      clear[19] &= 0xfe;
      EXPECT_EQ(i.handle(dgram(clear)).failure, MainModeFailure::not_encrypted);
    }
    EXPECT_EQ(i.state(), state);
    const auto s = i.handle(dgram(whole));
    ASSERT_EQ(s.failure, MainModeFailure::none) << s.cause;
  }
  EXPECT_EQ(i.state(), MainModeInitiatorState::established);
}

TEST(MainModeInitiator, WrongHashRFailsNamed) {
  const auto cfg = config();
  MainModeInitiator i(cfg, rekey(), fixed_random());
  to_msg6(i);
  const auto s = i.handle(dgram(hex(v::p1rk_msg6_bad_hash)));
  EXPECT_EQ(s.failure, MainModeFailure::psk_mismatch);
  EXPECT_EQ(s.cause, "pre-shared key mismatch: HASH_R does not verify");
  EXPECT_EQ(i.state(), MainModeInitiatorState::failed);
  EXPECT_EQ(i.sa(), nullptr);
}

TEST(MainModeInitiator, AnotherIdentityFailsNamed) {
  const auto cfg = config();
  MainModeInitiator i(cfg, rekey(), fixed_random());
  to_msg6(i);
  const auto s = i.handle(dgram(hex(v::p1rk_msg6_other_id)));
  EXPECT_EQ(s.failure, MainModeFailure::id_rejected);
  EXPECT_EQ(s.cause,
            "peer identity not accepted: 198.51.100.6: not the identity of the SA it replaces "
            "(198.51.100.5)");
  EXPECT_EQ(i.state(), MainModeInitiatorState::failed);
}

TEST(MainModeInitiator, NoKeyNoStart) {
  const auto cfg = config();
  auto r = rekey();
  r.psk.reset();
  MainModeInitiator i(cfg, std::move(r), fixed_random());
  const auto s = i.start();
  EXPECT_FALSE(s.reply);
  EXPECT_EQ(s.failure, MainModeFailure::no_psk);
  EXPECT_EQ(i.state(), MainModeInitiatorState::failed);
}

// ---- RSA signatures (gen_initiator_rsa_vectors.py, the PKI of cert_vectors.h) ----

namespace rv = p1rk_rsa;
namespace cv = certvec;

const std::uint8_t client_addr[] = {198, 51, 100, 5};

Datagram direct(const Bytes& b) {
  return {b, {gw, 500}, {client_addr, 500}};
}

MainModeConfig rsa_config() {
  MainModeConfig c;
  c.policy = default_phase1_policy();
  std::string why;
  auto trust = TrustStore::from_pem(cv::ca_pem, cv::crl_pem, why);
  auto cred = LocalCredential::from_pem(cv::gw_pem, cv::gw_key_pem, why);
  EXPECT_TRUE(trust && cred) << why;
  c.trust = std::make_shared<const TrustStore>(std::move(*trust));
  c.credential = std::make_shared<const LocalCredential>(std::move(*cred));
  c.wall_clock = [] { return std::int64_t{cv::check_time}; };
  return c;
}

MainModeRekey rsa_rekey() {
  MainModeRekey r;
  r.suite = {{Cipher::aes_cbc, 256}, Hash::sha1, AuthMethod::rsa_sig, DhGroup::ecp256};
  r.life_seconds = 28800;
  r.peer_id = hex(rv::peer_id);
  return r;
}

MainModeRandom rsa_random() {
  return random_of(rv::icky, rv::ni, rv::xi);
}

TEST(MainModeInitiator, RsaExchangeMatchesIndependentResponder) {
  const auto cfg = rsa_config();
  MainModeInitiator i(cfg, rsa_rekey(), rsa_random());
  auto s = i.start();
  ASSERT_TRUE(s.reply) << s.cause;
  EXPECT_EQ(to_hex(*s.reply), rv::msg1);
  s = i.handle(direct(hex(rv::msg2)));
  ASSERT_TRUE(s.reply) << s.cause;
  EXPECT_EQ(to_hex(*s.reply), rv::msg3);
  s = i.handle(direct(hex(rv::msg4)));
  ASSERT_TRUE(s.reply) << s.cause;
  EXPECT_EQ(to_hex(*s.reply), rv::msg5);  // our certificate and SIG_I
  s = i.handle(direct(hex(rv::msg6)));
  ASSERT_EQ(s.failure, MainModeFailure::none) << s.cause;
  const auto* sa = i.sa();
  ASSERT_NE(sa, nullptr);
  EXPECT_EQ(to_hex(sa->skeyid_d), rv::skeyid_d);
  EXPECT_EQ(to_hex(sa->skeyid_a), rv::skeyid_a);
  EXPECT_EQ(to_hex(sa->enc_key), rv::enc_key);
  EXPECT_EQ(to_hex(sa->last_block), rv::last_block);
  EXPECT_EQ(identity_text(sa->peer_id), "C=CH, O=test, CN=client");
  EXPECT_EQ(sa->peer_certificate, "C=CH, O=test, CN=client, issued by C=CH, O=test, CN=Test CA");
  EXPECT_FALSE(sa->nat.any());
  EXPECT_FALSE(sa->psk);
}

TEST(MainModeInitiator, RsaWrongSignatureFailsNamed) {
  const auto cfg = rsa_config();
  MainModeInitiator i(cfg, rsa_rekey(), rsa_random());
  ASSERT_TRUE(i.start().reply);
  ASSERT_TRUE(i.handle(direct(hex(rv::msg2))).reply);
  ASSERT_TRUE(i.handle(direct(hex(rv::msg4))).reply);
  const auto s = i.handle(direct(hex(rv::msg6_bad_sig)));
  EXPECT_EQ(s.failure, MainModeFailure::bad_signature);
  EXPECT_EQ(s.cause.rfind("signature invalid: SIG_R (256 bytes) does not verify with the key of "
                          "C=CH, O=test, CN=client",
                          0),
            0u)
      << s.cause;
  EXPECT_EQ(i.state(), MainModeInitiatorState::failed);
}

}  // namespace
}  // namespace l2tpgw::ike
