#!/usr/bin/python3
"""Prints tests/unit/l2tp/vectors.h: L2TP control messages built apart from
the library under test, run with /usr/bin/python3:

    /usr/bin/python3 tests/unit/l2tp/gen_vectors.py > tests/unit/l2tp/vectors.h

The control header comes from python3-scapy's L2TP layer (which has no AVPs);
the AVPs are packed with struct from the figures of RFC 2661 §4.1 and §4.4,
hidden AVPs (§4.3) and Challenge Responses (§4.2) hashed with hashlib.md5.
The field values here are repeated in l2tp_message_test.cc, which builds the
same messages from typed values and compares every byte.
"""

import hashlib
import struct

from scapy.layers.l2tp import L2TP
from scapy.packet import Raw

# §4.4: AVPs whose M bit we send set (the others are sent with M = 0).
MANDATORY = {0, 1, 2, 3, 4, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 21, 22, 23, 24,
             34, 35, 36, 39}

SECRET = b"l2tp-secret"
RANDOM_VECTOR = bytes(range(0xA0, 0xB0))
PADDING = bytes([0x11, 0x22, 0x33, 0x44, 0x55])
LAC_CHALLENGE = bytes(range(0x10, 0x20))
LNS_CHALLENGE = bytes(range(0x30, 0x40))


def avp(attr, value, hidden=False):
    """§4.1: |M|H|rsvd|Length(10)|Vendor ID|Attribute Type|value."""
    flags = (0x8000 if attr in MANDATORY else 0) | (0x4000 if hidden else 0)
    return struct.pack("!HHH", flags | (6 + len(value)), 0, attr) + value


def hide(attr, value, rv, secret=SECRET, padding=PADDING):
    """§4.3: subformat = original length || value || padding, XORed with
    MD5(attr || secret || RV), then MD5(secret || previous cipher block)."""
    sub = struct.pack("!H", len(value)) + value + padding
    out = b""
    key = hashlib.md5(struct.pack("!H", attr) + secret + rv).digest()
    for i in range(0, len(sub), 16):
        block = bytes(a ^ b for a, b in zip(sub[i:i + 16], key))
        out += block
        key = hashlib.md5(secret + block).digest()
    return out


def hidden_avp(attr, value, rv):
    h = hide(attr, value, rv)
    flags = (0x8000 if attr in MANDATORY else 0) | 0x4000
    return struct.pack("!HHH", flags | (6 + len(h)), 0, attr) + h


def u16(v):
    return struct.pack("!H", v)


def u32(v):
    return struct.pack("!I", v)


def message(tid, sid, ns, nr, avps):
    return bytes(L2TP(hdr="control+length+sequence", tunnel_id=tid, session_id=sid, ns=ns, nr=nr)
                 / Raw(b"".join(avps)))


def mtype(t):
    return avp(0, u16(t))


def chap(msg_type, challenge):
    """§4.2: MD5(one-octet ID = Message Type of the carrier || secret || challenge)."""
    return hashlib.md5(bytes([msg_type]) + SECRET + challenge).digest()


def cstr(b, indent="    "):
    h = b.hex()
    parts = ['"' + h[i:i + 64] + '"' for i in range(0, len(h), 64)] or ['""']
    return ("\n" + indent).join(parts)


def emit(name, data, what):
    print(f"// {what}")
    print(f"inline const char* {name} =\n    {cstr(data)};")


SCCRP_RESPONSE = chap(2, LAC_CHALLENGE)
SCCCN_RESPONSE = chap(3, LNS_CHALLENGE)

