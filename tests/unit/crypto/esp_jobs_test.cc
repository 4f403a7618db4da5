// The job builders as the data plane uses them: key set-up rules, round
// trips for every transform, tamper detection, length checks, and many jobs
// in flight coming back in submission order.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>

#include "tests/unit/crypto/crypto_test_util.h"

namespace l2tpgw::crypto::test {
namespace {

class EspJobs : public ::testing::Test, protected MgrFixture {};

struct Transform {
  EspCipher cipher;
  EspAuth auth;
};

std::vector<Transform> valid_transforms() {
  std::vector<Transform> out;
  for (auto c : all_ciphers) {
    for (auto a : all_auths) {
      if (valid_pair(c, a)) {
        out.push_back({c, a});
      }
    }
  }
  return out;
}

std::string label(const Transform& t) {
  return std::string(info(t.cipher).name) + "/" + std::string(info(t.auth).name);
}

SaKeys random_sa(IMB_MGR* mgr, std::mt19937& rng, const Transform& t) {
  SaKeys k;
  const Bytes key = random_bytes(rng, info(t.cipher).key_len);
  const Bytes auth_key = random_bytes(rng, info(t.auth).key_len);
  EXPECT_TRUE(init_sa_keys(mgr, k, t.cipher, t.auth, key, auth_key));
  return k;
}

// An outbound packet ready for encryption: random header and IV, payload
// padded per RFC 4303 §2.4 to the SA's block.
Bytes outbound(std::mt19937& rng, const SaKeys& k, std::size_t payload_len, Bytes* plaintext) {
  const Bytes pt = esp_plaintext(random_bytes(rng, payload_len), k.block_len, 4);
  if (plaintext != nullptr) {
    *plaintext = pt;
  }
  return esp_packet(random_bytes(rng, 8), random_bytes(rng, k.iv_len), pt, k.icv_len);
}

TEST_F(EspJobs, ValidPairsCount) {
  // 2 AES-CBC × 3 HMAC + 3DES × 3 HMAC + 2 AES-GCM alone.
  EXPECT_EQ(valid_transforms().size(), 11u);
}

TEST_F(EspJobs, RejectsInvalidPairsAndKeyLengths) {
  ASSERT_TRUE(mgr);
  SaKeys k;
  const Bytes k16(16, 1);
  const Bytes k20(20, 2);
  const Bytes k32(32, 3);
  // RFC 4303 §3.2: no confidentiality without integrity; AEAD takes no HMAC.
  EXPECT_FALSE(init_sa_keys(mgr.get(), k, EspCipher::aes_cbc_128, EspAuth::none, k16, {}));
  EXPECT_FALSE(init_sa_keys(mgr.get(), k, EspCipher::aes_gcm_128, EspAuth::hmac_sha1_96, k20, k20));
  // Wrong cipher key lengths.
  EXPECT_FALSE(init_sa_keys(mgr.get(), k, EspCipher::aes_cbc_128, EspAuth::hmac_sha1_96, k32, k20));
  EXPECT_FALSE(init_sa_keys(mgr.get(), k, EspCipher::aes_cbc_256, EspAuth::hmac_sha1_96, k16, k20));
  EXPECT_FALSE(
      init_sa_keys(mgr.get(), k, EspCipher::aes_gcm_128, EspAuth::none, k16, {}));  // no salt
  EXPECT_FALSE(init_sa_keys(mgr.get(), k, EspCipher::des3_cbc, EspAuth::hmac_sha1_96, k16, k20));
  // Wrong HMAC key lengths (RFC 2404 §3: 160 bits; RFC 4868 §2.1.1: 256 bits).
  EXPECT_FALSE(init_sa_keys(mgr.get(), k, EspCipher::aes_cbc_128, EspAuth::hmac_sha1_96, k16, k16));
  EXPECT_FALSE(
      init_sa_keys(mgr.get(), k, EspCipher::aes_cbc_128, EspAuth::hmac_sha256_128, k16, k20));
  EXPECT_TRUE(
      init_sa_keys(mgr.get(), k, EspCipher::aes_cbc_128, EspAuth::hmac_sha256_128, k16, k32));
}

TEST_F(EspJobs, WipeZeroesEverything) {
  ASSERT_TRUE(mgr);
  std::mt19937 rng(1);
  SaKeys k = random_sa(mgr.get(), rng, {EspCipher::aes_gcm_256, EspAuth::none});
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(&k);
  bool any = false;
  for (std::size_t i = 0; i < sizeof(k); ++i) {
    any |= bytes[i] != 0;
  }
  ASSERT_TRUE(any);
  wipe(k);
  for (std::size_t i = 0; i < sizeof(k); ++i) {
    ASSERT_EQ(bytes[i], 0) << i;
  }
}

TEST_F(EspJobs, RoundTripEveryTransform) {
  ASSERT_TRUE(mgr);
  std::mt19937 rng(2);
  for (const auto& t : valid_transforms()) {
    for (std::size_t len : {0u, 1u, 2u, 15u, 16u, 17u, 64u, 100u, 512u, 1400u, 1480u}) {
      SCOPED_TRACE(label(t) + " payload " + std::to_string(len));
      const SaKeys k = random_sa(mgr.get(), rng, t);
      Bytes plaintext;
      Bytes esp = outbound(rng, k, len, &plaintext);
      const Bytes before = esp;
      ASSERT_TRUE(esp_len_ok(k, static_cast<std::uint32_t>(esp.size())));
      ASSERT_EQ(esp_encrypt(mgr.get(), k, esp), IMB_STATUS_COMPLETED);
      // Header and IV untouched, ciphertext differs from the plaintext.
      const unsigned hdr = esp_header_len + k.iv_len;
      EXPECT_TRUE(std::equal(before.begin(), before.begin() + hdr, esp.begin()));
      EXPECT_NE(Bytes(esp.begin() + hdr, esp.end() - k.icv_len), plaintext);

      Bytes icv;
      ASSERT_EQ(esp_decrypt(mgr.get(), k, esp, icv), IMB_STATUS_COMPLETED);
      EXPECT_TRUE(icv_equal(icv.data(), esp.data() + esp.size() - k.icv_len, k.icv_len));
      EXPECT_EQ(Bytes(esp.begin() + hdr, esp.end() - k.icv_len), plaintext);
    }
  }
}

TEST_F(EspJobs, AnyFlippedBitFailsTheIcv) {
  ASSERT_TRUE(mgr);
  std::mt19937 rng(3);
  for (const auto& t : valid_transforms()) {
    SCOPED_TRACE(label(t));
    const SaKeys k = random_sa(mgr.get(), rng, t);
    Bytes sealed = outbound(rng, k, 77, nullptr);
    ASSERT_EQ(esp_encrypt(mgr.get(), k, sealed), IMB_STATUS_COMPLETED);
    const std::size_t icv_at = sealed.size() - k.icv_len;
    // SPI, sequence number, IV, first and last ciphertext byte, ICV.
    const std::size_t positions[] = {
        0, 5, esp_header_len, esp_header_len + k.iv_len, icv_at - 1, icv_at, sealed.size() - 1};
    for (std::size_t pos : positions) {
      for (unsigned bit : {0u, 7u}) {
        SCOPED_TRACE("byte " + std::to_string(pos) + " bit " + std::to_string(bit));
        Bytes esp = sealed;
        esp[pos] ^= static_cast<std::uint8_t>(1u << bit);
        Bytes icv;
        ASSERT_EQ(esp_decrypt(mgr.get(), k, esp, icv), IMB_STATUS_COMPLETED);
        EXPECT_FALSE(icv_equal(icv.data(), esp.data() + icv_at, k.icv_len));
      }
    }
    // And the untouched packet still verifies.
    Bytes esp = sealed;
    Bytes icv;
    ASSERT_EQ(esp_decrypt(mgr.get(), k, esp, icv), IMB_STATUS_COMPLETED);
    EXPECT_TRUE(icv_equal(icv.data(), esp.data() + icv_at, k.icv_len));
  }
}

TEST_F(EspJobs, IcvEqual) {
  const Bytes a = hex("00112233445566778899aabbccddeeff");
  Bytes b = a;
  EXPECT_TRUE(icv_equal(a.data(), b.data(), 16));
  b[15] ^= 0x80;
  EXPECT_FALSE(icv_equal(a.data(), b.data(), 16));
  EXPECT_TRUE(icv_equal(a.data(), b.data(), 15));
  b = a;
  b[0] ^= 1;
  EXPECT_FALSE(icv_equal(a.data(), b.data(), 12));
}

TEST_F(EspJobs, LengthRules) {
  ASSERT_TRUE(mgr);
  std::mt19937 rng(4);
  const SaKeys cbc = random_sa(mgr.get(), rng, {EspCipher::aes_cbc_128, EspAuth::hmac_sha1_96});
  // 8 + 16 + 16n + 12.
  EXPECT_FALSE(esp_len_ok(cbc, 0));
  EXPECT_FALSE(esp_len_ok(cbc, 8 + 16 + 12));  // no ciphertext
  EXPECT_TRUE(esp_len_ok(cbc, 8 + 16 + 16 + 12));
  EXPECT_FALSE(esp_len_ok(cbc, 8 + 16 + 20 + 12));  // not whole AES blocks
  EXPECT_TRUE(esp_len_ok(cbc, 8 + 16 + 96 + 12));
  const SaKeys des = random_sa(mgr.get(), rng, {EspCipher::des3_cbc, EspAuth::hmac_sha256_128});
  EXPECT_TRUE(esp_len_ok(des, 8 + 8 + 8 + 16));
  EXPECT_FALSE(esp_len_ok(des, 8 + 8 + 12 + 16));
  const SaKeys gcm = random_sa(mgr.get(), rng, {EspCipher::aes_gcm_128, EspAuth::none});
  EXPECT_TRUE(esp_len_ok(gcm, 8 + 8 + 4 + 16));  // RFC 4303 §2.4: 4-byte alignment
  EXPECT_FALSE(esp_len_ok(gcm, 8 + 8 + 6 + 16));
  EXPECT_FALSE(esp_len_ok(gcm, 8 + 8 + 16 - 1));
}

// A worker submits a whole burst (GET_NEXT_JOB / fill / SUBMIT_JOB per
// packet, FLUSH_JOB at the end) and maps each returned job to its packet.
// That relies on jobs coming back in submission order, whatever mix of
// transforms and lengths the burst holds; more jobs than the manager's queue
// holds make it wrap.
TEST_F(EspJobs, ManyJobsInFlightComeBackInOrder) {
  ASSERT_TRUE(mgr);
  std::mt19937 rng(5);
  const auto transforms = valid_transforms();
  std::vector<SaKeys> sas;
  for (const auto& t : transforms) {
    sas.push_back(random_sa(mgr.get(), rng, t));
  }
  constexpr std::size_t n = 300;
  const std::size_t lens[] = {0, 40, 64, 200, 512, 1000, 1400};
  for (bool encrypt : {true, false}) {
    SCOPED_TRACE(encrypt ? "encrypt" : "decrypt");
    std::vector<Bytes> packets(n);
    std::vector<Bytes> expect(n);
    std::vector<Bytes> icvs(n, Bytes(16, 0));
    std::vector<JobScratch> scratch(n);
    std::vector<std::size_t> sa_of(n);
    for (std::size_t i = 0; i < n; ++i) {
      sa_of[i] = (i * 7 + i / 5) % sas.size();
      const SaKeys& k = sas[sa_of[i]];
      Bytes plaintext;
      packets[i] = outbound(rng, k, lens[(i * 3) % std::size(lens)], &plaintext);
      if (encrypt) {
        // One at a time, as the reference for the burst.
        expect[i] = packets[i];
        ASSERT_EQ(esp_encrypt(mgr.get(), k, expect[i]), IMB_STATUS_COMPLETED);
      } else {
        ASSERT_EQ(esp_encrypt(mgr.get(), k, packets[i]), IMB_STATUS_COMPLETED);
        expect[i] = concat({Bytes(packets[i].begin(), packets[i].begin() + 8 + k.iv_len), plaintext,
                            Bytes(packets[i].end() - k.icv_len, packets[i].end())});
      }
    }

    std::vector<std::size_t> order;
    std::size_t max_in_flight = 0;
    auto retire = [&](IMB_JOB* done) {
      for (; done != nullptr; done = IMB_GET_COMPLETED_JOB(mgr.get())) {
        EXPECT_EQ(done->status, IMB_STATUS_COMPLETED);
        order.push_back(reinterpret_cast<std::uintptr_t>(done->user_data));
      }
    };
    for (std::size_t i = 0; i < n; ++i) {
      IMB_JOB* job = IMB_GET_NEXT_JOB(mgr.get());
      const SaKeys& k = sas[sa_of[i]];
      auto len = static_cast<std::uint32_t>(packets[i].size());
      if (encrypt) {
        fill_esp_encrypt_job(job, k, packets[i].data(), len, scratch[i]);
      } else {
        fill_esp_decrypt_job(job, k, packets[i].data(), len, icvs[i].data(), scratch[i]);
      }
      job->user_data = reinterpret_cast<void*>(static_cast<std::uintptr_t>(i));
      retire(IMB_SUBMIT_JOB(mgr.get()));
      max_in_flight = std::max(max_in_flight, i + 1 - order.size());
    }
    for (IMB_JOB* done = IMB_FLUSH_JOB(mgr.get()); done != nullptr;
         done = IMB_FLUSH_JOB(mgr.get())) {
      retire(done);
    }
    ASSERT_EQ(order.size(), n);
    // The point of the exercise: the manager did hold several jobs at once.
    EXPECT_GT(max_in_flight, 8u);
    for (std::size_t i = 0; i < n; ++i) {
      ASSERT_EQ(order[i], i);
    }
    for (std::size_t i = 0; i < n; ++i) {
      SCOPED_TRACE(i);
      EXPECT_EQ(packets[i], expect[i]);
      if (!encrypt) {
        const SaKeys& k = sas[sa_of[i]];
        EXPECT_TRUE(icv_equal(icvs[i].data(), packets[i].data() + packets[i].size() - k.icv_len,
                              k.icv_len));
      }
    }
  }
}

}  // namespace
}  // namespace l2tpgw::crypto::test
