#include "controlplane/ppp/mschapv2.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cstring>
#include <memory>
#include <stdexcept>
#include <vector>

#include "controlplane/ppp/md4.h"
#include "dataplane/crypto/mppe.h"

namespace l2tpgw::ppp {
namespace {

struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};
struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* c) const noexcept { EVP_CIPHER_CTX_free(c); }
};

// One digest over several parts; EVP failures here mean a broken OpenSSL
// installation, not bad input.
template <std::size_t N>
std::array<std::uint8_t, N> digest(const EVP_MD* md,
                                   std::initializer_list<std::span<const std::uint8_t>> parts) {
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  std::uint8_t out[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  if (!ctx || EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1) {
    throw std::runtime_error("OpenSSL digest unavailable");
  }
  for (auto p : parts) {
    if (EVP_DigestUpdate(ctx.get(), p.data(), p.size()) != 1) {
      throw std::runtime_error("OpenSSL digest failed");
    }
  }
  if (EVP_DigestFinal_ex(ctx.get(), out, &len) != 1 || len < N) {
    throw std::runtime_error("OpenSSL digest failed");
  }
  std::array<std::uint8_t, N> r{};
  std::memcpy(r.data(), out, N);
  OPENSSL_cleanse(out, sizeof out);
  return r;
}

std::span<const std::uint8_t> as_bytes(std::string_view s) noexcept {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// RFC 2759 §8.6 DesEncrypt: the 56 key bits spread over 8 bytes (parity
// bits unused). Single DES is in OpenSSL 3's legacy provider only, so it is
// computed as DES-EDE3 with K1 = K2 = K3, which is the same function.
void des_encrypt(std::span<const std::uint8_t, 8> clear, const std::uint8_t key7[7],
                 std::uint8_t out[8]) {
  std::uint8_t k[8];
  k[0] = key7[0];
  for (int i = 1; i < 7; ++i) {
    k[i] = static_cast<std::uint8_t>((key7[i - 1] << (8 - i)) | (key7[i] >> i));
  }
  k[7] = static_cast<std::uint8_t>(key7[6] << 1);
  std::uint8_t k3[24];
  for (int i = 0; i < 3; ++i) {
    std::memcpy(k3 + 8 * i, k, 8);
  }
  std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree> ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  const bool ok = ctx &&
                  EVP_EncryptInit_ex(ctx.get(), EVP_des_ede3_ecb(), nullptr, k3, nullptr) == 1 &&
                  EVP_CIPHER_CTX_set_padding(ctx.get(), 0) == 1 &&
                  EVP_EncryptUpdate(ctx.get(), out, &len, clear.data(), 8) == 1 && len == 8;
  OPENSSL_cleanse(k, sizeof k);
  OPENSSL_cleanse(k3, sizeof k3);
  if (!ok) {
    throw std::runtime_error("OpenSSL DES-EDE3 unavailable");
  }
}

// UTF-8 to UTF-16LE; false when `s` is not well-formed UTF-8.
bool utf16le(std::string_view s, std::vector<std::uint8_t>& out) {
  auto put = [&out](std::uint32_t u) {
    out.push_back(static_cast<std::uint8_t>(u));
    out.push_back(static_cast<std::uint8_t>(u >> 8));
  };
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<std::uint8_t>(s[i]);
    std::uint32_t cp = 0;
    std::size_t n = 0;
    if (c < 0x80) {
      cp = c;
      n = 1;
    } else if ((c & 0xe0) == 0xc0) {
      cp = c & 0x1fu;
      n = 2;
    } else if ((c & 0xf0) == 0xe0) {
      cp = c & 0x0fu;
      n = 3;
    } else if ((c & 0xf8) == 0xf0) {
      cp = c & 0x07u;
      n = 4;
    } else {
      return false;
    }
    if (i + n > s.size()) {
      return false;
    }
    for (std::size_t j = 1; j < n; ++j) {
      const auto cc = static_cast<std::uint8_t>(s[i + j]);
      if ((cc & 0xc0) != 0x80) {
        return false;
      }
      cp = (cp << 6) | (cc & 0x3fu);
    }
    i += n;
    if (cp >= 0x10000) {
      cp -= 0x10000;
      put(0xd800 + (cp >> 10));
      put(0xdc00 + (cp & 0x3ff));
    } else {
      put(cp);
    }
  }
  return true;
}

}  // namespace

