// Aggressive Mode with a pre-shared key against a whole exchange computed
// in gen_aggressive_vectors.py (initiator and expected responder), the
// refusal of peers not enabled for it, and hostile input.
#include <gtest/gtest.h>

#include <array>

#include "controlplane/ike/main_mode.h"
#include "controlplane/ike/quick_mode.h"
#include "tests/unit/ike/aggressive_vectors.h"
#include "tests/unit/ike/responder_util.h"

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
  const auto ck = hex(vec::am_rcky);
  std::copy(ck.begin(), ck.end(), r.rcookie.begin());
  r.nonce = hex(vec::am_nr);
  r.dh_private = hex(vec::am_xr);
  return r;
}

struct Calls {
  int aggressive_psk = 0;
  std::string last_id;
};

// The phone's ID is enabled with `psk`; `enabled` false refuses everyone.
MainModeConfig config(Calls& calls, std::string_view psk = "", bool enabled = true) {
  MainModeConfig c;
  c.policy = default_phase1_policy();
  const auto key = psk.empty() ? hex(vec::am_psk) : Bytes(psk.begin(), psk.end());
  c.aggressive_psk = [key, enabled, &calls](Endpoint peer,
                                            const Identification& id) -> std::optional<SecretBytes> {
    ++calls.aggressive_psk;
    calls.last_id = identity_text(id);
    if (!enabled || to_hex(peer.address) != "cb007109" || calls.last_id != "phone.example.org") {
      return std::nullopt;
    }
    return SecretBytes(key.begin(), key.end());
  };
  // Main Mode keys must not be consulted in Aggressive Mode.
  c.psk_for = [](Endpoint) -> std::optional<SecretBytes> {
    ADD_FAILURE() << "psk_for called in Aggressive Mode";
    return std::nullopt;
  };
  c.local_id = hex(vec::am_idir);
  return c;
}

void expect_keys(const IsakmpSa& sa) {
  EXPECT_TRUE(sa.aggressive);
  EXPECT_EQ(sa.transform.suite.describe(), "AES-CBC-128/SHA2-256/ECP256/PSK");
  EXPECT_EQ(to_hex(sa.skeyid_d), vec::am_skeyid_d);
  EXPECT_EQ(to_hex(sa.skeyid_a), vec::am_skeyid_a);
  EXPECT_EQ(to_hex(sa.enc_key), vec::am_enc_key);
  EXPECT_EQ(identity_text(sa.peer_id), "phone.example.org");
  EXPECT_EQ(sa.peer_caps.nat_t, NatTVariant::rfc3947);
  EXPECT_TRUE(sa.peer_caps.dpd);
  EXPECT_TRUE(sa.nat.peer_behind_nat);
  EXPECT_FALSE(sa.nat.local_behind_nat);
}

TEST(AggressiveMode, Message2MatchesIndependentPeer) {
  Calls calls;
  const auto cfg = config(calls);
  MainModeResponder r(cfg, fixed_random());
  const auto s = r.handle(dgram(hex(vec::am_msg1)));
  ASSERT_EQ(s.failure, MainModeFailure::none) << s.cause;
  ASSERT_TRUE(s.reply);
  EXPECT_EQ(to_hex(*s.reply), vec::am_msg2);
  EXPECT_TRUE(r.aggressive());
  EXPECT_EQ(r.state(), MainModeState::wait_msg3);
  EXPECT_EQ(r.sa(), nullptr);
  EXPECT_EQ(calls.aggressive_psk, 1);
  // A retransmitted message 1 gets the same message 2, nothing recomputed.
  const auto again = r.handle(dgram(hex(vec::am_msg1)));
  ASSERT_TRUE(again.reply);
  EXPECT_EQ(*again.reply, *s.reply);
  EXPECT_EQ(calls.aggressive_psk, 1);
}

TEST(AggressiveMode, EncryptedMessage3Establishes) {
  Calls calls;
  const auto cfg = config(calls);
  MainModeResponder r(cfg, fixed_random());
  ASSERT_EQ(r.handle(dgram(hex(vec::am_msg1))).failure, MainModeFailure::none);
  const auto s = r.handle(dgram(hex(vec::am_msg3_encrypted)));
  ASSERT_EQ(s.failure, MainModeFailure::none) << s.cause;
  EXPECT_FALSE(s.reply);
  ASSERT_EQ(r.state(), MainModeState::established);
  const auto* sa = r.sa();
  ASSERT_NE(sa, nullptr);
  expect_keys(*sa);
  EXPECT_EQ(to_hex(sa->last_block), vec::am_last_block_encrypted);
  EXPECT_TRUE(sa->initial_contact);
}

