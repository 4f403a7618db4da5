// load_config: a valid file read back field by field, and for every rule a
// file that breaks it, checked for the file name, the line and the message.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "dataplane/config/config.h"

namespace l2tpgw {
namespace {

namespace fs = std::filesystem;

// One setting per line, so that a case can replace a line and know where the
// error must point.
const std::string base_config = R"(dataplane = {
  workers = [1, 2];
  channel = "bench";
  max_sas = 1024;
  max_sessions = 128;
  mbufs = 8191;
  replay_window = 256;
  punt_rate = 1000;
  punt_burst = 64;
};
controlplane = {
  socket = "/tmp/l2tpgw-test/ctl.sock";
  log_level = "debug";
};
ports = (
  {
    name = "outside";
    role = "outside";
    vdev = "net_pcap0,rx_pcap=in.pcap,tx_pcap=out.pcap";
    address = "198.51.100.1/24";
    gateway = "198.51.100.254";
    neighbors = (
      { address = "198.51.100.7"; mac = "02:00:00:00:00:07"; }
    );
  },
  {
    name = "inside";
    role = "inside";
    device = "net_null0";
    address = "10.0.0.1/24";
  }
);
sas = (
  {
    direction = "in";
    spi = 0x1000;
    peer = "203.0.113.5";
    encap = "udp";
    peer_port = 4501;
    cipher = "aes-cbc-128";
    cipher_key = "0x00112233445566778899aabbccddeeff";
    integrity = "hmac-sha1-96";
    integrity_key = "0102030405060708090a0b0c0d0e0f1011121314";
    replay_window = 128;
    lifetime = { soft_bytes = 5000000000L; hard_bytes = 6000000000L; soft_packets = 10; hard_packets = 20; };
  },
  {
    direction = "out";
    spi = 0xfffffff0;
    peer = "203.0.113.5";
    cipher = "aes-gcm-256";
    cipher_key = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1fA0A1A2A3";
    integrity = "none";
  }
);
sessions = (
  {
    tunnel_id = 1;
    session_id = 2;
    peer_tunnel_id = 100;
    peer_session_id = 200;
    peer = "203.0.113.5";
    peer_port = 4000;
    local_port = 1702;
    sa_in = 0x1000;
    sa_out = 0xfffffff0;
    address = "10.1.0.7";
    acfc = true;
    pfc = true;
    sequencing = true;
    mppe = {
      bits = 56;
      stateless = false;
      send_key = "0x00112233445566778899aabbccddeeff";
      recv_key = "F0E1D2C3B4A5968778695A4B3C2D1E0F";
    };
  },
  {
    tunnel_id = 1;
    session_id = 3;
    peer_tunnel_id = 101;
    peer_session_id = 201;
    peer = "203.0.113.5";
    sa_in = 0x1000;
    sa_out = 0xfffffff0;
    address = "10.1.0.8";
  }
);
)";

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/l2tpgw-config-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    _dir = tmpl;
  }
  void TearDown() override { fs::remove_all(_dir); }

  std::string write(const std::string& text) {
    const std::string path = (_dir / "gw.conf").string();
    std::ofstream(path) << text;
    return path;
  }

  // The base file with the (whole, trimmed) line `old_line` replaced by
  // `new_text`; returns the 1-based line the new text starts on.
  static std::string replaced(const std::string& old_line, const std::string& new_text,
                              int* line = nullptr) {
    std::string text = base_config;
    const auto at = text.find(old_line);
    EXPECT_NE(at, std::string::npos) << old_line;
    if (at == std::string::npos) {
      return text;
    }
    if (line != nullptr) {
      *line = 1 + static_cast<int>(std::count(text.begin(), text.begin() + at, '\n'));
    }
    text.replace(at, old_line.size(), new_text);
    return text;
  }

  // Expects load_config to fail with "FILE:LINE: ..." containing `message`.
  void expect_error(const std::string& text, int line, const std::string& message) {
    const std::string path = write(text);
    try {
      load_config(path);
      ADD_FAILURE() << "no error; expected line " << line << ": " << message;
    } catch (const ConfigError& e) {
      const std::string what = e.what();
      const std::string where = line > 0 ? path + ":" + std::to_string(line) + ": " : path + ": ";
      EXPECT_EQ(what.rfind(where, 0), 0u) << what << "\n  expected prefix " << where;
      EXPECT_NE(what.find(message), std::string::npos) << what << "\n  expected " << message;
    }
  }

  // Replace one line and expect the error on that line.
  void expect_line_error(const std::string& old_line, const std::string& new_line,
                         const std::string& message) {
    int line = 0;
    const std::string text = replaced(old_line, new_line, &line);
    expect_error(text, line, message);
  }

  static int line_of(const std::string& text, const std::string& needle, std::size_t nth = 0) {
    std::size_t at = text.find(needle);
    for (std::size_t i = 0; i < nth && at != std::string::npos; ++i) {
      at = text.find(needle, at + 1);
    }
    EXPECT_NE(at, std::string::npos) << needle;
    return 1 + static_cast<int>(std::count(text.begin(), text.begin() + at, '\n'));
  }

  fs::path _dir;
};

