#include "controlplane/ike/keys.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <memory>
#include <stdexcept>

namespace l2tpgw::ike {

namespace {

const EVP_MD* md(Hash h) {
  switch (h) {
    case Hash::md5:
      return EVP_md5();
    case Hash::sha1:
      return EVP_sha1();
    case Hash::sha256:
      return EVP_sha256();
    case Hash::sha384:
      return EVP_sha384();
    case Hash::sha512:
      return EVP_sha512();
  }
  return nullptr;
}

std::array<std::uint8_t, 4> be32(std::uint32_t v) {
  return {static_cast<std::uint8_t>(v >> 24), static_cast<std::uint8_t>(v >> 16),
          static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)};
}

struct MacCtxFree {
  void operator()(EVP_MAC_CTX* c) const noexcept { EVP_MAC_CTX_free(c); }
};
struct MacFree {
  void operator()(EVP_MAC* m) const noexcept { EVP_MAC_free(m); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};

}  // namespace

// OpenSSL failing on a digest it ships is a broken installation, not a
// peer's doing: it is reported as an exception at the exchange boundary.
SecretBytes prf(Hash h, Span key, std::initializer_list<Span> parts) {
  SecretBytes out(digest_len(h));
  std::unique_ptr<EVP_MAC, MacFree> mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  std::unique_ptr<EVP_MAC_CTX, MacCtxFree> ctx(mac ? EVP_MAC_CTX_new(mac.get()) : nullptr);
  const char* digest_name = EVP_MD_get0_name(md(h));
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string("digest", const_cast<char*>(digest_name), 0),
      OSSL_PARAM_construct_end()};
  // HMAC with an empty key is valid (RFC 2104) but OpenSSL wants a non-null pointer.
  static const std::uint8_t empty = 0;
  if (!ctx || EVP_MAC_init(ctx.get(), key.empty() ? &empty : key.data(), key.size(), params) != 1) {
    throw std::runtime_error("HMAC init failed");
  }
  for (const auto p : parts) {
    if (!p.empty() && EVP_MAC_update(ctx.get(), p.data(), p.size()) != 1) {
      throw std::runtime_error("HMAC update failed");
    }
  }
  std::size_t len = 0;
  if (EVP_MAC_final(ctx.get(), out.data(), &len, out.size()) != 1 || len != out.size()) {
    throw std::runtime_error("HMAC final failed");
  }
  return out;
}

SecretBytes digest(Hash h, std::initializer_list<Span> parts) {
  SecretBytes out(digest_len(h));
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestInit_ex(ctx.get(), md(h), nullptr) != 1) {
    throw std::runtime_error("digest init failed");
  }
  for (const auto p : parts) {
    if (!p.empty() && EVP_DigestUpdate(ctx.get(), p.data(), p.size()) != 1) {
      throw std::runtime_error("digest update failed");
    }
  }
  unsigned len = 0;
  if (EVP_DigestFinal_ex(ctx.get(), out.data(), &len) != 1 || len != out.size()) {
    throw std::runtime_error("digest final failed");
  }
  return out;
}

SecretBytes skeyid_psk(Hash h, Span psk, Span ni_b, Span nr_b) {
  return prf(h, psk, {ni_b, nr_b});
}

SecretBytes skeyid_sig(Hash h, Span ni_b, Span nr_b, Span gxy) {
  SecretBytes key(ni_b.begin(), ni_b.end());
  key.insert(key.end(), nr_b.begin(), nr_b.end());
  return prf(h, key, {gxy});
}

SecretBytes phase1_enc_key(Hash h, Span skeyid_e, std::size_t key_len) {
  if (skeyid_e.size() >= key_len) {
    return SecretBytes(skeyid_e.begin(), skeyid_e.begin() + static_cast<std::ptrdiff_t>(key_len));
  }
  static const std::uint8_t zero = 0;
  SecretBytes out;
  SecretBytes k = prf(h, skeyid_e, {Span(&zero, 1)});
  while (true) {
    out.insert(out.end(), k.begin(), k.end());
    if (out.size() >= key_len) {
      break;
    }
    k = prf(h, skeyid_e, {k});
  }
  out.resize(key_len);
  return out;
}

