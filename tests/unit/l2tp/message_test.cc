// Control messages against vectors from gen_vectors.py: each message type
// built from typed values must match byte for byte, and parse back to the
// same values; then the §6 mandatory-AVP checks and header errors.
#include "controlplane/l2tp/message.h"

#include <gtest/gtest.h>

#include <array>
#include <numeric>

#include "tests/unit/l2tp/test_util.h"
#include "tests/unit/l2tp/vectors.h"

namespace l2tpgw::l2tp {
namespace {

using l2tp_test::bytes;
using l2tp_test::unhex;

template <std::size_t N>
std::array<std::uint8_t, N> seq_array(std::uint8_t first) {
  std::array<std::uint8_t, N> a{};
  std::iota(a.begin(), a.end(), first);
  return a;
}

Bytes seq_bytes(std::uint8_t first, std::size_t n) {
  Bytes b(n);
  std::iota(b.begin(), b.end(), first);
  return b;
}

ControlMessage msg(MessageType t, std::uint16_t tid, std::uint16_t sid, std::uint16_t ns,
                   std::uint16_t nr) {
  ControlMessage m;
  m.header = ControlHeader{tid, sid, ns, nr};
  m.type = static_cast<std::uint16_t>(t);
  return m;
}

void set_challenge_response(ControlMessage& m, const char* response_hex) {
  const auto r = unhex(response_hex);
  m.avps.challenge_response.emplace();
  std::copy(r.begin(), r.end(), m.avps.challenge_response->begin());
}

// The same values as gen_vectors.py.
ControlMessage sccrq() {
  ControlMessage m = msg(MessageType::sccrq, 0, 0, 0, 0);
  m.avps.protocol_version = ProtocolVersion{1, 0};
  m.avps.framing_capabilities = 3;
  m.avps.tie_breaker = seq_array<8>(1);
  m.avps.firmware_revision = 0x0680;
  m.avps.host_name = "lac.example";
  m.avps.vendor_name = "xl2tpd";
  m.avps.assigned_tunnel_id = 0x1234;
  m.avps.receive_window_size = 8;
  m.avps.challenge = seq_bytes(0x10, 16);
  return m;
}

ControlMessage sccrp() {
  ControlMessage m = msg(MessageType::sccrp, 0x1234, 0, 0, 1);
  m.avps.protocol_version = ProtocolVersion{1, 0};
  m.avps.framing_capabilities = 3;
  m.avps.firmware_revision = 1;
  m.avps.host_name = "l2tpgw";
  m.avps.vendor_name = "l2tpgw";
  m.avps.assigned_tunnel_id = 0x0042;
  m.avps.receive_window_size = 16;
  m.avps.challenge = seq_bytes(0x30, 16);
  set_challenge_response(m, l2tp_vectors::sccrp_response);
  return m;
}

ControlMessage scccn() {
  ControlMessage m = msg(MessageType::scccn, 0x0042, 0, 1, 1);
  set_challenge_response(m, l2tp_vectors::scccn_response);
  return m;
}

ControlMessage stopccn() {
  ControlMessage m = msg(MessageType::stopccn, 0x1234, 0, 1, 2);
  m.avps.result_code = ResultCode{2, 8, "unknown mandatory AVP"};
  m.avps.assigned_tunnel_id = 0x0042;
  return m;
}

ControlMessage icrq() {
  ControlMessage m = msg(MessageType::icrq, 0x0042, 0, 2, 1);
  m.avps.assigned_session_id = 0x0101;
  m.avps.call_serial_number = 7;
  m.avps.bearer_type = 2;
  m.avps.called_number = "5551000";
  m.avps.calling_number = "5552000";
  m.avps.sub_address = "7";
  m.avps.physical_channel_id = 9;
  return m;
}

ControlMessage icrp() {
  ControlMessage m = msg(MessageType::icrp, 0x1234, 0x0101, 1, 3);
  m.avps.assigned_session_id = 0x0202;
  return m;
}

ControlMessage iccn() {
  ControlMessage m = msg(MessageType::iccn, 0x0042, 0x0202, 3, 2);
  m.avps.framing_type = 1;
  m.avps.tx_connect_speed = 10000000;
  m.avps.initial_received_lcp_confreq = unhex("010405dc0506aabbccdd");
  m.avps.last_sent_lcp_confreq = unhex("0104057805061122334403052281");
  m.avps.last_received_lcp_confreq = unhex("010405dc0506aabbccdd");
  m.avps.proxy_authen_type = 2;
  m.avps.proxy_authen_name = "alice";
  m.avps.proxy_authen_challenge = seq_bytes(0x50, 16);
  m.avps.proxy_authen_id = 7;
  m.avps.proxy_authen_response = seq_bytes(0x60, 16);
  m.avps.private_group_id = bytes("grp");
  m.avps.rx_connect_speed = 5000000;
  m.avps.sequencing_required = true;
  return m;
}

ControlMessage cdn() {
  ControlMessage m = msg(MessageType::cdn, 0x0042, 0x0202, 4, 2);
  m.avps.result_code = ResultCode{3, 0, "admin"};
  m.avps.q931_cause = Q931Cause{16, 0x5a, "normal"};
  m.avps.assigned_session_id = 0x0202;
  return m;
}

ControlMessage wen() {
  ControlMessage m = msg(MessageType::wen, 0x0042, 0x0202, 5, 2);
  m.avps.call_errors = CallErrors{1, 2, 3, 4, 5, 6};
  return m;
}

ControlMessage sli() {
  ControlMessage m = msg(MessageType::sli, 0x0042, 0x0202, 6, 2);
  m.avps.accm = Accm{0xffffffff, 0x000a0000};
  return m;
}

ControlMessage zlb() {
  ControlMessage m;
  m.header = ControlHeader{0x0042, 0, 3, 5};
  return m;
}

struct Case {
  const char* name;
  ControlMessage (*make)();
  const char* vector;
};

ControlMessage hello() {
  return msg(MessageType::hello, 0x1234, 0, 2, 2);
}

const Case cases[] = {
    {"SCCRQ", sccrq, l2tp_vectors::sccrq}, {"SCCRP", sccrp, l2tp_vectors::sccrp},
    {"SCCCN", scccn, l2tp_vectors::scccn}, {"StopCCN", stopccn, l2tp_vectors::stopccn},
    {"HELLO", hello, l2tp_vectors::hello}, {"ICRQ", icrq, l2tp_vectors::icrq},
    {"ICRP", icrp, l2tp_vectors::icrp},    {"ICCN", iccn, l2tp_vectors::iccn},
    {"CDN", cdn, l2tp_vectors::cdn},       {"WEN", wen, l2tp_vectors::wen},
    {"SLI", sli, l2tp_vectors::sli},       {"ZLB", zlb, l2tp_vectors::zlb},
};

TEST(L2tpMessage, EveryTypeBuildsTheIndependentVector) {
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(build_control_message(c.make()), unhex(c.vector));
  }
}

TEST(L2tpMessage, EveryTypeParsesToItsValues) {
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const auto wire = unhex(c.vector);
    const MessageParse p = parse_control_message(wire, {});
    ASSERT_TRUE(p.ok()) << message_error_name(p.error) << " " << avp_error_name(p.avp_error);
    const ControlMessage want = c.make();
    EXPECT_EQ(p.msg.header, want.header);
    EXPECT_EQ(p.msg.type, want.type);
    EXPECT_EQ(p.msg.avps, want.avps);
    EXPECT_STREQ(message_type_name(p.msg.type), c.name);
  }
}

