"""L2TP/PPP sessions in the data plane (RFC 2661 §3.1, RFC 1661 §2). Five
static sessions of four clients: one client on raw ESP; two clients behind
one NAT (same address, their own UDP 4500 source ports, SAs and L2TP ports);
one client with two sessions in one tunnel over one SA.

From the clients: every combination of the L2TP L, S, O and P bits and of
the PPP Address/Control and Protocol forms carries IPv4 packets that must
leave the inside port to the next hop's MAC with TTL - 1 and a fresh header
checksum, every other byte unchanged; L2TP control goes to the control plane
as `l2tp`, PPP control protocols as `ppp`, each as the decapsulated packet;
everything else wrong is dropped under its own reason with an exact count.
From the inside: packets to each client's address leave in its PPP, L2TP,
UDP and ESP, compared byte for byte with scapy's encryption of what we
expect (IV and sequence number read from the frame), then decrypted and
dissected by scapy. Per-session counters from the shared segment and from
l2tpgwctl."""

import struct

from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.l2tp import L2TP
from scapy.layers.ppp import PPP
from scapy.packet import Raw

import l2tp_ppp as lp
from esp import SaSpec, decrypt, expected_decap, inet_checksum, parse_esp_frame, protect
from gwrun import INSIDE_HOST_MAC, INSIDE_MAC, OUTSIDE_MAC, find_session
from l2tp_ppp import SessionSpec
from segment import Segment
from traffic import ip_packet, mac_bytes, to_inside, to_outside

INSIDE_HOST = "10.0.0.2"
INSIDE_GW = "10.0.0.254"
INSIDE_GW_MAC = "02:00:00:00:0a:fe"
FAR_HOST = "192.0.2.33"  # off-link, through the inside port's gateway
DELETED = (4, 0xFFFF)  # the session deleted through l2tpgwctl at the end

PEER_A, MAC_A = "198.51.100.7", "02:00:00:00:00:07"
NAT, MAC_NAT = "198.51.100.20", "02:00:00:00:00:20"
PEER_D, MAC_D = "198.51.100.30", "02:00:00:00:00:30"


def inner_packet(src, dst, kind, size, ttl=64, ip_id=1, tos=0, df=False):
    """A well-formed IPv4 packet of `size` payload bytes after the L4
    header, checksums by scapy."""
    payload = bytes((ip_id + i) & 0xFF for i in range(size))
    l4 = {"udp": UDP(sport=40000 + ip_id % 1000, dport=53),
          "icmp": ICMP(type=8, id=ip_id, seq=1),
          "tcp": TCP(sport=33000, dport=443, flags="PA", seq=ip_id * 1000)}[kind]
    return bytes(IP(src=src, dst=dst, ttl=ttl, id=ip_id, tos=tos, flags="DF" if df else 0) / l4 / Raw(payload))


def next_hop_mac(dst):
    return INSIDE_HOST_MAC if dst == INSIDE_HOST else INSIDE_GW_MAC


