#include "controlplane/ike/dh.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/dh.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>

#include <memory>
#include <utility>

namespace l2tpgw::ike {

namespace {

// One deleter for every OpenSSL handle: the function that frees it.
template <auto Free>
struct Deleter {
  template <typename T>
  void operator()(T* p) const noexcept {
    Free(p);
  }
};
using Bn = std::unique_ptr<BIGNUM, Deleter<BN_clear_free>>;
using Pkey = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using Ctx = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX_free>>;
using Bld = std::unique_ptr<OSSL_PARAM_BLD, Deleter<OSSL_PARAM_BLD_free>>;
using Params = std::unique_ptr<OSSL_PARAM, Deleter<OSSL_PARAM_free>>;
using Group = std::unique_ptr<EC_GROUP, Deleter<EC_GROUP_free>>;
using Point = std::unique_ptr<EC_POINT, Deleter<EC_POINT_free>>;
using BnCtx = std::unique_ptr<BN_CTX, Deleter<BN_CTX_free>>;

// RFC 2409 §6.2 (group 2) and RFC 3526 §2-5 (groups 5, 14, 15, 16); all use
// generator 2. OpenSSL carries these primes as constants.
Bn modp_prime(DhGroup g) {
  switch (g) {
    case DhGroup::modp1024:
      return Bn(BN_get_rfc2409_prime_1024(nullptr));
    case DhGroup::modp1536:
      return Bn(BN_get_rfc3526_prime_1536(nullptr));
    case DhGroup::modp2048:
      return Bn(BN_get_rfc3526_prime_2048(nullptr));
    case DhGroup::modp3072:
      return Bn(BN_get_rfc3526_prime_3072(nullptr));
    case DhGroup::modp4096:
      return Bn(BN_get_rfc3526_prime_4096(nullptr));
    default:
      return nullptr;
  }
}

const char* curve_name(DhGroup g) {
  return g == DhGroup::ecp256 ? "P-256" : "P-384";
}
int curve_nid(DhGroup g) {
  return g == DhGroup::ecp256 ? NID_X9_62_prime256v1 : NID_secp384r1;
}

// Builds an EVP_PKEY of `type` from the parameters `fill` pushes.
template <typename F>
Pkey pkey_from(const char* type, int selection, F&& fill) {
  Bld bld(OSSL_PARAM_BLD_new());
  if (!bld || !fill(bld.get())) {
    return nullptr;
  }
  Params params(OSSL_PARAM_BLD_to_param(bld.get()));
  Ctx ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* key = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &key, selection, params.get()) != 1) {
    return nullptr;
  }
  return Pkey(key);
}

Pkey modp_key(const BIGNUM* p, const BIGNUM* pub, const BIGNUM* priv, int selection) {
  Bn g(BN_new());
  if (!g || BN_set_word(g.get(), 2) != 1) {
    return nullptr;
  }
  return pkey_from("DH", selection, [&](OSSL_PARAM_BLD* b) {
    return OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_FFC_P, p) == 1 &&
           OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_FFC_G, g.get()) == 1 &&
           (pub == nullptr || OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_PUB_KEY, pub) == 1) &&
           (priv == nullptr || OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_PRIV_KEY, priv) == 1);
  });
}

Pkey ecp_key(DhGroup g, std::span<const std::uint8_t> point, const BIGNUM* priv, int selection) {
  return pkey_from("EC", selection, [&](OSSL_PARAM_BLD* b) {
    return OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, curve_name(g), 0) == 1 &&
           OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                            point.size()) == 1 &&
           (priv == nullptr || OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_PRIV_KEY, priv) == 1);
  });
}

// The KE payload body of a key: g^x padded, or x || y without the SEC1 0x04.
std::vector<std::uint8_t> public_of(DhGroup g, EVP_PKEY* key) {
  const std::size_t len = public_value_len(g);
  if (is_ecp(g)) {
    std::vector<std::uint8_t> sec1(len + 1);
    std::size_t got = 0;
    if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, sec1.data(), sec1.size(),
                                        &got) != 1 ||
        got != len + 1 || sec1[0] != 0x04) {
      return {};
    }
    return {sec1.begin() + 1, sec1.end()};
  }
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_PUB_KEY, &raw) != 1) {
    return {};
  }
  Bn pub(raw);
  std::vector<std::uint8_t> out(len);
  if (BN_bn2binpad(pub.get(), out.data(), static_cast<int>(len)) != static_cast<int>(len)) {
    return {};
  }
  return out;
}

}  // namespace

