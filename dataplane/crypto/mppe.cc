#include "dataplane/crypto/mppe.h"

#include <openssl/crypto.h>

#include <cstring>
#include <initializer_list>

namespace l2tpgw::crypto {

namespace {

constexpr unsigned sha1_len = 20;
constexpr unsigned shs_pad_len = 40;  // SHSpad1 (zeros) and SHSpad2 (0xF2), RFC 3079 §3.4
constexpr std::uint8_t shs_pad2_byte = 0xF2;

// RFC 3079 §3.4.
constexpr char magic1[] = "This is the MPPE Master Key";
constexpr char magic2[] =
    "On the client side, this is the send key; on the server side, it is the receive key.";
constexpr char magic3[] =
    "On the client side, this is the receive key; on the server side, it is the send key.";
constexpr unsigned magic1_len = sizeof(magic1) - 1;
constexpr unsigned magic23_len = sizeof(magic2) - 1;
static_assert(magic1_len == 27 && magic23_len == 84 && sizeof(magic3) - 1 == 84);

// Header bits, RFC 3078 §3.
constexpr std::uint8_t bit_a_flushed = 0x80;
constexpr std::uint8_t bit_c_compressed = 0x20;
constexpr std::uint8_t bit_d_encrypted = 0x10;
constexpr unsigned ccount_mask = mppe_ccount_space - 1;
constexpr unsigned flag_octet = 0xFF;  // "flag" packet: low octet of the count (RFC 3078 §3)

bool is_flag(unsigned ccount) noexcept { return (ccount & 0xFF) == flag_octet; }

// SHA-1 over the concatenation of `parts`, copied into one stack buffer
// because IPsec-MB's one-shot hash takes a single buffer.
struct Part {
  const void* data;
  unsigned len;
};
template <unsigned Cap>
void sha1_concat(IMB_MGR* mgr, std::initializer_list<Part> parts, std::uint8_t* digest) noexcept {
  std::uint8_t buf[Cap];
  unsigned n = 0;
  for (const Part& p : parts) {
    std::memcpy(buf + n, p.data, p.len);
    n += p.len;
  }
  IMB_SHA1(mgr, buf, n, digest);
  OPENSSL_cleanse(buf, n);
}

constexpr std::uint8_t pad1[shs_pad_len] = {};
struct Pad2 {
  std::uint8_t b[shs_pad_len];
  constexpr Pad2() : b{} {
    for (auto& x : b) {
      x = shs_pad2_byte;
    }
  }
};
constexpr Pad2 pad2{};

}  // namespace

namespace mppe {

std::array<std::uint8_t, 16> get_master_key(IMB_MGR* mgr,
                                            std::span<const std::uint8_t, 16> password_hash_hash,
                                            std::span<const std::uint8_t, 24> nt_response) noexcept {
  std::uint8_t digest[sha1_len];
  sha1_concat<16 + 24 + magic1_len>(
      mgr, {{password_hash_hash.data(), 16}, {nt_response.data(), 24}, {magic1, magic1_len}},
      digest);
  std::array<std::uint8_t, 16> out;
  std::memcpy(out.data(), digest, out.size());
  OPENSSL_cleanse(digest, sizeof(digest));
  return out;
}

std::array<std::uint8_t, 16> get_asymmetric_start_key(IMB_MGR* mgr,
                                                      std::span<const std::uint8_t, 16> master_key,
                                                      bool is_send, bool is_server) noexcept {
  // Magic3 names the server's send key and the client's receive key.
  const char* magic = is_send == is_server ? magic3 : magic2;
  std::uint8_t digest[sha1_len];
  sha1_concat<16 + 2 * shs_pad_len + magic23_len>(
      mgr,
      {{master_key.data(), 16}, {pad1, shs_pad_len}, {magic, magic23_len}, {pad2.b, shs_pad_len}},
      digest);
  std::array<std::uint8_t, 16> out;
  std::memcpy(out.data(), digest, out.size());
  OPENSSL_cleanse(digest, sizeof(digest));
  return out;
}

void get_new_key_from_sha(IMB_MGR* mgr, std::span<const std::uint8_t> start_key,
                          std::span<const std::uint8_t> session_key,
                          std::span<std::uint8_t> out) noexcept {
  const auto n = static_cast<unsigned>(out.size());
  std::uint8_t digest[sha1_len];
  sha1_concat<2 * (mppe_max_key_len + shs_pad_len)>(
      mgr,
      {{start_key.data(), n}, {pad1, shs_pad_len}, {session_key.data(), n}, {pad2.b, shs_pad_len}},
      digest);
  std::memcpy(out.data(), digest, n);
  OPENSSL_cleanse(digest, sizeof(digest));
}

void reduce_key(std::span<std::uint8_t> key, MppeBits bits) noexcept {
  switch (bits) {
    case MppeBits::b40:
      key[0] = 0xD1;
      key[1] = 0x26;
      key[2] = 0x9E;
      break;
    case MppeBits::b56:
      key[0] = 0xD1;
      break;
    case MppeBits::b128:
      break;
  }
}

void initial_session_key(IMB_MGR* mgr, std::span<const std::uint8_t> start_key, MppeBits bits,
                         std::span<std::uint8_t, mppe_max_key_len> out) noexcept {
  const unsigned n = mppe_key_len(bits);
  get_new_key_from_sha(mgr, start_key.first(n), start_key.first(n), out.first(n));
  reduce_key(out.first(n), bits);
}

void change_key(IMB_MGR* mgr, std::span<const std::uint8_t> start_key, MppeBits bits,
                std::span<std::uint8_t, mppe_max_key_len> session_key) noexcept {
  const unsigned n = mppe_key_len(bits);
  std::uint8_t interim[mppe_max_key_len];
  get_new_key_from_sha(mgr, start_key.first(n), session_key.first(n), {interim, n});
  Rc4 rc4;
  rc4.set_key(interim, n);
  rc4.crypt(interim, n);
  std::memcpy(session_key.data(), interim, n);
  reduce_key(session_key.first(n), bits);
  OPENSSL_cleanse(interim, sizeof(interim));
  OPENSSL_cleanse(&rc4, sizeof(rc4));
}

}  // namespace mppe

const char* describe(MppeError e) noexcept {
  switch (e) {
#define L2TPGW_MPPE_TEXT(name, text) \
  case MppeError::name:              \
    return text;
    L2TPGW_MPPE_ERRORS(L2TPGW_MPPE_TEXT)
#undef L2TPGW_MPPE_TEXT
  }
  return "unknown";
}

bool MppeState::init(IMB_MGR* mgr, std::span<const std::uint8_t> start_key, MppeBits bits,
                     bool stateless) noexcept {
  const unsigned n = mppe_key_len(bits);
  if (mgr == nullptr || start_key.size() < n) {
    return false;
  }
  *this = MppeState{};
  std::memcpy(_start_key, start_key.data(), n);
  _bits = bits;
  _stateless = stateless;
  mppe::initial_session_key(mgr, {_start_key, n}, bits, _session_key);
  _rc4.set_key(_session_key, n);
  // Both ends count from 0 (RFC 3078 §3): the first frame is "one after"
  // the last count of the space.
  _ccount = mppe_ccount_space - 1;
  return true;
}

void MppeState::rekey(IMB_MGR* mgr) noexcept {
  const unsigned n = mppe_key_len(_bits);
  mppe::change_key(mgr, {_start_key, n}, _bits, _session_key);
  _rc4.set_key(_session_key, n);
}

bool MppeState::encrypt(IMB_MGR* mgr, std::span<std::uint8_t> frame) noexcept {
  if (frame.size() <= mppe_header_len) {
    return false;
  }
  const unsigned ccount = (_ccount + 1u) & ccount_mask;
  _ccount = static_cast<std::uint16_t>(ccount);
  std::uint8_t bits = bit_d_encrypted;
  // RFC 3078 §7.1: stateless, a new key for every frame. §7.2: stateful,
  // before each flag frame. §8.2: after a Reset-Request. Each of these frames
  // carries the A bit so that the receiver re-keys with us.
  if (_stateless || is_flag(ccount) || _flush_next) {
    rekey(mgr);
    bits |= bit_a_flushed;
    _flush_next = false;
  }
  frame[0] = static_cast<std::uint8_t>(bits | ccount >> 8);
  frame[1] = static_cast<std::uint8_t>(ccount & 0xFF);
  _rc4.crypt(frame.data() + mppe_header_len, frame.size() - mppe_header_len);
  return true;
}

MppeResult MppeState::decrypt(IMB_MGR* mgr, std::span<std::uint8_t> frame) noexcept {
  if (frame.size() <= mppe_header_len) {
    return {MppeError::too_short, false, {}};
  }
  const std::uint8_t bits = frame[0];
  const unsigned ccount = static_cast<unsigned>(frame[0] & 0x0F) << 8 | frame[1];
  const bool flushed = (bits & bit_a_flushed) != 0;
  // Sanity checks first, before any state changes: a malformed frame must not
  // move the coherency count. B alone means nothing without MPPC and is
  // ignored; C would need an MPPC decompressor we never negotiate.
  if ((bits & bit_d_encrypted) == 0) {
    return {MppeError::not_encrypted, false, {}};
  }
  if ((bits & bit_c_compressed) != 0) {
    return {MppeError::compressed, false, {}};
  }
  if (!flushed && (_stateless || is_flag(ccount))) {
    return {MppeError::not_flushed, false, {}};
  }

  if (_stateless) {
    // RFC 3078 §8.1: the key follows the coherency count, one change per
    // count, so lost frames only mean more changes. A count that is not
    // ahead by 1..2048 is a late or repeated frame whose key is gone.
    const unsigned ahead = (ccount - _ccount) & ccount_mask;
    if (ahead == 0 || ahead > mppe_ccount_space / 2) {
      return {MppeError::stale_count, false, {}};
    }
    const unsigned n = mppe_key_len(_bits);
    for (unsigned k = 0; k < ahead; ++k) {
      mppe::change_key(mgr, {_start_key, n}, _bits, _session_key);
    }
    _rc4.set_key(_session_key, n);
    _ccount = static_cast<std::uint16_t>(ccount);
  } else {
    // RFC 3078 §8.2. `next` is the count we wait for: the one after the last
    // frame accepted, or, while discarding, the first one that went missing.
    const unsigned next = _discard ? _ccount : (_ccount + 1u) & ccount_mask;
    const unsigned ahead = (ccount - next) & ccount_mask;
    if (ahead >= mppe_ccount_space / 2) {
      // Behind what we wait for: a late or repeated frame. Its place in the
      // RC4 stream has passed, but the stream itself is still in step, so it
      // is dropped without a resynchronisation (and, were it flushed,
      // without counting flag frames around the whole count space).
      return {MppeError::stale_count, false, {}};
    }
    if (!_discard && ahead != 0) {
      // Frames were lost, and with them perhaps key changes. A frame that
      // carries the A bit resynchronises below at once; any other is
      // dropped, and so is everything up to the next A bit.
      _ccount = static_cast<std::uint16_t>(next);
      _discard = true;
      if (!flushed) {
        return {MppeError::coherency_gap, true, {}};
      }
    }
    if (_discard) {
      if (!flushed) {
        return {MppeError::awaiting_flush, false, {}};
      }
      // The sender changed its key at every flag frame we missed (each one
      // ends a block of 256 counts), plus once for this flushed frame below.
      const unsigned n = mppe_key_len(_bits);
      unsigned at = _ccount;
      while ((at & ~0xFFu) != (ccount & ~0xFFu)) {
        mppe::change_key(mgr, {_start_key, n}, _bits, _session_key);
        at = (at + 256) & ccount_mask;
      }
      _discard = false;
    }
    _ccount = static_cast<std::uint16_t>(ccount);
    if (flushed) {
      // A flag frame, or the answer to a Reset-Request: either way the
      // sender changed its key before this frame (RFC 3078 §7.2, §8.2).
      rekey(mgr);
    }
  }
  const std::span<std::uint8_t> inner = frame.subspan(mppe_header_len);
  _rc4.crypt(inner.data(), inner.size());
  return {MppeError::none, false, inner};
}

void MppeState::wipe() noexcept { OPENSSL_cleanse(this, sizeof(*this)); }

}  // namespace l2tpgw::crypto
