#include "controlplane/state_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace l2tpgw::cp::state {
namespace {

TEST(StateFile, FieldsSurviveEncodeAndDecode) {
  const std::vector<std::uint8_t> key{0x00, 0x7f, 0x80, 0xff};
  std::vector<Record> recs;
  recs.emplace_back("ike_sa").put("peer", 3232235777u).put_bytes("skeyid_a", key).put_str("id", "CN=a b,O=x%y");
  recs.emplace_back("tunnel").put("ns", 65535).put_bytes("empty", {}).put_str("host", "");
  const std::string text = encode(recs);
  EXPECT_EQ(text,
            "ike_sa peer=3232235777 skeyid_a=x007f80ff id=CN%3da%20b%2cO%3dx%25y\n"
            "tunnel ns=65535 empty=x host=\n");
  const auto back = decode(text, "s");
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[0].kind(), "ike_sa");
  EXPECT_EQ(back[0].line(), 1u);
  EXPECT_EQ(back[0].u32("peer"), 3232235777u);
  EXPECT_EQ(back[0].bytes("skeyid_a"), key);
  EXPECT_EQ(back[0].str("id"), "CN=a b,O=x%y");
  EXPECT_EQ(back[1].line(), 2u);
  EXPECT_EQ(back[1].u16("ns"), 65535);
  EXPECT_TRUE(back[1].bytes("empty").empty());
  EXPECT_EQ(back[1].str("host"), "");
  EXPECT_FALSE(back[1].has("nr"));
}

std::string error_of(auto&& f) {
  try {
    f();
  } catch (const StateError& e) {
    return e.what();
  }
  return "no error";
}

TEST(StateFile, GettersNameLineAndFieldNeverValue) {
  const auto r = decode("\n# comment\ntunnel ns=70000 key=xzz99 n=12a s=%4\n", "f")[0];
  EXPECT_EQ(error_of([&] { (void)r.u16("ns"); }), "line 3: tunnel: field ns out of range");
  EXPECT_EQ(r.u32("ns"), 70000u);
  EXPECT_EQ(error_of([&] { (void)r.bytes("key"); }), "line 3: tunnel: field key not hex");
  EXPECT_EQ(error_of([&] { (void)r.u64("n"); }), "line 3: tunnel: field n not a number");
  EXPECT_EQ(error_of([&] { (void)r.str("s"); }), "line 3: tunnel: field s has a broken %-escape");
  EXPECT_EQ(error_of([&] { (void)r.u8("nr"); }), "line 3: tunnel: field nr missing");
  EXPECT_EQ(error_of([&] { (void)r.flag("ns"); }), "line 3: tunnel: field ns out of range");
  EXPECT_EQ(error_of([&] { (void)r.u64("key"); }), "line 3: tunnel: field key not a number");
}

TEST(StateFile, MalformedLinesNameFileAndLine) {
  EXPECT_EQ(error_of([] { decode("a x=1\nb y\n", "st"); }), "st:2: b: a field is not name=value");
  EXPECT_EQ(error_of([] { decode("a x=1\n=1\n", "st"); }), "st:2: no record kind");
  EXPECT_EQ(error_of([] { decode("a x=1\nb y=2", "st"); }), "st:2: last line not ended (file cut short?)");
  EXPECT_EQ(error_of([] { decode("a Bad=1\n", "st"); }), "st:1: a: a field is not name=value");
}

TEST(StateFile, WrittenWholeAndPrivate) {
  const std::string path = testing::TempDir() + "/state_file_test." + std::to_string(getpid());
  EXPECT_FALSE(read_file(path).has_value());
  write_file(path, "one\n");
  write_file(path, "two x=1\n");
  EXPECT_EQ(read_file(path), "two x=1\n");
  struct stat st{};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_NE(access((path + ".tmp").c_str(), F_OK), 0);
  unlink(path.c_str());
  EXPECT_THROW(write_file("/nonexistent-dir/x", "a\n"), StateError);
}

}  // namespace
}  // namespace l2tpgw::cp::state
