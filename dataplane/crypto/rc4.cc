#include "dataplane/crypto/rc4.h"

namespace l2tpgw::crypto {

void Rc4::set_key(const std::uint8_t* key, unsigned len) noexcept {
  for (unsigned n = 0; n < 256; ++n) {
    _s[n] = static_cast<std::uint8_t>(n);
  }
  // The key index wraps by a compare rather than `n % len`: a division per
  // byte would cost more than the swap itself.
  std::uint8_t j = 0;
  unsigned k = 0;
  for (unsigned n = 0; n < 256; ++n) {
    const std::uint8_t a = _s[n];
    j = static_cast<std::uint8_t>(j + a + key[k]);
    _s[n] = _s[j];
    _s[j] = a;
    if (++k == len) {
      k = 0;
    }
  }
  _i = 0;
  _j = 0;
}

void Rc4::crypt(std::uint8_t* data, std::size_t len) noexcept {
  std::uint8_t i = _i;
  std::uint8_t j = _j;
  std::uint8_t* const s = _s;
  for (std::size_t n = 0; n < len; ++n) {
    i = static_cast<std::uint8_t>(i + 1);
    const std::uint8_t a = s[i];
    j = static_cast<std::uint8_t>(j + a);
    const std::uint8_t b = s[j];
    s[i] = b;
    s[j] = a;
    data[n] ^= s[static_cast<std::uint8_t>(a + b)];
  }
  _i = i;
  _j = j;
}

}  // namespace l2tpgw::crypto
