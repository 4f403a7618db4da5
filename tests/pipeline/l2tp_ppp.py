"""L2TP sessions as a client sees them: the L2TPv2 data message (RFC 2661
§3.1) around a PPP frame (RFC 1661 §2, RFC 1662 §3.1) around an IPv4
packet, inside UDP inside ESP. The builders here write the fields by hand
and selfcheck() holds them against scapy's own L2TP and PPP layers; nothing
is shared with the data plane."""

import struct
from dataclasses import dataclass

from scapy.layers.inet import IP, UDP
from scapy.layers.l2tp import L2TP
from scapy.layers.ppp import HDLC, PPP
from scapy.packet import Raw

from esp import inet_checksum
from gwrun import OUTSIDE_ADDR

L2TP_PORT = 1701

# RFC 2661 §3.1 header bits.
T_BIT = 0x8000
L_BIT = 0x4000
S_BIT = 0x0800
O_BIT = 0x0200
P_BIT = 0x0100

PPP_IPV4 = 0x0021
PPP_IPV6 = 0x0057
PPP_COMPRESSED = 0x00FD  # CCP/MPPE datagram (RFC 1962 §2.1, RFC 3078)
PPP_IPCP = 0x8021
PPP_IPV6CP = 0x8057
PPP_CCP = 0x80FD
PPP_LCP = 0xC021
PPP_PAP = 0xC023
PPP_CHAP = 0xC223


@dataclass
class MppeSpec:
    """The mppe group of a session: strength, mode and the start keys of
    RFC 3079 §3.3 as the gateway (the server) holds them."""
    bits: int
    stateless: bool
    send_key: bytes  # the gateway encrypts with it; the client decrypts
    recv_key: bytes  # the client encrypts with it

    def libconfig(self):
        return (f"mppe = {{ bits = {self.bits}; stateless = {'true' if self.stateless else 'false'}; "
                f'send_key = "{self.send_key.hex()}"; recv_key = "{self.recv_key.hex()}"; }};')


@dataclass
class SessionSpec:
    """One static session of the configuration (top-level `sessions`)."""
    tunnel_id: int
    session_id: int
    peer_tunnel_id: int
    peer_session_id: int
    sa_in: object  # esp.SaSpec, direction "in"
    sa_out: object  # esp.SaSpec, direction "out", same peer
    address: str  # the client's inner address
    peer_port: int = L2TP_PORT
    local_port: int = L2TP_PORT
    acfc: bool = False
    pfc: bool = False
    sequencing: bool = False
    mppe: MppeSpec = None
    ipv6_prefix: str = None  # "2001:db8:1:2::/64": IPv6 on the session

    @property
    def peer(self):
        return self.sa_in.peer

    @property
    def ids(self):
        return (self.tunnel_id, self.session_id)

    def libconfig(self):
        b = lambda v: "true" if v else "false"  # noqa: E731
        return ("{ " + f"tunnel_id = {self.tunnel_id}; session_id = {self.session_id}; "
                f"peer_tunnel_id = {self.peer_tunnel_id}; peer_session_id = {self.peer_session_id}; "
                f'peer = "{self.peer}"; peer_port = {self.peer_port}; local_port = {self.local_port}; '
                f"sa_in = {self.sa_in.spi:#x}; sa_out = {self.sa_out.spi:#x}; "
                f'address = "{self.address}"; acfc = {b(self.acfc)}; pfc = {b(self.pfc)}; '
                f"sequencing = {b(self.sequencing)};" + (" " + self.mppe.libconfig() if self.mppe else "")
                + (f' ipv6_prefix = "{self.ipv6_prefix}";' if self.ipv6_prefix else "")
                + " }")


def l2tp_header(tunnel_id, session_id, payload_len, length=False, ns=None, nr=0, offset=None, priority=False,
                control=False, version=2, length_value=None, extra_flags=0):
    """An L2TPv2 header for a payload of payload_len bytes. length: L bit with
    the true total (or length_value, to lie); ns: S bit with Ns/Nr; offset:
    O bit with that Offset Size and as many zero pad bytes; extra_flags: bits
    OR-ed in as they are (reserved bits, which a receiver ignores)."""
    flags = version | extra_flags
    if control:
        flags |= T_BIT
    if length:
        flags |= L_BIT
    if ns is not None:
        flags |= S_BIT
    if offset is not None:
        flags |= O_BIT
    if priority:
        flags |= P_BIT
    tail = struct.pack("!HH", tunnel_id, session_id)
    if ns is not None:
        tail += struct.pack("!HH", ns, nr)
    if offset is not None:
        tail += struct.pack("!H", offset) + bytes(offset)
    if not length:
        return struct.pack("!H", flags) + tail
    total = 4 + len(tail) + payload_len
    return struct.pack("!HH", flags, total if length_value is None else length_value) + tail