VECTORS = [
    ("sccrq", "SCCRQ: ver 1.0, framing 3, tie breaker, fw 0x0680, host/vendor, tid 0x1234, "
              "RWS 8, challenge",
     message(0, 0, 0, 0, [mtype(1), avp(2, b"\x01\x00"), avp(3, u32(3)),
                          avp(5, bytes(range(1, 9))), avp(6, u16(0x0680)),
                          avp(7, b"lac.example"), avp(8, b"xl2tpd"), avp(9, u16(0x1234)),
                          avp(10, u16(8)), avp(11, LAC_CHALLENGE)])),
    ("sccrp", "SCCRP to tid 0x1234: ver 1.0, framing 3, fw 1, host/vendor l2tpgw, tid 0x0042, "
              "RWS 16, challenge, response MD5(2||secret||LAC challenge)",
     message(0x1234, 0, 0, 1, [mtype(2), avp(2, b"\x01\x00"), avp(3, u32(3)), avp(6, u16(1)),
                               avp(7, b"l2tpgw"), avp(8, b"l2tpgw"), avp(9, u16(0x0042)),
                               avp(10, u16(16)), avp(11, LNS_CHALLENGE),
                               avp(13, SCCRP_RESPONSE)])),
    ("scccn", "SCCCN to tid 0x0042: response MD5(3||secret||LNS challenge)",
     message(0x0042, 0, 1, 1, [mtype(3), avp(13, SCCCN_RESPONSE)])),
    ("stopccn", "StopCCN: result 2, error 8, message; tid 0x0042",
     message(0x1234, 0, 1, 2, [mtype(4), avp(1, u16(2) + u16(8) + b"unknown mandatory AVP"),
                               avp(9, u16(0x0042))])),
    ("hello", "HELLO",
     message(0x1234, 0, 2, 2, [mtype(6)])),
    ("icrq", "ICRQ: sid 0x0101, serial 7, bearer 2, called, calling, sub-address, channel 9",
     message(0x0042, 0, 2, 1, [mtype(10), avp(14, u16(0x0101)), avp(15, u32(7)),
                               avp(18, u32(2)), avp(21, b"5551000"), avp(22, b"5552000"),
                               avp(23, b"7"), avp(25, u32(9))])),
    ("icrp", "ICRP to sid 0x0101: assigned sid 0x0202",
     message(0x1234, 0x0101, 1, 3, [mtype(11), avp(14, u16(0x0202))])),
    ("iccn", "ICCN: framing 1, tx 10M, proxy LCP x3, proxy CHAP (name, challenge, id 7, "
             "response), group, rx 5M, sequencing required",
     message(0x0042, 0x0202, 3, 2, [mtype(12), avp(19, u32(1)), avp(24, u32(10000000)),
                                    avp(26, bytes.fromhex("010405dc0506aabbccdd")),
                                    avp(27, bytes.fromhex("0104057805061122334403052281")),
                                    avp(28, bytes.fromhex("010405dc0506aabbccdd")),
                                    avp(29, u16(2)), avp(30, b"alice"),
                                    avp(31, bytes(range(0x50, 0x60))), avp(32, b"\x00\x07"),
                                    avp(33, bytes(range(0x60, 0x70))), avp(37, b"grp"),
                                    avp(38, u32(5000000)), avp(39, b"")])),
    ("cdn", "CDN: result 3, error 0, 'admin'; Q.931 cause 16 msg 0x5a 'normal'; sid 0x0202",
     message(0x0042, 0x0202, 4, 2, [mtype(14), avp(1, u16(3) + u16(0) + b"admin"),
                                    avp(12, u16(16) + b"\x5a" + b"normal"),
                                    avp(14, u16(0x0202))])),
    ("wen", "WEN: call errors 1..6",
     message(0x0042, 0x0202, 5, 2, [mtype(15), avp(34, b"\x00\x00" + b"".join(
         u32(i) for i in range(1, 7)))])),
    ("sli", "SLI: ACCM send 0xffffffff, receive 0x000a0000",
     message(0x0042, 0x0202, 6, 2, [mtype(16), avp(35, b"\x00\x00" + u32(0xFFFFFFFF)
                                                  + u32(0x000A0000))])),
    ("zlb", "ZLB to tid 0x0042, Ns 3, Nr 5",
     message(0x0042, 0, 3, 5, [])),
    ("hidden_iccn", "ICCN with Random Vector, hidden Proxy Authen Name 'alice' (one block) and "
                    "hidden 40-byte Proxy Authen Response (three blocks), padding 5 bytes",
     message(0x0042, 0x0202, 4, 2, [mtype(12), avp(36, RANDOM_VECTOR), avp(19, u32(1)),
                                    avp(24, u32(10000000)),
                                    hidden_avp(30, b"alice", RANDOM_VECTOR),
                                    hidden_avp(33, bytes(range(0x80, 0xA8)), RANDOM_VECTOR)])),
    ("hidden_icrp", "ICRP with Random Vector and hidden Assigned Session ID 0x0202 (M set)",
     message(0x1234, 0x0101, 1, 3, [mtype(11), avp(36, RANDOM_VECTOR),
                                    hidden_avp(14, u16(0x0202), RANDOM_VECTOR)])),
]


def main():
    print("// Generated by tests/unit/l2tp/gen_vectors.py (python3-scapy L2TP header, struct")
    print("// AVPs per RFC 2661 §4.1/§4.4, hashlib MD5 for §4.2 and §4.3). Do not edit.")
    print("#pragma once\n")
    print("namespace l2tp_vectors {\n")
    print(f'inline const char* secret = "{SECRET.decode()}";')
    emit("random_vector", RANDOM_VECTOR, "§4.3 Random Vector of the hidden vectors")
    emit("padding", PADDING, "§4.3 padding appended to each hidden value")
    emit("lac_challenge", LAC_CHALLENGE, "Challenge of the SCCRQ")
    emit("lns_challenge", LNS_CHALLENGE, "Challenge of the SCCRP")
    emit("sccrp_response", SCCRP_RESPONSE, "§4.2 MD5(0x02 || secret || lac_challenge)")
    emit("scccn_response", SCCCN_RESPONSE, "§4.2 MD5(0x03 || secret || lns_challenge)")
    # One long hidden value on its own, for the codec test.
    emit("hidden_value_40", hide(33, bytes(range(0x80, 0xA8)), RANDOM_VECTOR),
         "§4.3 subformat of 40 bytes 0x80.. hidden as attribute 33")
    for name, what, data in VECTORS:
        emit(name, data, what)
    print("\n}  // namespace l2tp_vectors")


if __name__ == "__main__":
    main()