class Plan:
    """What is sent to the gateway and what each frame must become."""

    def __init__(self):
        self.outside = []  # frames into the outside port
        self.inside = []  # frames into the inside port
        self.exp_inside = []  # frames out of the inside port, in order
        self.exp_punts = []  # (reason, decapsulated packet), in order
        self.drops = {}  # reason -> [labels]
        self.esp_seq = {}  # inbound SPI -> last sequence number used
        self.sa_in = {}  # inbound SPI -> [packets, transport bytes]
        self.sess = {}  # local ids -> expected counters
        self.encap = {}  # outbound SPI -> [(session, inner packet as sent)]

    def counters(self, s):
        return self.sess.setdefault(s.ids, dict(rx_packets=0, rx_bytes=0, tx_packets=0, tx_bytes=0, spoofed=0,
                                                punted=0))

    def from_client(self, sa, l4, src_mac, ip_id):
        """One ESP packet through inbound SA sa carrying UDP bytes l4; returns
        the IP packet on the wire."""
        self.esp_seq[sa.spi] = self.esp_seq.get(sa.spi, 0) + 1
        ip = ip_packet(sa.peer, lp.OUTSIDE_ADDR, 17, l4, ip_id=ip_id & 0xFFFF, ttl=50)
        wire = protect(sa, ip, self.esp_seq[sa.spi])
        self.outside.append(to_outside(wire, src_mac))
        c = self.sa_in.setdefault(sa.spi, [0, 0])
        c[0] += 1
        c[1] += len(l4)
        return wire

    def forward(self, s, src_mac, inner, sa=None, **kw):
        """inner from session s (through its inbound SA unless sa is given)
        that must come out of the inside port."""
        self.from_client(sa or s.sa_in, lp.client_l4(s, inner, csum_src=_private(s), **kw), src_mac, len(self.outside))
        dst = IP(inner).dst
        self.exp_inside.append(mac_bytes(next_hop_mac(dst)) + mac_bytes(INSIDE_MAC) + b"\x08\x00"
                               + lp.forwarded(inner))
        c = self.counters(s)
        c["rx_packets"] += 1
        c["rx_bytes"] += len(inner)

    def punt(self, reason, s, src_mac, sa=None, l4=None, **kw):
        sa = sa or s.sa_in
        l4 = l4 or lp.client_l4(s, b"", csum_src=_private(s), **kw)
        wire = self.from_client(sa, l4, src_mac, len(self.outside))
        self.exp_punts.append((reason, expected_decap(wire, l4, 17, sa.udp)))
        if reason == "ppp":
            self.counters(s)["punted"] += 1

    def drop(self, reason, label, s, src_mac, sa=None, l4=None, inner=None, **kw):
        sa = sa or s.sa_in
        if l4 is None:
            if inner is None:
                inner = inner_packet(s.address, INSIDE_HOST, "udp", 20, ip_id=len(self.outside))
            l4 = lp.client_l4(s, inner, csum_src=_private(s), **kw)
        self.from_client(sa, l4, src_mac, len(self.outside))
        self.drops.setdefault(reason, []).append(label)

    def to_client(self, s, inner, src_mac=INSIDE_HOST_MAC):
        self.inside.append(to_inside(inner, src_mac))
        self.encap.setdefault(s.sa_out.spi, []).append((s, inner))
        c = self.counters(s)
        c["tx_packets"] += 1
        c["tx_bytes"] += len(inner)

    def inside_drop(self, reason, label, inner):
        self.inside.append(to_inside(inner))
        self.drops.setdefault(reason, []).append(label)


def _private(s):
    """A NAT-T client computes its UDP checksums with its private address."""
    return f"192.168.1.{s.session_id % 200 + 10}" if s.sa_in.udp else None


def clients(gw):
    def pair(n, peer, mac, cipher, auth, encap="none", port=4500):
        sa_in = gw.add_sa(SaSpec("in", 0x1000 + n, peer, cipher, auth, encap=encap, peer_port=port))
        sa_out = gw.add_sa(SaSpec("out", 0x2000 + n, peer, cipher, auth, encap=encap, peer_port=port, peer_mac=mac))
        return sa_in, sa_out

    a_in, a_out = pair(1, PEER_A, MAC_A, "aes-cbc-128", "hmac-sha1-96")
    b_in, b_out = pair(2, NAT, MAC_NAT, "aes-gcm-128", "none", "udp", 40001)
    c_in, c_out = pair(3, NAT, MAC_NAT, "aes-cbc-256", "hmac-sha256-128", "udp", 40002)
    d_in, d_out = pair(4, PEER_D, MAC_D, "aes-gcm-256", "none")
    a = SessionSpec(1, 1, 100, 200, a_in, a_out, "10.1.0.7")
    b = SessionSpec(2, 5, 0x1234, 0x0BCD, b_in, b_out, "10.1.0.20", acfc=True, pfc=True, sequencing=True)
    # Same session id as b in another tunnel; a client L2TP port other than
    # 1701, as macOS and iOS use.
    c = SessionSpec(3, 5, 7, 0xFFFE, c_in, c_out, "10.1.0.21", peer_port=50123, pfc=True)
    d1 = SessionSpec(4, 1, 40, 41, d_in, d_out, "10.1.0.30", acfc=True)
    d2 = SessionSpec(4, 0xFFFF, 40, 0xFFFF, d_in, d_out, "10.1.0.31", sequencing=True)
    sessions = [a, b, c, d1, d2]
    for s in sessions:
        gw.add_session(s)
    # Second inbound SAs of peers a and b, as an IKE rekey leaves them: a's
    # at its address (raw ESP), b's at its address and UDP port behind the NAT.
    global REKEYED
    REKEYED = {"a": gw.add_sa(SaSpec("in", 0x1011, PEER_A, "aes-cbc-256", "hmac-sha256-128")),
               "b": gw.add_sa(SaSpec("in", 0x1012, NAT, "aes-cbc-128", "hmac-sha1-96", encap="udp",
                                     peer_port=40001))}
    return sessions


