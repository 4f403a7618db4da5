// The ESP transforms the gateway implements, with the sizes RFC 4303 and the
// per-transform RFCs fix for each. Shared by the config reader, the channel
// and the crypto stage, so a transform is named once.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace l2tpgw {

enum class EspCipher : std::uint8_t {
  aes_cbc_128,  // RFC 3602
  aes_cbc_256,
  aes_gcm_128,  // RFC 4106, 16-byte ICV
  aes_gcm_256,
  des3_cbc,     // RFC 2451
};

enum class EspAuth : std::uint8_t {
  none,             // only with an AEAD cipher
  hmac_sha1_96,     // RFC 2404
  hmac_sha256_128,  // RFC 4868
  // The same cut to 96 bits: the pre-RFC draft some iOS/macOS releases and
  // Android 6/7 kernels used, which IKEv1 cannot tell apart (docs/IKE.md).
  hmac_sha256_96,
};

constexpr bool is_sha256(EspAuth a) noexcept {
  return a == EspAuth::hmac_sha256_128 || a == EspAuth::hmac_sha256_96;
}

struct EspCipherInfo {
  std::string_view name;
  std::uint8_t key_len;    // bytes of key material, salt included
  std::uint8_t salt_len;   // AEAD: trailing salt bytes of the key (RFC 4106 §8.1)
  std::uint8_t iv_len;     // bytes of IV carried in each packet
  std::uint8_t block_len;  // payload alignment before padding (RFC 4303 §2.4)
  std::uint8_t icv_len;    // AEAD only; 0 when an EspAuth supplies the ICV
  bool aead;
};

struct EspAuthInfo {
  std::string_view name;
  std::uint8_t key_len;
  std::uint8_t icv_len;
};

constexpr EspCipherInfo info(EspCipher c) noexcept {
  switch (c) {
    case EspCipher::aes_cbc_128: return {"aes-cbc-128", 16, 0, 16, 16, 0, false};
    case EspCipher::aes_cbc_256: return {"aes-cbc-256", 32, 0, 16, 16, 0, false};
    case EspCipher::aes_gcm_128: return {"aes-gcm-128", 20, 4, 8, 4, 16, true};
    case EspCipher::aes_gcm_256: return {"aes-gcm-256", 36, 4, 8, 4, 16, true};
    case EspCipher::des3_cbc: return {"3des-cbc", 24, 0, 8, 8, 0, false};
  }
  return {"?", 0, 0, 0, 1, 0, false};
}

constexpr EspAuthInfo info(EspAuth a) noexcept {
  switch (a) {
    case EspAuth::none: return {"none", 0, 0};
    case EspAuth::hmac_sha1_96: return {"hmac-sha1-96", 20, 12};
    case EspAuth::hmac_sha256_128: return {"hmac-sha256-128", 32, 16};
    case EspAuth::hmac_sha256_96: return {"hmac-sha256-96", 32, 12};
  }
  return {"?", 0, 0};
}

inline constexpr EspCipher all_ciphers[] = {EspCipher::aes_cbc_128, EspCipher::aes_cbc_256,
                                            EspCipher::aes_gcm_128, EspCipher::aes_gcm_256,
                                            EspCipher::des3_cbc};
inline constexpr EspAuth all_auths[] = {EspAuth::none, EspAuth::hmac_sha1_96,
                                        EspAuth::hmac_sha256_128, EspAuth::hmac_sha256_96};

constexpr std::optional<EspCipher> parse_cipher(std::string_view s) noexcept {
  for (auto c : all_ciphers) {
    if (info(c).name == s) {
      return c;
    }
  }
  return std::nullopt;
}

constexpr std::optional<EspAuth> parse_auth(std::string_view s) noexcept {
  for (auto a : all_auths) {
    if (info(a).name == s) {
      return a;
    }
  }
  return std::nullopt;
}

// An AEAD cipher carries its own ICV and takes no EspAuth; every other cipher
// needs one (RFC 4303 §3.2: confidentiality without integrity is refused).
constexpr bool valid_pair(EspCipher c, EspAuth a) noexcept {
  return info(c).aead == (a == EspAuth::none);
}

constexpr std::uint8_t icv_len(EspCipher c, EspAuth a) noexcept {
  return info(c).aead ? info(c).icv_len : info(a).icv_len;
}

}  // namespace l2tpgw
