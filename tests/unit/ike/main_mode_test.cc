// The Main Mode responder against a whole exchange computed in
// gen_vectors.py (initiator and expected responder messages), and each
// failure cause the operator's log line must name.
#include "controlplane/ike/main_mode.h"

#include <gtest/gtest.h>

#include <random>

#include "tests/unit/ike/test_util.h"
#include "tests/unit/ike/vectors.h"

namespace l2tpgw::ike {
namespace {

using test::hex;
using test::to_hex;

const std::uint8_t gw[] = {192, 0, 2, 1};
const std::uint8_t client_seen[] = {203, 0, 113, 9};

Datagram dgram(const Bytes& b, std::uint16_t port = 500) {
  return {b, {gw, port}, {client_seen, port}};
}

MainModeRandom fixed_random() {
  MainModeRandom r;
  const auto ck = hex(vec::mm_rcky);
  std::copy(ck.begin(), ck.end(), r.rcookie.begin());
  r.nonce = hex(vec::mm_nr);
  r.dh_private = hex(vec::mm_xr);
  return r;
}

MainModeConfig config(std::string_view psk = "") {
  MainModeConfig c;
  c.policy = default_phase1_policy();
  const auto key = psk.empty() ? hex(vec::mm_psk) : Bytes(psk.begin(), psk.end());
  c.psk_for = [key](Endpoint peer) -> std::optional<SecretBytes> {
    if (to_hex(peer.address) != "cb007109") {
      return std::nullopt;
    }
    return SecretBytes(key.begin(), key.end());
  };
  c.local_id = hex(vec::mm_idir);
  return c;
}

TEST(MainMode, WholeExchangeMatchesIndependentPeer) {
  const auto cfg = config();
  MainModeResponder r(cfg, fixed_random());
  const auto m1 = hex(vec::mm_msg1), m3 = hex(vec::mm_msg3), m5 = hex(vec::mm_msg5);

  auto s = r.handle(dgram(m1));
  ASSERT_EQ(s.failure, MainModeFailure::none) << s.cause;
  ASSERT_TRUE(s.reply);
  EXPECT_EQ(to_hex(*s.reply), vec::mm_msg2);
  EXPECT_EQ(r.state(), MainModeState::wait_msg3);

  s = r.handle(dgram(m3));
  ASSERT_EQ(s.failure, MainModeFailure::none) << s.cause;
  ASSERT_TRUE(s.reply);
  EXPECT_EQ(to_hex(*s.reply), vec::mm_msg4);

  // NAT detected: the client floats to port 4500 for message 5.
  s = r.handle(dgram(m5, 4500));
  ASSERT_EQ(s.failure, MainModeFailure::none) << s.cause;
  ASSERT_TRUE(s.reply);
  EXPECT_EQ(to_hex(*s.reply), vec::mm_msg6);
  ASSERT_EQ(r.state(), MainModeState::established);

  const auto* sa = r.sa();
  ASSERT_NE(sa, nullptr);
  EXPECT_EQ(sa->transform.suite.describe(), "AES-CBC-256/SHA1/MODP2048/PSK");
  EXPECT_EQ(to_hex(sa->skeyid_d), vec::mm_skeyid_d);
  EXPECT_EQ(to_hex(sa->skeyid_a), vec::mm_skeyid_a);
  EXPECT_EQ(to_hex(sa->enc_key), vec::mm_enc_key);
  EXPECT_EQ(to_hex(sa->last_block), vec::mm_last_block);
  EXPECT_TRUE(sa->nat.peer_behind_nat);
  EXPECT_FALSE(sa->nat.local_behind_nat);
  EXPECT_EQ(sa->peer_caps.nat_t, NatTVariant::rfc3947);
  EXPECT_TRUE(sa->peer_caps.dpd);
  EXPECT_TRUE(sa->initial_contact);
  EXPECT_EQ(sa->peer_id.ipv4(), 0xC6336405U);
  EXPECT_EQ(sa->peer.port, 4500);
  EXPECT_EQ(sa->local.port, 4500);

  // A retransmitted message 5 gets the same message 6.
  s = r.handle(dgram(m5, 4500));
  ASSERT_TRUE(s.reply);
  EXPECT_EQ(to_hex(*s.reply), vec::mm_msg6);
}

TEST(MainMode, RetransmittedMessage1GetsTheSameReply) {
  const auto cfg = config();
  MainModeResponder r(cfg, fixed_random());
  const auto m1 = hex(vec::mm_msg1);
  const auto first = r.handle(dgram(m1));
  const auto again = r.handle(dgram(m1));
  ASSERT_TRUE(first.reply && again.reply);
  EXPECT_EQ(*first.reply, *again.reply);
  EXPECT_EQ(r.state(), MainModeState::wait_msg3);
}

TEST(MainMode, PskMismatch) {
  const auto cfg = config("not the right key");
  MainModeResponder r(cfg, fixed_random());
  ASSERT_EQ(r.handle(dgram(hex(vec::mm_msg1))).failure, MainModeFailure::none);
  ASSERT_EQ(r.handle(dgram(hex(vec::mm_msg3))).failure, MainModeFailure::none);
  const auto s = r.handle(dgram(hex(vec::mm_msg5), 4500));
  EXPECT_EQ(s.failure, MainModeFailure::psk_mismatch);
  EXPECT_EQ(s.cause.rfind("pre-shared key mismatch", 0), 0U) << s.cause;
  EXPECT_FALSE(s.reply);
  EXPECT_EQ(r.state(), MainModeState::failed);
  EXPECT_EQ(r.sa(), nullptr);
}

TEST(MainMode, TamperedMessage5) {
  const auto cfg = config();
  MainModeResponder r(cfg, fixed_random());
  ASSERT_EQ(r.handle(dgram(hex(vec::mm_msg1))).failure, MainModeFailure::none);
  ASSERT_EQ(r.handle(dgram(hex(vec::mm_msg3))).failure, MainModeFailure::none);
  auto m5 = hex(vec::mm_msg5);
  m5[header_len + 20] ^= 0x01;
  const auto s = r.handle(dgram(m5, 4500));
  EXPECT_EQ(s.failure, MainModeFailure::psk_mismatch) << s.cause;
}

TEST(MainMode, NoProposalChosenIsNamedAndNotified) {
  const auto cfg = config();
  MainModeResponder r(cfg, fixed_random());
  const auto s = r.handle(dgram(hex(vec::md5_only_mm1)));
  EXPECT_EQ(s.failure, MainModeFailure::no_proposal_chosen);
  EXPECT_EQ(s.cause.rfind("no proposal chosen: offered [#1.1 (3DES-CBC-192/MD5/MODP1024/PSK: "
                          "MD5 refused), #1.2 (AES-CBC-128/MD5/MODP2048/PSK: MD5 refused)]; "
                          "configured [{AES-CBC-256",
                          0),
            0U)
      << s.cause;
  ASSERT_TRUE(s.reply);
  Message m;
  ASSERT_EQ(parse_message(*s.reply, m), ParseError::none);
  EXPECT_EQ(m.header.exchange, static_cast<std::uint8_t>(ExchangeType::informational));
  Notification n;
  ASSERT_EQ(parse_notification(m.payloads.at(0).body, n), ParseError::none);
  EXPECT_EQ(n.type, static_cast<std::uint16_t>(NotifyType::no_proposal_chosen));
  EXPECT_EQ(r.state(), MainModeState::failed);
}

TEST(MainMode, NoPskForPeer) {
  auto cfg = config();
  cfg.psk_for = [](Endpoint) { return std::optional<SecretBytes>{}; };
  MainModeResponder r(cfg, fixed_random());
  ASSERT_EQ(r.handle(dgram(hex(vec::mm_msg1))).failure, MainModeFailure::none);
  const auto s = r.handle(dgram(hex(vec::mm_msg3)));
  EXPECT_EQ(s.failure, MainModeFailure::no_psk);
  EXPECT_EQ(s.cause, "no pre-shared key for this peer");
}

// Message 3 rebuilt with another KE body.
Bytes msg3_with_ke(const Bytes& ke) {
  const auto m3 = hex(vec::mm_msg3);
  Message m;
  EXPECT_EQ(parse_message(m3, m), ParseError::none);
  MessageBuilder b(m.header);
  for (const auto& p : m.payloads) {
    b.add(static_cast<PayloadType>(p.type),
          p.type == static_cast<std::uint8_t>(PayloadType::key_exchange) ? ByteView(ke) : p.body);
  }
  return std::move(b).finish();
}

TEST(MainMode, InvalidKeyExchange) {
  const auto cfg = config();
  const std::pair<Bytes, std::string> cases[] = {
      {Bytes(128, 7), "invalid key exchange payload: KE of 128 bytes for MODP2048 (256 expected)"},
      {Bytes(256, 0), "invalid key exchange payload: invalid DH public value"},
  };
  for (const auto& [ke, want] : cases) {
    MainModeResponder r(cfg, fixed_random());
    ASSERT_EQ(r.handle(dgram(hex(vec::mm_msg1))).failure, MainModeFailure::none);
    const auto s = r.handle(dgram(msg3_with_ke(ke)));
    EXPECT_EQ(s.failure, MainModeFailure::invalid_ke);
    EXPECT_EQ(s.cause, want);
  }
}

TEST(MainMode, PeerIdRejected) {
  auto cfg = config();
  cfg.accept_peer_id = [](const Identification& id) { return id.type == 2; };
  MainModeResponder r(cfg, fixed_random());
  ASSERT_EQ(r.handle(dgram(hex(vec::mm_msg1))).failure, MainModeFailure::none);
  ASSERT_EQ(r.handle(dgram(hex(vec::mm_msg3))).failure, MainModeFailure::none);
  const auto s = r.handle(dgram(hex(vec::mm_msg5), 4500));
  EXPECT_EQ(s.failure, MainModeFailure::id_rejected);
  EXPECT_EQ(s.cause, "peer identity not accepted: 198.51.100.5");
}

TEST(MainMode, StrayDatagramsDoNotEndTheExchange) {
  const auto cfg = config();
  MainModeResponder r(cfg, fixed_random());
  ASSERT_EQ(r.handle(dgram(hex(vec::mm_msg1))).failure, MainModeFailure::none);
  auto wrong_cookie = hex(vec::mm_msg3);
  wrong_cookie[0] ^= 0xFF;
  EXPECT_EQ(r.handle(dgram(wrong_cookie)).failure, MainModeFailure::bad_cookie);
  EXPECT_EQ(r.handle(dgram(hex("0102"))).failure, MainModeFailure::malformed);
  auto quick = hex(vec::mm_msg3);
  quick[18] = 32;
  EXPECT_EQ(r.handle(dgram(quick)).failure, MainModeFailure::unexpected_exchange);
  EXPECT_EQ(r.state(), MainModeState::wait_msg3);
  const auto s = r.handle(dgram(hex(vec::mm_msg3)));
  EXPECT_EQ(s.failure, MainModeFailure::none) << s.cause;
  // Message 5 in the clear is refused.
  auto clear5 = hex(vec::mm_msg5);
  clear5[19] &= static_cast<std::uint8_t>(~flag_encryption);
  EXPECT_EQ(r.handle(dgram(clear5, 4500)).failure, MainModeFailure::not_encrypted);
}

TEST(MainMode, FreshRandomness) {
  const auto a = MainModeRandom::fresh();
  const auto b = MainModeRandom::fresh();
  EXPECT_EQ(a.nonce.size(), 32U);
  EXPECT_NE(a.rcookie, b.rcookie);
  EXPECT_NE(a.nonce, b.nonce);
  // With a generated DH key the exchange still completes its first steps.
  const auto cfg = config();
  MainModeResponder r(cfg, a);
  EXPECT_EQ(r.handle(dgram(hex(vec::mm_msg1))).failure, MainModeFailure::none);
}

// Mutated messages at each step: named failures or success, never a crash
// (the ASan build checks the reads).
TEST(MainMode, MutatedMessages) {
  const auto cfg = config();
  std::mt19937 rng(5);
  const Bytes msgs[] = {hex(vec::mm_msg1), hex(vec::mm_msg3), hex(vec::mm_msg5)};
  for (std::size_t step = 0; step < 3; ++step) {
    for (int round = 0; round < 200; ++round) {
      MainModeResponder r(cfg, fixed_random());
      for (std::size_t i = 0; i < step; ++i) {
        ASSERT_EQ(r.handle(dgram(msgs[i], i == 2 ? 4500 : 500)).failure, MainModeFailure::none);
      }
      auto bad = msgs[step];
      bad[rng() % bad.size()] = static_cast<std::uint8_t>(rng());
      if (rng() % 4 == 0) {
        bad.resize(rng() % bad.size());
      }
      const auto s = r.handle(dgram(bad, step == 2 ? 4500 : 500));
      if (s.failure != MainModeFailure::none) {
        EXPECT_FALSE(s.cause.empty());
      }
    }
  }
}

// Keys bound to identities: tried after the address's key, and only
// accepted for the identity they name.
MainModeStep run_to_msg5(MainModeResponder& r) {
  EXPECT_EQ(r.handle(dgram(hex(vec::mm_msg1))).failure, MainModeFailure::none);
  EXPECT_EQ(r.handle(dgram(hex(vec::mm_msg3))).failure, MainModeFailure::none);
  return r.handle(dgram(hex(vec::mm_msg5), 4500));
}

TEST(MainMode, IdentityKeyFoundByTrial) {
  auto cfg = config("an address key that is wrong");
  const auto good = hex(vec::mm_psk);
  cfg.id_keys.push_back({"laptop.example.org", SecretBytes(8, 'x')});
  cfg.id_keys.push_back({"198.51.100.5", SecretBytes(good.begin(), good.end())});
  MainModeResponder r(cfg, fixed_random());
  const auto s = run_to_msg5(r);
  ASSERT_EQ(s.failure, MainModeFailure::none) << s.cause;
  ASSERT_TRUE(s.reply);
  EXPECT_EQ(to_hex(*s.reply), vec::mm_msg6);
  EXPECT_EQ(to_hex(r.sa()->skeyid_a), vec::mm_skeyid_a);
}

TEST(MainMode, IdentityKeyWithoutAddressKey) {
  auto cfg = config();
  cfg.psk_for = [](Endpoint) { return std::optional<SecretBytes>{}; };
  const auto good = hex(vec::mm_psk);
  cfg.id_keys.push_back({"198.51.100.5", SecretBytes(good.begin(), good.end())});
  MainModeResponder r(cfg, fixed_random());
  EXPECT_EQ(run_to_msg5(r).failure, MainModeFailure::none);
  EXPECT_EQ(r.state(), MainModeState::established);
}

TEST(MainMode, IdentityKeyBoundToAnotherIdentityIsRefused) {
  auto cfg = config();
  cfg.psk_for = [](Endpoint) { return std::optional<SecretBytes>{}; };
  const auto good = hex(vec::mm_psk);
  cfg.id_keys.push_back({"198.51.100.6", SecretBytes(good.begin(), good.end())});
  MainModeResponder r(cfg, fixed_random());
  const auto s = run_to_msg5(r);
  EXPECT_EQ(s.failure, MainModeFailure::psk_mismatch);
  EXPECT_NE(s.cause.find("pre-shared key mismatch"), std::string::npos) << s.cause;
  EXPECT_EQ(r.state(), MainModeState::failed);
}

}  // namespace
}  // namespace l2tpgw::ike
