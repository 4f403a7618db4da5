// The operator commands render what the data plane wrote into the segment.
#include <gtest/gtest.h>

#include <cstring>
#include <nlohmann/json.hpp>
#include <sstream>
#include <utility>

#include "controlplane/ctl_commands.h"
#include "controlplane/session_events.h"
#include "tests/unit/channel/fake_dp.h"

namespace l2tpgw::cp {
namespace {

using nlohmann::json;

class CtlTest : public ::testing::Test {
 protected:
  CtlTest() : punts(log, std::nullopt) {
    auto& h = dp.seg.header();
    h.tsc_hz = 2'000'000'000;
    std::strcpy(h.port_names[0], "outside");
    std::strcpy(h.port_names[1], "inside");
    channel::SaParams p{};
    p.dir = channel::Direction::in;
    p.spi = 0x1000;
    p.peer_addr = 0xcb007105;
    p.local_addr = 0xc6336401;
    p.encap = channel::Encap::udp;
    p.peer_port = 4500;
    p.local_port = 4500;
    p.cipher = EspCipher::aes_cbc_128;
    p.auth = EspAuth::hmac_sha1_96;
    p.replay_window = 128;
    p.lifetime.soft_bytes = 900;
    p.lifetime.hard_bytes = 1000;
    dp.install(5, p);
    // Two workers count on the SA: the CLI shows the sum.
    dp.seg.sa_counters(0)[5] = {100, 15000, 3, 4, 5, 6, {}};
    dp.seg.sa_counters(1)[5] = {11, 1000, 1, 0, 0, 0, {}};
    auto& w0 = dp.seg.worker_counters(0);
    w0.loops = 1000;
    w0.busy_loops = 400;
    w0.busy_cycles = 600'000;
    w0.rx_packets = 1200;
    w0.tx_packets = 1100;
    w0.drops[static_cast<unsigned>(Drop::esp_replay)] = 7;
    dp.seg.worker_counters(1).drops[static_cast<unsigned>(Drop::esp_replay)] = 2;
    dp.seg.worker_counters(1).drops[static_cast<unsigned>(Drop::runt)] = 30;
    dp.seg.port_counters()[0].ipackets = 123456;
    channel::SessionParams sp{};
    sp.local_tunnel_id = 1;
    sp.local_session_id = 2;
    sp.peer_tunnel_id = 100;
    sp.peer_session_id = 200;
    sp.peer_addr = 0xc6336407;  // 198.51.100.7
    sp.peer_port = 1701;
    sp.local_port = 1701;
    sp.sa_in_spi = 0x1000;
    sp.sa_out_spi = 0x2000;
    sp.inner_addr = 0x0a010007;
    sp.ppp_acfc = 1;
    sp.l2tp_sequencing = 1;
    sp.mppe_bits = 56;
    sp.mppe_stateless = 0;
    std::memset(sp.mppe_send_key, 0x5a, sizeof sp.mppe_send_key);
    std::memset(sp.mppe_recv_key, 0xa5, sizeof sp.mppe_recv_key);
    dp.install_session(3, sp);
    // Two gaps on the session, one on a session the data plane no longer has.
    for (const std::uint16_t session : {2, 2, 9}) {
      channel::SessionEvent e{};
      e.hdr = {channel::version, channel::MsgType::session_event, 0};
      e.kind = channel::SessionEventKind::mppe_reset_request;
      e.local_tunnel_id = 1;
      e.local_session_id = session;
      e.coherency_count = 0x123;
      events.on_event(e);
    }
    dp.seg.session_counters(0)[3] = {10, 1000, 20, 3000, 1, 2, 3, 0};
    dp.seg.session_counters(1)[3] = {5, 500, 1, 100, 0, 1, 1, 0};
    // Counters of a slot with no session are not anyone's.
    dp.seg.session_counters(0)[4] = {999, 999, 999, 999, 999, 999, 999, 0};
    ctx.seg = &dp.seg;
    ctx.punts = &punts;
    ctx.session_events = &events;
    ctx.synced = true;
    ctx.now_unix_ns = 1'000'000'000ull * (1000 + 3723);  // 1h02m03s after install
  }

