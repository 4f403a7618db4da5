// HMAC pad precompute (hmac_pads) checked through IPsec-MB hash-only jobs
// against the RFC 2202 (HMAC-SHA1) and RFC 4231 (HMAC-SHA-256) test cases,
// in full and truncated to the ESP ICV lengths.
#include <gtest/gtest.h>

#include "tests/unit/crypto/crypto_test_util.h"

namespace l2tpgw::crypto::test {
namespace {

struct HmacCase {
  const char* name;
  Bytes key;
  Bytes data;
  Bytes digest;
};

// One hash-only HMAC job with the precomputed pads; `tag_len` bytes out.
Bytes hmac_job(IMB_MGR* mgr, EspAuth a, const Bytes& key, const Bytes& data, unsigned tag_len) {
  alignas(16) std::uint8_t ipad[32];
  alignas(16) std::uint8_t opad[32];
  EXPECT_TRUE(hmac_pads(mgr, a, key, ipad, opad));
  Bytes tag(tag_len, 0);
  const IMB_STATUS st = run_one(mgr, [&](IMB_JOB* job) {
    job->cipher_mode = IMB_CIPHER_NULL;
    job->cipher_direction = IMB_DIR_ENCRYPT;
    job->chain_order = IMB_ORDER_CIPHER_HASH;
    job->hash_alg = is_sha256(a) ? IMB_AUTH_HMAC_SHA_256 : IMB_AUTH_HMAC_SHA_1;
    job->src = data.data();
    job->dst = nullptr;
    job->cipher_start_src_offset_in_bytes = 0;
    job->msg_len_to_cipher_in_bytes = 0;
    job->hash_start_src_offset_in_bytes = 0;
    job->msg_len_to_hash_in_bytes = data.size();
    job->iv = nullptr;
    job->iv_len_in_bytes = 0;
    job->key_len_in_bytes = 0;
    job->auth_tag_output = tag.data();
    job->auth_tag_output_len_in_bytes = tag_len;
    job->u.HMAC._hashed_auth_key_xor_ipad = ipad;
    job->u.HMAC._hashed_auth_key_xor_opad = opad;
  });
  EXPECT_EQ(st, IMB_STATUS_COMPLETED);
  return tag;
}

// RFC 2202 §3, test cases 1-7.
std::vector<HmacCase> rfc2202() {
  return {
      {"1", Bytes(20, 0x0b), ascii("Hi There"), hex("b617318655057264e28bc0b6fb378c8ef146be00")},
      {"2", ascii("Jefe"), ascii("what do ya want for nothing?"),
       hex("effcdf6ae5eb2fa2d27416d5f184df9c259a7c79")},
      {"3", Bytes(20, 0xaa), Bytes(50, 0xdd), hex("125d7342b9ac11cd91a39af48aa17b4f63f175d3")},
      {"4", hex("0102030405060708090a0b0c0d0e0f10111213141516171819"), Bytes(50, 0xcd),
       hex("4c9007f4026250c6bc8414f9bf50c86c2d7235da")},
      {"5", Bytes(20, 0x0c), ascii("Test With Truncation"),
       hex("4c1a03424b55e07fe7f27be1d58bb9324a9a5a04")},
      {"6", Bytes(80, 0xaa), ascii("Test Using Larger Than Block-Size Key - Hash Key First"),
       hex("aa4ae5e15272d00e95705637ce8a3b55ed402112")},
      {"7", Bytes(80, 0xaa),
       ascii("Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data"),
       hex("e8e99d0f45237d786d6bbaa7965c7808bbff1a91")},
  };
}

// RFC 4231 §4.2-4.8, test cases 1-7 (HMAC-SHA-256 column).
std::vector<HmacCase> rfc4231() {
  return {
      {"1", Bytes(20, 0x0b), ascii("Hi There"),
       hex("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")},
      {"2", ascii("Jefe"), ascii("what do ya want for nothing?"),
       hex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")},
      {"3", Bytes(20, 0xaa), Bytes(50, 0xdd),
       hex("773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe")},
      {"4", hex("0102030405060708090a0b0c0d0e0f10111213141516171819"), Bytes(50, 0xcd),
       hex("82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b")},
      // §4.6 gives only the 128-bit truncation.
      {"5", Bytes(20, 0x0c), ascii("Test With Truncation"),
       hex("a3b6167473100ee06e0c796c2955552b")},
      {"6", Bytes(131, 0xaa), ascii("Test Using Larger Than Block-Size Key - Hash Key First"),
       hex("60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")},
      {"7", Bytes(131, 0xaa),
       ascii("This is a test using a larger than block-size key and a larger than block-size "
             "data. The key needs to be hashed before being used by the HMAC algorithm."),
       hex("9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2")},
  };
}

class Hmac : public ::testing::Test, protected MgrFixture {};

TEST_F(Hmac, Rfc2202Sha1FullAndTruncatedTo96) {
  ASSERT_TRUE(mgr);
  for (const auto& c : rfc2202()) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(hmac_job(mgr.get(), EspAuth::hmac_sha1_96, c.key, c.data, 20), c.digest);
    // RFC 2404 §2: HMAC-SHA-1-96 keeps the first 96 bits.
    EXPECT_EQ(hmac_job(mgr.get(), EspAuth::hmac_sha1_96, c.key, c.data, 12),
              Bytes(c.digest.begin(), c.digest.begin() + 12));
  }
}

TEST_F(Hmac, Rfc2202Case5Sha1_96) {
  ASSERT_TRUE(mgr);
  // RFC 2202 §3 test case 5 prints the 96-bit truncation itself.
  EXPECT_EQ(hmac_job(mgr.get(), EspAuth::hmac_sha1_96, Bytes(20, 0x0c),
                     ascii("Test With Truncation"), 12),
            hex("4c1a03424b55e07fe7f27be1"));
}

TEST_F(Hmac, Rfc4231Sha256FullAndTruncatedTo128) {
  ASSERT_TRUE(mgr);
  for (const auto& c : rfc4231()) {
    SCOPED_TRACE(c.name);
    if (c.digest.size() == 32) {
      EXPECT_EQ(hmac_job(mgr.get(), EspAuth::hmac_sha256_128, c.key, c.data, 32), c.digest);
    }
    // RFC 4868 §2.3: HMAC-SHA-256-128 keeps the first 128 bits.
    EXPECT_EQ(hmac_job(mgr.get(), EspAuth::hmac_sha256_128, c.key, c.data, 16),
              Bytes(c.digest.begin(), c.digest.begin() + 16));
  }
}

TEST_F(Hmac, SaPadsEqualStandalonePads) {
  ASSERT_TRUE(mgr);
  // init_sa_keys must store exactly the pads of hmac_pads for its auth key.
  const Bytes cipher_key(16, 0x11);
  const Bytes auth_key = hex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b");
  SaKeys k;
  ASSERT_TRUE(init_sa_keys(mgr.get(), k, EspCipher::aes_cbc_128, EspAuth::hmac_sha1_96, cipher_key,
                           auth_key));
  alignas(16) std::uint8_t ipad[32];
  alignas(16) std::uint8_t opad[32];
  ASSERT_TRUE(hmac_pads(mgr.get(), EspAuth::hmac_sha1_96, auth_key, ipad, opad));
  EXPECT_EQ(0, std::memcmp(ipad, k.hmac_ipad, 20));
  EXPECT_EQ(0, std::memcmp(opad, k.hmac_opad, 20));
  EXPECT_NE(0, std::memcmp(ipad, opad, 20));
}

TEST_F(Hmac, NoPadsWithoutAuth) {
  ASSERT_TRUE(mgr);
  std::uint8_t ipad[32];
  std::uint8_t opad[32];
  EXPECT_FALSE(hmac_pads(mgr.get(), EspAuth::none, Bytes(20, 1), ipad, opad));
}

}  // namespace
}  // namespace l2tpgw::crypto::test
