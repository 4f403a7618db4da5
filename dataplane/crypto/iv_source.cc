#include <openssl/crypto.h>
#include <sys/random.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include "dataplane/crypto/esp_crypto.h"

namespace l2tpgw::crypto {

namespace {

void fill_random(std::uint8_t* out, std::size_t len) {
  while (len > 0) {
    const ssize_t n = getrandom(out, len, 0);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      throw std::system_error(errno, std::generic_category(), "getrandom");
    }
    out += n;
    len -= static_cast<std::size_t>(n);
  }
}

}  // namespace

IvSource::IvSource() : _mgr(make_mgr()) {
  if (!_mgr) {
    throw std::runtime_error("IPsec-MB manager for the IV source could not be set up");
  }
  alignas(16) std::uint8_t key[16];
  fill_random(key, sizeof(key));
  fill_random(_nonce, sizeof(_nonce));
  IMB_AES_KEYEXP_128(_mgr.get(), key, _enc_keys, _dec_keys);
  OPENSSL_cleanse(key, sizeof(key));
  OPENSSL_cleanse(_dec_keys, sizeof(_dec_keys));  // CTR only encrypts
  refill();
}

IvSource::~IvSource() {
  OPENSSL_cleanse(_enc_keys, sizeof(_enc_keys));
  OPENSSL_cleanse(_buf, sizeof(_buf));
}

void IvSource::take(std::uint8_t* out, unsigned len) noexcept {
  while (len > 0) {
    if (_pos == buffer_len) {
      refill();
    }
    const unsigned n = len < buffer_len - _pos ? len : buffer_len - _pos;
    std::memcpy(out, _buf + _pos, n);
    _pos += n;
    out += n;
    len -= n;
  }
}

void IvSource::refill() noexcept {
  // Counter block: random nonce (4) || refill count (8, big-endian) || block
  // index (4). The block index runs 0..255 within one refill, so the counter
  // blocks of two refills never meet, whichever width IPsec-MB increments.
  alignas(16) std::uint8_t counter[16] = {};
  std::memcpy(counter, _nonce, 4);
  for (unsigned i = 0; i < 8; ++i) {
    counter[4 + i] = static_cast<std::uint8_t>(_refills >> (56 - 8 * i));
  }
  ++_refills;

  // The keystream is the CTR encryption of zeros.
  std::memset(_buf, 0, sizeof(_buf));
  IMB_MGR* mgr = _mgr.get();
  IMB_JOB* job = IMB_GET_NEXT_JOB(mgr);
  job->cipher_mode = IMB_CIPHER_CNTR;
  job->cipher_direction = IMB_DIR_ENCRYPT;
  job->chain_order = IMB_ORDER_CIPHER_HASH;
  job->hash_alg = IMB_AUTH_NULL;
  job->enc_keys = _enc_keys;
  job->dec_keys = _enc_keys;
  job->key_len_in_bytes = 16;
  job->src = _buf;
  job->dst = _buf;
  job->cipher_start_src_offset_in_bytes = 0;
  job->msg_len_to_cipher_in_bytes = buffer_len;
  job->hash_start_src_offset_in_bytes = 0;
  job->msg_len_to_hash_in_bytes = 0;
  job->iv = counter;
  job->iv_len_in_bytes = sizeof(counter);
  job->auth_tag_output = nullptr;
  job->auth_tag_output_len_in_bytes = 0;
  job->user_data = nullptr;
  IMB_JOB* done = IMB_SUBMIT_JOB(mgr);
  if (done == nullptr) {
    done = IMB_FLUSH_JOB(mgr);
  }
  // Fixed, valid parameters cannot fail; if they ever did, handing out a
  // zero buffer as IVs would break RFC 3602 §3 silently, so stop instead.
  if (done != job || done->status != IMB_STATUS_COMPLETED) {
    std::abort();
  }
  _pos = 0;
}

}  // namespace l2tpgw::crypto
