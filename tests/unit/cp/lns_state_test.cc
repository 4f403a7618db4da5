// The LNS across a control-plane restart: a tunnel, session and PPP link
// brought up in one LnsService by a simulated LAC and client (the L2TP
// messages of tests/unit/l2tp/lns_fixture.h, the PPP frames scapy built for
// tests/unit/ppp), saved, written and read as state-file text, restored
// into a fresh LnsService beside a data-plane stand-in, then driven there.
// What the service sends is read back with the parsers tested against
// scapy (UDP/IPv4, L2TP header and control messages, PPP).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "controlplane/lns_service.h"
#include "controlplane/ppp/mschapv2.h"
#include "controlplane/state_file.h"
#include "controlplane/udp_datagram.h"
#include "dataplane/wire/l2tp.h"
#include "dataplane/wire/ppp.h"
#include "tests/unit/l2tp/lns_fixture.h"
#include "tests/unit/ppp/vectors.h"

namespace l2tpgw::cp {
namespace {

using Bytes = std::vector<std::uint8_t>;
using Clock = LnsService::Clock;
using l2tp::MessageType;
using l2tp_test::make;

constexpr std::uint32_t gw_addr = 0xc6336401;  // 198.51.100.1
constexpr std::uint32_t lac_addr = l2tp_test::lac_addr;
constexpr std::uint32_t first_address = 0x6440000a;  // 100.64.0.10
constexpr std::uint32_t in_spi = 0x1000;
constexpr std::uint32_t out_spi = 0x2000;

Clock::time_point at(long ms) {
  return Clock::time_point{} + std::chrono::hours(1) + std::chrono::milliseconds(ms);
}

// The data plane as the service sees it through its hooks: the session
// directory and what was asked of it.
struct FakeDataPlane {
  using Key = std::pair<std::uint16_t, std::uint16_t>;

  std::optional<channel::Ack> call(const channel::CtrlMsg& m) {
    channel::Ack a{};
    a.result = channel::AckResult::ok;
    switch (m.hdr.type) {
      case channel::MsgType::session_add: {
        const channel::SessionParams& p = m.session_add.session;
        const Key k{p.local_tunnel_id, p.local_session_id};
        if (sessions.contains(k)) {
          a.result = channel::AckResult::replaced;
        }
        sessions[k] = p;
        break;
      }
      case channel::MsgType::session_del: {
        const Key k{m.session_del.local_tunnel_id, m.session_del.local_session_id};
        deleted.push_back(k);
        a.result = sessions.erase(k) != 0 ? channel::AckResult::ok : channel::AckResult::not_found;
        break;
      }
      case channel::MsgType::session_mppe_reset:
        ++mppe_resets;
        break;
      case channel::MsgType::session_set_sa: {
        const Key k{m.session_set_sa.local_tunnel_id, m.session_set_sa.local_session_id};
        if (const auto it = sessions.find(k); it != sessions.end()) {
          it->second.sa_in_spi = m.session_set_sa.sa_in_spi;
          it->second.sa_out_spi = m.session_set_sa.sa_out_spi;
        } else {
          a.result = channel::AckResult::not_found;
        }
        break;
      }
      default:
        break;
    }
    return a;
  }

  std::vector<channel::SessionParams> directory() const {
    std::vector<channel::SessionParams> d;
    for (const auto& [k, p] : sessions) {
      d.push_back(p);
    }
    return d;
  }

  std::map<Key, channel::SessionParams> sessions;
  std::vector<Key> deleted;
  int mppe_resets = 0;
};

// One LnsService with its hooks: what it sends is kept for the client.
struct Gateway {
  explicit Gateway(const LnsSettings& s) : svc(s, gw_addr, log, hooks()) {}

  LnsHooks hooks() {
    LnsHooks h;
    h.send = [this](std::span<const std::uint8_t> p, std::optional<SaRef> via) {
      wire.emplace_back(p.begin(), p.end());
      vias.push_back(via);
      return true;
    };
    h.call = [this](const channel::CtrlMsg& m) { return dp.call(m); };
    h.outbound_for = [this](std::uint32_t spi, std::uint32_t peer) -> std::optional<SaRef> {
      if (pair_up && spi == in_spi && peer == lac_addr) {
        return SaRef{out_spi, peer};
      }
      if (pair_up && spi == in_spi + 1 && peer == lac_addr) {
        return SaRef{out_spi + 1, peer};
      }
      return std::nullopt;
    };
    return h;
  }

  bool logged(const std::string& needle) const {
    return logs.str().find(needle) != std::string::npos;
  }

  std::ostringstream logs;
  Logger log{logs};
  FakeDataPlane dp;
  bool pair_up = true;
  std::vector<Bytes> wire;
  std::vector<std::optional<SaRef>> vias;
  LnsService svc;
};

// The LAC and the PPP client behind it; plain L2TP unless lac.from.spi
// is set.
struct Client {
  Client() { lac.from.spi.reset(); }

  l2tp_test::Lac lac;
  std::uint16_t sid = 0;                  // the LNS's session id
  std::uint16_t peer_sid = 0x0077;        // ours
  std::uint32_t magic = 0;                // the LNS's LCP magic number, from its request
  std::vector<l2tp::ControlMessage> ctl;  // since the last absorb
  std::vector<l2tp::ControlMessage> duplicates;
  std::vector<std::pair<std::uint16_t, Bytes>> ppp;  // (session id in the header, frame)

