#!/usr/bin/python3
"""Prints the L2TP and PPP byte vectors pasted into l2tp_test.cc and
ppp_test.cc, built by python3-scapy (run with /usr/bin/python3).

Scapy cannot express everything: its L2TP layer always writes Offset Size
followed by two pad bytes (a PadField to 4 bytes), and its PPP layer always
compresses Protocol values below 0x100. Those cases are built by hand from
the RFC figures, and each says so next to its vector.
"""

import itertools
import re
import struct

from scapy.layers.inet import ICMP, IP, UDP
from scapy.layers.l2tp import L2TP
from scapy.layers.ppp import HDLC, PPP, PPP_IPCP, PPP_IPCP_Option_IPAddress, PPP_LCP_Echo
from scapy.packet import Raw

TID = 0x1234
SID = 0xABCD
NS = 0x0102
NR = 0x0304


def cstr(b, indent="    "):
    """A C++ string literal of the hex, split into adjacent literals when long."""
    h = b.hex()
    if len(h) <= 64:
        return '"' + h + '"'
    parts = ['"' + h[i:i + 64] + '"' for i in range(0, len(h), 64)]
    return ("\n" + indent).join(parts)


def comment(text, first="// scapy: ", width=96):
    """Prints text as // lines, breaking only after a "/" or a ", "."""
    line = first
    for t in re.split(r"(?<=/)|(?<=, )", text):
        if len(line) + len(t) > width and line.strip("/ ") and not line.endswith(first):
            print(line.rstrip())
            line = "//     "
        line += t
    print(line.rstrip())


def emit(name, expr, data):
    comment(expr)
    print(f"const char* {name} =\n    {cstr(data)};" if len(data) > 32
          else f"const char* {name} = {cstr(data)};")


# The PPP frame carried in every L2TP data vector.
PPP_EXPR = 'HDLC()/PPP(proto=0x0021)/Raw(b"abcd")'
PPP_FRAME = bytes(HDLC() / PPP(proto=0x0021) / Raw(b"abcd"))


def l2tp_flags(l, s, o, p):
    names = [n for n, on in (("length", l), ("sequence", s), ("offset", o), ("priority", p)) if on]
    return "+".join(names)