TEST_F(ConfigTest, ValidFileReadsEveryField) {
  const std::string path = write(base_config);
  const Config c = load_config(path);
  EXPECT_EQ(c.file, path);
  EXPECT_EQ(c.dataplane.worker_lcores, (std::vector<unsigned>{1, 2}));
  EXPECT_EQ(c.dataplane.channel, "bench");
  EXPECT_EQ(c.dataplane.max_sas, 1024u);
  EXPECT_EQ(c.dataplane.max_sessions, 128u);
  EXPECT_EQ(c.dataplane.mbufs, 8191u);
  EXPECT_EQ(c.dataplane.replay_window, 256u);
  EXPECT_EQ(c.dataplane.punt_rate, 1000u);
  EXPECT_EQ(c.dataplane.punt_burst, 64u);
  EXPECT_EQ(c.controlplane.socket, "/tmp/l2tpgw-test/ctl.sock");
  EXPECT_EQ(c.controlplane.log_level, "debug");

  ASSERT_EQ(c.ports.size(), 2u);
  const PortConfig& out = c.ports[0];
  EXPECT_EQ(out.name, "outside");
  EXPECT_EQ(out.role, PortRole::outside);
  EXPECT_EQ(out.vdev, "net_pcap0,rx_pcap=in.pcap,tx_pcap=out.pcap");
  EXPECT_EQ(out.device, "");
  EXPECT_EQ(out.address.addr, 0xc6336401u);
  EXPECT_EQ(out.address.len, 24);
  EXPECT_EQ(out.gateway, 0xc63364feu);
  ASSERT_EQ(out.neighbors.size(), 1u);
  EXPECT_EQ(out.neighbors[0].addr, 0xc6336407u);
  EXPECT_EQ(out.neighbors[0].mac, (wire::Mac{2, 0, 0, 0, 0, 7}));
  const PortConfig& in = c.ports[1];
  EXPECT_EQ(in.role, PortRole::inside);
  EXPECT_EQ(in.device, "net_null0");
  EXPECT_FALSE(in.gateway);
  EXPECT_EQ(c.port(PortRole::inside), &c.ports[1]);

  ASSERT_EQ(c.sas.size(), 2u);
  const auto& a = c.sas[0].params;
  EXPECT_EQ(c.sas[0].line, line_of(base_config, "direction = \"in\"") - 1);
  EXPECT_EQ(a.dir, channel::Direction::in);
  EXPECT_EQ(a.spi, 0x1000u);
  EXPECT_EQ(a.peer_addr, 0xcb007105u);
  EXPECT_EQ(a.local_addr, 0xc6336401u);
  EXPECT_EQ(a.encap, channel::Encap::udp);
  EXPECT_EQ(a.peer_port, 4501);
  EXPECT_EQ(a.local_port, 4500);
  EXPECT_EQ(a.cipher, EspCipher::aes_cbc_128);
  EXPECT_EQ(a.auth, EspAuth::hmac_sha1_96);
  ASSERT_EQ(a.cipher_key_len, 16);
  const std::uint8_t ck[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                               0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
  EXPECT_EQ(std::memcmp(a.cipher_key, ck, 16), 0);
  ASSERT_EQ(a.auth_key_len, 20);
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(a.auth_key[i], i + 1);
  }
  EXPECT_EQ(a.replay_window, 128u);
  EXPECT_EQ(a.lifetime.soft_bytes, 5000000000ull);
  EXPECT_EQ(a.lifetime.hard_bytes, 6000000000ull);
  EXPECT_EQ(a.lifetime.soft_packets, 10u);
  EXPECT_EQ(a.lifetime.hard_packets, 20u);

  const auto& b = c.sas[1].params;
  EXPECT_EQ(b.dir, channel::Direction::out);
  EXPECT_EQ(b.spi, 0xfffffff0u);
  EXPECT_EQ(b.encap, channel::Encap::none);
  EXPECT_EQ(b.peer_port, 0);
  EXPECT_EQ(b.cipher, EspCipher::aes_gcm_256);
  EXPECT_EQ(b.auth, EspAuth::none);
  EXPECT_EQ(b.cipher_key_len, 36);
  EXPECT_EQ(b.cipher_key[35], 0xa3);
  EXPECT_EQ(b.auth_key_len, 0);
  EXPECT_EQ(b.replay_window, 256u);  // from dataplane.replay_window
  EXPECT_EQ(b.lifetime.hard_bytes, 0u);

  ASSERT_EQ(c.sessions.size(), 2u);
  const auto& s = c.sessions[0].params;
  EXPECT_EQ(c.sessions[0].line, line_of(base_config, "tunnel_id = 1;") - 1);
  EXPECT_EQ(s.local_tunnel_id, 1);
  EXPECT_EQ(s.local_session_id, 2);
  EXPECT_EQ(s.peer_tunnel_id, 100);
  EXPECT_EQ(s.peer_session_id, 200);
  EXPECT_EQ(s.peer_addr, 0xcb007105u);
  EXPECT_EQ(s.peer_port, 4000);
  EXPECT_EQ(s.local_port, 1702);
  EXPECT_EQ(s.sa_in_spi, 0x1000u);
  EXPECT_EQ(s.sa_out_spi, 0xfffffff0u);
  EXPECT_EQ(s.inner_addr, 0x0a010007u);
  EXPECT_EQ(s.ppp_acfc, 1);
  EXPECT_EQ(s.ppp_pfc, 1);
  EXPECT_EQ(s.l2tp_sequencing, 1);
  EXPECT_EQ(s.mppe_bits, 56);
  EXPECT_EQ(s.mppe_stateless, 0);
  const std::uint8_t send[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
  const std::uint8_t recv[16] = {0xf0, 0xe1, 0xd2, 0xc3, 0xb4, 0xa5, 0x96, 0x87,
                                 0x78, 0x69, 0x5a, 0x4b, 0x3c, 0x2d, 0x1e, 0x0f};
  EXPECT_EQ(std::memcmp(s.mppe_send_key, send, 16), 0);
  EXPECT_EQ(std::memcmp(s.mppe_recv_key, recv, 16), 0);
  EXPECT_EQ(std::count(std::begin(s.reserved), std::end(s.reserved), 0),
            static_cast<long>(sizeof s.reserved));
}

TEST_F(ConfigTest, SessionDefaults) {
  const Config c = load_config(write(base_config));
  ASSERT_EQ(c.sessions.size(), 2u);
  const auto& s = c.sessions[1].params;
  EXPECT_EQ(c.sessions[1].line, line_of(base_config, "tunnel_id = 1;", 1) - 1);
  EXPECT_EQ(s.local_session_id, 3);
  EXPECT_EQ(s.peer_port, 1701);
  EXPECT_EQ(s.local_port, 1701);
  EXPECT_EQ(s.ppp_acfc, 0);
  EXPECT_EQ(s.ppp_pfc, 0);
  EXPECT_EQ(s.l2tp_sequencing, 0);
  // No mppe group: plain IPv4, no key material.
  EXPECT_EQ(s.mppe_bits, 0);
  EXPECT_EQ(s.mppe_stateless, 0);
  EXPECT_EQ(std::count(std::begin(s.mppe_send_key), std::end(s.mppe_send_key), 0), 16);
  EXPECT_EQ(std::count(std::begin(s.mppe_recv_key), std::end(s.mppe_recv_key), 0), 16);
}

TEST_F(ConfigTest, DefaultsWithOnlyAnOutsidePort) {
  const Config c = load_config(write(
      "ports = ( { name = \"o\"; role = \"outside\"; device = \"0000:03:00.0\"; address = "
      "\"192.0.2.1/24\"; } );\n"));
  EXPECT_EQ(c.dataplane.worker_lcores, (std::vector<unsigned>{1}));
  EXPECT_EQ(c.dataplane.channel, "default");
  EXPECT_EQ(c.dataplane.replay_window, 64u);
  EXPECT_EQ(c.controlplane.socket, "/run/l2tpgw/ctl.sock");
  EXPECT_EQ(c.controlplane.log_level, "info");
  EXPECT_EQ(c.controlplane.state_file, "/run/l2tpgw/ctl.state");
  EXPECT_TRUE(c.sas.empty());
  EXPECT_EQ(c.dataplane.max_sessions, 65536u);
  EXPECT_TRUE(c.sessions.empty());
  EXPECT_EQ(c.port(PortRole::inside), nullptr);
}

TEST_F(ConfigTest, ExampleConfigLoads) {
  const char* root = std::getenv("L2TPGW_SOURCE_ROOT");
  ASSERT_NE(root, nullptr) << "run through meson test";
  const Config c = load_config(std::string(root) + "/conf/l2tpgw.conf");
  EXPECT_EQ(c.ports.size(), 2u);
  EXPECT_EQ(c.sas.size(), 3u);
  ASSERT_EQ(c.sessions.size(), 1u);
  EXPECT_EQ(c.sessions[0].params.sa_out_spi, 0x2000u);
  // The documented MPPE keys are RFC 3079 §3.5.3's server start keys.
  const auto& p = c.sessions[0].params;
  EXPECT_EQ(p.mppe_bits, 128);
  EXPECT_EQ(p.mppe_stateless, 1);
  const std::uint8_t send[16] = {0x8b, 0x7c, 0xdc, 0x14, 0x9b, 0x99, 0x3a, 0x1b,
                                 0xa1, 0x18, 0xcb, 0x15, 0x3f, 0x56, 0xdc, 0xcb};
  const std::uint8_t recv[16] = {0xd5, 0xf0, 0xe9, 0x52, 0x1e, 0x3e, 0xa9, 0x58,
                                 0x96, 0x45, 0xe8, 0x60, 0x51, 0xc8, 0x22, 0x26};
  EXPECT_EQ(std::memcmp(p.mppe_send_key, send, 16), 0);
  EXPECT_EQ(std::memcmp(p.mppe_recv_key, recv, 16), 0);
}

TEST_F(ConfigTest, MissingFile) {
  const std::string path = (_dir / "nope.conf").string();
  try {
    load_config(path);
    ADD_FAILURE();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(path + ": cannot read the configuration: No such file"),
              std::string::npos)
        << e.what();
  }
}