  std::vector<Bytes> frames() const {
    std::vector<Bytes> f;
    for (const auto& [s, b] : ppp) {
      if (s == peer_sid) {
        f.push_back(b);
      }
    }
    return f;
  }
  const l2tp::ControlMessage* find(MessageType t) const {
    for (const auto& m : ctl) {
      if (m.message_type() == t) {
        return &m;
      }
    }
    return nullptr;
  }
};

LnsSettings settings(const std::string& users_file) {
  LnsSettings s;
  s.enabled = true;
  s.l2tp.plain_allowed = {l2tp::PlainPrefix{lac_addr, 32}};
  s.l2tp.hello_interval = std::chrono::seconds(60);
  s.ppp.auth = {ppp::AuthProto::pap};
  s.ppp.local_address = 0x64400001;  // 100.64.0.1
  s.ppp.dns_primary = 0x0a010101;    // what the scapy IPCP frames expect
  s.ppp.dns_secondary = 0x0a010102;
  s.ppp.echo_interval = std::chrono::seconds(20);
  s.ppp.echo_max_missed = 3;
  s.pool_first = first_address;
  s.pool_last = first_address + 10;
  s.users_file = users_file;
  return s;
}

class LnsStateTest : public ::testing::Test {
 protected:
  LnsStateTest() {
    std::ofstream(users_file) << "users = (\n"
                                 "  { name = \"alice\"; password = \"wonderland\"; },\n"
                                 "  { name = \"User\"; password = \"clientPass\"; }\n"
                                 ");\n";
    cfg = settings(users_file);
  }
  ~LnsStateTest() override { ::unlink(users_file.c_str()); }

  // Delivers one UDP payload from the LAC as the data plane punts it.
  void deliver(Gateway& g, Client& c, const Bytes& payload, channel::PuntReason r, long ms) {
    const Bytes ip = build_udp_datagram({lac_addr, gw_addr, 1701, 1701}, payload);
    auto m = std::make_unique<channel::PuntMsg>();
    std::memset(m.get(), 0, sizeof *m);
    m->reason = r;
    m->len = static_cast<std::uint16_t>(ip.size());
    m->sa_slot = channel::no_sa;
    if (c.lac.from.spi) {
      m->sa_slot = 0;
      m->sa_spi = *c.lac.from.spi;
    }
    m->peer_addr = lac_addr;
    m->peer_port = 1701;
    std::memcpy(m->data, ip.data(), ip.size());
    g.svc.on_punt(*m, at(ms));
    absorb(g, c);
  }

  void send_ctl(Gateway& g, Client& c, l2tp::ControlMessage m, long ms, std::uint16_t session = 0) {
    m.header.tunnel_id = m.message_type() == MessageType::sccrq ? 0 : c.lac.lns_tid;
    m.header.session_id = session;
    m.header.ns = c.lac.ns;
    m.header.nr = c.lac.nr;
    if (!m.zlb()) {
      ++c.lac.ns;
    }
    deliver(g, c, l2tp::build_control_message(m), channel::PuntReason::l2tp, ms);
  }

  void send_zlb(Gateway& g, Client& c, long ms) { send_ctl(g, c, l2tp::ControlMessage{}, ms); }

  void send_ppp(Gateway& g, Client& c, const Bytes& frame, long ms) {
    wire::L2tpDataHeader h;
    h.tunnel_id = c.lac.lns_tid;
    h.session_id = c.sid;
    Bytes msg(wire::l2tp_data_header_len(h) + frame.size());
    const std::size_t n = wire::build_l2tp_data_header(msg, h, frame.size());
    std::copy(frame.begin(), frame.end(), msg.begin() + static_cast<std::ptrdiff_t>(n));
    deliver(g, c, msg, channel::PuntReason::ppp, ms);
  }

  void poll(Gateway& g, Client& c, long ms) {
    g.svc.poll(at(ms));
    absorb(g, c);
  }

  // Reads what the gateway sent, as the LAC would: in-order control
  // messages advance its Nr, others are duplicates to it.
  void absorb(Gateway& g, Client& c) {
    c.ctl.clear();
    c.duplicates.clear();
    c.ppp.clear();
    for (const Bytes& pkt : g.wire) {
      const UdpDatagram d = parse_udp_datagram(pkt);
      ASSERT_TRUE(d.ok());
      EXPECT_EQ(d.ends.src_addr, gw_addr);
      EXPECT_EQ(d.ends.dst_addr, lac_addr);
      EXPECT_EQ(d.ends.dst_port, 1701);
      const wire::L2tpParse h = wire::parse_l2tp(d.payload);
      ASSERT_TRUE(h.ok());
      if (!h.is_control) {
        EXPECT_EQ(h.tunnel_id, c.lac.tid);
        c.ppp.emplace_back(h.session_id,
                           Bytes(d.payload.begin() + h.payload_offset,
                                 d.payload.begin() + h.payload_offset + h.payload_len));
        continue;
      }
      l2tp::MessageParse mp = l2tp::parse_control_message(d.payload, {});
      ASSERT_TRUE(mp.ok()) << l2tp::message_error_name(mp.error);
      if (mp.msg.message_type() == MessageType::sccrp) {
        c.lac.lns_tid = *mp.msg.avps.assigned_tunnel_id;
      }
      if (!mp.msg.zlb() && mp.msg.header.ns != c.lac.nr) {
        c.duplicates.push_back(std::move(mp.msg));
        continue;
      }
      if (!mp.msg.zlb()) {
        ++c.lac.nr;
      }
      c.ctl.push_back(std::move(mp.msg));
    }
    g.wire.clear();
  }