def l2tp_section():
    print("// ---- l2tp_test.cc ----")
    emit("ppp_payload", PPP_EXPR + "   (the payload of every data vector)", PPP_FRAME)
    print(f"// each: L2TP(hdr=HDR, tunnel_id=0x{TID:04x}, session_id=0x{SID:04x}, ns=0x{NS:04x}, "
          f"nr=0x{NR:04x}, offset=2)")
    print(f"//       /{PPP_EXPR}")
    print("const DataVector data_vectors[] = {")
    for l, s, o, p in itertools.product((False, True), repeat=4):
        hdr = l2tp_flags(l, s, o, p)
        # Offset Size 2 is the one value whose bytes scapy writes as RFC 2661
        # §3.1 defines them (2 bytes of Offset Size, then 2 pad bytes).
        kw = dict(hdr=hdr, tunnel_id=TID, session_id=SID, ns=NS, nr=NR, offset=2)
        msg = bytes(L2TP(**kw) / PPP_FRAME)
        header_len = len(bytes(L2TP(**kw)))
        assert msg[header_len:] == PPP_FRAME
        print(f"    // HDR = '{hdr}'")
        b = lambda v: "true" if v else "false"
        print(f"    {{{b(l)}, {b(s)}, {b(o)}, {b(p)}, {header_len}, {cstr(msg)}}},")
    print("};")

    # Offset Size 5: scapy writes Offset Size and 2 pad bytes; 3 more zero
    # bytes complete the 5-byte pad of RFC 2661 §3.1.
    emit("data_offset5",
         f"L2TP(hdr='length+sequence+offset', tunnel_id=0x{TID:04x}, session_id=0x{SID:04x}, "
         f"ns=0x{NS:04x}, nr=0x{NR:04x}, offset=5)/Raw(b'\\0'*3)/{PPP_EXPR}",
         bytes(L2TP(hdr="length+sequence+offset", tunnel_id=TID, session_id=SID, ns=NS, nr=NR,
                    offset=5) / Raw(b"\0" * 3) / PPP_FRAME))
    # Offset Size 0 cannot be written by scapy (it always adds 2 pad bytes).
    hand = struct.pack("!HHHH", 0x0202, TID, SID, 0) + PPP_FRAME
    print("// by hand, RFC 2661 §3.1 figure: flags 0x0202 (O, Ver 2), Tunnel ID, Session ID,")
    print("// Offset Size 0, no pad, then the PPP frame")
    print(f"const char* data_offset0 = {cstr(hand)};")

    emit("control_sccrq",
         "L2TP(hdr='control+length+sequence', tunnel_id=0, session_id=0, ns=0, nr=0)"
         "/Raw(bytes.fromhex('8008000000000001'))  # Message Type AVP: SCCRQ",
         bytes(L2TP(hdr="control+length+sequence", tunnel_id=0, session_id=0, ns=0, nr=0)
               / Raw(bytes.fromhex("8008000000000001"))))
    emit("control_zlb",
         "L2TP(hdr='control+length+sequence', tunnel_id=7, session_id=0, ns=3, nr=5)",
         bytes(L2TP(hdr="control+length+sequence", tunnel_id=7, session_id=0, ns=3, nr=5)))
    emit("control_priority",
         "L2TP(hdr='control+length+sequence+priority', tunnel_id=7, ns=3, nr=5)",
         bytes(L2TP(hdr="control+length+sequence+priority", tunnel_id=7, ns=3, nr=5)))
    # scapy writes Length and Ns/Nr for any control message, whatever L and S
    # say; the flags alone make these invalid.
    for name, hdr in (("control_no_sequence", "control+length"),
                      ("control_no_length", "control+sequence"),
                      ("control_bare", "control"),
                      ("control_with_offset", "control+length+sequence+offset")):
        emit(name, f"L2TP(hdr='{hdr}', tunnel_id=7, ns=3, nr=5)",
             bytes(L2TP(hdr=hdr, tunnel_id=7, ns=3, nr=5)))

    emit("length_too_long",
         f"L2TP(hdr='length', len=200, tunnel_id=1, session_id=2)/{PPP_EXPR}",
         bytes(L2TP(hdr="length", len=200, tunnel_id=1, session_id=2) / PPP_FRAME))
    emit("length_too_short",
         f"L2TP(hdr='length', len=7, tunnel_id=1, session_id=2)/{PPP_EXPR}",
         bytes(L2TP(hdr="length", len=7, tunnel_id=1, session_id=2) / PPP_FRAME))
    emit("length_header_only",
         f"L2TP(hdr='length', len=8, tunnel_id=1, session_id=2)/{PPP_EXPR}",
         bytes(L2TP(hdr="length", len=8, tunnel_id=1, session_id=2) / PPP_FRAME))
    emit("length_with_trailer",
         f"L2TP(hdr='length', len=8+{len(PPP_FRAME)}, tunnel_id=1, session_id=2)/{PPP_EXPR}"
         "/Raw(b'trailer')",
         bytes(L2TP(hdr="length", len=8 + len(PPP_FRAME), tunnel_id=1, session_id=2)
               / PPP_FRAME / Raw(b"trailer")))
    emit("length_cuts_offset_pad",
         f"L2TP(hdr='length+offset', len=11, tunnel_id=1, session_id=2, offset=2)/{PPP_EXPR}",
         bytes(L2TP(hdr="length+offset", len=11, tunnel_id=1, session_id=2, offset=2)
               / PPP_FRAME))
    emit("offset_beyond_end",
         f"L2TP(hdr='offset', tunnel_id=1, session_id=2, offset=50)/{PPP_EXPR}",
         bytes(L2TP(hdr="offset", tunnel_id=1, session_id=2, offset=50) / PPP_FRAME))
    for v in (0, 1, 3, 15):
        emit(f"version{v}", f"L2TP(version={v}, tunnel_id=1, session_id=2)/{PPP_EXPR}",
             bytes(L2TP(version=v, tunnel_id=1, session_id=2) / PPP_FRAME))
    reserved = "res00+res01+res02+res03+res06+res08+res09"
    emit("reserved_bits_set",
         f"L2TP(hdr='{reserved}+sequence', tunnel_id=1, session_id=2, ns=9, nr=0)/{PPP_EXPR}",
         bytes(L2TP(hdr=reserved + "+sequence", tunnel_id=1, session_id=2, ns=9, nr=0)
               / PPP_FRAME))

    inner = IP(src="10.8.0.2", dst="192.0.2.1", id=1) / ICMP(id=1, seq=1) / b"ping"
    udp = UDP(sport=1701, dport=1701) / L2TP(hdr="length", tunnel_id=TID, session_id=SID)
    full = bytes(udp / HDLC() / PPP(proto=0x0021) / inner)
    emit("udp_full_stack",
         "UDP(sport=1701, dport=1701)/L2TP(hdr='length', tunnel_id=0x1234, session_id=0xabcd)"
         "/HDLC()/PPP(proto=0x0021)/IP(src='10.8.0.2', dst='192.0.2.1', id=1)"
         "/ICMP(id=1, seq=1)/b'ping'",
         full)
    emit("inner_ipv4", "IP(src='10.8.0.2', dst='192.0.2.1', id=1)/ICMP(id=1, seq=1)/b'ping'",
         bytes(inner))