def ppp_header(protocol, acfc=False, pfc=False):
    """Address/Control FF 03 unless acfc, then the Protocol field: one byte
    when pfc and the value fits (RFC 1661 §6.5), else two."""
    hdr = b"" if acfc else b"\xff\x03"
    if pfc and protocol < 0x100:
        return hdr + bytes([protocol])
    return hdr + struct.pack("!H", protocol)


def udp_datagram(src, dst, sport, dport, payload, csum_src=None):
    """UDP bytes with the checksum over csum_src's pseudo-header (default
    src): a client behind a NAT computes it with its private address."""
    pkt = IP(src=csum_src or src, dst=dst) / UDP(sport=sport, dport=dport) / Raw(payload)
    return bytes(IP(bytes(pkt))[UDP])


def client_l4(session, inner, protocol=PPP_IPV4, acfc=False, pfc=False, ids=None, sport=None, ppp=None,
              csum_src=None, trailer=b"", **l2tp):
    """The UDP datagram a client sends for one PPP frame: inner (bytes) as
    the information field of protocol; ppp: the whole PPP frame instead;
    ids: other (tunnel, session) ids than the session's own local ones;
    trailer: bytes after the L2TP message inside the UDP payload."""
    tid, sid = ids or session.ids
    frame = ppp if ppp is not None else ppp_header(protocol, acfc, pfc) + bytes(inner)
    msg = l2tp_header(tid, sid, len(frame), **l2tp) + frame + trailer
    return udp_datagram(session.peer, OUTSIDE_ADDR, sport or session.peer_port, L2TP_PORT, msg, csum_src)


def with_ttl(ip_bytes, ttl):
    """ip_bytes with another TTL and its header checksum recomputed from
    scratch (RFC 1071), not incrementally."""
    b = bytearray(ip_bytes)
    ihl = (b[0] & 0xF) * 4
    b[8] = ttl
    b[10:12] = b"\0\0"
    b[10:12] = struct.pack("!H", inet_checksum(bytes(b[:ihl])))
    return bytes(b)


def forwarded(ip_bytes):
    """What a router makes of an IPv4 packet it forwards: TTL - 1."""
    return with_ttl(ip_bytes, ip_bytes[8] - 1)


def encap_plain(session, inner_fwd, ns=None):
    """The IPv4 packet the gateway must protect with session.sa_out for the
    inner packet inner_fwd (already forwarded): outer IPv4 from us to the
    peer (TTL 64, id 0, no DF), UDP local_port → peer_port with checksum 0,
    L2TP data header without L/O/P, S with Ns when sequencing, the PPP
    header the session negotiated."""
    return encap_frame(session, ppp_header(PPP_IPV4, session.acfc, session.pfc) + inner_fwd, ns)


def encap_frame(session, frame, ns=None):
    """As encap_plain, for a whole PPP frame (an MPPE one, say)."""
    msg = l2tp_header(session.peer_tunnel_id, session.peer_session_id, len(frame),
                      ns=ns if session.sequencing else None) + frame
    udp = struct.pack("!HHHH", session.local_port, session.peer_port, 8 + len(msg), 0) + msg
    return bytes(IP(src=OUTSIDE_ADDR, dst=session.peer, ttl=64, id=0, flags=0, tos=0, proto=17) / Raw(udp))