TEST(L2tpMessage, HiddenAvpsBuildAndParseTheIndependentVector) {
  const auto secret = bytes(l2tp_vectors::secret);
  const auto rv = unhex(l2tp_vectors::random_vector);
  const auto pad = unhex(l2tp_vectors::padding);
  ControlMessage m = msg(MessageType::iccn, 0x0042, 0x0202, 4, 2);
  m.avps.framing_type = 1;
  m.avps.tx_connect_speed = 10000000;
  m.avps.proxy_authen_name = "alice";
  m.avps.proxy_authen_response = seq_bytes(0x80, 40);
  m.hidden.set(static_cast<std::size_t>(AvpType::proxy_authen_name));
  m.hidden.set(static_cast<std::size_t>(AvpType::proxy_authen_response));
  EXPECT_EQ(build_control_message(m, HideMaterial{secret, rv, pad}),
            unhex(l2tp_vectors::hidden_iccn));

  const auto wire = unhex(l2tp_vectors::hidden_iccn);
  const MessageParse p = parse_control_message(wire, secret);
  ASSERT_TRUE(p.ok()) << message_error_name(p.error) << " " << avp_error_name(p.avp_error);
  EXPECT_EQ(p.msg.avps, m.avps);
  EXPECT_EQ(p.msg.hidden, m.hidden);

  // A hidden mandatory AVP, shorter than one MD5 block.
  ControlMessage r = icrp();
  r.hidden.set(static_cast<std::size_t>(AvpType::assigned_session_id));
  EXPECT_EQ(build_control_message(r, HideMaterial{secret, rv, pad}),
            unhex(l2tp_vectors::hidden_icrp));
  const auto wire2 = unhex(l2tp_vectors::hidden_icrp);
  const MessageParse p2 = parse_control_message(wire2, secret);
  ASSERT_TRUE(p2.ok());
  EXPECT_EQ(*p2.msg.avps.assigned_session_id, 0x0202);

  // Without the secret: the named error, header still known.
  const MessageParse p3 = parse_control_message(wire2, {});
  EXPECT_EQ(p3.error, MessageError::avp);
  EXPECT_EQ(p3.avp_error, AvpError::hidden_without_secret);
  EXPECT_TRUE(p3.header_ok);
  // With the wrong secret, the value decodes to noise: a lying length or a
  // value of the wrong size, never a silently wrong session id of 2 bytes
  // that happens to match.
  const MessageParse p4 = parse_control_message(wire2, bytes("wrong"));
  EXPECT_FALSE(p4.ok() && p4.msg.avps.assigned_session_id == 0x0202);
  // Hiding asked without material: nothing is built.
  EXPECT_TRUE(build_control_message(r).empty());
}

