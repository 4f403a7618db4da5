#include "controlplane/l2tp/md5.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <memory>
#include <stdexcept>

namespace l2tpgw::l2tp {

Md5Digest md5(std::initializer_list<std::span<const std::uint8_t>> parts) {
  const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(),
                                                                    &EVP_MD_CTX_free);
  Md5Digest out{};
  unsigned int len = 0;
  // MD5 is in OpenSSL's default provider; a failure here means the library
  // itself is broken, which no caller can recover from.
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_md5(), nullptr) != 1) {
    throw std::runtime_error("MD5 unavailable in OpenSSL");
  }
  for (const auto& p : parts) {
    if (!p.empty() && EVP_DigestUpdate(ctx.get(), p.data(), p.size()) != 1) {
      throw std::runtime_error("MD5 update failed");
    }
  }
  if (EVP_DigestFinal_ex(ctx.get(), out.data(), &len) != 1 || len != out.size()) {
    throw std::runtime_error("MD5 final failed");
  }
  return out;
}

bool digest_equal(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) noexcept {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace l2tpgw::l2tp
