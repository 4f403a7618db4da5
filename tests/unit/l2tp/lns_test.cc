// The LNS state machines end to end with a simulated LAC and clock: the
// full SCCRQ…ICCN…CDN…StopCCN exchange, tunnel authentication, loss,
// duplication, reordering, window limits and ZLB acknowledgements.
#include <gtest/gtest.h>

#include "controlplane/l2tp/tunnel_auth.h"
#include "tests/unit/l2tp/lns_fixture.h"
#include "tests/unit/l2tp/vectors.h"

namespace l2tp_test {
namespace {

// An SCCRQ carrying the vectors' LAC challenge (RFC 2661 §4.2).
ControlMessage challenging_sccrq(const Lac& lac) {
  ControlMessage rq = sccrq_for(lac);
  rq.avps.challenge = unhex(l2tp_vectors::lac_challenge);
  return rq;
}

TEST_F(LnsTest, FullExchange) {
  start();
  Lac lac;
  send(lac, sccrq_for(lac), 0);
  ASSERT_EQ(sent.size(), 1u);
  const ControlMessage& sccrp = sent[0];
  EXPECT_EQ(sccrp.message_type(), MessageType::sccrp);
  EXPECT_EQ(sccrp.header.tunnel_id, 0x1234);
  EXPECT_EQ(sccrp.header.ns, 0);
  EXPECT_EQ(sccrp.header.nr, 1);
  EXPECT_NE(lac.lns_tid, 0);
  EXPECT_EQ(sccrp.avps.protocol_version, (ProtocolVersion{1, 0}));
  EXPECT_EQ(sccrp.avps.host_name, "l2tpgw");
  EXPECT_EQ(sccrp.avps.receive_window_size, 16);
  EXPECT_FALSE(sccrp.avps.challenge);  // no secret configured

  // SCCCN: nothing to piggy-back the ack on, so a ZLB after the delay.
  send(lac, make(MessageType::scccn), 100);
  EXPECT_TRUE(sent.empty());
  EXPECT_TRUE(logged("tunnel established"));
  EXPECT_EQ(lns->next_deadline(), at_ms(350));
  poll(lac, 350);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_TRUE(sent[0].zlb());
  EXPECT_EQ(sent[0].header.nr, 2);
  EXPECT_EQ(lns->find_tunnel(lac.lns_tid)->state(), TunnelState::established);

  // ICRQ → ICRP.
  ControlMessage rq = icrq(0x0101);
  rq.avps.calling_number = "5552000";
  send(lac, rq, 1000);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].message_type(), MessageType::icrp);
  EXPECT_EQ(sent[0].header.session_id, 0x0101);
  EXPECT_EQ(sent[0].header.ns, 1);
  EXPECT_EQ(sent[0].header.nr, 3);
  const std::uint16_t sid = *sent[0].avps.assigned_session_id;
  EXPECT_NE(sid, 0);
  // The caller learns the ids with the ICRP, before the ICCN and the PPP
  // frames behind it.
  const auto offered = events<SessionOffered>();
  ASSERT_EQ(offered.size(), 1u);
  EXPECT_EQ(offered[0].session_id, sid);
  EXPECT_EQ(offered[0].peer_session_id, 0x0101);
  EXPECT_EQ(offered[0].peer_tunnel_id, 0x1234);
  EXPECT_EQ(offered[0].peer, lac.from);