TEST(L2tpMessage, MissingMandatoryAvpIsNamed) {
  struct Drop {
    ControlMessage (*make)();
    void (*drop)(AvpSet&);
    AvpType missing;
  };
  const Drop drops[] = {
      {sccrq, [](AvpSet& s) { s.host_name.reset(); }, AvpType::host_name},
      {sccrq, [](AvpSet& s) { s.assigned_tunnel_id.reset(); }, AvpType::assigned_tunnel_id},
      {sccrq, [](AvpSet& s) { s.protocol_version.reset(); }, AvpType::protocol_version},
      {sccrq, [](AvpSet& s) { s.framing_capabilities.reset(); }, AvpType::framing_capabilities},
      {stopccn, [](AvpSet& s) { s.result_code.reset(); }, AvpType::result_code},
      {icrq, [](AvpSet& s) { s.call_serial_number.reset(); }, AvpType::call_serial_number},
      {iccn, [](AvpSet& s) { s.tx_connect_speed.reset(); }, AvpType::tx_connect_speed},
      {iccn, [](AvpSet& s) { s.framing_type.reset(); }, AvpType::framing_type},
      {cdn, [](AvpSet& s) { s.assigned_session_id.reset(); }, AvpType::assigned_session_id},
      {wen, [](AvpSet& s) { s.call_errors.reset(); }, AvpType::call_errors},
      {sli, [](AvpSet& s) { s.accm.reset(); }, AvpType::accm},
  };
  for (const Drop& d : drops) {
    ControlMessage m = d.make();
    d.drop(m.avps);
    const auto wire = build_control_message(m);
    const MessageParse p = parse_control_message(wire, {});
    EXPECT_EQ(p.error, MessageError::missing_mandatory_avp) << message_type_name(m.type);
    EXPECT_EQ(p.avp_type, static_cast<std::uint16_t>(d.missing)) << message_type_name(m.type);
  }
}

