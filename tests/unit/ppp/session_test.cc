// A whole PPP session driven by the frames a Windows client sends (built by
// scapy in vectors.h; the MS-CHAPv2 exchange uses the RFC 2759 §9.2 inputs,
// so the up event carries the RFC 3079 §3.5.3 keys), each failure cause,
// hostile input, and the timers on a simulated clock.
#include "controlplane/ppp/session.h"

#include <gtest/gtest.h>

#include <memory>

#include "dataplane/crypto/esp_crypto.h"
#include "dataplane/wire/ppp.h"
#include "tests/unit/ppp/test_util.h"
#include "tests/unit/ppp/vectors.h"

namespace l2tpgw::ppp {
namespace {

using test::at;
using test::hex;
using test::to_hex;

constexpr std::uint32_t ip(unsigned a, unsigned b, unsigned c, unsigned d) {
  return a << 24 | b << 16 | c << 8 | d;
}

const test::Bytes auth_challenge = hex("5B 5D 7C 7D 7B 3F 2F 3E 3C 2C 60 21 32 26 26 28");

std::string frame_text(const Bytes& f) {
  return std::string(f.begin() + 8, f.end());
}

// What a Session is built from; each fixture fills in the settings, users
// and random script before make_session().
class SessionParts : public ::testing::Test {
 protected:
  explicit SessionParts(std::uint32_t pool_last = ip(100, 64, 0, 20))
      : pool(ip(100, 64, 0, 10), pool_last) {}

  void make_session() {
    session = std::make_unique<Session>(SessionContext{settings, users, pool, mgr.get(), random});
  }

  PppSettings settings;
  UserDb users;
  AddressPool pool;
  crypto::MgrPtr mgr = crypto::make_mgr();
  test::ScriptedRandom random;
  std::unique_ptr<Session> session;
};

class SessionTest : public SessionParts {
 protected:
  SessionTest() {
    settings.local_address = ip(100, 64, 0, 1);
    settings.dns_primary = ip(10, 1, 1, 1);
    settings.dns_secondary = ip(10, 1, 1, 2);
    users.add(User{"User", "clientPass", std::nullopt, std::nullopt, 1});
    users.add(User{"alice", "wonderland", std::nullopt, std::nullopt, 2});
  }

  void make() {
    // LCP magic, then the CHAP challenge (RFC 2759 §9.2's) and identifier.
    random.push(hex("11223344"));
    random.push(auth_challenge);
    random.push(hex("0000002a"));
    make_session();
  }

  std::vector<Bytes> start() {
    make();
    session->start(at(now));
    return session->take_output();
  }

  std::vector<Bytes> feed(const Bytes& f) {
    session->input(at(now), f);
    return session->take_output();
  }

  std::vector<Bytes> advance_to(long ms) {
    std::vector<Bytes> all;
    while (true) {
      const auto d = session->deadline();
      if (!d || *d > at(ms)) {
        break;
      }
      now = (*d - at(0)) / std::chrono::milliseconds(1);
      session->tick(*d);
      for (auto& f : session->take_output()) {
        all.push_back(std::move(f));
      }
    }
    now = ms;
    return all;
  }

  // Feeds one frame and expects exactly this one frame back.
  void expect_reply(const Bytes& in, const Bytes& reply) {
    const auto out = feed(in);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(to_hex(out[0]), to_hex(reply));
  }

  std::vector<Event> events() { return session->take_events(); }

  std::string down_cause() {
    for (const Event& e : events()) {
      if (e.kind == EventKind::down) {
        return e.cause;
      }
    }
    return "(no down event)";
  }

  // Up to the CHAP Challenge.
  void lcp_open() {
    auto out = start();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(to_hex(out[0]), to_hex(test::expect_lcp_request_mschapv2));
    expect_reply(test::win_lcp_request, test::expect_lcp_reject_callback);
    expect_reply(test::win_lcp_request2, test::expect_lcp_ack2);
    out = feed(test::win_lcp_ack_of_ours);
    ASSERT_EQ(out.size(), 1u);
    // RFC 1994 §4.1 Challenge: code 1, id, length, value-size 16, value, name.
    Bytes expect = hex("ff03c223 01 2a 001b 10");
    expect.insert(expect.end(), auth_challenge.begin(), auth_challenge.end());
    for (char c : std::string("l2tpgw")) {
      expect.push_back(static_cast<std::uint8_t>(c));
    }
    EXPECT_EQ(to_hex(out[0]), to_hex(expect));
    EXPECT_EQ(session->phase(), Phase::authenticate);
  }

