#include "controlplane/l2tp/tunnel_auth.h"

#include <openssl/crypto.h>

namespace l2tpgw::l2tp {

Md5Digest challenge_response(std::uint8_t message_type, std::span<const std::uint8_t> secret,
                             std::span<const std::uint8_t> challenge) {
  const std::uint8_t id[1] = {message_type};
  return md5({id, secret, challenge});
}

bool check_challenge_response(std::uint8_t message_type, std::span<const std::uint8_t> secret,
                              std::span<const std::uint8_t> challenge,
                              std::span<const std::uint8_t> response) {
  Md5Digest expected = challenge_response(message_type, secret, challenge);
  const bool ok = digest_equal(expected, response);
  OPENSSL_cleanse(expected.data(), expected.size());
  return ok;
}

}  // namespace l2tpgw::l2tp
