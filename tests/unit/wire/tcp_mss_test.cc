// TCP MSS clamping against packets built by python3-scapy: the inputs and the
// bytes expected after a clamp to 1360 are printed by
// tests/unit/wire/gen_tcp_vectors.py (run with /usr/bin/python3), which sets
// the option and lets scapy recompute the checksum. Random option layouts
// then check the incremental checksum against one computed from scratch.
#include "dataplane/wire/tcp_mss.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <random>
#include <span>
#include <utility>
#include <vector>

#include "dataplane/wire/checksum.h"
#include "dataplane/wire/ipv4.h"

namespace l2tpgw::wire {
namespace {

std::vector<std::uint8_t> hex(const char* s) {
  std::vector<std::uint8_t> out;
  auto nib = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
  for (; s[0] != 0 && s[1] != 0; s += 2) {
    out.push_back(static_cast<std::uint8_t>(nib(s[0]) << 4 | nib(s[1])));
  }
  return out;
}

constexpr std::uint16_t limit = 1360;

struct ClampVector {
  const char* name;
  MssResult result;
  const char* in;
  const char* out;  // nullptr: the bytes must not change
};

struct MalformedVector {
  const char* name;
  const char* in;
};

// ip(**kw) = IP(src='10.8.0.2', dst='192.0.2.1', id=0x4d2, **kw)
// syn(flags='S', **kw) = TCP(sport=49152, dport=443, seq=0x11223344,
//     ack=0x55667788 if 'A' in flags else 0, window=64240, flags=flags, **kw)
const ClampVector clamp_vectors[] = {
    // scapy: ip()/syn(options=[('MSS', 1460)])
    {"syn_mss_first", MssResult::clamped,
     "4500002c04d200004006a9ef0a080002c0000201c00001bb1122334400000000"
     "6002faf0cb080000020405b4",
     "4500002c04d200004006a9ef0a080002c0000201c00001bb1122334400000000"
     "6002faf0cb6c000002040550"},
    // scapy: ip()/syn(options=[('MSS', 1460), ('SAckOK', b''), ('Timestamp', (123456, 0)),
    //     ('NOP', None), ('WScale', 7)])
    {"syn_linux", MssResult::clamped,
     "4500003c04d200004006a9df0a080002c0000201c00001bb1122334400000000"
     "a002faf098a00000020405b40402080a0001e2400000000001030307",
     "4500003c04d200004006a9df0a080002c0000201c00001bb1122334400000000"
     "a002faf099040000020405500402080a0001e2400000000001030307"},
    // scapy: ip()/syn(options=[('NOP', None), ('MSS', 1460)])
    {"syn_mss_odd_after_nop", MssResult::clamped,
     "4500003004d200004006a9eb0a080002c0000201c00001bb1122334400000000"
     "7002faf009b5000001020405b4000000",
     "4500003004d200004006a9eb0a080002c0000201c00001bb1122334400000000"
     "7002faf06db500000102040550000000"},
    // scapy: ip()/syn(options=[('WScale', 8), ('MSS', 8960), ('SAckOK', b'')])
    {"syn_mss_odd_after_wscale", MssResult::clamped,
     "4500003404d200004006a9e70a080002c0000201c00001bb1122334400000000"
     "8002faf0a18c0000030308020423000402000000",
     "4500003404d200004006a9e70a080002c0000201c00001bb1122334400000000"
     "8002faf051aa0000030308020405500402000000"},
    // scapy: ip()/syn('SA', options=[('SAckOK', b''), ('Timestamp', (99, 123456)), ('NOP',
    //     None), ('WScale', 7), ('MSS', 1460)])
    {"synack_mss_last", MssResult::clamped,
     "4500003c04d200004006a9df0a080002c0000201c00001bb1122334455667788"
     "a012faf0cb3e00000402080a000000630001e24001030307020405b4",
     "4500003c04d200004006a9df0a080002c0000201c00001bb1122334455667788"
     "a012faf0cba200000402080a000000630001e2400103030702040550"},
    // scapy: ip()/syn('SA', options=[('MSS', 65535)])
    {"synack_mss_max", MssResult::clamped,
     "4500002c04d200004006a9ef0a080002c0000201c00001bb1122334455667788"
     "6012faf003be00000204ffff",
     "4500002c04d200004006a9ef0a080002c0000201c00001bb1122334455667788"
     "6012faf0fe6d000002040550"},
    // scapy: ip()/syn(options=[('NOP', None), ('MSS', 1400)])/Raw(b'fastopen!')
    {"syn_with_payload_odd", MssResult::clamped,
     "4500003904d200004006a9e20a080002c0000201c00001bb1122334400000000"
     "7002faf075f700000102040578000000666173746f70656e21",
     "4500003904d200004006a9e20a080002c0000201c00001bb1122334400000000"
     "7002faf09df700000102040550000000666173746f70656e21"},
    // scapy: ip()/syn(options=[('MSS', 1460), ('NOP', None), ('MSS', 9000)])
    {"syn_two_mss", MssResult::clamped,
     "4500003404d200004006a9e70a080002c0000201c00001bb1122334400000000"
     "8002faf07ddb0000020405b40102042328000000",
     "4500003404d200004006a9e70a080002c0000201c00001bb1122334400000000"
     "8002faf0565d0000020405500102040550000000"},
    // scapy: ip()/syn(options=[('MSS', 1200), ('MSS', 1500)])
    {"syn_two_mss_one_low", MssResult::clamped,
     "4500003004d200004006a9eb0a080002c0000201c00001bb1122334400000000"
     "7002faf0b4280000020404b0020405dc",
     "4500003004d200004006a9eb0a080002c0000201c00001bb1122334400000000"
     "7002faf0b4b40000020404b002040550"},
    // scapy: ip(options=[IPOption_Router_Alert()])/syn(options=[('NOP', None), ('MSS', 1460)])
    {"syn_ip_router_alert", MssResult::clamped,
     "4600003404d20000400614e30a080002c000020194040000c00001bb11223344"
     "000000007002faf009b5000001020405b4000000",
     "4600003404d20000400614e30a080002c000020194040000c00001bb11223344"
     "000000007002faf06db500000102040550000000"},
    // scapy: ip(options=[IPOption_RR(routers=['192.0.2.9'])])/syn(options=[('MSS', 1460),
    //     ('WScale', 2)])
    {"syn_ip_record_route", MssResult::clamped,
     "4700003804d200004006931a0a080002c0000201070704c000020900c00001bb"
     "11223344000000007002faf0b6010000020405b403030200",
     "4700003804d200004006931a0a080002c0000201070704c000020900c00001bb"
     "11223344000000007002faf0b66500000204055003030200"},
    // scapy: ip(flags='MF')/syn(options=[('MSS', 1460)])/Raw(b'x' * 16)
    {"syn_first_fragment", MssResult::clamped,
     "4500003c04d22000400689df0a080002c0000201c00001bb1122334400000000"
     "6002faf007350000020405b478787878787878787878787878787878",
     "4500003c04d22000400689df0a080002c0000201c00001bb1122334400000000"
     "6002faf0079900000204055078787878787878787878787878787878"},
    // scapy: ip()/syn(options=[('MSS', 1200), ('SAckOK', b'')])
    {"syn_mss_below", MssResult::unchanged,
     "4500003004d200004006a9eb0a080002c0000201c00001bb1122334400000000"
     "7002faf0b8060000020404b004020000",
     nullptr},
    // scapy: ip()/syn('SA', options=[('MSS', 1360)])
    {"syn_mss_equal", MssResult::unchanged,
     "4500002c04d200004006a9ef0a080002c0000201c00001bb1122334455667788"
     "6012faf0fe6d000002040550",
     nullptr},
    // scapy: ip()/syn(options=[('SAckOK', b''), ('Timestamp', (1, 0)), ('WScale', 7)])
    {"syn_no_mss", MssResult::no_option,
     "4500003804d200004006a9e30a080002c0000201c00001bb1122334400000000"
     "9002faf08ca400000402080a000000010000000003030700",
     nullptr},
    // scapy: ip()/syn()
    {"syn_no_options", MssResult::no_option,
     "4500002804d200004006a9f30a080002c0000201c00001bb1122334400000000"
     "5002faf0e2c40000",
     nullptr},
    // scapy: ip()/syn(dataofs=7, options=[])/Raw(bytes.fromhex('0002040fa0000000'))
    {"syn_mss_after_eol", MssResult::no_option,
     "4500003004d200004006a9eb0a080002c0000201c00001bb1122334400000000"
     "7002faf01eab00000002040fa0000000",
     nullptr},
    // scapy: ip()/syn('A')/Raw(bytes.fromhex('020405b4020405b4'))
    {"ack_mss_in_payload", MssResult::not_syn,
     "4500003004d200004006a9eb0a080002c0000201c00001bb1122334455667788"
     "5010faf006500000020405b4020405b4",
     nullptr},
    // scapy: ip()/syn('PA', options=[('MSS', 1460)])/Raw(b'data')
    {"ack_with_mss_option", MssResult::not_syn,
     "4500003004d200004006a9eb0a080002c0000201c00001bb1122334455667788"
     "6018faf0253d0000020405b464617461",
     nullptr},
    // scapy: ip()/syn('FA', options=[('MSS', 1460)])
    {"fin", MssResult::not_syn,
     "4500002c04d200004006a9ef0a080002c0000201c00001bb1122334455667788"
     "6011faf0fe0a0000020405b4",
     nullptr},
    // scapy: ip(frag=3)/Raw(bytes(syn(options=[('MSS', 1460)])))
    {"later_fragment", MssResult::not_syn,
     "4500002c04d200034006a9ec0a080002c0000201c00001bb1122334400000000"
     "6002faf000000000020405b4",
     nullptr},
    // scapy: ip()/UDP(sport=49152, dport=443)/Raw(bytes(syn(options=[('MSS', 1460)])))
    {"udp_looks_like_syn", MssResult::not_syn,
     "4500003404d200004011a9dc0a080002c0000201c00001bb0020091ac00001bb"
     "11223344000000006002faf000000000020405b4",
     nullptr},
};

const MalformedVector malformed_vectors[] = {
    // scapy: ip()/syn(dataofs=6)/Raw(bytes.fromhex('02000000'))
    {"opt_len_zero",
     "4500002c04d200004006a9ef0a080002c0000201c00001bb1122334400000000"
     "6002faf0d0c0000002000000"},
    // scapy: ip()/syn(dataofs=7)/Raw(bytes.fromhex('0800020405b40000'))
    {"opt_len_zero_unknown_kind",
     "4500003004d200004006a9eb0a080002c0000201c00001bb1122334400000000"
     "7002faf0b30400000800020405b40000"},
    // scapy: ip()/syn(dataofs=7)/Raw(bytes.fromhex('03010000020405b4'))
    {"opt_len_one",
     "4500003004d200004006a9eb0a080002c0000201c00001bb1122334400000000"
     "7002faf0b803000003010000020405b4"},
    // scapy: ip()/syn(dataofs=6)/Raw(bytes.fromhex('0101080a00000001'))
    {"opt_beyond_header",
     "4500003004d200004006a9eb0a080002c0000201c00001bb1122334400000000"
     "6002faf0c9b000000101080a00000001"},
    // scapy: ip()/syn(dataofs=6)/Raw(bytes.fromhex('0101020405b4'))
    {"mss_beyond_header",
     "4500002e04d200004006a9ed0a080002c0000201c00001bb1122334400000000"
     "6002faf0ca0500000101020405b4"},
    // scapy: ip()/syn(dataofs=6)/Raw(bytes.fromhex('01010103'))
    {"kind_without_length",
     "4500002c04d200004006a9ef0a080002c0000201c00001bb1122334400000000"
     "6002faf0d0bc000001010103"},
    // scapy: ip()/syn(dataofs=6)/Raw(bytes.fromhex('02030501'))
    {"mss_len_three",
     "4500002c04d200004006a9ef0a080002c0000201c00001bb1122334400000000"
     "6002faf0cbbc000002030501"},
    // scapy: ip()/syn(dataofs=7)/Raw(bytes.fromhex('020605b400000000'))
    {"mss_len_six",
     "4500003004d200004006a9eb0a080002c0000201c00001bb1122334400000000"
     "7002faf0bb020000020605b400000000"},
    // scapy: ip()/syn(dataofs=7)/Raw(bytes.fromhex('020405b403000000'))
    {"good_mss_then_bad",
     "4500003004d200004006a9eb0a080002c0000201c00001bb1122334400000000"
     "7002faf0b8040000020405b403000000"},
    // scapy: ip()/syn(dataofs=4)
    {"data_offset_4",
     "4500002804d200004006a9f30a080002c0000201c00001bb1122334400000000"
     "4002faf0f2c40000"},
    // scapy: ip()/syn(dataofs=0)
    {"data_offset_0",
     "4500002804d200004006a9f30a080002c0000201c00001bb1122334400000000"
     "0002faf032c50000"},
    // scapy: ip()/syn(dataofs=8)/Raw(bytes.fromhex('020405b4'))
    {"data_offset_beyond_packet",
     "4500002c04d200004006a9ef0a080002c0000201c00001bb1122334400000000"
     "8002faf0ab080000020405b4"},
    // scapy: ip(proto=6)/Raw(bytes(syn(options=[('MSS', 1460)]))[:19])
    {"truncated_tcp_header",
     "4500002704d200004006a9f40a080002c0000201c00001bb1122334400000000"
     "6002faf0000000"},
    // scapy: ip(flags='MF', proto=6)/Raw(bytes(syn(options=[('NOP', None), ('MSS',
    //     1460)]))[:22])
    {"first_fragment_cut_in_options",
     "4500002a04d22000400689f10a080002c0000201c00001bb1122334400000000"
     "7002faf0000000000102"},
};

std::size_t ihl_of(std::span<const std::uint8_t> p) {
  return (p[0] & 0x0fu) * 4u;
}

// The TCP checksum of a whole unfragmented IPv4 packet, computed from
// scratch over the pseudo-header (RFC 9293 §3.1) and the segment with its
// checksum field taken as zero.
std::uint16_t tcp_csum_from_scratch(std::span<const std::uint8_t> p) {
  const std::size_t ihl = ihl_of(p);
  std::vector<std::uint8_t> seg(p.begin() + static_cast<std::ptrdiff_t>(ihl), p.end());
  seg[16] = seg[17] = 0;
  const auto be32 = [&](std::size_t o) {
    return std::uint32_t{p[o]} << 24 | std::uint32_t{p[o + 1]} << 16 |
           std::uint32_t{p[o + 2]} << 8 | p[o + 3];
  };
  const std::uint32_t pseudo =
      pseudo_header_sum(be32(12), be32(16), 6, static_cast<std::uint16_t>(seg.size()));
  return csum_fold(csum_partial(seg, pseudo));
}

std::uint16_t stored_tcp_csum(std::span<const std::uint8_t> p) {
  const std::size_t ihl = ihl_of(p);
  return static_cast<std::uint16_t>(p[ihl + 16] << 8 | p[ihl + 17]);
}

TEST(TcpMss, MatchesScapy) {
  for (const auto& v : clamp_vectors) {
    SCOPED_TRACE(v.name);
    auto b = hex(v.in);
    ASSERT_EQ(ipv4_check(b), Ipv4Check::ok);
    EXPECT_EQ(clamp_tcp_mss(b, limit), v.result);
    EXPECT_EQ(b, hex(v.out != nullptr ? v.out : v.in));
  }
}

TEST(TcpMss, ClampTwiceChangesNothingMore) {
  for (const auto& v : clamp_vectors) {
    if (v.result != MssResult::clamped) {
      continue;
    }
    SCOPED_TRACE(v.name);
    auto b = hex(v.out);
    EXPECT_EQ(clamp_tcp_mss(b, limit), MssResult::unchanged);
    EXPECT_EQ(b, hex(v.out));
  }
}

TEST(TcpMss, HighLimitLeavesEverySynAlone) {
  for (const auto& v : clamp_vectors) {
    SCOPED_TRACE(v.name);
    auto b = hex(v.in);
    const MssResult r = clamp_tcp_mss(b, 65535);
    EXPECT_EQ(r, v.result == MssResult::clamped ? MssResult::unchanged : v.result);
    EXPECT_EQ(b, hex(v.in));
  }
}

TEST(TcpMss, MalformedLeavesBytesUntouched) {
  for (const auto& v : malformed_vectors) {
    SCOPED_TRACE(v.name);
    auto b = hex(v.in);
    ASSERT_EQ(ipv4_check(b), Ipv4Check::ok);
    EXPECT_EQ(clamp_tcp_mss(b, limit), MssResult::malformed);
    EXPECT_EQ(b, hex(v.in));
  }
}

TEST(TcpMss, ShorterThanAnIpv4Header) {
  auto b = hex(clamp_vectors[0].in);
  EXPECT_EQ(clamp_tcp_mss(std::span(b).first(19), limit), MssResult::malformed);
  EXPECT_EQ(clamp_tcp_mss(std::span<std::uint8_t>{}, limit), MssResult::malformed);
}

// A SYN with random IP options, TCP options, flags and payload, its
// checksums right. mss_at: offsets in the packet of each MSS value.
struct RandomSyn {
  std::vector<std::uint8_t> pkt;
  std::vector<std::pair<std::size_t, std::uint16_t>> mss_at;
};

RandomSyn random_syn(std::mt19937& rng) {
  auto pick = [&](unsigned lo, unsigned hi) {
    return std::uniform_int_distribution<unsigned>(lo, hi)(rng);
  };
  auto byte = [&] { return static_cast<std::uint8_t>(pick(0, 255)); };

  // TCP options, at most 40 bytes (data offset 15).
  std::vector<std::uint8_t> opts;
  std::vector<std::pair<std::size_t, std::uint16_t>> mss_in_opts;
  const unsigned count = pick(0, 10);
  for (unsigned i = 0; i < count; ++i) {
    const std::size_t room = 40 - opts.size();
    switch (pick(0, 6)) {
      case 0:  // NOP, which shifts the parity of what follows
        if (room >= 1) {
          opts.push_back(1);
        }
        break;
      case 1:
      case 2:  // MSS, more often: it is what this test is about
        if (room >= 4) {
          const auto mss =
              static_cast<std::uint16_t>(pick(0, 3) == 0 ? pick(0, 65535) : pick(1000, 1500));
          mss_in_opts.emplace_back(opts.size() + 2, mss);
          opts.insert(opts.end(), {2, 4, static_cast<std::uint8_t>(mss >> 8),
                                   static_cast<std::uint8_t>(mss & 0xff)});
        }
        break;
      case 3:  // window scale
        if (room >= 3) {
          opts.insert(opts.end(), {3, 3, static_cast<std::uint8_t>(pick(0, 14))});
        }
        break;
      case 4:  // SACK permitted
        if (room >= 2) {
          opts.insert(opts.end(), {4, 2});
        }
        break;
      case 5:  // timestamps
        if (room >= 10) {
          opts.insert(opts.end(), {8, 10});
          for (int k = 0; k < 8; ++k) {
            opts.push_back(byte());
          }
        }
        break;
      default: {  // an option we do not know, with data that may look like MSS
        const std::size_t len = pick(2, 12);
        if (room >= len) {
          opts.push_back(static_cast<std::uint8_t>(pick(9, 253)));
          opts.push_back(static_cast<std::uint8_t>(len));
          for (std::size_t k = 2; k < len; ++k) {
            opts.push_back(pick(0, 1) != 0 ? std::uint8_t{2} : byte());
          }
        }
        break;
      }
    }
  }
  // End of Option List, then padding: both zero (RFC 9293 §3.1).
  while (opts.size() % 4 != 0) {
    opts.push_back(0);
  }

  const std::size_t ip_opts = 4 * pick(0, 10);
  const std::size_t ihl = 20 + ip_opts;
  const std::size_t tcp_len = 20 + opts.size();
  const std::size_t payload = pick(0, 3) == 0 ? pick(0, 41) : 0;
  RandomSyn s;
  s.pkt.resize(ihl + tcp_len + payload);
  auto& p = s.pkt;
  p[0] = static_cast<std::uint8_t>(0x40 | (ihl / 4));
  p[2] = static_cast<std::uint8_t>(p.size() >> 8);
  p[3] = static_cast<std::uint8_t>(p.size() & 0xff);
  p[4] = byte();
  p[5] = byte();
  p[6] = pick(0, 1) != 0 ? 0x40 : 0x00;  // DF or nothing; never a fragment
  p[8] = 64;
  p[9] = 6;
  for (std::size_t i = 12; i < 20; ++i) {
    p[i] = byte();
  }
  for (std::size_t i = 20; i < ihl; ++i) {
    p[i] = 1;  // IP NOPs (RFC 791 §3.1)
  }
  const std::uint16_t ip_csum = csum(std::span(p).first(ihl));
  p[10] = static_cast<std::uint8_t>(ip_csum >> 8);
  p[11] = static_cast<std::uint8_t>(ip_csum & 0xff);

  std::uint8_t* t = p.data() + ihl;
  for (std::size_t i = 0; i < 12; ++i) {
    t[i] = byte();
  }
  t[12] = static_cast<std::uint8_t>((tcp_len / 4) << 4);
  // SYN, with ACK, ECE, CWR, PSH as chance has it.
  t[13] = static_cast<std::uint8_t>(0x02 | (byte() & 0xd8));
  t[14] = byte();
  t[15] = byte();
  std::copy(opts.begin(), opts.end(), t + 20);
  for (std::size_t i = ihl + tcp_len; i < p.size(); ++i) {
    p[i] = byte();
  }
  const std::uint16_t c = tcp_csum_from_scratch(p);
  t[16] = static_cast<std::uint8_t>(c >> 8);
  t[17] = static_cast<std::uint8_t>(c & 0xff);
  for (const auto& [off, v] : mss_in_opts) {
    s.mss_at.emplace_back(ihl + 20 + off, v);
  }
  return s;
}

TEST(TcpMss, RandomLayoutsKeepTheChecksumRight) {
  std::mt19937 rng(20240611);
  unsigned clamped_odd = 0;
  unsigned clamped_even = 0;
  for (int n = 0; n < 20000; ++n) {
    RandomSyn s = random_syn(rng);
    ASSERT_EQ(ipv4_check(s.pkt), Ipv4Check::ok);
    const std::uint16_t max_mss =
        static_cast<std::uint16_t>(std::uniform_int_distribution<unsigned>(0, 3)(rng) == 0
                                       ? std::uniform_int_distribution<unsigned>(0, 65535)(rng)
                                       : std::uniform_int_distribution<unsigned>(1200, 1460)(rng));
    const std::vector<std::uint8_t> before = s.pkt;
    const MssResult r = clamp_tcp_mss(s.pkt, max_mss);

    bool over = false;
    for (const auto& [off, v] : s.mss_at) {
      over = over || v > max_mss;
    }
    const MssResult want = s.mss_at.empty() ? MssResult::no_option
                           : over           ? MssResult::clamped
                                            : MssResult::unchanged;
    ASSERT_EQ(r, want) << "case " << n;
    ASSERT_EQ(stored_tcp_csum(s.pkt), tcp_csum_from_scratch(s.pkt)) << "case " << n;

    // Only the MSS values and the checksum may differ from the input.
    std::vector<std::uint8_t> expect = before;
    const std::size_t ihl = ihl_of(before);
    expect[ihl + 16] = s.pkt[ihl + 16];
    expect[ihl + 17] = s.pkt[ihl + 17];
    for (const auto& [off, v] : s.mss_at) {
      const std::uint16_t now = v > max_mss ? max_mss : v;
      expect[off] = static_cast<std::uint8_t>(now >> 8);
      expect[off + 1] = static_cast<std::uint8_t>(now & 0xff);
      if (v > max_mss) {
        ++((off - ihl) % 2 != 0 ? clamped_odd : clamped_even);
      }
    }
    ASSERT_EQ(s.pkt, expect) << "case " << n;
  }
  // Both alignments of the MSS value were exercised.
  EXPECT_GT(clamped_odd, 1000u);
  EXPECT_GT(clamped_even, 1000u);
}

// Random bytes in the options, data offset and length: whatever comes back,
// a refused packet is untouched and a clamped one still checksums right.
TEST(TcpMss, RandomDamageNeverWritesOutsideTheRules) {
  std::mt19937 rng(7);
  auto pick = [&](unsigned lo, unsigned hi) {
    return std::uniform_int_distribution<unsigned>(lo, hi)(rng);
  };
  unsigned seen[5] = {};
  for (int n = 0; n < 20000; ++n) {
    RandomSyn s = random_syn(rng);
    auto& p = s.pkt;
    const std::size_t ihl = ihl_of(p);
    const std::size_t tcp_len = (p[ihl + 12] >> 4) * 4u;
    const unsigned hits = pick(1, 4);
    for (unsigned h = 0; h < hits; ++h) {
      if (pick(0, 4) == 0) {
        p[ihl + 12] = static_cast<std::uint8_t>(pick(0, 15) << 4);
      } else if (tcp_len > 20) {
        p[ihl + pick(20, static_cast<unsigned>(tcp_len - 1))] =
            static_cast<std::uint8_t>(pick(0, 4) == 0 ? pick(0, 255) : pick(0, 4));
      }
    }
    const std::uint16_t c = tcp_csum_from_scratch(p);
    p[ihl + 16] = static_cast<std::uint8_t>(c >> 8);
    p[ihl + 17] = static_cast<std::uint8_t>(c & 0xff);
    const std::size_t cut = pick(0, 5) == 0
                                ? pick(static_cast<unsigned>(ihl), static_cast<unsigned>(p.size()))
                                : p.size();
    const std::vector<std::uint8_t> before = p;
    const MssResult r = clamp_tcp_mss(std::span(p).first(cut), 1360);
    ++seen[static_cast<unsigned>(r)];
    if (r == MssResult::clamped) {
      ASSERT_EQ(stored_tcp_csum(p), tcp_csum_from_scratch(p)) << "case " << n;
      const std::size_t opt_end = ihl + ((p[ihl + 12] >> 4) * 4u);
      for (std::size_t i = 0; i < p.size(); ++i) {
        if (i != ihl + 16 && i != ihl + 17 && (i < ihl + 20 || i >= opt_end)) {
          ASSERT_EQ(p[i], before[i]) << "case " << n << " byte " << i;
        }
      }
    } else {
      ASSERT_EQ(p, before) << "case " << n;
    }
  }
  EXPECT_GT(seen[static_cast<unsigned>(MssResult::malformed)], 1000u);
  EXPECT_GT(seen[static_cast<unsigned>(MssResult::clamped)], 1000u);
}

}  // namespace
}  // namespace l2tpgw::wire
