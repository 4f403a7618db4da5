// ISAKMP body encryption against python3-cryptography (AES-CBC, 3DES-CBC,
// zero padding, the IV chained from the last ciphertext block).
#include "controlplane/ike/cipher.h"

#include <gtest/gtest.h>

#include "controlplane/ike/isakmp.h"
#include "tests/unit/ike/test_util.h"
#include "tests/unit/ike/vectors.h"

namespace l2tpgw::ike {
namespace {

using test::hex;
using test::to_hex;

struct Case {
  CipherSpec spec;
  const char *key, *iv, *ct, *ct2;
};

const Case cases[] = {
    {{Cipher::aes_cbc, 128}, vec::aes128_key, vec::aes128_iv, vec::aes128_ct, vec::aes128_ct2},
    {{Cipher::aes_cbc, 256}, vec::aes256_key, vec::aes256_iv, vec::aes256_ct, vec::aes256_ct2},
    {{Cipher::des3_cbc, 192}, vec::des3_key, vec::des3_iv, vec::des3_ct, vec::des3_ct2},
};

Bytes plain_message() {
  Header h;
  h.icookie = {1, 2, 3, 4, 5, 6, 7, 8};
  h.exchange = static_cast<std::uint8_t>(ExchangeType::main_mode);
  h.next_payload = 5;
  Bytes msg(header_len);
  const auto body = hex(vec::cipher_body);
  msg.insert(msg.end(), body.begin(), body.end());
  h.length = static_cast<std::uint32_t>(msg.size());
  write_header(h, std::span<std::uint8_t, header_len>(msg.data(), header_len));
  return msg;
}

TEST(IkeCipher, EncryptMatchesPythonAndChainsIv) {
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(name(c.spec.cipher)) + std::to_string(c.spec.key_bits));
    const auto key = hex(c.key);
    auto msg = plain_message();
    SecretBytes next_iv;
    ASSERT_EQ(encrypt_message(msg, c.spec, key, hex(c.iv), next_iv), CryptError::none);
    EXPECT_EQ(to_hex(ByteView(msg).subspan(header_len)), c.ct);
    EXPECT_EQ(msg[19] & flag_encryption, flag_encryption);
    Header h;
    ASSERT_EQ(parse_header(msg, h), ParseError::none);
    EXPECT_EQ(h.length, msg.size());
    EXPECT_EQ(to_hex(next_iv),
              std::string(c.ct).substr(std::string(c.ct).size() - 2 * c.spec.block()));
    // The next message is encrypted under the chained IV.
    auto msg2 = plain_message();
    SecretBytes iv3;
    ASSERT_EQ(encrypt_message(msg2, c.spec, key, next_iv, iv3), CryptError::none);
    EXPECT_EQ(to_hex(ByteView(msg2).subspan(header_len)), c.ct2);
  }
}

TEST(IkeCipher, DecryptKeepsPaddingForThePayloadWalk) {
  for (const auto& c : cases) {
    const auto key = hex(c.key);
    Bytes msg = plain_message();
    SecretBytes unused;
    ASSERT_EQ(encrypt_message(msg, c.spec, key, hex(c.iv), unused), CryptError::none);
    Bytes plain;
    SecretBytes next_iv;
    ASSERT_EQ(decrypt_message(msg, c.spec, key, hex(c.iv), plain, next_iv), CryptError::none);
    const auto body = hex(vec::cipher_body);
    ASSERT_EQ(plain.size(), msg.size());
    EXPECT_EQ(to_hex(ByteView(plain).subspan(header_len, body.size())), vec::cipher_body);
    // Nothing stripped: the zero padding is still there.
    for (std::size_t i = header_len + body.size(); i < plain.size(); ++i) {
      EXPECT_EQ(plain[i], 0);
    }
    EXPECT_EQ(to_hex(next_iv), to_hex(ByteView(msg).last(c.spec.block())));
  }
}

TEST(IkeCipher, DecryptErrors) {
  const auto& c = cases[0];
  const auto key = hex(c.key), iv = hex(c.iv);
  Bytes plain;
  SecretBytes next_iv;
  Bytes msg = plain_message();
  EXPECT_EQ(decrypt_message(msg, c.spec, key, iv, plain, next_iv), CryptError::not_encrypted);
  msg[19] |= flag_encryption;
  EXPECT_EQ(decrypt_message(msg, c.spec, key, iv, plain, next_iv), CryptError::not_block_aligned);
  EXPECT_EQ(decrypt_message(ByteView(msg).first(20), c.spec, key, iv, plain, next_iv),
            CryptError::truncated);
  msg[27] = 0xFF;  // length beyond the datagram
  EXPECT_EQ(decrypt_message(msg, c.spec, key, iv, plain, next_iv), CryptError::truncated);
  Bytes enc = plain_message();
  SecretBytes unused;
  EXPECT_EQ(encrypt_message(enc, c.spec, ByteView(key).first(15), iv, unused), CryptError::bad_key);
  EXPECT_EQ(encrypt_message(enc, {Cipher::des3_cbc, 128}, key, iv, unused), CryptError::bad_key);
}

}  // namespace
}  // namespace l2tpgw::ike