TEST(AggressiveMode, ClearMessage3Establishes) {
  Calls calls;
  const auto cfg = config(calls);
  MainModeResponder r(cfg, fixed_random());
  ASSERT_EQ(r.handle(dgram(hex(vec::am_msg1))).failure, MainModeFailure::none);
  const auto s = r.handle(dgram(hex(vec::am_msg3_clear)));
  ASSERT_EQ(s.failure, MainModeFailure::none) << s.cause;
  ASSERT_EQ(r.state(), MainModeState::established);
  expect_keys(*r.sa());
  // Nothing encrypted in phase 1: phase 2 IVs start from the first IV.
  EXPECT_EQ(to_hex(r.sa()->last_block), vec::am_iv0);
  EXPECT_FALSE(r.sa()->initial_contact);
}

// The ISAKMP SA serves Quick Mode as a Main Mode one does: the phase-2 IV
// follows from message 3 (its last block, or the first IV when it came in
// the clear), HASH(2) and KEYMAT match the independent computation.
TEST(AggressiveMode, QuickModeOnTheSa) {
  const std::pair<const char*, std::array<const char*, 3>> cases[] = {
      {vec::am_msg3_encrypted, {vec::am_qm1_encrypted, vec::am_qm2_encrypted, vec::am_qm3_encrypted}},
      {vec::am_msg3_clear, {vec::am_qm1_clear, vec::am_qm2_clear, vec::am_qm3_clear}},
  };
  for (const auto& [m3, qm] : cases) {
    Calls calls;
    const auto cfg = config(calls);
    MainModeResponder r(cfg, fixed_random());
    ASSERT_EQ(r.handle(dgram(hex(vec::am_msg1))).failure, MainModeFailure::none);
    ASSERT_EQ(r.handle(dgram(hex(m3))).failure, MainModeFailure::none);
    ASSERT_NE(r.sa(), nullptr);
    QuickModeConfig qcfg;
    qcfg.policy = default_phase2_policy();
    QuickModeRandom random;
    random.spi = vec::am_qm_spi_r;
    random.nonce = hex(vec::am_qm_nr);
    QuickModeResponder q(*r.sa(), qcfg, random);
    auto s = q.handle(dgram(hex(qm[0])));
    ASSERT_EQ(s.failure, QuickModeFailure::none) << s.cause;
    ASSERT_TRUE(s.reply);
    EXPECT_EQ(to_hex(*s.reply), qm[1]);
    s = q.handle(dgram(hex(qm[2])));
    ASSERT_EQ(s.failure, QuickModeFailure::none) << s.cause;
    const auto* pair = q.result();
    ASSERT_NE(pair, nullptr);
    EXPECT_EQ(pair->inbound.spi, vec::am_qm_spi_r);
    EXPECT_EQ(pair->outbound.spi, 0xc0ffee02u);
    EXPECT_EQ(to_hex(pair->inbound.enc_key), vec::am_qm_in_enc);
    EXPECT_EQ(to_hex(pair->inbound.auth_key), vec::am_qm_in_auth);
    EXPECT_EQ(to_hex(pair->outbound.enc_key), vec::am_qm_out_enc);
    EXPECT_EQ(to_hex(pair->outbound.auth_key), vec::am_qm_out_auth);
    EXPECT_TRUE(pair->udp_encapsulated);
  }
}

