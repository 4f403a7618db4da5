#include "controlplane/ike_settings.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "dataplane/config/config.h"
#include "tests/unit/cp/config_file.h"
#include "tests/unit/ike/cert_vectors.h"

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
        tunnel_networks = [ "10.9.0.0/24", "172.16.0.0/12" ];
        ike_lifetime = 3600; sa_lifetime = 1200; sa_lifetime_kb = 500000;
        max_half_open = 100; max_half_open_per_peer = 4; max_ike_sas_per_peer = 2;
        retransmit_interval = 3; retransmits = 4; dpd_interval = 10; dpd_failures = 3;
        nat_keepalive = 0; fragment_size = 600; esp_sha256_icv_bits = 96; };
)"));
  EXPECT_TRUE(s.enabled);
  EXPECT_EQ(s.fragment_size, 600u);
  EXPECT_EQ(s.esp_sha256_icv_bits, 96u);
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
  ASSERT_EQ(s.tunnel_networks.size(), 2u);
  EXPECT_EQ(s.tunnel_networks[0].addr, 0x0a090000u);
  EXPECT_EQ(s.tunnel_networks[0].len, 24);
  EXPECT_EQ(s.tunnel_networks[1].addr, 0xac100000u);
  EXPECT_EQ(s.tunnel_networks[1].len, 12);
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
  EXPECT_TRUE(s.tunnel_networks.empty());
  EXPECT_EQ(s.sa_lifetime_s, 3600u);
  EXPECT_EQ(s.psk_for_address(1), bytes("12345678"));
  EXPECT_EQ(s.fragment_size, 1280u);
  EXPECT_EQ(s.esp_sha256_icv_bits, 128u);
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

  e = error_of("ike = { psk = \"12345678\";\n esp_sha256_icv_bits = 112; };\n");
  EXPECT_NE(e.find(":2"), std::string::npos) << e;
  EXPECT_NE(e.find("must be 128 (RFC 4868) or 96"), std::string::npos) << e;

  e = error_of("ike = { psk = \"12345678\";\n fragment_size = 100; };\n");
  EXPECT_NE(e.find(":2"), std::string::npos) << e;

  e = error_of("ike = { psk = \"12345678\";\n max_half_open = 4; };\n");
  EXPECT_NE(e.find("max_half_open_per_peer exceeds max_half_open"), std::string::npos) << e;
}

TEST_F(IkeSettingsTest, TunnelModeNeedsWellFormedNetworks) {
  auto e = error_of("ike = { psk = \"12345678\";\n  allow_tunnel = true; };\n");
  EXPECT_NE(e.find(_path + ":2"), std::string::npos) << e;
  EXPECT_NE(e.find("allow_tunnel = true needs tunnel_networks"), std::string::npos) << e;
  e = error_of(
      "ike = { psk = \"12345678\";\n  allow_tunnel = true;\n  tunnel_networks = [ ]; };\n");
  EXPECT_NE(e.find(_path + ":2"), std::string::npos) << e;
  EXPECT_NE(e.find("needs tunnel_networks"), std::string::npos) << e;

  const std::pair<const char*, const char*> bad[] = {
      {"10.9.0.1/24", "'10.9.0.1/24' has host bits set: the network is 10.9.0.0/24"},
      {"10.9.0.0/33", "'10.9.0.0/33' is not an IPv4 prefix"},
      {"10.9.0/24", "'10.9.0/24' is not an IPv4 prefix"},
      {"10.9.0.0", "'10.9.0.0' is not an IPv4 prefix"},
      {"inside", "'inside' is not an IPv4 prefix"},
  };
  for (const auto& [prefix, why] : bad) {
    e = error_of(std::string("ike = { psk = \"12345678\"; allow_tunnel = true;\n"
                             "  tunnel_networks = [ \"10.8.0.0/16\",\n \"") +
                 prefix + "\" ]; };\n");
    EXPECT_NE(e.find(_path + ":3"), std::string::npos) << prefix << ": " << e;
    EXPECT_NE(e.find(why), std::string::npos) << e;
  }
  // Networks without tunnel mode are kept, and unused.
  const IkeSettings s = load_ike_settings(
      write("ike = { psk = \"12345678\"; tunnel_networks = [ \"0.0.0.0/0\" ]; };\n"));
  EXPECT_FALSE(s.allow_tunnel);
  ASSERT_EQ(s.tunnel_networks.size(), 1u);
  EXPECT_EQ(s.tunnel_networks[0].len, 0);
}

