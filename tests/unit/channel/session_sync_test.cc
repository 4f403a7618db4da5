// Static session reconciliation against a data plane played in-process.
#include <gtest/gtest.h>

#include <cstring>
#include <sstream>

#include "controlplane/session_sync.h"
#include "tests/unit/channel/fake_dp.h"

namespace l2tpgw::cp {
namespace {

using namespace std::chrono_literals;

SessionConfig make_session(std::uint16_t tunnel, std::uint16_t session, std::uint32_t inner) {
  SessionConfig s;
  auto& p = s.params;
  p.local_tunnel_id = tunnel;
  p.local_session_id = session;
  p.peer_tunnel_id = static_cast<std::uint16_t>(tunnel + 100);
  p.peer_session_id = static_cast<std::uint16_t>(session + 200);
  p.peer_addr = 0xc6336407;  // 198.51.100.7
  p.peer_port = 1701;
  p.local_port = 1701;
  p.sa_in_spi = 0x1001;
  p.sa_out_spi = 0x2001;
  p.inner_addr = inner;
  p.ppp_acfc = 1;
  p.ppp_pfc = 0;
  p.l2tp_sequencing = 1;
  p.mppe_bits = 128;
  p.mppe_stateless = 1;
  for (std::uint8_t i = 0; i < 16; ++i) {
    p.mppe_send_key[i] = static_cast<std::uint8_t>(0xa0 + i);
    p.mppe_recv_key[i] = static_cast<std::uint8_t>(0x50 + i);
  }
  s.line = 70;
  return s;
}

class SessionSyncTest : public ::testing::Test {
 protected:
  SessionSyncTest() : ch(channel::Segment::attach(dp.name), 0) {}

  SyncStats sync(const std::vector<SessionConfig>& s, std::chrono::milliseconds t = 2000ms) {
    return sync_static_sessions(ch, s, log, t);
  }

  testing::FakeDp dp;
  DpChannel ch;
  std::ostringstream out;
  Logger log{out};
};

TEST_F(SessionSyncTest, PushesStaticSessionsWithTheirParams) {
  dp.start();
  const std::vector<SessionConfig> s = {make_session(1, 1, 0x0a010007),
                                        make_session(1, 2, 0x0a010008)};
  const SyncStats st = sync(s);
  EXPECT_EQ(st.installed, 2u);
  EXPECT_EQ(st.failed, 0u);
  const auto got = dp.received();
  ASSERT_EQ(got.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(got[i].hdr.type, channel::MsgType::session_add);
    EXPECT_EQ(got[i].hdr.version, channel::version);
    EXPECT_EQ(std::memcmp(&got[i].session_add.session, &s[i].params, sizeof(channel::SessionParams)),
              0);
  }
  // Field by field too, as the data plane reads them.
  const auto& p = got[0].session_add.session;
  EXPECT_EQ(p.local_tunnel_id, 1);
  EXPECT_EQ(p.local_session_id, 1);
  EXPECT_EQ(p.peer_tunnel_id, 101);
  EXPECT_EQ(p.peer_session_id, 201);
  EXPECT_EQ(p.peer_addr, 0xc6336407u);
  EXPECT_EQ(p.sa_in_spi, 0x1001u);
  EXPECT_EQ(p.sa_out_spi, 0x2001u);
  EXPECT_EQ(p.inner_addr, 0x0a010007u);
  EXPECT_EQ(p.ppp_acfc, 1);
  EXPECT_EQ(p.l2tp_sequencing, 1);
  EXPECT_EQ(p.mppe_bits, 128);
  EXPECT_EQ(p.mppe_stateless, 1);
  EXPECT_EQ(p.mppe_send_key[0], 0xa0);
  EXPECT_EQ(p.mppe_send_key[15], 0xaf);
  EXPECT_EQ(p.mppe_recv_key[0], 0x50);
  EXPECT_EQ(p.mppe_recv_key[15], 0x5f);
  EXPECT_NE(got[0].hdr.cookie, got[1].hdr.cookie);
  EXPECT_EQ(read_session_directory(dp.seg).size(), 2u);
  EXPECT_NE(out.str().find(" info  session: installed tunnel 1 session 1 peer 198.51.100.7:1701 "
                           "address 10.1.0.7 sa in 0x00001001 out 0x00002001\n"),
            std::string::npos)
      << out.str();
}

TEST_F(SessionSyncTest, IdenticalSessionIsNotPushedAgain) {
  const std::vector<SessionConfig> s = {make_session(1, 1, 0x0a010007)};
  dp.install_session(9, s[0].params);
  dp.start();
  const SyncStats st = sync(s);
  EXPECT_EQ(st.present, 1u);
  EXPECT_EQ(st.installed, 0u);
  EXPECT_EQ(st.deleted, 0u);
  EXPECT_TRUE(dp.received().empty());
  EXPECT_NE(out.str().find("session: already present tunnel 1 session 1 peer"), std::string::npos)
      << out.str();
}

TEST_F(SessionSyncTest, ChangedSessionIsReplacedAndStaleOneDeleted) {
  SessionConfig changed = make_session(1, 1, 0x0a010007);
  dp.install_session(0, changed.params);
  dp.install_session(1, make_session(7, 9, 0x0a0100ff).params);
  changed.params.peer_port = 4711;  // the client came back through a NAT
  dp.start();
  const SyncStats st = sync({changed});
  EXPECT_EQ(st.replaced, 1u);
  EXPECT_EQ(st.deleted, 1u);
  EXPECT_EQ(st.failed, 0u);
  const auto got = dp.received();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].hdr.type, channel::MsgType::session_del);
  EXPECT_EQ(got[0].session_del.local_tunnel_id, 7);
  EXPECT_EQ(got[0].session_del.local_session_id, 9);
  EXPECT_EQ(got[1].hdr.type, channel::MsgType::session_add);
  EXPECT_EQ(got[1].session_add.session.peer_port, 4711);
  EXPECT_NE(out.str().find("session: replaced tunnel 1 session 1 peer 198.51.100.7:4711"),
            std::string::npos)
      << out.str();
  EXPECT_NE(out.str().find("session: deleted tunnel 7 session 9 peer 198.51.100.7:1701 address "
                           "10.1.0.255 sa in 0x00001001 out 0x00002001 (no longer in the "
                           "configuration)"),
            std::string::npos)
      << out.str();
  const auto dir = read_session_directory(dp.seg);
  ASSERT_EQ(dir.size(), 1u);
  EXPECT_EQ(dir[0].peer_port, 4711);
}

