// The RFC 2409 key schedule for every hash, against hashlib/hmac in
// gen_vectors.py with the same fixed inputs.
#include "controlplane/ike/keys.h"

#include <gtest/gtest.h>

#include "tests/unit/ike/test_util.h"
#include "tests/unit/ike/vectors.h"

namespace l2tpgw::ike {
namespace {

using test::hex;
using test::to_hex;

struct Expect {
  Hash hash;
  const char *skeyid, *skeyid_sig, *d, *a, *e, *enc128, *enc256, *enc3des, *iv_aes, *iv_3des,
      *hash_i, *hash_r, *p2_iv, *qm1, *qm2, *qm3, *keymat, *keymat_pfs;
};

#define L2TPGW_IKE_EXPECT(h, H)                                                                  \
  Expect {                                                                                       \
    Hash::H, vec::h##_skeyid, vec::h##_skeyid_sig, vec::h##_skeyid_d, vec::h##_skeyid_a,         \
        vec::h##_skeyid_e, vec::h##_enc_aes128, vec::h##_enc_aes256, vec::h##_enc_des3,          \
        vec::h##_iv_aes, vec::h##_iv_des3, vec::h##_hash_i, vec::h##_hash_r, vec::h##_p2_iv_aes, \
        vec::h##_qm_hash1, vec::h##_qm_hash2, vec::h##_qm_hash3, vec::h##_keymat,                \
        vec::h##_keymat_pfs                                                                      \
  }

const Expect expects[] = {L2TPGW_IKE_EXPECT(md5, md5), L2TPGW_IKE_EXPECT(sha1, sha1),
                          L2TPGW_IKE_EXPECT(sha256, sha256), L2TPGW_IKE_EXPECT(sha384, sha384),
                          L2TPGW_IKE_EXPECT(sha512, sha512)};

const auto icky = hex("0102030405060708");
const auto rcky = hex("a1a2a3a4a5a6a7a8");

TEST(Keys, Phase1ScheduleEveryHash) {
  const auto psk = hex(vec::in_psk), ni = hex(vec::in_ni), nr = hex(vec::in_nr);
  const auto gxy = hex(vec::in_gxy), gxi = hex(vec::in_gxi), gxr = hex(vec::in_gxr);
  for (const auto& x : expects) {
    SCOPED_TRACE(std::string(name(x.hash)));
    auto skeyid = skeyid_psk(x.hash, psk, ni, nr);
    EXPECT_EQ(to_hex(skeyid), x.skeyid);
    EXPECT_EQ(to_hex(skeyid_sig(x.hash, ni, nr, gxy)), x.skeyid_sig);
    const auto k = derive_phase1(x.hash, {Cipher::aes_cbc, 256}, skeyid, gxy, icky, rcky, gxi, gxr);
    EXPECT_EQ(to_hex(k.skeyid), x.skeyid);
    EXPECT_EQ(to_hex(k.skeyid_d), x.d);
    EXPECT_EQ(to_hex(k.skeyid_a), x.a);
    EXPECT_EQ(to_hex(k.skeyid_e), x.e);
    EXPECT_EQ(to_hex(k.enc_key), x.enc256);
    EXPECT_EQ(to_hex(k.iv), x.iv_aes);
    EXPECT_EQ(to_hex(phase1_enc_key(x.hash, k.skeyid_e, 16)), x.enc128);
    const auto k3 =
        derive_phase1(x.hash, {Cipher::des3_cbc, 192}, skeyid, gxy, icky, rcky, gxi, gxr);
    EXPECT_EQ(to_hex(k3.enc_key), x.enc3des);
    EXPECT_EQ(to_hex(k3.iv), x.iv_3des);
  }
}

TEST(Keys, AuthenticationHashes) {
  const auto gxi = hex(vec::in_gxi), gxr = hex(vec::in_gxr), sai = hex(vec::in_sai);
  const auto idii = hex(vec::in_idii), idir = hex(vec::in_idir);
  for (const auto& x : expects) {
    SCOPED_TRACE(std::string(name(x.hash)));
    const auto skeyid = hex(x.skeyid);
    const auto hi = hash_i(x.hash, skeyid, gxi, gxr, icky, rcky, sai, idii);
    EXPECT_EQ(to_hex(hi), x.hash_i);
    EXPECT_EQ(to_hex(hash_r(x.hash, skeyid, gxi, gxr, icky, rcky, sai, idir)), x.hash_r);
    EXPECT_TRUE(mac_equal(hi, hex(x.hash_i)));
    auto wrong = hex(x.hash_i);
    wrong.back() ^= 0x80;
    EXPECT_FALSE(mac_equal(hi, wrong));
    EXPECT_FALSE(mac_equal(hi, Span(hex(x.hash_i)).first(hi.size() - 1)));
  }
}

TEST(Keys, QuickModeHashesIvAndKeymat) {
  const auto ni = hex(vec::in_ni), nr = hex(vec::in_nr), after = hex(vec::in_after);
  const auto last = hex(vec::in_last_block), qm_gxy = hex(vec::in_qm_gxy);
  for (const auto& x : expects) {
    SCOPED_TRACE(std::string(name(x.hash)));
    const auto a = hex(x.a), d = hex(x.d);
    EXPECT_EQ(to_hex(phase2_iv(x.hash, last, vec::in_mid, 16)), x.p2_iv);
    EXPECT_EQ(to_hex(qm_hash1(x.hash, a, vec::in_mid, after)), x.qm1);
    EXPECT_EQ(to_hex(informational_hash(x.hash, a, vec::in_mid, after)), x.qm1);
    EXPECT_EQ(to_hex(qm_hash2(x.hash, a, vec::in_mid, ni, after)), x.qm2);
    EXPECT_EQ(to_hex(qm_hash3(x.hash, a, vec::in_mid, ni, nr)), x.qm3);
    EXPECT_EQ(to_hex(keymat(x.hash, d, {}, 3, vec::in_spi, ni, nr, 64)), x.keymat);
    EXPECT_EQ(to_hex(keymat(x.hash, d, qm_gxy, 3, vec::in_spi, ni, nr, 64)), x.keymat_pfs);
    // Shorter requests are prefixes (AES-128 + HMAC-SHA1 = 36 bytes).
    EXPECT_EQ(to_hex(keymat(x.hash, d, {}, 3, vec::in_spi, ni, nr, 36)),
              std::string(x.keymat).substr(0, 72));
  }
}

TEST(Keys, EspKeysSplitKeymat) {
  const auto ni = hex(vec::in_ni), nr = hex(vec::in_nr), qm_gxy = hex(vec::in_qm_gxy);
  const std::string km = vec::sha1_keymat_pfs;
  const auto d = hex(vec::sha1_skeyid_d);
  auto k = esp_keys(Hash::sha1, d, qm_gxy, vec::in_spi, ni, nr, EspCipher::aes_cbc_256,
                    EspAuth::hmac_sha1_96);
  EXPECT_EQ(to_hex(k.enc), km.substr(0, 64));
  EXPECT_EQ(to_hex(k.auth), km.substr(64, 40));
  k = esp_keys(Hash::sha1, d, qm_gxy, vec::in_spi, ni, nr, EspCipher::des3_cbc,
               EspAuth::hmac_sha256_128);
  EXPECT_EQ(to_hex(k.enc), km.substr(0, 48));
  EXPECT_EQ(to_hex(k.auth), km.substr(48, 64));
}

}  // namespace
}  // namespace l2tpgw::ike