// `name` must outlive the ID (string literals here).
ike::Identification fqdn_id(std::string_view name) {
  ike::Identification id;
  id.type = static_cast<std::uint8_t>(ike::IdType::fqdn);
  id.data = ike::ByteView(reinterpret_cast<const std::uint8_t*>(name.data()), name.size());
  return id;
}

TEST_F(IkeSettingsTest, AggressiveModeIsPerPeer) {
  const IkeSettings s = load_ike_settings(write(R"(
ike = { psk = "default-secret";
        peers = ( { address = "198.51.100.7"; psk = "address-secret"; aggressive = true; },
                  { id = "phone.example.org"; psk = "phone-secret"; aggressive = true; },
                  { id = "laptop.example.org"; psk = "laptop-secret"; } ); };
)"));
  ASSERT_EQ(s.peers.size(), 3u);
  EXPECT_TRUE(s.peers[0].aggressive);
  EXPECT_TRUE(s.peers[1].aggressive);
  EXPECT_FALSE(s.peers[2].aggressive) << "default false";
  // By ID, from any address; the key is that entry's.
  const auto* p = s.aggressive_peer(0x01020304, fqdn_id("PHONE.example.org"));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->psk, bytes("phone-secret"));
  // By address, for an ID without an entry.
  p = s.aggressive_peer(0xc6336407, fqdn_id("other.example.org"));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->psk, bytes("address-secret"));
  // An ID's entry that does not enable it decides, even from an enabled address.
  EXPECT_EQ(s.aggressive_peer(0xc6336407, fqdn_id("laptop.example.org")), nullptr);
  // Neither: the default key enables nobody.
  EXPECT_EQ(s.aggressive_peer(0x01020304, fqdn_id("other.example.org")), nullptr);
}

TEST_F(IkeSettingsTest, AggressiveModeErrorsNameFileAndLine) {
  auto e = error_of(
      "ike = { psk = \"12345678\";\n  peers = ( { id = \"a.example\"; psk = \"12345678\";\n"
      "  aggressive = \"yes\"; } );\n};\n");
  EXPECT_NE(e.find(_path + ":3"), std::string::npos) << e;
  EXPECT_NE(e.find("aggressive"), std::string::npos) << e;
}

// Certificate files beside the configuration file, from gen_cert_vectors.py.
class IkeCertSettingsTest : public IkeSettingsTest {
 protected:
  void SetUp() override {
    _dir = "/tmp/l2tpgw-ike-certs-" + std::to_string(::getpid());
    std::filesystem::create_directories(_dir);
    _path = _dir + "/gw.conf";
    put("ca.pem", ike::certvec::ca_pem);
    put("crl.pem", ike::certvec::crl_pem);
    put("gw.pem", ike::certvec::gw_pem);
    put("gw.key", ike::certvec::gw_key_pem);
    put("client.key", ike::certvec::client_key_pem);
  }
  void TearDown() override { std::filesystem::remove_all(_dir); }
  void put(const std::string& name, std::string_view text) {
    std::ofstream(_dir + "/" + name) << text;
  }
  std::string _dir;
};

// A DN from its text; a test failure (not undefined behaviour) when it does not parse.
ike::Bytes dn_of(std::string_view text) {
  auto d = ike::dn_from_text(text);
  EXPECT_TRUE(d) << text;
  return d.value_or(ike::Bytes{});
}

ike::Identification dn_id(const ike::Bytes& der) {
  ike::Identification id;
  id.type = static_cast<std::uint8_t>(ike::IdType::der_asn1_dn);
  id.data = der;
  return id;
}

