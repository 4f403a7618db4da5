// MPPE: the key derivation of RFC 3079 against its §3.5 sample derivations,
// and MppeState against frames made by an independent MPPE sender written in
// Python (tests/unit/crypto/gen_mppe_vectors.py: hashlib SHA-1 and
// python3-cryptography's ARC4, RFC 3078 §3/§7/§8).
#include <gtest/gtest.h>

#include <array>
#include <cstring>

#include "dataplane/crypto/mppe.h"
#include "tests/unit/crypto/crypto_test_util.h"

namespace l2tpgw::crypto {
namespace {

using test::Bytes;
using test::hex;

// ---- RFC 3079 §3.5.3 (MS-CHAPv2, Password "clientPass", User "User") ----
const Bytes password_hash_hash = hex("41 C0 0C 58 4B D2 D9 1C 40 17 A2 A1 2F A5 9F 3F");
const Bytes nt_response = hex(
    "82 30 9E CD 8D 70 8B 5E A0 8F AA 39 81 CD 83 54 42 33 11 4A 3D 85 D6 DF");
const Bytes rfc_master_key = hex("FD EC E3 71 7A 8C 83 8C B3 88 E5 27 AE 3C DD 31");
// The RFC derives its sample from the server's side: GetAsymetricStartKey
// with IsSend = IsServer = TRUE, i.e. Magic3.
const Bytes rfc_send_start_key = hex("8B 7C DC 14 9B 99 3A 1B A1 18 CB 15 3F 56 DC CB");
// §3.5.1 (SendStartKey40 is the first 8 bytes of the above).
const Bytes rfc_session_key_40 = hex("D1 26 9E C4 9F A6 2E 3E");
// §3.5.2.
const Bytes rfc_session_key_56 = hex("D1 5C 00 C4 9F A6 2E 3E");
// §3.5.3.
const Bytes rfc_session_key_128 = hex("40 5C B2 24 7A 79 56 E6 E2 11 00 7A E2 7B 22 D4");
// "Sample Encrypted Message": rc4(SendSessionKey, "test message").
const Bytes rfc_sample_40 = hex("92 91 37 91 7E 58 03 D6 68 D7 58 98");    // §3.5.1
const Bytes rfc_sample_128 = hex("81 84 83 17 DF 68 84 62 72 FB 5A BE");   // §3.5.3

// ---- gen_mppe_vectors.py ----
// The Magic2 start key (client send, server receive) of the same master key.
const Bytes py_client_send_start_key = hex("d5f0e9521e3ea9589645e86051c82226");
// rc4(SendSessionKey56, "test message"): computed, not copied from §3.5.2.
const Bytes py_sample_56 = hex("3f106833fa448da842bc57b8");
// One RFC 3078 §7.3 key change from the RFC's initial session keys.
const Bytes py_changed_key_40 = hex("d1269ece4d98d181");
const Bytes py_changed_key_56 = hex("d16182a2ab481407");
const Bytes py_changed_key_128 = hex("726f10500e2b54135b1b74d7682f0471");

// Frames (MPPE header + ciphertext) of inner_frame(i), sent with the RFC's
// send start key unless noted.
// Stateless 128-bit: frames 0, 1, 2 and 4096 (count 0 again, 4097 keys on).
const char* const py_stateless128[] = {
    "90007058562ae26c5cbfd561812c755f99b767ff28c2",
    "9001353ce621af3be5504fd314879c80e35615a52269",
    "9002ccd93ed421a8d94cc05cb304eaf617d7b464a15d",
};
const char* const py_stateless128_4096 = "900093dc3000f3cc27101cff3cc117f3a86b9e363f73";
// Stateful 128-bit: frames 0, 1, 254, 255 (flag), 256, 299, 511 and 767
// (flags).
struct IndexedFrame {
  unsigned index;
  const char* frame;
};
const IndexedFrame py_stateful128[] = {
    {0, "1000f5c0f062fd06e514079d35d295c9eeb5d16420ab"},
    {1, "10010d07486abc89e2c070a28846048f529a8185ce91"},
    {254, "10fed3e08969827792a90816eb3972ad7de28ebc3806"},
    {255, "90ff7058afd11b93a5442c6688277c5090bc6ef831d9"},
    {256, "110045d4b4350f269957d184424458e693dfcc329d37"},
    {299, "112b30386266fb6e36ca412a8d8ed636138071857b86"},
    {511, "91ff353c18d35dcd13a2bddd1a958e96f54407bb3c7b"},
    {767, "92ffccd9c921ca4536a12b49a411f1eb08caaf71b648"},
};
// Stateful 128-bit, a CCP Reset-Request received after frame 5: frame 6 is
// flushed and has a new key.
const char* const py_stateful128_reset[] = {
    "1000f5c0f062fd06e514079d35d295c9eeb5d16420ab",
    "10010d07486abc89e2c070a28846048f529a8185ce91",
    "1002abd8d236e3d315821b22bf146db510236538bfa6",
    "10034be443281f44794d3cf9188e1816264cd0789744",
    "1004b91846eb562dc4ee40eba8502e5521d8a0bda52e",
    "1005730e3f5822343db26daaeb5ee36e6516f0600214",
    "900670587c00cc427695e357bb164b61a38d51c902e8",
    "100745d485063e11a864e0bb737769d1a2ecfd7dcc64",
    "1008f5ddee7abc74f0e1e0a9845fc52a4166cb832341",
    "10095beefb8e754b081ff55769b7a12083b69333c256",
};
// Stateless 40-bit, sent by the client (Magic2 start key): frames 0, 1.
const char* const py_stateless40[] = {
    "9000b243e7911d730dc5972893f09ec6958254cb8a6a",
    "9001743fa977c1ef7ccce2a628aa00617612acafb436",
};
// Stateful 56-bit: frames 0, 1, 255 (flag), 256.
const IndexedFrame py_stateful56[] = {
    {0, "10004b541b46d82aecde37da38d4ba6cbf7637ac832f"},
    {1, "1001cc020e17100503c1a14081bf67fbd113a30a00ee"},
    {255, "90ff68da0aa15e877aa7f082e417b98050a3f86934a4"},
    {256, "1100cabb5980dc9d3fc7200255b59a02146cd7060f03"},
};

// The inner PPP frame the generator encrypts: protocol 0x0021, then a
// pattern of the index (gen_mppe_vectors.py inner()).
Bytes inner_frame(unsigned i) {
  Bytes b = {0x00, 0x21};
  for (unsigned k = 0; k < 18; ++k) {
    b.push_back(static_cast<std::uint8_t>((i * 7 + k) & 0xFF));
  }
  return b;
}

// Room for the header, then the inner frame.
Bytes plain_frame(unsigned i) {
  Bytes b = {0, 0};
  const Bytes in = inner_frame(i);
  b.insert(b.end(), in.begin(), in.end());
  return b;
}

class Mppe : public testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(mgr); }

