#include "controlplane/ike/cipher.h"

#include <openssl/evp.h>

#include <limits>
#include <memory>

#include "controlplane/ike/isakmp.h"
#include "controlplane/ike/wire_util.h"

namespace l2tpgw::ike {

namespace {

struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* c) const noexcept { EVP_CIPHER_CTX_free(c); }
};

const EVP_CIPHER* evp(CipherSpec c) {
  if (c.cipher == Cipher::des3_cbc) {
    return c.key_bits == 192 ? EVP_des_ede3_cbc() : nullptr;
  }
  switch (c.key_bits) {
    case 128:
      return EVP_aes_128_cbc();
    case 192:
      return EVP_aes_192_cbc();
    case 256:
      return EVP_aes_256_cbc();
    default:
      return nullptr;
  }
}

CryptError cbc(CipherSpec c, std::span<const std::uint8_t> key, std::span<const std::uint8_t> iv,
               std::span<std::uint8_t> data, int enc) {
  const EVP_CIPHER* cipher = evp(c);
  if (cipher == nullptr || key.size() != c.key_len() || iv.size() != c.block()) {
    return CryptError::bad_key;
  }
  if (data.size() % c.block() != 0) {
    return CryptError::not_block_aligned;
  }
  if (data.empty()) {
    return CryptError::none;
  }
  if (data.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    return CryptError::truncated;
  }
  std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree> ctx(EVP_CIPHER_CTX_new());
  int out_len = 0;
  if (!ctx || EVP_CipherInit_ex(ctx.get(), cipher, nullptr, key.data(), iv.data(), enc) != 1 ||
      EVP_CIPHER_CTX_set_padding(ctx.get(), 0) != 1 ||
      EVP_CipherUpdate(ctx.get(), data.data(), &out_len, data.data(),
                       static_cast<int>(data.size())) != 1 ||
      static_cast<std::size_t>(out_len) != data.size()) {
    return CryptError::internal;
  }
  return CryptError::none;
}

}  // namespace

std::string_view to_string(CryptError e) noexcept {
  switch (e) {
    case CryptError::none:
      return "ok";
    case CryptError::not_encrypted:
      return "message not encrypted";
    case CryptError::not_block_aligned:
      return "encrypted body not a multiple of the block size";
    case CryptError::truncated:
      return "truncated encrypted message";
    case CryptError::bad_key:
      return "key or IV of the wrong size";
    case CryptError::internal:
      return "cipher failed";
  }
  return "?";
}

CryptError cbc_encrypt(CipherSpec c, std::span<const std::uint8_t> key,
                       std::span<const std::uint8_t> iv, std::span<std::uint8_t> data) {
  return cbc(c, key, iv, data, 1);
}

CryptError cbc_decrypt(CipherSpec c, std::span<const std::uint8_t> key,
                       std::span<const std::uint8_t> iv, std::span<std::uint8_t> data) {
  return cbc(c, key, iv, data, 0);
}

CryptError encrypt_message(std::vector<std::uint8_t>& msg, CipherSpec c,
                           std::span<const std::uint8_t> key, std::span<const std::uint8_t> iv,
                           SecretBytes& next_iv) {
  if (msg.size() < header_len) {
    return CryptError::truncated;
  }
  const std::size_t body = msg.size() - header_len;
  const std::size_t padded = (body + c.block() - 1) / c.block() * c.block();
  msg.resize(header_len + padded, 0);
  const auto e = cbc_encrypt(c, key, iv, std::span<std::uint8_t>(msg).subspan(header_len));
  if (e != CryptError::none) {
    return e;
  }
  msg[19] |= flag_encryption;
  set32(msg, 24, static_cast<std::uint32_t>(msg.size()));
  if (padded == 0) {
    next_iv.assign(iv.begin(), iv.end());
  } else {
    next_iv.assign(msg.end() - static_cast<std::ptrdiff_t>(c.block()), msg.end());
  }
  return CryptError::none;
}

CryptError decrypt_message(std::span<const std::uint8_t> msg, CipherSpec c,
                           std::span<const std::uint8_t> key, std::span<const std::uint8_t> iv,
                           std::vector<std::uint8_t>& plain, SecretBytes& next_iv) {
  if (msg.size() < header_len) {
    return CryptError::truncated;
  }
  if ((msg[19] & flag_encryption) == 0) {
    return CryptError::not_encrypted;
  }
  const std::uint32_t length = get32(msg, 24);
  if (length < header_len || length > msg.size()) {
    return CryptError::truncated;
  }
  const std::size_t body = length - header_len;
  if (body == 0 || body % c.block() != 0) {
    return CryptError::not_block_aligned;
  }
  plain.assign(msg.begin(), msg.begin() + length);
  const auto e = cbc_decrypt(c, key, iv, std::span<std::uint8_t>(plain).subspan(header_len));
  if (e != CryptError::none) {
    plain.clear();
    return e;
  }
  next_iv.assign(msg.begin() + length - static_cast<std::ptrdiff_t>(c.block()),
                 msg.begin() + length);
  return CryptError::none;
}

}  // namespace l2tpgw::ike