REKEYED = {}


# A Configure-Request with no options, an Echo-Request with its magic
# number (RFC 1661 §5.1, §5.8), PAP Authenticate-Request (RFC 1334 §2.2.1),
# CHAP Response (RFC 1994 §4.1), IPCP Configure-Request with
# IP-Address 0.0.0.0 (RFC 1332 §3.3), CCP Configure-Request with the MPPE
# option (RFC 2118 §2), IPV6CP Configure-Request (RFC 5072 §4.1), then
# a protocol below 0x8000 that only the control plane can answer.
PPP_CONTROL = [
    (lp.PPP_LCP, bytes.fromhex("01010004")),
    (lp.PPP_LCP, bytes.fromhex("0902000812345678")),
    (lp.PPP_PAP, bytes.fromhex("0103000e04757365720470617373")),
    (lp.PPP_CHAP, bytes.fromhex("0207001510") + bytes(range(16))),
    (lp.PPP_IPCP, bytes.fromhex("0104000a0306" + "00000000")),
    (lp.PPP_CCP, bytes.fromhex("0105000a1206010000e0")),
    (lp.PPP_IPV6CP, bytes.fromhex("0106000e010a0011223344556677")),
    # A network protocol the data plane does not carry (Multilink, RFC 1990
    # §2): the control plane must answer Protocol-Reject (RFC 1661 §5.7).
    (0x003D, bytes.fromhex("c000000100")),
]


def l2tp_hello(tunnel_id, ns, nr):
    """A HELLO control message (RFC 2661 §6.5): T, L, S, the Message Type
    AVP (§4.4.1) with value 6."""
    avp = struct.pack("!HHHH", 0x8008, 0, 0, 6)
    return lp.l2tp_header(tunnel_id, 0, len(avp), length=True, ns=ns, nr=nr, control=True) + avp


