// Address pool and the users file.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <set>

#include "controlplane/ppp/pool.h"
#include "controlplane/ppp/users.h"

namespace l2tpgw::ppp {
namespace {

constexpr std::uint32_t ip(unsigned a, unsigned b, unsigned c, unsigned d) {
  return a << 24 | b << 16 | c << 8 | d;
}

TEST(Pool, AllocatesEveryAddressOnceLowestFirst) {
  AddressPool p(ip(100, 64, 0, 10), ip(100, 64, 0, 13));
  EXPECT_EQ(p.size(), 4u);
  EXPECT_EQ(p.allocate(), ip(100, 64, 0, 10));
  std::set<std::uint32_t> got{ip(100, 64, 0, 10)};
  for (int i = 0; i < 3; ++i) {
    auto a = p.allocate();
    ASSERT_TRUE(a);
    EXPECT_TRUE(got.insert(*a).second);
    EXPECT_TRUE(p.contains(*a));
  }
  EXPECT_FALSE(p.allocate());
  EXPECT_EQ(p.free_count(), 0u);
  EXPECT_TRUE(p.release(ip(100, 64, 0, 12)));
  EXPECT_FALSE(p.release(ip(100, 64, 0, 12)));  // double release
  EXPECT_EQ(p.allocate(), ip(100, 64, 0, 12));
}

TEST(Pool, ReserveTakesAGivenAddress) {
  AddressPool p(ip(10, 0, 0, 1), ip(10, 0, 0, 3));
  EXPECT_TRUE(p.reserve(ip(10, 0, 0, 2)));
  EXPECT_FALSE(p.reserve(ip(10, 0, 0, 2)));
  EXPECT_FALSE(p.reserve(ip(10, 0, 0, 9)));
  EXPECT_TRUE(p.in_use(ip(10, 0, 0, 2)));
  std::set<std::uint32_t> got;
  while (auto a = p.allocate()) {
    got.insert(*a);
  }
  EXPECT_EQ(got, (std::set<std::uint32_t>{ip(10, 0, 0, 1), ip(10, 0, 0, 3)}));
  EXPECT_FALSE(p.release(ip(9, 0, 0, 1)));
}

TEST(Pool, EmptyRange) {
  AddressPool p(ip(10, 0, 0, 5), ip(10, 0, 0, 4));
  EXPECT_EQ(p.size(), 0u);
  EXPECT_FALSE(p.allocate());
}

TEST(Users, ParsesAllFields) {
  const auto r = parse_users(R"(users = (
  { name = "alice"; password = "wonderland"; address = "100.64.0.5"; mppe = "require"; },
  { name = "bob"; password = "builder"; }
);)",
                             "users.conf");
  ASSERT_TRUE(r.db) << r.error;
  EXPECT_EQ(r.db->size(), 2u);
  const User* a = r.db->find("alice");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->password, "wonderland");
  EXPECT_EQ(a->address, ip(100, 64, 0, 5));
  EXPECT_EQ(a->mppe, MppePolicy::require);
  EXPECT_EQ(a->line, 2);
  const User* b = r.db->find("bob");
  ASSERT_NE(b, nullptr);
  EXPECT_FALSE(b->address);
  EXPECT_FALSE(b->mppe);
  EXPECT_EQ(r.db->find("carol"), nullptr);
}

struct BadCase {
  const char* text;
  const char* error;
};

TEST(Users, ErrorsNameFileAndLine) {
  const BadCase cases[] = {
      {"users = (\n { name = \"a\"; password = \"x\"; address = \"300.1.1.1\"; }\n);",
       "users.conf:2: user a: bad IPv4 address '300.1.1.1'"},
      {"users = (\n { name = \"a\"; password = \"x\"; },\n { name = \"a\"; password = \"y\"; }\n);",
       "users.conf:3: user a listed twice"},
      {"users = (\n\n { name = \"a\"; password = \"x\"; mppe = \"maybe\"; }\n);",
       "users.conf:3: user a: 'mppe' must be \"none\", \"allow\" or \"require\""},
      {"users = (\n { name = \"a\"; }\n);", "users.conf:2: user a: no non-empty string 'password'"},
      {"users = (\n { password = \"x\"; }\n);",
       "users.conf:2: user without a non-empty string 'name'"},
      {"users = (\n { name = \"a\"; password = \"x\"; pasword = \"y\"; }\n);",
       "users.conf:2: unknown user setting 'pasword'"},
      {"users = (\n { name = \"a\"; password = ; }\n);", "users.conf:2: syntax error"},
  };
  for (const auto& c : cases) {
    const auto r = parse_users(c.text, "users.conf");
    EXPECT_FALSE(r.db);
    EXPECT_EQ(r.error, c.error);
  }
}

TEST(Users, LoadsAFile) {
  const std::string path = ::testing::TempDir() + "ppp_users_test.conf";
  {
    std::ofstream f(path);
    f << "users = ( { name = \"carol\"; password = \"pw\"; } );\n";
  }
  const auto r = load_users(path);
  ASSERT_TRUE(r.db) << r.error;
  EXPECT_NE(r.db->find("carol"), nullptr);
  std::remove(path.c_str());
  const auto missing = load_users(path);
  EXPECT_FALSE(missing.db);
  EXPECT_EQ(missing.error, path + ": cannot open");
}

}  // namespace
}  // namespace l2tpgw::ppp