  // The RFC user answers; returns what the server sent.
  std::vector<Bytes> mschapv2(const Bytes& response = test::win_mschapv2_response) {
    return feed(response);
  }

  void ipcp_open() {
    expect_reply(test::win_ipcp_request, test::expect_ipcp_reject_nbns);
    expect_reply(test::win_ipcp_request2, test::expect_ipcp_nak2);
    expect_reply(test::win_ipcp_request3, test::expect_ipcp_ack3);
    EXPECT_TRUE(feed(test::win_ipcp_ack_of_ours).empty());
  }

  void ccp_open() {
    expect_reply(test::win_ccp_request_stateless_128, test::expect_ccp_ack_128_h);
    expect_reply(test::win_ccp_nak_ours_128_h, test::expect_ccp_request2_128_h);
    EXPECT_TRUE(feed(test::win_ccp_ack_ours2).empty());
  }

  // Authenticated and IPCP open: CCP is what is left.
  void up_to_ccp() {
    lcp_open();
    mschapv2();
    ipcp_open();
  }

  void windows_up() {
    lcp_open();
    auto out = mschapv2();
    ASSERT_EQ(out.size(), 3u);
    ipcp_open();
    ccp_open();
    ASSERT_EQ(session->phase(), Phase::running);
  }

  long now = 0;
};

TEST_F(SessionTest, WindowsClientComesUp) {
  lcp_open();
  auto out = mschapv2();
  ASSERT_EQ(out.size(), 3u);
  // RFC 2759 §5 Success carrying the §9.2 AuthenticatorResponse.
  EXPECT_EQ(to_hex(std::span(out[0]).first(6)), "ff03c223032a");
  EXPECT_EQ(frame_text(out[0]), std::string(test::py_auth_response) + " M=Welcome");
  EXPECT_EQ(to_hex(out[1]), to_hex(test::expect_ipcp_request));
  EXPECT_EQ(to_hex(out[2]), to_hex(test::expect_ccp_request_all_h));
  EXPECT_EQ(session->phase(), Phase::network);
  ipcp_open();
  EXPECT_TRUE(events().empty());  // CCP still negotiating: not up yet
  ccp_open();
  const auto ev = events();
  ASSERT_EQ(ev.size(), 1u);
  ASSERT_EQ(ev[0].kind, EventKind::up);
  const SessionUp& up = ev[0].up;
  EXPECT_EQ(up.user, "User");
  EXPECT_EQ(up.address, ip(100, 64, 0, 10));
  EXPECT_TRUE(up.acfc);
  EXPECT_TRUE(up.pfc);
  EXPECT_EQ(up.peer_mru, 1400);
  EXPECT_EQ(up.mppe_bits, 128);
  EXPECT_TRUE(up.mppe_stateless);
  EXPECT_EQ(to_hex(up.mppe_send_key), to_hex(test::py_mppe_send_key));
  EXPECT_EQ(to_hex(up.mppe_recv_key), to_hex(test::py_mppe_recv_key));
  channel::SessionParams p{};
  session->fill(p);
  EXPECT_EQ(p.inner_addr, ip(100, 64, 0, 10));
  EXPECT_EQ(p.ppp_acfc, 1);
  EXPECT_EQ(p.ppp_pfc, 1);
  EXPECT_EQ(p.mppe_bits, 128);
  EXPECT_EQ(p.mppe_stateless, 1);
  EXPECT_EQ(to_hex(p.mppe_send_key), to_hex(test::py_mppe_send_key));
  EXPECT_TRUE(pool.in_use(ip(100, 64, 0, 10)));
  // Down releases the address.
  session->lower_down("L2TP session closed by the LAC");
  EXPECT_EQ(down_cause(), "L2TP session closed by the LAC");
  EXPECT_FALSE(pool.in_use(ip(100, 64, 0, 10)));
}

TEST_F(SessionTest, DomainPrefixedUserName) {
  lcp_open();
  auto out = mschapv2(test::win_mschapv2_response_domain);
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(frame_text(out[0]), std::string(test::py_auth_response) + " M=Welcome");
}

TEST_F(SessionTest, EchoAnsweredAndRepeatedResponsesReanswered) {
  windows_up();
  expect_reply(test::echo_request_from_client, test::expect_echo_reply);
  // A retransmitted MS-CHAPv2 Response (our Success was lost) gets the same
  // Success again.
  const auto out = feed(test::win_mschapv2_response);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(frame_text(out[0]), std::string(test::py_auth_response) + " M=Welcome");
  // Discard-Request is ignored.
  EXPECT_TRUE(feed(hex("ff03c021 0b 07 0008 5a6b7c8d")).empty());
}

TEST_F(SessionTest, WrongPassword) {
  users = UserDb{};
  users.add(User{"User", "notThePass", std::nullopt, std::nullopt, 1});
  lcp_open();
  auto out = mschapv2();
  ASSERT_EQ(out.size(), 2u);
  // RFC 2759 §6 Failure, then LCP Terminate-Request.
  EXPECT_EQ(to_hex(std::span(out[0]).first(6)), "ff03c223042a");
  EXPECT_EQ(frame_text(out[0]),
            "E=691 R=0 C=5B5D7C7D7B3F2F3E3C2C602132262628 V=3 M=Authentication failed");
  EXPECT_EQ(to_hex(std::span(out[1]).first(5)), "ff03c02105");
  EXPECT_EQ(down_cause(), "authentication failed for user User: wrong password (MS-CHAPv2)");
  EXPECT_EQ(pool.free_count(), pool.size());
}

TEST_F(SessionTest, UnknownUser) {
  users = UserDb{};
  lcp_open();
  mschapv2();
  EXPECT_EQ(down_cause(), "authentication failed for user User: unknown user (MS-CHAPv2)");
}

TEST_F(SessionTest, AuthProtocolNotAllowed) {
  start();
  feed(test::win_lcp_request2);
  const auto out = feed(test::pap_client_nak);
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(to_hex(std::span(out.back()).first(5)), "ff03c02105");  // Terminate-Request
  EXPECT_EQ(down_cause(), "authentication protocol not allowed: client asked for PAP");
}

TEST_F(SessionTest, PapFallbackInConfigOrder) {
  settings.auth = {AuthProto::mschapv2, AuthProto::pap};
  start();
  feed(test::win_lcp_request2);
  auto out = feed(test::pap_client_nak);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(to_hex(out[0]), to_hex(test::expect_lcp_request_pap));
  Bytes ack = out[0];
  ack[4] = 2;  // the client acknowledges our request as sent
  out = feed(ack);
  EXPECT_TRUE(out.empty());  // PAP: the client speaks first
  EXPECT_EQ(session->phase(), Phase::authenticate);
  out = feed(test::pap_request_alice);
  ASSERT_EQ(out.size(), 2u);  // Authenticate-Ack, IPCP request; no CCP (no MPPE keys with PAP)
  EXPECT_EQ(to_hex(std::span(out[0]).first(6)), "ff03c0230203");
  EXPECT_EQ(to_hex(out[1]), to_hex(test::expect_ipcp_request));
  ipcp_open();
  const auto ev = events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, EventKind::up);
  EXPECT_EQ(ev[0].up.user, "alice");
  EXPECT_EQ(ev[0].up.mppe_bits, 0);
  // CCP from the client is refused: policy has no keys to offer.
  out = feed(test::win_ccp_request_stateless_128);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(to_hex(std::span(out[0]).first(5)), "ff03c02108");
}

TEST_F(SessionTest, PapWrongPassword) {
  settings.auth = {AuthProto::pap};
  start();
  feed(test::win_lcp_request2);
  Bytes ack = test::expect_lcp_request_pap;
  ack[4] = 2;
  ack[5] = 1;
  feed(ack);
  const auto out = feed(test::pap_request_alice_bad);
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(to_hex(std::span(out[0]).first(6)), "ff03c0230303");  // Authenticate-Nak
  EXPECT_EQ(down_cause(), "authentication failed for user alice: wrong password (PAP)");
}

// The data plane keeps one MPPE mode per session: a client asking for
// stateful mode while our request (stateless) is out gets a Nak naming our
// mode. Bytes per RFC 3078 §2.1 (S = 0x40 is 128-bit, H = 0x01000000).
TEST_F(SessionTest, StatefulRequestIsNakedToOurStatelessMode) {
  up_to_ccp();
  const Bytes stateful_128 = {0xff, 0x03, 0x80, 0xfd, 0x01, 0x21, 0x00, 0x0a,
                              0x12, 0x06, 0x00, 0x00, 0x00, 0x40};
  const auto out = feed(stateful_128);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(to_hex(out[0]), "ff0380fd0321000a1206" "01000040");
}

TEST_F(SessionTest, EncryptionRequiredClientRejectsMppe) {
  settings.mppe = MppePolicy::require;
  up_to_ccp();
  const auto out = feed(test::win_ccp_reject_ours);
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(down_cause(), "encryption required but not offered");
}

TEST_F(SessionTest, EncryptionRequiredClientRefusesCcp) {
  settings.mppe = MppePolicy::require;
  up_to_ccp();
  // LCP Protocol-Reject of CCP (RFC 1661 §5.7).
  feed(hex("ff03c021 08 09 000a 80fd 01 01 0004"));
  EXPECT_EQ(down_cause(), "encryption required but not offered");
}

TEST_F(SessionTest, EncryptionRequiredClientOffersOnlyMppc) {
  settings.mppe = MppePolicy::require;
  up_to_ccp();
  auto out = feed(test::win_ccp_request_mppc_only);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0][4], 4);        // Configure-Reject
  feed(test::ccp_request_empty);  // Ack'ed: the client will not encrypt
  feed(test::win_ccp_nak_ours_128_h);
  out = feed(test::win_ccp_ack_ours2);
  EXPECT_EQ(down_cause(), "encryption required but not offered");
}