TEST_F(ConfigTest, ParseErrorHasFileAndLine) {
  int line = 0;
  const std::string text = replaced("mbufs = 8191;", "mbufs = ;", &line);
  expect_error(text, line, "syntax error");
}

TEST_F(ConfigTest, UnknownKeys) {
  expect_line_error("mbufs = 8191;", "mbuf = 8191;", "unknown setting 'mbuf'");
  expect_line_error("log_level = \"debug\";", "loglevel = \"debug\";", "unknown setting 'loglevel'");
  expect_line_error("gateway = \"198.51.100.254\";", "gatway = \"198.51.100.254\";",
                    "unknown setting 'gatway'");
  expect_line_error("peer_port = 4501;", "peerport = 4501;", "unknown setting 'peerport'");
  expect_line_error("dataplane = {", "extra = 1;\ndataplane = {", "unknown setting 'extra'");
  expect_line_error("lifetime = { soft_bytes", "lifetime = { soft_byte", "unknown setting 'soft_byte'");
}

TEST_F(ConfigTest, DataplaneRules) {
  expect_line_error("workers = [1, 2];", "workers = [1, 1];", "worker lcore 1 is listed twice");
  expect_line_error("workers = [1, 2];", "workers = [];", "at least one lcore");
  expect_line_error("workers = [1, 2];", "workers = [1, 200];", "must be in 0..127");
  expect_line_error("workers = [1, 2];", "workers = 1;", "must be a list");
  expect_line_error("channel = \"bench\";", "channel = \"a/b\";", "only letters, digits");
  expect_line_error("max_sas = 1024;", "max_sas = 0;", "'max_sas' is 0, must be in 1..4194304");
  expect_line_error("max_sas = 1024;", "max_sas = \"many\";", "'max_sas' must be an integer");
  expect_line_error("replay_window = 256;", "replay_window = 100;", "must be a multiple of 64");
  expect_line_error("replay_window = 256;", "replay_window = 8192;", "must be in 64..4096");
  expect_line_error("punt_rate = 1000;", "punt_rate = 0;", "'punt_rate' is 0");
  expect_line_error("max_sessions = 128;", "max_sessions = 0;",
                    "'max_sessions' is 0, must be in 1..4194304");
  expect_line_error("max_sessions = 128;", "max_sessions = 4194305;",
                    "'max_sessions' is 4194305, must be in 1..4194304");
}

