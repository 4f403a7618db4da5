// MPPE, Microsoft Point-to-Point Encryption (RFC 3078), with the key
// derivation of RFC 3079: RC4 over PPP frames of protocol 0x00FD, one
// MppeState per direction per session.
//
// Frame layout the state works on, starting right after the 0x00FD protocol
// field (RFC 3078 §3):
//
//   frame ─► |A|B|C|D| coherency count (12) | inner protocol | inner data ...|
//            |<──────── header (2) ───────>|<──────── RC4 ciphertext ───────>|
//
//   A  "flushed": the sender re-initialised RC4 with a new key before this
//      packet.  B, C: MPPC compression only.  D: the packet is encrypted.
//
// The inner PPP protocol field is encrypted with the data and may be
// compressed to one byte when PFC was negotiated (RFC 1661 §6.5); parsing it
// is left to the caller.
//
// Key changes (RFC 3078 §7): stateless ("history-less") mode changes the key
// on every packet; stateful mode before every "flag" packet (coherency count
// low octet 0xFF) and after a CCP Reset-Request. A new key costs one SHA-1
// (through IPsec-MB, so every call that can change a key takes the worker's
// IMB_MGR) and two RC4 key schedules.
#pragma once

#include <intel-ipsec-mb.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>

#include "dataplane/crypto/rc4.h"

namespace l2tpgw::crypto {

inline constexpr std::uint16_t mppe_ppp_protocol = 0x00FD;  // RFC 3078 §3, single link
inline constexpr unsigned mppe_header_len = 2;
inline constexpr unsigned mppe_ccount_space = 4096;  // 12-bit coherency count
inline constexpr unsigned mppe_max_key_len = 16;

// Session key strength, negotiated in CCP option 18 (RFC 3078 §2.1).
enum class MppeBits : std::uint8_t { b40, b56, b128 };

// RC4 key bytes: 40- and 56-bit keys are 8 bytes with a fixed prefix
// (RFC 3079 §3.1, §3.2), 128-bit keys are 16 (§3.3).
constexpr unsigned mppe_key_len(MppeBits b) noexcept { return b == MppeBits::b128 ? 16 : 8; }

namespace mppe {

// RFC 3079 §3.4 GetMasterKey (MS-CHAPv2): the first 16 bytes of
// SHA-1(PasswordHashHash || NT-Response || Magic1).
std::array<std::uint8_t, 16> get_master_key(IMB_MGR* mgr,
                                            std::span<const std::uint8_t, 16> password_hash_hash,
                                            std::span<const std::uint8_t, 24> nt_response) noexcept;

// RFC 3079 §3.4 GetAsymetricStartKey: SHA-1(MasterKey || SHSpad1 || Magic ||
// SHSpad2), Magic3 for the server's send key and the client's receive key,
// Magic2 for the other two. All 16 bytes are returned; a 40- or 56-bit
// session uses the first 8. These are also what RADIUS carries as
// MS-MPPE-Send-Key / MS-MPPE-Recv-Key.
std::array<std::uint8_t, 16> get_asymmetric_start_key(IMB_MGR* mgr,
                                                      std::span<const std::uint8_t, 16> master_key,
                                                      bool is_send, bool is_server) noexcept;

// RFC 3079 §3.4 GetNewKeyFromSHA (RFC 3078 §7.3 GetKey, first half):
// SHA-1(StartKey || SHSpad1 || SessionKey || SHSpad2), truncated to
// out.size() bytes. start_key and session_key hold at least out.size()
// bytes, of which the first out.size() are used; out may alias session_key.
void get_new_key_from_sha(IMB_MGR* mgr, std::span<const std::uint8_t> start_key,
                          std::span<const std::uint8_t> session_key,
                          std::span<std::uint8_t> out) noexcept;

// Fixes the leading octets of a 40-bit key to D1 26 9E and of a 56-bit key
// to D1 (RFC 3079 §3.1, §3.2; RFC 3078 §7.3). 128-bit keys are untouched.
void reduce_key(std::span<std::uint8_t> key, MppeBits bits) noexcept;

// The first session key of a direction (RFC 3079 §3.1-§3.3):
// GetNewKeyFromSHA(StartKey, StartKey), reduced. mppe_key_len(bits) bytes
// are written to out and start_key must hold at least as many.
void initial_session_key(IMB_MGR* mgr, std::span<const std::uint8_t> start_key, MppeBits bits,
                         std::span<std::uint8_t, mppe_max_key_len> out) noexcept;

// A key change (RFC 3078 §7.3): the interim key from GetNewKeyFromSHA is
// RC4-encrypted with itself, then reduced; session_key is replaced.
void change_key(IMB_MGR* mgr, std::span<const std::uint8_t> start_key, MppeBits bits,
                std::span<std::uint8_t, mppe_max_key_len> session_key) noexcept;

}  // namespace mppe

// Why a received frame was not decrypted. One list makes both the enum and
// the descriptions, so a counter per reason can be built from it.
#define L2TPGW_MPPE_ERRORS(X)                                                          \
  X(none, "decrypted")                                                                 \
  X(too_short, "MPPE frame shorter than its header and one byte")                      \
  X(not_encrypted, "D bit clear: not an encrypted MPPE frame (RFC 3078 §3)")            \
  X(compressed, "C bit set: MPPC compression was not negotiated")                      \
  X(not_flushed, "A bit clear on a stateless frame or a stateful flag frame")          \
  X(stale_count, "stateless: coherency count not ahead of the last one (late, dup)")   \
  X(coherency_gap, "stateful: frames lost, CCP Reset-Request needed (RFC 3078 §8.2)")  \
  X(awaiting_flush, "stateful: discarded until a frame with the A bit (RFC 3078 §8.2)")

enum class MppeError : std::uint8_t {
#define L2TPGW_MPPE_ENUM(name, text) name,
  L2TPGW_MPPE_ERRORS(L2TPGW_MPPE_ENUM)
#undef L2TPGW_MPPE_ENUM
};

const char* describe(MppeError e) noexcept;

struct MppeResult {
  MppeError error;
  // True once, on the frame that revealed a gap in stateful mode: the control
  // plane must send a CCP Reset-Request (RFC 3078 §8.2; RFC 1962 §2.2 for its
  // retransmission until the Reset-Ack).
  bool send_reset_request;
  // On success: the decrypted inner protocol field and data, in place.
  std::span<std::uint8_t> inner;
};

// One direction of MPPE in one session. Trivially copyable and free of
// pointers, so it can live in a session slot; nothing here allocates.
class MppeState {
 public:
  // start_key: the direction's start key (get_asymmetric_start_key, or
  // MS-MPPE-Send-Key / Recv-Key from RADIUS); its first mppe_key_len(bits)
  // bytes are used. False when it is too short or mgr is null.
  bool init(IMB_MGR* mgr, std::span<const std::uint8_t> start_key, MppeBits bits,
            bool stateless) noexcept;