TEST_F(SessionTest, UserPolicyOverridesGlobal) {
  users = UserDb{};
  users.add(User{"User", "clientPass", ip(100, 64, 0, 15), MppePolicy::require, 1});
  settings.mppe = MppePolicy::none;
  lcp_open();
  const auto out = mschapv2();
  ASSERT_EQ(out.size(), 3u);  // CCP runs although the global policy is none
  EXPECT_TRUE(pool.in_use(ip(100, 64, 0, 15)));
}

TEST_F(SessionTest, AllowedWithoutMppeComesUpClear) {
  up_to_ccp();
  feed(hex("ff03c021 08 09 000a 80fd 01 01 0004"));
  const auto ev = events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, EventKind::up);
  EXPECT_EQ(ev[0].up.mppe_bits, 0);
}

TEST_F(SessionTest, StrongestAllowedBitsChosen) {
  settings.mppe_allowed = mppe_allow_40 | mppe_allow_56;
  settings.mppe_prefer_stateless = false;
  up_to_ccp();
  const auto out = feed(test::win_ccp_request_all);
  ASSERT_EQ(out.size(), 1u);
  // Nak with M (56-bit) alone: no S (not allowed), no H (stateful preferred).
  EXPECT_EQ(to_hex(out[0]),
            "ff0380fd0309000a1206"
            "00000080");
}

