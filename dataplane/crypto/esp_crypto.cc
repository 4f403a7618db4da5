#include "dataplane/crypto/esp_crypto.h"

#include <openssl/crypto.h>

#include <cstring>

namespace l2tpgw::crypto {

namespace {

constexpr std::uint8_t ipad_byte = 0x36;  // RFC 2104 §2
constexpr std::uint8_t opad_byte = 0x5c;
constexpr unsigned sha1_digest_len = 20;
constexpr unsigned sha256_digest_len = 32;

IMB_HASH_ALG hmac_alg(EspAuth a) noexcept {
  return is_sha256(a) ? IMB_AUTH_HMAC_SHA_256 : IMB_AUTH_HMAC_SHA_1;
}

// The IPsec-MB cipher key length of a transform: the key material less the
// AEAD salt (3DES counts all three DES keys).
unsigned cipher_key_len(EspCipher c) noexcept { return info(c).key_len - info(c).salt_len; }

// The fields both directions share: buffers, offsets and lengths of the
// cipher and the integrity check.
void fill_common(IMB_JOB* job, const SaKeys& k, std::uint8_t* esp, std::uint32_t esp_len,
                 JobScratch& scratch) noexcept {
  const unsigned iv_len = k.iv_len;
  const unsigned cipher_offset = esp_header_len + iv_len;
  const std::uint32_t cipher_len = esp_len - cipher_offset - k.icv_len;

  job->src = esp;
  // IPsec-MB writes cipher output at dst itself, not at dst + offset.
  job->dst = esp + cipher_offset;
  job->cipher_start_src_offset_in_bytes = cipher_offset;
  job->msg_len_to_cipher_in_bytes = cipher_len;
  job->key_len_in_bytes = k.key_len;
  job->auth_tag_output_len_in_bytes = k.icv_len + k.tag_spill;

  switch (k.cipher) {
    case EspCipher::aes_gcm_128:
    case EspCipher::aes_gcm_256: {
      // RFC 4106 §4: nonce = salt || explicit IV; §5: AAD = SPI || 32-bit
      // sequence number (no ESN), and only the ciphertext is hashed.
      std::memcpy(scratch.bytes, k.gcm_salt, gcm_salt_len);
      std::memcpy(scratch.bytes + gcm_salt_len, esp + esp_header_len, 8);
      job->cipher_mode = IMB_CIPHER_GCM;
      job->hash_alg = IMB_AUTH_AES_GMAC;
      job->enc_keys = &k.keys.gcm;
      job->dec_keys = &k.keys.gcm;
      job->iv = scratch.bytes;
      job->iv_len_in_bytes = gcm_nonce_len;
      job->u.GCM.aad = esp;
      job->u.GCM.aad_len_in_bytes = esp_header_len;
      job->u.GCM.ctx = nullptr;
      job->hash_start_src_offset_in_bytes = cipher_offset;
      job->msg_len_to_hash_in_bytes = cipher_len;
      return;
    }
    case EspCipher::aes_cbc_128:
    case EspCipher::aes_cbc_256:
      job->cipher_mode = IMB_CIPHER_CBC;
      job->enc_keys = k.keys.aes.enc;
      job->dec_keys = k.keys.aes.dec;
      break;
    case EspCipher::des3_cbc: {
      // The schedules live in the SA; only their addresses, which depend on
      // where this copy of the SA sits, go into the per-job scratch.
      const void* table[3] = {k.keys.des3[0], k.keys.des3[1], k.keys.des3[2]};
      static_assert(sizeof(table) <= sizeof(scratch.bytes));
      std::memcpy(scratch.bytes, table, sizeof(table));
      job->cipher_mode = IMB_CIPHER_DES3;
      job->enc_keys = scratch.bytes;
      job->dec_keys = scratch.bytes;
      break;
    }
  }
  // CBC: the IV is carried in the packet (RFC 3602 §3, RFC 2451 §3); the ICV
  // covers header, IV and ciphertext (RFC 4303 §3.3.2).
  job->iv = esp + esp_header_len;
  job->iv_len_in_bytes = iv_len;
  job->hash_alg = hmac_alg(k.auth);
  job->u.HMAC._hashed_auth_key_xor_ipad = k.hmac_ipad;
  job->u.HMAC._hashed_auth_key_xor_opad = k.hmac_opad;
  job->hash_start_src_offset_in_bytes = 0;
  job->msg_len_to_hash_in_bytes = esp_len - k.icv_len;
}

}  // namespace

bool hmac_pads(IMB_MGR* mgr, EspAuth a, std::span<const std::uint8_t> key, std::uint8_t* ipad_out,
               std::uint8_t* opad_out) noexcept {
  if (a == EspAuth::none) {
    return false;
  }
  const bool sha256 = is_sha256(a);
  alignas(16) std::uint8_t k0[hmac_block_len] = {};
  if (key.size() > hmac_block_len) {
    if (sha256) {
      IMB_SHA256(mgr, key.data(), key.size(), k0);
    } else {
      IMB_SHA1(mgr, key.data(), key.size(), k0);
    }
  } else if (!key.empty()) {
    std::memcpy(k0, key.data(), key.size());
  }
  alignas(16) std::uint8_t block[hmac_block_len];
  for (unsigned i = 0; i < hmac_block_len; ++i) {
    block[i] = k0[i] ^ ipad_byte;
  }
  if (sha256) {
    IMB_SHA256_ONE_BLOCK(mgr, block, ipad_out);
  } else {
    IMB_SHA1_ONE_BLOCK(mgr, block, ipad_out);
  }
  for (unsigned i = 0; i < hmac_block_len; ++i) {
    block[i] = k0[i] ^ opad_byte;
  }
  if (sha256) {
    IMB_SHA256_ONE_BLOCK(mgr, block, opad_out);
  } else {
    IMB_SHA1_ONE_BLOCK(mgr, block, opad_out);
  }
  OPENSSL_cleanse(k0, sizeof(k0));
  OPENSSL_cleanse(block, sizeof(block));
  return true;
}

bool init_sa_keys(IMB_MGR* mgr, SaKeys& out, EspCipher c, EspAuth a,
                  std::span<const std::uint8_t> cipher_key,
                  std::span<const std::uint8_t> auth_key) noexcept {
  wipe(out);
  if (!valid_pair(c, a) || cipher_key.size() != info(c).key_len ||
      auth_key.size() != info(a).key_len) {
    return false;
  }
  const auto ci = info(c);
  out.cipher = c;
  out.auth = a;
  out.iv_len = ci.iv_len;
  out.block_len = ci.block_len;
  out.icv_len = icv_len(c, a);
  out.tag_spill = a == EspAuth::hmac_sha256_96 ? 4 : 0;
  out.key_len = static_cast<std::uint8_t>(cipher_key_len(c));

  const std::uint8_t* key = cipher_key.data();
  switch (c) {
    case EspCipher::aes_cbc_128:
      IMB_AES_KEYEXP_128(mgr, key, out.keys.aes.enc, out.keys.aes.dec);
      break;
    case EspCipher::aes_cbc_256:
      IMB_AES_KEYEXP_256(mgr, key, out.keys.aes.enc, out.keys.aes.dec);
      break;
    case EspCipher::aes_gcm_128:
      IMB_AES128_GCM_PRE(mgr, key, &out.keys.gcm);
      std::memcpy(out.gcm_salt, key + out.key_len, gcm_salt_len);
      break;
    case EspCipher::aes_gcm_256:
      IMB_AES256_GCM_PRE(mgr, key, &out.keys.gcm);
      std::memcpy(out.gcm_salt, key + out.key_len, gcm_salt_len);
      break;
    case EspCipher::des3_cbc:
      for (unsigned i = 0; i < 3; ++i) {
        if (IMB_DES_KEYSCHED(mgr, out.keys.des3[i], key + 8 * i) != 0) {
          wipe(out);
          return false;
        }
      }
      break;
  }
  if (a != EspAuth::none) {
    hmac_pads(mgr, a, auth_key, out.hmac_ipad, out.hmac_opad);
  }
  return true;
}

void wipe(SaKeys& k) noexcept { OPENSSL_cleanse(&k, sizeof(k)); }

bool esp_len_ok(const SaKeys& k, std::uint32_t esp_len) noexcept {
  const std::uint32_t overhead = esp_header_len + k.iv_len + k.icv_len;
  if (esp_len < overhead + 2) {
    return false;
  }
  const std::uint32_t cipher_len = esp_len - overhead;
  const unsigned align = k.block_len < 4 ? 4 : k.block_len;
  return cipher_len % align == 0;
}

void fill_esp_decrypt_job(IMB_JOB* job, const SaKeys& k, std::uint8_t* esp, std::uint32_t esp_len,
                          std::uint8_t* icv_out, JobScratch& scratch) noexcept {
  fill_common(job, k, esp, esp_len, scratch);
  // Hash the ciphertext before it is decrypted in place.
  job->cipher_direction = IMB_DIR_DECRYPT;
  job->chain_order = IMB_ORDER_HASH_CIPHER;
  job->auth_tag_output = icv_out;
}

void fill_esp_encrypt_job(IMB_JOB* job, const SaKeys& k, std::uint8_t* esp, std::uint32_t esp_len,
                          JobScratch& scratch) noexcept {
  fill_common(job, k, esp, esp_len, scratch);
  // Encrypt, then authenticate the ciphertext (RFC 4303 §3.3.2).
  job->cipher_direction = IMB_DIR_ENCRYPT;
  job->chain_order = IMB_ORDER_CIPHER_HASH;
  job->auth_tag_output = esp + esp_len - k.icv_len;
}

bool icv_equal(const std::uint8_t* a, const std::uint8_t* b, unsigned len) noexcept {
  return CRYPTO_memcmp(a, b, len) == 0;
}

void MgrDeleter::operator()(IMB_MGR* m) const noexcept { free_mb_mgr(m); }

MgrPtr make_mgr() noexcept {
  MgrPtr mgr(alloc_mb_mgr(0));
  if (!mgr) {
    return nullptr;
  }
  init_mb_mgr_auto(mgr.get(), nullptr);
  if (imb_get_errno(mgr.get()) != 0) {
    return nullptr;
  }
  return mgr;
}

}  // namespace l2tpgw::crypto
