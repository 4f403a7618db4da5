#include "dataplane/wire/esp.h"

namespace l2tpgw::wire {

void esp_write_trailer(std::uint8_t* at, unsigned pad_len, std::uint8_t next_header) noexcept {
  for (unsigned i = 0; i < pad_len; ++i) {
    at[i] = static_cast<std::uint8_t>(i + 1);
  }
  at[pad_len] = static_cast<std::uint8_t>(pad_len);
  at[pad_len + 1] = next_header;
}

bool esp_pad_ok(std::span<const std::uint8_t> before_trailer, unsigned pad_len) noexcept {
  if (pad_len > before_trailer.size()) {
    return false;
  }
  const std::uint8_t* pad = before_trailer.data() + before_trailer.size() - pad_len;
  unsigned bad = 0;
  for (unsigned i = 0; i < pad_len; ++i) {
    bad |= pad[i] ^ static_cast<std::uint8_t>(i + 1);
  }
  return bad == 0;
}

}  // namespace l2tpgw::wire
