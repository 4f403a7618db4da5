#include "controlplane/ike_settings.h"

#include <gtest/gtest.h>

#include <string>

#include "dataplane/config/config.h"
#include "tests/unit/cp/config_file.h"

namespace l2tpgw::cp {
namespace {

using IkeSettingsTest = test::ConfigFileTest<load_ike_settings>;

ike::SecretBytes bytes(std::string_view s) {
  return ike::SecretBytes(s.begin(), s.end());
}

TEST_F(IkeSettingsTest, ReadsEverySetting) {
  const IkeSettings s = load_ike_settings(write(R"(
ike = { psk = "default-secret";
        peers = ( { address = "198.51.100.7"; psk = "address-secret"; },
                  { id = "laptop.example.org"; psk = "id-secret-1"; } );
        local_id = "vpn.example.org";
        allow_md5 = true; allow_modp1024 = false; allow_tunnel = true;
        ike_lifetime = 3600; sa_lifetime = 1200; sa_lifetime_kb = 500000;
        max_half_open = 100; max_half_open_per_peer = 4; max_ike_sas_per_peer = 2;
        retransmit_interval = 3; retransmits = 4; dpd_interval = 10; dpd_failures = 3;
        nat_keepalive = 0; };
)"));
  EXPECT_TRUE(s.enabled);
  EXPECT_EQ(s.default_psk, bytes("default-secret"));
  ASSERT_EQ(s.peers.size(), 2u);
  EXPECT_EQ(s.psk_for_address(0xc6336407), bytes("address-secret"));
  EXPECT_EQ(s.psk_for_address(0xc6336408), bytes("default-secret"));
  ASSERT_EQ(s.id_keys().size(), 1u);
  EXPECT_EQ(s.id_keys()[0]->id, "laptop.example.org");
  EXPECT_EQ(s.local_id, "vpn.example.org");
  EXPECT_TRUE(s.allow_md5);
  EXPECT_FALSE(s.allow_modp1024);
  EXPECT_TRUE(s.allow_tunnel);
  EXPECT_EQ(s.ike_lifetime_s, 3600u);
  EXPECT_EQ(s.sa_lifetime_s, 1200u);
  EXPECT_EQ(s.sa_lifetime_kb, 500000u);
  EXPECT_EQ(s.max_half_open, 100u);
  EXPECT_EQ(s.max_half_open_per_peer, 4u);
  EXPECT_EQ(s.max_ike_sas_per_peer, 2u);
  EXPECT_EQ(s.retransmit_interval, std::chrono::seconds(3));
  EXPECT_EQ(s.retransmits, 4u);
  EXPECT_EQ(s.dpd_interval, std::chrono::seconds(10));
  EXPECT_EQ(s.dpd_failures, 3u);
  EXPECT_EQ(s.nat_keepalive.count(), 0);
}

TEST_F(IkeSettingsTest, DefaultsAndAbsentSection) {
  const IkeSettings none = load_ike_settings(write("ports = ();\n"));
  EXPECT_FALSE(none.enabled);
  const IkeSettings s = load_ike_settings(write("ike = { psk = \"12345678\"; };\n"));
  EXPECT_TRUE(s.enabled);
  EXPECT_FALSE(s.allow_md5);
  EXPECT_TRUE(s.allow_modp1024);
  EXPECT_FALSE(s.allow_tunnel);
  EXPECT_EQ(s.sa_lifetime_s, 3600u);
  EXPECT_EQ(s.psk_for_address(1), bytes("12345678"));
}

TEST_F(IkeSettingsTest, ErrorsNameFileAndLine) {
  auto e = error_of("ike = {\n  psk = \"12345678\";\n  alow_md5 = true;\n};\n");
  EXPECT_NE(e.find(_path + ":3"), std::string::npos) << e;
  EXPECT_NE(e.find("alow_md5"), std::string::npos) << e;

  e = error_of("ike = {\n  psk = \"short\";\n};\n");
  EXPECT_NE(e.find(":2"), std::string::npos) << e;
  EXPECT_NE(e.find("shorter than 8"), std::string::npos) << e;
  EXPECT_EQ(e.find("short\""), std::string::npos) << "the key must not be echoed: " << e;

  e = error_of("ike = {\n  peers = ( { address = \"300.1.1.1\"; psk = \"12345678\"; } );\n};\n");
  EXPECT_NE(e.find(":2"), std::string::npos) << e;
  EXPECT_NE(e.find("not an IPv4 address"), std::string::npos) << e;

  e = error_of(
      "ike = {\n  peers = ( { address = \"1.1.1.1\"; id = \"x\"; psk = \"12345678\"; } );\n};\n");
  EXPECT_NE(e.find("exactly one of address or id"), std::string::npos) << e;

  e = error_of("ike = { allow_tunnel = true; };\n");
  EXPECT_NE(e.find("no pre-shared key"), std::string::npos) << e;

  e = error_of("ike = { psk = \"12345678\";\n sa_lifetime = 10; };\n");
  EXPECT_NE(e.find(":2"), std::string::npos) << e;

  e = error_of("ike = { psk = \"12345678\";\n max_half_open = 4; };\n");
  EXPECT_NE(e.find("max_half_open_per_peer exceeds max_half_open"), std::string::npos) << e;
}

}  // namespace
}  // namespace l2tpgw::cp
