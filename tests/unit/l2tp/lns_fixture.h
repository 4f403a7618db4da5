// A simulated LAC talking to an Lns over a simulated clock: builds its
// messages with the right Ns/Nr and reads back what the LNS sent.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "controlplane/l2tp/lns.h"
#include "tests/unit/l2tp/test_util.h"

namespace l2tp_test {

using namespace l2tpgw::l2tp;

inline constexpr std::uint32_t lac_addr = 0x0a010203;  // 10.1.2.3

struct Lac {
  Endpoint from{lac_addr, 1701, 0x1000};
  std::uint16_t tid = 0x1234;  // the LAC's tunnel id
  std::uint16_t lns_tid = 0;   // ours, from the SCCRP
  std::uint16_t ns = 0;
  std::uint16_t nr = 0;
};

inline ControlMessage make(MessageType t) {
  ControlMessage m;
  m.type = static_cast<std::uint16_t>(t);
  return m;
}

inline ControlMessage sccrq_for(const Lac& lac) {
  ControlMessage m = make(MessageType::sccrq);
  m.avps.protocol_version = ProtocolVersion{1, 0};
  m.avps.host_name = "lac";
  m.avps.framing_capabilities = 3;
  m.avps.assigned_tunnel_id = lac.tid;
  return m;
}

inline ControlMessage icrq(std::uint16_t peer_sid) {
  ControlMessage m = make(MessageType::icrq);
  m.avps.assigned_session_id = peer_sid;
  m.avps.call_serial_number = peer_sid;
  return m;
}

inline ControlMessage iccn() {
  ControlMessage m = make(MessageType::iccn);
  m.avps.tx_connect_speed = 10000000;
  m.avps.framing_type = 1;
  return m;
}

class LnsTest : public ::testing::Test {
 protected:
  void start() { lns = std::make_unique<Lns>(cfg, counting_random()); }

  // Sends m from lac with the LAC's Ns/Nr (a new Ns unless zlb).
  void send(Lac& lac, ControlMessage m, std::int64_t ms, std::uint16_t session = 0) {
    m.header.tunnel_id = m.message_type() == MessageType::sccrq ? 0 : lac.lns_tid;
    m.header.session_id = session;
    m.header.ns = lac.ns;
    m.header.nr = lac.nr;
    if (!m.zlb()) {
      ++lac.ns;
    }
    send_raw(lac, build_control_message(m), ms);
  }

  void send_raw(Lac& lac, const std::vector<std::uint8_t>& bytes, std::int64_t ms) {
    out = LnsOutput{};
    lns->on_packet(bytes, lac.from, at_ms(ms), out);
    absorb(lac);
  }

  void poll(Lac& lac, std::int64_t ms) {
    out = LnsOutput{};
    lns->poll(at_ms(ms), out);
    absorb(lac);
  }

  // Parses what the LNS sent; the LAC acknowledges in-order messages.
  void absorb(Lac& lac) {
    sent.clear();
    for (const OutPacket& p : out.packets) {
      MessageParse mp = parse_control_message(p.payload, cfg.secret);
      EXPECT_TRUE(mp.ok()) << message_error_name(mp.error);
      EXPECT_EQ(p.to, lac.from);
      if (!mp.msg.zlb() && mp.msg.header.ns == lac.nr) {
        ++lac.nr;
      }
      if (mp.msg.message_type() == MessageType::sccrp) {
        lac.lns_tid = *mp.msg.avps.assigned_tunnel_id;
      }
      sent.push_back(std::move(mp.msg));
    }
  }

  // SCCRQ → SCCRP → SCCCN, with the LNS's ZLB for the SCCCN.
  void establish(Lac& lac, std::int64_t ms = 0) {
    send(lac, sccrq_for(lac), ms);
    ASSERT_EQ(sent.size(), 1u);
    ASSERT_EQ(sent[0].message_type(), MessageType::sccrp);
    send(lac, make(MessageType::scccn), ms + 10);
  }

  // ICRQ → ICRP → ICCN; returns our session id.
  std::uint16_t open_session(Lac& lac, std::uint16_t peer_sid, std::int64_t ms) {
    send(lac, icrq(peer_sid), ms);
    EXPECT_EQ(sent.size(), 1u);
    if (sent.size() != 1 || sent[0].message_type() != MessageType::icrp) {
      return 0;
    }
    const std::uint16_t sid = *sent[0].avps.assigned_session_id;
    send(lac, iccn(), ms + 10, sid);
    return sid;
  }

  bool logged(const std::string& needle) const {
    for (const LogRecord& r : out.logs) {
      if (r.text.find(needle) != std::string::npos) {
        return true;
      }
    }
    return false;
  }

  template <typename E>
  std::vector<E> events() const {
    std::vector<E> r;
    for (const Event& e : out.events) {
      if (const E* x = std::get_if<E>(&e)) {
        r.push_back(*x);
      }
    }
    return r;
  }

  LnsConfig cfg;
  std::unique_ptr<Lns> lns;
  LnsOutput out;
  std::vector<ControlMessage> sent;
};

}  // namespace l2tp_test