TEST_F(IkeCertSettingsTest, ReadsCertificatesAndRsaPeers) {
  const IkeSettings s = load_ike_settings(write(R"(
ike = { ca = "ca.pem"; certificate = "gw.pem"; private_key = "gw.key"; crl = "crl.pem";
        peers = ( { address = "198.51.100.9"; auth = "rsa"; id = "C=CH, O=test, CN=client"; },
                  { address = "198.51.100.7"; psk = "address-secret"; },
                  { id = "C=CH, O=test, CN=laptop"; auth = "rsa"; },
                  { id = "psk.example.org"; psk = "id-secret-1"; } ); };
)"));
  ASSERT_TRUE(s.certificates());
  EXPECT_EQ(s.ca_path, _dir + "/ca.pem");
  EXPECT_EQ(s.crl_path, _dir + "/crl.pem");
  EXPECT_EQ(s.credential->subject(), "C=CH, O=test, CN=gw");
  EXPECT_EQ(s.trust->crl_count(), 1u);
  ASSERT_EQ(s.peers.size(), 4u);
  EXPECT_EQ(s.peers[0].auth, ike::AuthMethod::rsa_sig);
  EXPECT_FALSE(s.peers[0].id_dn.empty());
  // Only the psk peer with an id is an identity key.
  ASSERT_EQ(s.id_keys().size(), 1u);
  EXPECT_EQ(s.id_keys()[0]->id, "psk.example.org");
  EXPECT_TRUE(s.psk_possible());

  const auto client = dn_of("C=CH, O=test, CN=client");
  const auto laptop = dn_of("c=CH, o=test, cn=LAPTOP");
  const auto stranger = dn_of("C=CH, O=test, CN=stranger");
  using ike::AuthMethod;
  // The rsa peer at its address must prove its configured ID.
  EXPECT_EQ(s.authorize(0xc6336409, dn_id(client), AuthMethod::rsa_sig), "");
  EXPECT_EQ(s.authorize(0xc6336409, dn_id(laptop), AuthMethod::rsa_sig),
            "this address is configured for ID C=CH, O=test, CN=client");
  EXPECT_EQ(s.authorize(0xc6336409, dn_id(client), AuthMethod::psk),
            "this address is configured for auth rsa");
  // From elsewhere: an ID bound to an address stays there, the rsa peers
  // listed by ID alone are the accepted identities.
  EXPECT_EQ(s.authorize(0x01020304, dn_id(laptop), AuthMethod::rsa_sig), "");
  EXPECT_EQ(s.authorize(0x01020304, dn_id(client), AuthMethod::rsa_sig),
            "this ID is configured for address 198.51.100.9");
  EXPECT_EQ(s.authorize(0x01020304, dn_id(stranger), AuthMethod::rsa_sig),
            "not the ID of any rsa peer");
  EXPECT_EQ(s.authorize(0x01020304, dn_id(laptop), AuthMethod::psk),
            "this ID is configured for auth rsa");
  ike::Identification fqdn;
  const ike::Bytes name{'P', 'S', 'K', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'o', 'r', 'g'};
  fqdn.type = static_cast<std::uint8_t>(ike::IdType::fqdn);
  fqdn.data = name;
  EXPECT_EQ(s.authorize(0x01020304, fqdn, AuthMethod::rsa_sig),
            "this ID is configured for auth psk");
  EXPECT_EQ(s.authorize(0x01020304, fqdn, AuthMethod::psk), "");
}

TEST_F(IkeCertSettingsTest, WithoutRsaPeersEveryCertifiedIdIsAccepted) {
  const IkeSettings s = load_ike_settings(
      write("ike = { ca = \"ca.pem\"; certificate = \"gw.pem\"; private_key = \"gw.key\"; };\n"));
  EXPECT_TRUE(s.certificates());
  EXPECT_FALSE(s.psk_possible());
  EXPECT_EQ(s.authorize(0x01020304, dn_id(dn_of("CN=anyone")), ike::AuthMethod::rsa_sig), "");
}

TEST_F(IkeCertSettingsTest, AggressiveModeForRsaPeers) {
  const IkeSettings s = load_ike_settings(write(R"(
ike = { ca = "ca.pem"; certificate = "gw.pem"; private_key = "gw.key";
        peers = ( { id = "C=CH, O=test, CN=client"; auth = "rsa"; aggressive = true; },
                  { address = "198.51.100.9"; id = "C=CH, O=test, CN=laptop"; auth = "rsa";
                    aggressive = true; },
                  { address = "198.51.100.10"; auth = "rsa"; aggressive = true; },
                  { id = "C=CH, O=test, CN=desk"; auth = "rsa"; },
                  { id = "phone.example.org"; psk = "phone-secret"; aggressive = true; } ); };
)"));
  ASSERT_EQ(s.peers.size(), 5u);
  // The DERs outlive the IDs that point into them.
  const auto client_der = dn_of("c=CH, o=test, cn=CLIENT");
  const auto laptop_der = dn_of("C=CH, O=test, CN=laptop");
  const auto desk_der = dn_of("C=CH, O=test, CN=desk");
  const auto stranger_der = dn_of("C=CH, O=test, CN=stranger");
  const auto client = dn_id(client_der);
  const auto laptop = dn_id(laptop_der);
  const auto desk = dn_id(desk_der);
  const auto stranger = dn_id(stranger_der);
  // By its DN from any address, with the entry's method.
  const auto* p = s.aggressive_peer(0x01020304, client);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->auth, ike::AuthMethod::rsa_sig);
  EXPECT_EQ(p, &s.peers[0]);
  // An entry with both takes its ID from its address only.
  EXPECT_EQ(s.aggressive_peer(0xc6336409, laptop), &s.peers[1]);
  EXPECT_EQ(s.aggressive_peer(0x01020304, laptop), nullptr);
  EXPECT_EQ(s.aggressive_peer(0xc6336409, stranger), nullptr);
  // An address-only entry takes the IDs its certificates prove later.
  EXPECT_EQ(s.aggressive_peer(0xc633640a, stranger), &s.peers[2]);
  // An ID's entry that does not enable it decides, even from an enabled address.
  EXPECT_EQ(s.aggressive_peer(0xc633640a, desk), nullptr);
  EXPECT_EQ(s.aggressive_peer(0x01020304, stranger), nullptr);
  // A psk entry still gives its key.
  ike::Identification phone;
  const std::string_view name = "phone.example.org";
  phone.type = static_cast<std::uint8_t>(ike::IdType::fqdn);
  phone.data = ike::ByteView(reinterpret_cast<const std::uint8_t*>(name.data()), name.size());
  p = s.aggressive_peer(0x01020304, phone);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->auth, ike::AuthMethod::psk);
}

