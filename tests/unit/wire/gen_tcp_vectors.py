#!/usr/bin/python3
"""Prints the TCP MSS clamping vectors pasted into tcp_mss_test.cc, built by
python3-scapy (run with /usr/bin/python3).

Every packet is built by scapy with its checksums computed by scapy. The
expected output of a clamp to MAX_MSS is made the same way: the packet is
read back by scapy's dissector, each MSS option above the limit is set to
it, the TCP checksum is deleted and the packet rebuilt. The expected result
is decided here from the dissected fields, not by our code.

Malformed headers are written as raw option bytes behind a TCP header whose
data offset scapy is told (scapy still computes both checksums), or as a
TCP header cut short.
"""

import re

from scapy.layers.inet import IP, TCP, UDP, IPOption_RR, IPOption_Router_Alert
from scapy.packet import Raw

MAX_MSS = 1360
SRC = "10.8.0.2"
DST = "192.0.2.1"


def cstr(b, indent="     "):
    """A C++ string literal of the hex, split into adjacent literals when long."""
    h = b.hex()
    if len(h) <= 64:
        return '"' + h + '"'
    parts = ['"' + h[i:i + 64] + '"' for i in range(0, len(h), 64)]
    return ("\n" + indent).join(parts)


def comment(text, first="    // scapy: ", width=96):
    """Prints text as // lines, breaking only after a "/" or a ", "."""
    line = first
    for t in re.split(r"(?<=/)|(?<=, )", text):
        if len(line) + len(t) > width and line.strip("/ ") and not line.endswith(first):
            print(line.rstrip())
            line = "    //     "
        line += t
    print(line.rstrip())


def expected(data):
    """The result and bytes a correct clamp to MAX_MSS gives, from scapy's dissector."""
    pkt = IP(data)
    assert bytes(pkt) == data, "scapy does not rebuild these bytes as they are"
    if pkt.proto != 6 or pkt.frag != 0 or TCP not in pkt or "S" not in pkt[TCP].flags:
        return "not_syn", data
    mss = [v for k, v in pkt[TCP].options if k == "MSS"]
    if not mss:
        return "no_option", data
    if max(mss) <= MAX_MSS:
        return "unchanged", data
    pkt[TCP].options = [(k, min(v, MAX_MSS)) if k == "MSS" else (k, v)
                        for k, v in pkt[TCP].options]
    del pkt[TCP].chksum
    return "clamped", bytes(pkt)


def ip(**kw):
    return IP(src=SRC, dst=DST, id=0x4d2, **kw)


def syn(flags="S", **kw):
    return TCP(sport=49152, dport=443, seq=0x11223344, ack=0x55667788 if "A" in flags else 0,
               window=64240, flags=flags, **kw)


