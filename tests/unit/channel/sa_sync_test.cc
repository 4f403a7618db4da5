// Static SA reconciliation against a data plane played in-process.
#include <gtest/gtest.h>

#include <cstring>
#include <sstream>

#include "controlplane/sa_sync.h"
#include "tests/unit/channel/fake_dp.h"

namespace l2tpgw::cp {
namespace {

using namespace std::chrono_literals;
using channel::Direction;

SaConfig make_sa(Direction dir, std::uint32_t spi, std::uint8_t key_byte) {
  SaConfig sa;
  auto& p = sa.params;
  p.spi = spi;
  p.dir = dir;
  p.encap = channel::Encap::udp;
  p.cipher = EspCipher::aes_cbc_128;
  p.auth = EspAuth::hmac_sha1_96;
  p.local_addr = 0xc6336401;  // 198.51.100.1
  p.peer_addr = 0xcb007105;   // 203.0.113.5
  p.local_port = 4500;
  p.peer_port = 4500;
  p.replay_window = 128;
  p.cipher_key_len = 16;
  p.auth_key_len = 20;
  std::memset(p.cipher_key, key_byte, 16);
  std::memset(p.auth_key, key_byte + 1, 20);
  p.lifetime.hard_bytes = 1000;
  sa.line = 40;
  return sa;
}

class SaSyncTest : public ::testing::Test {
 protected:
  SaSyncTest() : ch(channel::Segment::attach(dp.name), 0) {}

  SyncStats sync(const std::vector<SaConfig>& sas, std::chrono::milliseconds t = 2000ms) {
    return sync_static_sas(ch, sas, log, t);
  }

  testing::FakeDp dp;
  DpChannel ch;
  std::ostringstream out;
  Logger log{out};
};

TEST_F(SaSyncTest, PushesStaticSasWithTheirParams) {
  dp.start();
  const std::vector<SaConfig> sas = {make_sa(Direction::in, 0x1000, 0x11),
                                     make_sa(Direction::out, 0x2000, 0x22)};
  const SyncStats st = sync(sas);
  EXPECT_EQ(st.installed, 2u);
  EXPECT_EQ(st.failed, 0u);
  const auto got = dp.received();
  ASSERT_EQ(got.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(got[i].hdr.type, channel::MsgType::sa_add);
    EXPECT_EQ(got[i].hdr.version, channel::version);
    EXPECT_EQ(std::memcmp(&got[i].sa_add.sa, &sas[i].params, sizeof(channel::SaParams)), 0);
  }
  EXPECT_NE(got[0].hdr.cookie, got[1].hdr.cookie);
  EXPECT_EQ(read_sa_directory(dp.seg).size(), 2u);
  EXPECT_NE(out.str().find(" info  sa: installed in spi 0x00001000 peer 203.0.113.5 "
                           "aes-cbc-128/hmac-sha1-96\n"),
            std::string::npos)
      << out.str();
}

TEST_F(SaSyncTest, IdenticalSaIsNotPushedAgain) {
  const std::vector<SaConfig> sas = {make_sa(Direction::in, 0x1000, 0x11)};
  dp.install(3, sas[0].params);
  dp.start();
  const SyncStats st = sync(sas);
  EXPECT_EQ(st.present, 1u);
  EXPECT_EQ(st.installed, 0u);
  EXPECT_TRUE(dp.received().empty());
  EXPECT_NE(out.str().find("sa: already present in spi 0x00001000"), std::string::npos);
}

TEST_F(SaSyncTest, ChangedSaIsReplacedAndStaleSaDeleted) {
  SaConfig changed = make_sa(Direction::in, 0x1000, 0x11);
  dp.install(0, changed.params);
  dp.install(1, make_sa(Direction::out, 0x9999, 0x33).params);
  changed.params.peer_port = 4501;  // the NAT moved the peer
  dp.start();
  const SyncStats st = sync({changed});
  EXPECT_EQ(st.replaced, 1u);
  EXPECT_EQ(st.deleted, 1u);
  const auto got = dp.received();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].hdr.type, channel::MsgType::sa_del);
  EXPECT_EQ(got[0].sa_del.spi, 0x9999u);
  EXPECT_EQ(got[0].sa_del.dir, Direction::out);
  EXPECT_EQ(got[1].hdr.type, channel::MsgType::sa_add);
  EXPECT_NE(out.str().find("sa: replaced in spi 0x00001000"), std::string::npos);
  EXPECT_NE(out.str().find("sa: deleted out spi 0x00009999 peer 203.0.113.5"), std::string::npos);
  const auto dir = read_sa_directory(dp.seg);
  ASSERT_EQ(dir.size(), 1u);
  EXPECT_EQ(dir[0].peer_port, 4501);
}

