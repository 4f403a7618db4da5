// The IKEv1 phase-1 algorithms the responder implements, named once with the
// numbers RFC 2409 Appendix A (and RFC 3602, RFC 4868, RFC 5903) gives them
// and the sizes the key schedule needs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace l2tpgw::ike {

// RFC 2409 Appendix A, Hash Algorithm; 4-6 from the IANA registry (RFC 4868).
enum class Hash : std::uint8_t { md5 = 1, sha1 = 2, sha256 = 4, sha384 = 5, sha512 = 6 };

// RFC 2409 Appendix A, Encryption Algorithm; AES-CBC is 7 (RFC 3602 §5).
enum class Cipher : std::uint8_t { des3_cbc = 5, aes_cbc = 7 };

// RFC 2409 Appendix A / RFC 3526 / RFC 5903 group numbers.
enum class DhGroup : std::uint16_t {
  modp1024 = 2,
  modp1536 = 5,
  modp2048 = 14,
  modp3072 = 15,
  modp4096 = 16,
  ecp256 = 19,
  ecp384 = 20,
};

// RFC 2409 Appendix A, Authentication Method (the two this gateway does).
enum class AuthMethod : std::uint16_t { psk = 1, rsa_sig = 3 };

constexpr std::size_t digest_len(Hash h) noexcept {
  switch (h) {
    case Hash::md5:
      return 16;
    case Hash::sha1:
      return 20;
    case Hash::sha256:
      return 32;
    case Hash::sha384:
      return 48;
    case Hash::sha512:
      return 64;
  }
  return 0;
}

constexpr std::string_view name(Hash h) noexcept {
  switch (h) {
    case Hash::md5:
      return "MD5";
    case Hash::sha1:
      return "SHA1";
    case Hash::sha256:
      return "SHA2-256";
    case Hash::sha384:
      return "SHA2-384";
    case Hash::sha512:
      return "SHA2-512";
  }
  return "?";
}

constexpr std::size_t block_len(Cipher c) noexcept {
  return c == Cipher::aes_cbc ? 16 : 8;
}

constexpr std::string_view name(Cipher c) noexcept {
  return c == Cipher::aes_cbc ? "AES-CBC" : "3DES-CBC";
}

constexpr std::string_view name(DhGroup g) noexcept {
  switch (g) {
    case DhGroup::modp1024:
      return "MODP1024";
    case DhGroup::modp1536:
      return "MODP1536";
    case DhGroup::modp2048:
      return "MODP2048";
    case DhGroup::modp3072:
      return "MODP3072";
    case DhGroup::modp4096:
      return "MODP4096";
    case DhGroup::ecp256:
      return "ECP256";
    case DhGroup::ecp384:
      return "ECP384";
  }
  return "?";
}

constexpr std::string_view name(AuthMethod a) noexcept {
  return a == AuthMethod::psk ? "PSK" : "RSA-SIG";
}

// A cipher with its key size: 3DES is always 192 bits (RFC 2451), AES 128,
// 192 or 256 (RFC 3602).
struct CipherSpec {
  Cipher cipher = Cipher::aes_cbc;
  std::uint16_t key_bits = 128;

  constexpr std::size_t key_len() const noexcept { return key_bits / 8U; }
  constexpr std::size_t block() const noexcept { return block_len(cipher); }
  constexpr bool operator==(const CipherSpec&) const noexcept = default;
};

}  // namespace l2tpgw::ike
