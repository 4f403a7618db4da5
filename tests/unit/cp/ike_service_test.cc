// The IKE service between punts and the data plane: a whole Main Mode and
// Quick Mode from gen_vectors.py (tests/unit/ike) arriving as punted IPv4
// packets, the replies leaving as whole packets, the SA pair reaching the
// data plane with the independently computed keys, and the operator's
// lines for success and each failure.
#include "controlplane/ike_service.h"

#include <gtest/gtest.h>

#include <deque>
#include <nlohmann/json.hpp>
#include <sstream>

#include "controlplane/ctl_commands.h"
#include "controlplane/ike/fragment.h"
#include "controlplane/udp_datagram.h"
#include "tests/unit/ike/aggressive_rsa_vectors.h"
#include "tests/unit/ike/aggressive_vectors.h"
#include "tests/unit/ike/responder_util.h"
#include "tests/unit/ike/cert_vectors.h"
#include "tests/unit/ike/initiator_vectors.h"
#include "tests/unit/ike/test_util.h"
#include "tests/unit/ike/vectors.h"

namespace l2tpgw::cp {
namespace {

namespace vec = ike::vec;
using ike::test::hex;
using ike::test::to_hex;

constexpr std::uint32_t gw = 0xc0000201;      // 192.0.2.1
constexpr std::uint32_t client = 0xcb007109;  // 203.0.113.9

class IkeServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    _settings.enabled = true;
    const auto psk = hex(vec::mm_psk);
    _settings.default_psk = ike::SecretBytes(psk.begin(), psk.end());
  }

  std::unique_ptr<IkeService> make() {
    IkeHooks h;
    h.send = [this](std::span<const std::uint8_t> p) {
      _sent.emplace_back(p.begin(), p.end());
      return true;
    };
    h.call = [this](const channel::CtrlMsg& m) -> std::optional<channel::Ack> {
      _calls.push_back(m);
      return channel::make_ack(channel::AckResult::ok);
    };
    h.mm_random = [this, rsa = _rsa, aggressive = _aggressive] {
      ike::MainModeRandom r;
      if (_p1) {
        const auto ck = hex(ike::p1rk::p1rk_icky);
        std::copy(ck.begin(), ck.end(), r.rcookie.begin());
        r.nonce = hex(ike::p1rk::p1rk_ni);
        r.dh_private = hex(ike::p1rk::p1rk_xi);
        return r;
      }
      if (_am_rsa) {
        return ike::test::fixed_random(ike::am_rsa::rcky, ike::am_rsa::nr, ike::am_rsa::xr);
      }
      if (aggressive) {
        const auto ck = hex(vec::am_rcky);
        std::copy(ck.begin(), ck.end(), r.rcookie.begin());
        r.nonce = hex(vec::am_nr);
        r.dh_private = hex(vec::am_xr);
        return r;
      }
      const auto ck = hex(rsa ? ike::certvec::rsa_rcky : vec::mm_rcky);
      std::copy(ck.begin(), ck.end(), r.rcookie.begin());
      r.nonce = hex(rsa ? ike::certvec::rsa_nr : vec::mm_nr);
      r.dh_private = hex(rsa ? ike::certvec::rsa_xr : vec::mm_xr);
      return r;
    };
    h.qm_random = [this] {
      ike::QuickModeRandom r;
      r.spi = _ours ? vec::rk_spi_gw : vec::qm_spi_r;
      if (!_spis.empty()) {
        r.spi = _spis.front();
        _spis.pop_front();
      }
      r.nonce = hex(_ours ? vec::rk_ni : vec::qm_nr);
      return r;
    };
    if (_ours) {
      h.message_id = [] { return std::uint32_t{0x0c0d0e0f}; };
    } else if (_message_id != 0) {
      h.message_id = [mid = _message_id] { return mid; };
    }
    if (_p1_mid) {
      h.message_id = [] { return std::uint32_t{ike::p1rk::p1rk_delete_mid}; };
    }
    h.pair_moved = [this](const IpsecPairRef& from, const IpsecPairRef& to) {
      _moved.emplace_back(from, to);
    };
    h.pair_gone = [this](const IpsecPairRef& p, const std::string& why) { _gone.emplace_back(p, why); };
    return std::make_unique<IkeService>(_settings, gw, _log, std::move(h));
  }

  static channel::PuntMsg punt(const std::vector<std::uint8_t>& isakmp, std::uint16_t port,
                               std::uint32_t from = client, std::uint32_t to = gw) {
    std::vector<std::uint8_t> payload;
    if (port == 4500) {
      payload.assign(4, 0);
    }
    payload.insert(payload.end(), isakmp.begin(), isakmp.end());
    const auto pkt = build_udp_datagram({from, to, port, port}, payload);
    channel::PuntMsg m{};
    m.reason = channel::PuntReason::ike;
    m.len = static_cast<std::uint16_t>(pkt.size());
    std::copy(pkt.begin(), pkt.end(), m.data);
    m.peer_addr = from;
    m.peer_port = port;
    return m;
  }

  // The ISAKMP message of the last packet sent, marker removed; checks the
  // packet's addressing on the way.
  // The datagrams sent since `from`, each at most max_size, as IKE
  // fragments (after the non-ESP marker on 4500): the whole message, hex.
  std::string reassembled(std::size_t from, std::size_t max_size) {
    ike::FragmentReassembly r;
    std::string why;
    auto st = ike::FragmentReassembly::Status::incomplete;
    for (std::size_t i = from; i < _sent.size(); ++i) {
      EXPECT_LE(_sent[i].size(), max_size);
      const auto d = parse_udp_datagram(_sent[i]);
      EXPECT_TRUE(d.ok());
      EXPECT_EQ(st, ike::FragmentReassembly::Status::incomplete);
      st = r.add(d.ends.dst_port == 4500 ? d.payload.subspan(4) : d.payload, why);
    }
    EXPECT_EQ(st, ike::FragmentReassembly::Status::complete) << why;
    return st == ike::FragmentReassembly::Status::complete ? to_hex(r.whole()) : why;
  }

  std::string last_reply(std::uint16_t port) {
    EXPECT_FALSE(_sent.empty());
    const auto d = parse_udp_datagram(_sent.back());
    EXPECT_TRUE(d.ok());
    EXPECT_EQ(d.ends.src_addr, gw);
    EXPECT_EQ(d.ends.dst_addr, client);
    EXPECT_EQ(d.ends.src_port, port);
    EXPECT_EQ(d.ends.dst_port, port);
    auto p = d.payload;
    if (port == 4500) {
      EXPECT_EQ(to_hex(p.first(4)), "00000000");
      p = p.subspan(4);
    }
    return to_hex(p);
  }

  void main_mode(IkeService& s, IkeService::Clock::time_point now) {
    s.on_punt(punt(hex(vec::mm_msg1), 500), now);
    EXPECT_EQ(last_reply(500), vec::mm_msg2);
    s.on_punt(punt(hex(vec::mm_msg3), 500), now);
    EXPECT_EQ(last_reply(500), vec::mm_msg4);
    s.on_punt(punt(hex(vec::mm_msg5), 4500), now);
    EXPECT_EQ(last_reply(4500), vec::mm_msg6);
  }

  // Main Mode, then Quick Mode: the pair in the data plane; the calls
  // and moves so far forgotten.
  void main_and_quick_mode(IkeService& s, IkeService::Clock::time_point now) {
    main_mode(s, now);
    s.on_punt(punt(hex(vec::qm_msg1), 4500), now);
    s.on_punt(punt(hex(vec::qm_msg3), 4500), now);
    ASSERT_EQ(_calls.size(), 2u);
    _calls.clear();
    _moved.clear();
  }

  // RSA signatures: the CA (with its CRL) and the gateway's credential of
  // gen_cert_vectors.py, the responder's randomness of its exchange.
  void use_certificates() {
    std::string why;
    auto trust = ike::TrustStore::from_pem(ike::certvec::ca_pem, ike::certvec::crl_pem, why);
    auto cred = ike::LocalCredential::from_pem(ike::certvec::gw_pem, ike::certvec::gw_key_pem, why);
    ASSERT_TRUE(trust && cred) << why;
    _settings.trust = std::make_shared<const ike::TrustStore>(std::move(*trust));
    _settings.credential = std::make_shared<const ike::LocalCredential>(std::move(*cred));
    _rsa = true;
  }

  // Tunnel mode to 10.9.0.0/24, the inside network of gen_vectors.py's tunnel.
  void allow_tunnel() {
    _settings.allow_tunnel = true;
    _settings.tunnel_networks = {{0x0a090000, 24}};
  }

  // What an SaAdd says of the mode: the inner networks of gen_vectors.py's
  // tunnel (192.168.77.2/32 <-> 10.9.0.0/24), or none in transport mode.
  static void expect_mode(const channel::SaParams& p, channel::Mode mode) {
    const bool tunnel = mode == channel::Mode::tunnel;
    EXPECT_EQ(p.mode, mode);
    EXPECT_EQ(p.peer_net.addr, tunnel ? 0xc0a84d02u : 0u);
    EXPECT_EQ(p.peer_net.len, tunnel ? 32 : 0);
    EXPECT_EQ(p.local_net.addr, tunnel ? 0x0a090000u : 0u);
    EXPECT_EQ(p.local_net.len, tunnel ? 24 : 0);
  }
  static void expect_tunnel(const channel::SaParams& p) { expect_mode(p, channel::Mode::tunnel); }
  static void expect_keys(const channel::SaParams& p, channel::Direction dir, std::uint32_t spi,
                          const char* enc, const char* auth) {
    EXPECT_EQ(p.dir, dir);
    EXPECT_EQ(p.spi, spi);
    EXPECT_EQ(to_hex(std::span(p.cipher_key, p.cipher_key_len)), enc);
    EXPECT_EQ(to_hex(std::span(p.auth_key, p.auth_key_len)), auth);
  }

  // The peer's Quick Mode of gen_vectors.py: our message 2 byte for byte.
  void peer_quick_mode(IkeService& s, const char* msg1, const char* msg2, const char* msg3,
                       IkeService::Clock::time_point now) {
    s.on_punt(punt(hex(msg1), 4500), now);
    EXPECT_EQ(last_reply(4500), msg2);
    s.on_punt(punt(hex(msg3), 4500), now);
  }

  // The peer's Quick Mode 1 is refused: no answer, nothing in the data
  // plane, and the one line that says why.
  void expect_refused(IkeService& s, const std::vector<std::uint8_t>& qm1,
                      IkeService::Clock::time_point now, const std::string& line) {
    const auto sent = _sent.size();
    const auto calls = _calls.size();
    s.on_punt(punt(qm1, 4500), now);
    EXPECT_EQ(_sent.size(), sent);
    EXPECT_EQ(_calls.size(), calls);
    EXPECT_NE(_out.str().find(line), std::string::npos) << _out.str();
  }

  std::ostringstream _out;
  Logger _log{_out};
  std::deque<std::uint32_t> _spis;  // responder SPIs to draw before the usual one
  bool _rsa = false;
  bool _ours = false;  // the randomness of gen_vectors.py's rekey started by the gateway
  std::uint32_t _message_id = 0;  // of the exchanges we start; 0: random
  bool _aggressive = false;
  bool _am_rsa = false;  // the randomness of gen_aggressive_rsa_vectors.py
  bool _p1 = false;  // the randomness of gen_initiator_vectors.py's phase-1 rekey by the gateway
  bool _p1_mid = false;  // and its message ID for the old SA's Delete
  IkeSettings _settings;
  std::vector<std::vector<std::uint8_t>> _sent;
  std::vector<channel::CtrlMsg> _calls;
  std::vector<std::pair<IpsecPairRef, IpsecPairRef>> _moved;
  std::vector<std::pair<IpsecPairRef, std::string>> _gone;
};

TEST_F(IkeServiceTest, MainAndQuickModeInstallTheSaPair) {
  auto s = make();
  const auto t0 = IkeService::Clock::time_point{} + std::chrono::hours(1);
  main_mode(*s, t0);
  EXPECT_NE(_out.str().find("IKE SA established with 203.0.113.9 (ID 198.51.100.5): "
                            "aes-256/sha1/modp2048, auth pre-shared key, NAT: peer behind NAT"),
            std::string::npos)
      << _out.str();
  EXPECT_EQ(s->half_open(), 0u);

  // The inbound SA is in the data plane before HASH(2) leaves, the
  // outbound one only once HASH(3) proves the initiator has the keys.
  s->on_punt(punt(hex(vec::qm_msg1), 4500), t0);
  EXPECT_EQ(last_reply(4500), vec::qm_msg2);
  ASSERT_EQ(_calls.size(), 1u);
  EXPECT_EQ(_calls[0].sa_add.sa.dir, channel::Direction::in);
  EXPECT_EQ(_out.str().find("IPsec SA established"), std::string::npos);
  s->on_punt(punt(hex(vec::qm_msg1), 4500), t0);  // a retransmitted QM1 adds nothing
  EXPECT_EQ(last_reply(4500), vec::qm_msg2);
  EXPECT_EQ(_calls.size(), 1u);
  s->on_punt(punt(hex(vec::qm_msg3), 4500), t0);
  ASSERT_EQ(_calls.size(), 2u);
  const auto& in = _calls[0].sa_add.sa;
  const auto& out = _calls[1].sa_add.sa;
  EXPECT_EQ(_calls[0].hdr.type, channel::MsgType::sa_add);
  EXPECT_EQ(in.dir, channel::Direction::in);
  EXPECT_EQ(in.spi, vec::qm_spi_r);
  EXPECT_EQ(to_hex(std::span(in.cipher_key, in.cipher_key_len)), vec::qm_in_enc);
  EXPECT_EQ(to_hex(std::span(in.auth_key, in.auth_key_len)), vec::qm_in_auth);
  EXPECT_EQ(out.dir, channel::Direction::out);
  EXPECT_EQ(out.spi, 0xc0ffee01u);
  EXPECT_EQ(to_hex(std::span(out.cipher_key, out.cipher_key_len)), vec::qm_out_enc);
  EXPECT_EQ(to_hex(std::span(out.auth_key, out.auth_key_len)), vec::qm_out_auth);
  for (const auto* p : {&in, &out}) {
    EXPECT_EQ(p->encap, channel::Encap::udp);
    EXPECT_EQ(p->cipher, EspCipher::aes_cbc_128);
    EXPECT_EQ(p->auth, EspAuth::hmac_sha1_96);
    EXPECT_EQ(p->local_addr, gw);
    EXPECT_EQ(p->peer_addr, client);
    EXPECT_EQ(p->local_port, 4500);
    EXPECT_EQ(p->peer_port, 4500);
    EXPECT_EQ(p->lifetime.hard_bytes, 250000ull * 1024);
    expect_mode(*p, channel::Mode::transport);
  }
  EXPECT_GT(in.replay_window, 0u);
  EXPECT_NE(_out.str().find("IPsec SA established with 203.0.113.9: ESP aes-cbc-128/hmac-sha1-96 "
                            "transport, NAT-T udp 4500, SPIs in 0x5eed0001 out 0xc0ffee01, "
                            "lifetime 3600 s / 250000 KB"),
            std::string::npos)
      << _out.str();
  const auto views = s->sas(t0 + std::chrono::seconds(10));
  ASSERT_EQ(views.size(), 1u);
  EXPECT_EQ(views[0].state, "established");
  ASSERT_EQ(views[0].ipsec.size(), 1u);
  EXPECT_EQ(views[0].ipsec[0].life_left, std::chrono::seconds(3590));

  // The peer deletes the ESP SA and the ISAKMP SA (with INITIAL-CONTACT).
  _calls.clear();
  s->on_punt(punt(hex(vec::info_delete), 4500), t0);
  ASSERT_EQ(_calls.size(), 2u);
  EXPECT_EQ(_calls[0].hdr.type, channel::MsgType::sa_del);
  EXPECT_EQ(_calls[0].sa_del.dir, channel::Direction::in);
  EXPECT_EQ(_calls[0].sa_del.spi, vec::qm_spi_r);
  EXPECT_EQ(_calls[1].sa_del.dir, channel::Direction::out);
  EXPECT_EQ(_calls[1].sa_del.spi, 0xc0ffee01u);
  EXPECT_NE(_out.str().find("deleted by the peer"), std::string::npos);
  s->poll(t0);
  EXPECT_TRUE(s->sas(t0).empty());
}

