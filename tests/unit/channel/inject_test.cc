// `inject`: the request's syntax, and the tx messages it puts on the ring of
// a data plane played in-process.
#include <gtest/gtest.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "controlplane/inject.h"
#include "controlplane/pcap_reader.h"
#include "tests/unit/channel/fake_dp.h"

namespace l2tpgw::cp {
namespace {

using namespace std::chrono_literals;
using Bytes = std::vector<std::uint8_t>;

CtlReply run_with_capture(const std::string& line, std::optional<InjectRequest>& seen) {
  testing::FakeDp dp;
  CtlContext ctx;
  ctx.seg = &dp.seg;
  ctx.inject = [&seen](const InjectRequest& r) {
    seen = r;
    return CtlReply{true, "sent\n"};
  };
  return run_command(line, ctx);
}

TEST(InjectSyntax, AllOptions) {
  std::optional<InjectRequest> r;
  const CtlReply reply = run_with_capture("inject --pcap /tmp/a.pcap --port inside --sa 0x2000 203.0.113.5", r);
  ASSERT_TRUE(reply.ok) << reply.text;
  ASSERT_TRUE(r);
  EXPECT_EQ(r->pcap, "/tmp/a.pcap");
  EXPECT_EQ(r->port, "inside");
  ASSERT_TRUE(r->via_sa);
  EXPECT_EQ(r->via_sa->spi, 0x2000u);
  EXPECT_EQ(r->via_sa->peer_addr, 0xcb007105u);
}

TEST(InjectSyntax, OptionsInAnyOrderAndDefaults) {
  std::optional<InjectRequest> r;
  ASSERT_TRUE(run_with_capture("inject --sa 8192 10.1.2.3 --pcap /x", r).ok);
  EXPECT_EQ(r->pcap, "/x");
  EXPECT_FALSE(r->port);
  EXPECT_EQ(r->via_sa->spi, 8192u);
  EXPECT_EQ(r->via_sa->peer_addr, 0x0a010203u);
  r.reset();
  ASSERT_TRUE(run_with_capture("inject --pcap /y", r).ok);
  EXPECT_FALSE(r->via_sa);
}

TEST(InjectSyntax, Refusals) {
  const std::pair<const char*, const char*> bad[] = {
      {"inject", "usage: inject --pcap FILE [--port NAME] [--sa SPI PEER]\n"},
      {"inject --pcap", "usage: inject --pcap FILE [--port NAME] [--sa SPI PEER]\n"},
      {"inject --port outside", "usage: inject --pcap FILE [--port NAME] [--sa SPI PEER]\n"},
      {"inject --pcap /a --pcap /b", "usage: inject --pcap FILE [--port NAME] [--sa SPI PEER]\n"},
      {"inject --pcap /a --sa 0x2000", "usage: inject --pcap FILE [--port NAME] [--sa SPI PEER]\n"},
      {"inject --pcap /a --frob", "usage: inject --pcap FILE [--port NAME] [--sa SPI PEER]\n"},
      {"inject --pcap /a --sa 0xzz 1.2.3.4", "bad SPI '0xzz'\n"},
      {"inject --pcap /a --sa 5 1.2.3", "bad peer address '1.2.3'\n"},
      {"inject --pcap a.pcap",
       "the pcap path must be absolute: the control plane reads it from its own directory\n"},
  };
  for (const auto& [line, text] : bad) {
    std::optional<InjectRequest> r;
    const CtlReply reply = run_with_capture(line, r);
    EXPECT_FALSE(reply.ok) << line;
    EXPECT_EQ(reply.text, text) << line;
    EXPECT_FALSE(r) << line;
  }
  CtlContext detached;
  EXPECT_EQ(run_command("inject --pcap /a", detached).text, "no data plane attached\n");
}

// pcap-savefile(5), little-endian, microseconds.
void write_pcap(const std::string& path, std::uint32_t linktype, const std::vector<Bytes>& frames) {
  std::ofstream f(path, std::ios::binary);
  auto u32 = [&f](std::uint32_t v) { f.write(reinterpret_cast<const char*>(&v), 4); };
  auto u16 = [&f](std::uint16_t v) { f.write(reinterpret_cast<const char*>(&v), 2); };
  u32(0xa1b2c3d4);
  u16(2);
  u16(4);
  u32(0);
  u32(0);
  u32(65535);
  u32(linktype);
  for (const Bytes& b : frames) {
    u32(0);
    u32(0);
    u32(static_cast<std::uint32_t>(b.size()));
    u32(static_cast<std::uint32_t>(b.size()));
    f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  }
}

Bytes packet(std::uint16_t total, std::uint8_t tag) {
  Bytes p(total, tag);
  p[0] = 0x45;
  p[2] = static_cast<std::uint8_t>(total >> 8);
  p[3] = static_cast<std::uint8_t>(total);
  return p;
}

channel::TxMsg pop(testing::FakeDp& dp) {
  alignas(8) std::uint8_t elem[channel::packet_elem_size];
  channel::TxMsg tx{};
  if (rte_ring_dequeue_elem(dp.seg.tx_ring(), elem, channel::packet_elem_size) == 0) {
    std::memcpy(&tx, elem, sizeof tx);
  }
  return tx;
}

class InjectRun : public ::testing::Test {
 protected:
  explicit InjectRun(channel::SegmentGeometry geo = {.n_workers = 1, .n_ports = 2, .max_sas = 16}) : dp(geo), ch(channel::Segment::attach(dp.name), 0) {
    std::strcpy(dp.seg.header().port_names[0], "outside");
    std::strcpy(dp.seg.header().port_names[1], "inside");
    file = (std::filesystem::temp_directory_path() / ("inject-" + std::to_string(getpid()) + ".pcap")).string();
  }
  ~InjectRun() override { std::filesystem::remove(file); }

