// Reading pcap files for `inject`: files laid out by hand after
// pcap-savefile(5) (either byte order, micro- and nanosecond magic), the
// three link types, and every way a file or a record can be wrong.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <vector>

#include "controlplane/pcap_reader.h"
#include "controlplane/pcap_writer.h"

namespace l2tpgw::cp {
namespace {

using Bytes = std::vector<std::uint8_t>;

void put32(Bytes& b, std::uint32_t v, bool big) {
  for (int i = 0; i < 4; ++i) {
    const int shift = big ? 24 - 8 * i : 8 * i;
    b.push_back(static_cast<std::uint8_t>(v >> shift));
  }
}
void put16(Bytes& b, std::uint16_t v, bool big) {
  b.push_back(static_cast<std::uint8_t>(big ? v >> 8 : v));
  b.push_back(static_cast<std::uint8_t>(big ? v : v >> 8));
}

// Global header: magic, version 2.4, thiszone, sigfigs, snaplen, network.
Bytes file_header(std::uint32_t linktype, bool big = false, std::uint32_t magic = 0xa1b2c3d4) {
  Bytes b;
  put32(b, magic, big);
  put16(b, 2, big);
  put16(b, 4, big);
  put32(b, 0, big);
  put32(b, 0, big);
  put32(b, 65535, big);
  put32(b, linktype, big);
  return b;
}

void record(Bytes& f, const Bytes& data, bool big = false, std::uint32_t orig = 0) {
  put32(f, 1700000000, big);
  put32(f, 5, big);
  put32(f, static_cast<std::uint32_t>(data.size()), big);
  put32(f, orig != 0 ? orig : static_cast<std::uint32_t>(data.size()), big);
  f.insert(f.end(), data.begin(), data.end());
}

// An IPv4 header of total length `total` followed by filler up to it.
Bytes ipv4(std::uint16_t total, std::uint8_t tag) {
  Bytes p = {0x45, 0, static_cast<std::uint8_t>(total >> 8), static_cast<std::uint8_t>(total), 0, tag,
             0, 0, 64, 17, 0, 0, 198, 51, 100, 1, 203, 0, 113, tag};
  while (p.size() < total) {
    p.push_back(static_cast<std::uint8_t>(p.size() ^ tag));
  }
  return p;
}

Bytes ethernet(std::uint16_t type, const Bytes& payload) {
  Bytes f = {2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, static_cast<std::uint8_t>(type >> 8),
             static_cast<std::uint8_t>(type)};
  f.insert(f.end(), payload.begin(), payload.end());
  return f;
}

Bytes as_bytes(std::span<const std::uint8_t> s) { return {s.begin(), s.end()}; }

TEST(PcapReader, RawIpv4BothByteOrdersAndResolutions) {
  for (const bool big : {false, true}) {
    for (const std::uint32_t magic : {0xa1b2c3d4u, 0xa1b23c4du}) {
      Bytes f = file_header(linktype_ipv4, big, magic);
      record(f, ipv4(20, 1), big);
      record(f, ipv4(100, 2), big);
      const PcapPackets p = read_ipv4_pcap(f);
      ASSERT_EQ(p.error, PcapError::none) << big << " " << magic;
      EXPECT_EQ(p.linktype, linktype_ipv4);
      EXPECT_EQ(p.records, 2u);
      ASSERT_EQ(p.packets.size(), 2u);
      EXPECT_EQ(as_bytes(p.packets[0]), ipv4(20, 1));
      EXPECT_EQ(as_bytes(p.packets[1]), ipv4(100, 2));
    }
  }
}

TEST(PcapReader, LinktypeRawSkipsIpv6) {
  Bytes f = file_header(linktype_raw);
  Bytes v6(40, 0);
  v6[0] = 0x60;
  record(f, v6);
  record(f, ipv4(28, 3));
  record(f, {});
  const PcapPackets p = read_ipv4_pcap(f);
  ASSERT_EQ(p.error, PcapError::none);
  EXPECT_EQ(p.records, 3u);
  EXPECT_EQ(p.not_ipv4, 2u);
  ASSERT_EQ(p.packets.size(), 1u);
  EXPECT_EQ(as_bytes(p.packets[0]), ipv4(28, 3));
}

TEST(PcapReader, RawPacketsAreNotJudged) {
  // A bad checksum or an inconsistent length is the data plane's to refuse
  // (tx_malformed): the reader passes raw packets through unchanged.
  Bytes bad = ipv4(40, 4);
  bad[2] = 0x7f;
  Bytes f = file_header(linktype_raw);
  record(f, bad);
  const PcapPackets p = read_ipv4_pcap(f);
  ASSERT_EQ(p.packets.size(), 1u);
  EXPECT_EQ(as_bytes(p.packets[0]), bad);
}

TEST(PcapReader, EthernetStripsHeaderAndPadding) {
  Bytes f = file_header(linktype_ethernet);
  Bytes padded = ethernet(0x0800, ipv4(28, 5));
  padded.resize(60, 0);  // a short frame as a NIC delivers it
  record(f, padded);
  record(f, ethernet(0x0800, ipv4(300, 6)));
  record(f, ethernet(0x0806, Bytes(28, 1)));                   // ARP
  record(f, ethernet(0x8100, Bytes(4, 0)));                    // VLAN tag
  record(f, Bytes(10, 0));                                     // shorter than Ethernet
  Bytes lying = ethernet(0x0800, ipv4(40, 7));
  lying[14 + 3] = 200;  // total length beyond the frame: kept whole
  record(f, lying);
  const PcapPackets p = read_ipv4_pcap(f);
  ASSERT_EQ(p.error, PcapError::none);
  EXPECT_EQ(p.records, 6u);
  EXPECT_EQ(p.not_ipv4, 3u);
  ASSERT_EQ(p.packets.size(), 3u);
  EXPECT_EQ(as_bytes(p.packets[0]), ipv4(28, 5));
  EXPECT_EQ(as_bytes(p.packets[1]), ipv4(300, 6));
  EXPECT_EQ(as_bytes(p.packets[2]), Bytes(lying.begin() + 14, lying.end()));
}

TEST(PcapReader, RecordsCapturedShortAreSkipped) {
  Bytes f = file_header(linktype_ipv4);
  record(f, ipv4(64, 8), false, 1500);
  record(f, ipv4(64, 9));
  const PcapPackets p = read_ipv4_pcap(f);
  ASSERT_EQ(p.error, PcapError::none);
  EXPECT_EQ(p.truncated, 1u);
  ASSERT_EQ(p.packets.size(), 1u);
  EXPECT_EQ(as_bytes(p.packets[0]), ipv4(64, 9));
}

TEST(PcapReader, HeaderOnlyIsAnEmptyFile) {
  const PcapPackets p = read_ipv4_pcap(file_header(linktype_ethernet));
  EXPECT_EQ(p.error, PcapError::none);
  EXPECT_EQ(p.records, 0u);
  EXPECT_TRUE(p.packets.empty());
}

TEST(PcapReader, BrokenFiles) {
  EXPECT_EQ(read_ipv4_pcap(Bytes(23, 0)).error, PcapError::too_short);
  Bytes ng = file_header(linktype_ipv4, false, 0x0a0d0d0a);  // pcapng section header
  EXPECT_EQ(read_ipv4_pcap(ng).error, PcapError::bad_magic);
  EXPECT_EQ(read_ipv4_pcap(file_header(113)).error, PcapError::bad_linktype);  // Linux SLL

  Bytes cut = file_header(linktype_ipv4);
  record(cut, ipv4(20, 1));
  const std::size_t second = cut.size();
  record(cut, ipv4(60, 2));
  cut.pop_back();  // resize(size() - 1) trips g++ 12's -Wstringop-overflow under ASan
  const PcapPackets p = read_ipv4_pcap(cut);
  EXPECT_EQ(p.error, PcapError::truncated_record);
  EXPECT_EQ(p.error_offset, second);

  Bytes half_header = file_header(linktype_ipv4);
  half_header.resize(half_header.size() + 9, 0);
  EXPECT_EQ(read_ipv4_pcap(half_header).error, PcapError::truncated_record);
}

TEST(PcapReader, LinktypeFcsBitsIgnored) {
  // pcap-savefile(5): bits 28..31 of the link-type field may flag an FCS.
  Bytes f = file_header(linktype_raw | 0x10000000u);
  record(f, ipv4(20, 1));
  const PcapPackets p = read_ipv4_pcap(f);
  EXPECT_EQ(p.error, PcapError::none);
  EXPECT_EQ(p.linktype, linktype_raw);
  EXPECT_EQ(p.packets.size(), 1u);
}

TEST(PcapReader, ReadsWhatThePuntWriterWrites) {
  const auto path = std::filesystem::temp_directory_path() / ("pcap-reader-" + std::to_string(getpid()));
  {
    PcapWriter w(path.string());
    w.write(ipv4(20, 1), {1, 2});
    w.write(ipv4(1400, 2), {3, 4});
  }
  std::ifstream in(path, std::ios::binary);
  const Bytes f{std::istreambuf_iterator<char>(in), {}};
  std::filesystem::remove(path);
  const PcapPackets p = read_ipv4_pcap(f);
  ASSERT_EQ(p.error, PcapError::none);
  EXPECT_EQ(p.linktype, linktype_ipv4);
  ASSERT_EQ(p.packets.size(), 2u);
  EXPECT_EQ(as_bytes(p.packets[1]), ipv4(1400, 2));
}

}  // namespace
}  // namespace l2tpgw::cp
