// MD4 against RFC 1320 §A.5, MS-CHAPv2 against RFC 2759 §9.2, MPPE start
// keys against RFC 3079 §3.5.3, each also against hashlib /
// python3-cryptography (vectors.h).
#include <gtest/gtest.h>

#include <string>

#include "controlplane/ppp/md4.h"
#include "controlplane/ppp/mschapv2.h"
#include "dataplane/crypto/esp_crypto.h"
#include "tests/unit/ppp/test_util.h"
#include "tests/unit/ppp/vectors.h"

namespace l2tpgw::ppp {
namespace {

using test::hex;

std::span<const std::uint8_t> bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

template <std::size_t N>
test::Bytes vec(const std::array<std::uint8_t, N>& a) {
  return {a.begin(), a.end()};
}

TEST(Md4, Rfc1320TestSuite) {
  // RFC 1320 §A.5.
  const std::pair<const char*, const char*> cases[] = {
      {"", "31d6cfe0d16ae931b73c59d7e0c089c0"},
      {"a", "bde52cb31de33e46245e05fbdbd6fb24"},
      {"abc", "a448017aaf21d8525fc10ae87aa6729d"},
      {"message digest", "d9130a8164549fe818874806e1c7014b"},
      {"abcdefghijklmnopqrstuvwxyz", "d79e1c308aa5bbcdeea8ed63df412da9"},
      {"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
       "043f8582f241db351ce627e153e7f0e4"},
      {"12345678901234567890123456789012345678901234567890123456789012345678901234567890",
       "e33b4ddc9c38f2199c3e7b164fcc0536"},
  };
  for (const auto& [in, out] : cases) {
    EXPECT_EQ(test::to_hex(md4(bytes(in))), out) << '"' << in << '"';
  }
}

TEST(Md4, LongInputMatchesHashlib) {
  const std::string a(1000, 'a');
  EXPECT_EQ(vec(md4(bytes(a))), test::py_md4_1000a);
}

// RFC 2759 §9.2.
const test::Bytes auth_challenge = hex("5B 5D 7C 7D 7B 3F 2F 3E 3C 2C 60 21 32 26 26 28");
const test::Bytes peer_challenge = hex("21 40 23 24 25 5E 26 2A 28 29 5F 2B 3A 33 7C 7E");
const test::Bytes rfc_challenge_hash = hex("D0 2E 43 86 BC E9 12 26");
const test::Bytes rfc_password_hash = hex("44 EB BA 8D 53 12 B8 D6 11 47 44 11 F5 69 89 AE");
const test::Bytes rfc_nt_response =
    hex("82 30 9E CD 8D 70 8B 5E A0 8F AA 39 81 CD 83 54 42 33 11 4A 3D 85 D6 DF");
const test::Bytes rfc_password_hash_hash = hex("41 C0 0C 58 4B D2 D9 1C 40 17 A2 A1 2F A5 9F 3F");
const std::string rfc_authenticator_response = "S=407A5589115FD0D6209F510FE9C04566932CDA56";

std::span<const std::uint8_t, 16> s16(const test::Bytes& b) {
  return std::span<const std::uint8_t, 16>(b.data(), 16);
}

TEST(MsChapV2, Rfc2759Section92) {
  const Hash16 h = nt_password_hash("clientPass");
  EXPECT_EQ(vec(h), rfc_password_hash);
  EXPECT_EQ(vec(h), test::py_nt_hash);
  EXPECT_EQ(vec(hash_nt_password_hash(h)), rfc_password_hash_hash);
  const auto ch = challenge_hash(s16(peer_challenge), s16(auth_challenge), "User");
  EXPECT_EQ(vec(ch), rfc_challenge_hash);
  EXPECT_EQ(vec(ch), test::py_challenge_hash);
  const auto ntr = generate_nt_response(s16(auth_challenge), s16(peer_challenge), "User", h);
  EXPECT_EQ(vec(ntr), rfc_nt_response);
  EXPECT_EQ(vec(ntr), test::py_nt_response);
  const std::string ar =
      authenticator_response(h, ntr, s16(peer_challenge), s16(auth_challenge), "User");
  EXPECT_EQ(ar, rfc_authenticator_response);
  EXPECT_EQ(ar, test::py_auth_response);
}

TEST(MsChapV2, NonAsciiPasswordIsUtf16) {
  EXPECT_EQ(vec(nt_password_hash("p\xc3\xa4ssw\xc3\xb6rd\xe2\x82\xac")), test::py_nt_hash_utf8);
}

TEST(MsChapV2, StripDomain) {
  EXPECT_EQ(strip_domain("CORP\\User"), "User");
  EXPECT_EQ(strip_domain("User"), "User");
  EXPECT_EQ(strip_domain("a\\b\\c"), "c");
}

TEST(ChapMd5, MatchesHashlib) {
  test::Bytes challenge;
  for (int i = 0x10; i < 0x20; ++i) {
    challenge.push_back(static_cast<std::uint8_t>(i));
  }
  EXPECT_EQ(vec(chap_md5_response(7, "s3cret", challenge)), test::py_chap_md5_id7);
  EXPECT_NE(vec(chap_md5_response(8, "s3cret", challenge)), test::py_chap_md5_id7);
}

TEST(MppeKeys, Rfc3079Section353) {
  auto mgr = crypto::make_mgr();
  ASSERT_TRUE(mgr);
  Hash16 h{};
  std::copy(rfc_password_hash.begin(), rfc_password_hash.end(), h.begin());
  const auto k =
      server_mppe_keys(mgr.get(), h, std::span<const std::uint8_t, 24>(rfc_nt_response.data(), 24));
  // RFC 3079 §3.5.3 SendStartKey128 (server side: Magic3).
  EXPECT_EQ(vec(k.send), hex("8B 7C DC 14 9B 99 3A 1B A1 18 CB 15 3F 56 DC CB"));
  EXPECT_EQ(vec(k.send), test::py_mppe_send_key);
  EXPECT_EQ(vec(k.recv), test::py_mppe_recv_key);
}

TEST(ConstantTime, Equal) {
  const test::Bytes a = {1, 2, 3};
  const test::Bytes b = {1, 2, 4};
  EXPECT_TRUE(equal_ct(a, a));
  EXPECT_FALSE(equal_ct(a, b));
  EXPECT_FALSE(equal_ct(a, std::span<const std::uint8_t>(a).first(2)));
}

}  // namespace
}  // namespace l2tpgw::ppp
