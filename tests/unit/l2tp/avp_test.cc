// AVP list parsing, the M-bit policy, hostile lengths and §4.3 hiding,
// against vectors from gen_vectors.py.
#include "controlplane/l2tp/avp.h"

#include <gtest/gtest.h>

#include "controlplane/l2tp/avp_values.h"
#include "controlplane/l2tp/tunnel_auth.h"
#include "tests/unit/l2tp/test_util.h"
#include "tests/unit/l2tp/vectors.h"

namespace l2tpgw::l2tp {
namespace {

using l2tp_test::bytes;
using l2tp_test::unhex;

const std::vector<std::uint8_t> secret = bytes(l2tp_vectors::secret);

TEST(L2tpAvp, ListParsesTypesFlagsAndValues) {
  // Message Type (M), Host Name (M) "ab", Vendor Name (no M) "".
  const auto body = unhex(
      "8008000000000001"
      "8008000000076162"
      "000600000008");
  const AvpList l = parse_avp_list(body, {});
  ASSERT_EQ(l.error, AvpError::ok);
  ASSERT_EQ(l.avps.size(), 3u);
  EXPECT_TRUE(l.avps[0].mandatory);
  EXPECT_EQ(l.avps[1].type, 7);
  EXPECT_EQ(l.avps[1].value, bytes("ab"));
  EXPECT_EQ(l.avps[1].offset, 8u);
  EXPECT_FALSE(l.avps[2].mandatory);
  EXPECT_TRUE(l.avps[2].value.empty());
}

TEST(L2tpAvp, UnknownOptionalIgnoredUnknownMandatoryNamed) {
  // Vendor 9 type 1 without M, then IETF type 200 with M, then Host Name.
  const auto body = unhex(
      "000800090001abcd"
      "8007000000c8ff"
      "8007000000077a");
  const AvpList l = parse_avp_list(body, {});
  EXPECT_EQ(l.error, AvpError::unknown_mandatory);
  EXPECT_EQ(l.error_type, 200);
  EXPECT_EQ(l.error_offset, 8u);
  EXPECT_EQ(l.ignored, 1u);
  // The walk went on: the Host Name after it is there for the teardown.
  ASSERT_EQ(l.avps.size(), 1u);
  EXPECT_EQ(l.avps[0].type, 7);
  EXPECT_STREQ(avp_error_name(l.error), "unknown_mandatory");
  EXPECT_STREQ(describe(l.error), "unrecognised AVP with the M bit set");
}

TEST(L2tpAvp, ReservedTypeTwentyIsUnknown) {
  EXPECT_FALSE(known_avp_type(20));
  EXPECT_EQ(parse_avp_list(unhex("800600000014"), {}).error, AvpError::unknown_mandatory);
}

TEST(L2tpAvp, HostileLengthsNeverReadPastTheEnd) {
  // Fewer than 6 bytes for a header.
  EXPECT_EQ(parse_avp_list(unhex("80080000"), {}).error, AvpError::truncated);
  // Length 5: below the header.
  EXPECT_EQ(parse_avp_list(unhex("800500000000"), {}).error, AvpError::bad_length);
  // Length 0 would loop forever if taken at face value.
  EXPECT_EQ(parse_avp_list(unhex("800000000000"), {}).error, AvpError::bad_length);
  // Length 10 with only 8 bytes there (the vector is cut to exactly 8 so
  // ASan sees any read past it).
  const auto cut = unhex("800a00000007aabb");
  EXPECT_EQ(parse_avp_list(cut, {}).error, AvpError::length_beyond_message);
  // Length 1023 (all ten bits) in a short list.
  EXPECT_EQ(parse_avp_list(unhex("83ff000000070000"), {}).error, AvpError::length_beyond_message);
  // A good AVP then a truncated one: the error names the second's offset.
  const AvpList l = parse_avp_list(unhex("8008000000000001"
                                         "8008"),
                                   {});
  EXPECT_EQ(l.error, AvpError::truncated);
  EXPECT_EQ(l.error_offset, 8u);
}

TEST(L2tpAvp, HidingMatchesIndependentVector) {
  const auto rv = unhex(l2tp_vectors::random_vector);
  const auto pad = unhex(l2tp_vectors::padding);
  std::vector<std::uint8_t> value;
  for (int i = 0x80; i < 0xa8; ++i) {
    value.push_back(static_cast<std::uint8_t>(i));
  }
  const auto hidden = hide_avp_value(33, value, secret, rv, pad);
  EXPECT_EQ(hidden, unhex(l2tp_vectors::hidden_value_40));
  std::vector<std::uint8_t> back;
  ASSERT_EQ(unhide_avp_value(33, unhex(l2tp_vectors::hidden_value_40), secret, rv, back),
            AvpError::ok);
  EXPECT_EQ(back, value);
  // The attribute type is part of the key: another type decodes to noise.
  std::vector<std::uint8_t> other;
  const AvpError e = unhide_avp_value(30, hidden, secret, rv, other);
  EXPECT_TRUE(e == AvpError::hidden_length_lies || other != value);
}

TEST(L2tpAvp, HiddenWithoutSecretOrRandomVectorIsNamed) {
  const auto rv = unhex(l2tp_vectors::random_vector);
  std::vector<std::uint8_t> v;
  EXPECT_EQ(unhide_avp_value(30, unhex("00112233"), {}, rv, v), AvpError::hidden_without_secret);
  EXPECT_EQ(unhide_avp_value(30, unhex("00112233"), secret, {}, v),
            AvpError::hidden_without_random_vector);
  EXPECT_EQ(unhide_avp_value(30, unhex("00"), secret, rv, v), AvpError::hidden_too_short);

  // In a list: hidden Host Name with no Random Vector before it.
  const auto no_rv = unhex("c00a000000070011aabb");
  EXPECT_EQ(parse_avp_list(no_rv, secret).error, AvpError::hidden_without_random_vector);
  // With a Random Vector but no secret configured.
  const auto with_rv = unhex(
      "800800000024a0a1"
      "c00a000000070011aabb");
  const AvpList l = parse_avp_list(with_rv, {});
  EXPECT_EQ(l.error, AvpError::hidden_without_secret);
  EXPECT_EQ(l.error_type, 7);
  // A Random Vector after the hidden AVP does not count (§4.3: before it).
  const auto rv_after = unhex(
      "c00a000000070011aabb"
      "800800000024a0a1");
  EXPECT_EQ(parse_avp_list(rv_after, secret).error, AvpError::hidden_without_random_vector);
  // H on the Message Type or the Random Vector itself.
  EXPECT_EQ(parse_avp_list(unhex("c0080000000000aa"), secret).error, AvpError::hidden_not_allowed);
}

TEST(L2tpAvp, HiddenOriginalLengthThatLiesIsRefused) {
  const auto rv = unhex(l2tp_vectors::random_vector);
  // Hide a 4-byte subformat claiming 200 bytes: hide "value" so that the
  // decrypted length field reads 0x00c8 with nothing behind it.
  std::vector<std::uint8_t> sub = {0x00, 0xc8, 0x01, 0x02};
  const auto key = md5({unhex("0007"), secret, rv});
  for (std::size_t i = 0; i < sub.size(); ++i) {
    sub[i] ^= key[i];
  }
  std::vector<std::uint8_t> v;
  EXPECT_EQ(unhide_avp_value(7, sub, secret, rv, v), AvpError::hidden_length_lies);
}

TEST(L2tpAvp, ValueCodecsCheckFormats) {
  AvpSet s;
  const auto dec = [&s](std::uint16_t type, const std::string& hex) {
    Avp a;
    a.type = type;
    a.value = unhex(hex);
    return decode_avp_value(a, s);
  };
  EXPECT_EQ(dec(1, "0002"), AvpError::ok);
  EXPECT_FALSE(s.result_code->error);
  EXPECT_EQ(dec(1, "000200"), AvpError::bad_value_length);
  EXPECT_EQ(dec(1, "00020006"), AvpError::ok);
  EXPECT_EQ(*s.result_code->error, 6);
  EXPECT_EQ(dec(2, "01"), AvpError::bad_value_length);
  EXPECT_EQ(dec(5, "01020304050607"), AvpError::bad_value_length);
  EXPECT_EQ(dec(7, ""), AvpError::bad_value_length);  // Host Name: at least one octet
  EXPECT_EQ(dec(10, "0000"), AvpError::bad_value);    // a window of 0
  EXPECT_EQ(dec(12, "0010"), AvpError::bad_value_length);
  EXPECT_EQ(dec(13, "00"), AvpError::bad_value_length);
  EXPECT_EQ(dec(32, "07"), AvpError::bad_value_length);
  EXPECT_EQ(dec(34, "0000"), AvpError::bad_value_length);
  EXPECT_EQ(dec(35, "0000ffffffff"), AvpError::bad_value_length);
  EXPECT_EQ(dec(39, "00"), AvpError::bad_value_length);
  EXPECT_EQ(dec(39, ""), AvpError::ok);
  EXPECT_TRUE(s.sequencing_required);
}

TEST(L2tpAvp, WriterRefusesOversizeValues) {
  std::vector<std::uint8_t> out;
  AvpWriter w(out);
  const std::vector<std::uint8_t> big(1018, 0x41);
  EXPECT_FALSE(w.put(AvpType::host_name, big));
  EXPECT_TRUE(w.failed());
  std::vector<std::uint8_t> out2;
  AvpWriter w2(out2);
  EXPECT_TRUE(w2.put(AvpType::host_name, std::span<const std::uint8_t>(big).first(1017)));
  EXPECT_EQ(out2.size(), 1023u);
  // Hidden without a Random Vector written first.
  EXPECT_FALSE(w2.put_hidden(AvpType::host_name, bytes("x"), secret, {}));
}

TEST(L2tpAuth, ChallengeResponseMatchesIndependentVector) {
  const auto lac = unhex(l2tp_vectors::lac_challenge);
  const auto lns = unhex(l2tp_vectors::lns_challenge);
  const Md5Digest r2 = challenge_response(2, secret, lac);
  EXPECT_EQ(std::vector<std::uint8_t>(r2.begin(), r2.end()), unhex(l2tp_vectors::sccrp_response));
  EXPECT_TRUE(check_challenge_response(3, secret, lns, unhex(l2tp_vectors::scccn_response)));
  // Wrong ID (message type), wrong secret, one bit off, wrong length.
  EXPECT_FALSE(check_challenge_response(2, secret, lns, unhex(l2tp_vectors::scccn_response)));
  EXPECT_FALSE(
      check_challenge_response(3, bytes("other"), lns, unhex(l2tp_vectors::scccn_response)));
  auto flipped = unhex(l2tp_vectors::scccn_response);
  flipped[15] ^= 1;
  EXPECT_FALSE(check_challenge_response(3, secret, lns, flipped));
  EXPECT_FALSE(check_challenge_response(3, secret, lns, std::span(flipped).first(15)));
}

}  // namespace
}  // namespace l2tpgw::l2tp
