// The documented example (conf/l2tpgw.conf and conf/users.conf) must load
// in the control plane's readers as it does in load_config.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "controlplane/ike_settings.h"
#include "controlplane/lns_settings.h"
#include "controlplane/ppp/users.h"

namespace l2tpgw::cp {
namespace {

std::string example(const char* name) {
  const char* root = std::getenv("L2TPGW_SOURCE_ROOT");
  return root == nullptr ? std::string() : std::string(root) + "/conf/" + name;
}

TEST(ExampleConfig, LnsSectionsAndUsersLoad) {
  ASSERT_FALSE(example("l2tpgw.conf").empty()) << "run through meson test";
  const LnsSettings s = load_lns_settings(example("l2tpgw.conf"));
  EXPECT_TRUE(s.enabled);
  EXPECT_EQ(s.ppp.mppe, ppp::MppePolicy::require);
  EXPECT_EQ(s.users_file, example("users.conf"));
  const ppp::UsersLoad u = ppp::load_users(s.users_file);
  ASSERT_TRUE(u.db) << u.error;
  EXPECT_EQ(u.db->size(), 3u);
  ASSERT_NE(u.db->find("carol"), nullptr);
  EXPECT_TRUE(u.db->find("carol")->address.has_value());
}

TEST(ExampleConfig, IkeSectionLoads) {
  ASSERT_FALSE(example("l2tpgw.conf").empty()) << "run through meson test";
  const IkeSettings s = load_ike_settings(example("l2tpgw.conf"));
  EXPECT_TRUE(s.enabled);
  EXPECT_TRUE(s.default_psk.has_value());
  EXPECT_EQ(s.peers.size(), 2u);
  EXPECT_FALSE(s.allow_tunnel);
}

}  // namespace
}  // namespace l2tpgw::cp
