// MD5 over a list of byte spans: both uses in RFC 2661 (AVP hiding, §4.3,
// and the tunnel Challenge Response, §4.2) hash a concatenation of fields.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <span>

namespace l2tpgw::l2tp {

using Md5Digest = std::array<std::uint8_t, 16>;

Md5Digest md5(std::initializer_list<std::span<const std::uint8_t>> parts);

// Constant-time equality of two digests (CRYPTO_memcmp), so that the time a
// comparison takes tells an attacker nothing about how much of a guess
// matched.
bool digest_equal(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) noexcept;

}  // namespace l2tpgw::l2tp
