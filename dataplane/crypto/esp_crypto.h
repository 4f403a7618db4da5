// ESP crypto over Intel IPsec-MB: per-SA key material computed once at
// install (SaKeys), and builders that turn one ESP packet into one IMB_JOB,
// in place, so that a worker can keep a whole burst of jobs in flight.
//
// Packet layout the builders work on (RFC 4303 §2, transport or tunnel alike):
//
//   esp ─► | SPI (4) | Seq (4) | IV (iv_len) | ciphertext ... | ICV (icv_len) |
//          |<──────────────────────── esp_len ──────────────────────────────>|
//
// Integrity covers SPI..end of ciphertext (RFC 4303 §3.3.2, §3.4.4); for
// AES-GCM the SPI and the 32-bit sequence number are the AAD and the ICV is
// the GCM tag over the ciphertext (RFC 4106 §5).
#pragma once

#include <intel-ipsec-mb.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <type_traits>

#include "dataplane/crypto/esp_algorithms.h"

namespace l2tpgw::crypto {

inline constexpr unsigned esp_header_len = 8;            // SPI + sequence number
inline constexpr unsigned gcm_salt_len = 4;              // RFC 4106 §8.1
inline constexpr unsigned gcm_nonce_len = 12;            // salt || explicit IV (RFC 4106 §4)
inline constexpr unsigned hmac_block_len = 64;           // SHA-1 and SHA-256 (RFC 2104 §2)
inline constexpr unsigned aes_round_keys_len = 16 * 15;  // enough for AES-256

// Everything an SA needs on the per-packet path, precomputed once. It holds
// no pointers, so it can be copied into a slot of a shared SA table as is;
// the job builders take the addresses they need from the copy they are given.
struct alignas(64) SaKeys {
  // Only one member is live, chosen by `cipher`; the union keeps a slot small
  // (gcm_key_data alone is ~1 KiB).
  union Cipher {
    // AES-GCM: round keys and GHASH key powers.
    struct gcm_key_data gcm;
    // AES-CBC: encryption and decryption round keys.
    struct Aes {
      alignas(16) std::uint8_t enc[aes_round_keys_len];
      alignas(16) std::uint8_t dec[aes_round_keys_len];
    } aes;
    // 3DES-CBC (RFC 2451): the DES schedules of K1, K2, K3.
    alignas(16) std::uint64_t des3[3][IMB_DES_KEY_SCHED_SIZE / 8];
  } keys;
  alignas(16) std::uint8_t hmac_ipad[32];  // H(K ^ ipad) state after one block
  alignas(16) std::uint8_t hmac_opad[32];  // H(K ^ opad) state after one block
  std::uint8_t gcm_salt[gcm_salt_len];
  EspCipher cipher;
  EspAuth auth;
  std::uint8_t iv_len;     // explicit IV bytes in each packet
  std::uint8_t block_len;  // ciphertext alignment (RFC 4303 §2.4)
  std::uint8_t icv_len;
  // Bytes the job writes past the ICV: IPsec-MB makes an HMAC-SHA-256 tag
  // of 16 bytes at least, so the 96-bit ICV comes with 4 more (encap keeps
  // that much tailroom; the ICV is their first 12).
  std::uint8_t tag_spill;
  std::uint8_t key_len;  // cipher key bytes as IPsec-MB counts them (no salt)
};
static_assert(std::is_trivially_copyable_v<SaKeys>);
static_assert(std::is_standard_layout_v<SaKeys>);

// Memory a job reads after submission, until IPsec-MB hands it back: the GCM
// nonce (salt || IV, RFC 4106 §4), or the table of the three 3DES key
// schedule addresses that IMB_CIPHER_DES3 takes in enc_keys/dec_keys. One per
// job in flight, owned by the caller (e.g. an array beside the burst).
struct alignas(16) JobScratch {
  std::uint8_t bytes[32];
};

// Computes the key material of an SA. False when the pair is not a valid
// transform (valid_pair) or a key has the wrong length: AES-GCM takes
// key || 4-byte salt (RFC 4106 §8.1), HMAC-SHA1-96 a 20-byte key (RFC 2404
// §3), HMAC-SHA-256-128 a 32-byte key (RFC 4868 §2.1.1). `out` is wiped on
// failure.
bool init_sa_keys(IMB_MGR* mgr, SaKeys& out, EspCipher c, EspAuth a,
                  std::span<const std::uint8_t> cipher_key,
                  std::span<const std::uint8_t> auth_key) noexcept;

// Zeroes key material so that it does not outlive the SA.
void wipe(SaKeys& k) noexcept;

// HMAC precompute (RFC 2104 §2): the hash state after the one block
// K ^ ipad, and after K ^ opad, for SHA-1 (20 bytes out) or SHA-256 (32).
// Keys longer than a block are hashed first, as the RFC says. False for
// EspAuth::none.
bool hmac_pads(IMB_MGR* mgr, EspAuth a, std::span<const std::uint8_t> key, std::uint8_t* ipad_out,
               std::uint8_t* opad_out) noexcept;

// True when esp_len can be a packet of this SA: header, IV and ICV present,
// the ciphertext holds at least the 2-byte trailer and is a whole number of
// cipher blocks (RFC 4303 §2.4). Both builders assume it.
bool esp_len_ok(const SaKeys& k, std::uint32_t esp_len) noexcept;

// Fills `job` (from IMB_GET_NEXT_JOB) to check and decrypt one inbound ESP
// packet in place. The ICV computed over the packet is written to icv_out
// (icv_len bytes); the caller compares it with the packet's ICV using
// icv_equal once the job has completed, and only then trusts the plaintext.
// user_data is left to the caller.
void fill_esp_decrypt_job(IMB_JOB* job, const SaKeys& k, std::uint8_t* esp, std::uint32_t esp_len,
                          std::uint8_t* icv_out, JobScratch& scratch) noexcept;

// Fills `job` to encrypt one outbound ESP packet in place. The caller has
// written SPI, sequence number, IV (CBC: unpredictable bytes from IvSource,
// RFC 3602 §3; GCM: the 8-byte explicit IV, unique per key, RFC 4106 §3.1),
// plaintext, padding and trailer; the job writes the ciphertext and the ICV at
// esp + esp_len - icv_len. user_data is left to the caller.
void fill_esp_encrypt_job(IMB_JOB* job, const SaKeys& k, std::uint8_t* esp, std::uint32_t esp_len,
                          JobScratch& scratch) noexcept;

// Constant-time comparison of two ICVs (no early exit on the first
// difference, so timing reveals nothing about how much of a forgery matched).
bool icv_equal(const std::uint8_t* a, const std::uint8_t* b, unsigned len) noexcept;

struct MgrDeleter {
  void operator()(IMB_MGR* m) const noexcept;
};
using MgrPtr = std::unique_ptr<IMB_MGR, MgrDeleter>;

// An IPsec-MB manager set up for the best instruction set of this CPU, or
// null when it cannot be allocated or initialised. One per thread: a
// manager's job queue is not shared.
MgrPtr make_mgr() noexcept;

// Unpredictable IVs for CBC transforms (RFC 3602 §3 forbids predictable
// ones), per worker: AES-128-CTR keystream, keyed from getrandom() once at
// construction and refilled in bulk by one IPsec-MB job, so that take() never
// makes a system call. It has its own IPsec-MB manager so that a refill never
// flushes the worker's jobs in flight.
class IvSource {
 public:
  // Throws std::system_error when the kernel gives no randomness and
  // std::runtime_error when IPsec-MB cannot be set up (start-up only).
  IvSource();
  ~IvSource();
  IvSource(const IvSource&) = delete;
  IvSource& operator=(const IvSource&) = delete;

  void take(std::uint8_t* out, unsigned len) noexcept;

 private:
  // 4 KiB is 256 AES-CBC IVs per refill: one CTR job amortised over a few
  // bursts, and small enough to stay in L1 beside the packets.
  static constexpr unsigned buffer_len = 4096;

  void refill() noexcept;

  MgrPtr _mgr;
  alignas(16) std::uint8_t _enc_keys[aes_round_keys_len];
  alignas(16) std::uint8_t _dec_keys[aes_round_keys_len];
  std::uint8_t _nonce[4];
  std::uint64_t _refills = 0;
  unsigned _pos = buffer_len;
  alignas(64) std::uint8_t _buf[buffer_len];
};

}  // namespace l2tpgw::crypto