  Bytes encrypt(MppeState& s, unsigned i) {
    Bytes f = plain_frame(i);
    EXPECT_TRUE(s.encrypt(m(), f));
    return f;
  }

  // Decrypts a copy of `frame` and checks that it gives inner_frame(i).
  ::testing::AssertionResult decrypts_to(MppeState& s, const Bytes& frame, unsigned i) {
    Bytes f = frame;
    const MppeResult r = s.decrypt(m(), f);
    if (r.error != MppeError::none) {
      return ::testing::AssertionFailure() << describe(r.error);
    }
    if (r.send_reset_request) {
      return ::testing::AssertionFailure() << "reset requested on success";
    }
    if (Bytes(r.inner.begin(), r.inner.end()) != inner_frame(i)) {
      return ::testing::AssertionFailure() << "wrong plaintext for frame " << i;
    }
    return ::testing::AssertionSuccess();
  }

  // Decrypts a copy of `frame`, for the error and flags only: the inner span
  // of the result points into the copy, which is gone on return.
  MppeResult decrypt(MppeState& s, const Bytes& frame) {
    Bytes f = frame;
    return s.decrypt(m(), f);
  }

  IMB_MGR* m() { return mgr.get(); }

  MgrPtr mgr = make_mgr();
};

std::span<const std::uint8_t, 16> s16(const Bytes& b) {
  return std::span<const std::uint8_t, 16>(b.data(), 16);
}