TEST_F(ConfigTest, Int64AcceptedForNumbers) {
  const Config c = load_config(write(replaced("mbufs = 8191;", "mbufs = 8191L;")));
  EXPECT_EQ(c.dataplane.mbufs, 8191u);
}

TEST_F(ConfigTest, ControlplaneRules) {
  expect_line_error("socket = \"/tmp/l2tpgw-test/ctl.sock\";", "socket = \"ctl.sock\";",
                    "must be an absolute path");
  expect_line_error("log_level = \"debug\";", "log_level = \"loud\";",
                    "'log_level' is 'loud', must be debug, info, warning or error");
  expect_line_error("log_level = \"debug\";", "log_level = \"debug\"; state_file = \"st\";",
                    "'state_file' must be an absolute path");
}

TEST_F(ConfigTest, StateFileFollowsTheSocketUnlessGiven) {
  EXPECT_EQ(load_config(write(base_config)).controlplane.state_file, "/tmp/l2tpgw-test/ctl.state");
  EXPECT_EQ(load_config(write(replaced("log_level = \"debug\";",
                                       "log_level = \"debug\"; state_file = \"\";")))
                .controlplane.state_file,
            "");
  EXPECT_EQ(load_config(write(replaced("ctl.sock\";", "ctl\"; state_file = \"/var/x\";")))
                .controlplane.state_file,
            "/var/x");
  EXPECT_EQ(load_config(write(replaced("ctl.sock\";", "ctl\";"))).controlplane.state_file,
            "/tmp/l2tpgw-test/ctl.state");
}

TEST_F(ConfigTest, PortRules) {
  expect_line_error("role = \"inside\";", "role = \"outside\";",
                    "a second port with role outside");
  expect_line_error("role = \"inside\";", "role = \"middle\";", "must be \"outside\" or \"inside\"");
  expect_line_error("address = \"10.0.0.1/24\";", "address = \"10.0.0.1\";",
                    "'address' must be an IPv4 address with its prefix length");
  expect_line_error("address = \"10.0.0.1/24\";", "address = \"198.51.100.9/16\";",
                    "overlaps that of port 'outside'");
  expect_line_error("gateway = \"198.51.100.254\";", "gateway = \"192.0.2.1\";",
                    "must be another address on the port's subnet");
  expect_line_error("{ address = \"198.51.100.7\"; mac = \"02:00:00:00:00:07\"; }",
                    "{ address = \"198.51.100.7\"; mac = \"02:00:00:00:00\"; }",
                    "'mac' is not a MAC address");
  expect_line_error("{ address = \"198.51.100.7\"; mac = \"02:00:00:00:00:07\"; }",
                    "{ address = \"198.51.100.7\"; mac = \"01:00:5e:00:00:07\"; }",
                    "is a multicast address");
  expect_line_error("{ address = \"198.51.100.7\"; mac = \"02:00:00:00:00:07\"; }",
                    "{ address = \"192.0.2.7\"; mac = \"02:00:00:00:00:07\"; }",
                    "is not on the port's subnet");
  expect_line_error("name = \"inside\";", "name = \"outside\";",
                    "port name 'outside' is already used by the port at line " +
                        std::to_string(line_of(base_config, "name = \"outside\"") - 1));
}

TEST_F(ConfigTest, PortWithBothDevicesPointsAtThePort) {
  const std::string text =
      replaced("device = \"net_null0\";", "device = \"net_null0\"; vdev = \"net_null1\";");
  expect_error(text, line_of(text, "name = \"inside\"") - 1,
               "port 'inside' needs exactly one of 'device' or 'vdev'");
}

TEST_F(ConfigTest, PortDeviceMissingPointsAtThePort) {
  const std::string text = replaced("    device = \"net_null0\";\n", "");
  expect_error(text, line_of(text, "name = \"inside\"") - 1,
               "port 'inside' needs exactly one of 'device' or 'vdev'");
}

TEST_F(ConfigTest, PortsRequiredWithAnOutsidePort) {
  expect_error("dataplane = { workers = [1]; };\n", 0, "missing required setting 'ports'");
  const std::string text =
      "ports = (\n { name = \"i\"; role = \"inside\"; device = \"x\"; address = \"10.0.0.1/24\"; }\n);\n";
  expect_error(text, 1, "no port with role \"outside\"");
  expect_error("ports = ();\n", 1, "'ports' must list 1..4 ports");
}