  // ICCN with proxy LCP and authentication → established, AVPs handed on.
  ControlMessage cn = iccn();
  cn.avps.sequencing_required = true;
  cn.avps.last_sent_lcp_confreq = unhex("0104057805061122334403052281");
  cn.avps.proxy_authen_type = 2;
  cn.avps.proxy_authen_name = "alice";
  cn.avps.proxy_authen_challenge = unhex("00112233");
  cn.avps.proxy_authen_id = 9;
  cn.avps.proxy_authen_response = unhex("44556677");
  send(lac, cn, 1100, sid);
  const auto up = events<SessionEstablished>();
  ASSERT_EQ(up.size(), 1u);
  EXPECT_EQ(up[0].tunnel_id, lac.lns_tid);
  EXPECT_EQ(up[0].peer_tunnel_id, 0x1234);
  EXPECT_EQ(up[0].session_id, sid);
  EXPECT_EQ(up[0].peer_session_id, 0x0101);
  EXPECT_EQ(up[0].peer, lac.from);
  EXPECT_TRUE(up[0].sequencing_required);
  EXPECT_EQ(up[0].calling_number, "5552000");
  EXPECT_EQ(up[0].proxy.last_sent_lcp_confreq, unhex("0104057805061122334403052281"));
  EXPECT_EQ(up[0].proxy.authen_name, "alice");
  EXPECT_EQ(up[0].proxy.authen_id, 9);
  EXPECT_EQ(up[0].proxy.authen_response, unhex("44556677"));
  EXPECT_EQ(lns->session_count(), 1u);
  EXPECT_EQ(lns->find_tunnel(lac.lns_tid)->sessions().at(sid).proxy.authen_type, 2);

  // CDN from the LAC.
  ControlMessage d = make(MessageType::cdn);
  d.avps.result_code = ResultCode{3, std::nullopt, ""};
  d.avps.assigned_session_id = 0x0101;
  send(lac, d, 2000, sid);
  const auto down = events<SessionClosed>();
  ASSERT_EQ(down.size(), 1u);
  EXPECT_EQ(down[0].cause, CloseCause::peer_cdn);
  EXPECT_TRUE(down[0].was_established);
  EXPECT_EQ(down[0].result->result, 3);
  EXPECT_EQ(lns->session_count(), 0u);
  EXPECT_TRUE(logged("closed by the peer's CDN: result 3 (administrative)"));

  // StopCCN from the LAC: acknowledged, tunnel kept for the hold period.
  ControlMessage s = make(MessageType::stopccn);
  s.avps.assigned_tunnel_id = 0x1234;
  s.avps.result_code = ResultCode{1, std::nullopt, ""};
  send(lac, s, 3000);
  const auto tc = events<TunnelClosed>();
  ASSERT_EQ(tc.size(), 1u);
  EXPECT_EQ(tc[0].cause, CloseCause::peer_stopccn);
  EXPECT_EQ(tc[0].result->result, 1);
  EXPECT_TRUE(logged("peer sent StopCCN: result 1 (general request to clear)"));
  poll(lac, 3250);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_TRUE(sent[0].zlb());
  EXPECT_EQ(sent[0].header.nr, 6);
  // Its retransmission within the hold is acknowledged again at once.
  lac.ns = 5;
  send(lac, s, 10000);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_TRUE(sent[0].zlb());
  EXPECT_EQ(lns->counters().get(LnsCounter::duplicates), 1u);
  EXPECT_EQ(lns->tunnel_count(), 1u);
  poll(lac, 3000 + 31000);
  EXPECT_EQ(lns->tunnel_count(), 0u);
}

TEST_F(LnsTest, LocalCloseSessionAndTunnel) {
  start();
  Lac lac;
  establish(lac);
  const std::uint16_t sid = open_session(lac, 0x0101, 1000);
  out = LnsOutput{};
  ASSERT_TRUE(
      lns->close_session(lac.lns_tid, sid, ResultCode{3, 0, "idle timeout"}, at_ms(2000), out));
  absorb(lac);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].message_type(), MessageType::cdn);
  EXPECT_EQ(sent[0].header.session_id, 0x0101);
  EXPECT_EQ(sent[0].avps.assigned_session_id, sid);
  EXPECT_EQ(sent[0].avps.result_code->message, "idle timeout");
  ASSERT_EQ(events<SessionClosed>().size(), 1u);
  EXPECT_EQ(events<SessionClosed>()[0].cause, CloseCause::local_request);

  open_session(lac, 0x0102, 3000);
  out = LnsOutput{};
  ASSERT_TRUE(lns->close_tunnel(lac.lns_tid, ResultCode{6, std::nullopt, ""}, at_ms(4000), out));
  absorb(lac);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].message_type(), MessageType::stopccn);
  EXPECT_EQ(sent[0].avps.assigned_tunnel_id, lac.lns_tid);
  EXPECT_EQ(sent[0].avps.result_code->result, 6);
  EXPECT_EQ(events<SessionClosed>().size(), 1u);
  EXPECT_EQ(events<TunnelClosed>().size(), 1u);
  // The LAC's ZLB acknowledges the StopCCN: the tunnel is gone.
  send(lac, ControlMessage{}, 4100);
  EXPECT_EQ(lns->tunnel_count(), 0u);
  EXPECT_EQ(lns->session_count(), 0u);
}