Bytes first(std::span<const std::uint8_t> b, std::size_t n) {
  return Bytes(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(n));
}

// ---- key derivation ----

TEST_F(Mppe, Rfc3079MasterKey) {
  const auto mk = mppe::get_master_key(m(), s16(password_hash_hash),
                                       std::span<const std::uint8_t, 24>(nt_response.data(), 24));
  EXPECT_EQ(first(mk, 16), rfc_master_key);
}

TEST_F(Mppe, Rfc3079AsymmetricStartKeys) {
  // Magic3: the server's send key is the client's receive key.
  EXPECT_EQ(first(mppe::get_asymmetric_start_key(m(), s16(rfc_master_key), true, true), 16),
            rfc_send_start_key);
  EXPECT_EQ(first(mppe::get_asymmetric_start_key(m(), s16(rfc_master_key), false, false), 16),
            rfc_send_start_key);
  // Magic2: the client's send key is the server's receive key.
  EXPECT_EQ(first(mppe::get_asymmetric_start_key(m(), s16(rfc_master_key), true, false), 16),
            py_client_send_start_key);
  EXPECT_EQ(first(mppe::get_asymmetric_start_key(m(), s16(rfc_master_key), false, true), 16),
            py_client_send_start_key);
}

TEST_F(Mppe, Rfc3079InitialSessionKeys) {
  std::array<std::uint8_t, 16> k{};
  mppe::initial_session_key(m(), rfc_send_start_key, MppeBits::b40, k);
  EXPECT_EQ(first(k, 8), rfc_session_key_40);
  mppe::initial_session_key(m(), rfc_send_start_key, MppeBits::b56, k);
  EXPECT_EQ(first(k, 8), rfc_session_key_56);
  mppe::initial_session_key(m(), rfc_send_start_key, MppeBits::b128, k);
  EXPECT_EQ(first(k, 16), rfc_session_key_128);
}

TEST_F(Mppe, Rfc3079GetNewKeyFromSha) {
  // §3.5.3 Step 5 is GetNewKeyFromSHA(StartKey, StartKey) with no reduction.
  Bytes out(16);
  mppe::get_new_key_from_sha(m(), rfc_send_start_key, rfc_send_start_key, out);
  EXPECT_EQ(out, rfc_session_key_128);
}

TEST_F(Mppe, Rfc3079SampleEncryptedMessages) {
  const Bytes msg = test::ascii("test message");
  const struct {
    const Bytes& key;
    const Bytes& expect;
  } cases[] = {{rfc_session_key_40, rfc_sample_40},
               {rfc_session_key_56, py_sample_56},
               {rfc_session_key_128, rfc_sample_128}};
  for (const auto& c : cases) {
    Bytes data = msg;
    Rc4 rc4;
    rc4.set_key(c.key.data(), static_cast<unsigned>(c.key.size()));
    rc4.crypt(data.data(), data.size());
    EXPECT_EQ(data, c.expect);
  }
}

TEST_F(Mppe, ReduceKey) {
  Bytes k(16, 0x55);
  mppe::reduce_key(k, MppeBits::b40);
  EXPECT_EQ(k, hex("D1269E55555555555555555555555555"));
  k.assign(16, 0x55);
  mppe::reduce_key(k, MppeBits::b56);
  EXPECT_EQ(k, hex("D1555555555555555555555555555555"));
  k.assign(16, 0x55);
  mppe::reduce_key(k, MppeBits::b128);
  EXPECT_EQ(k, Bytes(16, 0x55));
}

