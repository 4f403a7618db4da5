// RC4 for MPPE: our own implementation against OpenSSL's, to choose the
// engine. MPPE stateless mode changes the key on every packet (RFC 3078
// §7.1), so each "rekey" case runs one key schedule plus one packet; the
// "stream" cases run the packet alone, as stateful mode does between key
// changes. The mppe_* cases are the whole per-packet cost of MppeState
// (header, SHA-1 key change, RC4), which is what a worker pays.
//
// OpenSSL is measured two ways: EVP with the legacy provider, one context
// created up front and re-keyed in place per packet (the only non-deprecated
// way to reach RC4 in OpenSSL 3), and the deprecated low-level RC4_set_key /
// RC4 (its x86-64 assembly without the EVP dispatch), for reference.
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <benchmark/benchmark.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/rc4.h>
#include <x86intrin.h>

#include <cstdint>
#include <random>
#include <vector>

#include "dataplane/crypto/esp_crypto.h"
#include "dataplane/crypto/mppe.h"
#include "dataplane/crypto/rc4.h"

namespace {

using namespace l2tpgw::crypto;

// A worker's rx burst.
constexpr unsigned burst = 32;
constexpr unsigned stride = 1536;
constexpr unsigned key_len = 16;  // 128-bit MPPE, the usual choice

struct Packets {
  std::vector<std::uint8_t> buf = std::vector<std::uint8_t>(burst * stride);
  std::uint8_t keys[burst][key_len]{};

  explicit Packets(unsigned seed) {
    std::mt19937 rng(seed);
    for (auto& b : buf) {
      b = static_cast<std::uint8_t>(rng());
    }
    for (auto& k : keys) {
      for (auto& b : k) {
        b = static_cast<std::uint8_t>(rng());
      }
    }
  }
  std::uint8_t* packet(unsigned i) { return buf.data() + i * stride; }
};

void report(benchmark::State& state, std::uint64_t cycles, unsigned payload) {
  const auto packets = static_cast<std::int64_t>(state.iterations()) * burst;
  state.SetItemsProcessed(packets);
  state.SetBytesProcessed(packets * payload);
  state.counters["cycles_per_packet"] =
      packets > 0 ? static_cast<double>(cycles) / static_cast<double>(packets) : 0.0;
}

template <bool Rekey>
void own_rc4(benchmark::State& state) {
  const auto len = static_cast<unsigned>(state.range(0));
  Packets p(len);
  Rc4 rc4;
  rc4.set_key(p.keys[0], key_len);
  std::uint64_t cycles = 0;
  for (auto _ : state) {
    const std::uint64_t t0 = __rdtsc();
    for (unsigned i = 0; i < burst; ++i) {
      if constexpr (Rekey) {
        rc4.set_key(p.keys[i], key_len);
      }
      rc4.crypt(p.packet(i), len);
    }
    cycles += __rdtsc() - t0;
    benchmark::DoNotOptimize(p.buf.data());
  }
  report(state, cycles, len);
}

template <bool Rekey>
void openssl_lowlevel_rc4(benchmark::State& state) {
  const auto len = static_cast<unsigned>(state.range(0));
  Packets p(len);
  RC4_KEY key;
  RC4_set_key(&key, key_len, p.keys[0]);
  std::uint64_t cycles = 0;
  for (auto _ : state) {
    const std::uint64_t t0 = __rdtsc();
    for (unsigned i = 0; i < burst; ++i) {
      if constexpr (Rekey) {
        RC4_set_key(&key, key_len, p.keys[i]);
      }
      RC4(&key, len, p.packet(i), p.packet(i));
    }
    cycles += __rdtsc() - t0;
    benchmark::DoNotOptimize(p.buf.data());
  }
  report(state, cycles, len);
}

template <bool Rekey>
void openssl_evp_rc4(benchmark::State& state) {
  const auto len = static_cast<unsigned>(state.range(0));
  Packets p(len);
  // RC4 lives in the legacy provider; naming any provider stops the default
  // one from loading implicitly, so both are loaded.
  OSSL_PROVIDER* legacy = OSSL_PROVIDER_load(nullptr, "legacy");
  OSSL_PROVIDER* deflt = OSSL_PROVIDER_load(nullptr, "default");
  EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, "RC4", nullptr);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  if (legacy == nullptr || cipher == nullptr || ctx == nullptr ||
      EVP_EncryptInit_ex(ctx, cipher, nullptr, p.keys[0], nullptr) != 1) {
    state.SkipWithError("OpenSSL RC4 (legacy provider) unavailable");
  } else {
    std::uint64_t cycles = 0;
    for (auto _ : state) {
      const std::uint64_t t0 = __rdtsc();
      bool ok = true;
      for (unsigned i = 0; i < burst; ++i) {
        int n = 0;
        if constexpr (Rekey) {
          ok &= EVP_EncryptInit_ex(ctx, nullptr, nullptr, p.keys[i], nullptr) == 1;
        }
        ok &= EVP_EncryptUpdate(ctx, p.packet(i), &n, p.packet(i), static_cast<int>(len)) == 1;
      }
      cycles += __rdtsc() - t0;
      if (!ok) {
        state.SkipWithError("OpenSSL failed");
        break;
      }
    }
    report(state, cycles, len);
  }
  EVP_CIPHER_CTX_free(ctx);
  EVP_CIPHER_free(cipher);
  if (deflt != nullptr) {
    OSSL_PROVIDER_unload(deflt);
  }
  if (legacy != nullptr) {
    OSSL_PROVIDER_unload(legacy);
  }
}

