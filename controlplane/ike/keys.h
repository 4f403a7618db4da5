// IKEv1 key schedule (RFC 2409 §5, §5.5, Appendix B): the negotiated PRF is
// HMAC with the negotiated hash; SKEYID and its three children; HASH_I/R;
// the phase-1 encryption key and IVs; Quick Mode hashes and ESP KEYMAT.
// Byte arguments named *_b are payload bodies without their generic header.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>

#include "controlplane/ike/algorithms.h"
#include "controlplane/ike/secret.h"
#include "dataplane/crypto/esp_algorithms.h"

namespace l2tpgw::ike {

using Span = std::span<const std::uint8_t>;

// prf(key, part1 | part2 | ...) = HMAC-hash.
SecretBytes prf(Hash h, Span key, std::initializer_list<Span> parts);
// hash(part1 | part2 | ...), the bare digest (IVs).
SecretBytes digest(Hash h, std::initializer_list<Span> parts);

// RFC 2409 §5: pre-shared keys.
SecretBytes skeyid_psk(Hash h, Span psk, Span ni_b, Span nr_b);
// RFC 2409 §5: signatures.
SecretBytes skeyid_sig(Hash h, Span ni_b, Span nr_b, Span gxy);

struct Phase1Keys {
  SecretBytes skeyid;
  SecretBytes skeyid_d;
  SecretBytes skeyid_a;
  SecretBytes skeyid_e;
  SecretBytes enc_key;  // SKEYID_e expanded/truncated to the cipher's key length
  SecretBytes iv;       // hash(g^xi | g^xr) truncated to the block size
};

// SKEYID_d/a/e (RFC 2409 §5), the encryption key (Appendix B) and the
// first phase-1 IV (Appendix B).
Phase1Keys derive_phase1(Hash h, CipherSpec c, SecretBytes skeyid, Span gxy, Span cky_i, Span cky_r,
                         Span gxi, Span gxr);

// RFC 2409 Appendix B: Ka = K1 | K2 | ..., K1 = prf(SKEYID_e, 0),
// Kn = prf(SKEYID_e, Kn-1), used only when SKEYID_e is too short.
SecretBytes phase1_enc_key(Hash h, Span skeyid_e, std::size_t key_len);

// RFC 2409 §5.
SecretBytes hash_i(Hash h, Span skeyid, Span gxi, Span gxr, Span cky_i, Span cky_r, Span sai_b,
                   Span idii_b);
SecretBytes hash_r(Hash h, Span skeyid, Span gxi, Span gxr, Span cky_i, Span cky_r, Span sai_b,
                   Span idir_b);

// RFC 2409 Appendix B: IV of a new phase-2 or informational exchange =
// hash(last phase-1 CBC output block | M-ID) truncated to the block size.
SecretBytes phase2_iv(Hash h, Span last_phase1_block, std::uint32_t message_id, std::size_t block);

// RFC 2409 §5.5: `after_hash` is every payload that follows the HASH
// payload, generic headers included.
SecretBytes qm_hash1(Hash h, Span skeyid_a, std::uint32_t message_id, Span after_hash);
SecretBytes qm_hash2(Hash h, Span skeyid_a, std::uint32_t message_id, Span ni_b, Span after_hash);
SecretBytes qm_hash3(Hash h, Span skeyid_a, std::uint32_t message_id, Span ni_b, Span nr_b);
// RFC 2409 §5.7: HASH(1) of an informational exchange.
SecretBytes informational_hash(Hash h, Span skeyid_a, std::uint32_t message_id, Span after_hash);

// RFC 2409 §5.5: KEYMAT = K1 | K2 | ... with
// K1 = prf(SKEYID_d, [g(qm)^xy |] protocol | SPI | Ni_b | Nr_b),
// Kn = prf(SKEYID_d, Kn-1 | [g(qm)^xy |] protocol | SPI | Ni_b | Nr_b).
// `gxy_qm` is empty without PFS. `spi` is the SPI of the SA this keying
// material protects (the receiver's). The ESP cipher key comes first, the
// authentication key after it.
SecretBytes keymat(Hash h, Span skeyid_d, Span gxy_qm, std::uint8_t protocol, std::uint32_t spi,
                   Span ni_b, Span nr_b, std::size_t len);

// The ESP keys of one SA (one direction): KEYMAT long enough for both, the
// cipher key taken first and the integrity key after it (RFC 2409 §5.5
// with the key sizes of RFC 3602, RFC 2451, RFC 2404, RFC 4868).
struct EspKeys {
  SecretBytes enc;
  SecretBytes auth;
};
EspKeys esp_keys(Hash h, Span skeyid_d, Span gxy_qm, std::uint32_t spi, Span ni_b, Span nr_b,
                 EspCipher c, EspAuth a);

// Constant-time equality of two MACs (CRYPTO_memcmp); false on a length mismatch.
bool mac_equal(Span a, Span b) noexcept;

}  // namespace l2tpgw::ike
