// AES-CBC ESP jobs: RFC 3602 §4 test cases 1-4 (raw CBC) and 5-8 (ESP
// packets) driven through the ESP job builders, and a byte-for-byte
// comparison of whole ESP packets with OpenSSL (AES-CBC + HMAC).
#include <gtest/gtest.h>

#include "tests/unit/crypto/crypto_test_util.h"

namespace l2tpgw::crypto::test {
namespace {

class AesCbc : public ::testing::Test, protected MgrFixture {
 protected:
  SaKeys sa(EspCipher c, EspAuth a, const Bytes& key, const Bytes& auth_key) {
    SaKeys k;
    EXPECT_TRUE(init_sa_keys(mgr.get(), k, c, a, key, auth_key));
    return k;
  }
};

struct CbcCase {
  const char* name;
  Bytes key;
  Bytes iv;
  Bytes plaintext;
  Bytes ciphertext;
};

// RFC 3602 §4, cases #1-#4 (AES-128-CBC, no padding).
std::vector<CbcCase> rfc3602_cipher_cases() {
  return {
      {"case 1", hex("06a9214036b8a15b512e03d534120006"), hex("3dafba429d9eb430b422da802c9fac41"),
       ascii("Single block msg"), hex("e353779c1079aeb82708942dbe77181a")},
      {"case 2", hex("c286696d887c9aa0611bbb3e2025a45a"), hex("562e17996d093d28ddb3ba695a2e6f58"),
       hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"),
       hex("d296cd94c2cccf8a3a863028b5e1dc0a7586602d253cfff91b8266bea6d61ab1")},
      {"case 3", hex("6c3ea0477630ce21a2ce334aa746c2cd"), hex("c782dc4c098c66cbd9cd27d825682c81"),
       ascii("This is a 48-byte message (exactly 3 AES blocks)"),
       hex("d0a02b3836451753d493665d33f0e886 2dea54cdb293abc7506939276772f8d5"
           "021c19216bad525c8579695d83ba2684")},
      {"case 4", hex("56e47a38c5598974bc46903dba290349"), hex("8ce82eefbea0da3c44699ed7db51b7d9"),
       hex("a0a1a2a3a4a5a6a7a8a9aaabacadaeaf b0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
           "c0c1c2c3c4c5c6c7c8c9cacbcccdcecf d0d1d2d3d4d5d6d7d8d9dadbdcdddedf"),
       hex("c30e32ffedc0774e6aff6af0869f71aa 0f3af07a9a31a9c684db207eb0ef8e4e"
           "35907aa632c3ffdf868bb7b29d3d46ad 83ce9f9a102ee99d49a53e87f4c3da55")},
  };
}

TEST_F(AesCbc, Rfc3602Cases1To4ThroughEspJobs) {
  ASSERT_TRUE(mgr);
  const Bytes auth_key = hex("000102030405060708090a0b0c0d0e0f10111213");
  const Bytes spi_seq = hex("0000123400000001");
  for (const auto& c : rfc3602_cipher_cases()) {
    SCOPED_TRACE(c.name);
    const SaKeys k = sa(EspCipher::aes_cbc_128, EspAuth::hmac_sha1_96, c.key, auth_key);
    Bytes esp = esp_packet(spi_seq, c.iv, c.plaintext, 12);
    ASSERT_EQ(esp_encrypt(mgr.get(), k, esp), IMB_STATUS_COMPLETED);
    EXPECT_EQ(Bytes(esp.begin() + 24, esp.end() - 12), c.ciphertext);
    // The ICV: HMAC-SHA1-96 over SPI, seq, IV and ciphertext (RFC 4303 §3.3.2, RFC 2404).
    const Bytes mac = ossl_hmac(EspAuth::hmac_sha1_96, auth_key, esp.data(), esp.size() - 12);
    EXPECT_EQ(Bytes(esp.end() - 12, esp.end()), Bytes(mac.begin(), mac.begin() + 12));

    Bytes icv;
    ASSERT_EQ(esp_decrypt(mgr.get(), k, esp, icv), IMB_STATUS_COMPLETED);
    EXPECT_EQ(Bytes(esp.begin() + 24, esp.end() - 12), c.plaintext);
    EXPECT_TRUE(icv_equal(icv.data(), esp.data() + esp.size() - 12, 12));
  }
}

struct EspCase {
  const char* name;
  Bytes key;
  Bytes spi_seq;
  Bytes iv;
  Bytes payload;
  std::uint8_t next_header;
  Bytes packet;  // ESP header, IV and ciphertext as the RFC prints them
};

// RFC 3602 §4, cases #5-#8: ESP packets (no authentication in the RFC; we
// add an HMAC-SHA1-96 ICV, checked against OpenSSL, and compare the rest).
std::vector<EspCase> rfc3602_esp_cases() {
  return {
      {"case 5", hex("90d382b410eeba7ad938c46cec1a82bf"), hex("0000432100000001"),
       hex("e96e8c08ab465763fd098d45dd3ff893"),
       hex("08000ebda70a00008e9c083db95b0700 08090a0b0c0d0e0f1011121314151617"
           "18191a1b1c1d1e1f2021222324252627 28292a2b2c2d2e2f3031323334353637"),
       1,
       hex("0000432100000001e96e8c08ab465763 fd098d45dd3ff893f663c25d325c18c6"
           "a9453e194e120849a4870b66cc6b9965 330013b4898dc856a4699e523a55db08"
           "0b59ec3a8e4b7e52775b07d1db34ed9c 538ab50c551b874aa269add047ad2d59"
           "13ac19b7cfbad4a6")},
      {"case 6", hex("90d382b410eeba7ad938c46cec1a82bf"), hex("0000432100000008"),
       hex("69d08df7d203329db093fc4924e5bd80"),
       hex("0800b5e8a80a0500a69c083d0b660e00 777777777777777777777777"), 1,
       hex("000043210000000869d08df7d203329d b093fc4924e5bd80f51995881ec4e0c4"
           "488987ce742e8109689bb379d2d750c0 d915dca346a89f75")},
      {"case 7", hex("0123456789abcdef0123456789abcdef"), hex("0000876500000002"),
       hex("f4e765244f6407adf13dc1380f673f37"),
       hex("45000054090400004001f988c0a87b03 c0a87bc808009f76a90a0100b49c083d"
           "02a2040008090a0b0c0d0e0f10111213 1415161718191a1b1c1d1e1f20212223"
           "2425262728292a2b2c2d2e2f30313233 34353637"),
       4,
       hex("0000876500000002f4e765244f6407ad f13dc1380f673f37773b5241a4c44922"
           "5e4f3ce5ed611b0c237ca96cf74a9301 3c1b0ea1a0cf70f8e4ecaec78ac53aad"
           "7a0f022b859243c647752e94a859352b 8a4d4d2decd136e5c177f132ad3fbfb2"
           "201ac9904c74ee0a109e0ca1e4dfe9d5 a100b842f1c22f0d")},
      {"case 8", hex("0123456789abcdef0123456789abcdef"), hex("0000876500000005"),
       hex("85d47224b5f3dd5d2101d4ea8dffab22"),
       hex("45000044090c00004001f990c0a87b03 c0a87bc80800d63caa0a0200c69c083d"
           "a3de0300ffffffffffffffffffffffff ffffffffffffffffffffffffffffffff"
           "ffffffff"),
       4,
       hex("000087650000000585d47224b5f3dd5d 2101d4ea8dffab2215b92683819596a8"
           "047232cc00f7048fe45318e11f8a0f62 ede3c3fc61203bb50f980a08c9843fd3"
           "a1b06d5c07ff9639b7eb7dfb3512e5de 435e7207ed971ef3d2726d9b5ef6affc"
           "6d17a0decbb13892")},
  };
}

TEST_F(AesCbc, Rfc3602Cases5To8EspPackets) {
  ASSERT_TRUE(mgr);
  const Bytes auth_key = hex("f0e1d2c3b4a5968778695a4b3c2d1e0f00112233");
  for (const auto& c : rfc3602_esp_cases()) {
    SCOPED_TRACE(c.name);
    const SaKeys k = sa(EspCipher::aes_cbc_128, EspAuth::hmac_sha1_96, c.key, auth_key);
    const Bytes plaintext = esp_plaintext(c.payload, 16, c.next_header);
    Bytes esp = esp_packet(c.spi_seq, c.iv, plaintext, 12);
    ASSERT_EQ(esp.size(), c.packet.size() + 12);
    ASSERT_TRUE(esp_len_ok(k, static_cast<std::uint32_t>(esp.size())));
    ASSERT_EQ(esp_encrypt(mgr.get(), k, esp), IMB_STATUS_COMPLETED);
    EXPECT_EQ(Bytes(esp.begin(), esp.end() - 12), c.packet);
    const Bytes mac = ossl_hmac(EspAuth::hmac_sha1_96, auth_key, c.packet.data(), c.packet.size());
    EXPECT_EQ(Bytes(esp.end() - 12, esp.end()), Bytes(mac.begin(), mac.begin() + 12));

    // Inbound: the RFC's packet with that ICV decrypts to the payload.
    Bytes in = concat({c.packet, Bytes(mac.begin(), mac.begin() + 12)});
    Bytes icv;
    ASSERT_EQ(esp_decrypt(mgr.get(), k, in, icv), IMB_STATUS_COMPLETED);
    EXPECT_TRUE(icv_equal(icv.data(), in.data() + in.size() - 12, 12));
    EXPECT_EQ(Bytes(in.begin() + 24, in.end() - 12), plaintext);
  }
}

// Whole outbound packets compared with OpenSSL doing the same steps on its
// own: AES-CBC encryption, then HMAC over header, IV and ciphertext.
void compare_with_openssl(IMB_MGR* mgr, EspCipher c, EspAuth a) {
  std::mt19937 rng(static_cast<unsigned>(c) * 31 + static_cast<unsigned>(a));
  const EVP_CIPHER* evp = c == EspCipher::aes_cbc_128 ? EVP_aes_128_cbc() : EVP_aes_256_cbc();
  const unsigned icv = icv_len(c, a);
  for (std::size_t payload_len : {0u, 1u, 14u, 40u, 63u, 500u, 1400u}) {
    SCOPED_TRACE(payload_len);
    const Bytes key = random_bytes(rng, info(c).key_len);
    const Bytes auth_key = random_bytes(rng, info(a).key_len);
    SaKeys k;
    ASSERT_TRUE(init_sa_keys(mgr, k, c, a, key, auth_key));
    const Bytes spi_seq = random_bytes(rng, 8);
    const Bytes iv = random_bytes(rng, 16);
    const Bytes plaintext = esp_plaintext(random_bytes(rng, payload_len), 16, 4);
    Bytes esp = esp_packet(spi_seq, iv, plaintext, icv);
    ASSERT_EQ(esp_encrypt(mgr, k, esp), IMB_STATUS_COMPLETED);

    Bytes expect = concat(
        {spi_seq, iv, ossl_cbc(evp, key, iv.data(), plaintext.data(), plaintext.size(), true)});
    const Bytes mac = ossl_hmac(a, auth_key, expect.data(), expect.size());
    expect.insert(expect.end(), mac.begin(), mac.begin() + icv);
    EXPECT_EQ(esp, expect);
    // And back: the ICV the inbound job computes matches, the plaintext returns.
    Bytes computed;
    ASSERT_EQ(esp_decrypt(mgr, k, esp, computed), IMB_STATUS_COMPLETED);
    EXPECT_TRUE(icv_equal(computed.data(), esp.data() + esp.size() - icv, icv));
    EXPECT_EQ(Bytes(esp.begin() + 24, esp.end() - icv), plaintext);
  }
}

TEST_F(AesCbc, Aes128Sha1_96MatchesOpenSsl) {
  ASSERT_TRUE(mgr);
  compare_with_openssl(mgr.get(), EspCipher::aes_cbc_128, EspAuth::hmac_sha1_96);
}

TEST_F(AesCbc, Aes256Sha256_128MatchesOpenSsl) {
  ASSERT_TRUE(mgr);
  compare_with_openssl(mgr.get(), EspCipher::aes_cbc_256, EspAuth::hmac_sha256_128);
}

TEST_F(AesCbc, Aes128Sha256_128MatchesOpenSsl) {
  ASSERT_TRUE(mgr);
  compare_with_openssl(mgr.get(), EspCipher::aes_cbc_128, EspAuth::hmac_sha256_128);
}

TEST_F(AesCbc, Aes256Sha256_96MatchesOpenSsl) {
  ASSERT_TRUE(mgr);
  compare_with_openssl(mgr.get(), EspCipher::aes_cbc_256, EspAuth::hmac_sha256_96);
}

TEST_F(AesCbc, Aes256Sha1_96MatchesOpenSsl) {
  ASSERT_TRUE(mgr);
  compare_with_openssl(mgr.get(), EspCipher::aes_cbc_256, EspAuth::hmac_sha1_96);
}

}  // namespace
}  // namespace l2tpgw::crypto::test
