// RC4 against the keystreams of RFC 6229 §2 (several key lengths, offsets up
// to 4096) and against OpenSSL's RC4 (legacy provider) for random keys.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/provider.h>

#include <random>

#include "dataplane/crypto/rc4.h"
#include "tests/unit/crypto/crypto_test_util.h"

namespace l2tpgw::crypto {
namespace {

using test::Bytes;
using test::hex;

struct Rfc6229Case {
  const char* key;
  // 32 keystream bytes at offsets 0, 240, 1520 and 4080 (each the RFC's two
  // 16-byte rows: offsets 0 and 16, 240 and 256, ...).
  const char* at0;
  const char* at240;
  const char* at1520;
  const char* at4080;
};

// RFC 6229 §2: keys 0x0102..., then the keys ending in 0x...833222772a.
const Rfc6229Case rfc6229[] = {
    {"0102030405",  // 40 bits
     "b2396305f03dc027ccc3524a0a1118a8 6982944f18fc82d589c403a47a0d0919",
     "28cb1132c96ce286421dcaadb8b69eae 1cfcf62b03eddb641d77dfcf7f8d8c93",
     "3294f744d8f9790507e70f62e5bbceea d8729db41882259bee4f825325f5a130",
     "068326a2118416d21f9d04b2cd1ca050 ff25b58995996707e51fbdf08b34d875"},
    {"01020304050607",  // 56 bits
     "293f02d47f37c9b633f2af5285feb46b e620f1390d19bd84e2e0fd752031afc1",
     "914f02531c9218810df60f67e338154c d0fdb583073ce85ab83917740ec011d5",
     "d2aa902bd42d0d7cfd340cd45810529f 78b272c96e42eab4c60bd914e39d06e3",
     "f3172ceffc3b3d997c85ccd5af1a950c e74b0b9731227fd37c0ec08a47ddd8b8"},
    {"0102030405060708",  // 64 bits: the length of MPPE's 40/56-bit keys
     "97ab8a1bf0afb96132f2f67258da15a8 8263efdb45c4a18684ef87e6b19e5b09",
     "9636ebc9841926f4f7d1f362bddf6e18 d0a990ff2c05fef5b90373c9ff4b870a",
     "1fe8986713f07c3d9ae1c163ff8cf9d3 8369e1a965610be887fbd0c79162aafb",
     "d5fa5a3469d29aaaf83d23589db8c85b 3fb46e2c8f0f068edce8cdcd7dfc5862"},
    {"0102030405060708090a0b0c0d0e0f10",  // 128 bits
     "9ac7cc9a609d1ef7b2932899cde41b97 5248c4959014126a6e8a84f11d1a9e1c",
     "065902e4b620f6cc36c8589f66432f2b d39d566bc6bce3010768151549f3873f",
     "b40110c4190b5622a96116b0017ed297 ffa0b514647ec04f6306b892ae661181",
     "ff38265c1642c1abe8d3c2fe5e572bf8 a36a4c301ae8ac13610ccbc12256cacc"},
    {"0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20",  // 256 bits
     "eaa6bd25880bf93d3f5d1e4ca2611d91 cfa45c9f7e714b54bdfa80027cb14380",
     "114ae344ded71b35f2e60febad727fd8 02e1e7056b0f623900496422943e97b6",
     "40f250b26d1f096a4afd4c340a588815 3e34135c79db010200767651cf263073",
     "a13a7c79c7e119b5ab0296ab28c300b9 f3e4c0a2e02d1d01f7f0a74618af2b48"},
    {"833222772a",  // 40 bits
     "80ad97bdc973df8a2e879e92a497efda 20f060c2f2e5126501d3d4fea10d5fc0",
     "faa148e99046181fec6b2085f3b20ed9 f0daf5bab3d596839857846f73fbfe5a",
     "adb89cea9a15fbe617295bd04b8ca05c 6251d87fd4aaae9a7e4ad5c217d3f300",
     "6349d126a37afcba89794f9804914fdc bf42c3018c2f7c66bfde524975768115"},
    {"641910833222772a",  // 64 bits
     "bbf609de9413172d07660cb680716926 46101a6dab43115d6c522b4fe93604a9",
     "cbe1fff21c96f3eef61e8fe0542cbdf0 347938bffa4009c512cfb4034b0dd1a7",
     "bd3820f732ffb53ec193e79d33e27c73 d0168616861907d482e36cdac8cf5749",
     "6b6b098d0c293bc2993d80bf0518b6d9 8170cc3ccd92a698621b939dd38fe7b9"},
    {"ebb46227c6cc8b37641910833222772a",  // 128 bits
     "720c94b63edf44e131d950ca211a5a30 c366fdeacf9ca80436be7c358424d20b",
     "b3394a40aabf75cba42282ef25a0059f 4847d81da4942dbc249defc48c922b9f",
     "3c70047e8cbc038e3b9820db601da495 1175da6ee756de46a53e2b075660b770",
     "a2221a11b833ccb498a59540f0545f4a 5bbeb4787d59e5373fdbea6c6f75c29b"},
};

Bytes keystream(const Bytes& key, std::size_t len) {
  Rc4 rc4;
  rc4.set_key(key.data(), static_cast<unsigned>(key.size()));
  Bytes out(len, 0);
  rc4.crypt(out.data(), out.size());
  return out;
}

Bytes slice(const Bytes& b, std::size_t off, std::size_t len) {
  return Bytes(b.begin() + static_cast<std::ptrdiff_t>(off),
               b.begin() + static_cast<std::ptrdiff_t>(off + len));
}

TEST(Rc4, Rfc6229Keystreams) {
  for (const auto& c : rfc6229) {
    SCOPED_TRACE(c.key);
    const Bytes ks = keystream(hex(c.key), 4112);
    EXPECT_EQ(slice(ks, 0, 32), hex(c.at0));
    EXPECT_EQ(slice(ks, 240, 32), hex(c.at240));
    EXPECT_EQ(slice(ks, 1520, 32), hex(c.at1520));
    EXPECT_EQ(slice(ks, 4080, 32), hex(c.at4080));
  }
}

// The state carries over between calls: a stream cut into uneven pieces is
// the same stream.
TEST(Rc4, StreamContinuesAcrossCalls) {
  const Bytes key = hex(rfc6229[3].key);
  Rc4 rc4;
  rc4.set_key(key.data(), static_cast<unsigned>(key.size()));
  Bytes ks(4112, 0);
  std::size_t off = 0;
  for (std::size_t piece = 1; off < ks.size(); piece = piece * 3 % 97 + 1) {
    const std::size_t n = std::min(piece, ks.size() - off);
    rc4.crypt(ks.data() + off, n);
    off += n;
  }
  EXPECT_EQ(slice(ks, 0, 32), hex(rfc6229[3].at0));
  EXPECT_EQ(slice(ks, 4080, 32), hex(rfc6229[3].at4080));
}

// Re-keying a used state starts the new stream from scratch, as MPPE's key
// changes need (RFC 3078 §7.3).
TEST(Rc4, SetKeyResetsTheState) {
  const Bytes k1 = hex(rfc6229[0].key);
  const Bytes k2 = hex(rfc6229[5].key);
  Rc4 rc4;
  rc4.set_key(k1.data(), static_cast<unsigned>(k1.size()));
  Bytes junk(777, 0);
  rc4.crypt(junk.data(), junk.size());
  rc4.set_key(k2.data(), static_cast<unsigned>(k2.size()));
  Bytes ks(32, 0);
  rc4.crypt(ks.data(), ks.size());
  EXPECT_EQ(ks, hex(rfc6229[5].at0));
}

// Random keys of every length MPPE and others use, against OpenSSL's RC4.
TEST(Rc4, MatchesOpenSslForRandomKeys) {
  OSSL_PROVIDER* legacy = OSSL_PROVIDER_load(nullptr, "legacy");
  OSSL_PROVIDER* deflt = OSSL_PROVIDER_load(nullptr, "default");
  ASSERT_NE(legacy, nullptr) << "OpenSSL legacy provider (RC4) not installed";
  EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, "RC4", nullptr);
  ASSERT_NE(cipher, nullptr);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  std::mt19937 rng(3078);
  for (unsigned key_len : {1u, 5u, 7u, 8u, 13u, 16u, 32u, 256u}) {
    for (unsigned len : {1u, 64u, 512u, 1400u}) {
      SCOPED_TRACE(testing::Message() << "key " << key_len << " data " << len);
      const Bytes key = test::random_bytes(rng, key_len);
      const Bytes data = test::random_bytes(rng, len);
      Bytes ref(len);
      int n = 0;
      ASSERT_EQ(EVP_EncryptInit_ex(ctx, cipher, nullptr, nullptr, nullptr), 1);
      ASSERT_EQ(EVP_CIPHER_CTX_set_key_length(ctx, static_cast<int>(key_len)), 1);
      ASSERT_EQ(EVP_EncryptInit_ex(ctx, nullptr, nullptr, key.data(), nullptr), 1);
      ASSERT_EQ(EVP_EncryptUpdate(ctx, ref.data(), &n, data.data(), static_cast<int>(len)), 1);
      Bytes ours = data;
      Rc4 rc4;
      rc4.set_key(key.data(), key_len);
      rc4.crypt(ours.data(), ours.size());
      EXPECT_EQ(ours, ref);
    }
  }
  EVP_CIPHER_CTX_free(ctx);
  EVP_CIPHER_free(cipher);
  OSSL_PROVIDER_unload(deflt);
  OSSL_PROVIDER_unload(legacy);
}

}  // namespace
}  // namespace l2tpgw::crypto