TEST_F(LnsTest, TunnelAuthenticationSucceeds) {
  cfg.secret = bytes(l2tp_vectors::secret);
  start();
  Lac lac;
  send(lac, challenging_sccrq(lac), 0);
  ASSERT_EQ(sent.size(), 1u);
  // Our response to the LAC's challenge is the independent vector.
  const auto& resp = sent[0].avps.challenge_response;
  ASSERT_TRUE(resp);
  EXPECT_EQ(std::vector<std::uint8_t>(resp->begin(), resp->end()),
            unhex(l2tp_vectors::sccrp_response));
  ASSERT_TRUE(sent[0].avps.challenge);
  EXPECT_EQ(sent[0].avps.challenge->size(), 16u);
  ControlMessage cn = make(MessageType::scccn);
  const Md5Digest d = challenge_response(3, cfg.secret, *sent[0].avps.challenge);
  cn.avps.challenge_response.emplace();
  std::copy(d.begin(), d.end(), cn.avps.challenge_response->begin());
  send(lac, cn, 10);
  EXPECT_EQ(lns->find_tunnel(lac.lns_tid)->state(), TunnelState::established);
  EXPECT_EQ(lns->counters().get(LnsCounter::auth_failed), 0u);
}

TEST_F(LnsTest, TunnelAuthenticationFailureSendsStopCcnNotAuthorized) {
  cfg.secret = bytes(l2tp_vectors::secret);
  start();
  Lac lac;
  send(lac, sccrq_for(lac), 0);
  ControlMessage cn = make(MessageType::scccn);
  cn.avps.challenge_response.emplace();
  cn.avps.challenge_response->fill(0x5a);
  send(lac, cn, 10);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].message_type(), MessageType::stopccn);
  EXPECT_EQ(sent[0].avps.result_code->result, 4);  // §4.4.2: not authorized
  EXPECT_TRUE(logged("tunnel authentication failed"));
  EXPECT_EQ(lns->counters().get(LnsCounter::auth_failed), 1u);
  ASSERT_EQ(events<TunnelClosed>().size(), 1u);
  EXPECT_EQ(events<TunnelClosed>()[0].cause, CloseCause::auth_failed);

  // A SCCCN without any response fails the same way.
  Lac other;
  other.tid = 0x2222;
  other.from.port = 1702;
  send(other, sccrq_for(other), 100);
  send(other, make(MessageType::scccn), 110);
  EXPECT_TRUE(logged("SCCCN without Challenge Response"));
  EXPECT_EQ(lns->counters().get(LnsCounter::auth_failed), 2u);
}

TEST_F(LnsTest, ChallengeWithoutSecretIsRefused) {
  start();
  Lac lac;
  send(lac, challenging_sccrq(lac), 0);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].message_type(), MessageType::stopccn);
  EXPECT_EQ(sent[0].avps.result_code->result, 4);
  EXPECT_FALSE(sent[0].avps.challenge_response);
}