def plan_traffic(plan, a, b, c, d1, d2):
    # --- Session a: every L/S/O/P combination, every PPP form. ---
    forms = [(False, False), (True, False), (False, True), (True, True)]  # (acfc, pfc)
    k = 0
    for length in (False, True):
        for ns in (None, 0x0102):
            for offset in (None, 0, 3):
                for prio in (False, True):
                    acfc, pfc = forms[k % 4]
                    dst = INSIDE_HOST if k % 3 else FAR_HOST
                    kind, size = [("udp", 1), ("icmp", 56), ("tcp", 300), ("udp", 1372)][k % 4]
                    inner = inner_packet(a.address, dst, kind, size, ttl=2 + 9 * k, ip_id=0x100 + k, tos=4 * k,
                                         df=k % 2 == 0)
                    plan.forward(a, MAC_A, inner, acfc=acfc, pfc=pfc, length=length, ns=ns, nr=0x0304 if ns else 0,
                                 offset=offset, priority=prio)
                    k += 1
    # Reserved bits set (RFC 2661 §3.1: ignored on receipt); bytes after the
    # message when Length says where it ends.
    plan.forward(a, MAC_A, inner_packet(a.address, INSIDE_HOST, "udp", 30, ip_id=0x180), extra_flags=0x34F0)
    plan.forward(a, MAC_A, inner_packet(a.address, INSIDE_HOST, "udp", 31, ip_id=0x181), length=True,
                 trailer=b"\xee\xee\xee")

    # --- Control: L2TP control and PPP control protocols. ---
    plan.punt("l2tp", a, MAC_A, l4=lp.udp_datagram(a.peer, lp.OUTSIDE_ADDR, a.peer_port, 1701,
                                                   l2tp_hello(a.tunnel_id, 3, 4)))
    for i, (proto, body) in enumerate(PPP_CONTROL):
        acfc = i == 4  # one frame without FF 03
        plan.punt("ppp", a, MAC_A, protocol=proto, ppp=lp.ppp_header(proto, acfc=acfc) + body)

    # --- Two clients behind one NAT. ---
    for i in range(4):
        acfc, pfc = forms[(i + 1) % 4]
        plan.forward(b, MAC_NAT, inner_packet(b.address, INSIDE_HOST if i % 2 else FAR_HOST, "udp", 40 + 100 * i,
                                              ip_id=0x200 + i), acfc=acfc, pfc=pfc, ns=i, length=i == 2)
        plan.forward(c, MAC_NAT, inner_packet(c.address, INSIDE_HOST, "tcp", 10 + 7 * i, ip_id=0x300 + i),
                     acfc=acfc, pfc=pfc, offset=2 if i == 1 else None)
    plan.punt("ppp", b, MAC_NAT, ppp=lp.ppp_header(lp.PPP_LCP) + PPP_CONTROL[1][1])
    plan.punt("ppp", c, MAC_NAT, ppp=lp.ppp_header(lp.PPP_IPCP, acfc=True) + PPP_CONTROL[4][1])
    plan.punt("l2tp", c, MAC_NAT, l4=lp.udp_datagram(NAT, lp.OUTSIDE_ADDR, c.peer_port, 1701,
                                                     l2tp_hello(c.tunnel_id, 9, 1), csum_src="192.168.1.77"))

    # --- Two sessions over one SA. ---
    for i in range(3):
        plan.forward(d1, MAC_D, inner_packet(d1.address, FAR_HOST, "icmp", 20 + i, ip_id=0x400 + i))
        plan.forward(d2, MAC_D, inner_packet(d2.address, INSIDE_HOST, "udp", 90 + i, ip_id=0x500 + i), ns=i,
                     acfc=True, pfc=True)
    plan.punt("ppp", d2, MAC_D, ppp=lp.ppp_header(lp.PPP_LCP) + PPP_CONTROL[0][1])

    # --- Drops. ---
    inner = lambda s, **kw: inner_packet(s.address, INSIDE_HOST, "udp", 24, ip_id=len(plan.outside), **kw)  # noqa: E731
    plan.drop("l2tp_unknown_session", "a's tunnel, session 9", a, MAC_A, ids=(1, 9))
    plan.drop("l2tp_unknown_session", "tunnel 9, a's session", a, MAC_A, ids=(9, 1))
    plan.drop("l2tp_unknown_session", "a's peer-side ids", a, MAC_A, ids=(100, 200))
    plan.drop("l2tp_wrong_sa", "b's ids in a's SA", a, MAC_A, ids=b.ids, inner=inner(b))
    plan.drop("l2tp_wrong_sa", "c's ids and port in b's SA (same NAT)", b, MAC_NAT, ids=c.ids, sport=c.peer_port,
              inner=inner(c))
    plan.drop("l2tp_wrong_sa", "b's ids in c's SA (same NAT)", c, MAC_NAT, ids=b.ids, sport=b.peer_port,
              inner=inner(b))
    plan.drop("l2tp_wrong_sa", "b's ids in b's SA from c's L2TP port", b, MAC_NAT, sport=c.peer_port)
    plan.drop("l2tp_wrong_sa", "a's ids in d's SA", d1, MAC_D, ids=a.ids, inner=inner(a))
    # Around a rekey a session takes any inbound SA of its own peer, and no other's.
    plan.forward(a, MAC_A, inner_packet(a.address, INSIDE_HOST, "udp", 50, ip_id=0x700), sa=REKEYED["a"])
    plan.forward(b, MAC_NAT, inner_packet(b.address, INSIDE_HOST, "udp", 51, ip_id=0x701), sa=REKEYED["b"],
                 acfc=True, pfc=True, ns=4)
    plan.drop("l2tp_wrong_sa", "d's ids in a's second SA", a, MAC_A, sa=REKEYED["a"], ids=d1.ids, inner=inner(d1))
    plan.drop("l2tp_wrong_sa", "c's ids and port in b's second SA (same NAT, other UDP port)", b, MAC_NAT,
              sa=REKEYED["b"], ids=c.ids, sport=c.peer_port, inner=inner(c))
    plan.drop("l2tp_malformed", "Length beyond the message", a, MAC_A, length=True, length_value=1000)
    plan.drop("l2tp_malformed", "Length 4, below the header", a, MAC_A, length=True, length_value=4)
    plan.drop("l2tp_malformed", "version 3", a, MAC_A, version=3)
    plan.drop("l2tp_malformed", "version 1", a, MAC_A, version=1)
    plan.drop("l2tp_malformed", "4 bytes of header", a, MAC_A,
              l4=lp.udp_datagram(a.peer, lp.OUTSIDE_ADDR, 1701, 1701, struct.pack("!HH", 0x0002, 1)))
    plan.drop("l2tp_malformed", "S set, message ends after the session id", a, MAC_A,
              l4=lp.udp_datagram(a.peer, lp.OUTSIDE_ADDR, 1701, 1701, struct.pack("!HHH", 0x0802, 1, 1)))
    plan.drop("l2tp_malformed", "Offset Size beyond the message", a, MAC_A,
              l4=lp.udp_datagram(a.peer, lp.OUTSIDE_ADDR, 1701, 1701,
                                 struct.pack("!HHHH", 0x0202, 1, 1, 200) + bytes(20)))
    for label, frame in (("no PPP bytes", b""), ("FF", b"\xff"), ("FF 03", b"\xff\x03"),
                         ("FF 03 00", b"\xff\x03\x00"), ("FF 05: bad Control", b"\xff\x05\x00\x21" + inner(a)),
                         ("protocol 0x0020: even low byte", b"\x00\x20" + inner(a))):
        plan.drop("ppp_malformed", label, a, MAC_A, ppp=frame)
    for label, proto, pfc in (("IPv6", lp.PPP_IPV6, False), ("IPv6, 1-byte protocol", lp.PPP_IPV6, True),
                              ("MPPE", lp.PPP_COMPRESSED, False), ("MPPE, 1-byte protocol", lp.PPP_COMPRESSED, True)):
        plan.drop("ppp_protocol", label, a, MAC_A, ppp=lp.ppp_header(proto, pfc=pfc) + bytes(40))
    good = inner(a)
    bad_csum = bytearray(good)
    bad_csum[10] ^= 0x21
    longer = bytearray(good)
    longer[2:4] = struct.pack("!H", len(good) + 4)
    longer = lp.with_ttl(bytes(longer), longer[8])
    ihl4 = bytearray(good)
    ihl4[0] = 0x44
    ihl4 = lp.with_ttl(bytes(ihl4), ihl4[8])
    v6 = bytearray(good)
    v6[0] = 0x65
    v6 = lp.with_ttl(bytes(v6), v6[8])
    for label, pkt in (("header checksum wrong", bytes(bad_csum)), ("total length beyond the frame", longer),
                       ("IHL 4", ihl4), ("version 6 in protocol 0x0021", v6), ("12 bytes", good[:12])):
        plan.drop("inner_malformed", label, a, MAC_A, inner=pkt)
    for label, s, src in (("a from 10.1.0.99", a, "10.1.0.99"), ("a from b's address", a, b.address),
                          ("d1 from d2's address (same SA)", d1, d2.address)):
        plan.drop("inner_spoofed", label, s, MAC_D if s is d1 else MAC_A,
                  inner=inner_packet(src, INSIDE_HOST, "udp", 8, ip_id=len(plan.outside)))
        plan.counters(s)["spoofed"] += 1
    plan.drop("inner_ttl", "a: TTL 1", a, MAC_A, inner=inner(a, ttl=1))
    plan.drop("inner_ttl", "b: TTL 1", b, MAC_NAT, inner=inner(b, ttl=1), ns=77)
    # Good packets after all that.
    plan.forward(a, MAC_A, inner_packet(a.address, INSIDE_HOST, "udp", 64, ip_id=0x190))
    plan.forward(c, MAC_NAT, inner_packet(c.address, FAR_HOST, "udp", 64, ip_id=0x390))

    # --- Inside to the clients. ---
    for i, (kind, size) in enumerate([("udp", 1), ("icmp", 56), ("tcp", 1300)]):
        plan.to_client(a, inner_packet(INSIDE_HOST, a.address, kind, size, ttl=64 - i, ip_id=0x600 + i, df=i == 2))
    plan.to_client(a, inner_packet(FAR_HOST, a.address, "udp", 100, ttl=30, ip_id=0x610), src_mac=INSIDE_GW_MAC)
    for i in range(4):
        plan.to_client(b, inner_packet(INSIDE_HOST, b.address, "udp", 10 + 200 * i, ip_id=0x700 + i, tos=0x10))
        plan.to_client(c, inner_packet(INSIDE_HOST, c.address, "tcp", 5 + 100 * i, ip_id=0x800 + i))
    for i in range(3):
        plan.to_client(d2, inner_packet(INSIDE_HOST, d2.address, "udp", 50 + i, ip_id=0x900 + i))
        plan.to_client(d1, inner_packet(INSIDE_HOST, d1.address, "icmp", 60 + i, ip_id=0x910 + i))
    plan.inside_drop("no_session", "to 10.1.0.99", inner_packet(INSIDE_HOST, "10.1.0.99", "udp", 10, ip_id=0x9A0))
    plan.inside_drop("no_session", "to 10.1.0.8", inner_packet(INSIDE_HOST, "10.1.0.8", "icmp", 10, ip_id=0x9A1))
    plan.inside_drop("inner_ttl", "inside: TTL 1 to a's address",
                     inner_packet(INSIDE_HOST, a.address, "udp", 10, ttl=1, ip_id=0x9A2))


