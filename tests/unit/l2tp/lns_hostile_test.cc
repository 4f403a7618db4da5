// Hostile and malformed input at the LNS: every case ends in a named
// counter, never in a crash, a read out of bounds or a state change.
#include <gtest/gtest.h>

#include "tests/unit/l2tp/lns_fixture.h"
#include "tests/unit/l2tp/vectors.h"

namespace l2tp_test {
namespace {

std::vector<std::uint8_t> with_length_fixed(std::vector<std::uint8_t> b) {
  b[2] = static_cast<std::uint8_t>(b.size() >> 8);
  b[3] = static_cast<std::uint8_t>(b.size() & 0xff);
  return b;
}

TEST_F(LnsTest, TruncatedAvpIsCounted) {
  start();
  Lac lac;
  ControlMessage rq = sccrq_for(lac);
  auto b = build_control_message(rq);
  b.resize(b.size() - 1);  // cut into the last AVP, Length fixed to match
  send_raw(lac, with_length_fixed(b), 0);
  EXPECT_TRUE(out.packets.empty());
  EXPECT_EQ(lns->tunnel_count(), 0u);
  EXPECT_EQ(lns->counters().get(AvpError::length_beyond_message), 1u);
  EXPECT_EQ(lns->counters().get(MessageError::avp), 1u);

  // Three bytes of a next AVP header.
  auto c = build_control_message(rq);
  c.insert(c.end(), {0x80, 0x08, 0x00});
  send_raw(lac, with_length_fixed(c), 1);
  EXPECT_EQ(lns->counters().get(AvpError::truncated), 1u);
}

TEST_F(LnsTest, LyingLengthsAreCounted) {
  start();
  Lac lac;
  auto b = build_control_message(sccrq_for(lac));
  // Header Length beyond the datagram.
  auto h = b;
  h[3] = static_cast<std::uint8_t>(h[3] + 40);
  send_raw(lac, h, 0);
  EXPECT_EQ(lns->counters().get(MessageError::header_length_mismatch), 1u);
  // An AVP Length below its own header (the second AVP: Protocol Version).
  auto a = b;
  a[20] = 0x80;
  a[21] = 0x03;
  send_raw(lac, a, 1);
  EXPECT_EQ(lns->counters().get(AvpError::bad_length), 1u);
  // Header only, shorter than 12 bytes.
  send_raw(lac, std::vector<std::uint8_t>(b.begin(), b.begin() + 7), 2);
  EXPECT_EQ(lns->counters().get(MessageError::header_truncated), 1u);
  EXPECT_EQ(lns->tunnel_count(), 0u);
  EXPECT_TRUE(out.packets.empty());
}

TEST_F(LnsTest, HiddenAvpWithoutSecretIsCounted) {
  start();  // no secret
  Lac lac;
  establish(lac);
  // The vector's Tunnel ID is not ours: put ours in.
  auto v = unhex(l2tp_vectors::hidden_icrp);
  v[4] = static_cast<std::uint8_t>(lac.lns_tid >> 8);
  v[5] = static_cast<std::uint8_t>(lac.lns_tid & 0xff);
  send_raw(lac, v, 200);
  EXPECT_EQ(lns->counters().get(AvpError::hidden_without_secret), 1u);
  EXPECT_TRUE(
      logged("dropped: malformed AVP list (see the AVP error): hidden AVP but no shared "
             "secret is configured (AVP 14, Assigned Session ID)"));
  EXPECT_EQ(out.logs.at(0).level, l2tpgw::cp::LogLevel::debug);
  EXPECT_TRUE(out.packets.empty());
  EXPECT_TRUE(lns->find_tunnel(lac.lns_tid)->sessions().empty());
}

TEST_F(LnsTest, SessionIdOfAnotherTunnelIsCounted) {
  start();
  Lac a;
  establish(a);
  const std::uint16_t sid = open_session(a, 0x0101, 100);
  ASSERT_NE(sid, 0);
  Lac b;
  b.tid = 0x7777;
  b.from.port = 1702;
  establish(b, 200);
  // b sends an ICCN naming a's session.
  send(b, iccn(), 300, sid);
  EXPECT_EQ(lns->counters().get(LnsCounter::session_of_another_tunnel), 1u);
  EXPECT_TRUE(logged("of another tunnel"));
  EXPECT_TRUE(events<SessionEstablished>().empty());
  // And an id nobody has.
  send(b, iccn(), 400, static_cast<std::uint16_t>(sid + 1000));
  EXPECT_EQ(lns->counters().get(LnsCounter::unknown_session_id), 1u);
  // a's session is untouched.
  EXPECT_EQ(lns->find_tunnel(a.lns_tid)->sessions().at(sid).state, SessionState::established);
}

TEST_F(LnsTest, UnknownMandatoryAvpInSessionMessageClosesTheSession) {
  start();
  Lac lac;
  establish(lac);
  const std::uint16_t sid = open_session(lac, 0x0101, 100);
  ControlMessage w = make(MessageType::sli);
  w.avps.accm = Accm{0, 0};
  w.header = ControlHeader{lac.lns_tid, sid, lac.ns++, lac.nr};
  auto b = build_control_message(w);
  const auto unknown = unhex("800700000190ff");  // type 400, M set
  b.insert(b.end(), unknown.begin(), unknown.end());
  send_raw(lac, with_length_fixed(b), 200);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].message_type(), MessageType::cdn);
  EXPECT_EQ(sent[0].avps.result_code->result, 2);
  EXPECT_EQ(sent[0].avps.result_code->error, 8);
  ASSERT_EQ(events<SessionClosed>().size(), 1u);
  EXPECT_EQ(events<SessionClosed>()[0].cause, CloseCause::unknown_mandatory);
  EXPECT_EQ(lns->counters().get(AvpError::unknown_mandatory), 1u);
  EXPECT_EQ(lns->counters().get(LnsCounter::unknown_mandatory_teardown), 1u);
  // The tunnel stays.
  EXPECT_EQ(lns->find_tunnel(lac.lns_tid)->state(), TunnelState::established);
}