// Tunnel mode: both SaAdds carry the mode and the inner networks, the log
// line names them; the client's own rekey for the same network is taken.
TEST_F(IkeServiceTest, TunnelModeSaAddsCarryTheInnerNetworks) {
  allow_tunnel();
  auto s = make();
  const auto t0 = IkeService::Clock::time_point{} + std::chrono::hours(1);
  main_mode(*s, t0);
  peer_quick_mode(*s, vec::tn_msg1, vec::tn_msg2, vec::tn_msg3, t0);
  ASSERT_EQ(_calls.size(), 2u);
  const auto& in = _calls[0].sa_add.sa;
  const auto& out = _calls[1].sa_add.sa;
  expect_keys(in, channel::Direction::in, vec::qm_spi_r, vec::tn_in_enc, vec::tn_in_auth);
  expect_keys(out, channel::Direction::out, 0xc0ffee01u, vec::tn_out_enc, vec::tn_out_auth);
  for (const auto* p : {&in, &out}) {
    EXPECT_EQ(p->encap, channel::Encap::udp);
    EXPECT_EQ(p->peer_port, 4500);
    expect_tunnel(*p);
  }
  EXPECT_NE(_out.str().find("IPsec SA established with 203.0.113.9: ESP aes-cbc-128/hmac-sha1-96 "
                            "tunnel, NAT-T udp 4500, SPIs in 0x5eed0001 out 0xc0ffee01, "
                            "lifetime 3600 s / 250000 KB, tunnel 192.168.77.2/32 <-> 10.9.0.0/24"),
            std::string::npos)
      << _out.str();

  _calls.clear();
  _spis.push_back(vec::tn_again_spi_r);
  peer_quick_mode(*s, vec::tn_again_msg1, vec::tn_again_msg2, vec::tn_again_msg3, t0);
  ASSERT_EQ(_calls.size(), 2u);
  EXPECT_EQ(_calls[0].sa_add.sa.spi, vec::tn_again_spi_r);
  EXPECT_EQ(_calls[1].sa_add.sa.spi, 0xc0ffee03u);
  expect_tunnel(_calls[0].sa_add.sa);
  expect_tunnel(_calls[1].sa_add.sa);
  EXPECT_EQ(_out.str().find("failed"), std::string::npos) << _out.str();
}

TEST_F(IkeServiceTest, TunnelModeRefusedWithOneLineNamingTheIds) {
  allow_tunnel();
  _settings.tunnel_networks = {{0x0a080000, 16}};  // 10.8.0.0/16: not the network asked for
  auto s = make();
  const auto t0 = IkeService::Clock::time_point{} + std::chrono::hours(1);
  main_mode(*s, t0);
  expect_refused(*s, hex(vec::tn_msg1), t0,
                 "Quick Mode with 203.0.113.9 (ID 198.51.100.5) failed: Quick Mode refused "
                 "(traffic selectors): IDcr 10.9.0.0/24 proto 0 port 0 is not in "
                 "ike.tunnel_networks");
}

// Our rekey of a tunnel pair offers tunnel mode and the same selectors
// (checked byte for byte), and the new pair carries the same networks.
TEST_F(IkeServiceTest, OurRekeyOfATunnelKeepsItsNetworks) {
  allow_tunnel();
  _ours = true;  // the message ID of gen_vectors.py's rekey
  auto s = make();
  _ours = false;
  const auto t0 = IkeService::Clock::time_point{} + std::chrono::hours(1);
  main_mode(*s, t0);
  peer_quick_mode(*s, vec::tn_msg1, vec::tn_msg2, vec::tn_msg3, t0);
  ASSERT_EQ(_calls.size(), 2u);
  _calls.clear();
  _ours = true;
  EXPECT_EQ(s->rekey_peer(client, t0), 1u);
  EXPECT_EQ(last_reply(4500), vec::tr_msg1);
  s->on_punt(punt(hex(vec::tr_msg2), 4500), t0);
  EXPECT_EQ(last_reply(4500), vec::tr_msg3);
  ASSERT_EQ(_calls.size(), 2u);
  EXPECT_EQ(_calls[0].sa_add.sa.spi, vec::rk_spi_gw);
  EXPECT_EQ(_calls[1].sa_add.sa.spi, vec::rk_spi_client);
  expect_tunnel(_calls[0].sa_add.sa);
  expect_tunnel(_calls[1].sa_add.sa);
}

TEST_F(IkeServiceTest, TraceLogsEachMessageOfThatPeerOnly) {
  auto s = make();
  const auto t0 = IkeService::Clock::time_point{} + std::chrono::hours(1);
  s->set_trace(0x0a000001, true);  // another peer: nothing of ours traced
  s->on_punt(punt(hex(vec::mm_msg1), 500), t0);
  EXPECT_EQ(_out.str().find("trace in from"), std::string::npos);

  s->set_trace(client, true);
  s->on_punt(punt(hex(vec::mm_msg3), 500), t0);
  const std::string log = _out.str();
  EXPECT_NE(log.find("trace in from 203.0.113.9:500: exchange 2 message id 0x00000000 length "),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("trace out to 203.0.113.9:500: exchange 2"), std::string::npos) << log;
  EXPECT_NE(log.find(" payloads KE"), std::string::npos) << log;

  s->on_punt(punt(hex(vec::mm_msg5), 4500), t0);
  EXPECT_NE(_out.str().find("trace in from 203.0.113.9:4500: exchange 2 message id 0x00000000 length "),
            std::string::npos);
  EXPECT_NE(_out.str().find(" encrypted"), std::string::npos);

  s->set_trace(client, false);
  const auto before = _out.str().size();
  s->on_punt(punt(hex(vec::qm_msg1), 4500), t0);
  EXPECT_EQ(_out.str().find("trace ", before), std::string::npos);
}

TEST_F(IkeServiceTest, CtlListsIkeAndIpsecSas) {
  auto s = make();
  const auto t0 = IkeService::Clock::time_point{} + std::chrono::hours(1);
  main_mode(*s, t0);
  s->on_punt(punt(hex(vec::qm_msg1), 4500), t0);
  s->on_punt(punt(hex(vec::qm_msg3), 4500), t0);
  const auto text = render_ike_text(*s, t0 + std::chrono::seconds(5));
  EXPECT_NE(text.find("203.0.113.9:4500"), std::string::npos) << text;
  EXPECT_NE(text.find("aes-256/sha1/modp2048"), std::string::npos) << text;
  EXPECT_NE(text.find("peer behind NAT"), std::string::npos) << text;
  EXPECT_NE(text.find("0x5eed0001"), std::string::npos) << text;
  EXPECT_NE(text.find("0xc0ffee01"), std::string::npos) << text;
  EXPECT_NE(text.find("3595s"), std::string::npos) << text;
  EXPECT_NE(text.find("250000"), std::string::npos) << text;
  EXPECT_NE(text.find("1 IKE SAs (0 half-open), 1 IPsec SA pairs"), std::string::npos) << text;
  CtlContext ctx;
  const auto reply = run_command("ike", ctx);
  EXPECT_FALSE(reply.ok);
  EXPECT_NE(reply.text.find("no IKE configured"), std::string::npos);
}

TEST_F(IkeServiceTest, CtlJsonListsIkeAndIpsecSas) {
  auto s = make();
  const auto t0 = IkeService::Clock::time_point{} + std::chrono::hours(1);
  main_mode(*s, t0);
  s->on_punt(punt(hex(vec::qm_msg1), 4500), t0);
  s->on_punt(punt(hex(vec::qm_msg3), 4500), t0);
  const auto o = nlohmann::json::parse(render_ike_json(*s, t0 + std::chrono::seconds(5)));
  ASSERT_EQ(o["ike_sas"].size(), 1U) << o.dump(2);
  const auto& sa = o["ike_sas"][0];
  EXPECT_EQ(sa["peer"], "203.0.113.9");
  EXPECT_EQ(sa["peer_port"], 4500);
  EXPECT_EQ(sa["algorithms"], "aes-256/sha1/modp2048");
  EXPECT_EQ(sa["nat"], "peer behind NAT");
  ASSERT_EQ(sa["ipsec"].size(), 1U);
  const auto& p = sa["ipsec"][0];
  EXPECT_EQ(p["spi_in_hex"], "0x5eed0001");
  EXPECT_EQ(p["spi_out_hex"], "0xc0ffee01");
  EXPECT_EQ(p["life_left_s"], 3595);
  EXPECT_EQ(p["life_kilobytes"], 250000);
  // No data plane attached: its counters are unknown, not zero.
  EXPECT_TRUE(p["counters_in"].is_null());
  EXPECT_EQ(o["half_open"], 0);
  EXPECT_EQ(o["ignored"]["dropped"], 0);
}

TEST_F(IkeServiceTest, DpdIsAnswered) {
  auto s = make();
  const auto t0 = IkeService::Clock::time_point{} + std::chrono::hours(1);
  main_mode(*s, t0);
  const auto before = _sent.size();
  s->on_punt(punt(hex(vec::info_dpd), 4500), t0);
  ASSERT_EQ(_sent.size(), before + 1);
  // The ACK's message id is random: decode it instead of comparing bytes.
  const auto d = parse_udp_datagram(_sent.back());
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d.ends.dst_port, 4500);
  ike::Header h;
  ASSERT_EQ(ike::parse_header(d.payload.subspan(4), h), ike::ParseError::none);
  EXPECT_EQ(h.exchange, static_cast<std::uint8_t>(ike::ExchangeType::informational));
}

TEST_F(IkeServiceTest, WrongPskIsNamed) {
  const std::string wrong = "not the right key";
  _settings.default_psk = ike::SecretBytes(wrong.begin(), wrong.end());
  auto s = make();
  const auto t0 = IkeService::Clock::time_point{} + std::chrono::hours(1);
  s->on_punt(punt(hex(vec::mm_msg1), 500), t0);
  s->on_punt(punt(hex(vec::mm_msg3), 500), t0);
  EXPECT_EQ(s->half_open(), 1u);
  s->on_punt(punt(hex(vec::mm_msg5), 4500), t0);
  EXPECT_NE(_out.str().find("Main Mode with 203.0.113.9 failed: pre-shared key mismatch"),
            std::string::npos)
      << _out.str();
  EXPECT_EQ(_out.str().find(wrong), std::string::npos) << "keys are never logged";
  EXPECT_EQ(s->half_open(), 0u);
  EXPECT_TRUE(s->sas(t0).empty());
}

TEST_F(IkeServiceTest, KeyByPeerIdentity) {
  _settings.default_psk.reset();
  const auto psk = hex(vec::mm_psk);
  _settings.peers.push_back({std::nullopt,
                             "198.51.100.5",
                             ike::SecretBytes(psk.begin(), psk.end()),
                             ike::AuthMethod::psk,
                             {}});
  auto s = make();
  const auto t0 = IkeService::Clock::time_point{} + std::chrono::hours(1);
  main_mode(*s, t0);
  EXPECT_NE(_out.str().find("IKE SA established with 203.0.113.9 (ID 198.51.100.5)"),
            std::string::npos)
      << _out.str();
}

TEST_F(IkeServiceTest, HalfOpenLimitsRefuseBeforeAnyWork) {
  _settings.max_half_open_per_peer = 2;
  _settings.max_half_open = 3;
  auto s = make();
  const auto t0 = IkeService::Clock::time_point{} + std::chrono::hours(1);
  auto mm1 = hex(vec::mm_msg1);
  for (int i = 0; i < 5; ++i) {
    mm1[0] = static_cast<std::uint8_t>(i);  // a new initiator cookie each time
    s->on_punt(punt(mm1, 500), t0);
  }
  EXPECT_EQ(s->half_open(), 2u);
  EXPECT_EQ(s->counters().half_open_per_peer, 3u);
  EXPECT_EQ(_sent.size(), 2u);
  // Another source still gets one; then the total is reached.
  mm1[0] = 9;
  s->on_punt(punt(mm1, 500, client + 1), t0);
  mm1[0] = 10;
  s->on_punt(punt(mm1, 500, client + 2), t0);
  EXPECT_EQ(s->half_open(), 3u);
  EXPECT_EQ(s->counters().half_open_total, 1u);
  // A retransmitted message 1 is not a new exchange.
  mm1[0] = 0;
  s->on_punt(punt(mm1, 500), t0);
  EXPECT_EQ(s->half_open(), 3u);
  EXPECT_EQ(s->counters().half_open_per_peer, 3u);
  s->poll(t0);
  EXPECT_NE(_out.str().find("4 new Main Mode exchanges refused (so far: 3 over the half-open "
                            "limit per source, 1 over the half-open limit in total"),
            std::string::npos)
      << _out.str();
}

