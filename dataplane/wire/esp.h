// ESP framing rules of RFC 4303 that do not depend on the transform: padding
// to the cipher block (§2.4) and the check of the default pad bytes on
// receipt (§2.4: "1, 2, 3, ..."), as pure functions over byte spans.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace l2tpgw::wire {

// Bytes of padding so that payload, padding and the two trailer bytes end on
// a multiple of block (RFC 4303 §2.4: at least 4-byte alignment).
constexpr unsigned esp_pad_len(std::size_t payload_len, unsigned block) noexcept {
  const unsigned align = block < 4 ? 4 : block;
  return static_cast<unsigned>((align - (payload_len + 2) % align) % align);
}

// Writes the default padding 1, 2, 3, ... then pad length and next header.
void esp_write_trailer(std::uint8_t* at, unsigned pad_len, std::uint8_t next_header) noexcept;

// True when the pad bytes right before the trailer hold 1, 2, 3, ...,
// pad_len. `before_trailer` ends where the pad-length byte starts.
bool esp_pad_ok(std::span<const std::uint8_t> before_trailer, unsigned pad_len) noexcept;

}  // namespace l2tpgw::wire