TEST_F(Mppe, Rfc3078KeyChange) {
  const struct {
    MppeBits bits;
    const Bytes& initial;
    const Bytes& changed;
  } cases[] = {{MppeBits::b40, rfc_session_key_40, py_changed_key_40},
               {MppeBits::b56, rfc_session_key_56, py_changed_key_56},
               {MppeBits::b128, rfc_session_key_128, py_changed_key_128}};
  for (const auto& c : cases) {
    std::array<std::uint8_t, 16> k{};
    std::memcpy(k.data(), c.initial.data(), c.initial.size());
    mppe::change_key(m(), rfc_send_start_key, c.bits, k);
    EXPECT_EQ(first(k, c.changed.size()), c.changed);
  }
}

// ---- frames ----

TEST_F(Mppe, InitRejectsShortKeyAndNullManager) {
  MppeState s;
  EXPECT_FALSE(s.init(m(), std::span(rfc_send_start_key).first(8), MppeBits::b128, true));
  EXPECT_TRUE(s.init(m(), std::span(rfc_send_start_key).first(8), MppeBits::b40, true));
  EXPECT_FALSE(s.init(nullptr, rfc_send_start_key, MppeBits::b128, true));
}

TEST_F(Mppe, Stateless128MatchesIndependentSender) {
  MppeState tx;
  MppeState rx;
  ASSERT_TRUE(tx.init(m(), rfc_send_start_key, MppeBits::b128, true));
  ASSERT_TRUE(rx.init(m(), rfc_send_start_key, MppeBits::b128, true));
  for (unsigned i = 0; i < 4097; ++i) {
    const Bytes f = encrypt(tx, i);
    if (i < 3) {
      EXPECT_EQ(f, hex(py_stateless128[i])) << i;
    }
    if (i == 4096) {
      // The 12-bit count wrapped to 0, and the key went on changing.
      EXPECT_EQ(f, hex(py_stateless128_4096));
      EXPECT_EQ(tx.coherency_count(), 0);
    }
    ASSERT_TRUE(decrypts_to(rx, f, i)) << i;
  }
}

TEST_F(Mppe, StatelessLossSkipsKeysAndRejectsLateFrames) {
  MppeState rx;
  ASSERT_TRUE(rx.init(m(), rfc_send_start_key, MppeBits::b128, true));
  EXPECT_TRUE(decrypts_to(rx, hex(py_stateless128[0]), 0));
  // Frame 1 lost: the key of frame 2 is two changes on (RFC 3078 §8.1), no
  // resynchronisation needed.
  EXPECT_TRUE(decrypts_to(rx, hex(py_stateless128[2]), 2));
  for (const char* late : {py_stateless128[2], py_stateless128[1]}) {
    const MppeResult r = decrypt(rx, hex(late));
    EXPECT_EQ(r.error, MppeError::stale_count);
    EXPECT_FALSE(r.send_reset_request);
  }
  EXPECT_EQ(rx.coherency_count(), 2);
}

TEST_F(Mppe, Stateless40FromTheClient) {
  // The client sends with the Magic2 key; the server receives with the same.
  const auto client_send =
      mppe::get_asymmetric_start_key(m(), s16(rfc_master_key), true, false);
  const auto server_recv =
      mppe::get_asymmetric_start_key(m(), s16(rfc_master_key), false, true);
  MppeState tx;
  MppeState rx;
  ASSERT_TRUE(tx.init(m(), client_send, MppeBits::b40, true));
  ASSERT_TRUE(rx.init(m(), server_recv, MppeBits::b40, true));
  for (unsigned i = 0; i < 2; ++i) {
    const Bytes f = encrypt(tx, i);
    EXPECT_EQ(f, hex(py_stateless40[i]));
    EXPECT_TRUE(decrypts_to(rx, f, i));
  }
}