  // Receive: `frame` starts at the MPPE header (after the 0x00FD protocol
  // field) and is decrypted in place.
  MppeResult decrypt(IMB_MGR* mgr, std::span<std::uint8_t> frame) noexcept;

  // Send: frame[0..1] is room for the header, frame[2..] the inner protocol
  // and data; writes the header and encrypts in place. False (and nothing
  // changed) when there is not at least one byte to encrypt.
  bool encrypt(IMB_MGR* mgr, std::span<std::uint8_t> frame) noexcept;

  // For the sending direction, when the peer's CCP Reset-Request arrives (the
  // control plane answers with a Reset-Ack): the next frame sent carries a
  // new key and the A bit (RFC 3078 §8.2). Several Reset-Requests before that
  // frame make one key change, since the peer cannot count them. Our own
  // Reset-Ack coming back needs no call: the receiving side resynchronises on
  // the A bit alone.
  void reset() noexcept { _flush_next = true; }

  // Zeroes the keys so that they do not outlive the session.
  void wipe() noexcept;

  std::uint16_t coherency_count() const noexcept { return _ccount; }
  bool discarding() const noexcept { return _discard; }
  bool stateless() const noexcept { return _stateless; }
  MppeBits bits() const noexcept { return _bits; }

 private:
  void rekey(IMB_MGR* mgr) noexcept;

  Rc4 _rc4;
  std::uint8_t _start_key[mppe_max_key_len];
  std::uint8_t _session_key[mppe_max_key_len];
  std::uint16_t _ccount;  // last sent, or last accepted
  MppeBits _bits;
  bool _stateless;
  bool _discard;     // receive, stateful: waiting for an A bit after a gap
  bool _flush_next;  // send: Reset-Request pending
};
static_assert(std::is_trivially_copyable_v<MppeState>);
static_assert(std::is_standard_layout_v<MppeState>);

}  // namespace l2tpgw::crypto
