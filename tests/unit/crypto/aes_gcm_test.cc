// AES-GCM ESP jobs (RFC 4106): the ESP packet vectors of
// draft-mcgrew-gcm-test-01 §4 that use 32-bit sequence numbers (8-byte AAD),
// and a comparison with OpenSSL's AES-GCM on random packets.
#include <gtest/gtest.h>

#include "tests/unit/crypto/crypto_test_util.h"

namespace l2tpgw::crypto::test {
namespace {

class AesGcm : public ::testing::Test, protected MgrFixture {};

struct GcmCase {
  const char* name;
  EspCipher cipher;
  Bytes key_and_salt;  // RFC 4106 §8.1 key material: key || salt
  Bytes spi_seq;       // the AAD (RFC 4106 §5, no ESN)
  Bytes iv;
  Bytes plaintext;  // ESP payload with padding and trailer, as printed
  Bytes sealed;     // ciphertext || 16-byte ICV
};

// draft-mcgrew-gcm-test-01 §4, "Test Cases for the use of GCM and GMAC in
// IPsec ESP": the three AES-GCM cases with 32-bit sequence numbers.
std::vector<GcmCase> draft_cases() {
  return {
      {"AES-256 SPI 4a2cbfe3", EspCipher::aes_gcm_256,
       hex("abbccddef00112233445566778899aab abbccddef00112233445566778899aab 11223344"),
       hex("4a2cbfe300000002"), hex("0102030405060708"),
       hex("4500003069a6400080062690c0a80102 9389155e0a9e008b2dc57ee000000000"
           "7002400020bf0000020405b401010402 01020201"),
       hex("ff425c9b724599df7a3bcd510194e00d 6a78107f1b0b1cbf06efae9d65a5d763"
           "748a637985771d347f0545659f14e99d ef842d8e"
           "b335f4eecfdbf831824b4c4915956c96")},
      {"AES-128 zero key", EspCipher::aes_gcm_128, hex("00000000000000000000000000000000 00000000"),
       hex("0000000000000001"), hex("0000000000000000"),
       hex("4500003c99c500008001cb7a40679318 010101010800075c0200440061626364"
           "65666768696a6b6c6d6e6f7071727374 75767761626364656667686901020201"),
       hex("4688daf2f973a392732909c331d56d60 f694abaa414b5e7ff5fdcdfff5e9a284"
           "456476492719ffb64de7d9dca1e1d894 bc3bd57873ed4d181d19d4d5c8c18af3"
           "f821d496eeb096e98ad2b69e4799c71d")},
      {"AES-128 4-byte payload", EspCipher::aes_gcm_128,
       hex("7d773d00c144c525ac619d18c84a3f47 d9664267"), hex("335467aeffffffff"),
       hex("43457e9182443bc6"), hex("01020201"), hex("437f866b cb3f699fe9b0822bac961c4504bef270")},
  };
}

TEST_F(AesGcm, DraftMcgrewGcmTestVectors) {
  ASSERT_TRUE(mgr);
  for (const auto& c : draft_cases()) {
    SCOPED_TRACE(c.name);
    SaKeys k;
    ASSERT_TRUE(init_sa_keys(mgr.get(), k, c.cipher, EspAuth::none, c.key_and_salt, {}));
    ASSERT_EQ(k.icv_len, 16);
    Bytes esp = esp_packet(c.spi_seq, c.iv, c.plaintext, 16);
    ASSERT_TRUE(esp_len_ok(k, static_cast<std::uint32_t>(esp.size())));
    ASSERT_EQ(esp_encrypt(mgr.get(), k, esp), IMB_STATUS_COMPLETED);
    EXPECT_EQ(esp, concat({c.spi_seq, c.iv, c.sealed}));

    Bytes in = concat({c.spi_seq, c.iv, c.sealed});
    Bytes icv;
    ASSERT_EQ(esp_decrypt(mgr.get(), k, in, icv), IMB_STATUS_COMPLETED);
    EXPECT_TRUE(icv_equal(icv.data(), in.data() + in.size() - 16, 16));
    EXPECT_EQ(Bytes(in.begin() + 16, in.end() - 16), c.plaintext);
  }
}

// Whole outbound packets against OpenSSL's AES-GCM with the RFC 4106 nonce
// and AAD built here, independently of the job builder.
void compare_with_openssl(IMB_MGR* mgr, EspCipher c) {
  std::mt19937 rng(static_cast<unsigned>(c) + 1000);
  const unsigned key_len = info(c).key_len - 4;
  for (std::size_t payload_len : {0u, 2u, 3u, 61u, 64u, 511u, 1400u}) {
    SCOPED_TRACE(payload_len);
    const Bytes material = random_bytes(rng, info(c).key_len);
    const Bytes key(material.begin(), material.begin() + key_len);
    const Bytes salt(material.begin() + key_len, material.end());
    SaKeys k;
    ASSERT_TRUE(init_sa_keys(mgr, k, c, EspAuth::none, material, {}));
    const Bytes spi_seq = random_bytes(rng, 8);
    const Bytes iv = random_bytes(rng, 8);
    const Bytes plaintext = esp_plaintext(random_bytes(rng, payload_len), 4, 17);
    Bytes esp = esp_packet(spi_seq, iv, plaintext, 16);
    ASSERT_EQ(esp_encrypt(mgr, k, esp), IMB_STATUS_COMPLETED);
    const Bytes expect =
        concat({spi_seq, iv, ossl_gcm_seal(key, concat({salt, iv}), spi_seq, plaintext)});
    EXPECT_EQ(esp, expect);
  }
}

TEST_F(AesGcm, Aes128MatchesOpenSsl) {
  ASSERT_TRUE(mgr);
  compare_with_openssl(mgr.get(), EspCipher::aes_gcm_128);
}

TEST_F(AesGcm, Aes256MatchesOpenSsl) {
  ASSERT_TRUE(mgr);
  compare_with_openssl(mgr.get(), EspCipher::aes_gcm_256);
}

TEST_F(AesGcm, SaltComesFromTheEndOfTheKeyMaterial) {
  ASSERT_TRUE(mgr);
  const Bytes material = hex("000102030405060708090a0b0c0d0e0f cafebabe");
  SaKeys k;
  ASSERT_TRUE(init_sa_keys(mgr.get(), k, EspCipher::aes_gcm_128, EspAuth::none, material, {}));
  EXPECT_EQ(Bytes(k.gcm_salt, k.gcm_salt + 4), hex("cafebabe"));
  EXPECT_EQ(k.key_len, 16);
  EXPECT_EQ(k.iv_len, 8);
}

}  // namespace
}  // namespace l2tpgw::crypto::test