TEST(L2tpMessage, MessageTypeFirstAndKnown) {
  // Host Name first, then Message Type.
  const auto not_first = unhex(
      "c80200200042000000000000"
      "800700000007"
      "61"
      "8008000000000006");
  // Fix the header Length to the real size.
  auto nf = not_first;
  nf[3] = static_cast<std::uint8_t>(nf.size());
  EXPECT_EQ(parse_control_message(nf, {}).error, MessageError::message_type_not_first);

  // Unknown type 99 with M: the tunnel goes; without M: ignored.
  const auto with_m = unhex(
      "c80200140042000000000000"
      "8008000000000063");
  const MessageParse pm = parse_control_message(with_m, {});
  EXPECT_EQ(pm.error, MessageError::unknown_message_type);
  EXPECT_TRUE(pm.header_ok);
  const auto without_m = unhex(
      "c80200140042000000000000"
      "0008000000000063");
  EXPECT_EQ(parse_control_message(without_m, {}).error, MessageError::unknown_message_type_ignored);
  // An unknown optional AVP before Message Type still breaks "first".
  const auto opt_first = unhex(
      "c802001a0042000000000000"
      "000600090001"
      "8008000000000006");
  EXPECT_EQ(parse_control_message(opt_first, {}).error, MessageError::message_type_not_first);
}

TEST(L2tpMessage, UnknownMandatoryAvpKeepsTheRestDecoded) {
  // ICRQ with an unknown M AVP (type 300) between its mandatory AVPs.
  ControlMessage m = icrq();
  auto wire = build_control_message(m);
  const auto extra = unhex(
      "8007000001"
      "2c"
      "ff");
  wire.insert(wire.begin() + 20, extra.begin(), extra.end());
  wire[3] = static_cast<std::uint8_t>(wire.size());
  const MessageParse p = parse_control_message(wire, {});
  EXPECT_TRUE(p.unknown_mandatory_avp());
  EXPECT_EQ(p.avp_type, 300);
  EXPECT_EQ(*p.msg.unknown_mandatory_avp, 300);
  EXPECT_EQ(*p.msg.avps.assigned_session_id, 0x0101);
  EXPECT_EQ(p.msg.message_type(), MessageType::icrq);
}

TEST(L2tpMessage, HeaderErrorsAreNamed) {
  EXPECT_EQ(parse_control_message(unhex("c802"), {}).error, MessageError::header_truncated);
  EXPECT_EQ(parse_control_message(unhex("c803000c0042000000000000"), {}).error,
            MessageError::header_bad_version);
  EXPECT_EQ(parse_control_message(unhex("c80200400042000000000000"), {}).error,
            MessageError::header_length_mismatch);
  EXPECT_EQ(parse_control_message(unhex("8802000c0042000000000000"), {}).error,
            MessageError::header_control_flags);
  EXPECT_EQ(parse_control_message(unhex("000200420000ff03"), {}).error, MessageError::not_control);
  // Length shorter than the datagram: the trailer is not parsed as AVPs.
  auto z = unhex(l2tp_vectors::zlb);
  z.push_back(0x80);
  const MessageParse p = parse_control_message(z, {});
  EXPECT_TRUE(p.ok());
  EXPECT_TRUE(p.msg.zlb());
}

TEST(L2tpMessage, StampSequenceRewritesNsNr) {
  auto w = build_control_message(hello());
  stamp_sequence(w, 0x0102, 0x0304);
  const MessageParse p = parse_control_message(w, {});
  EXPECT_EQ(p.msg.header.ns, 0x0102);
  EXPECT_EQ(p.msg.header.nr, 0x0304);
}

}  // namespace
}  // namespace l2tpgw::l2tp