  // Expects exactly one PPP frame of the client's session and returns it.
  Bytes one_frame(const Client& c) {
    const auto f = c.frames();
    EXPECT_EQ(f.size(), 1u);
    return f.empty() ? Bytes{} : f[0];
  }

  // SCCRQ → SCCRP → SCCCN, ICRQ → ICRP → ICCN; leaves the LNS's LCP
  // Configure-Request in c.ppp.
  void open_call(Gateway& g, Client& c, long ms) {
    if (c.lac.lns_tid == 0) {
      send_ctl(g, c, l2tp_test::sccrq_for(c.lac), ms);
      ASSERT_NE(c.find(MessageType::sccrp), nullptr);
      send_ctl(g, c, make(MessageType::scccn), ms + 1);
    }
    send_ctl(g, c, l2tp_test::icrq(c.peer_sid), ms + 2);
    const l2tp::ControlMessage* icrp = c.find(MessageType::icrp);
    ASSERT_NE(icrp, nullptr);
    c.sid = *icrp->avps.assigned_session_id;
    send_ctl(g, c, l2tp_test::iccn(), ms + 3, c.sid);
    const Bytes req = one_frame(c);
    // RFC 1661 §6.4 Magic-Number: type 5, length 6, the last option ours.
    ASSERT_GE(req.size(), 14u);
    const std::size_t m = req.size() - 6;
    ASSERT_EQ(req[m], 5);
    c.magic = std::uint32_t{req[m + 2]} << 24 | std::uint32_t{req[m + 3]} << 16 |
              std::uint32_t{req[m + 4]} << 8 | req[m + 5];
    // The client's request (MRU 1400, its magic, PFC, ACFC) is acknowledged
    // as sent; then the client acknowledges ours.
    send_ppp(g, c, ppp::test::win_lcp_request2, ms + 4);
    EXPECT_EQ(one_frame(c), ppp::test::expect_lcp_ack2);
    Bytes ack = req;
    ack[4] = 2;
    send_ppp(g, c, ack, ms + 5);
  }

  void ipcp_up(Gateway& g, Client& c, long ms) {
    send_ppp(g, c, ppp::test::win_ipcp_request, ms);
    EXPECT_EQ(one_frame(c), ppp::test::expect_ipcp_reject_nbns);
    send_ppp(g, c, ppp::test::win_ipcp_request2, ms + 1);
    const Bytes nak = one_frame(c);
    // The Nak names the address the client is given (RFC 1332 §3.3).
    ASSERT_EQ(nak.size(), ppp::test::expect_ipcp_nak2.size());
    EXPECT_EQ(nak[4], 3);
    Bytes req3 = ppp::test::win_ipcp_request3;
    std::copy(nak.begin() + 10, nak.begin() + 14, req3.begin() + 10);
    send_ppp(g, c, req3, ms + 2);
    Bytes ack3 = req3;
    ack3[4] = 2;
    EXPECT_EQ(one_frame(c), ack3);
    send_ppp(g, c, ppp::test::win_ipcp_ack_of_ours, ms + 3);
  }

  // A whole session with PAP (user alice), to Phase::running.
  void pap_up(Gateway& g, Client& c, long ms) {
    open_call(g, c, ms);
    EXPECT_TRUE(c.frames().empty());  // PAP: the client speaks first
    send_ppp(g, c, ppp::test::pap_request_alice, ms + 10);
    const auto f = c.frames();
    ASSERT_EQ(f.size(), 2u);
    EXPECT_EQ(Bytes(f[0].begin(), f[0].begin() + 6), Bytes({0xff, 0x03, 0xc0, 0x23, 0x02, 0x03}));
    EXPECT_EQ(f[1], ppp::test::expect_ipcp_request);
    ipcp_up(g, c, ms + 20);
  }

  // A whole session with MS-CHAPv2 (user User) and MPPE-128 stateless.
  void mschapv2_up(Gateway& g, Client& c, long ms) {
    open_call(g, c, ms);
    const Bytes challenge = one_frame(c);
    // RFC 1994 §4.1 Challenge: code 1, id, length, value-size 16, value, name.
    ASSERT_GE(challenge.size(), 25u);
    ASSERT_EQ(challenge[4], 1);
    std::array<std::uint8_t, 16> auth_challenge;
    std::copy(challenge.begin() + 9, challenge.begin() + 25, auth_challenge.begin());
    // The Windows client's Response (RFC 2759 §4) to this challenge: its
    // Peer-Challenge, and an NT-Response computed for it.
    Bytes resp = ppp::test::win_mschapv2_response;
    resp[5] = challenge[5];
    std::array<std::uint8_t, 16> peer_challenge;
    std::copy(resp.begin() + 9, resp.begin() + 25, peer_challenge.begin());
    const auto nt = ppp::generate_nt_response(auth_challenge, peer_challenge, "User",
                                              ppp::nt_password_hash("clientPass"));
    std::copy(nt.begin(), nt.end(), resp.begin() + 33);
    send_ppp(g, c, resp, ms + 10);
    const auto f = c.frames();
    ASSERT_EQ(f.size(), 3u);
    EXPECT_EQ(f[0][4], 3);  // Success
    EXPECT_EQ(f[1], ppp::test::expect_ipcp_request);
    EXPECT_EQ(f[2], ppp::test::expect_ccp_request_all_h);
    ipcp_up(g, c, ms + 20);
    send_ppp(g, c, ppp::test::win_ccp_request_stateless_128, ms + 30);
    EXPECT_EQ(one_frame(c), ppp::test::expect_ccp_ack_128_h);
    send_ppp(g, c, ppp::test::win_ccp_nak_ours_128_h, ms + 31);
    EXPECT_EQ(one_frame(c), ppp::test::expect_ccp_request2_128_h);
    send_ppp(g, c, ppp::test::win_ccp_ack_ours2, ms + 32);
  }