def ppp_section():
    print("// ---- ppp_test.cc ----")
    emit("ppp_ac_short", 'HDLC()/PPP(proto=0x0021)/Raw(b"abcd")',
         bytes(HDLC() / PPP(proto=0x0021) / Raw(b"abcd")))
    emit("ppp_short", 'PPP(proto=0x0021)/Raw(b"abcd")', bytes(PPP(proto=0x0021) / Raw(b"abcd")))
    emit("ppp_ipv6_short", 'PPP(proto=0x0057)/Raw(b"abcd")',
         bytes(PPP(proto=0x0057) / Raw(b"abcd")))
    emit("ppp_mppe", 'HDLC()/PPP(proto=0x00fd)/Raw(bytes.fromhex("9001deadbeef"))',
         bytes(HDLC() / PPP(proto=0x00FD) / Raw(bytes.fromhex("9001deadbeef"))))
    emit("ppp_lcp_echo", "HDLC()/PPP(proto=0xc021)/PPP_LCP_Echo(id=1, magic_number=0x01020304)",
         bytes(HDLC() / PPP(proto=0xC021) / PPP_LCP_Echo(id=1, magic_number=0x01020304)))
    emit("ppp_ipcp_compressed",
         "PPP(proto=0x8021)/PPP_IPCP(code=1, id=1, "
         "options=[PPP_IPCP_Option_IPAddress(data='0.0.0.0')])",
         bytes(PPP(proto=0x8021)
               / PPP_IPCP(code=1, id=1, options=[PPP_IPCP_Option_IPAddress(data="0.0.0.0")])))
    emit("ppp_bad_control", "HDLC(control=0x05)/PPP(proto=0x0021)/Raw(b\"abcd\")",
         bytes(HDLC(control=0x05) / PPP(proto=0x0021) / Raw(b"abcd")))

    # scapy always writes Protocol values below 0x100 in one byte, so the full
    # 2-byte forms are written by hand (RFC 1661 §2) and read back by scapy's
    # dissector to confirm what they mean.
    for name, raw in (("ppp_ac_full", bytes.fromhex("ff030021") + b"abcd"),
                      ("ppp_full", bytes.fromhex("0021") + b"abcd")):
        pkt = PPP(raw)
        if isinstance(pkt, HDLC):
            assert pkt.address == 0xFF and pkt.control == 0x03
            pkt = pkt.payload
        assert pkt.proto == 0x0021 and bytes(pkt.payload) == b"abcd"
        print("// by hand, RFC 1661 §2 (2-byte Protocol 0x0021); scapy reads it as proto=0x21")
        print(f"const char* {name} = {cstr(raw)};")
    # Invalid Protocol fields by hand: scapy's dissector does not check the
    # RFC 1661 §2 LSB rule and would read them as protocol 0x0020 / 0x0022.
    print("// by hand, RFC 1661 §2: last Protocol byte even (0x0020, 0x0022) is invalid")
    print(f"const char* ppp_bad_proto_ac = {cstr(bytes.fromhex('ff030020') + b'abcd')};")
    print(f"const char* ppp_bad_proto = {cstr(bytes.fromhex('0022') + b'abcd')};")

    print("const HeaderVector header_vectors[] = {")
    for proto in (0x0021, 0x0057, 0x00FD, 0x8021, 0x8057, 0x80FD, 0xC021, 0xC023, 0xC223, 0xC227):
        with_ac = bytes(HDLC() / PPP(proto=proto))
        without = bytes(PPP(proto=proto))
        print(f"    // HDLC()/PPP(proto=0x{proto:04x}) and PPP(proto=0x{proto:04x})")
        print(f"    {{0x{proto:04x}, {cstr(with_ac)}, {cstr(without)}}},")
    print("};")


if __name__ == "__main__":
    l2tp_section()
    print()
    ppp_section()