TEST_F(SaSyncTest, AckTimeoutIsReported) {
  dp.start(/*answer=*/false);
  const SyncStats st = sync({make_sa(Direction::in, 0x1000, 0x11)}, 50ms);
  EXPECT_EQ(st.failed, 1u);
  EXPECT_EQ(dp.received().size(), 1u);
  EXPECT_NE(out.str().find(" error sa: install of in spi 0x00001000 peer 203.0.113.5 "
                           "aes-cbc-128/hmac-sha1-96 (line 40) failed: no ack from the data "
                           "plane within 50 ms"),
            std::string::npos)
      << out.str();
}

TEST_F(SaSyncTest, RefusalIsReportedByName) {
  dp.start(true, channel::AckResult::table_full);
  const SyncStats st = sync({make_sa(Direction::in, 0x1000, 0x11)});
  EXPECT_EQ(st.failed, 1u);
  EXPECT_NE(out.str().find("failed: table_full"), std::string::npos) << out.str();
}

TEST_F(SaSyncTest, OtherEventsReachTheHandlerWhileWaiting) {
  channel::CtrlMsg ev{};
  ev.lifetime.hdr = {channel::version, channel::MsgType::sa_lifetime, 0};
  ev.lifetime.spi = 0x4242;
  ASSERT_EQ(rte_ring_enqueue_elem(dp.seg.event_ring(), &ev, channel::ctrl_elem_size), 0);
  std::vector<std::uint32_t> seen;
  ch.set_event_handler([&](const channel::CtrlMsg& m) { seen.push_back(m.lifetime.spi); });
  dp.start();
  EXPECT_EQ(sync({make_sa(Direction::in, 0x1000, 0x11)}).installed, 1u);
  EXPECT_EQ(seen, std::vector<std::uint32_t>{0x4242});
}

TEST_F(SaSyncTest, SendPacketFillsTxMessage) {
  const std::vector<std::uint8_t> pkt = {0x45, 0, 0, 20, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  ASSERT_TRUE(ch.send_packet(pkt, SaRef{0x2000, 0xcb007105}));
  ASSERT_TRUE(ch.send_packet(pkt, std::nullopt));
  EXPECT_FALSE(ch.send_packet(std::vector<std::uint8_t>(channel::max_packet + 1), std::nullopt));
  alignas(8) std::uint8_t elem[channel::packet_elem_size];
  ASSERT_EQ(rte_ring_dequeue_elem(dp.seg.tx_ring(), elem, channel::packet_elem_size), 0);
  channel::TxMsg tx;
  std::memcpy(&tx, elem, sizeof tx);
  EXPECT_EQ(tx.hdr.type, channel::MsgType::tx);
  EXPECT_EQ(tx.hdr.version, channel::version);
  EXPECT_EQ(tx.via_sa, 1);
  EXPECT_EQ(tx.sa_spi, 0x2000u);
  EXPECT_EQ(tx.peer_addr, 0xcb007105u);
  ASSERT_EQ(tx.len, pkt.size());
  EXPECT_EQ(std::memcmp(tx.data, pkt.data(), pkt.size()), 0);
  ASSERT_EQ(rte_ring_dequeue_elem(dp.seg.tx_ring(), elem, channel::packet_elem_size), 0);
  std::memcpy(&tx, elem, sizeof tx);
  EXPECT_EQ(tx.via_sa, 0);
  EXPECT_NE(rte_ring_dequeue_elem(dp.seg.tx_ring(), elem, channel::packet_elem_size), 0);
}

}  // namespace
}  // namespace l2tpgw::cp