  testing::FakeDp dp;
  std::ostringstream out;
  Logger log{out};
  PuntSink punts;
  SessionEvents events{log};
  CtlContext ctx;
};

TEST_F(CtlTest, SaShowsParamsAndSummedCounters) {
  const CtlReply r = run_command("sa", ctx);
  ASSERT_TRUE(r.ok);
  std::cout << r.text;
  std::istringstream lines(r.text);
  std::string header, row;
  std::getline(lines, header);
  std::getline(lines, row);
  EXPECT_EQ(header.find("DIR"), 0u);
  std::istringstream cells(row);
  std::vector<std::string> c{std::istream_iterator<std::string>(cells), {}};
  const std::vector<std::string> want = {"in",
                                         "0x00001000",
                                         "203.0.113.5:4500",
                                         "udp",
                                         "transport",
                                         "-",
                                         "-",
                                         "aes-cbc-128/hmac-sha1-96",
                                         "128",
                                         "900/1000",
                                         "-",
                                         "1h02m03s",
                                         "111",
                                         "16000",
                                         "4",
                                         "4",
                                         "5",
                                         "6"};
  EXPECT_EQ(c, want);
  // Columns line up: each header name ends where its right-aligned cells end.
  EXPECT_EQ(header.find("PACKETS") + 7, row.find("111") + 3);
}

// A tunnel-mode SA shows its mode and inner networks, in text and JSON;
// a transport-mode one its mode alone.
TEST_F(CtlTest, SaShowsTunnelModeAndItsNetworks) {
  channel::SaParams p{};
  p.dir = channel::Direction::out;
  p.spi = 0x2000;
  p.peer_addr = 0xcb007105;
  p.local_addr = 0xc6336401;
  p.cipher = EspCipher::aes_cbc_128;
  p.auth = EspAuth::hmac_sha1_96;
  p.mode = channel::Mode::tunnel;
  p.peer_net = {0xc0a84d02, 32, {}};
  p.local_net = {0x0a090000, 24, {}};
  dp.install(6, p);
  const CtlReply r = run_command("sa", ctx);
  ASSERT_TRUE(r.ok);
  std::istringstream lines(r.text);
  std::string header, row;
  std::getline(lines, header);
  EXPECT_NE(header.find("MODE"), std::string::npos) << header;
  EXPECT_NE(header.find("PEER-NET"), std::string::npos) << header;
  EXPECT_NE(header.find("LOCAL-NET"), std::string::npos) << header;
  bool seen = false;
  while (std::getline(lines, row)) {
    std::istringstream cells(row);
    std::vector<std::string> c{std::istream_iterator<std::string>(cells), {}};
    if (c.size() > 6 && c[1] == "0x00002000") {
      seen = true;
      EXPECT_EQ(c[3], "none");
      EXPECT_EQ(c[4], "tunnel");
      EXPECT_EQ(c[5], "192.168.77.2/32");
      EXPECT_EQ(c[6], "10.9.0.0/24");
    }
  }
  EXPECT_TRUE(seen) << r.text;

  const CtlReply j = run_command("sa --json", ctx);
  ASSERT_TRUE(j.ok);
  const json sas = json::parse(j.text);
  ASSERT_EQ(sas.size(), 2u);
  for (const auto& sa : sas) {
    if (sa["spi"] == 0x2000u) {
      EXPECT_EQ(sa["mode"], "tunnel");
      EXPECT_EQ(sa["peer_net"], "192.168.77.2/32");
      EXPECT_EQ(sa["local_net"], "10.9.0.0/24");
    } else {
      EXPECT_EQ(sa["mode"], "transport");
      EXPECT_FALSE(sa.contains("peer_net"));
      EXPECT_FALSE(sa.contains("local_net"));
    }
  }
}

TEST_F(CtlTest, SessionsShowParamsAndCountersSummedOverWorkers) {
  const CtlReply r = run_command("sessions", ctx);
  ASSERT_TRUE(r.ok);
  std::cout << r.text;
  std::istringstream lines(r.text);
  std::string header, row, footer;
  std::getline(lines, header);
  std::getline(lines, row);
  std::getline(lines, footer);
  EXPECT_EQ(header.find("TUNNEL/SESSION"), 0u);
  std::istringstream cells(row);
  std::vector<std::string> c{std::istream_iterator<std::string>(cells), {}};
  const std::vector<std::string> want = {"1/2",        "100/200",    "198.51.100.7:1701",
                                         "10.1.0.7",   "0x00001000", "0x00002000",
                                         "acfc,seq",   "mppe56-stateful", "1h02m03s",
                                         "15",         "1500",       "21",
                                         "3100",       "1",          "3",
                                         "4",          "2"};
  EXPECT_EQ(c, want);
  EXPECT_EQ(header.find("TX-BYTES") + 8, row.find("3100") + 4);
  EXPECT_EQ(header.find("MPPE-RESETS") + 11, row.size());
  // Keys are not shown, in any form.
  EXPECT_EQ(r.text.find("5a5a"), std::string::npos);
  EXPECT_EQ(r.text.find("5A5A"), std::string::npos);
  EXPECT_EQ(footer, "1 sessions");
  EXPECT_EQ(r.text.find("999"), std::string::npos);

  dp.remove_session(3);
  EXPECT_EQ(run_command("sessions", ctx).text.find("1/2"), std::string::npos);
  EXPECT_NE(run_command("sessions", ctx).text.find("\n0 sessions\n"), std::string::npos);
}

TEST_F(CtlTest, SessionsJson) {
  const json j = json::parse(run_command("stats --json", ctx).text);
  EXPECT_EQ(j["n_sessions"], 1u);
  EXPECT_EQ(j["max_sessions"], 16u);
  ASSERT_EQ(j["sessions"].size(), 1u);
  const json& s = j["sessions"][0];
  EXPECT_EQ(s["tunnel_id"], 1u);
  EXPECT_EQ(s["session_id"], 2u);
  EXPECT_EQ(s["peer_tunnel_id"], 100u);
  EXPECT_EQ(s["peer_session_id"], 200u);
  EXPECT_EQ(s["peer"], "198.51.100.7");
  EXPECT_EQ(s["peer_port"], 1701u);
  EXPECT_EQ(s["local_port"], 1701u);
  EXPECT_EQ(s["address"], "10.1.0.7");
  EXPECT_EQ(s["sa_in"], 0x1000u);
  EXPECT_EQ(s["sa_out_hex"], "0x00002000");
  EXPECT_EQ(s["acfc"], true);
  EXPECT_EQ(s["pfc"], false);
  EXPECT_EQ(s["sequencing"], true);
  EXPECT_EQ(s["mppe"], "mppe56-stateful");
  EXPECT_EQ(s["mppe_bits"], 56u);
  EXPECT_EQ(s["mppe_stateless"], false);
  EXPECT_EQ(s["mppe_resets"], 2u);
  for (const auto& [k, v] : s.items()) {
    EXPECT_EQ(k.find("key"), std::string::npos) << k;
  }
  EXPECT_EQ(s.dump().find("5a5a"), std::string::npos);
  EXPECT_EQ(s["slot"], 3u);
  EXPECT_EQ(s["age_s"], 3723u);
  EXPECT_EQ(s["counters"]["rx_packets"], 15u);
  EXPECT_EQ(s["counters"]["rx_bytes"], 1500u);
  EXPECT_EQ(s["counters"]["tx_packets"], 21u);
  EXPECT_EQ(s["counters"]["tx_bytes"], 3100u);
  EXPECT_EQ(s["counters"]["spoofed"], 1u);
  EXPECT_EQ(s["counters"]["punted"], 3u);
  EXPECT_EQ(s["counters"]["other_drops"], 4u);
  EXPECT_EQ(json::parse(run_command("sessions --json", ctx).text), j["sessions"]);
  EXPECT_NE(run_command("status", ctx).text.find("sessions:      1 of 16\n"), std::string::npos);
}

TEST_F(CtlTest, SessionsWithoutMppeOrEvents) {
  channel::SessionParams p = dp.seg.session_dir()[3].params;
  p.mppe_bits = 0;
  dp.install_session(3, p);
  ctx.session_events = nullptr;
  const json j = json::parse(run_command("sessions --json", ctx).text);
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["mppe"], "none");
  EXPECT_EQ(j[0]["mppe_bits"], 0u);
  EXPECT_EQ(j[0]["mppe_resets"], 0u);
  const std::string text = run_command("sessions", ctx).text;
  EXPECT_NE(text.find(" acfc,seq  none "), std::string::npos) << text;
  p.mppe_bits = 128;
  p.mppe_stateless = 1;
  dp.install_session(3, p);
  EXPECT_NE(run_command("sessions", ctx).text.find(" mppe128-stateless "), std::string::npos);
}

TEST_F(CtlTest, SessionDelPassesTheIds) {
  std::optional<std::pair<std::uint16_t, std::uint16_t>> asked;
  ctx.session_del = [&](std::uint16_t tunnel, std::uint16_t session) {
    asked = {tunnel, session};
    channel::Ack a{};
    a.result = session == 2 ? channel::AckResult::ok : channel::AckResult::not_found;
    return std::optional(a);
  };
  const CtlReply ok = run_command("session-del 1 2", ctx);
  EXPECT_TRUE(ok.ok);
  EXPECT_EQ(ok.text, "deleted tunnel 1 session 2\n");
  EXPECT_EQ(asked, std::pair(std::uint16_t{1}, std::uint16_t{2}));
  const CtlReply missing = run_command("session-del 65535 3", ctx);
  EXPECT_FALSE(missing.ok);
  EXPECT_EQ(missing.text, "delete tunnel 65535 session 3: not_found\n");
  asked.reset();
  EXPECT_EQ(run_command("session-del 0 2", ctx).text, "bad tunnel id '0' (1..65535)\n");
  EXPECT_EQ(run_command("session-del 1 65536", ctx).text, "bad session id '65536' (1..65535)\n");
  EXPECT_EQ(run_command("session-del 1 x", ctx).text, "bad session id 'x' (1..65535)\n");
  EXPECT_EQ(run_command("session-del 1", ctx).text, "usage: session-del TUNNEL SESSION\n");
  EXPECT_FALSE(asked);
  CtlContext detached;
  EXPECT_EQ(run_command("session-del 1 2", detached).text, "no data plane attached\n");
  EXPECT_EQ(run_command("sessions", detached).text, "no data plane attached\n");
}

TEST_F(CtlTest, PuntsListPppEvenWhenZero) {
  const CtlReply r = run_command("punts", ctx);
  ASSERT_TRUE(r.ok);
  EXPECT_NE(r.text.find("\nppp "), std::string::npos) << r.text;
  channel::PuntMsg m{};
  m.reason = channel::PuntReason::ppp;
  m.len = 40;
  punts.on_punt(m);
  punts.on_punt(m);
  const std::string text = run_command("punts", ctx).text;
  const auto at = text.find("\nppp ");
  ASSERT_NE(at, std::string::npos) << text;
  std::istringstream row(text.substr(at + 1, text.find('\n', at + 1) - at - 1));
  const std::vector<std::string> cells{std::istream_iterator<std::string>(row), {}};
  EXPECT_EQ(cells, (std::vector<std::string>{"ppp", "2"}));
  const json j = json::parse(run_command("punts --json", ctx).text);
  EXPECT_EQ(j["ppp"], 2u);
  EXPECT_EQ(j["total"], 2u);
}

TEST_F(CtlTest, WorkersShowCyclesPerPacket) {
  const CtlReply r = run_command("workers", ctx);
  ASSERT_TRUE(r.ok);
  std::cout << r.text;
  EXPECT_NE(r.text.find("500.0"), std::string::npos);  // 600000 cycles / 1200 packets
  EXPECT_NE(r.text.find("\ntotal "), std::string::npos);
  EXPECT_NE(r.text.find("tsc_hz 2000000000\n"), std::string::npos);
}

TEST_F(CtlTest, DropsSortedByCountWithDescriptions) {
  const CtlReply r = run_command("drops", ctx);
  ASSERT_TRUE(r.ok);
  const auto runt = r.text.find("   30  runt        frame shorter than its headers");
  const auto replay = r.text.find(" 9  esp_replay");
  EXPECT_NE(runt, std::string::npos) << r.text;
  EXPECT_NE(replay, std::string::npos) << r.text;
  EXPECT_LT(runt, replay);
  EXPECT_EQ(r.text.find("mbuf_alloc"), std::string::npos);
  EXPECT_NE(run_command("drops --all", ctx).text.find("mbuf_alloc"), std::string::npos);
}

TEST_F(CtlTest, PortsShowNamesAndCounters) {
  const CtlReply r = run_command("ports", ctx);
  ASSERT_TRUE(r.ok);
  EXPECT_NE(r.text.find("outside"), std::string::npos);
  EXPECT_NE(r.text.find("123456"), std::string::npos);
  EXPECT_NE(r.text.find("inside"), std::string::npos);
}

TEST_F(CtlTest, StatsJson) {
  const CtlReply r = run_command("stats --json", ctx);
  ASSERT_TRUE(r.ok);
  const json j = json::parse(r.text);
  EXPECT_EQ(j["tsc_hz"], 2'000'000'000u);
  EXPECT_EQ(j["synced"], true);
  ASSERT_EQ(j["workers"].size(), 2u);
  EXPECT_EQ(j["workers"][0]["busy_cycles"], 600000u);
  EXPECT_EQ(j["workers"][0]["cycles_per_packet"], 500.0);
  EXPECT_EQ(j["workers"][1]["drops"]["runt"], 30u);
  EXPECT_EQ(j["drops"]["esp_replay"], 9u);
  EXPECT_EQ(j["drops"]["mbuf_alloc"], 0u);
  EXPECT_EQ(j["ports"][0]["name"], "outside");
  EXPECT_EQ(j["ports"][0]["ipackets"], 123456u);
  ASSERT_EQ(j["sas"].size(), 1u);
  const json& sa = j["sas"][0];
  EXPECT_EQ(sa["spi"], 0x1000u);
  EXPECT_EQ(sa["peer"], "203.0.113.5");
  EXPECT_EQ(sa["cipher"], "aes-cbc-128");
  EXPECT_EQ(sa["slot"], 5u);
  EXPECT_EQ(sa["age_s"], 3723u);
  EXPECT_EQ(sa["counters"]["bytes"], 16000u);
  EXPECT_EQ(sa["lifetime"]["hard_bytes"], 1000u);
  EXPECT_EQ(j["punts"]["total"], 0u);
}

TEST_F(CtlTest, ErrorsAreErrors) {
  EXPECT_FALSE(run_command("frobnicate", ctx).ok);
  EXPECT_FALSE(run_command("", ctx).ok);
  EXPECT_FALSE(run_command("sa-del sideways 0x1000 203.0.113.5", ctx).ok);
  CtlContext detached;
  detached.punts = &punts;
  const CtlReply r = run_command("sa", detached);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.text, "no data plane attached\n");
  EXPECT_TRUE(run_command("status", detached).ok);
  EXPECT_EQ(encode_reply({false, "x\n"}), "error\nx\n");
}

TEST_F(CtlTest, SaDelPassesTheTriple) {
  std::optional<std::tuple<channel::Direction, std::uint32_t, std::uint32_t>> asked;
  ctx.sa_del = [&](channel::Direction d, std::uint32_t spi, std::uint32_t peer) {
    asked = {d, spi, peer};
    channel::Ack a{};
    a.result = spi == 0x1000 ? channel::AckResult::ok : channel::AckResult::not_found;
    return std::optional(a);
  };
  const CtlReply ok = run_command("sa-del out 0x1000 203.0.113.5", ctx);
  EXPECT_TRUE(ok.ok);
  EXPECT_EQ(ok.text, "deleted out spi 0x00001000 peer 203.0.113.5\n");
  EXPECT_EQ(asked, std::tuple(channel::Direction::out, 0x1000u, 0xcb007105u));
  const CtlReply missing = run_command("sa-del in 4097 203.0.113.5", ctx);
  EXPECT_FALSE(missing.ok);
  EXPECT_EQ(missing.text, "delete in spi 0x00001001 peer 203.0.113.5: not_found\n");
}

}  // namespace
}  // namespace l2tpgw::cp