  // save(), through the state file's text and back.
  static std::vector<state::Record> saved(const Gateway& g, long ms) {
    std::vector<state::Record> records;
    g.svc.save(records, at(ms));
    return state::decode(state::encode(records), "test state");
  }

  // Polls every second up to `until`, as a LAC that is alive: every control
  // message is acknowledged, and LCP Echo-Requests answered when `echo`.
  // Returns everything the gateway sent meanwhile.
  Client run(Gateway& g, Client& c, long from, long until, bool echo) {
    Client all;
    for (long t = from; t <= until; t += 1000) {
      poll(g, c, t);
      all.ctl.insert(all.ctl.end(), c.ctl.begin(), c.ctl.end());
      all.duplicates.insert(all.duplicates.end(), c.duplicates.begin(), c.duplicates.end());
      all.ppp.insert(all.ppp.end(), c.ppp.begin(), c.ppp.end());
      const bool ack =
          std::any_of(c.ctl.begin(), c.ctl.end(), [](const auto& m) { return !m.zlb(); });
      const auto frames = c.frames();
      if (ack) {
        send_zlb(g, c, t);
      }
      for (const Bytes& f : frames) {
        if (echo && f.size() >= 12 && f[2] == 0xc0 && f[3] == 0x21 && f[4] == 9) {
          // RFC 1661 §5.8 Echo-Reply: same Identifier, the client's magic.
          Bytes reply = {0xff, 0x03, 0xc0, 0x21, 0x0a, f[5], 0x00, 0x08, 0x5a, 0x6b, 0x7c, 0x8d};
          send_ppp(g, c, reply, t);
        }
      }
    }
    all.peer_sid = c.peer_sid;
    return all;
  }

  std::string users_file = "/tmp/l2tpgw-lnsst-users-" + std::to_string(::getpid()) + ".conf";
  LnsSettings cfg;
};

l2tp::ControlMessage cdn_from_lac(const Client& c) {
  l2tp::ResultCode rc;
  rc.result = l2tp::cdn_result::lost_carrier;
  return l2tp::make_cdn(c.lac.lns_tid, c.sid, c.peer_sid, rc);
}

bool is_lcp(const Bytes& f, std::uint8_t code) {
  const wire::PppParse p = wire::parse_ppp(f);
  return p.ok() && p.protocol == wire::ppp_proto_lcp && f.size() > p.header_len &&
         f[p.header_len] == code;
}

std::uint32_t magic_of(const Bytes& f) {
  const std::size_t o = wire::parse_ppp(f).header_len + 4;
  return std::uint32_t{f[o]} << 24 | std::uint32_t{f[o + 1]} << 16 | std::uint32_t{f[o + 2]} << 8 |
         f[o + 3];
}

// A restored gateway: the original's tunnel, session and link, saved at
// 5 s, restored at 6 s into a fresh service whose data plane kept the
// original's sessions.
class RestoredTest : public LnsStateTest {
 protected:
  void SetUp() override {
    a = std::make_unique<Gateway>(cfg);
    pap_up(*a, client, 0);
    ASSERT_EQ(a->svc.links(at(100)).size(), 1u);
    ASSERT_EQ(a->svc.links(at(100))[0].phase, "running");
    records = saved(*a, 5000);
    b = std::make_unique<Gateway>(cfg);
    b->dp.sessions = a->dp.sessions;
    restored = b->svc.restore(records, b->dp.directory(), at(6000));
  }

  std::unique_ptr<Gateway> a;
  std::unique_ptr<Gateway> b;
  Client client;
  std::vector<state::Record> records;
  std::vector<channel::SessionParams> restored;
};

TEST_F(RestoredTest, SavesEstablishedTunnelAndRunningSession) {
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].kind(), "l2tp_tunnel");
  EXPECT_EQ(records[1].kind(), "l2tp_session");
  EXPECT_EQ(records[0].u16("id"), client.lac.lns_tid);
  EXPECT_EQ(records[1].u16("id"), client.sid);
  EXPECT_EQ(records[1].u32("magic"), client.magic);
  EXPECT_EQ(records[1].str("user"), "alice");
  // No secret and no key is written: the data plane keeps the MPPE keys.
  const std::string text = state::encode(records);
  EXPECT_EQ(text.find("wonderland"), std::string::npos);
  EXPECT_EQ(text.find("key"), std::string::npos);
}