TEST_F(Mppe, Stateful128KeyChangesAtFlagFrames) {
  MppeState tx;
  MppeState rx;
  ASSERT_TRUE(tx.init(m(), rfc_send_start_key, MppeBits::b128, false));
  ASSERT_TRUE(rx.init(m(), rfc_send_start_key, MppeBits::b128, false));
  unsigned next = 0;
  for (unsigned i = 0; i < 768; ++i) {
    const Bytes f = encrypt(tx, i);
    // Only flag frames (count low octet 0xFF) carry the A bit.
    EXPECT_EQ((f[0] & 0x80) != 0, (i & 0xFF) == 0xFF) << i;
    if (next < std::size(py_stateful128) && py_stateful128[next].index == i) {
      EXPECT_EQ(f, hex(py_stateful128[next].frame)) << i;
      ++next;
    }
    ASSERT_TRUE(decrypts_to(rx, f, i)) << i;
  }
  EXPECT_EQ(next, std::size(py_stateful128));
}

TEST_F(Mppe, Stateful56MatchesIndependentSender) {
  MppeState tx;
  MppeState rx;
  ASSERT_TRUE(tx.init(m(), rfc_send_start_key, MppeBits::b56, false));
  ASSERT_TRUE(rx.init(m(), rfc_send_start_key, MppeBits::b56, false));
  unsigned next = 0;
  for (unsigned i = 0; i < 257; ++i) {
    const Bytes f = encrypt(tx, i);
    if (next < std::size(py_stateful56) && py_stateful56[next].index == i) {
      EXPECT_EQ(f, hex(py_stateful56[next].frame)) << i;
      ++next;
    }
    ASSERT_TRUE(decrypts_to(rx, f, i)) << i;
  }
  EXPECT_EQ(next, std::size(py_stateful56));
}

TEST_F(Mppe, StatefulCoherencyCountWrapsAt4096) {
  MppeState tx;
  MppeState rx;
  ASSERT_TRUE(tx.init(m(), rfc_send_start_key, MppeBits::b128, false));
  ASSERT_TRUE(rx.init(m(), rfc_send_start_key, MppeBits::b128, false));
  for (unsigned i = 0; i < 4096 + 300; ++i) {
    const Bytes f = encrypt(tx, i);
    const unsigned count = (f[0] & 0x0F) << 8 | f[1];
    ASSERT_EQ(count, i % 4096);
    ASSERT_TRUE(decrypts_to(rx, f, i)) << i;
  }
  EXPECT_EQ(rx.coherency_count(), (4096 + 299) % 4096);
}

// RFC 3078 §8.2: a gap makes the receiver ask for a reset and drop frames
// until one with the A bit; the sender answers the Reset-Request with a new
// key and the A bit on its next frame.
TEST_F(Mppe, StatefulGapRequestsResetAndDiscardsUntilFlushed) {
  MppeState tx;
  ASSERT_TRUE(tx.init(m(), rfc_send_start_key, MppeBits::b128, false));
  Bytes frames[10];
  for (unsigned i = 0; i < 10; ++i) {
    if (i == 6) {
      // Two Reset-Requests before the next frame make one key change.
      tx.reset();
      tx.reset();
    }
    frames[i] = encrypt(tx, i);
    EXPECT_EQ(frames[i], hex(py_stateful128_reset[i])) << i;
  }

  MppeState rx;
  ASSERT_TRUE(rx.init(m(), rfc_send_start_key, MppeBits::b128, false));
  for (unsigned i = 0; i < 3; ++i) {
    ASSERT_TRUE(decrypts_to(rx, frames[i], i));
  }
  // Frame 3 lost.
  MppeResult r = decrypt(rx, frames[4]);
  EXPECT_EQ(r.error, MppeError::coherency_gap);
  EXPECT_TRUE(r.send_reset_request);
  EXPECT_TRUE(rx.discarding());
  r = decrypt(rx, frames[5]);
  EXPECT_EQ(r.error, MppeError::awaiting_flush);
  EXPECT_FALSE(r.send_reset_request);
  // The frame with the A bit resynchronises; the stream goes on from there.
  for (unsigned i = 6; i < 10; ++i) {
    ASSERT_TRUE(decrypts_to(rx, frames[i], i)) << i;
  }
  EXPECT_FALSE(rx.discarding());
}