TEST_F(SessionSyncTest, EveryFieldCountsInTheComparison) {
  const auto base = make_session(1, 1, 0x0a010007).params;
  EXPECT_TRUE(same_session(base, base));
  const std::vector<void (*)(channel::SessionParams&)> changes = {
      [](channel::SessionParams& p) { p.peer_tunnel_id++; },
      [](channel::SessionParams& p) { p.peer_session_id++; },
      [](channel::SessionParams& p) { p.peer_addr++; },
      [](channel::SessionParams& p) { p.peer_port++; },
      [](channel::SessionParams& p) { p.local_port++; },
      [](channel::SessionParams& p) { p.sa_in_spi++; },
      [](channel::SessionParams& p) { p.sa_out_spi++; },
      [](channel::SessionParams& p) { p.inner_addr++; },
      [](channel::SessionParams& p) { p.ppp_acfc ^= 1; },
      [](channel::SessionParams& p) { p.ppp_pfc ^= 1; },
      [](channel::SessionParams& p) { p.l2tp_sequencing ^= 1; },
      [](channel::SessionParams& p) { p.mppe_bits = 40; },
      [](channel::SessionParams& p) { p.mppe_stateless ^= 1; },
      [](channel::SessionParams& p) { p.mppe_send_key[0] ^= 1; },
      [](channel::SessionParams& p) { p.mppe_send_key[15] ^= 0x80; },
      [](channel::SessionParams& p) { p.mppe_recv_key[0] ^= 0x80; },
      [](channel::SessionParams& p) { p.mppe_recv_key[15] ^= 1; },
      [](channel::SessionParams& p) { p.ipv6 ^= 1; },
      [](channel::SessionParams& p) { p.ipv6_prefix[0] ^= 0x20; },
      [](channel::SessionParams& p) { p.ipv6_prefix[7] ^= 1; },
      [](channel::SessionParams& p) { p.ipv6_ifid[7] ^= 1; },
  };
  for (std::size_t i = 0; i < changes.size(); ++i) {
    auto p = base;
    changes[i](p);
    EXPECT_FALSE(same_session(base, p)) << "change " << i;
    EXPECT_TRUE(same_session_ids(base, p)) << "change " << i;
  }
  auto other = base;
  other.local_session_id++;
  EXPECT_FALSE(same_session_ids(base, other));
}