# name, scapy expression (as printed), packet
CASES = [
    ("syn_mss_first", "ip()/syn(options=[('MSS', 1460)])",
     ip() / syn(options=[("MSS", 1460)])),
    ("syn_linux", "ip()/syn(options=[('MSS', 1460), ('SAckOK', b''), ('Timestamp', (123456, 0)), "
     "('NOP', None), ('WScale', 7)])",
     ip() / syn(options=[("MSS", 1460), ("SAckOK", b""), ("Timestamp", (123456, 0)),
                         ("NOP", None), ("WScale", 7)])),
    # MSS at byte 21 of the TCP header: its value straddles two checksum words.
    ("syn_mss_odd_after_nop", "ip()/syn(options=[('NOP', None), ('MSS', 1460)])",
     ip() / syn(options=[("NOP", None), ("MSS", 1460)])),
    ("syn_mss_odd_after_wscale",
     "ip()/syn(options=[('WScale', 8), ('MSS', 8960), ('SAckOK', b'')])",
     ip() / syn(options=[("WScale", 8), ("MSS", 8960), ("SAckOK", b"")])),
    ("synack_mss_last", "ip()/syn('SA', options=[('SAckOK', b''), ('Timestamp', (99, 123456)), "
     "('NOP', None), ('WScale', 7), ('MSS', 1460)])",
     ip() / syn("SA", options=[("SAckOK", b""), ("Timestamp", (99, 123456)), ("NOP", None),
                               ("WScale", 7), ("MSS", 1460)])),
    ("synack_mss_max", "ip()/syn('SA', options=[('MSS', 65535)])",
     ip() / syn("SA", options=[("MSS", 65535)])),
    ("syn_with_payload_odd", "ip()/syn(options=[('NOP', None), ('MSS', 1400)])/Raw(b'fastopen!')",
     ip() / syn(options=[("NOP", None), ("MSS", 1400)]) / Raw(b"fastopen!")),
    ("syn_two_mss", "ip()/syn(options=[('MSS', 1460), ('NOP', None), ('MSS', 9000)])",
     ip() / syn(options=[("MSS", 1460), ("NOP", None), ("MSS", 9000)])),
    ("syn_two_mss_one_low", "ip()/syn(options=[('MSS', 1200), ('MSS', 1500)])",
     ip() / syn(options=[("MSS", 1200), ("MSS", 1500)])),
    ("syn_ip_router_alert", "ip(options=[IPOption_Router_Alert()])/syn(options=[('NOP', None), "
     "('MSS', 1460)])",
     ip(options=[IPOption_Router_Alert()]) / syn(options=[("NOP", None), ("MSS", 1460)])),
    ("syn_ip_record_route", "ip(options=[IPOption_RR(routers=['192.0.2.9'])])/syn(options=["
     "('MSS', 1460), ('WScale', 2)])",
     ip(options=[IPOption_RR(routers=["192.0.2.9"])]) / syn(options=[("MSS", 1460),
                                                                      ("WScale", 2)])),
    ("syn_first_fragment", "ip(flags='MF')/syn(options=[('MSS', 1460)])/Raw(b'x' * 16)",
     ip(flags="MF") / syn(options=[("MSS", 1460)]) / Raw(b"x" * 16)),
    ("syn_mss_below", "ip()/syn(options=[('MSS', 1200), ('SAckOK', b'')])",
     ip() / syn(options=[("MSS", 1200), ("SAckOK", b"")])),
    ("syn_mss_equal", "ip()/syn('SA', options=[('MSS', 1360)])",
     ip() / syn("SA", options=[("MSS", MAX_MSS)])),
    ("syn_no_mss", "ip()/syn(options=[('SAckOK', b''), ('Timestamp', (1, 0)), ('WScale', 7)])",
     ip() / syn(options=[("SAckOK", b""), ("Timestamp", (1, 0)), ("WScale", 7)])),
    ("syn_no_options", "ip()/syn()", ip() / syn()),
    # After End of Option List the bytes are padding (RFC 9293 §3.1), even
    # when they look like an MSS option.
    ("syn_mss_after_eol", "ip()/syn(dataofs=7, options=[])/Raw(bytes.fromhex('0002040fa0000000'))",
     ip() / syn(dataofs=7, options=[]) / Raw(bytes.fromhex("0002040fa0000000"))),
    ("ack_mss_in_payload", "ip()/syn('A')/Raw(bytes.fromhex('020405b4020405b4'))",
     ip() / syn("A") / Raw(bytes.fromhex("020405b4020405b4"))),
    ("ack_with_mss_option", "ip()/syn('PA', options=[('MSS', 1460)])/Raw(b'data')",
     ip() / syn("PA", options=[("MSS", 1460)]) / Raw(b"data")),
    ("fin", "ip()/syn('FA', options=[('MSS', 1460)])",
     ip() / syn("FA", options=[("MSS", 1460)])),
    ("later_fragment", "ip(frag=3)/Raw(bytes(syn(options=[('MSS', 1460)])))",
     ip(frag=3, proto=6) / Raw(bytes(syn(options=[("MSS", 1460)])))),
    ("udp_looks_like_syn",
     "ip()/UDP(sport=49152, dport=443)/Raw(bytes(syn(options=[('MSS', 1460)])))",
     ip() / UDP(sport=49152, dport=443) / Raw(bytes(syn(options=[("MSS", 1460)])))),
]

