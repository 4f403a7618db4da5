// IPv4 header validation (RFC 791, RFC 1122 §3.2.1) as a pure function over
// the bytes from the IPv4 header to the end of the frame.
#pragma once

#include <cstdint>
#include <span>

#include "dataplane/wire/headers.h"

namespace l2tpgw::wire {

enum class Ipv4Check : std::uint8_t {
  ok,
  truncated,   // fewer than 20 bytes
  version,     // not 4
  header_len,  // IHL below 5 or beyond the bytes present
  total_len,   // total length beyond the bytes present or below IHL
  checksum,
  ttl_zero,
};

// On ok, the header is well-formed; the frame may still carry link-layer
// padding past total_len, which the caller trims.
Ipv4Check ipv4_check(std::span<const std::uint8_t> l3) noexcept;

}  // namespace l2tpgw::wire