TEST_F(SessionTest, AddressPoolExhausted) {
  pool = AddressPool(ip(100, 64, 0, 10), ip(100, 64, 0, 9));
  lcp_open();
  mschapv2();
  EXPECT_EQ(down_cause(), "address pool exhausted");
}

TEST_F(SessionTest, StaticAddressInUse) {
  users = UserDb{};
  users.add(User{"User", "clientPass", ip(100, 64, 0, 12), std::nullopt, 1});
  ASSERT_TRUE(pool.reserve(ip(100, 64, 0, 12)));
  lcp_open();
  mschapv2();
  EXPECT_EQ(down_cause(), "static address 100.64.0.12 of user User already in use");
}

TEST_F(SessionTest, LcpEchoTimeout) {
  windows_up();
  events();
  // Three Echo-Requests, 20 s apart, none answered; the fourth interval ends
  // the session.
  auto out = advance_to(60'000);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(to_hex(std::span(out[0]).first(5)), "ff03c02109");
  EXPECT_EQ(to_hex(std::span(out[0]).subspan(8)), "11223344");
  EXPECT_EQ(session->phase(), Phase::running);
  advance_to(80'000);
  EXPECT_EQ(down_cause(), "LCP echo timeout: no reply to 3 Echo-Requests");
  EXPECT_EQ(session->counters()[Counter::echo_missed], 3u);
}

TEST_F(SessionTest, EchoRepliesKeepSessionUp) {
  windows_up();
  events();
  for (int i = 1; i <= 10; ++i) {
    auto out = advance_to(i * 20'000);
    ASSERT_EQ(out.size(), 1u);
    Bytes reply = out[0];
    reply[4] = 10;
    feed(reply);
  }
  EXPECT_TRUE(events().empty());
  EXPECT_EQ(session->phase(), Phase::running);
}

TEST_F(SessionTest, RestartTimerGivesUpAfterMaxConfigure) {
  start();
  const auto out = advance_to(29'999);
  EXPECT_EQ(out.size(), 9u);  // retransmissions at 3, 6, ... 27 s
  EXPECT_EQ(session->phase(), Phase::establish);
  advance_to(30'000);
  EXPECT_EQ(down_cause(), "no answer to LCP Configure-Request after 10 tries");
}

// RFC 1661 §4.2: the restart timer runs in Ack-Rcvd too. The client's
// own request may be lost; without the timer the link would wait forever.
TEST_F(SessionTest, AckRcvdKeepsTheRestartTimer) {
  start();
  EXPECT_TRUE(feed(test::win_lcp_ack_of_ours).empty());
  const auto out = advance_to(3'000);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(to_hex(out[0]).substr(0, 10), "ff03c02101");  // LCP Configure-Request again
  EXPECT_EQ(session->phase(), Phase::establish);
}

TEST_F(SessionTest, ChallengeRetransmittedThenTimeout) {
  lcp_open();
  const auto out = advance_to(29'999);
  int challenges = 0;
  for (const auto& f : out) {
    // LCP Echo-Requests are interleaved from 20 s on.
    if (f[2] == 0xc2) {
      EXPECT_EQ(to_hex(std::span(f).first(6)), "ff03c223012a");
      ++challenges;
    }
  }
  EXPECT_EQ(challenges, 9);
  advance_to(30'000);
  EXPECT_EQ(down_cause(), "authentication failed: no answer from the client (MS-CHAPv2)");
}

TEST_F(SessionTest, PeerTerminates) {
  windows_up();
  events();
  expect_reply(hex("ff03c021 05 0b 0004"), hex("ff03c021060b0004"));
  EXPECT_EQ(down_cause(), "peer sent LCP Terminate-Request");
  EXPECT_FALSE(pool.in_use(ip(100, 64, 0, 10)));
}

TEST_F(SessionTest, AdministrativeClose) {
  windows_up();
  events();
  session->close(at(now), "disconnected by the operator");
  const auto out = session->take_output();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(to_hex(std::span(out[0]).first(5)), "ff03c02105");
  EXPECT_EQ(down_cause(), "disconnected by the operator");
}

TEST_F(SessionTest, MppeResets) {
  windows_up();
  events();
  // The client lost sync on our frames: Reset-Ack and a transmit reset.
  expect_reply(test::win_ccp_reset_request, test::expect_ccp_reset_ack);
  auto ev = events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, EventKind::mppe_tx_reset);
  // We lost sync on the client's: Reset-Request, repeated until Reset-Ack.
  session->request_mppe_reset(at(now));
  auto out = session->take_output();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(to_hex(std::span(out[0]).first(5)), "ff0380fd0e");
  session->request_mppe_reset(at(now));
  EXPECT_TRUE(session->take_output().empty());  // one outstanding is enough
  const long t = now;
  auto again = advance_to(t + 3000);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(to_hex(std::span(again[0]).first(5)), "ff0380fd0e");
  Bytes ack = again[0];
  ack[4] = 15;
  feed(ack);
  EXPECT_TRUE(advance_to(t + 9000).empty());
}

TEST_F(SessionTest, Ipv6cpProtocolRejected) {
  windows_up();
  // LCP Protocol-Reject: Rejected-Protocol 8057 and the rejected packet.
  Bytes expect = hex("ff03c021 08 02 0014 8057");
  expect.insert(expect.end(), test::ipv6cp_request.begin() + 4, test::ipv6cp_request.end());
  expect_reply(test::ipv6cp_request, expect);
  EXPECT_EQ(session->counters()[Counter::ipv6cp_rejected], 1u);
  EXPECT_EQ(session->phase(), Phase::running);
}

TEST_F(SessionTest, CompressedHeadersAccepted) {
  start();
  // LCP without FF 03 (RFC 1661 §6.6 says LCP keeps it, but §2 framing
  // parsing must not choke).
  const Bytes no_ac(test::win_lcp_request2.begin() + 2, test::win_lcp_request2.end());
  expect_reply(no_ac, test::expect_lcp_ack2);
}

TEST_F(SessionTest, HostileInputCounted) {
  start();
  feed(hex("ff03c021 01 05 0010 0104"));     // lying length
  feed(hex("ff03c021 01 05 0007 0104 05"));  // option overruns
  feed(hex("ff03c021 01 05 0005 01"));       // truncated option
  feed(hex("ff03c0"));                       // no protocol field
  feed(hex("ff03 8021 01 01 0004"));         // IPCP before LCP opened
  Bytes flood = hex("ff03c021 01 06 0000");
  for (int i = 0; i < 40; ++i) {
    flood.push_back(7);
    flood.push_back(2);
  }
  flood[6] = 0;
  flood[7] = static_cast<std::uint8_t>(flood.size() - 4);
  EXPECT_TRUE(feed(flood).empty());
  const Counters& c = session->counters();
  EXPECT_EQ(c[Counter::lying_length], 1u);
  EXPECT_EQ(c[Counter::lying_option_length], 1u);
  EXPECT_EQ(c[Counter::truncated_option], 1u);
  EXPECT_EQ(c[Counter::bad_ppp_header], 1u);
  EXPECT_EQ(c[Counter::not_lcp_before_open], 1u);
  EXPECT_EQ(c[Counter::option_flood], 1u);
  EXPECT_EQ(session->phase(), Phase::establish);
}

TEST_F(SessionTest, UnknownCodeGetsCodeReject) {
  start();
  expect_reply(hex("ff03c021 20 07 0006 abcd"), hex("ff03c0210702000a20070006abcd"));
  EXPECT_EQ(session->counters()[Counter::code_reject_sent], 1u);
}

TEST_F(SessionTest, WrongMsChapV2LengthIgnored) {
  lcp_open();
  EXPECT_TRUE(feed(test::win_mschapv2_response_short).empty());
  EXPECT_EQ(session->counters()[Counter::mschapv2_bad_length], 1u);
  // A stale identifier is ignored too; the real answer still works.
  Bytes stale = test::win_mschapv2_response;
  stale[5] = 0x2b;
  EXPECT_TRUE(feed(stale).empty());
  EXPECT_EQ(session->counters()[Counter::auth_stale_id], 1u);
  EXPECT_EQ(mschapv2().size(), 3u);
}

TEST_F(SessionTest, EndlessNaksAbandoned) {
  start();
  feed(test::win_lcp_request2);
  // The client Naks our magic number over and over, each time naming a new
  // one; each Nak makes us send a fresh request.
  for (int i = 0; i < 11 && session->phase() == Phase::establish; ++i) {
    const Bytes id = {static_cast<std::uint8_t>(i + 1)};
    Bytes nak = hex("ff03c021 03");
    nak.push_back(id[0]);
    const Bytes rest = hex("000a 0506 01020304");
    nak.insert(nak.end(), rest.begin(), rest.end());
    feed(nak);
  }
  EXPECT_EQ(session->counters()[Counter::endless_naks], 1u);
  EXPECT_EQ(down_cause(), "peer sent endless LCP Configure-Naks");
}

TEST_F(SessionTest, NakTurnsIntoRejectAfterMaxFailure) {
  start();
  // MRU 100 is below min_mru: Nak'ed five times (Max-Failure), then
  // rejected (RFC 1661 §4.6).
  for (int i = 0; i < 5; ++i) {
    expect_reply(hex("ff03c021 01 09 0008 0104 0064"), hex("ff03c0210309000801040240"));
  }
  expect_reply(hex("ff03c021 01 09 0008 0104 0064"), hex("ff03c0210409000801040064"));
  EXPECT_EQ(session->counters()[Counter::nak_to_reject], 1u);
}

TEST_F(SessionTest, LoopedBackMagicNaked) {
  start();
  const auto out = feed(hex("ff03c021 01 04 000a 0506 11223344"));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0][4], 3);  // Configure-Nak with another number
  EXPECT_NE(to_hex(std::span(out[0]).subspan(10, 4)), "11223344");
  EXPECT_EQ(session->counters()[Counter::magic_loop], 1u);
}

}  // namespace
}  // namespace l2tpgw::ppp

namespace l2tpgw::ppp {
namespace {

// CHAP with MD5 (RFC 1994), the Response hashed by python's hashlib.
class ChapMd5Session : public SessionParts {
 protected:
  ChapMd5Session() : SessionParts(ip(100, 64, 0, 10)) {
    settings.auth = {AuthProto::chap_md5};
    users.add(User{"carol", "s3cret", std::nullopt, std::nullopt, 1});
    // LCP magic, then the CHAP challenge and identifier.
    random.push(hex("11223344"));
    random.push(hex("101112131415161718191a1b1c1d1e1f"));
    random.push(hex("00000007"));
  }

  // Starts the session, returning its first frames, then feeds the client's
  // LCP request and its Ack of ours.
  std::vector<Bytes> start() {
    make_session();
    session->start(at(0));
    auto first = session->take_output();
    session->input(at(1), test::win_lcp_request2);
    Bytes ack = test::expect_lcp_request_chap_md5;
    ack[4] = 2;
    session->input(at(2), ack);
    return first;
  }
};

TEST_F(ChapMd5Session, ComesUpWithoutMppe) {
  settings.mppe = MppePolicy::allow;
  settings.local_address = ip(100, 64, 0, 1);
  auto out = start();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(to_hex(out[0]), to_hex(test::expect_lcp_request_chap_md5));
  out = session->take_output();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(to_hex(std::span(out[1]).first(7)),
            "ff03c2230107"
            "00");
  session->input(at(3), test::chap_md5_response_carol);
  out = session->take_output();
  ASSERT_EQ(out.size(), 2u);  // Success, IPCP request (no CCP: no MPPE keys without MS-CHAPv2)
  EXPECT_EQ(to_hex(std::span(out[0]).first(6)), "ff03c2230307");
  EXPECT_EQ(session->auth_result().outcome, AuthOutcome::success);
  EXPECT_EQ(session->auth_result().user, "carol");
}

TEST_F(ChapMd5Session, RequireEncryptionFailsWithoutMsChapV2) {
  settings.mppe = MppePolicy::require;
  start();
  session->input(at(3), test::chap_md5_response_carol);
  const auto ev = session->take_events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, EventKind::down);
  EXPECT_EQ(ev[0].cause,
            "encryption required but not possible: MPPE keys need MS-CHAPv2, client used CHAP-MD5");
  EXPECT_FALSE(pool.in_use(ip(100, 64, 0, 10)));
}

}  // namespace
}  // namespace l2tpgw::ppp

namespace l2tpgw::ppp {
namespace {

// RFC 2661 §4.4.5 proxy LCP and authentication from a LAC.
class ProxyTest : public SessionParts {
 protected:
  ProxyTest() {
    settings.auth = {AuthProto::chap_md5, AuthProto::pap};
    settings.local_address = ip(100, 64, 0, 1);
    users.add(User{"carol", "s3cret", std::nullopt, std::nullopt, 1});
    random.push(hex("11223344"));
    make_session();
    // The LAC asked for CHAP-MD5 and magic 0x0a0b0c0d; the client for
    // magic, PFC and ACFC; the CHAP exchange used id 7 and the challenge
    // 10..1f (the Response from hashlib, in vectors.h).
    proxy.last_sent_confreq = hex("0305c22305 05060a0b0c0d");
    proxy.last_received_confreq = hex("05065a6b7c8d 0702 0802");
    proxy.authen_type = 2;
    proxy.authen_name = "carol";
    proxy.authen_challenge = hex("101112131415161718191a1b1c1d1e1f");
    proxy.authen_id = 7;
    // Value of the scapy-built CHAP Response: after ff03c223, code, id, len, size.
    proxy.authen_response.assign(test::chap_md5_response_carol.begin() + 9,
                                 test::chap_md5_response_carol.begin() + 25);
  }

  ProxyInfo proxy;
};

TEST_F(ProxyTest, TakesOverLcpAndChap) {
  session->start_proxied(at(0), proxy);
  EXPECT_EQ(session->proxy_note(), "");
  EXPECT_EQ(session->phase(), Phase::network);
  const auto out = session->take_output();
  ASSERT_EQ(out.size(), 1u);  // straight to IPCP
  EXPECT_EQ(to_hex(out[0]), to_hex(test::expect_ipcp_request));
  EXPECT_TRUE(session->lcp().pfc());
  EXPECT_TRUE(session->lcp().acfc());
  EXPECT_EQ(session->lcp().magic(), 0x0a0b0c0du);
  EXPECT_EQ(session->auth_result().user, "carol");
}

TEST_F(ProxyTest, WrongProxiedResponseFails) {
  proxy.authen_response[0] ^= 1;
  session->start_proxied(at(0), proxy);
  const auto ev = session->take_events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].cause, "authentication failed for user carol: wrong password (CHAP-MD5)");
}

TEST_F(ProxyTest, ProxiedPap) {
  proxy.last_sent_confreq = hex("0304c023 05060a0b0c0d");
  proxy.authen_type = 3;
  const std::string pw = "s3cret";
  proxy.authen_response.assign(pw.begin(), pw.end());
  session->start_proxied(at(0), proxy);
  EXPECT_EQ(session->phase(), Phase::network);
}

TEST_F(ProxyTest, UnacceptableLcpRenegotiated) {
  // The client's request carried Callback, which we reject.
  proxy.last_received_confreq = hex("05065a6b7c8d 0d0306");
  session->start_proxied(at(0), proxy);
  EXPECT_EQ(session->proxy_note(),
            "proxy LCP not used (the client's LCP options are not acceptable): renegotiating");
  EXPECT_EQ(session->phase(), Phase::establish);
  const auto out = session->take_output();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(to_hex(out[0]), to_hex(test::expect_lcp_request_chap_md5));
  EXPECT_EQ(session->counters()[Counter::proxy_lcp_renegotiated], 1u);
}

TEST_F(ProxyTest, MsChapV1CannotBeTakenOver) {
  proxy.last_sent_confreq = hex("0305c22380 05060a0b0c0d");
  proxy.authen_type = 5;
  session->start_proxied(at(0), proxy);
  EXPECT_EQ(session->proxy_note(),
            "proxy LCP not used (the LAC authenticated with MS-CHAPv1, which is not allowed): "
            "renegotiating");
}

}  // namespace
}  // namespace l2tpgw::ppp

namespace l2tpgw::ppp {
namespace {

TEST(Fsm, CatastrophicCodeRejectEndsLink) {
  PppSettings settings;
  UserDb users;
  AddressPool pool(ip(100, 64, 0, 10), ip(100, 64, 0, 10));
  test::ScriptedRandom random;
  Session s(SessionContext{settings, users, pool, nullptr, random});
  s.start(at(0));
  s.take_output();
  // RFC 1661 §5.6: the peer cannot handle Configure-Request at all.
  s.input(at(1), hex("ff03c021 07 01 0008 01 01 0004"));
  const auto ev = s.take_events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].cause, "peer rejected LCP code 1");
  // A Code-Reject of an optional code (Identification, 12) is harmless.
  Session s2(SessionContext{settings, users, pool, nullptr, random});
  s2.start(at(0));
  s2.input(at(1), hex("ff03c021 07 01 0008 0c 01 0004"));
  EXPECT_TRUE(s2.take_events().empty());
  EXPECT_EQ(s2.phase(), Phase::establish);
}

}  // namespace
}  // namespace l2tpgw::ppp
