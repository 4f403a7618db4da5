// RC4 (ARCFOUR), the stream cipher MPPE is built on (RFC 3078 §1, §7.3).
// Intel IPsec-MB has no RC4, and OpenSSL 3 keeps it only in its legacy
// provider behind a heap-allocated EVP context; this one is a plain value
// (256-byte permutation and the two indices) so that it can live inside a
// session slot and be re-keyed in place without allocating.
//
// perf/rc4_bench.cc measures it against OpenSSL: the key schedule costs the
// same (~1450 cycles) and the stream is within ~10% of OpenSSL's assembly
// (5.6 against 5.1 cycles per byte). A table of 32-bit words would gain
// about as much again but quadruple the state to 1 KiB per direction, four
// times the cache lines a worker touches per session; bytes it is.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace l2tpgw::crypto {

class Rc4 {
 public:
  // The key-scheduling algorithm. `len` is 1..256 bytes; MPPE uses 8 or 16.
  void set_key(const std::uint8_t* key, unsigned len) noexcept;

  // XORs the next `len` bytes of the keystream into `data`, in place (the
  // same operation encrypts and decrypts).
  void crypt(std::uint8_t* data, std::size_t len) noexcept;

 private:
  std::uint8_t _s[256];
  std::uint8_t _i;
  std::uint8_t _j;
};
static_assert(std::is_trivially_copyable_v<Rc4>);
static_assert(sizeof(Rc4) == 258);

}  // namespace l2tpgw::crypto
