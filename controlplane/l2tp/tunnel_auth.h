// Tunnel authentication (RFC 2661 §4.2, §5.1.1): a CHAP-like exchange over
// the control connection. The response to a Challenge is
// MD5(ID || secret || challenge), where the one-octet ID is the Message Type
// of the message carrying the response: 2 in an SCCRP, 3 in an SCCCN.
#pragma once

#include <cstdint>
#include <span>

#include "controlplane/l2tp/md5.h"

namespace l2tpgw::l2tp {

Md5Digest challenge_response(std::uint8_t message_type, std::span<const std::uint8_t> secret,
                             std::span<const std::uint8_t> challenge);

// Compares in constant time; false also when the response is not 16 bytes.
bool check_challenge_response(std::uint8_t message_type, std::span<const std::uint8_t> secret,
                              std::span<const std::uint8_t> challenge,
                              std::span<const std::uint8_t> response);

}  // namespace l2tpgw::l2tp
