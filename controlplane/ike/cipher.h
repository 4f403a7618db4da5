// Encryption of ISAKMP message bodies (RFC 2408 §3.1 E flag, RFC 2409 §5.3
// and Appendix B): CBC over everything after the 28-byte header, the IV
// carried from one message to the next as the last ciphertext block.
//
// Padding: we pad with zero bytes to the block size. On receive, nothing is
// stripped: the payload chain says where the data ends and the bytes after
// the last payload are padding (walk_payloads with allow_padding), because
// implementations disagree on padding contents and on whether the header
// length counts it.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "controlplane/ike/algorithms.h"
#include "controlplane/ike/secret.h"

namespace l2tpgw::ike {

enum class CryptError : std::uint8_t {
  none,
  not_encrypted,      // E flag clear
  not_block_aligned,  // body not a multiple of the block size
  truncated,          // shorter than a header, or length field beyond the data
  bad_key,            // key or IV of the wrong size
  internal,
};

std::string_view to_string(CryptError e) noexcept;

// CBC without padding over `data` (a multiple of the block size), in place.
// `iv` is read, and not changed: the caller takes the next IV itself.
CryptError cbc_encrypt(CipherSpec c, std::span<const std::uint8_t> key,
                       std::span<const std::uint8_t> iv, std::span<std::uint8_t> data);
CryptError cbc_decrypt(CipherSpec c, std::span<const std::uint8_t> key,
                       std::span<const std::uint8_t> iv, std::span<std::uint8_t> data);

// Pads the body of `msg` (a complete plaintext message) with zeros to the
// block size, encrypts it, sets the E flag and the length, and returns in
// `next_iv` the last ciphertext block (the IV of the next message).
CryptError encrypt_message(std::vector<std::uint8_t>& msg, CipherSpec c,
                           std::span<const std::uint8_t> key, std::span<const std::uint8_t> iv,
                           SecretBytes& next_iv);

// Decrypts the body of `msg` (E flag set) into `plain` (the header copied
// as is, then the plaintext body, padding included); `next_iv` receives the
// last ciphertext block. The caller adopts `next_iv` only once the message
// authenticates, so a forged packet cannot desynchronise the IV.
CryptError decrypt_message(std::span<const std::uint8_t> msg, CipherSpec c,
                           std::span<const std::uint8_t> key, std::span<const std::uint8_t> iv,
                           std::vector<std::uint8_t>& plain, SecretBytes& next_iv);

}  // namespace l2tpgw::ike
