// IKEv1 fragments (payload 132): message 5 of the RSA exchange split by
// gen_cert_vectors.py comes back whole whatever the order, and hostile
// fragment streams are refused with a reason, never held without bound.
#include "controlplane/ike/fragment.h"

#include <gtest/gtest.h>

#include "controlplane/ike/wire_util.h"
#include "tests/unit/ike/cert_vectors.h"
#include "tests/unit/ike/test_util.h"

namespace l2tpgw::ike {
namespace {

namespace cv = certvec;
using test::hex;
using test::to_hex;
using Status = FragmentReassembly::Status;

// One fragment datagram, built here for the hostile cases.
Bytes fragment(std::uint16_t id, std::uint8_t number, bool last, const Bytes& data) {
  Header h;
  h.exchange = static_cast<std::uint8_t>(ExchangeType::main_mode);
  Bytes body;
  put16(body, id);
  body.push_back(number);
  body.push_back(last ? 1 : 0);
  body.insert(body.end(), data.begin(), data.end());
  MessageBuilder b(h);
  b.add(PayloadType::fragment, body);
  return std::move(b).finish();
}

TEST(Fragment, ReassemblesIndependentFragmentsInAnyOrder) {
  const Bytes f[] = {hex(cv::rsa_msg5_frag1), hex(cv::rsa_msg5_frag2), hex(cv::rsa_msg5_frag3)};
  const int orders[][4] = {{0, 1, 2, -1}, {2, 0, 1, -1}, {1, 1, 2, 0}, {2, 2, 1, 0}};
  for (const auto& order : orders) {
    FragmentReassembly r;
    std::string why;
    Status last = Status::incomplete;
    for (const int i : order) {
      if (i < 0) {
        break;
      }
      ASSERT_EQ(last, Status::incomplete);
      last = r.add(f[i], why);
      ASSERT_NE(last, Status::refused) << why;
    }
    ASSERT_EQ(last, Status::complete);
    EXPECT_EQ(to_hex(r.whole()), cv::rsa_msg5);
  }
}

TEST(Fragment, SplitsAsTheIndependentFragmentsDo) {
  // gen_cert_vectors.py cut message 5 in three even parts under id 1.
  const Bytes whole = hex(cv::rsa_msg5);
  constexpr std::size_t overhead = 28 + 4 + 4;  // ISAKMP header, generic header, id/number/flags
  const auto parts = split_into_fragments(whole, 1, overhead + 500);
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(to_hex(parts[0]), cv::rsa_msg5_frag1);
  EXPECT_EQ(to_hex(parts[1]), cv::rsa_msg5_frag2);
  EXPECT_EQ(to_hex(parts[2]), cv::rsa_msg5_frag3);
  for (const auto& p : parts) {
    EXPECT_LE(p.size(), overhead + 500);
  }
}

TEST(Fragment, SplitBoundsAreKept) {
  const Bytes whole = hex(cv::rsa_msg5);
  std::string why;
  // Each size from barely room for one byte up: never over the size, and
  // the fragments reassemble to the message.
  for (std::size_t max = 36 + 74; max <= whole.size() + 40; max += 97) {
    const auto parts = split_into_fragments(whole, 9, max);
    if (parts.empty()) {
      EXPECT_GT((whole.size() + max - 37) / (max - 36), FragmentReassembly::max_fragments) << max;
      continue;
    }
    FragmentReassembly r;
    Status st = Status::incomplete;
    for (const auto& p : parts) {
      EXPECT_LE(p.size(), max);
      ASSERT_EQ(st, Status::incomplete);
      st = r.add(p, why);
    }
    ASSERT_EQ(st, Status::complete) << why;
    EXPECT_EQ(r.whole(), whole);
  }
  EXPECT_TRUE(split_into_fragments(whole, 1, 36).empty());    // no room for data
  EXPECT_TRUE(split_into_fragments(Bytes(10, 0), 1, 600).empty());  // not a message
}

TEST(Fragment, ANewIdStartsOver) {
  FragmentReassembly r;
  std::string why;
  EXPECT_EQ(r.add(fragment(7, 1, false, Bytes(10, 1)), why), Status::incomplete);
  EXPECT_EQ(r.add(fragment(8, 1, false, Bytes(10, 2)), why), Status::incomplete);
  ASSERT_EQ(r.add(fragment(8, 2, true, Bytes(5, 3)), why), Status::complete);
  Bytes want(10, 2);
  want.insert(want.end(), 5, 3);
  EXPECT_EQ(r.whole(), want);
}

TEST(Fragment, HostileStreamsAreRefused) {
  const std::pair<std::vector<Bytes>, const char*> cases[] = {
      {{fragment(1, 0, true, Bytes(4, 0))}, "malformed fragment"},
      {{fragment(1, 17, true, Bytes(4, 0))}, "fragment number 17 above 16"},
      {{fragment(1, 1, true, {})}, "malformed fragment"},
      {{fragment(1, 2, true, Bytes(4, 0)), fragment(1, 3, true, Bytes(4, 0))},
       "two last fragments"},
      {{fragment(1, 2, true, Bytes(4, 0)), fragment(1, 3, false, Bytes(4, 0))},
       "fragment 3 after the last one (2)"},
      {{fragment(1, 3, false, Bytes(4, 0)), fragment(1, 2, true, Bytes(4, 0))},
       "a fragment numbered after the last one"},
      {{fragment(1, 1, false, Bytes(1500, 0)), fragment(1, 2, false, Bytes(1500, 0)),
        fragment(1, 3, false, Bytes(1500, 0)), fragment(1, 4, false, Bytes(1500, 0)),
        fragment(1, 5, false, Bytes(1500, 0)), fragment(1, 6, false, Bytes(1500, 0)),
        fragment(1, 7, false, Bytes(1500, 0)), fragment(1, 8, false, Bytes(1500, 0)),
        fragment(1, 9, false, Bytes(1500, 0)), fragment(1, 10, false, Bytes(1500, 0)),
        fragment(1, 11, false, Bytes(1500, 0))},
       "reassembled message over 16384 bytes"},
  };
  for (const auto& [stream, want] : cases) {
    FragmentReassembly r;
    std::string why;
    Status s = Status::incomplete;
    for (const auto& d : stream) {
      s = r.add(d, why);
      if (s != Status::incomplete) {
        break;
      }
    }
    EXPECT_EQ(s, Status::refused) << want;
    EXPECT_NE(why.find(want), std::string::npos) << why;
  }
  // A datagram with a second payload after the fragment.
  Header h;
  MessageBuilder b(h);
  const Bytes body{0, 1, 1, 1, 9};
  b.add(PayloadType::fragment, body);
  b.add(PayloadType::vendor_id, body);
  FragmentReassembly r;
  std::string why;
  EXPECT_EQ(r.add(std::move(b).finish(), why), Status::refused);
  EXPECT_NE(why.find("one fragment payload"), std::string::npos) << why;
}

TEST(Fragment, TruncatedAndMutatedDatagramsNeverCrash) {
  const auto f = hex(cv::rsa_msg5_frag1);
  for (std::size_t len = 0; len < f.size(); ++len) {
    FragmentReassembly r;
    std::string why;
    EXPECT_NE(r.add(ByteView(f).first(len), why), Status::complete);
  }
  std::uint32_t seed = 1;
  for (int round = 0; round < 500; ++round) {
    auto bad = f;
    seed = seed * 1103515245U + 12345U;
    bad[(seed >> 8) % 40] = static_cast<std::uint8_t>(seed >> 16);
    FragmentReassembly r;
    std::string why;
    (void)r.add(bad, why);
    (void)r.add(hex(cv::rsa_msg5_frag3), why);
  }
}

}  // namespace
}  // namespace l2tpgw::ike