TEST_F(LnsTest, UnknownMandatoryAvpInTunnelMessageClosesTheTunnel) {
  start();
  Lac lac;
  establish(lac);
  ControlMessage h = make(MessageType::hello);
  h.header = ControlHeader{lac.lns_tid, 0, lac.ns++, lac.nr};
  auto b = build_control_message(h);
  const auto unknown = unhex("800700000190ff");
  b.insert(b.end(), unknown.begin(), unknown.end());
  send_raw(lac, with_length_fixed(b), 100);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].message_type(), MessageType::stopccn);
  EXPECT_EQ(sent[0].avps.result_code->error, 8);
  EXPECT_EQ(events<TunnelClosed>()[0].cause, CloseCause::unknown_mandatory);
  EXPECT_TRUE(logged("unknown mandatory AVP 400"));
}

TEST_F(LnsTest, UnknownMessageTypes) {
  start();
  Lac lac;
  establish(lac);
  // Type 99 without M: acknowledged and ignored.
  auto quiet = unhex(
      "c8020014000000000000000000080000"
      "00000063");
  quiet[4] = static_cast<std::uint8_t>(lac.lns_tid >> 8);
  quiet[5] = static_cast<std::uint8_t>(lac.lns_tid & 0xff);
  quiet[8] = static_cast<std::uint8_t>(lac.ns >> 8);
  quiet[9] = static_cast<std::uint8_t>(lac.ns++ & 0xff);
  quiet[11] = static_cast<std::uint8_t>(lac.nr);
  send_raw(lac, quiet, 100);
  EXPECT_EQ(lns->counters().get(LnsCounter::unknown_message_ignored), 1u);
  EXPECT_EQ(lns->find_tunnel(lac.lns_tid)->channel().expected_ns(), lac.ns);
  // Type 99 with M: the tunnel goes.
  auto loud = quiet;
  loud[12] = 0x80;
  loud[9] = static_cast<std::uint8_t>(lac.ns++ & 0xff);
  send_raw(lac, loud, 200);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].message_type(), MessageType::stopccn);
  EXPECT_TRUE(logged("unknown message type 99"));
}

