// Diffie-Hellman against python3-cryptography / Python integers with fixed
// private keys (gen_vectors.py), and RFC 5903 §8 for groups 19 and 20.
#include "controlplane/ike/dh.h"

#include <gtest/gtest.h>

#include "tests/unit/ike/test_util.h"
#include "tests/unit/ike/vectors.h"

namespace l2tpgw::ike {
namespace {

using test::hex;
using test::to_hex;
using Bytes = std::vector<std::uint8_t>;

struct Case {
  DhGroup group;
  const char* a;   // private a
  const char* b;   // private b
  const char* qa;  // public a
  const char* qb;  // public b
  const char* z;   // shared
};

const Case cases[] = {
    {DhGroup::modp1024, vec::modp2_xa, vec::modp2_xb, vec::modp2_ya, vec::modp2_yb, vec::modp2_z},
    {DhGroup::modp1536, vec::modp5_xa, vec::modp5_xb, vec::modp5_ya, vec::modp5_yb, vec::modp5_z},
    {DhGroup::modp2048, vec::modp14_xa, vec::modp14_xb, vec::modp14_ya, vec::modp14_yb,
     vec::modp14_z},
    {DhGroup::modp3072, vec::modp15_xa, vec::modp15_xb, vec::modp15_ya, vec::modp15_yb,
     vec::modp15_z},
    {DhGroup::modp4096, vec::modp16_xa, vec::modp16_xb, vec::modp16_ya, vec::modp16_yb,
     vec::modp16_z},
    {DhGroup::ecp256, vec::ecp19_da, vec::ecp19_db, vec::ecp19_qa, vec::ecp19_qb, vec::ecp19_z},
    {DhGroup::ecp384, vec::ecp20_da, vec::ecp20_db, vec::ecp20_qa, vec::ecp20_qb, vec::ecp20_z},
};

TEST(Dh, FixedPrivateKeysMatchPython) {
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(name(c.group)));
    const auto a = DhKeyPair::from_private(c.group, hex(c.a));
    const auto b = DhKeyPair::from_private(c.group, hex(c.b));
    ASSERT_TRUE(a && b);
    EXPECT_EQ(to_hex(a->public_value()), c.qa);
    EXPECT_EQ(to_hex(b->public_value()), c.qb);
    EXPECT_EQ(a->public_value().size(), public_value_len(c.group));
    SecretBytes za, zb;
    ASSERT_EQ(a->shared_secret(hex(c.qb), za), DhError::none);
    ASSERT_EQ(b->shared_secret(hex(c.qa), zb), DhError::none);
    EXPECT_EQ(to_hex(za), c.z);
    EXPECT_EQ(to_hex(zb), c.z);
  }
}

TEST(Dh, GeneratedKeysAgree) {
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(name(c.group)));
    auto a = DhKeyPair::generate(c.group);
    auto b = DhKeyPair::generate(c.group);
    ASSERT_TRUE(a && b);
    EXPECT_NE(to_hex(a->public_value()), to_hex(b->public_value()));
    SecretBytes za, zb;
    ASSERT_EQ(a->shared_secret(b->public_value(), za), DhError::none);
    ASSERT_EQ(b->shared_secret(a->public_value(), zb), DhError::none);
    EXPECT_EQ(to_hex(za), to_hex(zb));
    // The python side with our public value: its shared secret with the
    // fixed key b must match ours with b's public value.
    const auto fixed_b = DhKeyPair::from_private(c.group, hex(c.b));
    SecretBytes z1, z2;
    ASSERT_EQ(fixed_b->shared_secret(a->public_value(), z1), DhError::none);
    ASSERT_EQ(a->shared_secret(hex(c.qb), z2), DhError::none);
    EXPECT_EQ(to_hex(z1), to_hex(z2));
    DhKeyPair moved = std::move(*a);
    EXPECT_EQ(moved.public_value().size(), public_value_len(c.group));
  }
}

// RFC 5903 §8.1: 256-bit random ECP group.
TEST(Dh, Rfc5903Ecp256) {
  const auto i = DhKeyPair::from_private(
      DhGroup::ecp256, hex("C88F01F510D9AC3F70A292DAA2316DE544E9AAB8AFE84049C62A9C57862D1433"));
  const auto r = DhKeyPair::from_private(
      DhGroup::ecp256, hex("C6EF9C5D78AE012A011164ACB397CE2088685D8F06BF9BE0B283AB46476BEE53"));
  ASSERT_TRUE(i && r);
  EXPECT_EQ(to_hex(i->public_value()),
            "dad0b65394221cf9b051e1feca5787d098dfe637fc90b9ef945d0c3772581180"
            "5271a0461cdb8252d61f1c456fa3e59ab1f45b33accf5f58389e0577b8990bb3");
  EXPECT_EQ(to_hex(r->public_value()),
            "d12dfb5289c8d4f81208b70270398c342296970a0bccb74c736fc7554494bf63"
            "56fbf3ca366cc23e8157854c13c58d6aac23f046ada30f8353e74f33039872ab");
  SecretBytes zi, zr;
  ASSERT_EQ(i->shared_secret(r->public_value(), zi), DhError::none);
  ASSERT_EQ(r->shared_secret(i->public_value(), zr), DhError::none);
  EXPECT_EQ(to_hex(zi), "d6840f6b42f6edafd13116e0e12565202fef8e9ece7dce03812464d04b9442de");
  EXPECT_EQ(to_hex(zr), to_hex(zi));
}