std::string_view to_string(DhError e) noexcept {
  switch (e) {
    case DhError::none:
      return "ok";
    case DhError::bad_length:
      return "KE length does not match the group";
    case DhError::invalid_public_value:
      return "invalid DH public value";
    case DhError::internal:
      return "DH computation failed";
  }
  return "?";
}

bool is_ecp(DhGroup g) noexcept {
  return g == DhGroup::ecp256 || g == DhGroup::ecp384;
}

std::size_t public_value_len(DhGroup g) noexcept {
  switch (g) {
    case DhGroup::modp1024:
      return 128;
    case DhGroup::modp1536:
      return 192;
    case DhGroup::modp2048:
      return 256;
    case DhGroup::modp3072:
      return 384;
    case DhGroup::modp4096:
      return 512;
    case DhGroup::ecp256:
      return 64;
    case DhGroup::ecp384:
      return 96;
  }
  return 0;
}

DhKeyPair::DhKeyPair(DhGroup g, EVP_PKEY* key, std::vector<std::uint8_t> pub) noexcept
    : _group(g), _key(key), _public(std::move(pub)) {
}

DhKeyPair::DhKeyPair(DhKeyPair&& o) noexcept
    : _group(o._group), _key(std::exchange(o._key, nullptr)), _public(std::move(o._public)) {
}

DhKeyPair& DhKeyPair::operator=(DhKeyPair&& o) noexcept {
  if (this != &o) {
    EVP_PKEY_free(_key);
    _group = o._group;
    _key = std::exchange(o._key, nullptr);
    _public = std::move(o._public);
  }
  return *this;
}

DhKeyPair::~DhKeyPair() {
  EVP_PKEY_free(_key);
}

std::optional<DhKeyPair> DhKeyPair::generate(DhGroup g) {
  Pkey key;
  if (is_ecp(g)) {
    key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve_name(g)));
  } else {
    const Bn p = modp_prime(g);
    if (!p) {
      return std::nullopt;
    }
    const Pkey params = modp_key(p.get(), nullptr, nullptr, EVP_PKEY_KEY_PARAMETERS);
    Ctx ctx(params ? EVP_PKEY_CTX_new_from_pkey(nullptr, params.get(), nullptr) : nullptr);
    EVP_PKEY* raw = nullptr;
    if (ctx && EVP_PKEY_keygen_init(ctx.get()) == 1 && EVP_PKEY_generate(ctx.get(), &raw) == 1) {
      key.reset(raw);
    }
  }
  if (!key) {
    return std::nullopt;
  }
  auto pub = public_of(g, key.get());
  if (pub.empty()) {
    return std::nullopt;
  }
  return DhKeyPair(g, key.release(), std::move(pub));
}

std::optional<DhKeyPair> DhKeyPair::from_private(DhGroup g, std::span<const std::uint8_t> priv) {
  Bn x(BN_bin2bn(priv.data(), static_cast<int>(priv.size()), nullptr));
  BnCtx bn_ctx(BN_CTX_new());
  if (!x || !bn_ctx || BN_is_zero(x.get())) {
    return std::nullopt;
  }
  Pkey key;
  if (is_ecp(g)) {
    Group group(EC_GROUP_new_by_curve_name(curve_nid(g)));
    if (!group || BN_cmp(x.get(), EC_GROUP_get0_order(group.get())) >= 0) {
      return std::nullopt;
    }
    Point q(EC_POINT_new(group.get()));
    std::vector<std::uint8_t> sec1(public_value_len(g) + 1);
    if (!q || EC_POINT_mul(group.get(), q.get(), x.get(), nullptr, nullptr, bn_ctx.get()) != 1 ||
        EC_POINT_point2oct(group.get(), q.get(), POINT_CONVERSION_UNCOMPRESSED, sec1.data(),
                           sec1.size(), bn_ctx.get()) != sec1.size()) {
      return std::nullopt;
    }
    key = ecp_key(g, sec1, x.get(), EVP_PKEY_KEYPAIR);
  } else {
    const Bn p = modp_prime(g);
    Bn two(BN_new());
    Bn y(BN_new());
    if (!p || !two || !y || BN_set_word(two.get(), 2) != 1 || BN_cmp(x.get(), p.get()) >= 0 ||
        BN_mod_exp(y.get(), two.get(), x.get(), p.get(), bn_ctx.get()) != 1) {
      return std::nullopt;
    }
    key = modp_key(p.get(), y.get(), x.get(), EVP_PKEY_KEYPAIR);
  }
  if (!key) {
    return std::nullopt;
  }
  auto pub = public_of(g, key.get());
  if (pub.empty()) {
    return std::nullopt;
  }
  return DhKeyPair(g, key.release(), std::move(pub));
}

