// The whole control plane against a data plane played in-process: attach,
// push, mark the segment, serve the socket, log lifetime events.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <sstream>

#include "controlplane/controlplane.h"
#include "tests/unit/channel/fake_dp.h"

namespace l2tpgw::cp {
namespace {

Config test_config(const std::string& channel_name, const std::string& socket) {
  Config c;
  c.dataplane.channel = channel_name;
  c.controlplane.socket = socket;
  PortConfig out;
  out.name = "outside";
  out.address = {0xc6336401, 24};
  c.ports.push_back(out);
  SaConfig sa;
  sa.params.dir = channel::Direction::in;
  sa.params.spi = 0x1000;
  sa.params.peer_addr = 0xcb007105;
  sa.params.cipher = EspCipher::aes_gcm_128;
  sa.params.auth = EspAuth::none;
  sa.params.cipher_key_len = 20;
  sa.params.replay_window = 64;
  c.sas.push_back(sa);
  sa.params.dir = channel::Direction::out;
  sa.params.spi = 0x2000;
  c.sas.push_back(sa);
  SessionConfig session;
  session.params.local_tunnel_id = 1;
  session.params.local_session_id = 1;
  session.params.peer_tunnel_id = 100;
  session.params.peer_session_id = 200;
  session.params.peer_addr = 0xcb007105;
  session.params.peer_port = 1701;
  session.params.local_port = 1701;
  session.params.sa_in_spi = 0x1000;
  session.params.sa_out_spi = 0x2000;
  session.params.inner_addr = 0x0a010007;
  c.sessions.push_back(session);
  return c;
}

CpOptions options(const std::string& channel_name, const std::string& socket) {
  CpOptions o;
  o.config = test_config(channel_name, socket);
  return o;
}

class ControlPlaneTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/l2tpgw-cp-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir = tmpl;
    socket = dir + "/run/ctl.sock";
  }
  void TearDown() override { std::filesystem::remove_all(dir); }

  std::string dir;
  std::string socket;
  std::ostringstream out;
  Logger log{out};
};