// The data plane's directory shows MPPE sessions without their keys: an
// unchanged one is left alone (a restart must not reset its RC4 state and
// coherency counts), a new strength or mode replaces it, and the keys pushed
// never appear in the log.
TEST_F(SessionSyncTest, MppeSessionsKeptOrReplacedByStrengthAndMode) {
  const SessionConfig same = make_session(1, 1, 0x0a010007);
  dp.install_session(0, same.params);
  dp.install_session(1, make_session(1, 2, 0x0a010008).params);
  dp.install_session(2, make_session(1, 3, 0x0a010009).params);
  ASSERT_EQ(read_session_directory(dp.seg)[0].mppe_send_key[0], 0);  // as the data plane shows it
  std::vector<SessionConfig> wanted = {same, make_session(1, 2, 0x0a010008),
                                       make_session(1, 3, 0x0a010009)};
  wanted[1].params.mppe_bits = 40;
  wanted[2].params.mppe_stateless = 0;
  dp.start();
  const SyncStats st = sync(wanted);
  EXPECT_EQ(st.present, 1u);
  EXPECT_EQ(st.replaced, 2u);
  EXPECT_EQ(st.failed, 0u);
  const auto got = dp.received();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].session_add.session.local_session_id, 2);
  EXPECT_EQ(got[0].session_add.session.mppe_bits, 40);
  EXPECT_EQ(got[1].session_add.session.local_session_id, 3);
  EXPECT_EQ(got[1].session_add.session.mppe_stateless, 0);
  // The keys travel whole in the command.
  EXPECT_EQ(got[1].session_add.session.mppe_send_key[15], 0xaf);
  EXPECT_EQ(got[1].session_add.session.mppe_recv_key[15], 0x5f);
  for (const char* key : {"a0a1a2", "A0A1A2", "505152"}) {
    EXPECT_EQ(out.str().find(key), std::string::npos) << out.str();
  }
}

TEST_F(SessionSyncTest, KeysCountWhenBothSidesHoldThem) {
  const auto base = make_session(1, 1, 0x0a010007).params;
  auto other = base;
  other.mppe_recv_key[3] ^= 0x10;
  EXPECT_FALSE(same_session(base, other));
  auto hidden = base;
  std::memset(hidden.mppe_send_key, 0, sizeof hidden.mppe_send_key);
  std::memset(hidden.mppe_recv_key, 0, sizeof hidden.mppe_recv_key);
  EXPECT_TRUE(same_session(hidden, base));
  EXPECT_TRUE(same_session(base, hidden));
  EXPECT_TRUE(same_session(hidden, other));
  // One key alone is still a key.
  auto half = hidden;
  half.mppe_recv_key[0] = base.mppe_recv_key[0];
  EXPECT_FALSE(same_session(half, base));
}

TEST_F(SessionSyncTest, AckTimeoutIsReported) {
  dp.start(/*answer=*/false);
  const SyncStats st = sync({make_session(1, 1, 0x0a010007)}, 50ms);
  EXPECT_EQ(st.failed, 1u);
  EXPECT_NE(out.str().find(" error session: install of tunnel 1 session 1 peer 198.51.100.7:1701 "
                           "address 10.1.0.7 sa in 0x00001001 out 0x00002001 (line 70) failed: "
                           "no ack from the data plane within 50 ms"),
            std::string::npos)
      << out.str();
}

TEST_F(SessionSyncTest, TableFullIsReportedByName) {
  // The fake's table holds 16 sessions.
  std::vector<SessionConfig> s;
  for (std::uint16_t i = 1; i <= 17; ++i) {
    s.push_back(make_session(1, i, 0x0a010000u + i));
  }
  dp.start();
  const SyncStats st = sync(s);
  EXPECT_EQ(st.installed, 16u);
  EXPECT_EQ(st.failed, 1u);
  EXPECT_NE(out.str().find("install of tunnel 1 session 17 peer"), std::string::npos);
  EXPECT_NE(out.str().find("failed: table_full"), std::string::npos) << out.str();
}

}  // namespace
}  // namespace l2tpgw::cp