TEST_F(RestoredTest, ViewsPoolAndDirectoryAsBefore) {
  ASSERT_EQ(restored.size(), 1u);
  EXPECT_EQ(restored[0].local_tunnel_id, client.lac.lns_tid);
  EXPECT_EQ(restored[0].local_session_id, client.sid);
  EXPECT_EQ(restored[0].inner_addr, first_address);
  EXPECT_TRUE(b->logged("restored 1 tunnels, 1 sessions"));
  const auto va = a->svc.links(at(9000));
  const auto vb = b->svc.links(at(9000));
  ASSERT_EQ(vb.size(), 1u);
  EXPECT_EQ(vb[0].tunnel_id, va[0].tunnel_id);
  EXPECT_EQ(vb[0].session_id, va[0].session_id);
  EXPECT_EQ(vb[0].peer_tunnel_id, va[0].peer_tunnel_id);
  EXPECT_EQ(vb[0].peer_session_id, va[0].peer_session_id);
  EXPECT_EQ(vb[0].peer, va[0].peer);
  EXPECT_EQ(vb[0].phase, "running");
  EXPECT_EQ(vb[0].user, "alice");
  EXPECT_EQ(vb[0].address, first_address);
  EXPECT_EQ(vb[0].auth, va[0].auth);
  EXPECT_EQ(vb[0].mppe, va[0].mppe);
  EXPECT_EQ(vb[0].age, va[0].age);
  EXPECT_TRUE(vb[0].in_dataplane);
  const l2tp::Tunnel* t = b->svc.lns().find_tunnel(client.lac.lns_tid);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->state(), l2tp::TunnelState::established);
  EXPECT_EQ(t->peer_id(), client.lac.tid);
  EXPECT_EQ(t->sessions().size(), 1u);
  EXPECT_EQ(b->svc.lns().session_count(), 1u);
  // The restored address is taken: a new session on the restored tunnel
  // gets the next one.
  EXPECT_TRUE(b->svc.pool().in_use(first_address));
  EXPECT_EQ(b->svc.pool().free_count(), b->svc.pool().size() - 1);
  Client second = client;
  second.peer_sid = 0x0078;
  pap_up(*b, second, 7000);
  const auto& dp2 = b->dp.sessions.at({second.lac.lns_tid, second.sid});
  EXPECT_EQ(dp2.inner_addr, first_address + 1);
  EXPECT_EQ(b->svc.links(at(8000)).size(), 2u);
}

TEST_F(RestoredTest, PeersHelloAckedAndOursSentWhenDue) {
  send_ctl(*b, client, make(MessageType::hello), 7000);
  const std::uint16_t hello_ns = static_cast<std::uint16_t>(client.lac.ns - 1);
  EXPECT_TRUE(client.ctl.empty());
  poll(*b, client, 7300);  // the ZLB after the ack delay
  ASSERT_EQ(client.ctl.size(), 1u);
  EXPECT_TRUE(client.ctl[0].zlb());
  EXPECT_EQ(client.ctl[0].header.nr, hello_ns + 1);
  EXPECT_EQ(client.ctl[0].header.ns, client.lac.nr);
  EXPECT_EQ(client.ctl[0].header.tunnel_id, client.lac.tid);
  // Our HELLO after 60 s without a message from the peer, not before.
  Client quiet = run(*b, client, 8000, 66000, true);
  EXPECT_EQ(quiet.find(MessageType::hello), nullptr);
  Client due = run(*b, client, 67000, 68000, true);
  const l2tp::ControlMessage* hello = due.find(MessageType::hello);
  ASSERT_NE(hello, nullptr);
  EXPECT_EQ(hello->header.tunnel_id, client.lac.tid);
  // The LAC took it in order (absorb counts it) and acknowledged it: the
  // tunnel lives on.
  run(*b, client, 69000, 100000, true);
  EXPECT_EQ(b->svc.lns().tunnel_count(), 1u);
  EXPECT_EQ(b->svc.links(at(100000)).size(), 1u);
}

TEST_F(RestoredTest, EchoAnsweredWithSavedMagic) {
  send_ppp(*b, client, ppp::test::echo_request_from_client, 7000);
  Bytes expect = ppp::test::expect_echo_reply;
  for (int i = 0; i < 4; ++i) {
    expect[8 + i] = static_cast<std::uint8_t>(client.magic >> (24 - 8 * i));
  }
  EXPECT_EQ(one_frame(client), expect);
}

TEST_F(RestoredTest, EchoRequestsSentAndSilentClientEnded) {
  Client answered = run(*b, client, 7000, 50000, true);
  std::size_t requests = 0;
  for (const Bytes& f : answered.frames()) {
    if (is_lcp(f, 9)) {
      ++requests;
      EXPECT_EQ(magic_of(f), client.magic);
    }
  }
  EXPECT_GE(requests, 2u);
  EXPECT_EQ(b->svc.links(at(50000)).size(), 1u);
  // The client stops answering: after 3 unanswered requests the session
  // ends on both planes, with a CDN, and its address returns to the pool.
  Client silent = run(*b, client, 51000, 130000, false);
  EXPECT_TRUE(b->svc.links(at(130000)).empty());
  ASSERT_EQ(b->dp.deleted.size(), 1u);
  EXPECT_EQ(b->dp.deleted[0], std::make_pair(client.lac.lns_tid, client.sid));
  const l2tp::ControlMessage* cdn = silent.find(MessageType::cdn);
  ASSERT_NE(cdn, nullptr);
  EXPECT_EQ(cdn->header.session_id, client.peer_sid);
  EXPECT_FALSE(b->svc.pool().in_use(first_address));
  EXPECT_TRUE(b->logged("LCP echo timeout"));
}