TEST_F(IkeServiceTest, QuickModeWithoutHash3TakesItsInboundSaAway) {
  _settings.retransmits = 1;
  auto s = make();
  const auto t0 = IkeService::Clock::time_point{} + std::chrono::hours(1);
  main_mode(*s, t0);
  s->on_punt(punt(hex(vec::qm_msg1), 4500), t0);
  ASSERT_EQ(_calls.size(), 1u);
  EXPECT_EQ(_calls[0].hdr.type, channel::MsgType::sa_add);
  const auto sent = _sent.size();
  for (int i = 1; i <= 3; ++i) {
    s->poll(t0 + i * _settings.retransmit_interval);
  }
  EXPECT_EQ(_sent.size(), sent + 1);  // HASH(2) once more, then give up
  ASSERT_EQ(_calls.size(), 2u);
  EXPECT_EQ(_calls[1].hdr.type, channel::MsgType::sa_del);
  EXPECT_EQ(_calls[1].sa_del.dir, channel::Direction::in);
  EXPECT_EQ(_calls[1].sa_del.spi, vec::qm_spi_r);
  EXPECT_NE(_out.str().find("Quick Mode with 203.0.113.9 (ID 198.51.100.5) failed: retransmits "
                            "exhausted (no HASH(3))"),
            std::string::npos)
      << _out.str();
  EXPECT_TRUE(_moved.empty());
  EXPECT_TRUE(_gone.empty());
}

TEST_F(IkeServiceTest, PeerDeletingIsakmpMidQuickModeTakesTheInboundSaAway) {
  auto s = make();
  const auto t0 = IkeService::Clock::time_point{} + std::chrono::hours(1);
  main_mode(*s, t0);
  s->on_punt(punt(hex(vec::qm_msg1), 4500), t0);
  ASSERT_EQ(_calls.size(), 1u);
  // info_delete names an ESP SPI we never installed and the ISAKMP SA.
  s->on_punt(punt(hex(vec::info_delete), 4500), t0);
  ASSERT_EQ(_calls.size(), 2u);
  EXPECT_EQ(_calls[1].hdr.type, channel::MsgType::sa_del);
  EXPECT_EQ(_calls[1].sa_del.spi, vec::qm_spi_r);
}

TEST_F(IkeServiceTest, OurRekeyReplacesThePairThenDeletesTheOldOne) {
  _ours = true;
  auto s = make();
  const auto t0 = IkeService::Clock::time_point{} + std::chrono::hours(1);
  main_mode(*s, t0);
  _ours = false;
  s->on_punt(punt(hex(vec::qm_msg1), 4500), t0);
  s->on_punt(punt(hex(vec::qm_msg3), 4500), t0);
  ASSERT_EQ(_calls.size(), 2u);
  _calls.clear();
  _moved.clear();

  // The operator asks (l2tpgwctl ike-rekey): Quick Mode 1 as the
  // independent peer expects it; nothing in the data plane yet.
  _ours = true;
  EXPECT_EQ(s->rekey_peer(client, t0), 1u);
  EXPECT_EQ(last_reply(4500), vec::rk_msg1);
  EXPECT_TRUE(_calls.empty());
  EXPECT_EQ(s->rekey_peer(client, t0), 0u);  // one at a time

  // Message 2: both SAs in with the independent keys, then HASH(3).
  s->on_punt(punt(hex(vec::rk_msg2), 4500), t0);
  EXPECT_EQ(last_reply(4500), vec::rk_msg3);
  ASSERT_EQ(_calls.size(), 2u);
  const auto& in = _calls[0].sa_add.sa;
  const auto& out = _calls[1].sa_add.sa;
  EXPECT_EQ(in.dir, channel::Direction::in);
  EXPECT_EQ(in.spi, vec::rk_spi_gw);
  EXPECT_EQ(to_hex(std::span(in.cipher_key, in.cipher_key_len)), vec::rk_in_enc);
  EXPECT_EQ(to_hex(std::span(in.auth_key, in.auth_key_len)), vec::rk_in_auth);
  EXPECT_EQ(out.dir, channel::Direction::out);
  EXPECT_EQ(out.spi, vec::rk_spi_client);
  EXPECT_EQ(to_hex(std::span(out.cipher_key, out.cipher_key_len)), vec::rk_out_enc);
  EXPECT_EQ(to_hex(std::span(out.auth_key, out.auth_key_len)), vec::rk_out_auth);
  EXPECT_TRUE(_moved.empty());  // the peer installs its side on HASH(3) first

  // A moment later the sessions move; later still the old pair goes,
  // with a Delete naming its inbound SPI.
  s->poll(t0 + _settings.rekey_overlap / 4);
  ASSERT_EQ(_moved.size(), 1u);
  EXPECT_EQ(_moved[0].first.spi_in, vec::qm_spi_r);
  EXPECT_EQ(_moved[0].second.spi_in, vec::rk_spi_gw);
  EXPECT_EQ(_moved[0].second.spi_out, vec::rk_spi_client);
  _calls.clear();
  const auto sent = _sent.size();
  s->poll(t0 + _settings.rekey_overlap);
  ASSERT_EQ(_calls.size(), 2u);
  EXPECT_EQ(_calls[0].hdr.type, channel::MsgType::sa_del);
  EXPECT_EQ(_calls[0].sa_del.spi, vec::qm_spi_r);
  EXPECT_EQ(_calls[1].sa_del.spi, 0xc0ffee01u);
  EXPECT_EQ(_sent.size(), sent + 1);
  EXPECT_TRUE(_gone.empty());
  EXPECT_NE(_out.str().find("rekeying the IPsec SA with 203.0.113.9 (SPIs in 0x5eed0001 out "
                            "0xc0ffee01): Quick Mode started by us"),
            std::string::npos)
      << _out.str();
  EXPECT_NE(_out.str().find("IPsec SA with 203.0.113.9 (SPIs in 0x5eed0001 out 0xc0ffee01) removed: "
                            "replaced by our rekey"),
            std::string::npos)
      << _out.str();
  const auto views = s->sas(t0 + _settings.rekey_overlap);
  ASSERT_EQ(views.size(), 1u);
  ASSERT_EQ(views[0].ipsec.size(), 1u);
  EXPECT_EQ(views[0].ipsec[0].spi_in, vec::rk_spi_gw);
}

TEST_F(IkeServiceTest, APairNearItsEndIsRekeyedOnce) {
  _settings.retransmits = 1;
  _settings.dpd_interval = std::chrono::milliseconds(0);  // only our Quick Mode goes out
  auto s = make();
  const auto t0 = IkeService::Clock::time_point{} + std::chrono::hours(1);
  main_mode(*s, t0);
  s->on_punt(punt(hex(vec::qm_msg1), 4500), t0);
  s->on_punt(punt(hex(vec::qm_msg3), 4500), t0);
  const auto sent = _sent.size();
  s->poll(t0 + std::chrono::seconds(3000));
  EXPECT_EQ(_sent.size(), sent);  // 3600 s: not before 90%
  s->poll(t0 + std::chrono::seconds(3240));
  ASSERT_EQ(_sent.size(), sent + 1);  // Quick Mode 1
  // No answer: one retransmission, then the failure line; never again.
  for (int i = 1; i <= 4; ++i) {
    s->poll(t0 + std::chrono::seconds(3240) + i * _settings.retransmit_interval);
  }
  EXPECT_EQ(_sent.size(), sent + 2);
  EXPECT_NE(_out.str().find("Quick Mode rekey with 203.0.113.9 (ID 198.51.100.5) failed: "
                            "retransmits exhausted (no Quick Mode 2)"),
            std::string::npos)
      << _out.str();
}

// Phase 1 replaced by us (gen_initiator_vectors.py is the client as a
// responder): at 90% of the ISAKMP SA's life, once; the new SA carries
// the pair, the old one goes with a Delete over itself, and the data
// plane and the LNS see nothing.
TEST_F(IkeServiceTest, OurPhase1RekeyCarriesThePairsAndDeletesTheOldSa) {
  namespace rk = ike::p1rk;
  _settings.ike_lifetime_s = 3000;
  _settings.dpd_interval = std::chrono::milliseconds(0);  // only our Main Mode goes out
  _p1_mid = true;
  auto s = make();
  const auto t0 = IkeService::Clock::time_point{} + std::chrono::hours(1);
  main_and_quick_mode(*s, t0);

  auto sent = _sent.size();
  s->poll(t0 + std::chrono::seconds(2699));
  EXPECT_EQ(_sent.size(), sent);  // not before 90% of 3000 s
  _p1 = true;
  s->poll(t0 + std::chrono::seconds(2700));
  ASSERT_EQ(_sent.size(), sent + 1);
  // From our port 4500, with the marker, where the client's NAT mapping is.
  EXPECT_EQ(last_reply(4500), rk::p1rk_msg1);
  s->poll(t0 + std::chrono::seconds(2700));
  EXPECT_EQ(_sent.size(), sent + 1);                                        // once
  EXPECT_EQ(s->rekey_phase1(client, t0 + std::chrono::seconds(2700)), 0u);  // one at a time
  auto views = s->sas(t0 + std::chrono::seconds(2700));
  ASSERT_EQ(views.size(), 2u);
  EXPECT_EQ(views[0].mode, "main");
  EXPECT_EQ(views[1].mode, "main-ours");  // by cookies: the client's sort first
  EXPECT_EQ(views[1].state, "MM sent 1");

  const auto t1 = t0 + std::chrono::seconds(2701);
  // A truncated answer and one choosing another transform (AES-128):
  // counted, and the exchange waits on.
  const auto dropped = s->counters().dropped;
  const auto malformed = s->counters().malformed_isakmp;
  const auto m2 = hex(rk::p1rk_msg2);
  s->on_punt(punt(std::vector<std::uint8_t>(m2.begin(), m2.end() - 1), 4500), t1);
  EXPECT_EQ(s->counters().malformed_isakmp, malformed + 1);
  std::string forged = rk::p1rk_msg2;
  forged.replace(forged.find("800e0100"), 8, "800e0080");
  s->on_punt(punt(hex(forged), 4500), t1);
  EXPECT_EQ(s->counters().dropped, dropped + 1);
  EXPECT_EQ(_sent.size(), sent + 1);
  s->on_punt(punt(m2, 4500), t1);
  EXPECT_EQ(last_reply(4500), rk::p1rk_msg3);
  s->on_punt(punt(hex(rk::p1rk_msg4), 4500), t1);
  EXPECT_EQ(last_reply(4500), rk::p1rk_msg5);
  EXPECT_EQ(s->sas(t1)[1].state, "MM sent 5");
  EXPECT_TRUE(_calls.empty());

  // Message 6: established; the Delete of the old SA over the old SA,
  // byte for byte as the client computes it with the old keys.
  sent = _sent.size();
  s->on_punt(punt(hex(rk::p1rk_msg6), 4500), t1);
  ASSERT_EQ(_sent.size(), sent + 1);
  EXPECT_EQ(last_reply(4500), rk::p1rk_old_delete);
  EXPECT_TRUE(_calls.empty());  // no SA added or deleted in the data plane
  EXPECT_TRUE(_moved.empty());
  EXPECT_TRUE(_gone.empty());
  EXPECT_NE(_out.str().find("IKE SA established with 203.0.113.9 (ID 198.51.100.5): "
                            "aes-256/sha1/modp2048, auth pre-shared key, NAT: peer behind NAT, "
                            "phase-1 rekey started by us"),
            std::string::npos)
      << _out.str();
  EXPECT_NE(_out.str().find("IKE SA with 203.0.113.9 (ID 198.51.100.5) deleted: replaced by our "
                            "phase-1 rekey (1 IPsec SA pairs carried over)"),
            std::string::npos)
      << _out.str();
  views = s->sas(t1);
  ASSERT_EQ(views.size(), 1u);
  EXPECT_EQ(views[0].mode, "main-ours");
  EXPECT_EQ(views[0].state, "established");
  EXPECT_EQ(views[0].life_left, std::chrono::seconds(3000));
  ASSERT_EQ(views[0].ipsec.size(), 1u);
  EXPECT_EQ(views[0].ipsec[0].spi_in, vec::qm_spi_r);
  EXPECT_EQ(views[0].ipsec[0].spi_out, 0xc0ffee01u);

  // The old cookies are unknown now; the pair's next Quick Mode (ours)
  // goes over the new SA.
  const auto unknown = s->counters().unknown_sa;
  s->on_punt(punt(hex(vec::info_dpd), 4500), t1);
  EXPECT_EQ(s->counters().unknown_sa, unknown + 1);
  ASSERT_EQ(s->rekey_peer(client, t1), 1u);
  const auto qm1 = hex(last_reply(4500));
  EXPECT_EQ(to_hex(std::span(qm1).first(16)), std::string(rk::p1rk_icky) + "c1c2c3c4c5c6c7c8");
  EXPECT_EQ(qm1[18], 32);  // Quick Mode
}