  CtlReply inject(std::optional<std::string> port, std::optional<SaRef> sa) {
    return run_inject(ch, {file, std::move(port), sa}, 50ms, log);
  }

  testing::FakeDp dp;
  DpChannel ch;
  std::string file;
  std::ostringstream out;
  Logger log{out};
};

TEST_F(InjectRun, OneTxMessagePerPacketThroughTheSa) {
  write_pcap(file, linktype_ipv4, {packet(20, 1), packet(1400, 2), packet(2048, 3)});
  const CtlReply r = inject(std::nullopt, SaRef{0x2000, 0xcb007105});
  ASSERT_TRUE(r.ok) << r.text;
  EXPECT_EQ(r.text, "queued 3 of 3 packets from " + file +
                        " to port outside through out spi 0x00002000 peer 203.0.113.5\n");
  for (const auto& want : {packet(20, 1), packet(1400, 2), packet(2048, 3)}) {
    const channel::TxMsg tx = pop(dp);
    EXPECT_EQ(tx.hdr.type, channel::MsgType::tx);
    EXPECT_EQ(tx.hdr.version, channel::version);
    EXPECT_EQ(tx.port, 0);
    EXPECT_EQ(tx.via_sa, 1);
    EXPECT_EQ(tx.sa_spi, 0x2000u);
    EXPECT_EQ(tx.peer_addr, 0xcb007105u);
    ASSERT_EQ(tx.len, want.size());
    EXPECT_EQ(Bytes(tx.data, tx.data + tx.len), want);
  }
  EXPECT_EQ(pop(dp).hdr.type, channel::MsgType{});
  EXPECT_NE(out.str().find("inject: queued 3 of 3 packets"), std::string::npos);
}

TEST_F(InjectRun, PlainOnANamedPortSkippingWhatCannotGo) {
  Bytes eth = {2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 8, 0};
  const Bytes p = packet(46, 7);
  eth.insert(eth.end(), p.begin(), p.end());
  Bytes arp = {2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 8, 6, 0, 1};
  Bytes huge = {2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 8, 0};
  const Bytes big = packet(3000, 8);
  huge.insert(huge.end(), big.begin(), big.end());
  write_pcap(file, linktype_ethernet, {eth, arp, huge});
  const CtlReply r = inject("inside", std::nullopt);
  ASSERT_TRUE(r.ok) << r.text;
  EXPECT_EQ(r.text, "queued 1 of 2 packets from " + file +
                        " to port inside\nskipped 1 not IPv4, 1 larger than a tx message\n");
  const channel::TxMsg tx = pop(dp);
  EXPECT_EQ(tx.port, 1);
  EXPECT_EQ(tx.via_sa, 0);
  EXPECT_EQ(Bytes(tx.data, tx.data + tx.len), p);
}

TEST_F(InjectRun, Refusals) {
  write_pcap(file, linktype_ipv4, {packet(20, 1)});
  EXPECT_EQ(inject("dmz", std::nullopt).text, "no port named 'dmz'\n");
  EXPECT_EQ(inject("inside", SaRef{1, 2}).text,
            "--sa needs the outside port ('outside'): outbound SAs protect what leaves it\n");
  write_pcap(file, 113, {packet(20, 1)});
  const CtlReply bad = inject(std::nullopt, std::nullopt);
  EXPECT_FALSE(bad.ok);
  EXPECT_EQ(bad.text, file + ": link type is not Ethernet (1), raw IP (101) or IPv4 (228) (offset 20); nothing sent\n");
  std::filesystem::remove(file);
  const CtlReply missing = inject(std::nullopt, std::nullopt);
  EXPECT_FALSE(missing.ok);
  EXPECT_EQ(missing.text, "cannot open " + file + ": No such file or directory\n");
  EXPECT_EQ(pop(dp).hdr.type, channel::MsgType{});
}

class InjectSmallRing : public InjectRun {
 protected:
  InjectSmallRing() : InjectRun({.n_workers = 1, .n_ports = 2, .max_sas = 16, .tx_ring_size = 4}) {}
};

TEST_F(InjectSmallRing, GivesUpWhenNothingDrainsTheRing) {
  // A ring of 4 holds 3 messages; nobody dequeues.
  write_pcap(file, linktype_ipv4, {packet(20, 1), packet(20, 2), packet(20, 3), packet(20, 4), packet(20, 5)});
  const CtlReply r = inject(std::nullopt, std::nullopt);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.text, "queued 3 of 5 packets from " + file +
                        " to port outside; the tx ring stayed full for 50 ms (is the data plane's worker 0 running?)\n");
}

}  // namespace
}  // namespace l2tpgw::cp