TEST_F(RestoredTest, PeersCdnEndsTheSession) {
  send_ctl(*b, client, cdn_from_lac(client), 7000, client.sid);
  EXPECT_TRUE(b->svc.links(at(7000)).empty());
  ASSERT_EQ(b->dp.deleted.size(), 1u);
  EXPECT_EQ(b->dp.deleted[0], std::make_pair(client.lac.lns_tid, client.sid));
  EXPECT_FALSE(b->svc.pool().in_use(first_address));
  poll(*b, client, 7300);
  ASSERT_EQ(client.ctl.size(), 1u);
  EXPECT_TRUE(client.ctl[0].zlb());
  EXPECT_EQ(client.ctl[0].header.nr, client.lac.ns);
}

TEST_F(RestoredTest, PeersStopCcnEndsTunnelAndSession) {
  l2tp::ControlMessage stop = make(MessageType::stopccn);
  stop.avps.assigned_tunnel_id = client.lac.tid;
  l2tp::ResultCode rc;
  rc.result = l2tp::stopccn_result::general_request;
  stop.avps.result_code = rc;
  send_ctl(*b, client, stop, 7000);
  EXPECT_TRUE(b->svc.links(at(7000)).empty());
  EXPECT_EQ(b->dp.deleted.size(), 1u);
  EXPECT_FALSE(b->svc.pool().in_use(first_address));
}

TEST_F(RestoredTest, DisconnectUser) {
  EXPECT_EQ(b->svc.disconnect_user("alice", at(7000)), 1u);
  absorb(*b, client);
  EXPECT_EQ(b->dp.deleted.size(), 1u);
  const auto f = client.frames();
  ASSERT_EQ(f.size(), 1u);
  EXPECT_TRUE(is_lcp(f[0], 5));  // Terminate-Request
  const l2tp::ControlMessage* cdn = client.find(MessageType::cdn);
  ASSERT_NE(cdn, nullptr);
  EXPECT_EQ(cdn->avps.result_code->result, l2tp::cdn_result::administrative);
  EXPECT_FALSE(b->svc.pool().in_use(first_address));
  EXPECT_EQ(b->svc.disconnect_session(client.lac.lns_tid, client.sid, at(7100)), 0u);
}

TEST_F(LnsStateTest, SessionMissingFromTheDataPlaneIsNotRestored) {
  Gateway a(cfg);
  Client c;
  pap_up(a, c, 0);
  const auto records = saved(a, 5000);
  Gateway b(cfg);
  const auto kept = b.svc.restore(records, {}, at(6000));
  EXPECT_TRUE(kept.empty());
  EXPECT_TRUE(b.logged("not restored: no longer in the data plane"));
  // Saved with its session, and left without one: the tunnel goes too.
  EXPECT_EQ(b.svc.lns().tunnel_count(), 0u);
  EXPECT_TRUE(b.svc.links(at(6000)).empty());
  EXPECT_EQ(b.svc.pool().free_count(), b.svc.pool().size());
  EXPECT_TRUE(b.logged("restored 0 tunnels, 0 sessions"));
  // Other ids in the directory do not stand in for it.
  channel::SessionParams other = a.dp.sessions.begin()->second;
  other.peer_session_id ^= 1;
  Gateway c2(cfg);
  EXPECT_TRUE(c2.svc.restore(records, std::span(&other, 1), at(6000)).empty());
}

TEST_F(LnsStateTest, TunnelWithoutSessionsIsRestored) {
  Gateway a(cfg);
  Client c;
  send_ctl(a, c, l2tp_test::sccrq_for(c.lac), 0);
  send_ctl(a, c, make(MessageType::scccn), 1);
  const auto records = saved(a, 5000);
  ASSERT_EQ(records.size(), 1u);
  Gateway b(cfg);
  EXPECT_TRUE(b.svc.restore(records, {}, at(6000)).empty());
  EXPECT_EQ(b.svc.lns().tunnel_count(), 1u);
  // A new call on it comes up as on any tunnel.
  c.peer_sid = 0x0099;
  pap_up(b, c, 7000);
  EXPECT_EQ(b.svc.links(at(8000)).size(), 1u);
  EXPECT_EQ(b.dp.sessions.at({c.lac.lns_tid, c.sid}).inner_addr, first_address);
}

TEST_F(LnsStateTest, NegotiatingSessionsAndTunnelsAreNotSaved) {
  Gateway a(cfg);
  Client c;
  send_ctl(a, c, l2tp_test::sccrq_for(c.lac), 0);
  std::vector<state::Record> r;
  a.svc.save(r, at(10));
  EXPECT_TRUE(r.empty());  // SCCRP sent, no SCCCN yet
  Client d;
  d.lac.tid = 0x4321;
  open_call(a, d, 100);  // LCP open, PAP not done
  a.svc.save(r, at(200));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].kind(), "l2tp_tunnel");
  EXPECT_EQ(r[0].u16("sessions"), 0);
}