TEST_F(ControlPlaneTest, WaitsForReadyThenSyncs) {
  testing::FakeDp dp;
  dp.start();
  ControlPlane cp(options(dp.name, socket), log);
  EXPECT_FALSE(cp.step());
  EXPECT_FALSE(cp.attached());
  EXPECT_NE(out.str().find("waiting for the data plane"), std::string::npos);
  dp.set_ready();
  while (!cp.attached()) {
    cp.step();
  }
  EXPECT_TRUE(cp.synced());
  EXPECT_EQ(dp.seg.header().cp_pid.load(), getpid());
  // SAs first, then the session that rides on them; the data plane is told
  // it may receive only after both.
  const auto got = dp.received();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].hdr.type, channel::MsgType::sa_add);
  EXPECT_EQ(got[1].hdr.type, channel::MsgType::sa_add);
  EXPECT_EQ(got[2].hdr.type, channel::MsgType::session_add);
  EXPECT_EQ(dp.synced_at_receipt(), (std::vector<std::uint32_t>{0, 0, 0}));
  EXPECT_EQ(dp.seg.header().cp_synced.load(), 1u);
  EXPECT_NE(out.str().find("sa: static SAs: 2 installed, 0 replaced, 0 already present"),
            std::string::npos)
      << out.str();
  EXPECT_NE(out.str().find("session: installed tunnel 1 session 1 peer 203.0.113.5:1701 address "
                           "10.1.0.7 sa in 0x00001000 out 0x00002000\n"),
            std::string::npos)
      << out.str();
  EXPECT_NE(out.str().find("session: static sessions: 1 installed, 0 replaced, 0 already present, "
                           "0 deleted, 0 failed"),
            std::string::npos)
      << out.str();
  EXPECT_EQ(std::filesystem::status(socket).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

TEST_F(ControlPlaneTest, RestartDoesNotRepush) {
  testing::FakeDp dp;
  dp.set_ready();
  dp.start();
  {
    ControlPlane first(options(dp.name, socket), log);
    while (!first.attached()) {
      first.step();
    }
  }
  ControlPlane second(options(dp.name, socket), log);
  while (!second.attached()) {
    second.step();
  }
  EXPECT_EQ(dp.received().size(), 3u);
  EXPECT_NE(out.str().find("static SAs: 0 installed, 0 replaced, 2 already present"),
            std::string::npos);
  EXPECT_NE(out.str().find("static sessions: 0 installed, 0 replaced, 1 already present"),
            std::string::npos)
      << out.str();
}

TEST_F(ControlPlaneTest, RestartDeletesSessionsNoLongerConfigured) {
  testing::FakeDp dp;
  dp.set_ready();
  dp.start();
  {
    ControlPlane first(options(dp.name, socket), log);
    while (!first.attached()) {
      first.step();
    }
  }
  CpOptions o = options(dp.name, socket);
  o.config.sessions[0].params.local_session_id = 2;
  ControlPlane second(std::move(o), log);
  while (!second.attached()) {
    second.step();
  }
  const auto got = dp.received();
  ASSERT_EQ(got.size(), 5u);
  EXPECT_EQ(got[3].hdr.type, channel::MsgType::session_del);
  EXPECT_EQ(got[3].session_del.local_session_id, 1);
  EXPECT_EQ(got[4].hdr.type, channel::MsgType::session_add);
  EXPECT_EQ(got[4].session_add.session.local_session_id, 2);
  EXPECT_NE(out.str().find("static sessions: 1 installed, 0 replaced, 0 already present, "
                           "1 deleted, 0 failed"),
            std::string::npos)
      << out.str();
}

TEST_F(ControlPlaneTest, LifetimeEventIsLogged) {
  testing::FakeDp dp;
  dp.set_ready();
  dp.start();
  ControlPlane cp(options(dp.name, socket), log);
  while (!cp.attached()) {
    cp.step();
  }
  channel::CtrlMsg ev{};
  ev.lifetime.hdr = {channel::version, channel::MsgType::sa_lifetime, 0};
  ev.lifetime.dir = channel::Direction::in;
  ev.lifetime.kind = channel::LifetimeKind::soft_packets;
  ev.lifetime.spi = 0x1000;
  ev.lifetime.peer_addr = 0xcb007105;
  ev.lifetime.packets = 1000;
  ev.lifetime.bytes = 64000;
  ASSERT_EQ(rte_ring_enqueue_elem(dp.seg.event_ring(), &ev, channel::ctrl_elem_size), 0);
  EXPECT_TRUE(cp.step());
  EXPECT_NE(out.str().find(" warn  sa: in spi 0x00001000 peer 203.0.113.5 soft packet lifetime "
                           "reached (packets=1000, bytes=64000)\n"),
            std::string::npos)
      << out.str();
}

// RFC 3078 §8.2: a stateful MPPE gap in the data plane asks for a CCP
// Reset-Request; the control plane logs it and counts it for the session.
TEST_F(ControlPlaneTest, MppeResetRequestIsLoggedAndCounted) {
  testing::FakeDp dp;
  dp.set_ready();
  dp.start();
  CpOptions o = options(dp.name, socket);
  auto& sp = o.config.sessions[0].params;
  sp.mppe_bits = 128;
  sp.mppe_stateless = 0;
  std::memset(sp.mppe_send_key, 0x11, sizeof sp.mppe_send_key);
  std::memset(sp.mppe_recv_key, 0x22, sizeof sp.mppe_recv_key);
  ControlPlane cp(std::move(o), log);
  while (!cp.attached()) {
    cp.step();
  }
  channel::CtrlMsg ev{};
  ev.session_event.hdr = {channel::version, channel::MsgType::session_event, 0};
  ev.session_event.kind = channel::SessionEventKind::mppe_reset_request;
  ev.session_event.local_tunnel_id = 1;
  ev.session_event.local_session_id = 1;
  ev.session_event.coherency_count = 10;
  dp.send_event(ev);
  while (!cp.step()) {
  }
  EXPECT_NE(out.str().find(" warn  session: tunnel 1 session 1: MPPE packets lost (coherency "
                           "count 10): CCP Reset-Request needed\n"),
            std::string::npos)
      << out.str();
  EXPECT_EQ(cp.session_events().mppe_resets(1, 1), 1u);
  ev.session_event.coherency_count = 4095;
  dp.send_event(ev);
  while (!cp.step()) {
  }
  EXPECT_NE(out.str().find("(coherency count 4095)"), std::string::npos) << out.str();
  EXPECT_EQ(cp.session_events().mppe_resets(1, 1), 2u);
  EXPECT_EQ(cp.session_events().mppe_resets(1, 2), 0u);
  const std::string text = cp.handle_command("sessions");
  EXPECT_NE(text.find(" mppe128-stateful "), std::string::npos) << text;
  // MPPE-RESETS is the last column.
  const auto end = text.find("\n1 sessions");
  ASSERT_NE(end, std::string::npos) << text;
  const auto start = text.rfind('\n', end - 1) + 1;
  const std::string row = text.substr(start, end - start);
  EXPECT_TRUE(row.ends_with(" 2")) << text;
  const std::string js = cp.handle_command("sessions --json");
  EXPECT_NE(js.find("\"mppe_resets\": 2"), std::string::npos) << js;
  // The keys were pushed but never logged.
  EXPECT_EQ(out.str().find("1111"), std::string::npos);
  EXPECT_EQ(out.str().find("2222"), std::string::npos);
  // A deleted session takes its count with it.
  EXPECT_EQ(cp.handle_command("session-del 1 1"), "ok\ndeleted tunnel 1 session 1\n");
  EXPECT_EQ(cp.session_events().mppe_resets(1, 1), 0u);
}

TEST_F(ControlPlaneTest, ServesTheSocketUntilStopped) {
  testing::FakeDp dp;
  dp.set_ready();
  dp.start();
  ControlPlane cp(options(dp.name, socket), log);
  int stop[2];
  ASSERT_EQ(pipe(stop), 0);
  std::thread loop([&] { cp.run(stop[0]); });
  std::string status;
  // The loop attaches on its own; ask until it reports it.
  while (status.find("attached, synced") == std::string::npos) {
    status = ctl_request(socket, "status");
  }
  EXPECT_EQ(status.rfind("ok\n", 0), 0u);
  const std::string sa = ctl_request(socket, "sa");
  EXPECT_NE(sa.find("aes-gcm-128/none"), std::string::npos) << sa;
  const std::string sessions = ctl_request(socket, "sessions");
  EXPECT_NE(sessions.find("203.0.113.5:1701"), std::string::npos) << sessions;
  EXPECT_EQ(ctl_request(socket, "session-del 1 1"), "ok\ndeleted tunnel 1 session 1\n");
  EXPECT_EQ(ctl_request(socket, "session-del 1 1"), "error\ndelete tunnel 1 session 1: not_found\n");
  const std::string del = ctl_request(socket, "sa-del in 0x1000 203.0.113.5");
  EXPECT_EQ(del, "ok\ndeleted in spi 0x00001000 peer 203.0.113.5\n");
  EXPECT_EQ(ctl_request(socket, "bogus").rfind("error\nunknown command 'bogus'", 0), 0u);
  ASSERT_EQ(write(stop[1], "x", 1), 1);
  loop.join();
  close(stop[0]);
  close(stop[1]);
}

TEST(CtlClient, NoServerIsAClearError) {
  try {
    ctl_request("/tmp/l2tpgw-no-such-dir/ctl.sock", "status");
    ADD_FAILURE();
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(),
                 "cannot connect to /tmp/l2tpgw-no-such-dir/ctl.sock: control plane not running");
  }
}

}  // namespace
}  // namespace l2tpgw::cp