TEST_F(IkeServiceTest, OurPhase1RekeyWithoutAnswerFailsOnceAndTheOldSaStays) {
  _settings.ike_lifetime_s = 3000;
  _settings.retransmits = 1;
  _settings.dpd_interval = std::chrono::milliseconds(0);
  auto s = make();
  const auto t0 = IkeService::Clock::time_point{} + std::chrono::hours(1);
  main_mode(*s, t0);
  _p1 = true;
  CtlContext ctx;
  ctx.ike_rekey = [&](std::uint32_t peer, bool phase1) -> std::optional<std::size_t> {
    return phase1 ? s->rekey_phase1(peer, t0) : s->rekey_peer(peer, t0);
  };
  const auto sent = _sent.size();
  auto reply = run_command("ike-rekey 203.0.113.9 phase1", ctx);
  EXPECT_TRUE(reply.ok) << reply.text;
  EXPECT_EQ(reply.text, "rekeying 1 IKE SA of 203.0.113.9\n");
  EXPECT_EQ(last_reply(4500), ike::p1rk::p1rk_msg1);
  reply = run_command("ike-rekey 203.0.113.9 phase2", ctx);
  EXPECT_FALSE(reply.ok);
  EXPECT_NE(reply.text.find("usage: ike-rekey PEER [phase1]"), std::string::npos);
  // The peer refuses in the clear (RFC 2408 §3.14.1, NO-PROPOSAL-CHOSEN
  // with no SPI): not authenticated, so only remembered for the line.
  const auto refusal = hex(std::string(ike::p1rk::p1rk_icky) +
                           "00000000000000000b10050000000000000000280000000c000000010100000e");
  s->on_punt(punt(refusal, 4500), t0);
  for (int i = 1; i <= 4; ++i) {
    s->poll(t0 + i * _settings.retransmit_interval);
  }
  EXPECT_EQ(_sent.size(), sent + 2);  // message 1 and one retransmission
  EXPECT_NE(_out.str().find("phase-1 rekey of 203.0.113.9 (ID 198.51.100.5) failed: no answer to "
                            "message 1 (1 retransmits; last answer dropped: an unauthenticated "
                            "notification (NO-PROPOSAL-CHOSEN))"),
            std::string::npos)
      << _out.str();
  const auto views = s->sas(t0 + std::chrono::seconds(10));
  ASSERT_EQ(views.size(), 1u);
  EXPECT_EQ(views[0].mode, "main");
  EXPECT_EQ(views[0].state, "established");
  // The automatic one still comes at 90% of the SA's life.
  s->poll(t0 + std::chrono::seconds(2699));
  EXPECT_EQ(_sent.size(), sent + 2);
  s->poll(t0 + std::chrono::seconds(2700));
  EXPECT_EQ(_sent.size(), sent + 3);
  s->poll(t0 + std::chrono::seconds(2700));
  EXPECT_EQ(_sent.size(), sent + 3);
}

TEST_F(IkeServiceTest, OurPhase1RekeyRefusedByTheWrongHashFailsNamed) {
  namespace rk = ike::p1rk;
  _settings.ike_lifetime_s = 3000;
  auto s = make();
  const auto t0 = IkeService::Clock::time_point{} + std::chrono::hours(1);
  main_mode(*s, t0);
  _p1 = true;
  ASSERT_EQ(s->rekey_phase1(client, t0), 1u);
  s->on_punt(punt(hex(rk::p1rk_msg2), 4500), t0);
  s->on_punt(punt(hex(rk::p1rk_msg4), 4500), t0);
  EXPECT_EQ(last_reply(4500), rk::p1rk_msg5);
  s->on_punt(punt(hex(rk::p1rk_msg6_bad_hash), 4500), t0);
  EXPECT_NE(_out.str().find("phase-1 rekey of 203.0.113.9 (ID 198.51.100.5) failed: pre-shared "
                            "key mismatch: HASH_R does not verify"),
            std::string::npos)
      << _out.str();
  const auto views = s->sas(t0);
  ASSERT_EQ(views.size(), 1u);
  EXPECT_EQ(views[0].mode, "main");
}

TEST_F(IkeServiceTest, RetransmitsThenGivesUp) {
  _settings.retransmits = 2;
  auto s = make();
  const auto t0 = IkeService::Clock::time_point{} + std::chrono::hours(1);
  s->on_punt(punt(hex(vec::mm_msg1), 500), t0);
  ASSERT_EQ(_sent.size(), 1u);
  for (int i = 1; i <= 3; ++i) {
    s->poll(t0 + i * _settings.retransmit_interval);
  }
  EXPECT_EQ(_sent.size(), 3u);
  EXPECT_EQ(_sent[1], _sent[0]);
  EXPECT_EQ(s->counters().retransmits, 2u);
  EXPECT_NE(_out.str().find("Main Mode with 203.0.113.9 failed: retransmits exhausted"),
            std::string::npos)
      << _out.str();
  EXPECT_EQ(s->half_open(), 0u);
}

TEST_F(IkeServiceTest, SecondsLifetimeEndsThePair) {
  auto s = make();
  const auto t0 = IkeService::Clock::time_point{} + std::chrono::hours(1);
  main_mode(*s, t0);
  s->on_punt(punt(hex(vec::qm_msg1), 4500), t0);
  s->on_punt(punt(hex(vec::qm_msg3), 4500), t0);
  ASSERT_EQ(_calls.size(), 2u);
  _calls.clear();
  const auto sent = _sent.size();
  s->poll(t0 + std::chrono::seconds(3601));
  ASSERT_EQ(_calls.size(), 2u);
  EXPECT_EQ(_calls[0].hdr.type, channel::MsgType::sa_del);
  EXPECT_GT(_sent.size(), sent);  // the Delete to the peer
  EXPECT_NE(_out.str().find("lifetime in seconds reached"), std::string::npos);
}

TEST_F(IkeServiceTest, HardLifetimeEventEndsThePair) {
  auto s = make();
  const auto t0 = IkeService::Clock::time_point{} + std::chrono::hours(1);
  main_mode(*s, t0);
  s->on_punt(punt(hex(vec::qm_msg1), 4500), t0);
  s->on_punt(punt(hex(vec::qm_msg3), 4500), t0);
  _calls.clear();
  channel::SaLifetimeEvent e{};
  e.dir = channel::Direction::in;
  e.kind = channel::LifetimeKind::soft_bytes;
  e.spi = vec::qm_spi_r;
  e.peer_addr = client;
  s->on_lifetime(e, t0);
  EXPECT_TRUE(_calls.empty());
  e.kind = channel::LifetimeKind::hard_bytes;
  s->on_lifetime(e, t0);
  EXPECT_EQ(_calls.size(), 2u);
  EXPECT_TRUE(s->sas(t0)[0].ipsec.empty());
}

TEST_F(IkeServiceTest, GarbageIsCountedNotFatal) {
  auto s = make();
  const auto t0 = IkeService::Clock::time_point{} + std::chrono::hours(1);
  s->on_punt(punt({1, 2, 3}, 500), t0);
  EXPECT_EQ(s->counters().malformed_isakmp, 1u);
  auto no_marker = punt(hex(vec::mm_msg1), 4500);
  no_marker.data[28] = 1;  // first byte of the marker
  // The checksum no longer verifies either; either way it is not IKE.
  s->on_punt(no_marker, t0);
  EXPECT_EQ(s->counters().no_marker + s->counters().malformed_ip, 1u);
  s->on_punt(punt(hex(vec::qm_msg1), 4500), t0);
  EXPECT_EQ(s->counters().unknown_sa, 1u);
  EXPECT_TRUE(_sent.empty());
}

TEST_F(IkeServiceTest, RsaSignaturesEstablishAndNameTheMethod) {
  use_certificates();
  auto s = make();
  const auto t0 = IkeService::Clock::time_point{} + std::chrono::hours(1);
  s->on_punt(punt(hex(ike::certvec::rsa_msg1), 500), t0);
  EXPECT_EQ(last_reply(500), ike::certvec::rsa_msg2);
  s->on_punt(punt(hex(ike::certvec::rsa_msg3), 500), t0);
  EXPECT_EQ(last_reply(500), ike::certvec::rsa_msg4);
  s->on_punt(punt(hex(ike::certvec::rsa_msg5), 500), t0);
  EXPECT_EQ(last_reply(500), ike::certvec::rsa_msg6);
  EXPECT_NE(
      _out.str().find("RSA signatures: our certificate C=CH, O=test, CN=gw; 1 trusted CAs, 1 CRLs"),
      std::string::npos)
      << _out.str();
  EXPECT_NE(_out.str().find("IKE SA established with 203.0.113.9 (ID C=CH, O=test, CN=client): "
                            "aes-256/sha1/ecp256, auth RSA signature (certificate C=CH, O=test, "
                            "CN=client, issued by C=CH, O=test, CN=Test CA), NAT: none"),
            std::string::npos)
      << _out.str();
  ASSERT_EQ(s->sas(t0).size(), 1u);
  EXPECT_EQ(s->sas(t0)[0].peer_id, "C=CH, O=test, CN=client");
}

// Message 1 with a vendor ID appended; no key or hash of Main Mode
// covers vendor IDs, so the rest of the exchange is unchanged.
std::vector<std::uint8_t> with_vendor_id(std::vector<std::uint8_t> m, std::string_view vid_hex) {
  ike::Header h;
  std::vector<ike::PayloadView> payloads;
  EXPECT_EQ(ike::parse_header(m, h), ike::ParseError::none);
  EXPECT_EQ(ike::walk_payloads(h.next_payload, std::span(m).subspan(ike::header_len), false, payloads),
            ike::ParseError::none);
  const auto last = static_cast<std::size_t>(payloads.back().whole.data() - m.data());
  m[last] = static_cast<std::uint8_t>(ike::PayloadType::vendor_id);
  const auto vid = hex(vid_hex);
  m.insert(m.end(), {0, 0, 0, static_cast<std::uint8_t>(4 + vid.size())});
  m.insert(m.end(), vid.begin(), vid.end());
  const auto len = static_cast<std::uint32_t>(m.size());
  m[24] = static_cast<std::uint8_t>(len >> 24);
  m[25] = static_cast<std::uint8_t>(len >> 16);
  m[26] = static_cast<std::uint8_t>(len >> 8);
  m[27] = static_cast<std::uint8_t>(len);
  return m;
}

TEST_F(IkeServiceTest, Message6GoesInFragmentsToAPeerThatAnnouncedThem) {
  use_certificates();
  _settings.fragment_size = 576;
  auto s = make();
  const auto t0 = IkeService::Clock::time_point{} + std::chrono::hours(1);
  // MD5("FRAGMENTATION")
  s->on_punt(punt(with_vendor_id(hex(ike::certvec::rsa_msg1), "4048b7d56ebce88525e7de7f00d6c2d3"), 500),
             t0);
  s->on_punt(punt(hex(ike::certvec::rsa_msg3), 500), t0);
  const auto sent = _sent.size();
  s->on_punt(punt(hex(ike::certvec::rsa_msg5), 500), t0);
  ASSERT_GT(_sent.size(), sent + 1);
  EXPECT_EQ(reassembled(sent, 576), ike::certvec::rsa_msg6);
  EXPECT_EQ(s->counters().fragmented, 1u);
  ASSERT_EQ(s->sas(t0).size(), 1u);

  // The same message 6 whole to a peer that did not announce fragments.
  _sent.clear();
  auto plain = make();
  plain->on_punt(punt(hex(ike::certvec::rsa_msg1), 500), t0);
  plain->on_punt(punt(hex(ike::certvec::rsa_msg3), 500), t0);
  plain->on_punt(punt(hex(ike::certvec::rsa_msg5), 500), t0);
  EXPECT_EQ(last_reply(500), ike::certvec::rsa_msg6);
  EXPECT_EQ(plain->counters().fragmented, 0u);
}

TEST_F(IkeServiceTest, GatewayBehindNatIsNamedWithTheWindowsRemedy) {
  _settings.retransmits = 1;
  auto s = make();
  const auto t0 = IkeService::Clock::time_point{} + std::chrono::hours(1);
  // MD5("MS NT5 ISAKMPOAKLEY") and version 9 (Windows 8 and later).
  s->on_punt(punt(with_vendor_id(hex(vec::mm_msg1), "1e2b516905991c7d7c96fcbfb587e46100000009"), 500),
             t0);
  // The initiator's NAT-D hashed 192.0.2.1: message 3 reaching us at
  // 10.1.1.1 means our address was rewritten on the way.
  constexpr std::uint32_t rewritten = 0x0a010101;
  s->on_punt(punt(hex(vec::mm_msg3), 500, client, rewritten), t0);
  EXPECT_NE(_out.str().find("NAT-D from 203.0.113.9: we are behind a NAT (our address reached the "
                            "peer rewritten): Windows clients need "
                            "AssumeUDPEncapsulationContextOnSendRule = 2"),
            std::string::npos)
      << _out.str();
  // The Windows client gives up: no message 5.
  for (int i = 1; i <= 3; ++i) {
    s->poll(t0 + i * _settings.retransmit_interval);
  }
  EXPECT_NE(_out.str().find("Main Mode with 203.0.113.9 failed: retransmits exhausted (1 sent, no "
                            "answer in 4 s); no message 5 from a Windows client while we are behind "
                            "a NAT: Windows clients need AssumeUDPEncapsulationContextOnSendRule = 2"),
            std::string::npos)
      << _out.str();
}

TEST_F(IkeServiceTest, FragmentedMessage5IsReassembled) {
  use_certificates();
  auto s = make();
  const auto t0 = IkeService::Clock::time_point{} + std::chrono::hours(1);
  s->on_punt(punt(hex(ike::certvec::rsa_msg1), 500), t0);
  s->on_punt(punt(hex(ike::certvec::rsa_msg3), 500), t0);
  const auto sent = _sent.size();
  s->on_punt(punt(hex(ike::certvec::rsa_msg5_frag3), 500), t0);
  s->on_punt(punt(hex(ike::certvec::rsa_msg5_frag1), 500), t0);
  EXPECT_EQ(_sent.size(), sent);
  s->on_punt(punt(hex(ike::certvec::rsa_msg5_frag2), 500), t0);
  EXPECT_EQ(last_reply(500), ike::certvec::rsa_msg6);
  EXPECT_NE(_out.str().find("IKE SA established with 203.0.113.9 (ID C=CH, O=test, CN=client)"),
            std::string::npos)
      << _out.str();
  // Fragments for cookies of no SA are only counted.
  auto stray = hex(ike::certvec::rsa_msg5_frag1);
  stray[8] ^= 1;
  s->on_punt(punt(stray, 500), t0);
  EXPECT_EQ(s->counters().unknown_sa, 1u);
}

TEST_F(IkeServiceTest, RefusedCertificatesGiveOneLineEach) {
  use_certificates();
  const std::pair<const char*, const char*> cases[] = {
      {ike::certvec::rsa_msg5_untrusted,
       "Main Mode with 203.0.113.9 failed: certificate not trusted: C=CH, O=test, CN=client "
       "(issuer C=CH, O=other, CN=Other CA): unable to get local issuer certificate\n"},
      {ike::certvec::rsa_msg5_revoked,
       "Main Mode with 203.0.113.9 failed: certificate revoked: C=CH, O=test, CN=revoked"},
      {ike::certvec::rsa_msg5_expired,
       "Main Mode with 203.0.113.9 failed: certificate expired: C=CH, O=test, CN=old valid until "
       "2011-01-01 00:00:00 UTC\n"},
      {ike::certvec::rsa_msg5_wrong_id,
       "Main Mode with 203.0.113.9 failed: no matching ID: ID intruder.example.org not in "
       "certificate C=CH, O=test, CN=client"},
      {ike::certvec::rsa_msg5_bad_sig, "Main Mode with 203.0.113.9 failed: signature invalid: "},
  };
  auto s = make();
  auto t = IkeService::Clock::time_point{} + std::chrono::hours(1);
  std::uint64_t dropped = 0;
  for (const auto& [m5, line] : cases) {
    _out.str("");
    s->on_punt(punt(hex(ike::certvec::rsa_msg1), 500), t);
    s->on_punt(punt(hex(ike::certvec::rsa_msg3), 500), t);
    s->on_punt(punt(hex(m5), 500), t);
    EXPECT_NE(_out.str().find(line), std::string::npos) << _out.str();
    EXPECT_EQ(_out.str().find("PRIVATE"), std::string::npos);
    EXPECT_EQ(s->counters().dropped, ++dropped);
    EXPECT_TRUE(s->sas(t).empty());
    t += std::chrono::seconds(1);
  }
}