TEST_F(LnsTest, UnsupportedVersionIsRefused) {
  start();
  Lac lac;
  ControlMessage rq = sccrq_for(lac);
  rq.avps.protocol_version = ProtocolVersion{2, 0};
  send(lac, rq, 0);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].avps.result_code->result, 5);
  EXPECT_EQ(lns->counters().get(LnsCounter::unsupported_version), 1u);
}

TEST_F(LnsTest, SilentClientAfterSccrpIsReported) {
  start();
  Lac lac;
  send(lac, sccrq_for(lac), 0);
  const std::uint16_t tid = lac.lns_tid;
  for (const std::int64_t t : {1000, 3000, 7000, 15000, 23000}) {
    poll(lac, t);
    ASSERT_EQ(sent.size(), 1u) << t;
    EXPECT_EQ(sent[0].message_type(), MessageType::sccrp);
    EXPECT_EQ(sent[0].header.ns, 0);
  }
  poll(lac, 30999);
  EXPECT_TRUE(out.logs.empty());
  poll(lac, 31000);
  ASSERT_EQ(out.logs.size(), 1u);
  EXPECT_EQ(out.logs[0].text, "tunnel " + std::to_string(tid) +
                                  " from 10.1.2.3:1701: no response to SCCRP after 5 "
                                  "retransmits (client went silent)");
  EXPECT_EQ(out.logs[0].level, l2tpgw::cp::LogLevel::warning);
  ASSERT_EQ(events<TunnelClosed>().size(), 1u);
  EXPECT_EQ(events<TunnelClosed>()[0].cause, CloseCause::peer_silent);
  EXPECT_EQ(lns->counters().get(LnsCounter::peer_silent), 1u);
  EXPECT_EQ(lns->tunnel_count(), 0u);
}

TEST_F(LnsTest, HelloFindsADeadPeer) {
  cfg.hello_interval = Duration{60000};
  start();
  Lac lac;
  establish(lac);
  const std::uint16_t sid = open_session(lac, 0x0101, 100);
  poll(lac, 400);  // the ZLB for the ICCN
  poll(lac, 110 + 59999);
  EXPECT_TRUE(sent.empty());
  poll(lac, 110 + 60000);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].message_type(), MessageType::hello);
  // An answered HELLO keeps the tunnel.
  send(lac, ControlMessage{}, 60200);
  EXPECT_TRUE(lns->find_tunnel(lac.lns_tid)->channel().all_acked());
  // The next one goes unanswered.
  poll(lac, 60200 + 60000);
  ASSERT_EQ(sent.size(), 1u);
  std::int64_t t = 60200 + 60000;
  for (const std::int64_t step : {1000, 2000, 4000, 8000, 8000, 8000}) {
    t += step;
    poll(lac, t);
  }
  EXPECT_TRUE(logged("no response to HELLO after 5 retransmits"));
  const auto closed = events<SessionClosed>();
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0].session_id, sid);
  EXPECT_EQ(closed[0].cause, CloseCause::peer_silent);
  EXPECT_EQ(lns->tunnel_count(), 0u);
}

TEST_F(LnsTest, RetransmittedSccrqIsReackedNotANewTunnel) {
  start();
  Lac lac;
  send(lac, sccrq_for(lac), 0);
  lac.ns = 0;
  lac.nr = 0;
  send(lac, sccrq_for(lac), 1000);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_TRUE(sent[0].zlb());
  EXPECT_EQ(sent[0].header.nr, 1);
  EXPECT_EQ(lns->tunnel_count(), 1u);
  EXPECT_EQ(lns->counters().get(LnsCounter::duplicates), 1u);
}

TEST_F(LnsTest, ReorderedIcrqsAreAnsweredInOrder) {
  start();
  Lac lac;
  establish(lac);
  // Build ICRQ Ns 2 and Ns 3, deliver 3 first.
  auto build = [&lac](ControlMessage m) {
    m.header = ControlHeader{lac.lns_tid, 0, lac.ns++, lac.nr};
    return build_control_message(m);
  };
  const auto first = build(icrq(0x0101));
  const auto second = build(icrq(0x0102));
  send_raw(lac, second, 100);
  EXPECT_TRUE(sent.empty());
  EXPECT_EQ(lns->counters().get(LnsCounter::out_of_order_queued), 1u);
  send_raw(lac, first, 150);
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0].header.session_id, 0x0101);
  EXPECT_EQ(sent[1].header.session_id, 0x0102);
  EXPECT_EQ(sent[0].header.nr, 4);
}

