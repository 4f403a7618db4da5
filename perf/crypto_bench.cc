// Raw cost of ESP crypto through IPsec-MB, as the data plane drives it: a
// burst of packets submitted as jobs, then flushed, many jobs in flight.
// The pipeline benchmarks put their cycles per packet next to these.
//
// Also OpenSSL's DES-EDE3-CBC on the same sizes, to choose the 3DES engine.
#include <benchmark/benchmark.h>
#include <openssl/evp.h>
#include <x86intrin.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "dataplane/crypto/esp_crypto.h"

namespace {

using namespace l2tpgw;
using namespace l2tpgw::crypto;

// A worker's rx/tx burst.
constexpr unsigned burst = 32;
// Room for the largest packet (1400 + header, IV, padding, ICV), rounded to
// cache lines so packets do not share lines.
constexpr unsigned stride = 1536;

struct Bench {
  MgrPtr mgr = make_mgr();
  SaKeys sa{};
  std::vector<std::uint8_t> buf = std::vector<std::uint8_t>(burst * stride + 64);
  std::uint8_t* packets = nullptr;
  std::uint32_t esp_len = 0;
  JobScratch scratch[burst]{};
  std::uint8_t icv[burst][16]{};

  bool setup(EspCipher c, EspAuth a, unsigned payload) {
    if (!mgr) {
      return false;
    }
    std::mt19937 rng(payload);
    std::uint8_t key[64];
    std::uint8_t auth_key[64];
    for (auto& b : key) {
      b = static_cast<std::uint8_t>(rng());
    }
    for (auto& b : auth_key) {
      b = static_cast<std::uint8_t>(rng());
    }
    if (!init_sa_keys(mgr.get(), sa, c, a, {key, info(c).key_len}, {auth_key, info(a).key_len})) {
      return false;
    }
    const unsigned align = sa.block_len < 4 ? 4 : sa.block_len;
    const unsigned padded = (payload + 2 + align - 1) / align * align;
    esp_len = esp_header_len + sa.iv_len + padded + sa.icv_len;
    packets = buf.data() + (64 - reinterpret_cast<std::uintptr_t>(buf.data()) % 64);
    for (auto& b : buf) {
      b = static_cast<std::uint8_t>(rng());
    }
    return esp_len_ok(sa, esp_len);
  }

  std::uint8_t* packet(unsigned i) { return packets + i * stride; }