TEST(AggressiveMode, WrongKeyIsNamed) {
  Calls calls;
  const auto cfg = config(calls, "a key the phone does not have");
  for (const char* m3 : {vec::am_msg3_encrypted, vec::am_msg3_clear}) {
    MainModeResponder r(cfg, fixed_random());
    const auto s2 = r.handle(dgram(hex(vec::am_msg1)));
    ASSERT_EQ(s2.failure, MainModeFailure::none);
    ASSERT_TRUE(s2.reply);
    EXPECT_NE(to_hex(*s2.reply), vec::am_msg2);  // HASH_R under the other key
    const auto s = r.handle(dgram(hex(m3)));
    EXPECT_EQ(s.failure, MainModeFailure::psk_mismatch);
    EXPECT_EQ(s.cause.rfind("pre-shared key mismatch", 0), 0U) << s.cause;
    EXPECT_EQ(r.state(), MainModeState::failed);
    EXPECT_EQ(r.sa(), nullptr);
  }
  // The peer encrypted under its own key, which is not ours.
  const auto right = config(calls);
  MainModeResponder r(right, fixed_random());
  ASSERT_EQ(r.handle(dgram(hex(vec::am_msg1))).failure, MainModeFailure::none);
  const auto s = r.handle(dgram(hex(vec::am_msg3_wrong_key)));
  EXPECT_EQ(s.failure, MainModeFailure::psk_mismatch) << s.cause;
}

TEST(AggressiveMode, PeerNotEnabledIsRefusedBeforeDiffieHellman) {
  Calls calls;
  const auto cfg = config(calls, "", false);
  // No nonce and a KE of the wrong size: either would fail the DH step,
  // so the refusal shows that it came first.
  auto random = fixed_random();
  random.nonce.clear();
  Message m;
  const auto m1 = hex(vec::am_msg1);
  ASSERT_EQ(parse_message(m1, m), ParseError::none);
  MessageBuilder b(m.header);
  for (const auto& p : m.payloads) {
    const Bytes short_ke(5, 1);
    b.add(static_cast<PayloadType>(p.type),
          p.type == static_cast<std::uint8_t>(PayloadType::key_exchange) ? ByteView(short_ke)
                                                                          : p.body);
  }
  MainModeResponder r(cfg, random);
  const auto s = r.handle(dgram(std::move(b).finish()));
  EXPECT_EQ(s.failure, MainModeFailure::aggressive_refused);
  EXPECT_EQ(s.cause, "not enabled for this peer: ID phone.example.org");
  EXPECT_EQ(r.peer_identity(), "phone.example.org");
  EXPECT_FALSE(s.reply);
  EXPECT_EQ(r.state(), MainModeState::failed);
  EXPECT_EQ(calls.aggressive_psk, 1);
}

TEST(AggressiveMode, NoPolicyRefusesEveryone) {
  Calls calls;
  auto cfg = config(calls);
  cfg.aggressive_psk = nullptr;
  MainModeResponder r(cfg, fixed_random());
  const auto s = r.handle(dgram(hex(vec::am_msg1)));
  EXPECT_EQ(s.failure, MainModeFailure::aggressive_refused);
  EXPECT_FALSE(s.reply);
}

TEST(AggressiveMode, ModeIsKeptToTheEnd) {
  Calls calls;
  const auto cfg = config(calls);
  MainModeResponder r(cfg, fixed_random());
  ASSERT_EQ(r.handle(dgram(hex(vec::am_msg1))).failure, MainModeFailure::none);
  // Message 3 relabelled as Main Mode is not of this exchange.
  auto as_main = hex(vec::am_msg3_clear);
  as_main[18] = static_cast<std::uint8_t>(ExchangeType::main_mode);
  EXPECT_EQ(r.handle(dgram(as_main)).failure, MainModeFailure::unexpected_exchange);
  EXPECT_EQ(r.state(), MainModeState::wait_msg3);
  ASSERT_EQ(r.handle(dgram(hex(vec::am_msg3_clear))).failure, MainModeFailure::none);
  EXPECT_EQ(r.state(), MainModeState::established);
}

// Every truncation and random mutations of messages 1 and 3: a named
// failure or success, never a crash (the ASan build checks the reads);
// malformed ones leave the exchange waiting.
TEST(AggressiveMode, TruncatedAndGarbledMessages) {
  Calls calls;
  const auto cfg = config(calls);
  const auto m1 = hex(vec::am_msg1);
  auto at = [](const Bytes& b) { return dgram(b); };
  test::expect_hostile_handled(cfg, fixed_random(), {}, m1, at, 1, 300, 11);
  for (const char* m3 : {vec::am_msg3_encrypted, vec::am_msg3_clear}) {
    test::expect_hostile_handled(cfg, fixed_random(), m1, hex(m3), at, 1, 300, 11);
  }
}

}  // namespace
}  // namespace l2tpgw::ike
