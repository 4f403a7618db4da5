// 3DES-CBC ESP jobs (RFC 2451): the NIST SP 800-67 Rev. 1 TDEA example
// (three distinct keys) as single-block packets, and whole packets compared
// with OpenSSL's DES-EDE3-CBC + HMAC.
#include <gtest/gtest.h>

#include "tests/unit/crypto/crypto_test_util.h"

namespace l2tpgw::crypto::test {
namespace {

class Des3 : public ::testing::Test, protected MgrFixture {};

TEST_F(Des3, Sp800_67ExampleThroughEspJobs) {
  ASSERT_TRUE(mgr);
  // SP 800-67 Rev. 1, Appendix B: Key1 || Key2 || Key3, the plaintext
  // "The qufck brown fox jump" and its TDEA-ECB ciphertext. CBC with an all
  // zero IV over one block is ECB, so each block is its own packet.
  const Bytes key = hex("0123456789ABCDEF 23456789ABCDEF01 456789ABCDEF0123");
  const Bytes plaintext = ascii("The qufck brown fox jump");
  const Bytes ciphertext = hex("A826FD8CE53B855F CCE21C8112256FE6 68D5C05DD9B6B900");
  const Bytes auth_key(20, 0x5a);
  SaKeys k;
  ASSERT_TRUE(
      init_sa_keys(mgr.get(), k, EspCipher::des3_cbc, EspAuth::hmac_sha1_96, key, auth_key));
  EXPECT_EQ(k.iv_len, 8);
  EXPECT_EQ(k.block_len, 8);
  for (unsigned b = 0; b < 3; ++b) {
    SCOPED_TRACE(b);
    const Bytes block(plaintext.begin() + 8 * b, plaintext.begin() + 8 * (b + 1));
    Bytes esp = esp_packet(hex("0000000100000001"), Bytes(8, 0), block, 12);
    ASSERT_EQ(esp_encrypt(mgr.get(), k, esp), IMB_STATUS_COMPLETED);
    EXPECT_EQ(Bytes(esp.begin() + 16, esp.begin() + 24),
              Bytes(ciphertext.begin() + 8 * b, ciphertext.begin() + 8 * (b + 1)));
    Bytes icv;
    ASSERT_EQ(esp_decrypt(mgr.get(), k, esp, icv), IMB_STATUS_COMPLETED);
    EXPECT_EQ(Bytes(esp.begin() + 16, esp.begin() + 24), block);
    EXPECT_TRUE(icv_equal(icv.data(), esp.data() + 24, 12));
  }
}

void compare_with_openssl(IMB_MGR* mgr, EspAuth a) {
  std::mt19937 rng(4242 + static_cast<unsigned>(a));
  const unsigned icv = icv_len(EspCipher::des3_cbc, a);
  for (std::size_t payload_len : {0u, 6u, 7u, 100u, 512u, 1400u}) {
    SCOPED_TRACE(payload_len);
    const Bytes key = random_bytes(rng, 24);
    const Bytes auth_key = random_bytes(rng, info(a).key_len);
    SaKeys k;
    ASSERT_TRUE(init_sa_keys(mgr, k, EspCipher::des3_cbc, a, key, auth_key));
    const Bytes spi_seq = random_bytes(rng, 8);
    const Bytes iv = random_bytes(rng, 8);
    const Bytes plaintext = esp_plaintext(random_bytes(rng, payload_len), 8, 17);
    Bytes esp = esp_packet(spi_seq, iv, plaintext, icv);
    ASSERT_EQ(esp_encrypt(mgr, k, esp), IMB_STATUS_COMPLETED);

    Bytes expect = concat(
        {spi_seq, iv,
         ossl_cbc(EVP_des_ede3_cbc(), key, iv.data(), plaintext.data(), plaintext.size(), true)});
    const Bytes mac = ossl_hmac(a, auth_key, expect.data(), expect.size());
    expect.insert(expect.end(), mac.begin(), mac.begin() + icv);
    EXPECT_EQ(esp, expect);

    Bytes icv_out;
    ASSERT_EQ(esp_decrypt(mgr, k, esp, icv_out), IMB_STATUS_COMPLETED);
    EXPECT_EQ(Bytes(esp.begin() + 16, esp.end() - icv), plaintext);
    EXPECT_TRUE(icv_equal(icv_out.data(), esp.data() + esp.size() - icv, icv));
  }
}

TEST_F(Des3, Sha1_96MatchesOpenSsl) {
  ASSERT_TRUE(mgr);
  compare_with_openssl(mgr.get(), EspAuth::hmac_sha1_96);
}

TEST_F(Des3, Sha256_128MatchesOpenSsl) {
  ASSERT_TRUE(mgr);
  compare_with_openssl(mgr.get(), EspAuth::hmac_sha256_128);
}

TEST_F(Des3, ScheduleTableFollowsTheSaCopy) {
  ASSERT_TRUE(mgr);
  // SaKeys holds no pointers: a copy placed elsewhere (as in the shared SA
  // table) must encrypt the same, and the original may be wiped meanwhile.
  std::mt19937 rng(7);
  const Bytes key = random_bytes(rng, 24);
  const Bytes auth_key = random_bytes(rng, 20);
  auto original = std::make_unique<SaKeys>();
  ASSERT_TRUE(init_sa_keys(mgr.get(), *original, EspCipher::des3_cbc, EspAuth::hmac_sha1_96, key,
                           auth_key));
  const Bytes spi_seq = random_bytes(rng, 8);
  const Bytes iv = random_bytes(rng, 8);
  const Bytes plaintext = esp_plaintext(random_bytes(rng, 50), 8, 4);
  Bytes first = esp_packet(spi_seq, iv, plaintext, 12);
  ASSERT_EQ(esp_encrypt(mgr.get(), *original, first), IMB_STATUS_COMPLETED);

  auto copy = std::make_unique<SaKeys>(*original);
  wipe(*original);
  Bytes second = esp_packet(spi_seq, iv, plaintext, 12);
  ASSERT_EQ(esp_encrypt(mgr.get(), *copy, second), IMB_STATUS_COMPLETED);
  EXPECT_EQ(first, second);
}

}  // namespace
}  // namespace l2tpgw::crypto::test