TEST_F(LnsTest, WrongTunnelAndTransportAreCounted) {
  cfg.plain_allowed.push_back(PlainPrefix{0xc0a80000, 16});  // 192.168.0.0/16
  start();
  Lac lac;
  establish(lac);
  // Our tunnel id from another source port.
  Lac spoof = lac;
  spoof.from.port = 4000;
  send(spoof, make(MessageType::hello), 100);
  EXPECT_EQ(lns->counters().get(LnsCounter::tunnel_of_another_peer), 1u);
  // A tunnel id we never gave out.
  Lac stray = lac;
  stray.lns_tid = static_cast<std::uint16_t>(lac.lns_tid + 1);
  send(stray, make(MessageType::hello), 110);
  EXPECT_EQ(lns->counters().get(LnsCounter::unknown_tunnel_id), 1u);
  // Plain L2TP for a tunnel set up over ESP.
  Lac plain = lac;
  plain.from.spi.reset();
  send(plain, make(MessageType::hello), 120);
  EXPECT_EQ(lns->counters().get(LnsCounter::plain_not_allowed), 1u);  // 10.1.2.3 not trusted
  // Plain from an untrusted source never gets as far as parsing.
  Lac outsider;
  outsider.from = Endpoint{0x0b000001, 1701, std::nullopt};
  send(outsider, sccrq_for(outsider), 130);
  EXPECT_EQ(lns->counters().get(LnsCounter::plain_not_allowed), 2u);
  // A non-SCCRQ with Tunnel ID 0.
  Lac zero = lac;
  zero.lns_tid = 0;
  send(zero, make(MessageType::hello), 140);
  EXPECT_EQ(lns->counters().get(LnsCounter::tunnel_zero_not_sccrq), 1u);
  // A trusted plain LAC gets a tunnel; its own packets then stay plain.
  Lac trusted;
  trusted.from = Endpoint{0xc0a80105, 1701, std::nullopt};
  establish(trusted, 200);
  EXPECT_EQ(lns->find_tunnel(trusted.lns_tid)->state(), TunnelState::established);
  EXPECT_FALSE(lns->find_tunnel(trusted.lns_tid)->peer().spi);
  EXPECT_EQ(lns->tunnel_count(), 2u);
}

TEST_F(LnsTest, PlainPacketForEspTunnelIsTransportMismatch) {
  cfg.plain_allowed.push_back(PlainPrefix{0x0a000000, 8});
  start();
  Lac lac;  // spi 0x1000
  establish(lac);
  Lac plain = lac;
  plain.from.spi.reset();
  send(plain, make(MessageType::hello), 100);
  EXPECT_EQ(lns->counters().get(LnsCounter::transport_mismatch), 1u);
  // A new inbound SA (rekey) is taken and answered through.
  Lac rekeyed = lac;
  rekeyed.from.spi = 0x2000;
  send(rekeyed, make(MessageType::hello), 200);
  EXPECT_EQ(lns->find_tunnel(lac.lns_tid)->peer().spi, 0x2000u);
}

TEST_F(LnsTest, SessionLimitOfATunnelAndTunnelLimit) {
  cfg.limits.max_sessions_per_tunnel = 2;
  cfg.limits.max_tunnels = 1;
  start();
  Lac lac;
  establish(lac);
  open_session(lac, 1, 100);
  open_session(lac, 2, 200);
  send(lac, icrq(3), 300);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].message_type(), MessageType::cdn);
  EXPECT_EQ(lns->counters().get(LnsCounter::session_per_tunnel_limit), 1u);
  EXPECT_TRUE(logged("refused: session limit of the tunnel reached"));
  Lac other;
  other.tid = 0x4444;
  other.from.addr = 0x0a010204;
  send(other, sccrq_for(other), 400);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].message_type(), MessageType::stopccn);
  EXPECT_EQ(lns->counters().get(LnsCounter::tunnel_limit), 1u);
  EXPECT_TRUE(logged("tunnel from 10.1.2.4:1701: SCCRQ refused: tunnel limit reached"));
  // Counter names for the operator.
  bool found = false;
  for (const auto& [name, value] : lns->counters().nonzero()) {
    found = found || (name == "tunnel_limit" && value == 1);
  }
  EXPECT_TRUE(found);
  EXPECT_STREQ(describe(LnsCounter::tunnel_limit), "SCCRQ refused: tunnel limit reached");
}

