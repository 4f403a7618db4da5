"""Reassembly of outer IPv4 fragments addressed to the gateway (RFC 791
§3.2): raw ESP and ESP in UDP 4500 split into fragments, in order, out of
order and interleaved, come out of the punt pcap exactly as the unfragmented
packet would (decap.py); incomplete, overlapping and oversized datagrams are
never delivered and are counted under their reasons; fragments to another
address stay `not_for_us`."""

import struct

from scapy.layers.inet import IP, fragment

from esp import SaSpec, expected_decap, inet_checksum, protect
from gwrun import OUTSIDE_ADDR
from traffic import ip_packet, peer_addr, peer_mac, to_outside, udp_bytes

# The largest reassembled IPv4 packet the gateway accepts.
MAX_REASSEMBLED = 2000
MF = 0x2000


def frag(wire, start, end, more, ttl=None, payload=None):
    """One fragment of the IPv4 packet wire (bytes, no options): its payload
    bytes [start, end) (or `payload` in their place), offset start / 8, MF
    as told, the header otherwise copied (id, TOS, DF) with its total length
    and checksum made for the fragment. `ttl` gives the fragment another TTL
    than the datagram's."""
    assert start % 8 == 0 and (not more or (end - start) % 8 == 0)
    hdr = bytearray(wire[:20])
    body = wire[20 + start:20 + end] if payload is None else payload
    flags = struct.unpack("!H", hdr[6:8])[0] & 0x4000  # keep DF
    hdr[2:4] = struct.pack("!H", 20 + len(body))
    hdr[6:8] = struct.pack("!H", flags | (MF if more else 0) | (start // 8))
    if ttl is not None:
        hdr[8] = ttl
    hdr[10:12] = b"\0\0"
    hdr[10:12] = struct.pack("!H", inet_checksum(bytes(hdr)))
    return bytes(hdr) + bytes(body)


def split(wire, cuts, **kw):
    """The fragments of wire cut at the payload offsets `cuts` (multiples
    of 8), in order; keyword arguments as frag() for every fragment but the
    first."""
    bounds = [0] + list(cuts) + [len(wire) - 20]
    out = []
    for i in range(len(bounds) - 1):
        more = i < len(bounds) - 2
        out.append(frag(wire, bounds[i], bounds[i + 1], more, **(kw if i else {})))
    return out


class Flows:
    """Builds ESP datagrams from the SAs' peers: the packet on the wire and
    what the gateway must punt for it."""

    def __init__(self):
        self.seq = {}
        self.ip_id = 0x4000

    def esp(self, sa, l4_len, ttl=64, tos=0):
        self.seq[sa.spi] = self.seq.get(sa.spi, 0) + 1
        seq = self.seq[sa.spi]
        self.ip_id += 1
        csum_src = "192.168.1.100" if sa.udp else None
        l4 = udp_bytes(sa.peer, OUTSIDE_ADDR, l4_len, f"frag/{sa.spi}/{seq}", csum_src=csum_src)
        wire = protect(sa, ip_packet(sa.peer, OUTSIDE_ADDR, 17, l4, ttl=ttl, ip_id=self.ip_id, tos=tos), seq)
        return wire, expected_decap(wire, l4, 17, sa.udp), len(l4)


def frames_of(sa, ips):
    n = int(sa.peer.rsplit(".", 1)[1])
    return [to_outside(ip, peer_mac(n)) for ip in ips]


def run(ctx, t):
    delivered(ctx, t)
    refused(ctx, t)
    incomplete(ctx, t)


def delivered(ctx, t):
    """Fragmented datagrams that are whole: punted as if never fragmented."""
    gw = ctx.gateway("fragments")
    cbc = gw.add_sa(SaSpec("in", 0x7001, peer_addr(21), "aes-cbc-128", "hmac-sha1-96", peer_mac=peer_mac(21)))
    gcm = gw.add_sa(SaSpec("in", 0x7002, peer_addr(22), "aes-gcm-128", "none", encap="udp", peer_port=4500,
                           peer_mac=peer_mac(22)))
    fl = Flows()
    frames, expected, per_sa = [], [], {cbc.spi: [0, 0], gcm.spi: [0, 0]}

    def deliver(sa, exp, l4_len):
        expected.append(exp)
        per_sa[sa.spi][0] += 1
        per_sa[sa.spi][1] += l4_len

    # Raw ESP, 1560 bytes, split by scapy at a 1500-byte MTU, in order.
    wire, exp, n = fl.esp(cbc, 1500, ttl=50, tos=0x28)
    parts = [bytes(p) for p in fragment(IP(wire), fragsize=1480)]
    t.eq("scapy splits the raw ESP datagram in 2 (1480 + 60)", [len(p) - 20 for p in parts], [1480, 60])
    # The hand-made splitter used below agrees with scapy's.
    t.check("hand-made fragments equal scapy's", split(wire, [1480]) == parts,
            "the fragments of split() differ from scapy's fragment()")
    frames += frames_of(cbc, parts)
    deliver(cbc, exp, n)
    t.eq("raw ESP datagram size", len(wire), 1560)

    # ESP in UDP 4500, 1864 bytes in 3 fragments sent last, first, middle;
    # the later fragments with another TTL: the first fragment's header wins.
    wire, exp, n = fl.esp(gcm, 1800, ttl=61, tos=0x10)
    a, b, c = split(wire, [616, 1232], ttl=58)
    frames += frames_of(gcm, [c, a, b])
    deliver(gcm, exp, n)
    t.eq("UDP-4500 ESP datagram size", len(wire), 1864)

    # Two flows from one source, ids apart, their fragments interleaved:
    # A1 B2 A2 B1 (A completes first, B second).
    wa, ea, na = fl.esp(cbc, 1400)
    wb, eb, nb = fl.esp(cbc, 1700)
    a1, a2 = split(wa, [720])
    b1, b2 = split(wb, [888])
    frames += frames_of(cbc, [a1, b2, a2, b1])
    deliver(cbc, ea, na)
    deliver(cbc, eb, nb)

    # Exactly the limit: 2000 bytes reassembled (1938 + 2 trailer bytes is a
    # multiple of 4: no GCM padding).
    wire, exp, n = fl.esp(gcm, 1938)
    t.eq("datagram at the limit", len(wire), MAX_REASSEMBLED)
    frames += frames_of(gcm, split(wire, [680, 1360]))
    deliver(gcm, exp, n)

    # 4 bytes beyond it: reassembly_too_big, once for the datagram.
    wire, _, _ = fl.esp(gcm, 1942)
    t.eq("datagram beyond the limit", len(wire), MAX_REASSEMBLED + 4)
    frames += frames_of(gcm, split(wire, [1000]))

    # Fragments to another address on the outside: each one not_for_us.
    other = ip_packet(cbc.peer, "198.51.100.77", 50, bytes(range(256)) * 6, ip_id=0x5555)
    frames += frames_of(cbc, split(bytes(other), [768]))

    # An unfragmented packet after all of them.
    wire, exp, n = fl.esp(cbc, 200)
    frames += frames_of(cbc, [wire])
    deliver(cbc, exp, n)

    res = gw.run(outside_in=frames)
    st = res.stats
    t.frames_eq("reassembled datagrams punted as unfragmented ones", res.punts, expected)
    t.drops("delivered", st, {"reassembly_too_big": 1, "not_for_us": 2})
    t.eq("rx_packets (every fragment)", st.total("rx_packets"), len(frames))
    t.eq("esp_decapped", st.total("esp_decapped"), len(expected))
    t.eq("punted", st.total("punted"), len(expected))
    t.eq("nothing sent", len(res.outside_out) + len(res.inside_out), 0)
    for sa in (cbc, gcm):
        name = f"SA {sa.cipher}/{sa.encap}"
        t.eq(f"{name} packets", st.sa_counter("in", sa.spi, "packets"), per_sa[sa.spi][0])
        t.eq(f"{name} bytes", st.sa_counter("in", sa.spi, "bytes"), per_sa[sa.spi][1])
        for c in ("auth_failures", "replay_drops", "decrypt_errors"):
            t.eq(f"{name} {c}", st.sa_counter("in", sa.spi, c), 0)


def refused(ctx, t):
    """Overlapping fragments: the datagram is not delivered and its fragments
    are dropped as ip_fragment; good datagrams around them still are."""
    gw = ctx.gateway("fragovl")
    cbc = gw.add_sa(SaSpec("in", 0x7101, peer_addr(23), "aes-cbc-128", "hmac-sha1-96", peer_mac=peer_mac(23)))
    gcm = gw.add_sa(SaSpec("in", 0x7102, peer_addr(24), "aes-gcm-128", "none", encap="udp", peer_port=4500,
                           peer_mac=peer_mac(24)))
    fl = Flows()
    frames, expected = [], []

    # A second copy of the middle fragment with other bytes.
    wire, _, _ = fl.esp(gcm, 1800)
    a, b, c = split(wire, [616, 1232])
    b_other = frag(wire, 616, 1232, True, payload=bytes(x ^ 0xA5 for x in wire[20 + 616:20 + 1232]))
    frames += frames_of(gcm, [a, b, b_other, c])
    # The last fragment starting 8 bytes inside the first one.
    wire, _, _ = fl.esp(cbc, 1500)
    frames += frames_of(cbc, [frag(wire, 0, 776, True), frag(wire, 768, len(wire) - 20, False)])
    sent_overlapping = 6

    # Whole datagrams on both SAs afterwards.
    for sa, l4_len in ((gcm, 1600), (cbc, 1450)):
        wire, exp, _ = fl.esp(sa, l4_len)
        frames += frames_of(sa, split(wire, [800]))
        expected.append(exp)

    res = gw.run(outside_in=frames)
    st = res.stats
    t.frames_eq("only the whole datagrams punted", res.punts, expected)
    drops = st.nonzero_drops()
    n = drops.pop("ip_fragment", 0)
    t.check(f"overlaps: ip_fragment between 1 and {sent_overlapping}", 1 <= n <= sent_overlapping,
            f"got {n}")
    t.eq("overlaps: no other drop reason", drops, {})
    t.eq("rx_packets", st.total("rx_packets"), len(frames))
    t.eq("esp_decapped", st.total("esp_decapped"), len(expected))
    for sa in (cbc, gcm):
        t.eq(f"SA {sa.cipher}/{sa.encap} packets", st.sa_counter("in", sa.spi, "packets"), 1)
        t.eq(f"SA {sa.cipher}/{sa.encap} auth_failures", st.sa_counter("in", sa.spi, "auth_failures"), 0)


def incomplete(ctx, t):
    """A datagram whose last fragment never comes: nothing delivered for it,
    no crash, and a whole datagram after it is delivered. Its two fragments
    are dropped as ip_fragment if the flow timed out before the run ended,
    still held otherwise."""
    gw = ctx.gateway("fraglost")
    cbc = gw.add_sa(SaSpec("in", 0x7201, peer_addr(25), "aes-cbc-128", "hmac-sha1-96", peer_mac=peer_mac(25)))
    fl = Flows()
    lost, _, _ = fl.esp(cbc, 1800)
    first, middle, _ = split(lost, [608, 1216])
    wire, exp, n = fl.esp(cbc, 1700)
    frames = frames_of(cbc, [first, middle] + split(wire, [1480]))

    res = gw.run(outside_in=frames)
    st = res.stats
    t.frames_eq("only the whole datagram punted", res.punts, [exp])
    t.check("incomplete: drops none, or its 2 fragments as ip_fragment",
            st.nonzero_drops() in ({}, {"ip_fragment": 2}), f"got {st.nonzero_drops()}")
    t.eq("rx_packets", st.total("rx_packets"), len(frames))
    t.eq("SA packets", st.sa_counter("in", cbc.spi, "packets"), 1)
    t.eq("SA bytes", st.sa_counter("in", cbc.spi, "bytes"), n)