TEST_F(ConfigTest, SaRules) {
  expect_line_error("direction = \"out\";", "direction = \"both\";", "must be \"in\" or \"out\"");
  expect_line_error("spi = 0x1000;", "spi = 0;", "'spi' must not be 0");
  expect_line_error("spi = 0x1000;", "spi = 255;", "reserved by IANA");
  expect_line_error("peer = \"203.0.113.5\";\n    encap", "peer = \"203.0.113\";\n    encap",
                    "'peer' is not an IPv4 address");
  expect_line_error("encap = \"udp\";", "encap = \"tcp\";", "must be \"none\" or \"udp\"");
  expect_line_error("peer_port = 4501;", "peer_port = 70000;", "must be in 1..65535");
  expect_line_error("cipher = \"aes-cbc-128\";", "cipher = \"aes-cbc-192\";", "unknown cipher 'aes-cbc-192'");
  expect_line_error("integrity = \"hmac-sha1-96\";", "integrity = \"md5\";", "unknown integrity 'md5'");
  expect_line_error("integrity = \"hmac-sha1-96\";", "integrity = \"none\";",
                    "aes-cbc-128 needs an integrity algorithm");
  expect_line_error("integrity = \"none\";", "integrity = \"hmac-sha1-96\";",
                    "aes-gcm-256 carries its own ICV");
  expect_line_error("cipher_key = \"0x00112233445566778899aabbccddeeff\";",
                    "cipher_key = \"0x00112233445566778899aabbccddee\";",
                    "'cipher_key' is 15 bytes, aes-cbc-128 takes 16 bytes (32 hex digits)");
  expect_line_error("cipher_key = \"0x00112233445566778899aabbccddeeff\";",
                    "cipher_key = \"0x00112233445566778899aabbccddeefg\";", "not a hex digit");
  expect_line_error("cipher_key = \"0x00112233445566778899aabbccddeeff\";",
                    "cipher_key = \"0x00112233445566778899aabbccddeef\";", "odd number of hex digits");
  expect_line_error("integrity_key = \"0102030405060708090a0b0c0d0e0f1011121314\";",
                    "integrity_key = \"0102\";", "'integrity_key' is 2 bytes, hmac-sha1-96 takes 20");
  expect_line_error("replay_window = 128;", "replay_window = 96;", "must be a multiple of 64");
  expect_line_error("soft_packets = 10;", "soft_packets = 30;", "soft_packets 30 exceeds hard_packets 20");
  expect_line_error("soft_bytes = 5000000000L;", "soft_bytes = 7000000000L;",
                    "soft_bytes 7000000000 exceeds hard_bytes 6000000000");
}

TEST_F(ConfigTest, SaKeyErrorsNeverShowTheKey) {
  const std::string path = write(replaced("cipher_key = \"0x00112233445566778899aabbccddeeff\";",
                                          "cipher_key = \"0x00112233445566778899aabbccddeefg\";"));
  try {
    load_config(path);
    ADD_FAILURE();
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()).find("00112233"), std::string::npos) << e.what();
  }
}

TEST_F(ConfigTest, SaPortsOnlyWithUdpEncap) {
  const std::string text = replaced("encap = \"udp\";", "encap = \"none\";");
  expect_error(text, line_of(text, "peer_port = 4501;"), "'peer_port' applies only with encap = \"udp\"");
}

TEST_F(ConfigTest, SaTunnelMode) {
  const std::string text = replaced("    integrity = \"none\";\n",
                                    "    integrity = \"none\";\n    mode = \"tunnel\";\n"
                                    "    peer_net = \"192.168.50.0/24\";\n    local_net = \"10.0.0.0/16\";\n");
  const Config c = load_config(write(text));
  const auto& out = c.sas[1].params;
  EXPECT_EQ(out.mode, channel::Mode::tunnel);
  EXPECT_EQ(out.peer_net.addr, 0xc0a83200u);
  EXPECT_EQ(out.peer_net.len, 24u);
  EXPECT_EQ(out.local_net.addr, 0x0a000000u);
  EXPECT_EQ(out.local_net.len, 16u);
  EXPECT_EQ(c.sas[0].params.mode, channel::Mode::transport);

  auto edit = [&](const std::string& from, const std::string& to) {
    std::string t = text;
    t.replace(t.find(from), from.size(), to);
    return t;
  };
  std::string t = edit("mode = \"tunnel\";", "mode = \"beet\";");
  expect_error(t, line_of(t, "mode = "), "'mode' is 'beet', must be \"transport\" or \"tunnel\"");
  t = edit("peer_net = \"192.168.50.0/24\";", "peer_net = \"192.168.50.1/24\";");
  expect_error(t, line_of(t, "peer_net = "), "'peer_net' 192.168.50.1/24 has bits set beyond its length");
  t = edit("local_net = \"10.0.0.0/16\";", "local_net = \"10.0.0.0\";");
  expect_error(t, line_of(t, "local_net = "), "'local_net' is not an IPv4 prefix (a.b.c.d/len): '10.0.0.0'");
  t = edit("    local_net = \"10.0.0.0/16\";\n", "");
  expect_error(t, line_of(t, "direction = \"out\"") - 1, "missing required setting 'local_net'");
  t = edit("mode = \"tunnel\";", "mode = \"transport\";");
  expect_error(t, line_of(t, "peer_net = "), "'peer_net' applies only with mode = \"tunnel\"");
}