TEST_F(LnsTest, PeerWindowOfOneHoldsTheSecondReply) {
  start();
  Lac lac;
  ControlMessage rq = sccrq_for(lac);
  rq.avps.receive_window_size = 1;
  send(lac, rq, 0);
  send(lac, make(MessageType::scccn), 10);
  poll(lac, 300);  // ZLB for the SCCCN
  // Two ICRQs before the LAC acknowledges anything.
  const std::uint16_t nr_before = lac.nr;
  send(lac, icrq(0x0101), 1000);
  ASSERT_EQ(sent.size(), 1u);
  lac.nr = nr_before;  // the LAC has not processed the ICRP yet
  send(lac, icrq(0x0102), 1010);
  EXPECT_TRUE(sent.empty());  // second ICRP held by the window
  EXPECT_EQ(lns->find_tunnel(lac.lns_tid)->channel().held(), 1u);
  // A ZLB acknowledging the first ICRP releases the second.
  lac.nr = static_cast<std::uint16_t>(nr_before + 1);
  send(lac, ControlMessage{}, 1100);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].header.session_id, 0x0102);
}

TEST_F(LnsTest, SessionWithoutIccnIsDroppedAfterTheSetupTimeout) {
  cfg.session_setup_timeout = Duration{60000};
  start();
  Lac lac;
  establish(lac);
  send(lac, icrq(0x0101), 1000);
  ASSERT_EQ(sent.size(), 1u);
  const std::uint16_t sid = *sent[0].avps.assigned_session_id;
  send(lac, ControlMessage{}, 1010);  // the LAC acknowledges the ICRP, then nothing
  EXPECT_EQ(lns->next_deadline(), at_ms(61000));
  poll(lac, 60999);
  EXPECT_EQ(lns->session_count(), 1u);
  poll(lac, 61000);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].message_type(), MessageType::cdn);
  EXPECT_EQ(sent[0].avps.assigned_session_id, sid);
  EXPECT_EQ(sent[0].header.session_id, 0x0101);
  EXPECT_EQ(lns->session_count(), 0u);
  EXPECT_EQ(lns->counters().get(LnsCounter::session_setup_timeout), 1u);
  ASSERT_EQ(events<SessionClosed>().size(), 1u);
  EXPECT_FALSE(events<SessionClosed>()[0].was_established);
}

TEST_F(LnsTest, SessionLimitRefusesWithCdnAndLog) {
  cfg.limits.max_sessions = 1;
  start();
  Lac lac;
  establish(lac);
  open_session(lac, 0x0101, 100);
  send(lac, icrq(0x0102), 200);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].message_type(), MessageType::cdn);
  EXPECT_EQ(sent[0].header.session_id, 0x0102);
  EXPECT_EQ(sent[0].avps.result_code->result, 4);
  EXPECT_EQ(sent[0].avps.result_code->error, 4);
  EXPECT_TRUE(logged("session limit reached"));
  EXPECT_EQ(lns->counters().get(LnsCounter::session_limit), 1u);
  EXPECT_EQ(lns->session_count(), 1u);
}

TEST_F(LnsTest, TunnelPerPeerLimitRefusesWithStopCcn) {
  cfg.limits.max_tunnels_per_peer = 1;
  start();
  Lac a;
  establish(a);
  Lac b;
  b.tid = 0x5555;
  send(b, sccrq_for(b), 100);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].message_type(), MessageType::stopccn);
  EXPECT_EQ(sent[0].header.tunnel_id, 0x5555);
  EXPECT_EQ(sent[0].header.nr, 1);
  EXPECT_EQ(sent[0].avps.result_code->result, 2);
  EXPECT_EQ(sent[0].avps.result_code->error, 4);
  EXPECT_TRUE(logged("SCCRQ refused: tunnel limit of this peer reached"));
  EXPECT_EQ(lns->tunnel_count(), 1u);
}

}  // namespace
}  // namespace l2tp_test