TEST_F(IkeCertSettingsTest, ErrorsNameFileLineAndWhat) {
  auto e = error_of(
      "ike = {\n  ca = \"missing.pem\";\n  certificate = \"gw.pem\";\n"
      "  private_key = \"gw.key\"; };\n");
  EXPECT_NE(e.find(_path + ":2"), std::string::npos) << e;
  EXPECT_NE(e.find("cannot read '" + _dir + "/missing.pem'"), std::string::npos) << e;

  e = error_of(
      "ike = { ca = \"ca.pem\";\n certificate = \"gw.pem\";\n"
      " private_key = \"client.key\"; };\n");
  EXPECT_NE(e.find(_path + ":3"), std::string::npos) << e;
  EXPECT_NE(e.find("does not belong to the certificate"), std::string::npos) << e;
  EXPECT_EQ(e.find("BEGIN"), std::string::npos) << "no key material: " << e;

  e = error_of("ike = { ca = \"gw.key\"; certificate = \"gw.pem\"; private_key = \"gw.key\"; };\n");
  EXPECT_NE(e.find("no PEM certificate"), std::string::npos) << e;

  e = error_of("ike = {\n ca = \"ca.pem\"; };\n");
  EXPECT_NE(e.find(_path + ":2"), std::string::npos) << e;
  EXPECT_NE(e.find("need ca, certificate and private_key together"), std::string::npos) << e;

  e = error_of("ike = { psk = \"12345678\";\n crl = \"crl.pem\"; };\n");
  EXPECT_NE(e.find("crl without ca"), std::string::npos) << e;

  e = error_of(
      "ike = { psk = \"12345678\";\n peers = ( { address = \"1.2.3.4\"; auth = \"rsa\"; } ); };\n");
  EXPECT_NE(e.find(_path + ":2"), std::string::npos) << e;
  EXPECT_NE(e.find("needs ca, certificate and private_key"), std::string::npos) << e;

  const std::string certs =
      "ike = { ca = \"ca.pem\"; certificate = \"gw.pem\"; private_key = \"gw.key\";\n";
  e = error_of(certs + " peers = ( { address = \"1.2.3.4\";\n auth = \"rsa-sig\"; } ); };\n");
  EXPECT_NE(e.find(_path + ":3"), std::string::npos) << e;
  EXPECT_NE(e.find("auth must be \"psk\" or \"rsa\""), std::string::npos) << e;

  e = error_of(certs + " peers = ( { auth = \"rsa\";\n id = \"CN=x, bogus\"; } ); };\n");
  EXPECT_NE(e.find(_path + ":3"), std::string::npos) << e;
  EXPECT_NE(e.find("is not a distinguished name"), std::string::npos) << e;

  e = error_of(certs +
               " peers = ( { auth = \"rsa\"; id = \"CN=x\";\n psk = \"12345678\"; } ); };\n");
  EXPECT_NE(e.find("an rsa peer takes no psk"), std::string::npos) << e;

  e = error_of(certs +
               " peers = ( { auth = \"rsa\"; id = \"CN=x, O=y\"; },\n"
               " { auth = \"rsa\"; id = \"cn=X,o=Y\"; } ); };\n");
  EXPECT_NE(e.find("a second entry for the same peer"), std::string::npos) << e;

  e = error_of("ike = { peers = ( ); };\n");
  EXPECT_NE(e.find("no pre-shared key and no certificate"), std::string::npos) << e;
}

}  // namespace
}  // namespace l2tpgw::cp