// RFC 5903 §8.2: 384-bit random ECP group (initiator's key, responder's point).
TEST(Dh, Rfc5903Ecp384) {
  const auto i = DhKeyPair::from_private(
      DhGroup::ecp384, hex("099F3C7034D4A2C699884D73A375A67F7624EF7C6B3C0F160647B67414DCE655"
                           "E35B538041E649EE3FAEF896783AB194"));
  ASSERT_TRUE(i);
  const auto gr =
      hex("E558DBEF53EECDE3D3FCCFC1AEA08A89A987475D12FD950D83CFA41732BC509D0D1AC43A0336DEF96FDA41D0"
          "774A3571"
          "DCFBEC7AACF3196472169E838430367F66EEBE3C6E70C416DD5F0C68759DD1FFF83FA40142209DFF5EAAD96D"
          "B9E6386C");
  SecretBytes z;
  ASSERT_EQ(i->shared_secret(gr, z), DhError::none);
  EXPECT_EQ(to_hex(z),
            "11187331c279962d93d604243fd592cb9d0a926f422e47187521287e7156c5c4"
            "d603135569b9e9d09cf5d4a270f59746");
}

TEST(Dh, RejectsInvalidPeerValues) {
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(name(c.group)));
    const auto a = DhKeyPair::from_private(c.group, hex(c.a));
    ASSERT_TRUE(a);
    const std::size_t len = public_value_len(c.group);
    SecretBytes z;
    EXPECT_EQ(a->shared_secret(Bytes(len - 1, 1), z), DhError::bad_length);
    EXPECT_EQ(a->shared_secret(Bytes(len + 1, 1), z), DhError::bad_length);
    EXPECT_EQ(a->shared_secret({}, z), DhError::bad_length);
    Bytes zero(len, 0);
    EXPECT_EQ(a->shared_secret(zero, z), DhError::invalid_public_value);
    if (is_ecp(c.group)) {
      // A point off the curve: the valid point with y + 1.
      auto off = hex(c.qb);
      off.back() ^= 1;
      EXPECT_EQ(a->shared_secret(off, z), DhError::invalid_public_value);
      // x = p (all ones is above p for both curves).
      Bytes big(len, 0xFF);
      EXPECT_EQ(a->shared_secret(big, z), DhError::invalid_public_value);
    } else {
      Bytes one(len, 0);
      one.back() = 1;
      EXPECT_EQ(a->shared_secret(one, z), DhError::invalid_public_value);
      const auto p = hex(c.group == DhGroup::modp1024   ? vec::modp2_p
                         : c.group == DhGroup::modp1536 ? vec::modp5_p
                         : c.group == DhGroup::modp2048 ? vec::modp14_p
                         : c.group == DhGroup::modp3072 ? vec::modp15_p
                                                        : vec::modp16_p);
      auto p_minus_1 = p;
      p_minus_1.back() = static_cast<std::uint8_t>(p_minus_1.back() - 1);  // p ends in 0xff
      EXPECT_EQ(a->shared_secret(p_minus_1, z), DhError::invalid_public_value);
      EXPECT_EQ(a->shared_secret(p, z), DhError::invalid_public_value);
      EXPECT_EQ(a->shared_secret(Bytes(len, 0xFF), z), DhError::invalid_public_value);
      // p - 2 is in range but outside the order-q subgroup (-1 is not a
      // square modulo these primes, 2 is); 4 = g^2 is inside it.
      auto p_minus_2 = p;
      p_minus_2.back() = static_cast<std::uint8_t>(p_minus_2.back() - 2);
      EXPECT_EQ(a->shared_secret(p_minus_2, z), DhError::invalid_public_value);
      Bytes four(len, 0);
      four.back() = 4;
      EXPECT_EQ(a->shared_secret(four, z), DhError::none);
    }
  }
  EXPECT_FALSE(DhKeyPair::from_private(DhGroup::ecp256, Bytes(32, 0)));
  EXPECT_FALSE(DhKeyPair::from_private(DhGroup::ecp256, Bytes(32, 0xFF)));
}

}  // namespace
}  // namespace l2tpgw::ike