// One MPPE direction as a worker runs it: a burst of packets encrypted by a
// sender state and decrypted in place by a receiver state, the cost of the
// receive side only being timed. Stateless mode pays a SHA-1 and two RC4 key
// schedules per packet (RFC 3078 §7.1, §7.3); stateful mode only the stream.
void mppe_decrypt(benchmark::State& state, bool stateless) {
  const auto len = static_cast<unsigned>(state.range(0));
  MgrPtr mgr = make_mgr();
  Packets p(len);
  MppeState tx;
  MppeState rx;
  if (!mgr || !tx.init(mgr.get(), {p.keys[0], key_len}, MppeBits::b128, stateless) ||
      !rx.init(mgr.get(), {p.keys[0], key_len}, MppeBits::b128, stateless)) {
    state.SkipWithError("MPPE init failed");
    return;
  }
  // header + inner protocol and data
  const unsigned frame = mppe_header_len + len;
  std::vector<std::uint8_t> plain(frame);
  for (unsigned i = 0; i < frame; ++i) {
    plain[i] = static_cast<std::uint8_t>(i);
  }
  std::uint64_t cycles = 0;
  for (auto _ : state) {
    state.PauseTiming();
    for (unsigned i = 0; i < burst; ++i) {
      std::copy(plain.begin(), plain.end(), p.packet(i));
      tx.encrypt(mgr.get(), {p.packet(i), frame});
    }
    state.ResumeTiming();
    const std::uint64_t t0 = __rdtsc();
    unsigned ok = 0;
    for (unsigned i = 0; i < burst; ++i) {
      ok += rx.decrypt(mgr.get(), {p.packet(i), frame}).error == MppeError::none;
    }
    cycles += __rdtsc() - t0;
    if (ok != burst) {
      state.SkipWithError("MPPE decrypt failed");
      break;
    }
  }
  report(state, cycles, len);
}

void sizes(benchmark::internal::Benchmark* b) { b->Arg(64)->Arg(512)->Arg(1400); }

BENCHMARK_TEMPLATE(own_rc4, true)->Name("rekey/own_rc4")->Apply(sizes);
BENCHMARK_TEMPLATE(openssl_evp_rc4, true)->Name("rekey/openssl_evp_rc4")->Apply(sizes);
BENCHMARK_TEMPLATE(openssl_lowlevel_rc4, true)->Name("rekey/openssl_lowlevel_rc4")->Apply(sizes);
BENCHMARK_TEMPLATE(own_rc4, false)->Name("stream/own_rc4")->Apply(sizes);
BENCHMARK_TEMPLATE(openssl_evp_rc4, false)->Name("stream/openssl_evp_rc4")->Apply(sizes);
BENCHMARK_TEMPLATE(openssl_lowlevel_rc4, false)->Name("stream/openssl_lowlevel_rc4")->Apply(sizes);
BENCHMARK_CAPTURE(mppe_decrypt, stateless_128, true)->Apply(sizes);
BENCHMARK_CAPTURE(mppe_decrypt, stateful_128, false)->Apply(sizes);

}  // namespace

BENCHMARK_MAIN();
