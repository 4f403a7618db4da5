// Punted packets: counted per reason and written to a pcap file, read back
// here byte by byte.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include "controlplane/dp_channel.h"
#include "controlplane/punt_sink.h"
#include "tests/unit/channel/fake_dp.h"

namespace l2tpgw::cp {
namespace {

std::vector<std::uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::uint32_t le32(const std::vector<std::uint8_t>& b, std::size_t off) {
  return b[off] | b[off + 1] << 8 | b[off + 2] << 16 | static_cast<std::uint32_t>(b[off + 3]) << 24;
}

void punt(testing::FakeDp& dp, channel::PuntReason reason, const std::vector<std::uint8_t>& data) {
  alignas(8) static std::uint8_t elem[channel::packet_elem_size];
  channel::PuntMsg m{};
  m.hdr = {channel::version, channel::MsgType::punt, 0};
  m.reason = reason;
  m.len = static_cast<std::uint16_t>(data.size());
  m.sa_slot = channel::no_sa;
  m.peer_addr = 0xcb007105;
  m.peer_port = 500;
  std::memcpy(m.data, data.data(), data.size());
  std::memcpy(elem, &m, sizeof m);
  ASSERT_EQ(rte_ring_enqueue_elem(dp.seg.punt_ring(), elem, channel::packet_elem_size), 0);
}

TEST(Punt, CountedLoggedAndWrittenToPcap) {
  char tmpl[] = "/tmp/l2tpgw-punt-test-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string pcap = std::string(tmpl) + "/punt.pcap";
  testing::FakeDp dp;
  DpChannel ch(channel::Segment::attach(dp.name), 0);
  std::ostringstream out;
  Logger log(out, LogLevel::debug);
  PuntSink sink(log, pcap);

  const std::vector<std::uint8_t> a = {0x45, 0x00, 0x00, 0x1c, 0xaa, 0xbb, 0xcc};
  std::vector<std::uint8_t> fill(1500);
  for (std::size_t i = 0; i < fill.size(); ++i) {
    fill[i] = static_cast<std::uint8_t>(i * 7);
  }
  const std::vector<std::uint8_t> b = fill;
  punt(dp, channel::PuntReason::ike, a);
  punt(dp, channel::PuntReason::l2tp, b);
  punt(dp, channel::PuntReason::ike, a);
  EXPECT_EQ(ch.poll_punts([&](const channel::PuntMsg& m) { sink.on_punt(m); }), 3u);
  EXPECT_EQ(sink.count(channel::PuntReason::ike), 2u);
  EXPECT_EQ(sink.count(channel::PuntReason::l2tp), 1u);
  EXPECT_EQ(sink.total(), 3u);
  EXPECT_NE(out.str().find("debug punt: ike from 203.0.113.5:500 port 0 no sa len 7"),
            std::string::npos)
      << out.str();

  const auto f = read_file(pcap);
  ASSERT_EQ(f.size(), 24u + 3 * 16 + a.size() * 2 + b.size());
  EXPECT_EQ(le32(f, 0), 0xa1b2c3d4u);
  EXPECT_EQ(f[4] | f[5] << 8, 2);
  EXPECT_EQ(f[6] | f[7] << 8, 4);
  EXPECT_EQ(le32(f, 16), 65535u);
  EXPECT_EQ(le32(f, 20), 228u);  // LINKTYPE_IPV4
  std::size_t off = 24;
  for (const auto* pkt : {&a, &b, &a}) {
    EXPECT_EQ(le32(f, off + 8), pkt->size());
    EXPECT_EQ(le32(f, off + 12), pkt->size());
    EXPECT_LT(le32(f, off + 4), 1'000'000u);
    EXPECT_TRUE(std::equal(pkt->begin(), pkt->end(), f.begin() + static_cast<long>(off + 16)));
    off += 16 + pkt->size();
  }
  std::filesystem::remove_all(tmpl);
}

TEST(Punt, OversizedLengthIsRejected) {
  std::ostringstream out;
  Logger log(out);
  PuntSink sink(log, std::nullopt);
  channel::PuntMsg m{};
  m.reason = channel::PuntReason::ike;
  m.len = channel::max_packet + 1;
  sink.on_punt(m);
  EXPECT_EQ(sink.total(), 0u);
  EXPECT_EQ(sink.malformed(), 1u);
}

TEST(Punt, SummaryCountsSinceTheLastOne) {
  std::ostringstream out;
  Logger log(out);
  PuntSink sink(log, std::nullopt, std::chrono::seconds(10));
  channel::PuntMsg m{};
  m.reason = channel::PuntReason::l2tp;
  m.len = 20;
  sink.on_punt(m);
  sink.on_punt(m);
  const auto t0 = PuntSink::Clock::now();
  sink.maybe_summarize(t0 + std::chrono::seconds(11));
  EXPECT_NE(out.str().find("info  punt: 2 packets in the last 10 s: l2tp=2"), std::string::npos)
      << out.str();
  out.str("");
  sink.maybe_summarize(t0 + std::chrono::seconds(22));
  EXPECT_EQ(out.str(), "");  // nothing new: no line
}

}  // namespace
}  // namespace l2tpgw::cp