namespace l2tp_test {

// An IKE rekey moves a tunnel to the peer's new inbound SA; the removal of
// the SA with no successor ends the tunnel and its sessions at once, with
// nothing sent (nothing could be protected).
TEST_F(LnsTest, TunnelFollowsItsSaAndEndsWithIt) {
  start();
  Lac lac;
  establish(lac);
  const std::uint16_t sid = open_session(lac, 0x0101, 100);
  poll(lac, 400);
  EXPECT_EQ(lns->tunnels_on(lac_addr, 0x1000), std::vector<std::uint16_t>{lac.lns_tid});
  EXPECT_TRUE(lns->tunnels_on(lac_addr + 1, 0x1000).empty());
  lns->move_spi(lac_addr + 1, 0x1000, 0x2000);  // another peer's SPI of the same value: not ours
  EXPECT_EQ(lns->find_tunnel(lac.lns_tid)->peer().spi, std::optional<std::uint32_t>(0x1000));
  lns->move_spi(lac_addr, 0x1000, 0x2000);
  EXPECT_EQ(lns->find_tunnel(lac.lns_tid)->peer().spi, std::optional<std::uint32_t>(0x2000));
  EXPECT_TRUE(lns->tunnels_on(lac_addr, 0x1000).empty());

  out = LnsOutput{};
  ASSERT_TRUE(lns->abandon_tunnel(lac.lns_tid, CloseCause::transport_gone,
                                  "closed: IPsec SA removed (dead peer)", out));
  EXPECT_TRUE(out.packets.empty());
  ASSERT_EQ(out.logs.size(), 1u);
  EXPECT_EQ(out.logs[0].text, "tunnel " + std::to_string(lac.lns_tid) +
                                  " from 10.1.2.3:1701: closed: IPsec SA removed (dead peer)");
  const auto closed = events<SessionClosed>();
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0].session_id, sid);
  EXPECT_EQ(closed[0].cause, CloseCause::transport_gone);
  ASSERT_EQ(events<TunnelClosed>().size(), 1u);
  EXPECT_EQ(events<TunnelClosed>()[0].cause, CloseCause::transport_gone);
  EXPECT_EQ(lns->tunnel_count(), 0u);
  EXPECT_EQ(lns->session_count(), 0u);
  EXPECT_FALSE(lns->abandon_tunnel(lac.lns_tid, CloseCause::transport_gone, "again", out));
}

// A client hanging up sends StopCCN, then deletes its SAs: the tunnel held
// after the StopCCN goes quietly, it was already over.
TEST_F(LnsTest, HeldTunnelEndsQuietlyWithItsSa) {
  start();
  Lac lac;
  establish(lac);
  ControlMessage s = make(MessageType::stopccn);
  s.avps.assigned_tunnel_id = 0x1234;
  s.avps.result_code = ResultCode{1, std::nullopt, ""};
  send(lac, s, 3000);
  ASSERT_EQ(lns->tunnel_count(), 1u);
  EXPECT_EQ(lns->tunnels_on(lac_addr, 0x1000), std::vector<std::uint16_t>{lac.lns_tid});
  out = LnsOutput{};
  ASSERT_TRUE(lns->abandon_tunnel(lac.lns_tid, CloseCause::transport_gone, "closed: IPsec SA removed", out));
  EXPECT_TRUE(out.logs.empty());
  EXPECT_TRUE(out.events.empty());
  EXPECT_TRUE(out.packets.empty());
  EXPECT_EQ(lns->tunnel_count(), 0u);
}

}  // namespace l2tp_test
