// Helpers shared by the crypto tests: hex parsing, running one job to
// completion, building ESP-shaped buffers, and OpenSSL as the independent
// reference implementation.
#pragma once

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "dataplane/crypto/esp_crypto.h"

namespace l2tpgw::crypto::test {

using Bytes = std::vector<std::uint8_t>;

inline Bytes hex(std::string_view s) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') {
      return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
      return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
      return c - 'A' + 10;
    }
    return -1;
  };
  Bytes out;
  int hi = -1;
  for (char c : s) {
    const int v = nibble(c);
    if (v < 0) {
      continue;  // spaces and line breaks as the RFCs print them
    }
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(static_cast<std::uint8_t>(hi << 4 | v));
      hi = -1;
    }
  }
  if (hi >= 0) {
    throw std::invalid_argument("odd number of hex digits");
  }
  return out;
}

inline Bytes ascii(std::string_view s) { return Bytes(s.begin(), s.end()); }

inline Bytes concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) {
    out.insert(out.end(), p.begin(), p.end());
  }
  return out;
}

inline Bytes random_bytes(std::mt19937& rng, std::size_t n) {
  Bytes out(n);
  for (auto& b : out) {
    b = static_cast<std::uint8_t>(rng());
  }
  return out;
}

// Submits one job filled by `fill` and flushes until it comes back; returns
// its status, or IMB_STATUS_INTERNAL_ERROR if another job came back instead.
template <class Fill>
IMB_STATUS run_one(IMB_MGR* mgr, Fill&& fill) {
  IMB_JOB* job = IMB_GET_NEXT_JOB(mgr);
  fill(job);
  IMB_JOB* done = IMB_SUBMIT_JOB(mgr);
  if (done == nullptr) {
    done = IMB_FLUSH_JOB(mgr);
  }
  if (done != job) {
    return IMB_STATUS_INTERNAL_ERROR;
  }
  const IMB_STATUS st = done->status;
  return IMB_FLUSH_JOB(mgr) == nullptr ? st : IMB_STATUS_INTERNAL_ERROR;
}

// The room past the ICV the job may write (SaKeys::tag_spill), as the data
// plane's tailroom gives it; the packet keeps its own length.
inline IMB_STATUS esp_encrypt(IMB_MGR* mgr, const SaKeys& k, Bytes& esp) {
  JobScratch scratch;
  const auto len = static_cast<std::uint32_t>(esp.size());
  esp.resize(len + k.tag_spill);
  const auto st = run_one(mgr, [&](IMB_JOB* job) {
    fill_esp_encrypt_job(job, k, esp.data(), len, scratch);
  });
  esp.resize(len);
  return st;
}

inline IMB_STATUS esp_decrypt(IMB_MGR* mgr, const SaKeys& k, Bytes& esp, Bytes& icv) {
  JobScratch scratch;
  icv.assign(k.icv_len + k.tag_spill, 0);
  return run_one(mgr, [&](IMB_JOB* job) {
    fill_esp_decrypt_job(job, k, esp.data(), static_cast<std::uint32_t>(esp.size()), icv.data(),
                         scratch);
  });
}

// ESP payload with the default padding of RFC 4303 §2.4 (1, 2, 3, ...), pad
// length and next header, aligned to `block` (at least 4).
inline Bytes esp_plaintext(const Bytes& payload, unsigned block, std::uint8_t next_header) {
  const unsigned align = block < 4 ? 4 : block;
  const unsigned pad = static_cast<unsigned>((align - (payload.size() + 2) % align) % align);
  Bytes out = payload;
  for (unsigned i = 1; i <= pad; ++i) {
    out.push_back(static_cast<std::uint8_t>(i));
  }
  out.push_back(static_cast<std::uint8_t>(pad));
  out.push_back(next_header);
  return out;
}

// SPI || seq || IV || plaintext || zeroed room for the ICV.
inline Bytes esp_packet(const Bytes& spi_seq, const Bytes& iv, const Bytes& plaintext,
                        unsigned icv_len) {
  Bytes out = concat({spi_seq, iv, plaintext});
  out.resize(out.size() + icv_len, 0);
  return out;
}

// ---- OpenSSL references ----

inline Bytes ossl_hmac(EspAuth a, const Bytes& key, const std::uint8_t* data, std::size_t len) {
  const EVP_MD* md = is_sha256(a) ? EVP_sha256() : EVP_sha1();
  Bytes out(EVP_MAX_MD_SIZE);
  unsigned out_len = 0;
  if (HMAC(md, key.data(), static_cast<int>(key.size()), data, len, out.data(), &out_len) ==
      nullptr) {
    throw std::runtime_error("HMAC failed");
  }
  out.resize(out_len);
  return out;
}

// CBC without padding, one shot.
inline Bytes ossl_cbc(const EVP_CIPHER* cipher, const Bytes& key, const std::uint8_t* iv,
                      const std::uint8_t* data, std::size_t len, bool encrypt) {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  Bytes out(len + 32);
  int n1 = 0;
  int n2 = 0;
  const bool ok = EVP_CipherInit_ex(ctx, cipher, nullptr, key.data(), iv, encrypt ? 1 : 0) == 1 &&
                  EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 &&
                  EVP_CipherUpdate(ctx, out.data(), &n1, data, static_cast<int>(len)) == 1 &&
                  EVP_CipherFinal_ex(ctx, out.data() + n1, &n2) == 1;
  EVP_CIPHER_CTX_free(ctx);
  if (!ok) {
    throw std::runtime_error("OpenSSL CBC failed");
  }
  out.resize(static_cast<std::size_t>(n1 + n2));
  return out;
}

// AES-GCM encryption: ciphertext || 16-byte tag.
inline Bytes ossl_gcm_seal(const Bytes& key, const Bytes& nonce, const Bytes& aad,
                           const Bytes& plaintext) {
  const EVP_CIPHER* cipher = key.size() == 16 ? EVP_aes_128_gcm() : EVP_aes_256_gcm();
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  Bytes out(plaintext.size() + 16);
  int n = 0;
  int fin = 0;
  bool ok = EVP_EncryptInit_ex(ctx, cipher, nullptr, nullptr, nullptr) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(nonce.size()),
                                nullptr) == 1 &&
            EVP_EncryptInit_ex(ctx, nullptr, nullptr, key.data(), nonce.data()) == 1 &&
            EVP_EncryptUpdate(ctx, nullptr, &n, aad.data(), static_cast<int>(aad.size())) == 1;
  if (ok && !plaintext.empty()) {
    ok = EVP_EncryptUpdate(ctx, out.data(), &n, plaintext.data(),
                           static_cast<int>(plaintext.size())) == 1;
  }
  ok = ok && EVP_EncryptFinal_ex(ctx, out.data() + plaintext.size(), &fin) == 1 &&
       EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, out.data() + plaintext.size()) == 1;
  EVP_CIPHER_CTX_free(ctx);
  if (!ok) {
    throw std::runtime_error("OpenSSL GCM failed");
  }
  return out;
}

struct MgrFixture {
  MgrPtr mgr = make_mgr();
};

}  // namespace l2tpgw::crypto::test
