// MD4 (RFC 1320), needed only for the NT password hash of MS-CHAPv2
// (RFC 2759 §8.3). OpenSSL 3 keeps MD4 in its legacy provider, which a
// deployment may not ship; this one has no such dependency.
#pragma once

#include <array>
#include <cstdint>
#include <span>

namespace l2tpgw::ppp {

std::array<std::uint8_t, 16> md4(std::span<const std::uint8_t> data) noexcept;

}  // namespace l2tpgw::ppp
