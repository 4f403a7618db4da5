#include "controlplane/cp_state.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <sstream>
#include <string>
#include <vector>

namespace l2tpgw::cp {
namespace {

using namespace std::chrono_literals;

class StateKeeperTest : public testing::Test {
 protected:
  void TearDown() override { unlink(path.c_str()); }

  void fill(std::vector<state::Record>& out) const {
    out.emplace_back("l2tp_tunnel").put("id", 7);
  }
  void save(StateKeeper& k, std::uint64_t generation, std::uint64_t version) {
    k.save(generation, version, [this](auto& out) { fill(out); });
  }

  std::string path = testing::TempDir() + "/cp_state_test." + std::to_string(getpid());
  std::ostringstream logs;
  Logger log{logs};
};

TEST_F(StateKeeperTest, RestoresOnlyForTheSameDataPlane) {
  StateKeeper k(path, log);
  save(k, 42, 1);
  const auto recs = StateKeeper(path, log).load(42);
  ASSERT_EQ(recs.size(), 1u);  // the header is the keeper's own
  EXPECT_EQ(recs[0].kind(), "l2tp_tunnel");
  EXPECT_EQ(recs[0].u16("id"), 7);
  EXPECT_TRUE(StateKeeper(path, log).load(43).empty());
  EXPECT_NE(logs.str().find("written for a data plane that has since restarted: not restored"),
            std::string::npos);
}

TEST_F(StateKeeperTest, AnotherBootOrABrokenFileIsNotRestored) {
  state::write_file(path, "cp_state version=1 boot=someother dp_generation=42\nl2tp_tunnel id=7\n");
  EXPECT_TRUE(StateKeeper(path, log).load(42).empty());
  EXPECT_NE(logs.str().find("written before the host restarted"), std::string::npos);
  state::write_file(path, "cp_state version=1 boot=x dp_generation=42\nl2tp_tunnel id\n");
  EXPECT_TRUE(StateKeeper(path, log).load(42).empty());
  EXPECT_NE(logs.str().find(path + ":2: l2tp_tunnel: a field is not name=value: not restored"),
            std::string::npos);
  state::write_file(path, "l2tp_tunnel id=7\n");
  EXPECT_TRUE(StateKeeper(path, log).load(42).empty());
  EXPECT_NE(logs.str().find("no cp_state header"), std::string::npos);
  unlink(path.c_str());
  EXPECT_TRUE(StateKeeper(path, log).load(42).empty());
  EXPECT_NE(logs.str().find("no state file"), std::string::npos);
  EXPECT_TRUE(StateKeeper("", log).load(42).empty());
}

TEST_F(StateKeeperTest, WritesWhenTheVersionMovedAtMostOnceASecond) {
  StateKeeper k(path, log);
  int fills = 0;
  const auto count = [&](auto& out) {
    ++fills;
    fill(out);
  };
  const StateKeeper::Clock::time_point t0{100s};
  k.maybe_save(t0, 1, 5, count);  // never written yet
  EXPECT_EQ(fills, 1);
  k.maybe_save(t0 + 2s, 1, 5, count);  // nothing moved
  EXPECT_EQ(fills, 1);
  k.maybe_save(t0 + 2500ms, 1, 6, count);  // moved, but checked at most once a second
  EXPECT_EQ(fills, 1);
  k.maybe_save(t0 + 3s, 1, 6, count);
  EXPECT_EQ(fills, 2);
  k.maybe_save(t0 + 33s, 1, 6, count);  // refreshed every 30 s all the same
  EXPECT_EQ(fills, 3);
  EXPECT_EQ(StateKeeper(path, log).load(1).size(), 1u);
}

TEST_F(StateKeeperTest, AWriteFailureIsLoggedOnce) {
  StateKeeper k("/nonexistent-dir/state", log);
  save(k, 1, 1);
  save(k, 1, 2);
  const std::string text = logs.str();
  const auto first = text.find("sessions would not survive a restart");
  ASSERT_NE(first, std::string::npos);
  EXPECT_EQ(text.find("sessions would not survive a restart", first + 1), std::string::npos);
}

}  // namespace
}  // namespace l2tpgw::cp