TEST_F(LnsStateTest, MalformedRecordThrowsAndChangesNothing) {
  Gateway a(cfg);
  Client c;
  pap_up(a, c, 0);
  std::string text;
  {
    std::vector<state::Record> r;
    a.svc.save(r, at(5000));
    text = state::encode(r);
  }
  const auto cut = text.find(" address=");
  ASSERT_NE(cut, std::string::npos);
  text.replace(cut, 9, " adress=");
  const auto records = state::decode(text, "test state");
  Gateway b(cfg);
  const std::uint64_t v = b.svc.state_version();
  try {
    b.svc.restore(records, a.dp.directory(), at(6000));
    ADD_FAILURE() << "no StateError";
  } catch (const state::StateError& e) {
    EXPECT_NE(std::string(e.what()).find("l2tp_session: field address missing"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(b.svc.lns().tunnel_count(), 0u);
  EXPECT_TRUE(b.svc.links(at(6000)).empty());
  EXPECT_EQ(b.svc.pool().free_count(), b.svc.pool().size());
  EXPECT_EQ(b.svc.state_version(), v);
  EXPECT_FALSE(b.logged("restored"));
  // Values out of their range are malformed too.
  auto bad = state::decode(state::encode(saved(a, 5000)), "test state");
  state::Record s(bad[1].kind(), 2);
  for (const auto& [k, val] : bad[1].fields()) {
    s.put_encoded(k, k == "mppe_bits" || k == "auth" ? "9" : val);
  }
  bad[1] = s;
  EXPECT_THROW(b.svc.restore(bad, a.dp.directory(), at(6000)), state::StateError);
  EXPECT_EQ(b.svc.lns().tunnel_count(), 0u);
}

TEST_F(LnsStateTest, StateVersionFollowsEstablishAndClose) {
  Gateway a(cfg);
  Client c;
  const std::uint64_t v0 = a.svc.state_version();
  send_ctl(a, c, l2tp_test::sccrq_for(c.lac), 0);
  EXPECT_EQ(a.svc.state_version(), v0);
  send_ctl(a, c, make(MessageType::scccn), 1);
  const std::uint64_t v1 = a.svc.state_version();
  EXPECT_GT(v1, v0);
  pap_up(a, c, 10);
  const std::uint64_t v2 = a.svc.state_version();
  EXPECT_GT(v2, v1);
  // Control messages alone change nothing that is saved in substance.
  send_ctl(a, c, make(MessageType::hello), 100);
  poll(a, c, 400);
  send_ppp(a, c, ppp::test::echo_request_from_client, 500);
  EXPECT_EQ(a.svc.state_version(), v2);
  send_ctl(a, c, cdn_from_lac(c), 600, c.sid);
  const std::uint64_t v3 = a.svc.state_version();
  EXPECT_GT(v3, v2);
  // And the restored service moves on from the saved state too.
  Gateway b(cfg);
  const std::uint64_t w0 = b.svc.state_version();
  b.svc.restore(saved(a, 700), {}, at(800));
  EXPECT_GT(b.svc.state_version(), w0);
}

// The state is saved about once a second: after a crash the saved Ns/Nr
// are behind what the peer saw. The peer's HELLO resynchronises them.
TEST_F(LnsStateTest, StaleSequenceNumbersResyncOnPeersHello) {
  Gateway a(cfg);
  Client c;
  pap_up(a, c, 0);
  const auto records = saved(a, 1000);
  // More control messages after the save: a HELLO each way.
  send_ctl(a, c, make(MessageType::hello), 2000);
  poll(a, c, 2300);
  Client ours = run(a, c, 3000, 64000, true);
  ASSERT_NE(ours.find(MessageType::hello), nullptr);
  Gateway b(cfg);
  b.dp.sessions = a.dp.sessions;
  ASSERT_EQ(b.svc.restore(records, b.dp.directory(), at(65000)).size(), 1u);
  send_ctl(b, c, make(MessageType::hello), 66000);
  poll(b, c, 66300);
  ASSERT_EQ(c.ctl.size(), 1u);
  EXPECT_TRUE(c.ctl[0].zlb());
  EXPECT_EQ(c.ctl[0].header.nr, c.lac.ns);  // the HELLO was taken, not queued
  EXPECT_EQ(c.ctl[0].header.ns, c.lac.nr);  // and our Ns is the one the LAC expects
  // Our next HELLO is taken in order by the LAC, and the session ends by
  // CDN as on any tunnel.
  Client later = run(b, c, 67000, 130000, true);
  ASSERT_NE(later.find(MessageType::hello), nullptr);
  EXPECT_TRUE(later.duplicates.empty());
  send_ctl(b, c, cdn_from_lac(c), 131000, c.sid);
  EXPECT_EQ(b.dp.deleted.size(), 1u);
  EXPECT_TRUE(b.svc.links(at(131000)).empty());
}

// The same, when our HELLO goes first: the LAC takes its stale Ns for a
// duplicate and acknowledges with the Nr it expects; the HELLO goes again
// under that Ns.
TEST_F(LnsStateTest, StaleSequenceNumbersResyncOnAckOfOurHello) {
  Gateway a(cfg);
  Client c;
  pap_up(a, c, 0);
  const auto records = saved(a, 1000);
  // After the save: the LAC's HELLO, and two of ours.
  send_ctl(a, c, make(MessageType::hello), 2000);
  poll(a, c, 2300);
  Client ours = run(a, c, 3000, 125000, true);
  std::size_t hellos = 0;
  for (const auto& m : ours.ctl) {
    hellos += m.message_type() == MessageType::hello ? 1 : 0;
  }
  ASSERT_EQ(hellos, 2u);
  Gateway b(cfg);
  b.dp.sessions = a.dp.sessions;
  ASSERT_EQ(b.svc.restore(records, b.dp.directory(), at(126000)).size(), 1u);
  // The saved last message from the peer is old: the HELLO is due at once.
  poll(b, c, 127000);
  ASSERT_EQ(c.duplicates.size(), 1u);
  EXPECT_EQ(c.duplicates[0].message_type(), MessageType::hello);
  send_zlb(b, c, 127100);  // the LAC's ack names the Ns it expects
  ASSERT_EQ(c.ctl.size(), 1u);
  EXPECT_EQ(c.ctl[0].message_type(), MessageType::hello);
  EXPECT_TRUE(c.duplicates.empty());
  send_zlb(b, c, 127200);
  // The LAC's own next message is ahead of the saved Nr, and taken.
  send_ctl(b, c, make(MessageType::hello), 128000);
  poll(b, c, 128300);
  ASSERT_EQ(c.ctl.size(), 1u);
  EXPECT_EQ(c.ctl[0].header.nr, c.lac.ns);
  send_ctl(b, c, cdn_from_lac(c), 129000, c.sid);
  EXPECT_EQ(b.dp.deleted.size(), 1u);
  EXPECT_TRUE(b.svc.links(at(129000)).empty());
}

// A tunnel that was never restored keeps the RFC's rules: the same HELLO,
// ahead of what it expects, waits for the gap instead of resynchronising.
TEST_F(LnsStateTest, NormalTunnelDoesNotResync) {
  Gateway a(cfg);
  Client c;
  pap_up(a, c, 0);
  poll(a, c, 500);  // the ZLB for the ICCN
  c.lac.ns = static_cast<std::uint16_t>(c.lac.ns + 2);
  send_ctl(a, c, make(MessageType::hello), 1000);
  poll(a, c, 1300);
  EXPECT_TRUE(c.ctl.empty());  // queued behind the gap: nothing to acknowledge
  EXPECT_EQ(a.svc.lns().counters().get(l2tp::LnsCounter::out_of_order_queued), 1u);
}

TEST_F(LnsStateTest, MschapV2WithMppeRestored) {
  cfg.ppp.auth = {ppp::AuthProto::mschapv2};
  Gateway a(cfg);
  Client c;
  mschapv2_up(a, c, 0);
  const auto& dp_a = a.dp.sessions.at({c.lac.lns_tid, c.sid});
  EXPECT_EQ(dp_a.mppe_bits, 128);
  Gateway b(cfg);
  b.dp.sessions = a.dp.sessions;
  const auto kept = b.svc.restore(saved(a, 5000), b.dp.directory(), at(6000));
  ASSERT_EQ(kept.size(), 1u);
  const auto v = b.svc.links(at(6000));
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].user, "User");
  EXPECT_EQ(v[0].auth, "MS-CHAPv2");
  EXPECT_EQ(v[0].mppe, "128 stateless");
  EXPECT_EQ(v[0].mppe, a.svc.links(at(6000))[0].mppe);
  // The data plane lost sync: our CCP Reset-Request (RFC 1962 §2.2).
  b.svc.on_mppe_reset_request(c.lac.lns_tid, c.sid, at(7000));
  absorb(b, c);
  const Bytes rr = one_frame(c);
  ASSERT_EQ(rr.size(), 8u);
  EXPECT_EQ(Bytes(rr.begin(), rr.begin() + 5), Bytes({0xff, 0x03, 0x80, 0xfd, 0x0e}));
  // The client's Reset-Request: Reset-Ack, and our transmit side resets.
  send_ppp(b, c, ppp::test::win_ccp_reset_request, 7100);
  EXPECT_EQ(one_frame(c), ppp::test::expect_ccp_reset_ack);
  EXPECT_EQ(b.dp.mppe_resets, 1);
}

TEST_F(LnsStateTest, IpsecTunnelNeedsItsPair) {
  Gateway a(cfg);
  Client c;
  c.lac.from.spi = in_spi;
  pap_up(a, c, 0);
  ASSERT_EQ(a.svc.links(at(100)).size(), 1u);
  const auto records = saved(a, 5000);
  Gateway gone(cfg);
  gone.pair_up = false;
  gone.dp.sessions = a.dp.sessions;
  EXPECT_TRUE(gone.svc.restore(records, gone.dp.directory(), at(6000)).empty());
  EXPECT_TRUE(gone.logged("IPsec SA 0x00001000 is gone"));
  EXPECT_EQ(gone.svc.lns().tunnel_count(), 0u);
  Gateway b(cfg);
  b.dp.sessions = a.dp.sessions;
  ASSERT_EQ(b.svc.restore(records, b.dp.directory(), at(6000)).size(), 1u);
  // Replies leave through the pair.
  send_ppp(b, c, ppp::test::echo_request_from_client, 7000);
  ASSERT_EQ(b.vias.size(), 1u);
  ASSERT_TRUE(b.vias[0].has_value());
  EXPECT_EQ(b.vias[0]->spi, out_spi);
  // A rekey moves it, in the data plane too; the pair's removal ends it.
  b.svc.on_pair_moved(lac_addr, in_spi, in_spi + 1, out_spi + 1);
  EXPECT_EQ(b.dp.sessions.at({c.lac.lns_tid, c.sid}).sa_in_spi, in_spi + 1);
  EXPECT_EQ(b.svc.links(at(7000))[0].peer.spi, in_spi + 1);
  b.svc.on_pair_gone(lac_addr, in_spi + 1, "dead peer", at(8000));
  EXPECT_TRUE(b.svc.links(at(8000)).empty());
  EXPECT_EQ(b.dp.deleted.size(), 1u);
  EXPECT_FALSE(b.svc.pool().in_use(first_address));
}

}  // namespace
}  // namespace l2tpgw::cp