TEST_F(LnsTest, MissingMandatoryAvpIsDroppedAndNamed) {
  start();
  Lac lac;
  ControlMessage rq = sccrq_for(lac);
  rq.avps.host_name.reset();
  send(lac, rq, 0);
  EXPECT_EQ(lns->tunnel_count(), 0u);
  EXPECT_EQ(lns->counters().get(MessageError::missing_mandatory_avp), 1u);
  EXPECT_TRUE(logged("(Host Name in SCCRQ)"));
  bool found = false;
  for (const auto& [name, value] : lns->counters().nonzero()) {
    found = found || name == "message_missing_mandatory_avp";
  }
  EXPECT_TRUE(found);
}

TEST_F(LnsTest, SccrqNotStartingAtNsZeroMakesNoTunnel) {
  start();
  Lac lac;
  lac.ns = 5;
  send(lac, sccrq_for(lac), 0);
  EXPECT_EQ(lns->tunnel_count(), 0u);
  EXPECT_EQ(lns->counters().get(LnsCounter::sccrq_nonzero_ns), 1u);
}

TEST_F(LnsTest, StopCcnWithUnknownMandatoryAvpStillEndsTheTunnel) {
  start();
  Lac lac;
  establish(lac);
  ControlMessage s = make(MessageType::stopccn);
  s.avps.assigned_tunnel_id = lac.tid;
  s.header = ControlHeader{lac.lns_tid, 0, lac.ns++, lac.nr};
  auto b = build_control_message(s);  // no Result Code either
  const auto unknown = unhex("800700000190ff");
  b.insert(b.end(), unknown.begin(), unknown.end());
  send_raw(lac, with_length_fixed(b), 100);
  EXPECT_TRUE(sent.empty());  // no StopCCN of ours in answer
  ASSERT_EQ(events<TunnelClosed>().size(), 1u);
  EXPECT_EQ(events<TunnelClosed>()[0].cause, CloseCause::peer_stopccn);
  EXPECT_TRUE(logged("peer sent StopCCN: no result code"));
}

TEST_F(LnsTest, MutatedMessagesNeverCrash) {
  cfg.secret = bytes(l2tp_vectors::secret);
  start();
  Lac lac;
  const std::vector<const char*> seeds = {
      l2tp_vectors::sccrq,   l2tp_vectors::iccn, l2tp_vectors::cdn, l2tp_vectors::hidden_iccn,
      l2tp_vectors::stopccn, l2tp_vectors::wen,  l2tp_vectors::sli};
  // A fixed LCG: the same mutations on every run.
  std::uint32_t x = 12345;
  const auto next = [&x]() {
    x = x * 1103515245u + 12345u;
    return x >> 8;
  };
  for (int round = 0; round < 4000; ++round) {
    auto b = unhex(seeds[next() % seeds.size()]);
    const int edits = 1 + static_cast<int>(next() % 4);
    for (int e = 0; e < edits; ++e) {
      b[next() % b.size()] = static_cast<std::uint8_t>(next());
    }
    if (next() % 3 == 0) {
      b.resize(next() % (b.size() + 1));
    }
    send_raw(lac, b, round);
  }
  EXPECT_EQ(lns->counters().get(LnsCounter::packets_received), 4000u);
  poll(lac, 100000);
}

}  // namespace
}  // namespace l2tp_test
