#include "controlplane/lns_settings.h"

#include <gtest/gtest.h>

#include <string>

#include "dataplane/config/config.h"
#include "tests/unit/cp/config_file.h"

namespace l2tpgw::cp {
namespace {

using LnsSettingsTest = test::ConfigFileTest<load_lns_settings>;

TEST_F(LnsSettingsTest, ReadsEverySetting) {
  const LnsSettings s = load_lns_settings(write(R"(
l2tp = { host_name = "gw1"; secret = "s3"; plain_from = [ "10.251.0.0/24" ];
         hello_interval = 30; retransmits = 7; max_tunnels = 100; max_tunnels_per_peer = 2;
         max_sessions = 1000; max_sessions_per_tunnel = 10; };
ppp = { auth = [ "pap", "mschapv2" ]; server_name = "gw"; mru = 1400;
        echo_interval = 0; echo_failures = 5; local_address = "100.64.0.1";
        pool = "100.64.0.10 - 100.64.0.20"; dns = [ "10.0.0.53", "10.0.0.54" ];
        nbns = [ "10.0.0.55" ]; mppe = "require"; mppe_bits = [ 128 ];
        mppe_stateless = false; users = "users.conf"; };
)"));
  EXPECT_TRUE(s.enabled);
  EXPECT_EQ(s.l2tp.host_name, "gw1");
  EXPECT_EQ(s.l2tp.secret, (std::vector<std::uint8_t>{'s', '3'}));
  ASSERT_EQ(s.l2tp.plain_allowed.size(), 1u);
  EXPECT_TRUE(s.l2tp.plain_allowed[0].contains(0x0afb0009));
  EXPECT_FALSE(s.l2tp.plain_allowed[0].contains(0x0afb0109));
  EXPECT_EQ(s.l2tp.hello_interval, std::chrono::seconds(30));
  EXPECT_EQ(s.l2tp.reliable.max_retransmits, 7u);
  EXPECT_EQ(s.l2tp.limits.max_tunnels_per_peer, 2u);
  EXPECT_EQ(s.l2tp.limits.max_sessions_per_tunnel, 10u);
  EXPECT_EQ(s.ppp.auth, (std::vector{ppp::AuthProto::pap, ppp::AuthProto::mschapv2}));
  EXPECT_EQ(s.ppp.mru, 1400);
  EXPECT_EQ(s.ppp.echo_interval.count(), 0);
  EXPECT_EQ(s.ppp.echo_max_missed, 5u);
  EXPECT_EQ(s.pool_first, 0x6440000au);
  EXPECT_EQ(s.pool_last, 0x64400014u);
  EXPECT_EQ(s.ppp.dns_secondary, 0x0a000036u);
  EXPECT_EQ(s.ppp.nbns_primary, 0x0a000037u);
  EXPECT_EQ(s.ppp.nbns_secondary, 0u);
  EXPECT_EQ(s.ppp.mppe, ppp::MppePolicy::require);
  EXPECT_EQ(s.ppp.mppe_allowed, ppp::mppe_allow_128);
  EXPECT_FALSE(s.ppp.mppe_prefer_stateless);
  EXPECT_EQ(s.users_file, "/tmp/users.conf");  // beside the configuration
}

TEST_F(LnsSettingsTest, WithoutSectionsThereIsNoLns) {
  const LnsSettings s = load_lns_settings(write("ports = ();\n"));
  EXPECT_FALSE(s.enabled);
  EXPECT_GT(s.pool_first, s.pool_last);  // an empty pool
}

TEST_F(LnsSettingsTest, ErrorsNameFileLineAndProblem) {
  const std::string f = _path + ":";
  EXPECT_EQ(error_of("l2tp = {\n  hello = 3; };\n").rfind(f + "2", 0), 0u);
  EXPECT_NE(error_of("l2tp = {\n  hello = 3; };\n").find("hello"), std::string::npos);
  EXPECT_NE(error_of("ppp = {\n pool = \"100.64.0.20-100.64.0.10\"; };\n").find(f + "2: pool"),
            std::string::npos);
  EXPECT_NE(error_of("ppp = { auth = [ \"eap\" ]; };").find("unknown authentication protocol 'eap'"),
            std::string::npos);
  EXPECT_NE(error_of("ppp = { mppe_bits = [ 64 ]; };").find("40, 56 or 128"), std::string::npos);
  EXPECT_NE(error_of("ppp = { dns = [ \"1.1.1.1\", \"2.2.2.2\", \"3.3.3.3\" ]; };").find("RFC 1877"),
            std::string::npos);
  EXPECT_NE(error_of("l2tp = { plain_from = [ \"10.0.0.0/33\" ]; };").find("not an IPv4 prefix"),
            std::string::npos);
  EXPECT_NE(error_of("l2tp = { secret = \"\"; };").find("secret must not be empty"), std::string::npos);
  EXPECT_NE(error_of("ppp = { mppe = \"always\"; };").find("none, allow or require"), std::string::npos);
}

}  // namespace
}  // namespace l2tpgw::cp