def check_encap(t, plan, res):
    by_spi = {}
    for f in res.outside_out:
        udp = len(f) > 23 and f[23] == 17
        by_spi.setdefault(parse_esp_frame(f, udp)[0], []).append(f)
    t.eq("outside: ESP frames", len(res.outside_out), sum(len(v) for v in plan.encap.values()))
    t.eq("outside: SPIs", sorted(by_spi), sorted(plan.encap))
    st = res.stats
    for spi, items in sorted(plan.encap.items()):
        sa = items[0][0].sa_out
        name = f"encap SA {spi:#x} {sa.cipher}/{sa.encap}"
        got = by_spi.get(spi, [])
        if not t.eq(f"{name}: frames", len(got), len(items)):
            continue
        ns = {}
        seqs, mismatch, plain_bad, dissect_bad = [], [], [], []
        for (s, inner), f in zip(items, got):
            _, seq, iv_off = parse_esp_frame(f, sa.udp)
            seqs.append(seq)
            n = ns.get(s.ids, 0)
            ns[s.ids] = n + 1
            fwd = lp.forwarded(inner)
            plain = lp.encap_plain(s, fwd, ns=n)
            exp = mac_bytes(sa.peer_mac) + mac_bytes(OUTSIDE_MAC) + b"\x08\x00" + protect(
                sa, IP(plain), seq, iv=f[iv_off:iv_off + sa.iv_len])
            if f != exp and not mismatch:
                mismatch = [f, exp]
            try:
                dec = decrypt(sa, f[14:])
            except Exception as e:  # scapy raises on a bad ICV
                dec = repr(e).encode()
            if dec != plain and not plain_bad:
                plain_bad = [dec, plain]
            why = _dissect(dec, s, fwd, n)
            if why and not dissect_bad:
                dissect_bad = [f"session {s.ids} packet {n}: {why}"]
        t.eq(f"{name}: ESP sequence numbers 1..n in order", seqs, list(range(1, len(items) + 1)))
        t.bytes_eq(f"{name}: frames equal scapy's encryption of the expected packet", *(mismatch or [b"", b""]))
        t.bytes_eq(f"{name}: scapy decrypts to the expected packet", *(plain_bad or [b"", b""]))
        t.check(f"{name}: scapy's dissection (UDP, L2TP ids/flags/Ns, PPP, inner)", not dissect_bad,
                "; ".join(dissect_bad))
        t.eq(f"{name}: SA packets and bytes",
             (st.sa_counter("out", spi, "packets"), st.sa_counter("out", spi, "bytes")),
             (len(items), sum(len(lp.encap_plain(s, inner, 0 if s.sequencing else None)) - 20 for s, inner in items)))


