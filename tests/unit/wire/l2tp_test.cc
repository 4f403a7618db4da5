// L2TPv2 header codec (RFC 2661 §3.1) against messages built by
// python3-scapy. The vectors are printed by tests/unit/wire/gen_vectors.py
// (run with /usr/bin/python3); cases scapy cannot write are built by hand from
// the RFC figure and say so.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "dataplane/wire/ipv4.h"
#include "dataplane/wire/l2tp.h"
#include "dataplane/wire/ppp.h"

namespace l2tpgw::wire {
namespace {

std::vector<std::uint8_t> hex(const char* s) {
  std::vector<std::uint8_t> out;
  auto nib = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
  for (; s[0] != 0 && s[1] != 0; s += 2) {
    out.push_back(static_cast<std::uint8_t>(nib(s[0]) << 4 | nib(s[1])));
  }
  return out;
}

std::vector<std::uint8_t> payload_of(std::span<const std::uint8_t> msg, const L2tpParse& r) {
  const auto p = msg.subspan(r.payload_offset, r.payload_len);
  return {p.begin(), p.end()};
}

struct DataVector {
  bool l;
  bool s;
  bool o;
  bool p;
  std::size_t header_len;  // len(bytes(L2TP(...))) without the payload
  const char* hex;
};

// scapy: HDLC()/PPP(proto=0x0021)/Raw(b"abcd")   (the payload of every data vector)
const char* ppp_payload = "ff032161626364";
// each: L2TP(hdr=HDR, tunnel_id=0x1234, session_id=0xabcd, ns=0x0102, nr=0x0304, offset=2)
//       /HDLC()/PPP(proto=0x0021)/Raw(b"abcd")
const DataVector data_vectors[] = {
    // HDR = ''
    {false, false, false, false, 6, "00021234abcdff032161626364"},
    // HDR = 'priority'
    {false, false, false, true, 6, "01021234abcdff032161626364"},
    // HDR = 'offset'
    {false, false, true, false, 10, "02021234abcd00020000ff032161626364"},
    // HDR = 'offset+priority'
    {false, false, true, true, 10, "03021234abcd00020000ff032161626364"},
    // HDR = 'sequence'
    {false, true, false, false, 10, "08021234abcd01020304ff032161626364"},
    // HDR = 'sequence+priority'
    {false, true, false, true, 10, "09021234abcd01020304ff032161626364"},
    // HDR = 'sequence+offset'
    {false, true, true, false, 14, "0a021234abcd0102030400020000ff032161626364"},
    // HDR = 'sequence+offset+priority'
    {false, true, true, true, 14, "0b021234abcd0102030400020000ff032161626364"},
    // HDR = 'length'
    {true, false, false, false, 8, "4002000f1234abcdff032161626364"},
    // HDR = 'length+priority'
    {true, false, false, true, 8, "4102000f1234abcdff032161626364"},
    // HDR = 'length+offset'
    {true, false, true, false, 12, "420200131234abcd00020000ff032161626364"},
    // HDR = 'length+offset+priority'
    {true, false, true, true, 12, "430200131234abcd00020000ff032161626364"},
    // HDR = 'length+sequence'
    {true, true, false, false, 12, "480200131234abcd01020304ff032161626364"},
    // HDR = 'length+sequence+priority'
    {true, true, false, true, 12, "490200131234abcd01020304ff032161626364"},
    // HDR = 'length+sequence+offset'
    {true, true, true, false, 16, "4a0200171234abcd0102030400020000ff032161626364"},
    // HDR = 'length+sequence+offset+priority'
    {true, true, true, true, 16, "4b0200171234abcd0102030400020000ff032161626364"},
};
// scapy: L2TP(hdr='length+sequence+offset', tunnel_id=0x1234, session_id=0xabcd, ns=0x0102,
//     nr=0x0304, offset=5)/Raw(b'\0'*3)/HDLC()/PPP(proto=0x0021)/Raw(b"abcd")
const char* data_offset5 = "4a02001a1234abcd0102030400050000000000ff032161626364";
// by hand, RFC 2661 §3.1 figure: flags 0x0202 (O, Ver 2), Tunnel ID, Session ID,
// Offset Size 0, no pad, then the PPP frame
const char* data_offset0 = "02021234abcd0000ff032161626364";
// scapy: L2TP(hdr='control+length+sequence', tunnel_id=0, session_id=0, ns=0, nr=0)/
//     Raw(bytes.fromhex('8008000000000001'))  # Message Type AVP: SCCRQ
const char* control_sccrq = "c802001400000000000000008008000000000001";
// scapy: L2TP(hdr='control+length+sequence', tunnel_id=7, session_id=0, ns=3, nr=5)
const char* control_zlb = "c802000c0007000000030005";
// scapy: L2TP(hdr='control+length+sequence+priority', tunnel_id=7, ns=3, nr=5)
const char* control_priority = "c902000c0007000000030005";
// scapy: L2TP(hdr='control+length', tunnel_id=7, ns=3, nr=5)
const char* control_no_sequence = "c002000c0007000000030005";
// scapy: L2TP(hdr='control+sequence', tunnel_id=7, ns=3, nr=5)
const char* control_no_length = "8802000c0007000000030005";
// scapy: L2TP(hdr='control', tunnel_id=7, ns=3, nr=5)
const char* control_bare = "8002000c0007000000030005";
// scapy: L2TP(hdr='control+length+sequence+offset', tunnel_id=7, ns=3, nr=5)
const char* control_with_offset = "ca02000c0007000000030005";
// scapy: L2TP(hdr='length', len=200, tunnel_id=1, session_id=2)/HDLC()/PPP(proto=0x0021)/
//     Raw(b"abcd")
const char* length_too_long = "400200c800010002ff032161626364";
// scapy: L2TP(hdr='length', len=7, tunnel_id=1, session_id=2)/HDLC()/PPP(proto=0x0021)/
//     Raw(b"abcd")
const char* length_too_short = "4002000700010002ff032161626364";
// scapy: L2TP(hdr='length', len=8, tunnel_id=1, session_id=2)/HDLC()/PPP(proto=0x0021)/
//     Raw(b"abcd")
const char* length_header_only = "4002000800010002ff032161626364";
// scapy: L2TP(hdr='length', len=8+7, tunnel_id=1, session_id=2)/HDLC()/PPP(proto=0x0021)/
//     Raw(b"abcd")/Raw(b'trailer')
const char* length_with_trailer = "4002000f00010002ff032161626364747261696c6572";
// scapy: L2TP(hdr='length+offset', len=11, tunnel_id=1, session_id=2, offset=2)/HDLC()/
//     PPP(proto=0x0021)/Raw(b"abcd")
const char* length_cuts_offset_pad = "4202000b0001000200020000ff032161626364";
// scapy: L2TP(hdr='offset', tunnel_id=1, session_id=2, offset=50)/HDLC()/PPP(proto=0x0021)/
//     Raw(b"abcd")
const char* offset_beyond_end = "02020001000200320000ff032161626364";
// scapy: L2TP(version=0, tunnel_id=1, session_id=2)/HDLC()/PPP(proto=0x0021)/Raw(b"abcd")
const char* version0 = "000000010002ff032161626364";
// scapy: L2TP(version=1, tunnel_id=1, session_id=2)/HDLC()/PPP(proto=0x0021)/Raw(b"abcd")
const char* version1 = "000100010002ff032161626364";
// scapy: L2TP(version=3, tunnel_id=1, session_id=2)/HDLC()/PPP(proto=0x0021)/Raw(b"abcd")
const char* version3 = "000300010002ff032161626364";
// scapy: L2TP(version=15, tunnel_id=1, session_id=2)/HDLC()/PPP(proto=0x0021)/Raw(b"abcd")
const char* version15 = "000f00010002ff032161626364";
// scapy: L2TP(hdr='res00+res01+res02+res03+res06+res08+res09+sequence', tunnel_id=1,
//     session_id=2, ns=9, nr=0)/HDLC()/PPP(proto=0x0021)/Raw(b"abcd")
const char* reserved_bits_set = "3cf20001000200090000ff032161626364";
// scapy: UDP(sport=1701, dport=1701)/L2TP(hdr='length', tunnel_id=0x1234, session_id=0xabcd)/
//     HDLC()/PPP(proto=0x0021)/IP(src='10.8.0.2', dst='192.0.2.1', id=1)/ICMP(id=1, seq=1)/
//     b'ping'
const char* udp_full_stack =
    "06a506a5003300004002002b1234abcdff032145000020000100004001aed10a"
    "080002c00002010800192d0001000170696e67";
// scapy: IP(src='10.8.0.2', dst='192.0.2.1', id=1)/ICMP(id=1, seq=1)/b'ping'
const char* inner_ipv4 = "45000020000100004001aed10a080002c00002010800192d0001000170696e67";

std::string name_of(const DataVector& v) {
  auto bit = [](bool b) { return b ? "1" : "0"; };
  return std::string("L") + bit(v.l) + " S" + bit(v.s) + " O" + bit(v.o) + " P" + bit(v.p);
}

TEST(L2tpParse, EveryDataFlagCombination) {
  for (const auto& v : data_vectors) {
    SCOPED_TRACE(name_of(v));
    const auto msg = hex(v.hex);
    const L2tpParse r = parse_l2tp(msg);
    ASSERT_EQ(r.error, L2tpError::ok);
    EXPECT_FALSE(r.is_control);
    EXPECT_EQ(r.has_length, v.l);
    EXPECT_EQ(r.has_sequence, v.s);
    EXPECT_EQ(r.has_offset, v.o);
    EXPECT_EQ(r.priority, v.p);
    EXPECT_EQ(r.tunnel_id, 0x1234);
    EXPECT_EQ(r.session_id, 0xabcd);
    if (v.l) {
      EXPECT_EQ(r.length, msg.size());
    }
    if (v.s) {
      EXPECT_EQ(r.ns, 0x0102);
      EXPECT_EQ(r.nr, 0x0304);
    }
    EXPECT_EQ(r.offset_size, v.o ? 2 : 0);
    EXPECT_EQ(r.payload_offset, v.header_len);
    EXPECT_EQ(payload_of(msg, r), hex(ppp_payload));
  }
}

TEST(L2tpParse, OffsetSizesOtherThanTwo) {
  const auto five = hex(data_offset5);
  const L2tpParse r5 = parse_l2tp(five);
  ASSERT_EQ(r5.error, L2tpError::ok);
  EXPECT_EQ(r5.offset_size, 5);
  EXPECT_EQ(r5.payload_offset, 14u + 5u);  // flags, Length, ids, Ns/Nr, Offset Size, pad
  EXPECT_EQ(payload_of(five, r5), hex(ppp_payload));

  const auto zero = hex(data_offset0);
  const L2tpParse r0 = parse_l2tp(zero);
  ASSERT_EQ(r0.error, L2tpError::ok);
  EXPECT_TRUE(r0.has_offset);
  EXPECT_EQ(r0.offset_size, 0);
  EXPECT_EQ(r0.payload_offset, 8u);
  EXPECT_EQ(payload_of(zero, r0), hex(ppp_payload));
}

TEST(L2tpParse, ControlMessages) {
  const auto sccrq = hex(control_sccrq);
  const L2tpParse r = parse_l2tp(sccrq);
  ASSERT_EQ(r.error, L2tpError::ok);
  EXPECT_TRUE(r.is_control);
  EXPECT_EQ(r.length, 20);
  EXPECT_EQ(r.tunnel_id, 0);
  EXPECT_EQ(r.ns, 0);
  EXPECT_EQ(r.payload_offset, 12u);
  EXPECT_EQ(payload_of(sccrq, r), hex("8008000000000001"));

  // A ZLB acknowledgement (RFC 2661 §5.8) is a header with nothing after it.
  const L2tpParse zlb = parse_l2tp(hex(control_zlb));
  ASSERT_EQ(zlb.error, L2tpError::ok);
  EXPECT_TRUE(zlb.is_control);
  EXPECT_EQ(zlb.tunnel_id, 7);
  EXPECT_EQ(zlb.ns, 3);
  EXPECT_EQ(zlb.nr, 5);
  EXPECT_EQ(zlb.payload_len, 0u);

  // P is a MUST-be-0 for control messages but moves no field: reported only.
  const L2tpParse pri = parse_l2tp(hex(control_priority));
  ASSERT_EQ(pri.error, L2tpError::ok);
  EXPECT_TRUE(pri.is_control);
  EXPECT_TRUE(pri.priority);
}

TEST(L2tpParse, ControlWithoutLengthOrSequenceOrWithOffset) {
  for (const char* m :
       {control_no_sequence, control_no_length, control_bare, control_with_offset}) {
    SCOPED_TRACE(m);
    EXPECT_EQ(parse_l2tp(hex(m)).error, L2tpError::control_flags);
  }
}

TEST(L2tpParse, LengthField) {
  EXPECT_EQ(parse_l2tp(hex(length_too_long)).error, L2tpError::length_mismatch);
  EXPECT_EQ(parse_l2tp(hex(length_too_short)).error, L2tpError::length_mismatch);

  const L2tpParse empty = parse_l2tp(hex(length_header_only));
  ASSERT_EQ(empty.error, L2tpError::ok);
  EXPECT_EQ(empty.payload_offset, 8u);
  EXPECT_EQ(empty.payload_len, 0u);

  // Bytes past Length belong to no message and are not handed on.
  const auto trailer = hex(length_with_trailer);
  const L2tpParse t = parse_l2tp(trailer);
  ASSERT_EQ(t.error, L2tpError::ok);
  EXPECT_EQ(payload_of(trailer, t), hex(ppp_payload));

  // Length ends inside the offset pad.
  EXPECT_EQ(parse_l2tp(hex(length_cuts_offset_pad)).error, L2tpError::offset_beyond);
}

TEST(L2tpParse, OffsetBeyondEnd) {
  EXPECT_EQ(parse_l2tp(hex(offset_beyond_end)).error, L2tpError::offset_beyond);
}

TEST(L2tpParse, Versions) {
  EXPECT_EQ(parse_l2tp(hex(version0)).error, L2tpError::bad_version);
  EXPECT_EQ(parse_l2tp(hex(version1)).error, L2tpError::bad_version);  // L2F, RFC 2341
  EXPECT_EQ(parse_l2tp(hex(version3)).error, L2tpError::l2tpv3);
  EXPECT_EQ(parse_l2tp(hex(version15)).error, L2tpError::bad_version);
}

TEST(L2tpParse, ReservedBitsAreIgnored) {
  const auto msg = hex(reserved_bits_set);
  ASSERT_EQ(msg[0] << 8 | msg[1], 0x3cf2);  // every x bit of §3.1 set, plus S
  const L2tpParse r = parse_l2tp(msg);
  ASSERT_EQ(r.error, L2tpError::ok);
  EXPECT_FALSE(r.is_control);
  EXPECT_FALSE(r.has_length);
  EXPECT_FALSE(r.has_offset);
  EXPECT_FALSE(r.priority);
  EXPECT_TRUE(r.has_sequence);
  EXPECT_EQ(r.ns, 9);
  EXPECT_EQ(payload_of(msg, r), hex(ppp_payload));
  EXPECT_EQ(l2tp_reserved_mask, 0x34f0);
}

TEST(L2tpParse, EveryTruncation) {
  for (const auto& v : data_vectors) {
    SCOPED_TRACE(name_of(v));
    const auto msg = hex(v.hex);
    const std::size_t fixed = v.header_len - (v.o ? 2u : 0u);  // without the offset pad
    for (std::size_t n = 0; n < msg.size(); ++n) {
      SCOPED_TRACE(n);
      const L2tpParse r = parse_l2tp(std::span(msg).first(n));
      if (n < fixed) {
        EXPECT_EQ(r.error, L2tpError::truncated);
      } else if (v.l) {
        EXPECT_EQ(r.error, L2tpError::length_mismatch);
      } else if (n < v.header_len) {
        EXPECT_EQ(r.error, L2tpError::offset_beyond);
      } else {
        ASSERT_EQ(r.error, L2tpError::ok);
        EXPECT_EQ(r.payload_offset, v.header_len);
        EXPECT_EQ(r.payload_len, n - v.header_len);
      }
    }
  }
  const auto sccrq = hex(control_sccrq);
  for (std::size_t n = 0; n < sccrq.size(); ++n) {
    EXPECT_EQ(parse_l2tp(std::span(sccrq).first(n)).error,
              n < 12 ? L2tpError::truncated : L2tpError::length_mismatch)
        << n;
  }
}

L2tpDataHeader header_for(bool l, bool s, bool o, bool p, std::uint16_t pad) {
  L2tpDataHeader h;
  h.tunnel_id = 0x1234;
  h.session_id = 0xabcd;
  h.with_length = l;
  h.with_sequence = s;
  h.ns = 0x0102;
  h.nr = 0x0304;
  h.with_offset = o;
  h.offset_pad = pad;
  h.priority = p;
  return h;
}

TEST(L2tpBuild, MatchesScapyForEveryFlagCombination) {
  const std::size_t payload_len = hex(ppp_payload).size();
  for (const auto& v : data_vectors) {
    SCOPED_TRACE(name_of(v));
    const auto want = hex(v.hex);
    const L2tpDataHeader h = header_for(v.l, v.s, v.o, v.p, 2);
    EXPECT_EQ(l2tp_data_header_len(h), v.header_len);
    std::array<std::uint8_t, 64> buf;
    buf.fill(0xaa);
    ASSERT_EQ(build_l2tp_data_header(buf, h, payload_len), v.header_len);
    const auto n = static_cast<long>(v.header_len);
    EXPECT_EQ(std::vector<std::uint8_t>(buf.begin(), buf.begin() + n),
              std::vector<std::uint8_t>(want.begin(), want.begin() + n));
  }
}

TEST(L2tpBuild, MatchesOtherOffsetSizes) {
  const std::size_t payload_len = hex(ppp_payload).size();
  std::array<std::uint8_t, 64> buf;
  buf.fill(0xaa);
  const auto five = hex(data_offset5);
  const std::size_t n5 =
      build_l2tp_data_header(buf, header_for(true, true, true, false, 5), payload_len);
  ASSERT_EQ(n5, 19u);
  EXPECT_EQ(std::vector<std::uint8_t>(buf.begin(), buf.begin() + 19),
            std::vector<std::uint8_t>(five.begin(), five.begin() + 19));

  buf.fill(0xaa);
  const auto zero = hex(data_offset0);
  const std::size_t n0 =
      build_l2tp_data_header(buf, header_for(false, false, true, false, 0), payload_len);
  ASSERT_EQ(n0, 8u);
  EXPECT_EQ(std::vector<std::uint8_t>(buf.begin(), buf.begin() + 8),
            std::vector<std::uint8_t>(zero.begin(), zero.begin() + 8));
}

TEST(L2tpBuild, RoundTripEveryCombination) {
  const auto payload = hex(ppp_payload);
  for (unsigned flags = 0; flags < 16; ++flags) {
    const bool l = flags & 8u;
    const bool s = flags & 4u;
    const bool o = flags & 2u;
    const bool p = flags & 1u;
    for (std::uint16_t pad : {0, 1, 2, 7}) {
      SCOPED_TRACE(testing::Message() << "flags " << flags << " pad " << pad);
      L2tpDataHeader h = header_for(l, s, o, p, pad);
      h.tunnel_id = static_cast<std::uint16_t>(0x100 + flags);
      h.session_id = static_cast<std::uint16_t>(0xfe00 + pad);
      h.ns = static_cast<std::uint16_t>(0xffff - flags);
      std::vector<std::uint8_t> buf(64, 0xaa);
      const std::size_t n = build_l2tp_data_header(buf, h, payload.size());
      ASSERT_EQ(n, l2tp_data_header_len(h));
      std::memcpy(buf.data() + n, payload.data(), payload.size());
      // Without Length the payload runs to the end of the datagram.
      buf.resize(n + payload.size());
      const L2tpParse r = parse_l2tp(buf);
      ASSERT_EQ(r.error, L2tpError::ok);
      EXPECT_FALSE(r.is_control);
      EXPECT_EQ(r.has_length, l);
      EXPECT_EQ(r.has_sequence, s);
      EXPECT_EQ(r.has_offset, o);
      EXPECT_EQ(r.priority, p);
      EXPECT_EQ(r.tunnel_id, h.tunnel_id);
      EXPECT_EQ(r.session_id, h.session_id);
      EXPECT_EQ(r.ns, s ? h.ns : 0);
      EXPECT_EQ(r.offset_size, o ? pad : 0);
      EXPECT_EQ(r.payload_offset, n);
      EXPECT_EQ(payload_of(buf, r), payload);
      if (o) {
        // The pad is written as zeros, not left as whatever the buffer held.
        for (std::size_t i = n - pad; i < n; ++i) {
          EXPECT_EQ(buf[i], 0) << i;
        }
      }
    }
  }
}

TEST(L2tpBuild, RefusesShortBufferAndOversizedLength) {
  L2tpDataHeader h = header_for(true, true, false, false, 0);
  std::array<std::uint8_t, 11> small{};
  EXPECT_EQ(build_l2tp_data_header(small, h, 10), 0u);
  std::array<std::uint8_t, 12> exact{};
  EXPECT_EQ(build_l2tp_data_header(exact, h, 0xffff - 12), 12u);
  EXPECT_EQ(build_l2tp_data_header(exact, h, 0xffff - 11), 0u);
  h.with_length = false;
  EXPECT_EQ(build_l2tp_data_header(exact, h, 0x10000), 10u);
}

TEST(L2tpStack, UdpPayloadToInnerIpv4) {
  const auto dgram = hex(udp_full_stack);
  const auto udp_payload = std::span(dgram).subspan(8);
  const L2tpParse l2 = parse_l2tp(udp_payload);
  ASSERT_EQ(l2.error, L2tpError::ok);
  EXPECT_EQ(l2.session_id, 0xabcd);
  const auto frame = udp_payload.subspan(l2.payload_offset, l2.payload_len);
  const PppParse ppp = parse_ppp(frame);
  ASSERT_EQ(ppp.error, PppError::ok);
  EXPECT_EQ(classify_ppp(ppp.protocol), PppClass::ipv4);
  const auto ip = frame.subspan(ppp.header_len);
  EXPECT_EQ(ipv4_check(ip), Ipv4Check::ok);
  EXPECT_EQ(std::vector<std::uint8_t>(ip.begin(), ip.end()), hex(inner_ipv4));
}

TEST(L2tpError, NamesAreDistinct) {
  const L2tpError all[] = {L2tpError::ok,           L2tpError::truncated,
                           L2tpError::bad_version,  L2tpError::l2tpv3,
                           L2tpError::length_mismatch, L2tpError::offset_beyond,
                           L2tpError::control_flags};
  for (std::size_t i = 0; i < std::size(all); ++i) {
    for (std::size_t j = i + 1; j < std::size(all); ++j) {
      EXPECT_STRNE(l2tp_error_name(all[i]), l2tp_error_name(all[j]));
    }
  }
  EXPECT_STREQ(l2tp_error_name(L2tpError::l2tpv3), "l2tpv3");
}

}  // namespace
}  // namespace l2tpgw::wire