TEST_F(IkeServiceTest, PeerConfiguredForPskIsNotOfferedRsa) {
  use_certificates();
  const auto psk = hex(vec::mm_psk);
  _settings.peers.push_back(
      {client, "", ike::SecretBytes(psk.begin(), psk.end()), ike::AuthMethod::psk, {}});
  auto s = make();
  const auto t0 = IkeService::Clock::time_point{} + std::chrono::hours(1);
  s->on_punt(punt(hex(ike::certvec::rsa_msg1), 500), t0);
  EXPECT_NE(_out.str().find("Main Mode with 203.0.113.9 failed: no proposal chosen: offered "
                            "[#1.1 (AES-CBC-256/SHA1/ECP256/RSA-SIG: not configured)]"),
            std::string::npos)
      << _out.str();
}

}  // namespace
}  // namespace l2tpgw::cp

namespace l2tpgw::cp {
namespace {

// A pair deleted by the peer with no other pair of that peer left: what it
// carried must end (the LNS hears pair_gone, once, with the cause).
TEST_F(IkeServiceTest, PeerDeleteWithoutSuccessorReportsThePairGone) {
  auto s = make();
  const auto t0 = IkeService::Clock::time_point{} + std::chrono::hours(1);
  main_mode(*s, t0);
  s->on_punt(punt(hex(vec::qm_msg1), 4500), t0);
  s->on_punt(punt(hex(vec::qm_msg3), 4500), t0);
  EXPECT_TRUE(_moved.empty());  // no older pair to move from
  const auto p = s->pair_of(vec::qm_spi_r, client);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->spi_out, 0xc0ffee01u);
  EXPECT_FALSE(s->pair_of(vec::qm_spi_r, client + 1).has_value());
  s->on_punt(punt(hex(vec::info_delete), 4500), t0);
  ASSERT_EQ(_gone.size(), 1u);
  EXPECT_EQ(_gone[0].first.peer_addr, client);
  EXPECT_EQ(_gone[0].first.spi_in, vec::qm_spi_r);
  EXPECT_EQ(_gone[0].first.spi_out, 0xc0ffee01u);
  EXPECT_EQ(_gone[0].second, "deleted by the peer");
  EXPECT_TRUE(_moved.empty());
  EXPECT_FALSE(s->pair_of(vec::qm_spi_r, client).has_value());
}

TEST_F(IkeServiceTest, HardLifetimeWithoutSuccessorReportsThePairGone) {
  auto s = make();
  const auto t0 = IkeService::Clock::time_point{} + std::chrono::hours(1);
  main_mode(*s, t0);
  s->on_punt(punt(hex(vec::qm_msg1), 4500), t0);
  s->on_punt(punt(hex(vec::qm_msg3), 4500), t0);
  channel::SaLifetimeEvent e{};
  e.dir = channel::Direction::out;
  e.kind = channel::LifetimeKind::hard_packets;
  e.spi = 0xc0ffee01u;
  e.peer_addr = client;
  s->on_lifetime(e, t0);
  ASSERT_EQ(_gone.size(), 1u);
  EXPECT_EQ(_gone[0].first.spi_in, vec::qm_spi_r);
  EXPECT_NE(_gone[0].second.find("lifetime reached"), std::string::npos) << _gone[0].second;
}

// The LNS gave up on the client: the pair and then the ISAKMP SA that
// carried only it go, each with a Delete to the peer, and the LNS is not
// told back about what it asked for.
TEST_F(IkeServiceTest, ReleasedPairTakesItsIsakmpSaWithDeletes) {
  auto s = make();
  const auto t0 = IkeService::Clock::time_point{} + std::chrono::hours(1);
  main_mode(*s, t0);
  s->on_punt(punt(hex(vec::qm_msg1), 4500), t0);
  s->on_punt(punt(hex(vec::qm_msg3), 4500), t0);
  _calls.clear();
  const auto sent = _sent.size();
  EXPECT_FALSE(s->release_pair(vec::qm_spi_r, client + 1, "nobody"));
  EXPECT_TRUE(_calls.empty());
  ASSERT_TRUE(s->release_pair(vec::qm_spi_r, client, "the client went silent"));
  ASSERT_EQ(_calls.size(), 2u);
  EXPECT_EQ(_calls[0].hdr.type, channel::MsgType::sa_del);
  EXPECT_EQ(_calls[0].sa_del.spi, vec::qm_spi_r);
  EXPECT_EQ(_calls[1].sa_del.spi, 0xc0ffee01u);
  EXPECT_EQ(_sent.size(), sent + 2);  // Delete of the ESP SA, then of the ISAKMP SA
  EXPECT_TRUE(_gone.empty());
  EXPECT_TRUE(s->sas(t0).empty());
  EXPECT_NE(_out.str().find("IKE SA with 203.0.113.9 (ID 198.51.100.5) deleted: the client went silent"),
            std::string::npos)
      << _out.str();
}

}  // namespace
}  // namespace l2tpgw::cp

namespace l2tpgw::cp {
namespace {

// Aggressive Mode (gen_aggressive_vectors.py): only peers enabled for it,
// found by their ID or their address; the key is that entry's.
class IkeAggressiveTest : public IkeServiceTest {
 protected:
  void SetUp() override {
    IkeServiceTest::SetUp();  // a default key, which Aggressive Mode never uses
    _aggressive = true;
    _settings.local_id = "192.0.2.1";
  }

  void add_peer(std::optional<std::uint32_t> address, std::string id, std::string_view psk,
                bool aggressive) {
    IkePeerKey p;
    p.address = address;
    p.id = std::move(id);
    p.psk = ike::SecretBytes(psk.begin(), psk.end());
    p.aggressive = aggressive;
    _settings.peers.push_back(std::move(p));
  }

  std::string am_psk() const {
    const auto k = hex(vec::am_psk);
    return std::string(k.begin(), k.end());
  }
};

TEST_F(IkeAggressiveTest, EnabledIdEstablishesLikeMainMode) {
  add_peer(std::nullopt, "phone.example.org", am_psk(), true);
  auto s = make();
  EXPECT_NE(_out.str().find("peer ID phone.example.org may use Aggressive Mode: its message 2 "
                            "exposes a hash of the pre-shared key to offline guessing"),
            std::string::npos)
      << _out.str();
  const auto t0 = IkeService::Clock::time_point{} + std::chrono::hours(1);
  s->on_punt(punt(hex(vec::am_msg1), 500), t0);
  EXPECT_EQ(last_reply(500), vec::am_msg2);
  EXPECT_EQ(s->half_open(), 1u);
  auto views = s->sas(t0);
  ASSERT_EQ(views.size(), 1u);
  EXPECT_EQ(views[0].mode, "aggressive");
  EXPECT_EQ(views[0].state, "AM sent 2");
  // Retransmitted on timeout like Main Mode's replies.
  s->poll(t0 + std::chrono::seconds(3));
  EXPECT_EQ(last_reply(500), vec::am_msg2);
  EXPECT_EQ(s->counters().retransmits, 1u);

  s->on_punt(punt(hex(vec::am_msg3_encrypted), 500), t0);
  EXPECT_NE(_out.str().find("IKE SA established with 203.0.113.9 (ID phone.example.org): "
                            "aes-128/sha2-256/ecp256, auth pre-shared key, NAT: peer behind NAT, "
                            "Aggressive Mode"),
            std::string::npos)
      << _out.str();
  EXPECT_EQ(s->half_open(), 0u);
  views = s->sas(t0);
  ASSERT_EQ(views.size(), 1u);
  EXPECT_EQ(views[0].state, "established");
  EXPECT_EQ(views[0].mode, "aggressive");
  const auto text = render_ike_text(*s, t0);
  EXPECT_NE(text.find("aggressive"), std::string::npos) << text;
  const auto o = nlohmann::json::parse(render_ike_json(*s, t0));
  EXPECT_EQ(o["ike_sas"][0]["mode"], "aggressive");
  EXPECT_EQ(o["ike_sas"][0]["id"], "phone.example.org");
  EXPECT_EQ(o["refused"]["aggressive_not_enabled"], 0);
  EXPECT_EQ(_out.str().find(am_psk()), std::string::npos) << "keys are never logged";
}

TEST_F(IkeAggressiveTest, EnabledAddressEstablishesWithClearMessage3) {
  add_peer(client, "", am_psk(), true);
  auto s = make();
  const auto t0 = IkeService::Clock::time_point{} + std::chrono::hours(1);
  s->on_punt(punt(hex(vec::am_msg1), 500), t0);
  EXPECT_EQ(last_reply(500), vec::am_msg2);
  s->on_punt(punt(hex(vec::am_msg3_clear), 500), t0);
  EXPECT_NE(_out.str().find("IKE SA established with 203.0.113.9 (ID phone.example.org)"),
            std::string::npos)
      << _out.str();
}

TEST_F(IkeAggressiveTest, PeerNotEnabledIsRefusedWithOneLine) {
  // The ID's entry decides even where the address's entry is enabled.
  add_peer(std::nullopt, "phone.example.org", am_psk(), false);
  add_peer(client, "", am_psk(), true);
  auto s = make();
  const auto t0 = IkeService::Clock::time_point{} + std::chrono::hours(1);
  s->on_punt(punt(hex(vec::am_msg1), 500), t0);
  const std::string line =
      "Aggressive Mode from 203.0.113.9 (ID phone.example.org) refused: not enabled for this peer";
  const auto log = _out.str();
  ASSERT_NE(log.find(line), std::string::npos) << log;
  EXPECT_EQ(log.find(line, log.find(line) + 1), std::string::npos) << "one line";
  EXPECT_EQ(s->counters().aggressive_refused, 1u);
  // The peer's retransmissions are counted, not logged again.
  s->on_punt(punt(hex(vec::am_msg1), 500), t0);
  s->on_punt(punt(hex(vec::am_msg1), 500), t0);
  EXPECT_EQ(s->counters().aggressive_refused, 3u);
  EXPECT_EQ(_out.str(), log);
  EXPECT_EQ(s->counters().dropped, 0u);
  EXPECT_TRUE(_sent.empty());
  EXPECT_EQ(s->half_open(), 0u);
  EXPECT_TRUE(s->sas(t0).empty());
  const auto o = nlohmann::json::parse(render_ike_json(*s, t0));
  EXPECT_EQ(o["refused"]["aggressive_not_enabled"], 3);
}

TEST_F(IkeAggressiveTest, DefaultKeyAloneEnablesNobody) {
  auto s = make();
  EXPECT_EQ(_out.str().find("may use Aggressive Mode"), std::string::npos);
  const auto t0 = IkeService::Clock::time_point{} + std::chrono::hours(1);
  s->on_punt(punt(hex(vec::am_msg1), 500), t0);
  EXPECT_EQ(s->counters().aggressive_refused, 1u);
  EXPECT_TRUE(_sent.empty());
}

TEST_F(IkeAggressiveTest, WrongPskIsNamed) {
  const std::string wrong = "the wrong phone key";
  add_peer(std::nullopt, "phone.example.org", wrong, true);
  auto s = make();
  const auto t0 = IkeService::Clock::time_point{} + std::chrono::hours(1);
  s->on_punt(punt(hex(vec::am_msg1), 500), t0);
  s->on_punt(punt(hex(vec::am_msg3_encrypted), 500), t0);
  EXPECT_NE(_out.str().find("Aggressive Mode with 203.0.113.9 failed: pre-shared key mismatch"),
            std::string::npos)
      << _out.str();
  EXPECT_EQ(_out.str().find(wrong), std::string::npos) << "keys are never logged";
  EXPECT_EQ(s->counters().dropped, 1u);
  EXPECT_EQ(s->half_open(), 0u);
  EXPECT_TRUE(s->sas(t0).empty());
}

// Aggressive Mode with RSA signatures (gen_aggressive_rsa_vectors.py): rsa
// entries enabled for it, no pre-shared key involved.
class IkeAggressiveRsaTest : public IkeServiceTest {
 protected:
  void SetUp() override {
    _settings.enabled = true;
    use_certificates();
    _am_rsa = true;
  }