def selfcheck(check):
    """The hand-written builders against scapy: every header scapy can
    write byte for byte, and scapy's dissection of the others.
    check(name, cond, detail) records one result."""
    inner = bytes(IP(src="10.1.0.7", dst="10.0.0.2", ttl=9, id=7) / UDP(sport=5, dport=6) / Raw(b"xyz"))
    # L2TP, data messages: every L/S/P combination, and O with an Offset
    # Size of 2 (scapy aligns its Offset Size field to 4 bytes, which is
    # the RFC layout only for a size of 2).
    for length in (False, True):
        for seq in (None, 0x1234):
            for offset in (None, 2):
                for prio in (False, True):
                    mine = l2tp_header(0x0102, 0x0304, len(inner), length=length, ns=seq, nr=0x5678 if seq else 0,
                                       offset=offset, priority=prio) + inner
                    hdr = ((["length"] if length else []) + (["sequence"] if seq else [])
                           + (["offset"] if offset else []) + (["priority"] if prio else []))
                    kw = {"ns": seq, "nr": 0x5678} if seq else {}
                    if offset:
                        kw["offset"] = offset
                    theirs = bytes(L2TP(hdr="+".join(hdr) or 0, tunnel_id=0x0102, session_id=0x0304, **kw)
                                   / Raw(inner))
                    check(f"builder: L2TP data header {'+'.join(hdr) or 'plain'} equals scapy's", mine == theirs,
                          f"mine {mine[:16].hex()} scapy {theirs[:16].hex()}")
    # Other Offset Sizes: scapy cannot write them; its dissection of the
    # fields before the offset pad must still agree.
    for size in (0, 1, 5):
        mine = l2tp_header(7, 9, len(inner), length=True, ns=3, nr=4, offset=size)
        d = L2TP(mine + inner)
        check(f"builder: L2TP offset size {size} read back by scapy",
              (int(d.hdr), d.version, d.len, d.tunnel_id, d.session_id, d.ns, d.nr, d.offset)
              == (0x4A0, 2, len(mine) + len(inner), 7, 9, 3, 4, size)
              and len(mine) == 14 + size and mine[14:] == bytes(size), mine.hex())
    ctl = l2tp_header(0, 0, 6, length=True, ns=1, nr=2, control=True)
    theirs = bytes(L2TP(hdr="control+length+sequence", tunnel_id=0, session_id=0, ns=1, nr=2) / Raw(bytes(6)))
    check("builder: L2TP control header equals scapy's", ctl + bytes(6) == theirs, f"{ctl.hex()} {theirs.hex()}")
    # PPP: scapy writes the compressed protocol field for values below 0x100
    # and reads both forms.
    for acfc in (False, True):
        mine = ppp_header(PPP_IPV4, acfc=acfc, pfc=True) + inner
        theirs = bytes((PPP(proto=0x21) if acfc else HDLC() / PPP(proto=0x21)) / Raw(inner))
        check(f"builder: PPP {'no FF 03' if acfc else 'FF 03'}, 1-byte protocol equals scapy's", mine == theirs,
              f"{mine[:4].hex()} {theirs[:4].hex()}")
        for proto in (PPP_IPV4, PPP_LCP, PPP_IPCP):
            frame = ppp_header(proto, acfc=acfc, pfc=False) + inner
            d = PPP(frame)
            p = d[PPP]
            check(f"builder: PPP {'no FF 03' if acfc else 'FF 03'}, protocol {proto:#06x} in 2 bytes read by scapy",
                  p.proto == proto and len(frame) - len(inner) == (2 if acfc else 4)
                  and (acfc or (getattr(d, "address", None), getattr(d, "control", None)) == (0xFF, 0x03)),
                  frame[:4].hex())
    # A whole encapsulated packet dissected by scapy down to the inner IPv4.
    s = SessionSpec(1, 1, 100, 200, _Peer("198.51.100.7"), _Peer("198.51.100.7"), "10.1.0.7", peer_port=1701)
    d = IP(encap_plain(s, inner))
    check("builder: encapsulated packet read back by scapy",
          d[UDP].sport == 1701 and d[UDP].dport == 1701 and d[UDP].chksum == 0 and d[UDP].len == 8 + 6 + 4 + len(inner)
          and d[L2TP].tunnel_id == 100 and d[L2TP].session_id == 200 and int(d[L2TP].hdr) == 0
          and d[PPP].proto == 0x21 and bytes(d[PPP].payload) == inner and d.ttl == 64 and d.id == 0 and d.flags == 0,
          encap_plain(s, inner).hex())
    fwd = forwarded(inner)
    theirs = IP(inner)
    theirs.ttl -= 1
    del theirs.chksum
    check("builder: forwarded() equals scapy's TTL - 1 with a fresh checksum", fwd == bytes(theirs),
          f"{fwd.hex()} {bytes(theirs).hex()}")


@dataclass
class _Peer:
    peer: str
    spi: int = 0