// A gap across flag frames: the receiver must replay the sender's key change
// at each flag frame it missed (RFC 3078 §7.2, §8.2).
TEST_F(Mppe, StatefulResyncCountsMissedFlagFrames) {
  auto frame = [](unsigned index) {
    for (const auto& f : py_stateful128) {
      if (f.index == index) {
        return hex(f.frame);
      }
    }
    return Bytes{};
  };
  {
    // 2..253 lost; 254 reveals the gap; the flag frame 255 resynchronises.
    MppeState rx;
    ASSERT_TRUE(rx.init(m(), rfc_send_start_key, MppeBits::b128, false));
    ASSERT_TRUE(decrypts_to(rx, frame(0), 0));
    ASSERT_TRUE(decrypts_to(rx, frame(1), 1));
    const MppeResult r = decrypt(rx, frame(254));
    EXPECT_EQ(r.error, MppeError::coherency_gap);
    EXPECT_TRUE(r.send_reset_request);
    EXPECT_TRUE(decrypts_to(rx, frame(255), 255));
    EXPECT_TRUE(decrypts_to(rx, frame(256), 256));
  }
  {
    // 2..510 lost, flag frame 255 among them: the flushed frame 511 is both
    // the gap and the way back, without a Reset-Request.
    MppeState rx;
    ASSERT_TRUE(rx.init(m(), rfc_send_start_key, MppeBits::b128, false));
    ASSERT_TRUE(decrypts_to(rx, frame(0), 0));
    ASSERT_TRUE(decrypts_to(rx, frame(1), 1));
    EXPECT_TRUE(decrypts_to(rx, frame(511), 511));
    EXPECT_FALSE(rx.discarding());
  }
  {
    // 2..766 lost, flag frames 255 and 511 among them: two key changes to
    // replay before the one of the flushed frame 767.
    MppeState rx;
    ASSERT_TRUE(rx.init(m(), rfc_send_start_key, MppeBits::b128, false));
    ASSERT_TRUE(decrypts_to(rx, frame(0), 0));
    ASSERT_TRUE(decrypts_to(rx, frame(1), 1));
    EXPECT_TRUE(decrypts_to(rx, frame(767), 767));
  }
  {
    // 257..298 lost, then 299: gap; 511 (two flag blocks on) resynchronises.
    MppeState rx;
    ASSERT_TRUE(rx.init(m(), rfc_send_start_key, MppeBits::b128, false));
    MppeState tx;
    ASSERT_TRUE(tx.init(m(), rfc_send_start_key, MppeBits::b128, false));
    for (unsigned i = 0; i <= 256; ++i) {
      ASSERT_TRUE(decrypts_to(rx, encrypt(tx, i), i));
    }
    EXPECT_EQ(decrypt(rx, frame(299)).error, MppeError::coherency_gap);
    EXPECT_TRUE(decrypts_to(rx, frame(511), 511));
  }
}

TEST_F(Mppe, StatefulLateFrameIsDroppedWithoutReset) {
  MppeState rx;
  ASSERT_TRUE(rx.init(m(), rfc_send_start_key, MppeBits::b128, false));
  ASSERT_TRUE(decrypts_to(rx, hex(py_stateful128_reset[0]), 0));
  ASSERT_TRUE(decrypts_to(rx, hex(py_stateful128_reset[1]), 1));
  const MppeResult r = decrypt(rx, hex(py_stateful128_reset[1]));
  EXPECT_EQ(r.error, MppeError::stale_count);
  EXPECT_FALSE(r.send_reset_request);
  EXPECT_FALSE(rx.discarding());
  EXPECT_TRUE(decrypts_to(rx, hex(py_stateful128_reset[2]), 2));
}