  void add_rsa_peer(std::string id, bool aggressive) {
    IkePeerKey p;
    p.auth = ike::AuthMethod::rsa_sig;
    p.id = std::move(id);
    p.id_dn = ike::dn_from_text(p.id).value_or(ike::Bytes{});
    p.aggressive = aggressive;
    _settings.peers.push_back(std::move(p));
  }
};

TEST_F(IkeAggressiveRsaTest, EnabledIdEstablishesWithMessage2InFragments) {
  add_rsa_peer("C=CH, O=test, CN=client", true);
  auto s = make();
  // No pre-shared key to expose: no warning.
  EXPECT_EQ(_out.str().find("may use Aggressive Mode"), std::string::npos) << _out.str();
  const auto t0 = IkeService::Clock::time_point{} + std::chrono::hours(1);
  // The peer announced fragmentation and message 2 (our certificate and
  // signature) exceeds fragment_size.
  s->on_punt(punt(hex(ike::am_rsa::msg1), 500), t0);
  ASSERT_GT(_sent.size(), 1u);
  EXPECT_EQ(reassembled(0, _settings.fragment_size), ike::am_rsa::msg2);
  EXPECT_EQ(s->counters().fragmented, 1u);
  auto views = s->sas(t0);
  ASSERT_EQ(views.size(), 1u);
  EXPECT_EQ(views[0].state, "AM sent 2");
  // Retransmitted on timeout, in the same fragments.
  const auto first = _sent;
  _sent.clear();
  s->poll(t0 + std::chrono::seconds(3));
  EXPECT_EQ(_sent, first);
  // Message 3 in fragments, encrypted.
  for (const char* f : {ike::am_rsa::msg3_frag1, ike::am_rsa::msg3_frag2, ike::am_rsa::msg3_frag3}) {
    s->on_punt(punt(hex(f), 500), t0);
  }
  EXPECT_NE(_out.str().find("IKE SA established with 203.0.113.9 (ID C=CH, O=test, CN=client): "
                            "aes-256/sha1/ecp256, auth RSA signature (certificate C=CH, O=test, "
                            "CN=client, issued by C=CH, O=test, CN=Test CA), NAT: peer behind "
                            "NAT, Aggressive Mode"),
            std::string::npos)
      << _out.str();
  EXPECT_EQ(s->half_open(), 0u);
  EXPECT_EQ(s->sas(t0).at(0).state, "established");
}

TEST_F(IkeAggressiveRsaTest, ClearMessage3Establishes) {
  add_rsa_peer("C=CH, O=test, CN=client", true);
  _settings.fragment_size = 9000;  // message 2 goes whole
  auto s = make();
  const auto t0 = IkeService::Clock::time_point{} + std::chrono::hours(1);
  s->on_punt(punt(hex(ike::am_rsa::msg1), 500), t0);
  EXPECT_EQ(last_reply(500), ike::am_rsa::msg2);
  EXPECT_EQ(s->counters().fragmented, 0u);
  s->on_punt(punt(hex(ike::am_rsa::msg3_clear), 500), t0);
  EXPECT_NE(_out.str().find("IKE SA established with 203.0.113.9 (ID C=CH, O=test, CN=client)"),
            std::string::npos)
      << _out.str();
}

TEST_F(IkeAggressiveRsaTest, OtherIdsAreRefusedWithOneLine) {
  // An rsa entry not enabled for it, and an ID without any entry.
  add_rsa_peer("C=CH, O=test, CN=client", false);
  auto s = make();
  const auto t0 = IkeService::Clock::time_point{} + std::chrono::hours(1);
  s->on_punt(punt(hex(ike::am_rsa::msg1), 500), t0);
  // Another service: the vectors share the initiator's cookie, and a
  // refused cookie's retransmissions are only counted.
  auto other = make();
  other->on_punt(punt(hex(ike::am_rsa::msg1_fqdn), 500), t0);
  const auto log = _out.str();
  EXPECT_NE(log.find("Aggressive Mode from 203.0.113.9 (ID C=CH, O=test, CN=client) refused: not "
                     "enabled for this peer"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("Aggressive Mode from 203.0.113.9 (ID intruder.example.org) refused: not "
                     "enabled for this peer"),
            std::string::npos)
      << log;
  EXPECT_EQ(s->counters().aggressive_refused, 1u);
  EXPECT_EQ(other->counters().aggressive_refused, 1u);
  EXPECT_TRUE(_sent.empty());
  EXPECT_TRUE(s->sas(t0).empty());
}

TEST_F(IkeAggressiveRsaTest, UntrustedCertificateIsNamed) {
  add_rsa_peer("C=CH, O=test, CN=client", true);
  _settings.fragment_size = 9000;
  auto s = make();
  const auto t0 = IkeService::Clock::time_point{} + std::chrono::hours(1);
  s->on_punt(punt(hex(ike::am_rsa::msg1), 500), t0);
  s->on_punt(punt(hex(ike::am_rsa::msg3_untrusted), 500), t0);
  EXPECT_NE(_out.str().find("Aggressive Mode with 203.0.113.9 failed: certificate not trusted: "
                            "C=CH, O=test, CN=client (issuer C=CH, O=other, CN=Other CA)"),
            std::string::npos)
      << _out.str();
  EXPECT_EQ(s->half_open(), 0u);
  EXPECT_TRUE(s->sas(t0).empty());
}

TEST_F(IkeAggressiveTest, HalfOpenLimitApplies) {
  _settings.max_half_open_per_peer = 1;
  add_peer(std::nullopt, "phone.example.org", am_psk(), true);
  auto s = make();
  const auto t0 = IkeService::Clock::time_point{} + std::chrono::hours(1);
  auto am1 = hex(vec::am_msg1);
  s->on_punt(punt(am1, 500), t0);
  am1[0] ^= 0xff;  // another initiator cookie: a new exchange
  s->on_punt(punt(am1, 500), t0);
  EXPECT_EQ(s->half_open(), 1u);
  EXPECT_EQ(s->counters().half_open_per_peer, 1u);
  EXPECT_EQ(_sent.size(), 1u);
}

TEST_F(IkeAggressiveTest, TruncatedAndGarbledMessagesAreCounted) {
  add_peer(std::nullopt, "phone.example.org", am_psk(), true);
  auto s = make();
  const auto t0 = IkeService::Clock::time_point{} + std::chrono::hours(1);
  const auto am1 = hex(vec::am_msg1);
  for (std::size_t len = 0; len < am1.size(); len += 7) {
    s->on_punt(punt(ike::Bytes(am1.begin(), am1.begin() + static_cast<std::ptrdiff_t>(len)), 500),
               t0);
  }
  EXPECT_TRUE(_sent.empty());
  EXPECT_TRUE(s->sas(t0).empty());
  EXPECT_GT(s->counters().malformed_isakmp, 0u);
  s->on_punt(punt(am1, 500), t0);
  EXPECT_EQ(last_reply(500), vec::am_msg2);
  // A cut message 3 is counted and the exchange waits for the real one.
  const auto am3 = hex(vec::am_msg3_encrypted);
  const auto dropped = s->counters().dropped;
  auto cut = ike::Bytes(am3.begin(), am3.end() - 5);
  cut[27] = static_cast<std::uint8_t>(cut.size());  // header length agrees: a cipher-block error
  s->on_punt(punt(cut, 500), t0);
  EXPECT_EQ(s->counters().dropped, dropped + 1);
  EXPECT_EQ(s->half_open(), 1u);
  s->on_punt(punt(am3, 500), t0);
  EXPECT_NE(_out.str().find("IKE SA established with 203.0.113.9 (ID phone.example.org)"),
            std::string::npos)
      << _out.str();
}

}  // namespace
}  // namespace l2tpgw::cp

// ---- across a restart of the control plane (ike_state.cc) ----

namespace l2tpgw::cp {
namespace {

// One service establishes the ISAKMP SA and the pair of gen_vectors.py; its
// state goes through the state file's text into a fresh service, which
// must then do what the first would have done, checked against the
// independent vectors wherever the bytes allow it.
class IkeRestartTest : public IkeServiceTest {
 protected:
  using Clock = IkeService::Clock;

  void establish(const char* qm1 = vec::qm_msg1, const char* qm3 = vec::qm_msg3) {
    _original = make();
    main_mode(*_original, t0);
    _original->on_punt(punt(hex(qm1), 4500), t0);
    _original->on_punt(punt(hex(qm3), 4500), t0);
    ASSERT_EQ(_calls.size(), 2u);
    // The data plane's directory as read_sa_directory gives it: no keys.
    for (const auto& c : _calls) {
      channel::SaParams p = c.sa_add.sa;
      std::fill(std::begin(p.cipher_key), std::end(p.cipher_key), 0);
      std::fill(std::begin(p.auth_key), std::end(p.auth_key), 0);
      _directory.push_back(p);
    }
    _calls.clear();
    _moved.clear();
  }

  // save() through the file's text.
  std::vector<state::Record> saved(Clock::time_point now) const {
    std::vector<state::Record> out;
    _original->save(out, now);
    return state::decode(state::encode(out), "ike.state");
  }

  std::unique_ptr<IkeService> restored(const std::vector<state::Record>& records,
                                       std::span<const channel::SaParams> dir, Clock::time_point now) {
    auto s = make();
    _kept = s->restore(records, dir, now);
    return s;
  }

  // The ISAKMP SA with the keys gen_vectors.py computed, to read what we send.
  static ike::IsakmpSa python_isakmp() {
    ike::IsakmpSa k;
    const auto m1 = hex(vec::mm_msg1);
    std::copy_n(m1.begin(), 8, k.icookie.begin());
    const auto rc = hex(vec::mm_rcky);
    std::copy(rc.begin(), rc.end(), k.rcookie.begin());
    k.transform.suite.cipher = {ike::Cipher::aes_cbc, 256};
    k.transform.suite.hash = ike::Hash::sha1;
    const auto secret = [](const char* h) {
      const auto b = hex(h);
      return ike::SecretBytes(b.begin(), b.end());
    };
    k.skeyid_a = secret(vec::mm_skeyid_a);
    k.enc_key = secret(vec::mm_enc_key);
    k.last_block = secret(vec::mm_last_block);
    return k;
  }

  // The sequence number of the R-U-THERE last sent.
  std::optional<std::uint32_t> last_dpd_request() {
    const auto d = parse_udp_datagram(_sent.back());
    EXPECT_TRUE(d.ok());
    const auto r = ike::handle_informational(python_isakmp(), d.payload.subspan(4), 1);
    EXPECT_TRUE(r.failure.empty()) << r.failure;
    EXPECT_TRUE(r.reply.has_value()) << "a request, answered";
    return r.dpd_sequence;
  }

  static state::Record without(const state::Record& r, const std::string& field) {
    state::Record out(r.kind(), r.line());
    for (const auto& [name, value] : r.fields()) {
      if (name != field) {
        out.put_encoded(name, value);
      }
    }
    return out;
  }

  static state::Record with(const state::Record& r, const std::string& field, std::string value) {
    state::Record out(r.kind(), r.line());
    for (const auto& [name, v] : r.fields()) {
      out.put_encoded(name, name == field ? value : v);
    }
    return out;
  }

  // Our client's tunnel while 203.0.113.10 holds its network.
  const std::string taken_by_other =
      "Quick Mode with 203.0.113.9 (ID 198.51.100.5) failed: Quick Mode refused (traffic "
      "selectors): IDci 192.168.77.2 proto 0 port 0 overlaps the tunnel of 203.0.113.10 (ID "
      "198.51.100.5) to 192.168.77.2/32";
  const Clock::time_point t0 = Clock::time_point{} + std::chrono::hours(1);
  const Clock::time_point t1 = t0 + std::chrono::seconds(100);  // the restart
  std::unique_ptr<IkeService> _original;
  std::vector<channel::SaParams> _directory;
  std::vector<channel::SaParams> _kept;
};

TEST_F(IkeRestartTest, RestoredSasShowTheSameAndTheLnsFindsThePair) {
  establish();
  const auto records = saved(t1);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].kind(), "ike_sa");
  EXPECT_EQ(records[1].kind(), "ipsec_sa");
  // Records of other kinds are someone else's.
  auto all = records;
  all.emplace_back("l2tp_tunnel").put("tid", 7);
  const auto sent = _sent.size();
  const auto before = _out.str().size();
  auto r = restored(all, _directory, t1);
  EXPECT_NE(_out.str().find("restored 1 ISAKMP SAs, 1 IPsec SA pairs", before), std::string::npos)
      << _out.str();
  EXPECT_TRUE(_calls.empty()) << "the data plane keeps its SAs";
  EXPECT_EQ(_sent.size(), sent);
  ASSERT_EQ(_kept.size(), 2u);
  EXPECT_EQ(_kept[0].dir, channel::Direction::in);
  EXPECT_EQ(_kept[0].spi, vec::qm_spi_r);
  EXPECT_EQ(_kept[1].dir, channel::Direction::out);
  EXPECT_EQ(_kept[1].spi, 0xc0ffee01u);

  const auto p = r->pair_of(vec::qm_spi_r, client);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->spi_out, 0xc0ffee01u);
  EXPECT_EQ(p->peer_addr, client);

  const auto t2 = t0 + std::chrono::seconds(1234);
  const auto a = _original->sas(t2);
  const auto b = r->sas(t2);
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].peer_addr, a[0].peer_addr);
  EXPECT_EQ(b[0].peer_port, a[0].peer_port);
  EXPECT_EQ(b[0].peer_id, "198.51.100.5");
  EXPECT_EQ(b[0].peer_id, a[0].peer_id);
  EXPECT_EQ(b[0].mode, a[0].mode);
  EXPECT_EQ(b[0].state, "established");
  EXPECT_EQ(b[0].suite, "aes-256/sha1/modp2048");
  EXPECT_EQ(b[0].nat, a[0].nat);
  EXPECT_EQ(b[0].age, std::chrono::seconds(1234));
  EXPECT_EQ(b[0].life_left, a[0].life_left);
  ASSERT_EQ(b[0].ipsec.size(), 1u);
  ASSERT_EQ(a[0].ipsec.size(), 1u);
  EXPECT_EQ(b[0].ipsec[0].spi_in, a[0].ipsec[0].spi_in);
  EXPECT_EQ(b[0].ipsec[0].spi_out, a[0].ipsec[0].spi_out);
  EXPECT_EQ(b[0].ipsec[0].transform, "ESP aes-cbc-128/hmac-sha1-96 transport, NAT-T udp 4500");
  EXPECT_EQ(b[0].ipsec[0].transform, a[0].ipsec[0].transform);
  EXPECT_EQ(b[0].ipsec[0].age, a[0].ipsec[0].age);
  EXPECT_EQ(b[0].ipsec[0].life_left, std::chrono::seconds(3600 - 1234));
  EXPECT_EQ(b[0].ipsec[0].life_kilobytes, a[0].ipsec[0].life_kilobytes);
  EXPECT_EQ(render_ike_text(*r, t2), render_ike_text(*_original, t2));

  // No key material in the log, ever.
  for (const char* key : {vec::mm_skeyid_d, vec::mm_skeyid_a, vec::mm_enc_key, vec::mm_last_block,
                          vec::qm_in_enc, vec::qm_out_enc}) {
    EXPECT_EQ(_out.str().find(key), std::string::npos) << key;
  }
  // The ESP keys stay in the data plane only.
  const auto text = state::encode(records);
  EXPECT_EQ(text.find(vec::qm_in_enc), std::string::npos);
  EXPECT_EQ(text.find(vec::qm_out_auth), std::string::npos);
  EXPECT_NE(text.find(vec::mm_skeyid_d), std::string::npos) << "phase 2 needs it";
}

TEST_F(IkeRestartTest, PeerDpdIsAnsweredWithTheIndependentAck) {
  _message_id = 0x12345678;  // gen_vectors.py's ACK
  establish();
  auto r = restored(saved(t1), _directory, t1);
  r->on_punt(punt(hex(vec::info_dpd), 4500), t1);
  EXPECT_EQ(last_reply(4500), vec::info_dpd_ack);
}