Phase1Keys derive_phase1(Hash h, CipherSpec c, SecretBytes skeyid, Span gxy, Span cky_i, Span cky_r,
                         Span gxi, Span gxr) {
  static const std::uint8_t n0 = 0, n1 = 1, n2 = 2;
  Phase1Keys k;
  k.skeyid = std::move(skeyid);
  k.skeyid_d = prf(h, k.skeyid, {gxy, cky_i, cky_r, Span(&n0, 1)});
  k.skeyid_a = prf(h, k.skeyid, {k.skeyid_d, gxy, cky_i, cky_r, Span(&n1, 1)});
  k.skeyid_e = prf(h, k.skeyid, {k.skeyid_a, gxy, cky_i, cky_r, Span(&n2, 1)});
  k.enc_key = phase1_enc_key(h, k.skeyid_e, c.key_len());
  k.iv = digest(h, {gxi, gxr});
  k.iv.resize(c.block());
  return k;
}

SecretBytes hash_i(Hash h, Span skeyid, Span gxi, Span gxr, Span cky_i, Span cky_r, Span sai_b,
                   Span idii_b) {
  return prf(h, skeyid, {gxi, gxr, cky_i, cky_r, sai_b, idii_b});
}

SecretBytes hash_r(Hash h, Span skeyid, Span gxi, Span gxr, Span cky_i, Span cky_r, Span sai_b,
                   Span idir_b) {
  return prf(h, skeyid, {gxr, gxi, cky_r, cky_i, sai_b, idir_b});
}

SecretBytes phase2_iv(Hash h, Span last_phase1_block, std::uint32_t message_id, std::size_t block) {
  const auto mid = be32(message_id);
  SecretBytes iv = digest(h, {last_phase1_block, mid});
  iv.resize(block);
  return iv;
}

SecretBytes qm_hash1(Hash h, Span skeyid_a, std::uint32_t message_id, Span after_hash) {
  const auto mid = be32(message_id);
  return prf(h, skeyid_a, {mid, after_hash});
}

SecretBytes qm_hash2(Hash h, Span skeyid_a, std::uint32_t message_id, Span ni_b, Span after_hash) {
  const auto mid = be32(message_id);
  return prf(h, skeyid_a, {mid, ni_b, after_hash});
}

SecretBytes qm_hash3(Hash h, Span skeyid_a, std::uint32_t message_id, Span ni_b, Span nr_b) {
  static const std::uint8_t zero = 0;
  const auto mid = be32(message_id);
  return prf(h, skeyid_a, {Span(&zero, 1), mid, ni_b, nr_b});
}

SecretBytes informational_hash(Hash h, Span skeyid_a, std::uint32_t message_id, Span after_hash) {
  return qm_hash1(h, skeyid_a, message_id, after_hash);
}

SecretBytes keymat(Hash h, Span skeyid_d, Span gxy_qm, std::uint8_t protocol, std::uint32_t spi,
                   Span ni_b, Span nr_b, std::size_t len) {
  const auto spi_be = be32(spi);
  SecretBytes out;
  SecretBytes k = prf(h, skeyid_d, {gxy_qm, Span(&protocol, 1), spi_be, ni_b, nr_b});
  while (true) {
    out.insert(out.end(), k.begin(), k.end());
    if (out.size() >= len) {
      break;
    }
    k = prf(h, skeyid_d, {k, gxy_qm, Span(&protocol, 1), spi_be, ni_b, nr_b});
  }
  out.resize(len);
  return out;
}

EspKeys esp_keys(Hash h, Span skeyid_d, Span gxy_qm, std::uint32_t spi, Span ni_b, Span nr_b,
                 EspCipher c, EspAuth a) {
  constexpr std::uint8_t proto_esp = 3;  // RFC 2407 §4.4.1
  const std::size_t enc_len = info(c).key_len;
  const std::size_t auth_len = info(a).key_len;
  const auto km = keymat(h, skeyid_d, gxy_qm, proto_esp, spi, ni_b, nr_b, enc_len + auth_len);
  EspKeys k;
  k.enc.assign(km.begin(), km.begin() + static_cast<std::ptrdiff_t>(enc_len));
  k.auth.assign(km.begin() + static_cast<std::ptrdiff_t>(enc_len), km.end());
  return k;
}

bool mac_equal(Span a, Span b) noexcept {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace l2tpgw::ike