  // One burst: fill and submit every packet, then flush. Returns the number
  // of jobs that completed successfully.
  template <bool Encrypt, bool CipherOnly = false>
  unsigned run_burst() {
    IMB_MGR* m = mgr.get();
    unsigned ok = 0;
    auto retire = [&](IMB_JOB* done) {
      for (; done != nullptr; done = IMB_GET_COMPLETED_JOB(m)) {
        ok += done->status == IMB_STATUS_COMPLETED;
      }
    };
    for (unsigned i = 0; i < burst; ++i) {
      IMB_JOB* job = IMB_GET_NEXT_JOB(m);
      if constexpr (Encrypt) {
        fill_esp_encrypt_job(job, sa, packet(i), esp_len, scratch[i]);
      } else {
        fill_esp_decrypt_job(job, sa, packet(i), esp_len, icv[i], scratch[i]);
      }
      if constexpr (CipherOnly) {
        job->hash_alg = IMB_AUTH_NULL;
        job->auth_tag_output_len_in_bytes = 0;
      }
      job->user_data = packet(i);
      retire(IMB_SUBMIT_JOB(m));
    }
    for (IMB_JOB* done = IMB_FLUSH_JOB(m); done != nullptr; done = IMB_FLUSH_JOB(m)) {
      retire(done);
    }
    return ok;
  }
};

void report(benchmark::State& state, std::uint64_t cycles, unsigned payload) {
  const auto packets = static_cast<std::int64_t>(state.iterations()) * burst;
  state.SetItemsProcessed(packets);
  state.SetBytesProcessed(packets * payload);
  state.counters["cycles_per_packet"] =
      packets > 0 ? static_cast<double>(cycles) / static_cast<double>(packets) : 0.0;
}

template <bool Encrypt, bool CipherOnly = false>
void esp_burst(benchmark::State& state, EspCipher c, EspAuth a) {
  const auto payload = static_cast<unsigned>(state.range(0));
  Bench b;
  if (!b.setup(c, a, payload)) {
    state.SkipWithError("SA setup failed");
    return;
  }
  if constexpr (!Encrypt) {
    // Start from real ciphertext; later rounds decrypt garbage at the same cost.
    b.run_burst<true>();
  }
  std::uint64_t cycles = 0;
  for (auto _ : state) {
    const std::uint64_t t0 = __rdtsc();
    const unsigned ok = b.run_burst<Encrypt, CipherOnly>();
    cycles += __rdtsc() - t0;
    if (ok != burst) {
      state.SkipWithError("a job failed");
      break;
    }
  }
  report(state, cycles, payload);
}

void esp_encrypt(benchmark::State& state, EspCipher c, EspAuth a) { esp_burst<true>(state, c, a); }

void esp_decrypt(benchmark::State& state, EspCipher c, EspAuth a) { esp_burst<false>(state, c, a); }

// IPsec-MB 3DES-CBC without the HMAC, to compare like with like against
// OpenSSL below.
void ipsecmb_des3_cbc_only(benchmark::State& state) {
  esp_burst<true, true>(state, EspCipher::des3_cbc, EspAuth::hmac_sha1_96);
}

// OpenSSL DES-EDE3-CBC over the same payloads, one context re-IV'd per
// packet as a per-SA context would be.
void openssl_des3_cbc(benchmark::State& state) {
  const auto payload = static_cast<unsigned>(state.range(0));
  const unsigned len = (payload + 2 + 7) / 8 * 8;
  std::mt19937 rng(payload);
  std::vector<std::uint8_t> data(burst * stride);
  for (auto& b : data) {
    b = static_cast<std::uint8_t>(rng());
  }
  std::uint8_t key[24];
  std::uint8_t iv[8];
  for (auto& b : key) {
    b = static_cast<std::uint8_t>(rng());
  }
  for (auto& b : iv) {
    b = static_cast<std::uint8_t>(rng());
  }
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  if (EVP_EncryptInit_ex(ctx, EVP_des_ede3_cbc(), nullptr, key, iv) != 1 ||
      EVP_CIPHER_CTX_set_padding(ctx, 0) != 1) {
    EVP_CIPHER_CTX_free(ctx);
    state.SkipWithError("OpenSSL init failed");
    return;
  }
  std::uint64_t cycles = 0;
  for (auto _ : state) {
    const std::uint64_t t0 = __rdtsc();
    bool ok = true;
    for (unsigned i = 0; i < burst; ++i) {
      std::uint8_t* p = data.data() + i * stride;
      int n = 0;
      ok &= EVP_EncryptInit_ex(ctx, nullptr, nullptr, nullptr, iv) == 1;
      ok &= EVP_EncryptUpdate(ctx, p, &n, p, static_cast<int>(len)) == 1;
    }
    cycles += __rdtsc() - t0;
    if (!ok) {
      state.SkipWithError("OpenSSL failed");
      break;
    }
  }
  EVP_CIPHER_CTX_free(ctx);
  report(state, cycles, payload);
}

void sizes(benchmark::internal::Benchmark* b) { b->Arg(64)->Arg(512)->Arg(1400); }

BENCHMARK_CAPTURE(esp_encrypt, aes128cbc_sha1_96, EspCipher::aes_cbc_128, EspAuth::hmac_sha1_96)
    ->Apply(sizes);
BENCHMARK_CAPTURE(esp_decrypt, aes128cbc_sha1_96, EspCipher::aes_cbc_128, EspAuth::hmac_sha1_96)
    ->Apply(sizes);
BENCHMARK_CAPTURE(esp_encrypt, aes128gcm, EspCipher::aes_gcm_128, EspAuth::none)->Apply(sizes);
BENCHMARK_CAPTURE(esp_decrypt, aes128gcm, EspCipher::aes_gcm_128, EspAuth::none)->Apply(sizes);
BENCHMARK_CAPTURE(esp_encrypt, aes256cbc_sha256_128, EspCipher::aes_cbc_256,
                  EspAuth::hmac_sha256_128)
    ->Apply(sizes);
BENCHMARK_CAPTURE(esp_decrypt, aes256cbc_sha256_128, EspCipher::aes_cbc_256,
                  EspAuth::hmac_sha256_128)
    ->Apply(sizes);
BENCHMARK_CAPTURE(esp_encrypt, des3cbc_sha1_96, EspCipher::des3_cbc, EspAuth::hmac_sha1_96)
    ->Apply(sizes);
BENCHMARK_CAPTURE(esp_decrypt, des3cbc_sha1_96, EspCipher::des3_cbc, EspAuth::hmac_sha1_96)
    ->Apply(sizes);
BENCHMARK(ipsecmb_des3_cbc_only)->Apply(sizes);
BENCHMARK(openssl_des3_cbc)->Apply(sizes);

}  // namespace

BENCHMARK_MAIN();