TEST_F(IkeRestartTest, OurDpdSequenceContinues) {
  establish();
  const auto sent = _sent.size();
  _original->poll(t0 + _settings.dpd_interval);
  ASSERT_EQ(_sent.size(), sent + 1);
  const auto first = last_dpd_request();
  ASSERT_TRUE(first.has_value());

  auto r = restored(saved(t1), _directory, t1);
  r->poll(t1 + _settings.dpd_interval - std::chrono::milliseconds(1));
  EXPECT_EQ(_sent.size(), sent + 1) << "the silence before the restart does not count";
  r->poll(t1 + _settings.dpd_interval);
  ASSERT_EQ(_sent.size(), sent + 2);
  // Past any R-U-THERE the file may not have seen (ike_state.cc).
  EXPECT_EQ(last_dpd_request(), *first + 1 + 1024);
}

TEST_F(IkeRestartTest, PeerDeleteRemovesTheRestoredPair) {
  establish();
  auto r = restored(saved(t1), _directory, t1);
  r->on_punt(punt(hex(vec::info_delete), 4500), t1);
  ASSERT_EQ(_calls.size(), 2u);
  EXPECT_EQ(_calls[0].hdr.type, channel::MsgType::sa_del);
  EXPECT_EQ(_calls[0].sa_del.dir, channel::Direction::in);
  EXPECT_EQ(_calls[0].sa_del.spi, vec::qm_spi_r);
  EXPECT_EQ(_calls[1].hdr.type, channel::MsgType::sa_del);
  EXPECT_EQ(_calls[1].sa_del.dir, channel::Direction::out);
  EXPECT_EQ(_calls[1].sa_del.spi, 0xc0ffee01u);
  ASSERT_EQ(_gone.size(), 1u);
  EXPECT_EQ(_gone[0].first.spi_in, vec::qm_spi_r);
  EXPECT_EQ(_gone[0].second, "deleted by the peer");
  EXPECT_FALSE(r->pair_of(vec::qm_spi_r, client).has_value());
  r->poll(t1);
  EXPECT_TRUE(r->sas(t1).empty()) << "the Delete named the ISAKMP SA too";
}

// The pair's SAs left the data plane while we were away: the ISAKMP SA
// alone comes back, and the peer's Quick Mode on it gives the independent
// messages and keys (phase-2 IV from the saved last block, SKEYID_a for
// the hashes, SKEYID_d for KEYMAT).
TEST_F(IkeRestartTest, PeerQuickModeOnARestoredIsakmpSaWithoutPairs) {
  establish();
  const auto before = _out.str().size();
  auto r = restored(saved(t1), {}, t1);
  EXPECT_NE(_out.str().find("IPsec SA pair with 203.0.113.9 (SPIs in 0x5eed0001 out 0xc0ffee01) "
                            "not restored: both its SAs are gone from the data plane",
                            before),
            std::string::npos)
      << _out.str();
  EXPECT_NE(_out.str().find("restored 1 ISAKMP SAs, 0 IPsec SA pairs", before), std::string::npos);
  EXPECT_TRUE(_kept.empty());
  EXPECT_FALSE(r->pair_of(vec::qm_spi_r, client).has_value());
  ASSERT_EQ(r->sas(t1).size(), 1u);
  EXPECT_TRUE(r->sas(t1)[0].ipsec.empty());

  r->on_punt(punt(hex(vec::qm_msg1), 4500), t1);
  EXPECT_EQ(last_reply(4500), vec::qm_msg2);
  r->on_punt(punt(hex(vec::qm_msg3), 4500), t1);
  ASSERT_EQ(_calls.size(), 2u);
  const auto& in = _calls[0].sa_add.sa;
  const auto& out = _calls[1].sa_add.sa;
  EXPECT_EQ(in.spi, vec::qm_spi_r);
  EXPECT_EQ(to_hex(std::span(in.cipher_key, in.cipher_key_len)), vec::qm_in_enc);
  EXPECT_EQ(to_hex(std::span(in.auth_key, in.auth_key_len)), vec::qm_in_auth);
  EXPECT_EQ(out.spi, 0xc0ffee01u);
  EXPECT_EQ(to_hex(std::span(out.cipher_key, out.cipher_key_len)), vec::qm_out_enc);
  EXPECT_EQ(to_hex(std::span(out.auth_key, out.auth_key_len)), vec::qm_out_auth);
  EXPECT_TRUE(r->pair_of(vec::qm_spi_r, client).has_value());
}

TEST_F(IkeRestartTest, APairMissingOneSaIsNotRestored) {
  establish();
  for (const auto dir : {channel::Direction::in, channel::Direction::out}) {
    std::vector<channel::SaParams> partial;
    for (const auto& p : _directory) {
      if (p.dir != dir) {
        partial.push_back(p);
      }
    }
    // Another peer's SA with the same SPI is not the pair's.
    auto other = _directory[dir == channel::Direction::in ? 0 : 1];
    other.peer_addr = client + 1;
    partial.push_back(other);
    const auto before = _out.str().size();
    auto r = restored(saved(t1), partial, t1);
    EXPECT_NE(_out.str().find(dir == channel::Direction::in
                                  ? "not restored: its inbound SA is gone from the data plane"
                                  : "not restored: its outbound SA is gone from the data plane",
                              before),
              std::string::npos)
        << _out.str();
    EXPECT_TRUE(_kept.empty());
    EXPECT_FALSE(r->pair_of(vec::qm_spi_r, client).has_value());
    EXPECT_EQ(r->sas(t1).size(), 1u);
  }
  EXPECT_TRUE(_calls.empty());
}

// Our rekey of a restored pair, by the operator and at 90% of its
// lifetime: Quick Mode 1 as gen_vectors.py expects it (the pair's
// transform, lifetimes, selectors and NAT-OA offered again), then both new
// SAs with the independent keys.
TEST_F(IkeRestartTest, OurRekeyOfARestoredPair) {
  _settings.dpd_interval = std::chrono::milliseconds(0);  // only our Quick Mode goes out
  establish();
  const auto records = saved(t1);
  _ours = true;
  {
    auto r = restored(records, _directory, t1);
    EXPECT_EQ(r->rekey_peer(client, t1), 1u);
    EXPECT_EQ(last_reply(4500), vec::rk_msg1);
    r->on_punt(punt(hex(vec::rk_msg2), 4500), t1);
    EXPECT_EQ(last_reply(4500), vec::rk_msg3);
    ASSERT_EQ(_calls.size(), 2u);
    const auto& in = _calls[0].sa_add.sa;
    const auto& out = _calls[1].sa_add.sa;
    EXPECT_EQ(in.spi, vec::rk_spi_gw);
    EXPECT_EQ(to_hex(std::span(in.cipher_key, in.cipher_key_len)), vec::rk_in_enc);
    EXPECT_EQ(to_hex(std::span(in.auth_key, in.auth_key_len)), vec::rk_in_auth);
    EXPECT_EQ(out.spi, vec::rk_spi_client);
    EXPECT_EQ(to_hex(std::span(out.cipher_key, out.cipher_key_len)), vec::rk_out_enc);
    EXPECT_EQ(to_hex(std::span(out.auth_key, out.auth_key_len)), vec::rk_out_auth);
    r->poll(t1 + _settings.rekey_overlap / 4);
    ASSERT_EQ(_moved.size(), 1u);
    EXPECT_EQ(_moved[0].first.spi_in, vec::qm_spi_r);
    EXPECT_EQ(_moved[0].second.spi_in, vec::rk_spi_gw);
  }
  _calls.clear();
  auto r = restored(records, _directory, t1);
  const auto sent = _sent.size();
  r->poll(t0 + std::chrono::seconds(3239));
  EXPECT_EQ(_sent.size(), sent);
  r->poll(t0 + std::chrono::seconds(3240));  // 90% of 3600 s from the original start
  ASSERT_EQ(_sent.size(), sent + 1);
  EXPECT_EQ(last_reply(4500), vec::rk_msg1);
}

// A tunnel pair comes back with its mode and networks: the data plane
// keeps its SAs as they are, and our rekey of the restored pair offers
// the same selectors and installs the same networks.
TEST_F(IkeRestartTest, RestoredTunnelPairKeepsItsNetworks) {
  _settings.dpd_interval = std::chrono::milliseconds(0);
  allow_tunnel();
  establish(vec::tn_msg1, vec::tn_msg3);
  ASSERT_EQ(_directory.size(), 2u);
  _ours = true;
  auto r = restored(saved(t1), _directory, t1);
  ASSERT_EQ(_kept.size(), 2u);
  expect_tunnel(_kept[0]);
  expect_tunnel(_kept[1]);
  EXPECT_EQ(r->rekey_peer(client, t1), 1u);
  EXPECT_EQ(last_reply(4500), vec::tr_msg1);
  r->on_punt(punt(hex(vec::tr_msg2), 4500), t1);
  EXPECT_EQ(last_reply(4500), vec::tr_msg3);
  ASSERT_EQ(_calls.size(), 2u);
  expect_tunnel(_calls[0].sa_add.sa);
  expect_tunnel(_calls[1].sa_add.sa);
  // A tunnel pair whose selectors name no prefix is a broken file.
  const auto records = saved(t1);
  for (const auto& [field, value] : {std::pair{"idci", "x0200000061"}, std::pair{"idcr", "x"}}) {
    auto broken = records;
    broken[1] = with(records[1], field, value);
    auto fresh = make();
    try {
      fresh->restore(broken, _directory, t1);
      ADD_FAILURE() << field << " was accepted";
    } catch (const state::StateError& e) {
      EXPECT_NE(std::string(e.what()).find(std::string(": field ") + field + " "),
                std::string::npos)
          << e.what();
    }
  }
}

// Two peers, one inner network: the pair of another peer (here restored:
// another address, its own cookies and SPIs) holds 192.168.77.2/32, so the
// same selectors from our client are refused with one line naming it.
TEST_F(IkeRestartTest, TunnelNetworkOfAnotherPeerIsRefused) {
  _settings.dpd_interval = std::chrono::milliseconds(0);
  allow_tunnel();
  establish(vec::tn_msg1, vec::tn_msg3);
  const std::string other = std::to_string(0xcb00710au);  // 203.0.113.10
  const std::string rcookie = "x0102030405060708";
  auto records = saved(t1);
  ASSERT_EQ(records.size(), 2u);
  records[0] = with(with(records[0], "peer_addr", other), "rcookie", rcookie);
  records[1] = with(with(records[1], "peer_addr", other), "rcookie", rcookie);
  records[1] = with(with(records[1], "spi_in", "1592590592"), "spi_out", "3237998096");
  for (auto& p : _directory) {
    p.peer_addr = 0xcb00710a;
    p.spi = p.dir == channel::Direction::in ? 0x5eed0100 : 0xc0ffee10;
  }
  auto s = restored(records, _directory, t1);
  ASSERT_EQ(_kept.size(), 2u);
  main_mode(*s, t1);
  expect_refused(*s, hex(vec::tn_msg1), t1, taken_by_other);
  // Transport mode is not about networks: the same client's L2TP pair is taken.
  s->on_punt(punt(hex(vec::qm_msg1), 4500), t1);
  EXPECT_EQ(last_reply(4500), vec::qm_msg2);
}

// The same peer (address and ID) over another of its ISAKMP SAs, e.g.
// after its phase-1 rekey, may ask for its network again.
TEST_F(IkeRestartTest, TunnelNetworkOfTheSamePeerOnAnotherIsakmpSaIsTaken) {
  _settings.dpd_interval = std::chrono::milliseconds(0);
  allow_tunnel();
  establish(vec::tn_msg1, vec::tn_msg3);
  const std::string rcookie = "x0102030405060708";
  const auto records = saved(t1);
  ASSERT_EQ(records.size(), 2u);
  // The SA of gen_vectors.py without pairs, and a second SA of the same
  // peer holding the tunnel pair under other SPIs.
  auto pair = with(with(records[1], "rcookie", rcookie), "spi_in", "1592590592");
  pair = with(pair, "spi_out", "3237998096");
  const std::vector<state::Record> two{records[0], with(records[0], "rcookie", rcookie), pair};
  for (auto& p : _directory) {
    p.spi = p.dir == channel::Direction::in ? 0x5eed0100 : 0xc0ffee10;
  }
  auto s = restored(two, _directory, t1);
  ASSERT_EQ(_kept.size(), 2u);
  ASSERT_EQ(s->sas(t1).size(), 2u);
  peer_quick_mode(*s, vec::tn_msg1, vec::tn_msg2, vec::tn_msg3, t1);
  ASSERT_EQ(_calls.size(), 2u);
  expect_tunnel(_calls[1].sa_add.sa);
  EXPECT_EQ(_out.str().find("failed"), std::string::npos) << _out.str();
}

// A network being negotiated counts too: the other peer's inbound SA is
// in the data plane from its HASH(2) on. Here the other peer is a second
// restored ISAKMP SA with the same keys under another address and cookie
// (Quick Mode's hashes and IV do not cover the cookies, so gen_vectors.py's
// message 1 with that cookie is a valid one of it).
TEST_F(IkeRestartTest, TunnelNetworkBeingNegotiatedByAnotherPeerIsRefused) {
  _settings.dpd_interval = std::chrono::milliseconds(0);
  allow_tunnel();
  establish(vec::tn_msg1, vec::tn_msg3);
  constexpr std::uint32_t other = 0xcb00710a;  // 203.0.113.10
  const auto records = saved(t1);
  const std::vector<state::Record> two{
      records[0],
      with(with(records[0], "peer_addr", std::to_string(other)), "rcookie", "x0102030405060708")};
  auto s = restored(two, {}, t1);
  ASSERT_EQ(s->sas(t1).size(), 2u);
  auto theirs = hex(vec::tn_msg1);
  const std::uint8_t rcookie[] = {1, 2, 3, 4, 5, 6, 7, 8};
  std::copy(std::begin(rcookie), std::end(rcookie), theirs.begin() + 8);
  s->on_punt(punt(theirs, 4500, other), t1);
  ASSERT_EQ(_calls.size(), 1u);  // its inbound SA, before its HASH(2) left
  expect_tunnel(_calls[0].sa_add.sa);
  EXPECT_EQ(_calls[0].sa_add.sa.peer_addr, other);
  expect_refused(*s, hex(vec::tn_msg1), t1, taken_by_other);
}