def _dissect(dec, s, fwd, n):
    """What scapy reads in a decrypted packet, against the session; '' when
    all is as it must be."""
    try:
        p = IP(dec)
        udp, l2tp = p[UDP], p[L2TP]
        ppp = p[PPP]
    except Exception as e:  # IndexError: a layer missing
        return f"not IP/UDP/L2TP/PPP: {e!r}"
    want_hdr = 0x80 if s.sequencing else 0  # scapy's 12-bit flag field: S
    got = (p.src, p.dst, p.ttl, p.id, int(p.flags), p.proto, inet_checksum(dec[:20]),
           udp.sport, udp.dport, udp.len, udp.chksum, int(l2tp.hdr), l2tp.version, l2tp.tunnel_id, l2tp.session_id,
           l2tp.ns if s.sequencing else None, l2tp.nr if s.sequencing else None, ppp.proto, bytes(ppp.payload),
           dec[p.ihl * 4 + 8 + (10 if s.sequencing else 6)] == 0xFF)
    exp = (lp.OUTSIDE_ADDR, s.peer, 64, 0, 0, 17, 0, s.local_port, s.peer_port, len(dec) - 20, 0, want_hdr, 2,
           s.peer_tunnel_id, s.peer_session_id, n if s.sequencing else None, 0 if s.sequencing else None, 0x21,
           fwd, not s.acfc)
    if got == exp:
        return ""
    return f"got {got[:-2]}, expected {exp[:-2]} (inner packet or FF 03 differ: {got[-2:] != exp[-2:]})"