DhError DhKeyPair::shared_secret(std::span<const std::uint8_t> peer, SecretBytes& out) const {
  if (peer.size() != public_value_len(_group)) {
    return DhError::bad_length;
  }
  Pkey peer_key;
  if (is_ecp(_group)) {
    std::vector<std::uint8_t> sec1{0x04};
    sec1.insert(sec1.end(), peer.begin(), peer.end());
    // Decoding the point checks x, y < p and that it lies on the curve.
    peer_key = ecp_key(_group, sec1, nullptr, EVP_PKEY_PUBLIC_KEY);
  } else {
    const Bn p = modp_prime(_group);
    Bn y(BN_bin2bn(peer.data(), static_cast<int>(peer.size()), nullptr));
    Bn p_minus_1(BN_dup(p.get()));
    if (!p || !y || !p_minus_1 || BN_sub_word(p_minus_1.get(), 1) != 1) {
      return DhError::internal;
    }
    // RFC 2631 §2.1.5 / NIST SP 800-56A: 1 < y < p-1, or the secret is
    // forced into a subgroup of order 1 or 2.
    if (BN_is_zero(y.get()) || BN_is_one(y.get()) || BN_cmp(y.get(), p_minus_1.get()) >= 0) {
      return DhError::invalid_public_value;
    }
    // Every group here is a safe prime p = 2q + 1 with g = 2 generating the
    // order-q subgroup: y^q = 1 keeps the peer's value in it (NIST SP
    // 800-56A §5.6.2.3.1 full validation), the same for every group whether
    // or not OpenSSL knows q for it.
    Bn q(BN_dup(p_minus_1.get()));
    Bn check(BN_new());
    BnCtx bn_ctx(BN_CTX_new());
    if (!q || !check || !bn_ctx || BN_rshift1(q.get(), q.get()) != 1 ||
        BN_mod_exp(check.get(), y.get(), q.get(), p.get(), bn_ctx.get()) != 1) {
      return DhError::internal;
    }
    if (!BN_is_one(check.get())) {
      return DhError::invalid_public_value;
    }
    peer_key = modp_key(p.get(), y.get(), nullptr, EVP_PKEY_PUBLIC_KEY);
  }
  if (!peer_key) {
    return is_ecp(_group) ? DhError::invalid_public_value : DhError::internal;
  }
  Ctx ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, _key, nullptr));
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1) {
    return DhError::internal;
  }
  // g^xy keeps its leading zeros: the key schedule hashes it at the
  // prime's length.
  if (!is_ecp(_group) && EVP_PKEY_CTX_set_dh_pad(ctx.get(), 1) != 1) {
    return DhError::internal;
  }
  if (EVP_PKEY_derive_set_peer_ex(ctx.get(), peer_key.get(), 1) != 1) {
    return DhError::invalid_public_value;
  }
  std::size_t len = 0;
  if (EVP_PKEY_derive(ctx.get(), nullptr, &len) != 1) {
    return DhError::internal;
  }
  out.assign(len, 0);
  if (EVP_PKEY_derive(ctx.get(), out.data(), &len) != 1) {
    return DhError::internal;
  }
  out.resize(len);
  const std::size_t want = is_ecp(_group) ? public_value_len(_group) / 2 : public_value_len(_group);
  return len == want ? DhError::none : DhError::internal;
}

}  // namespace l2tpgw::ike