TEST_F(IkeRestartTest, LifetimesEndAtTheOriginalTimes) {
  _settings.dpd_interval = std::chrono::milliseconds(0);  // a silent peer is not dead here
  establish();
  const auto ike_life = _original->sas(t0)[0].life_left;
  EXPECT_EQ(ike_life, std::chrono::seconds(28800));
  auto r = restored(saved(t1), _directory, t1);
  r->poll(t0 + std::chrono::seconds(3599));
  for (const auto& c : _calls) {
    EXPECT_NE(c.hdr.type, channel::MsgType::sa_del);
  }
  _calls.clear();
  r->poll(t0 + std::chrono::seconds(3600));
  ASSERT_EQ(_calls.size(), 2u);
  EXPECT_EQ(_calls[0].hdr.type, channel::MsgType::sa_del);
  EXPECT_EQ(_calls[0].sa_del.spi, vec::qm_spi_r);
  EXPECT_EQ(_calls[1].sa_del.spi, 0xc0ffee01u);
  EXPECT_NE(_out.str().find("lifetime in seconds reached"), std::string::npos);
  ASSERT_EQ(_gone.size(), 1u);

  // Our phase-1 rekey comes at 90% of the original lifetime, not of
  // what was left at the restart.
  const auto rekey_at = t0 + ike_life * 9 / 10;
  r->poll(rekey_at - std::chrono::seconds(1));
  ASSERT_EQ(r->sas(rekey_at).size(), 1u);
  r->poll(rekey_at);
  const auto views = r->sas(rekey_at);
  ASSERT_EQ(views.size(), 2u);
  EXPECT_TRUE(views[0].mode == "main-ours" || views[1].mode == "main-ours");
  for (int i = 1; i <= 120; ++i) {  // the peer never answers: it gives up
    r->poll(rekey_at + std::chrono::seconds(i));
  }
  EXPECT_NE(_out.str().find("phase-1 rekey of 203.0.113.9"), std::string::npos);
  EXPECT_EQ(r->sas(rekey_at + std::chrono::seconds(120)).size(), 1u);

  r->poll(t0 + ike_life - std::chrono::seconds(1));
  EXPECT_EQ(_out.str().find("IKE SA with 203.0.113.9 (ID 198.51.100.5) expired"), std::string::npos);
  r->poll(t0 + ike_life);
  EXPECT_NE(_out.str().find("IKE SA with 203.0.113.9 (ID 198.51.100.5) expired"), std::string::npos);
  EXPECT_TRUE(r->sas(t0 + ike_life).empty());
}

// The pre-shared key is not in the file: a phase-1 rekey of a restored SA
// takes it from the configuration again (ike::psk_again), and its Delete
// of the old SA uses the restored keys; both byte for byte as the
// generator computes them.
TEST_F(IkeRestartTest, OurPhase1RekeyOfARestoredSa) {
  namespace rk = ike::p1rk;
  _settings.ike_lifetime_s = 3000;
  _settings.dpd_interval = std::chrono::milliseconds(0);
  _p1_mid = true;
  establish();
  auto r = restored(saved(t1), _directory, t1);
  _p1 = true;
  ASSERT_EQ(r->rekey_phase1(client, t1), 1u);
  EXPECT_EQ(last_reply(4500), rk::p1rk_msg1);  // the original lifetime, 3000 s
  r->on_punt(punt(hex(rk::p1rk_msg2), 4500), t1);
  EXPECT_EQ(last_reply(4500), rk::p1rk_msg3);
  r->on_punt(punt(hex(rk::p1rk_msg4), 4500), t1);
  EXPECT_EQ(last_reply(4500), rk::p1rk_msg5);
  r->on_punt(punt(hex(rk::p1rk_msg6), 4500), t1);
  EXPECT_EQ(last_reply(4500), rk::p1rk_old_delete);
  EXPECT_TRUE(_calls.empty());
}

// A peer that announced fragmentation under the SA being replaced gets
// our Main Mode messages above fragment_size in fragments (in practice
// message 5 with our certificate; here message 3, with a small limit):
// they reassemble to the generator's message byte for byte.
TEST_F(IkeRestartTest, OurPhase1RekeyFragmentsForAPeerThatTakesThem) {
  namespace rk = ike::p1rk;
  _settings.ike_lifetime_s = 3000;
  _settings.dpd_interval = std::chrono::milliseconds(0);
  _p1_mid = true;
  establish();
  auto records = saved(t1);
  for (auto& r : records) {
    if (r.kind() == "ike_sa") {
      r = without(r, "fragmentation");
      r.put("fragmentation", 1);
    }
  }
  _settings.fragment_size = 300;
  auto r = restored(records, _directory, t1);
  _p1 = true;
  ASSERT_EQ(r->rekey_phase1(client, t1), 1u);
  const auto sent = _sent.size();
  r->on_punt(punt(hex(rk::p1rk_msg2), 4500), t1);
  ASSERT_GT(_sent.size(), sent + 1);
  EXPECT_EQ(reassembled(sent, 300), rk::p1rk_msg3);
  r->on_punt(punt(hex(rk::p1rk_msg4), 4500), t1);
  EXPECT_EQ(last_reply(4500), rk::p1rk_msg5);  // small enough to go whole
  EXPECT_EQ(r->counters().fragmented, 1u);
}

TEST_F(IkeRestartTest, EachMissingFieldThrowsAndChangesNothing) {
  establish();
  const auto records = saved(t1);
  std::size_t fields = 0;
  for (std::size_t i = 0; i < records.size(); ++i) {
    for (const auto& [name, value] : records[i].fields()) {
      auto broken = records;
      broken[i] = without(records[i], name);
      auto r = make();
      const auto version = r->state_version();
      const auto before = _out.str().size();
      try {
        r->restore(broken, _directory, t1);
        ADD_FAILURE() << records[i].kind() << " without " << name << " was accepted";
      } catch (const state::StateError& e) {
        EXPECT_NE(std::string(e.what()).find("line " + std::to_string(i + 1) + ": " +
                                             records[i].kind() + ": field "),
                  std::string::npos)
            << e.what();
        EXPECT_EQ(std::string(e.what()).find(value.size() > 8 ? value : "\x01"), std::string::npos)
            << "no value in the error: " << e.what();
      }
      EXPECT_TRUE(r->sas(t1).empty());
      EXPECT_EQ(r->state_version(), version);
      EXPECT_EQ(_out.str().find("restored", before), std::string::npos);
      ++fields;
    }
  }
  EXPECT_GT(fields, 40u);
  EXPECT_TRUE(_calls.empty());
}

TEST_F(IkeRestartTest, BadValuesThrowNamingTheField) {
  establish();
  const auto records = saved(t1);
  const std::tuple<std::size_t, std::string, std::string> cases[] = {
      {0, "cipher", "99"},
      {0, "key_bits", "100"},
      {0, "hash", "3"},
      {0, "group", "1"},
      {0, "skeyid_a", "x0011"},        // not a SHA1 output
      {0, "last_block", "x00112233"},  // not an AES block
      {0, "icookie", "x00"},
      {0, "peer_id", "x01"},
      {0, "nat_t", "9"},
      {0, "created", "18446744073709551615"},
      {1, "icookie", "x0102030405060709"},  // no such ike_sa
      {1, "cipher", "aes-gcm-128"},
      {1, "auth", "hmac-md5"},
      {1, "encap", "5"},
      {1, "pfs", "3"},
  };
  for (const auto& [index, field, value] : cases) {
    auto broken = records;
    broken[index] = with(records[index], field, value);
    auto r = make();
    try {
      r->restore(broken, _directory, t1);
      ADD_FAILURE() << field << "=" << value << " was accepted";
    } catch (const state::StateError& e) {
      EXPECT_NE(std::string(e.what()).find(": field " + field + " "), std::string::npos) << e.what();
    }
    EXPECT_TRUE(r->sas(t1).empty());
  }
  // The pair before its ISAKMP SA, or the same ISAKMP SA twice.
  auto r = make();
  const std::vector<state::Record> reversed{records[1], records[0]};
  EXPECT_THROW(r->restore(reversed, _directory, t1), state::StateError);
  const std::vector<state::Record> twice{records[0], records[0]};
  EXPECT_THROW(r->restore(twice, _directory, t1), state::StateError);
  EXPECT_TRUE(r->sas(t1).empty());
}

TEST_F(IkeRestartTest, StateVersionFollowsWhatIsSaved) {
  auto s = make();
  auto v = s->state_version();
  s->on_punt(punt(hex(vec::mm_msg1), 500), t0);
  s->on_punt(punt(hex(vec::mm_msg3), 500), t0);
  EXPECT_EQ(s->state_version(), v) << "half-open exchanges are not saved";
  s->on_punt(punt(hex(vec::mm_msg5), 4500), t0);
  EXPECT_GT(s->state_version(), v) << "ISAKMP SA established";
  v = s->state_version();
  s->on_punt(punt(hex(vec::qm_msg1), 4500), t0);
  EXPECT_EQ(s->state_version(), v) << "a Quick Mode in flight is not saved";
  s->on_punt(punt(hex(vec::qm_msg3), 4500), t0);
  EXPECT_GT(s->state_version(), v) << "pair installed";
  v = s->state_version();
  s->on_punt(punt(hex(vec::info_dpd), 4500), t0);
  s->poll(t0 + std::chrono::seconds(1));
  EXPECT_EQ(s->state_version(), v) << "DPD and polls change nothing saved";
  s->on_punt(punt(hex(vec::info_delete), 4500), t0);
  EXPECT_GT(s->state_version(), v) << "pair and ISAKMP SA removed";
  v = s->state_version();
  s->poll(t0 + std::chrono::seconds(2));
  EXPECT_GT(s->state_version(), v) << "the ended ISAKMP SA erased";
  std::vector<state::Record> out;
  s->save(out, t0);
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace l2tpgw::cp

namespace l2tpgw::cp {
namespace {

TEST_F(IkeAggressiveTest, RestoredSaKeepsItsModeAndPeer) {
  add_peer(std::nullopt, "phone.example.org", am_psk(), true);
  auto s = make();
  const auto t0 = IkeService::Clock::time_point{} + std::chrono::hours(1);
  s->on_punt(punt(hex(vec::am_msg1), 500), t0);
  s->on_punt(punt(hex(vec::am_msg3_encrypted), 500), t0);
  std::vector<state::Record> records;
  s->save(records, t0);
  ASSERT_EQ(records.size(), 1u);
  auto r = make();
  EXPECT_TRUE(r->restore(state::decode(state::encode(records), "ike.state"), {}, t0).empty());
  const auto t1 = t0 + std::chrono::seconds(60);
  EXPECT_EQ(render_ike_text(*r, t1), render_ike_text(*s, t1));
  const auto views = r->sas(t1);
  ASSERT_EQ(views.size(), 1u);
  EXPECT_EQ(views[0].mode, "aggressive");
  EXPECT_EQ(views[0].peer_id, "phone.example.org");
  EXPECT_EQ(views[0].suite, "aes-128/sha2-256/ecp256");
}

}  // namespace
}  // namespace l2tpgw::cp

namespace l2tpgw::cp {
namespace {

// A rekey of ours: in flight when saved, it is started again; finished,
// the move of the sessions and the retirement of the old pair happen at
// their original times; failed, it is not retried (as without a restart).
TEST_F(IkeRestartTest, RekeyStateSurvives) {
  _settings.dpd_interval = std::chrono::milliseconds(0);
  _message_id = 0x0c0d0e0f;  // gen_vectors.py's rekey
  establish();
  _ours = true;
  ASSERT_EQ(_original->rekey_peer(client, t0), 1u);
  EXPECT_EQ(last_reply(4500), vec::rk_msg1);
  {
    auto r = restored(saved(t0), _directory, t0);
    EXPECT_EQ(r->rekey_peer(client, t0), 1u) << "in flight: started again";
    EXPECT_EQ(last_reply(4500), vec::rk_msg1);
  }

  _original->on_punt(punt(hex(vec::rk_msg2), 4500), t0);
  EXPECT_EQ(last_reply(4500), vec::rk_msg3);
  ASSERT_EQ(_calls.size(), 2u);
  auto directory = _directory;
  for (const auto& c : _calls) {
    directory.push_back(c.sa_add.sa);
  }
  _calls.clear();
  auto r = restored(saved(t0), directory, t0 + std::chrono::milliseconds(1));
  EXPECT_EQ(_kept.size(), 4u);
  ASSERT_EQ(r->sas(t0)[0].ipsec.size(), 2u);
  EXPECT_TRUE(r->pair_of(vec::rk_spi_gw, client).has_value());
  r->poll(t0 + _settings.rekey_overlap / 4 - std::chrono::milliseconds(1));
  EXPECT_TRUE(_moved.empty());
  r->poll(t0 + _settings.rekey_overlap / 4);
  ASSERT_EQ(_moved.size(), 1u);
  EXPECT_EQ(_moved[0].first.spi_in, vec::qm_spi_r);
  EXPECT_EQ(_moved[0].second.spi_in, vec::rk_spi_gw);
  EXPECT_TRUE(_calls.empty());
  r->poll(t0 + _settings.rekey_overlap);
  ASSERT_EQ(_calls.size(), 2u);
  EXPECT_EQ(_calls[0].sa_del.spi, vec::qm_spi_r);
  EXPECT_EQ(_calls[1].sa_del.spi, 0xc0ffee01u);
  EXPECT_TRUE(_gone.empty());
  EXPECT_NE(_out.str().find("(SPIs in 0x5eed0001 out 0xc0ffee01) removed: replaced by our rekey"),
            std::string::npos);
}

TEST_F(IkeRestartTest, AFailedRekeyIsNotRetriedAfterTheRestart) {
  _settings.dpd_interval = std::chrono::milliseconds(0);
  _settings.retransmits = 1;
  establish();
  _ours = true;
  ASSERT_EQ(_original->rekey_peer(client, t0), 1u);
  const auto v = _original->state_version();
  for (int i = 1; i <= 3; ++i) {
    _original->poll(t0 + i * _settings.retransmit_interval);
  }
  ASSERT_NE(_out.str().find("Quick Mode rekey with 203.0.113.9 (ID 198.51.100.5) failed"),
            std::string::npos);
  EXPECT_GT(_original->state_version(), v);
  EXPECT_EQ(_original->rekey_peer(client, t1), 0u);
  auto r = restored(saved(t1), _directory, t1);
  EXPECT_EQ(r->rekey_peer(client, t1), 0u);
}

}  // namespace
}  // namespace l2tpgw::cp