def check_sessions(t, plan, sessions, seg_view, ctl_view, stats_doc):
    """Per-session counters: from the shared segment (always), from
    `l2tpgwctl sessions --json` and `stats --json` when they carry them."""
    seg_dir, seg_counters = seg_view
    for s in sessions:
        name = f"session {s.tunnel_id}/{s.session_id}"
        exp = plan.counters(s)
        e = next((d for d in seg_dir if (d["tunnel_id"], d["session_id"]) == s.ids), None)
        if not t.check(f"{name}: in the segment's session directory", e is not None, f"directory: {seg_dir}"):
            continue
        t.eq(f"{name}: directory entry as configured",
             (e["peer_tunnel_id"], e["peer_session_id"], e["peer"], e["peer_port"], e["local_port"], e["sa_in"],
              e["sa_out"], e["address"], e["acfc"], e["pfc"], e["sequencing"]),
             (s.peer_tunnel_id, s.peer_session_id, s.peer, s.peer_port, s.local_port, s.sa_in.spi, s.sa_out.spi,
              s.address, s.acfc, s.pfc, s.sequencing))
        got = seg_counters[e["slot"]]
        t.eq(f"{name}: counters in the segment", {k: got[k] for k in exp}, exp)
        for src, doc in (("l2tpgwctl sessions --json", ctl_view), ("l2tpgwctl stats --json", stats_doc)):
            if doc is None or not (isinstance(doc, list) or "sessions" in doc):
                continue
            entry = find_session(doc, *s.ids)
            if not t.check(f"{name}: listed by {src}", entry is not None, f"{str(doc)[:400]}"):
                continue
            c = entry.get("counters", entry)
            t.eq(f"{name}: counters from {src}", {k: _num(c.get(k)) for k in exp}, exp)
            fields = ("peer_tunnel_id", "peer_session_id", "peer", "peer_port", "local_port", "sa_in", "sa_out",
                      "address", "acfc", "pfc", "sequencing")
            t.eq(f"{name}: settings from {src}", {k: _num(entry.get(k)) for k in fields},
                 {k: _num(e[k]) for k in fields})
    t.eq("session directory: exactly the configured sessions", len(seg_dir), len(sessions))