Hash16 nt_password_hash(std::string_view password) {
  std::vector<std::uint8_t> u;
  u.reserve(password.size() * 2);
  if (!utf16le(password, u)) {
    u.clear();
    for (char ch : password) {
      u.push_back(static_cast<std::uint8_t>(ch));
      u.push_back(0);
    }
  }
  const Hash16 h = md4(u);
  OPENSSL_cleanse(u.data(), u.size());
  return h;
}

Hash16 hash_nt_password_hash(const Hash16& password_hash) noexcept {
  return md4(password_hash);
}

std::string_view strip_domain(std::string_view user) noexcept {
  const auto p = user.rfind('\\');
  return p == std::string_view::npos ? user : user.substr(p + 1);
}

std::array<std::uint8_t, 8> challenge_hash(std::span<const std::uint8_t, 16> peer_challenge,
                                           std::span<const std::uint8_t, 16> auth_challenge,
                                           std::string_view user) {
  return digest<8>(EVP_sha1(), {peer_challenge, auth_challenge, as_bytes(user)});
}

std::array<std::uint8_t, 24> challenge_response(std::span<const std::uint8_t, 8> challenge,
                                                const Hash16& password_hash) {
  std::uint8_t z[21] = {};
  std::memcpy(z, password_hash.data(), 16);
  std::array<std::uint8_t, 24> r{};
  for (int i = 0; i < 3; ++i) {
    des_encrypt(challenge, z + 7 * i, r.data() + 8 * i);
  }
  OPENSSL_cleanse(z, sizeof z);
  return r;
}

std::array<std::uint8_t, 24> generate_nt_response(std::span<const std::uint8_t, 16> auth_challenge,
                                                  std::span<const std::uint8_t, 16> peer_challenge,
                                                  std::string_view user,
                                                  const Hash16& password_hash) {
  const auto ch = challenge_hash(peer_challenge, auth_challenge, user);
  return challenge_response(ch, password_hash);
}

std::string authenticator_response(const Hash16& password_hash,
                                   std::span<const std::uint8_t, 24> nt_response,
                                   std::span<const std::uint8_t, 16> peer_challenge,
                                   std::span<const std::uint8_t, 16> auth_challenge,
                                   std::string_view user) {
  // RFC 2759 §8.7 Magic1 and Magic2.
  static constexpr char magic1[] = "Magic server to client signing constant";
  static constexpr char magic2[] = "Pad to make it do more than one iteration";
  const Hash16 hh = hash_nt_password_hash(password_hash);
  const auto d1 = digest<20>(EVP_sha1(), {hh, nt_response, as_bytes({magic1, sizeof magic1 - 1})});
  const auto ch = challenge_hash(peer_challenge, auth_challenge, user);
  const auto d2 = digest<20>(EVP_sha1(), {d1, ch, as_bytes({magic2, sizeof magic2 - 1})});
  static constexpr char hexd[] = "0123456789ABCDEF";
  std::string s = "S=";
  for (std::uint8_t b : d2) {
    s.push_back(hexd[b >> 4]);
    s.push_back(hexd[b & 15]);
  }
  return s;
}

Hash16 chap_md5_response(std::uint8_t id, std::string_view secret,
                         std::span<const std::uint8_t> challenge) {
  const std::uint8_t idb[1] = {id};
  return digest<16>(EVP_md5(), {idb, as_bytes(secret), challenge});
}

MppeStartKeys server_mppe_keys(IMB_MGR* mgr, const Hash16& password_hash,
                               std::span<const std::uint8_t, 24> nt_response) noexcept {
  Hash16 hh = hash_nt_password_hash(password_hash);
  auto master = crypto::mppe::get_master_key(mgr, hh, nt_response);
  MppeStartKeys k;
  k.send = crypto::mppe::get_asymmetric_start_key(mgr, master, true, true);
  k.recv = crypto::mppe::get_asymmetric_start_key(mgr, master, false, true);
  OPENSSL_cleanse(master.data(), master.size());
  OPENSSL_cleanse(hh.data(), hh.size());
  return k;
}

bool equal_ct(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) noexcept {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace l2tpgw::ppp