TEST_F(ConfigTest, SaMissingRequiredKey) {
  const std::string text = replaced("    cipher = \"aes-gcm-256\";\n", "");
  expect_error(text, line_of(text, "direction = \"out\"") - 1, "missing required setting 'cipher'");
}

TEST_F(ConfigTest, DuplicateSaNamesBothLines) {
  const std::string text = replaced("direction = \"out\";\n    spi = 0xfffffff0;",
                                    "direction = \"in\";\n    spi = 0x1000;");
  const int first = line_of(text, "direction = \"in\"") - 1;
  const int second = line_of(text, "direction = \"in\"", 1) - 1;
  expect_error(text, second,
               "SA in spi 0x00001000 peer 203.0.113.5 is already defined at line " +
                   std::to_string(first));
}

TEST_F(ConfigTest, SessionIdRules) {
  // RFC 2661 §3.1: id 0 is for control of the tunnel, in any of the four.
  for (const char* key :
       {"tunnel_id = 1;", "session_id = 2;", "peer_tunnel_id = 100;", "peer_session_id = 200;"}) {
    std::string line = key;
    line = line.substr(0, line.find(';'));
    const std::string name = line.substr(0, line.find(' '));
    expect_line_error(line + ";", name + " = 0;",
                      "'" + name + "' must not be 0 (RFC 2661 §3.1: id 0 is for control of the tunnel)");
    expect_line_error(line + ";", name + " = 65536;", "'" + name + "' is 65536, must be in 1..65535");
  }
  expect_line_error("session_id = 2;", "session_id = \"2\";", "'session_id' must be an integer");
}

TEST_F(ConfigTest, SessionPeerAndPorts) {
  expect_line_error("peer = \"203.0.113.5\";\n    peer_port = 4000;",
                    "peer = \"203.0.113.500\";\n    peer_port = 4000;", "'peer' is not an IPv4 address");
  expect_line_error("peer_port = 4000;", "peer_port = 0;", "'peer_port' is 0, must be in 1..65535");
  expect_line_error("local_port = 1702;", "local_port = 65536;",
                    "'local_port' is 65536, must be in 1..65535");
  expect_line_error("acfc = true;", "acfc = 1;", "'acfc' must be true or false");
  expect_line_error("sequencing = true;", "sequencing = \"yes\";", "'sequencing' must be true or false");
  expect_line_error("pfc = true;", "pfcomp = true;", "unknown setting 'pfcomp'");
}

TEST_F(ConfigTest, SessionSasMustBelongToThePeer) {
  expect_line_error("sa_in = 0x1000;", "sa_in = 0x1001;",
                    "'sa_in' 0x00001001 names no inbound SA of peer 203.0.113.5 in 'sas'");
  // An outbound SA is not an inbound one, and the other way round.
  expect_line_error("sa_in = 0x1000;", "sa_in = 0xfffffff0;",
                    "'sa_in' 0xfffffff0 names no inbound SA of peer 203.0.113.5 in 'sas'");
  expect_line_error("sa_out = 0xfffffff0;", "sa_out = 0x1000;",
                    "'sa_out' 0x00001000 names no outbound SA of peer 203.0.113.5 in 'sas'");
  // The SAs exist, but for another peer than the session's.
  const std::string text = replaced("peer = \"203.0.113.5\";\n    peer_port = 4000;",
                                    "peer = \"192.0.2.9\";\n    peer_port = 4000;");
  expect_error(text, line_of(text, "sa_in = 0x1000;"),
               "'sa_in' 0x00001000 is the inbound SA of peer 203.0.113.5 (line " +
                   std::to_string(line_of(text, "direction = \"in\"") - 1) +
                   "), not of this session's peer 192.0.2.9");
}

TEST_F(ConfigTest, SessionAddressRules) {
  expect_line_error("address = \"10.1.0.7\";", "address = \"10.1.0\";",
                    "'address' is not an IPv4 address: '10.1.0'");
  for (const char* a : {"0.0.0.0", "127.0.0.1", "224.0.0.5", "255.255.255.255"}) {
    expect_line_error("address = \"10.1.0.7\";", std::string("address = \"") + a + "\";",
                      std::string("'address' ") + a + " is not a unicast host address");
  }
  expect_line_error("address = \"10.1.0.7\";", "address = \"10.0.0.1\";",
                    "'address' 10.0.0.1 is the address of port 'inside' (line " +
                        std::to_string(line_of(base_config, "name = \"inside\"") - 1) + ")");
  expect_line_error("address = \"10.1.0.7\";", "address = \"198.51.100.1\";",
                    "'address' 198.51.100.1 is the address of port 'outside'");
  // A second session with the first one's address: the error is on its own
  // address and names the first.
  const std::string text = replaced("address = \"10.1.0.8\";", "address = \"10.1.0.7\";");
  expect_error(text, line_of(text, "address = \"10.1.0.7\";", 1),
               "'address' 10.1.0.7 is already given to tunnel 1 session 2 at line " +
                   std::to_string(line_of(text, "tunnel_id = 1;") - 1));
}

TEST_F(ConfigTest, SessionIdsUnique) {
  const std::string text = replaced("session_id = 3;", "session_id = 2;");
  expect_error(text, line_of(text, "tunnel_id = 1;", 1) - 1,
               "tunnel 1 session 2 is already defined at line " +
                   std::to_string(line_of(text, "tunnel_id = 1;") - 1));
  // The same session id in another tunnel is another session.
  const Config c = load_config(write(replaced("tunnel_id = 1;\n    session_id = 3;",
                                              "tunnel_id = 2;\n    session_id = 2;")));
  EXPECT_EQ(c.sessions.size(), 2u);
}