# name, description, packet: each must give `malformed` and stay untouched.
MALFORMED = [
    ("opt_len_zero", "ip()/syn(dataofs=6)/Raw(bytes.fromhex('02000000'))",
     ip() / syn(dataofs=6) / Raw(bytes.fromhex("02000000"))),
    ("opt_len_zero_unknown_kind", "ip()/syn(dataofs=7)/Raw(bytes.fromhex('0800020405b40000'))",
     ip() / syn(dataofs=7) / Raw(bytes.fromhex("0800020405b40000"))),
    ("opt_len_one", "ip()/syn(dataofs=7)/Raw(bytes.fromhex('03010000020405b4'))",
     ip() / syn(dataofs=7) / Raw(bytes.fromhex("03010000020405b4"))),
    ("opt_beyond_header", "ip()/syn(dataofs=6)/Raw(bytes.fromhex('0101080a00000001'))",
     ip() / syn(dataofs=6) / Raw(bytes.fromhex("0101080a00000001"))),
    ("mss_beyond_header", "ip()/syn(dataofs=6)/Raw(bytes.fromhex('0101020405b4'))",
     ip() / syn(dataofs=6) / Raw(bytes.fromhex("0101020405b4"))),
    ("kind_without_length", "ip()/syn(dataofs=6)/Raw(bytes.fromhex('01010103'))",
     ip() / syn(dataofs=6) / Raw(bytes.fromhex("01010103"))),
    ("mss_len_three", "ip()/syn(dataofs=6)/Raw(bytes.fromhex('02030501'))",
     ip() / syn(dataofs=6) / Raw(bytes.fromhex("02030501"))),
    ("mss_len_six", "ip()/syn(dataofs=7)/Raw(bytes.fromhex('020605b400000000'))",
     ip() / syn(dataofs=7) / Raw(bytes.fromhex("020605b400000000"))),
    # A good MSS option before the bad one must not be clamped either.
    ("good_mss_then_bad", "ip()/syn(dataofs=7)/Raw(bytes.fromhex('020405b403000000'))",
     ip() / syn(dataofs=7) / Raw(bytes.fromhex("020405b403000000"))),
    ("data_offset_4", "ip()/syn(dataofs=4)", ip() / syn(dataofs=4)),
    ("data_offset_0", "ip()/syn(dataofs=0)", ip() / syn(dataofs=0)),
    ("data_offset_beyond_packet", "ip()/syn(dataofs=8)/Raw(bytes.fromhex('020405b4'))",
     ip() / syn(dataofs=8) / Raw(bytes.fromhex("020405b4"))),
    ("truncated_tcp_header", "ip(proto=6)/Raw(bytes(syn(options=[('MSS', 1460)]))[:19])",
     ip(proto=6) / Raw(bytes(syn(options=[("MSS", 1460)]))[:19])),
    ("first_fragment_cut_in_options",
     "ip(flags='MF', proto=6)/Raw(bytes(syn(options=[('NOP', None), "
     "('MSS', 1460)]))[:22])",
     ip(flags="MF", proto=6) / Raw(bytes(syn(options=[("NOP", None), ("MSS", 1460)]))[:22])),
]


def main():
    print(f"// ---- tcp_mss_test.cc (clamp to {MAX_MSS}) ----")
    print("// ip(**kw) = IP(src='%s', dst='%s', id=0x4d2, **kw)" % (SRC, DST))
    print("// syn(flags='S', **kw) = TCP(sport=49152, dport=443, seq=0x11223344,")
    print("//     ack=0x55667788 if 'A' in flags else 0, window=64240, flags=flags, **kw)")
    print("const ClampVector clamp_vectors[] = {")
    for name, expr, pkt in CASES:
        data = bytes(pkt)
        result, out = expected(data)
        comment(expr)
        if out == data:
            print(f'    {{"{name}", MssResult::{result},\n     {cstr(data)},\n     nullptr}},')
        else:
            print(f'    {{"{name}", MssResult::{result},\n     {cstr(data)},\n     {cstr(out)}}},')
    print("};")
    print()
    print("const MalformedVector malformed_vectors[] = {")
    for name, expr, pkt in MALFORMED:
        comment(expr)
        print(f'    {{"{name}",\n     {cstr(bytes(pkt))}}},')
    print("};")


if __name__ == "__main__":
    main()
