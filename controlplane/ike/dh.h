// Diffie-Hellman for IKEv1: MODP groups 2, 5, 14, 15, 16 (RFC 2409 §6.2,
// RFC 3526) and ECP groups 19, 20 (RFC 5903) through OpenSSL 3 EVP.
// Public values travel as the KE payload body: g^x padded to the prime's
// length for MODP, x || y for ECP (RFC 5903 §7); the ECP shared secret is
// the x coordinate alone (RFC 5903 §9).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "controlplane/ike/algorithms.h"
#include "controlplane/ike/secret.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace l2tpgw::ike {

enum class DhError : std::uint8_t {
  none,
  bad_length,            // peer value not the group's length
  invalid_public_value,  // 0, 1, p-1, >= p, or not on the curve
  internal,              // OpenSSL failed
};

std::string_view to_string(DhError e) noexcept;

// Bytes of a KE payload body for the group (RFC 2409 §5, RFC 5903 §7).
std::size_t public_value_len(DhGroup g) noexcept;
bool is_ecp(DhGroup g) noexcept;

class DhKeyPair {
 public:
  // A fresh key pair from OpenSSL's generator.
  static std::optional<DhKeyPair> generate(DhGroup g);
  // A key pair from a known private value (big-endian), for tests.
  static std::optional<DhKeyPair> from_private(DhGroup g, std::span<const std::uint8_t> priv);

  DhKeyPair(DhKeyPair&& o) noexcept;
  DhKeyPair& operator=(DhKeyPair&& o) noexcept;
  DhKeyPair(const DhKeyPair&) = delete;
  DhKeyPair& operator=(const DhKeyPair&) = delete;
  ~DhKeyPair();

  DhGroup group() const noexcept { return _group; }
  // The KE payload body.
  std::span<const std::uint8_t> public_value() const noexcept { return _public; }
  // g^xy (MODP, padded to the prime's length) or x(shared point) (ECP).
  DhError shared_secret(std::span<const std::uint8_t> peer, SecretBytes& out) const;

 private:
  DhKeyPair(DhGroup g, EVP_PKEY* key, std::vector<std::uint8_t> pub) noexcept;

  DhGroup _group;
  EVP_PKEY* _key;
  std::vector<std::uint8_t> _public;
};

}  // namespace l2tpgw::ike