TEST_F(ConfigTest, SessionCountAndShape) {
  const std::string text = replaced("max_sessions = 128;", "max_sessions = 1;");
  expect_error(text, line_of(text, "sessions = ("), "more sessions than dataplane.max_sessions (1)");
  const std::string scalar = base_config.substr(0, base_config.find("sessions = (")) + "sessions = 3;\n";
  expect_error(scalar, line_of(scalar, "sessions = 3;"), "'sessions' must be a list");
  const std::string missing = replaced("    sa_out = 0xfffffff0;\n    address = \"10.1.0.8\";",
                                       "    address = \"10.1.0.8\";");
  expect_error(missing, line_of(missing, "tunnel_id = 1;", 1) - 1,
               "missing required setting 'sa_out'");
}

TEST_F(ConfigTest, SessionMppeStrengthAndMode) {
  for (const int bits : {40, 56, 128}) {
    const Config c =
        load_config(write(replaced("bits = 56;", "bits = " + std::to_string(bits) + ";")));
    EXPECT_EQ(c.sessions[0].params.mppe_bits, bits);
    // The 16-byte start keys are kept whole whatever the strength.
    EXPECT_EQ(c.sessions[0].params.mppe_send_key[15], 0xff);
    EXPECT_EQ(c.sessions[0].params.mppe_recv_key[15], 0x0f);
  }
  for (const char* bits : {"0", "64", "127", "256", "-128"}) {
    expect_line_error("bits = 56;", std::string("bits = ") + bits + ";",
                      std::string("'bits' is ") + bits +
                          ", must be 40, 56 or 128 (RFC 3078 §2.1)");
  }
  expect_line_error("bits = 56;", "bits = \"128\";", "'bits' must be an integer");
  expect_line_error("stateless = false;", "stateless = 0;", "'stateless' must be true or false");
  // Stateless unless told otherwise.
  const Config c = load_config(write(replaced("      stateless = false;\n", "")));
  EXPECT_EQ(c.sessions[0].params.mppe_stateless, 1);
  const Config on = load_config(write(replaced("stateless = false;", "stateless = true;")));
  EXPECT_EQ(on.sessions[0].params.mppe_stateless, 1);
}

TEST_F(ConfigTest, SessionMppeKeys) {
  const std::string what = "an MPPE start key (RFC 3079 §3.3) takes 16 bytes (32 hex digits)";
  expect_line_error("send_key = \"0x00112233445566778899aabbccddeeff\";",
                    "send_key = \"0011223344556677\";", "'send_key' is 8 bytes, " + what);
  expect_line_error("recv_key = \"F0E1D2C3B4A5968778695A4B3C2D1E0F\";",
                    "recv_key = \"F0E1D2C3B4A5968778695A4B3C2D1E0F00\";",
                    "'recv_key' is 17 bytes, " + what);
  expect_line_error("recv_key = \"F0E1D2C3B4A5968778695A4B3C2D1E0F\";",
                    "recv_key = \"F0E1D2C3B4A5968778695A4B3C2D1E0\";",
                    "'recv_key' has an odd number of hex digits");
  expect_line_error("send_key = \"0x00112233445566778899aabbccddeeff\";",
                    "send_key = 0x0011223344556677;", "'send_key' must be a string");
  // A typo in a key is reported without the key.
  int line = 0;
  const std::string bad = replaced("send_key = \"0x00112233445566778899aabbccddeeff\";",
                                   "send_key = \"0x00112233445566778899aabbccddeeXY\";", &line);
  expect_error(bad, line, "'send_key' contains a character that is not a hex digit");
  try {
    load_config(write(bad));
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()).find("00112233"), std::string::npos) << e.what();
  }
}

TEST_F(ConfigTest, SessionMppeShape) {
  int line = 0;
  std::string text = replaced(
      "    mppe = {\n      bits = 56;\n      stateless = false;\n"
      "      send_key = \"0x00112233445566778899aabbccddeeff\";\n"
      "      recv_key = \"F0E1D2C3B4A5968778695A4B3C2D1E0F\";\n    };",
      "    mppe = 128;", &line);
  expect_error(text, line, "'mppe' must be a group");
  text = replaced("      recv_key = \"F0E1D2C3B4A5968778695A4B3C2D1E0F\";\n", "");
  expect_error(text, line_of(text, "mppe = {"), "missing required setting 'recv_key'");
  text = replaced("      bits = 56;\n", "");
  expect_error(text, line_of(text, "mppe = {"), "missing required setting 'bits'");
  expect_line_error("stateless = false;", "history = false;", "unknown setting 'history'");
}