def _num(v):
    """Numbers l2tpgwctl may print as strings ("0x1001") as ints; other
    strings (addresses) as they are."""
    if isinstance(v, str):
        try:
            return int(v, 0)
        except ValueError:
            return v
    return v


def run(ctx, t):
    lp.selfcheck(t.check)

    gw = ctx.gateway("sessions")
    gw.inside_neighbors[INSIDE_HOST] = INSIDE_HOST_MAC
    gw.inside_neighbors[INSIDE_GW] = INSIDE_GW_MAC
    gw.inside_gateway = INSIDE_GW
    sessions = clients(gw)
    plan = Plan()
    plan_traffic(plan, *sessions)

    views = {}

    def during(g):
        seg = Segment.attach(g.channel)
        try:
            d = seg.sessions()
            views["segment"] = (d, {e["slot"]: seg.session_counters(e["slot"]) for e in d})
        finally:
            seg.close()
        views["ctl"], views["ctl_err"] = g.ctl_json("sessions")
        views["stats"], _ = g.ctl_json("stats")
        # Then one session deleted from the CLI leaves the directory.
        p = g.ctl("session-del", str(DELETED[0]), str(DELETED[1]))
        views["del"] = (p.returncode, p.stdout, p.stderr)
        seg = Segment.attach(g.channel)
        try:
            views["after_del"] = sorted((e["tunnel_id"], e["session_id"]) for e in seg.sessions())
        finally:
            seg.close()
        views["ctl_after_del"], _ = g.ctl_json("sessions")

    res = gw.run(outside_in=plan.outside, inside_in=plan.inside, during=during)
    st = res.stats

    # Outside → inside.
    t.frames_eq("inside: forwarded inner packets (TTL - 1, next hop's MAC)", res.inside_out, plan.exp_inside)
    t.frames_eq("punt pcap: L2TP and PPP control, decapsulated", res.punts, [p for _, p in plan.exp_punts])
    punts = st.doc.get("punts", {})
    for reason in ("l2tp", "ppp"):
        t.eq(f"control plane punts counted as {reason}", punts.get(reason),
             sum(1 for r, _ in plan.exp_punts if r == reason))
    # Inside → outside.
    check_encap(t, plan, res)

    want = {r: len(v) for r, v in plan.drops.items()}
    t.drops("sessions", st, want)
    got = st.nonzero_drops()
    for reason, labels in sorted(plan.drops.items()):
        t.eq(f"{reason} ({'; '.join(labels)})", got.get(reason, 0), len(labels))
    t.eq("rx_packets", st.total("rx_packets"), len(plan.outside) + len(plan.inside))
    t.eq("esp_decapped", st.total("esp_decapped"), len(plan.outside))
    t.eq("esp_encapped", st.total("esp_encapped"), sum(len(v) for v in plan.encap.values()))
    t.eq("tx_packets", st.total("tx_packets"), len(plan.exp_inside) + sum(len(v) for v in plan.encap.values()))
    t.eq("punted", st.total("punted"), len(plan.exp_punts))
    for spi, (n, nbytes) in sorted(plan.sa_in.items()):
        t.eq(f"inbound SA {spi:#x} packets and bytes",
             (st.sa_counter("in", spi, "packets"), st.sa_counter("in", spi, "bytes")), (n, nbytes))
    if "segment" not in views:
        t.check("segment read while running", False)
        return
    check_sessions(t, plan, sessions, views["segment"], views.get("ctl"), views.get("stats"))
    rc, _, err = views["del"]
    t.eq("session-del 4 65535: reply", (rc, err), (0, ""))
    left = sorted(x.ids for x in sessions if x.ids != DELETED)
    t.eq("session-del 4 65535: gone from the segment's directory, the others kept", views["after_del"], left)
    doc = views["ctl_after_del"]
    listed = sorted(ids for ids in (x.ids for x in sessions) if find_session(doc, *ids) is not None) if doc else None
    t.eq("session-del 4 65535: gone from l2tpgwctl sessions --json", listed, left)