TEST_F(Mppe, TamperedHeaderBits) {
  MppeState rx;
  ASSERT_TRUE(rx.init(m(), rfc_send_start_key, MppeBits::b128, true));
  ASSERT_TRUE(decrypts_to(rx, hex(py_stateless128[0]), 0));
  const Bytes good = hex(py_stateless128[1]);
  Bytes f = good;
  f[0] &= ~0x10;  // D clear
  EXPECT_EQ(decrypt(rx, f).error, MppeError::not_encrypted);
  f = good;
  f[0] |= 0x20;  // C set
  EXPECT_EQ(decrypt(rx, f).error, MppeError::compressed);
  f = good;
  f[0] &= ~0x80;  // A clear in stateless mode
  EXPECT_EQ(decrypt(rx, f).error, MppeError::not_flushed);
  EXPECT_EQ(decrypt(rx, Bytes{0x90, 0x01}).error, MppeError::too_short);
  EXPECT_EQ(decrypt(rx, Bytes{0x90}).error, MppeError::too_short);
  // None of these moved the state: the genuine frame still decrypts.
  EXPECT_EQ(rx.coherency_count(), 0);
  MppeState copy = rx;
  f = good;
  f[0] |= 0x40;  // B alone is meaningless without MPPC and ignored
  EXPECT_TRUE(decrypts_to(copy, f, 1));
  // MPPE has no integrity check: a forged count decrypts, to garbage.
  copy = rx;
  f = good;
  f[1] = 0x02;
  const MppeResult r = copy.decrypt(m(), f);  // in place: r.inner points into f
  EXPECT_EQ(r.error, MppeError::none);
  EXPECT_NE(Bytes(r.inner.begin(), r.inner.end()), inner_frame(1));
  EXPECT_TRUE(decrypts_to(rx, good, 1));
}

TEST_F(Mppe, StatefulFlagFrameWithoutFlushedBitIsRejected) {
  MppeState tx;
  MppeState rx;
  ASSERT_TRUE(tx.init(m(), rfc_send_start_key, MppeBits::b128, false));
  ASSERT_TRUE(rx.init(m(), rfc_send_start_key, MppeBits::b128, false));
  for (unsigned i = 0; i < 255; ++i) {
    ASSERT_TRUE(decrypts_to(rx, encrypt(tx, i), i));
  }
  Bytes flag = encrypt(tx, 255);
  Bytes f = flag;
  f[0] &= ~0x80;
  EXPECT_EQ(decrypt(rx, f).error, MppeError::not_flushed);
  EXPECT_TRUE(decrypts_to(rx, flag, 255));
}

TEST_F(Mppe, EncryptNeedsRoomForHeaderAndData) {
  MppeState tx;
  ASSERT_TRUE(tx.init(m(), rfc_send_start_key, MppeBits::b128, false));
  Bytes f = {0, 0};
  EXPECT_FALSE(tx.encrypt(m(), f));
  EXPECT_EQ(tx.coherency_count(), 4095);  // nothing sent yet
}

// A session slot holds the state by value: a copy carries on the same stream.
TEST_F(Mppe, StateIsAPlainValue) {
  MppeState tx;
  ASSERT_TRUE(tx.init(m(), rfc_send_start_key, MppeBits::b128, false));
  (void)encrypt(tx, 0);
  alignas(MppeState) unsigned char slot[sizeof(MppeState)];
  std::memcpy(slot, &tx, sizeof(tx));
  MppeState moved;
  std::memcpy(&moved, slot, sizeof(moved));
  EXPECT_EQ(encrypt(moved, 1), hex(py_stateful128[1].frame));
  moved.wipe();
  EXPECT_EQ(moved.coherency_count(), 0);
}

TEST(MppeErrors, EveryReasonIsDescribed) {
  for (auto e : {MppeError::none, MppeError::too_short, MppeError::not_encrypted,
                 MppeError::compressed, MppeError::not_flushed, MppeError::stale_count,
                 MppeError::coherency_gap, MppeError::awaiting_flush}) {
    EXPECT_STRNE(describe(e), "unknown");
  }
}

}  // namespace
}  // namespace l2tpgw::crypto