TEST_F(ConfigTest, TooBigPolicyAndIcmpRate) {
  const Config d = load_config(write(base_config));
  EXPECT_EQ(d.dataplane.inner_too_big, InnerTooBig::fragment);
  EXPECT_EQ(d.dataplane.icmp_rate, 1000u);
  EXPECT_EQ(d.dataplane.icmp_burst, 50u);
  EXPECT_EQ(d.ports[0].mtu, 1500);
  const Config c = load_config(write(replaced(
      "punt_burst = 64;", "punt_burst = 64; inner_too_big = \"icmp\"; icmp_rate = 10; icmp_burst = 3;")));
  EXPECT_EQ(c.dataplane.inner_too_big, InnerTooBig::icmp);
  EXPECT_EQ(c.dataplane.icmp_rate, 10u);
  EXPECT_EQ(c.dataplane.icmp_burst, 3u);
  EXPECT_EQ(load_config(write(replaced("punt_burst = 64;", "punt_burst = 64; inner_too_big = \"drop\";")))
                .dataplane.inner_too_big,
            InnerTooBig::drop);
  expect_line_error("punt_burst = 64;", "inner_too_big = \"split\";",
                    "'inner_too_big' is 'split', must be \"fragment\", \"icmp\" or \"drop\"");
  expect_line_error("punt_burst = 64;", "icmp_rate = 0;", "'icmp_rate' is 0");
  const Config m = load_config(write(replaced("gateway = \"198.51.100.254\";",
                                              "gateway = \"198.51.100.254\"; mtu = 1400;")));
  EXPECT_EQ(m.ports[0].mtu, 1400);
  expect_line_error("gateway = \"198.51.100.254\";", "mtu = 500;", "'mtu' is 500, must be in 576..9216");
}

TEST_F(ConfigTest, InsideIpv6) {
  const std::string v6 =
      "address = \"10.0.0.1/24\"; ipv6_address = \"2001:db8:ffff::1/64\"; ipv6_gateway = \"fe80::1\"; "
      "ipv6_neighbors = ( { address = \"2001:db8:ffff::2\"; mac = \"02:00:00:00:0a:02\"; } );";
  const Config c = load_config(write(replaced("address = \"10.0.0.1/24\";", v6)));
  const PortConfig& in = c.ports[1];
  ASSERT_TRUE(in.address6);
  EXPECT_EQ(in.address6->len, 64);
  EXPECT_EQ(in.address6->addr, (wire::Ipv6Addr{0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}));
  ASSERT_TRUE(in.gateway6);
  EXPECT_EQ((*in.gateway6)[0], 0xfe);
  ASSERT_EQ(in.neighbors6.size(), 1u);
  EXPECT_EQ(in.neighbors6[0].mac, (wire::Mac{2, 0, 0, 0, 0x0a, 2}));
  EXPECT_FALSE(c.ports[0].address6);
  expect_line_error("address = \"10.0.0.1/24\";", "address = \"10.0.0.1/24\"; ipv6_address = \"2001:db8::1\";",
                    "'ipv6_address' must be a unicast IPv6 address with its prefix length");
  expect_line_error("address = \"10.0.0.1/24\";", "address = \"10.0.0.1/24\"; ipv6_gateway = \"fe80::1\";",
                    "'ipv6_gateway' needs 'ipv6_address'");
  expect_line_error("address = \"10.0.0.1/24\";",
                    "address = \"10.0.0.1/24\"; ipv6_address = \"2001:db8::1/64\"; ipv6_gateway = \"2001:db9::1\";",
                    "'ipv6_gateway' must be another unicast address on the port's prefix");
  expect_line_error("address = \"198.51.100.1/24\";",
                    "address = \"198.51.100.1/24\"; ipv6_address = \"2001:db8::1/64\";",
                    "'ipv6_address' is only for the inside port");
}

TEST_F(ConfigTest, SessionIpv6Prefix) {
  const Config c = load_config(write(replaced("address = \"10.1.0.8\";",
                                              "address = \"10.1.0.8\"; ipv6_prefix = \"2001:db8:1:2::/64\";")));
  const auto& p = c.sessions[1].params;
  EXPECT_EQ(p.ipv6, 1);
  const std::uint8_t prefix[8] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 2};
  EXPECT_EQ(std::memcmp(p.ipv6_prefix, prefix, 8), 0);
  const std::uint8_t ifid[8] = {0, 0, 0, 0, 0, 0, 0, 1};
  EXPECT_EQ(std::memcmp(p.ipv6_ifid, ifid, 8), 0) << "::1 when the prefix's host part is 0";
  EXPECT_EQ(c.sessions[0].params.ipv6, 0);
  const Config d = load_config(write(replaced(
      "address = \"10.1.0.8\";",
      "address = \"10.1.0.8\"; ipv6_prefix = \"2001:db8:1:2::/64\"; ipv6_interface_id = \"::1122:3344:5566:7788\";")));
  const std::uint8_t id2[8] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88};
  EXPECT_EQ(std::memcmp(d.sessions[1].params.ipv6_ifid, id2, 8), 0);
  expect_line_error("address = \"10.1.0.8\";", "address = \"10.1.0.8\"; ipv6_prefix = \"2001:db8:1:2::/48\";",
                    "'ipv6_prefix' must be a global unicast /64");
  expect_line_error("address = \"10.1.0.8\";", "address = \"10.1.0.8\"; ipv6_prefix = \"fe80::/64\";",
                    "'ipv6_prefix' must be a global unicast /64");
  expect_line_error("address = \"10.1.0.8\";", "address = \"10.1.0.8\"; ipv6_interface_id = \"::1\";",
                    "'ipv6_interface_id' needs 'ipv6_prefix'");
  // The same /64 for two sessions.
  std::string text = replaced("address = \"10.1.0.7\";", "address = \"10.1.0.7\"; ipv6_prefix = \"2001:db8:1:2::/64\";");
  const auto at = text.find("address = \"10.1.0.8\";");
  text.replace(at, std::string("address = \"10.1.0.8\";").size(),
               "address = \"10.1.0.8\"; ipv6_prefix = \"2001:db8:1:2:ffff::/64\";");
  expect_error(text, line_of(text, "address = \"10.1.0.8\";"), "'ipv6_prefix' is already given to tunnel 1 session 2");
}

}  // namespace
}  // namespace l2tpgw
