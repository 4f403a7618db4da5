"""ESP tunnel mode (RFC 4301 §4.1, RFC 4303 §3.1.2) between peers' networks
and the network behind the inside port, with static SAs: `mode = "tunnel"`,
`peer_net`, `local_net`.

Outside → inside: scapy protects whole IPv4 packets in tunnel mode (outer
header from the peer, next header 4), raw and NAT-T; the inner packet leaves
the inside port byte for byte as a router forwards it (TTL less one,
checksum patched). An inner source outside the SA's peer_net or a
destination outside its local_net (RFC 4301 §5.2), a malformed inner header,
an expiring TTL, a packet to our own inside address and a transport-mode
payload (next header UDP) in a tunnel SA are each dropped under their reason.

Inside → outside: packets to a peer network take the outbound SA of the
longest matching peer_net, and of two SAs for one network the newest; each
frame equals scapy's tunnel-mode encryption of the forwarded packet under the
same IV, with an outer header from our outside address (TOS, id and DF of the
inner). A packet of exactly the tunnel MTU fills the link; above it, DF gets
ICMP "fragmentation needed" with that MTU and the others are cut into
fragments equal to scapy's fragment(). A tunnel SA never serves transport
mode's packets to the peer itself."""

from scapy.layers.inet import ICMP, IP, UDP
from scapy.packet import Raw

from cases.sessions import INSIDE_HOST
from cases.too_big import frag_needed, fragments
from esp import SaSpec, decrypt, parse_esp_frame, protect, protect_tunnel
from gwrun import INSIDE_ADDR, INSIDE_HOST_MAC, INSIDE_MAC, OUTSIDE_ADDR, OUTSIDE_MAC
from traffic import mac_bytes, peer_addr, peer_mac, to_inside, to_outside

LOCAL_NET = "10.0.0.0/24"
ETH_TO_HOST = mac_bytes(INSIDE_HOST_MAC) + mac_bytes(INSIDE_MAC) + b"\x08\x00"


class Peer:
    """A peer with its network and its SA pair, as the gateway holds it."""

    def __init__(self, gw, n, net, cipher, auth, encap, spi):
        self.n, self.net, self.addr = n, net, peer_addr(n)
        extra = {"mode": '"tunnel"', "peer_net": f'"{net}"', "local_net": f'"{LOCAL_NET}"'}
        self.sa_in = gw.add_sa(SaSpec("in", spi, self.addr, cipher, auth, encap=encap, extra=dict(extra)))
        self.sa_out = gw.add_sa(SaSpec("out", spi + 0x100, self.addr, cipher, auth, encap=encap,
                                       peer_mac=peer_mac(n), extra=dict(extra)))
        self.seq = 0

    def send(self, inner, sa=None):
        """inner (bytes) protected in tunnel mode from the peer to us."""
        self.seq += 1
        outer = IP(src=self.addr, dst=OUTSIDE_ADDR, ttl=50, id=self.seq)
        return to_outside(protect_tunnel(sa or self.sa_in, IP(inner), self.seq, outer), peer_mac(self.n))


def udp_packet(src, dst, size, ip_id, ttl=64, df=False, tos=0):
    pay = bytes((ip_id * 5 + i) & 0xFF for i in range(size - 28))
    return bytes(IP(src=src, dst=dst, ttl=ttl, id=ip_id, tos=tos, flags="DF" if df else 0) /
                 UDP(sport=5000 + ip_id, dport=7) / Raw(pay))


def forwarded(pkt):
    """pkt as a router forwards it: TTL less one, checksum again."""
    ip = IP(pkt)
    ip.ttl -= 1
    del ip.chksum
    return bytes(ip)


def tunnel_mtu(link_mtu, iv, block, icv, udp):
    """The largest inner packet whose tunnel-mode ESP packet fits the link
    (outer IPv4, UDP, ESP header, IV, padding to the block, trailer, ICV)."""
    fixed = 20 + (8 if udp else 0) + 8 + iv + icv
    return (link_mtu - fixed) // block * block - 2


def run(ctx, t):
    run_decap(ctx, t)
    run_encap(ctx, t)


def gateway_with_peers(ctx, tag, n, spi):
    """A gateway knowing the inside host, and three peers: a, a /24 with
    AES-CBC over raw ESP; b, the upper /25 of it with AES-GCM in UDP 4500;
    c, a /16 with 3DES."""
    gw = ctx.gateway(tag)
    gw.inside_neighbors[INSIDE_HOST] = INSIDE_HOST_MAC
    return (gw, Peer(gw, n, "192.168.50.0/24", "aes-cbc-128", "hmac-sha1-96", "none", spi),
            Peer(gw, n + 1, "192.168.50.128/25", "aes-gcm-128", "none", "udp", spi + 1),
            Peer(gw, n + 2, "172.16.0.0/16", "3des-cbc", "hmac-sha256-128", "none", spi + 2))


def run_decap(ctx, t):
    gw, a, b, c = gateway_with_peers(ctx, "tundecap", 30, 0x5000)
    good = [(a, udp_packet("192.168.50.7", INSIDE_HOST, 28, 1, ttl=30)),
            (a, udp_packet("192.168.50.7", INSIDE_HOST, 1400, 2, df=True, tos=0xB8)),
            (b, bytes(IP(src="192.168.50.200", dst=INSIDE_HOST, ttl=9, id=3) /
                      ICMP(type=8, id=7, seq=1) / Raw(b"ping through the tunnel"))),
            (c, udp_packet("172.16.9.9", INSIDE_HOST, 300, 4))]
    frames = [p.send(pkt) for p, pkt in good]
    bad_ck = bytearray(udp_packet("192.168.50.7", INSIDE_HOST, 60, 9))
    bad_ck[10] ^= 0xFF
    bad = [
        (a.send(udp_packet("192.168.51.1", INSIDE_HOST, 60, 5)), "esp_tunnel_selector"),  # source off peer_net
        (a.send(udp_packet("192.168.50.7", "10.0.1.5", 60, 6)), "esp_tunnel_selector"),   # destination off local_net
        # b's SA carries 192.168.50.128/25 only, though a holds the /24.
        (b.send(udp_packet("192.168.50.7", INSIDE_HOST, 60, 7)), "esp_tunnel_selector"),
        (a.send(udp_packet("192.168.50.7", INSIDE_HOST, 60, 8, ttl=1)), "esp_tunnel_ttl"),
        (a.send(bytes(bad_ck)), "esp_tunnel_malformed"),
        (a.send(udp_packet("192.168.50.7", INSIDE_ADDR, 60, 10)), "esp_inner_unhandled"),
    ]
    # A transport-mode payload (next header UDP) in a tunnel SA.
    a.seq += 1
    transport = IP(bytes(IP(src=a.addr, dst=OUTSIDE_ADDR, id=99) / UDP(sport=1701, dport=1701) / Raw(b"x" * 20)))
    bad.append((to_outside(protect(a.sa_in, transport, a.seq), peer_mac(a.n)), "esp_next_header"))
    res = gw.run(outside_in=frames + [f for f, _ in bad])

    t.frames_eq("inside: every good inner packet forwarded, TTL less one", res.inside_out,
                [ETH_TO_HOST + forwarded(pkt) for _, pkt in good])
    t.eq("nothing sent outside", len(res.outside_out), 0)
    t.eq("nothing punted", len(res.punts), 0)
    t.eq("tunnel_in", res.seg_totals["tunnel_in"], len(good))
    t.eq("esp_decapped (the selector, TTL, inner and address drops come after decryption)",
         res.stats.total("esp_decapped"), len(good) + len(bad) - 1)
    exp = {}
    for _, why in bad:
        exp[why] = exp.get(why, 0) + 1
    t.drops("decap drops", res.stats, exp)
    # Every packet of a's SA decrypted but the one with next header UDP,
    # which counts as a decryption error.
    t.eq("SA a: inbound packets", res.stats.sa_counter("in", a.sa_in.spi, "packets"), 2 + 5)
    t.eq("SA a: inbound bytes are inner packets", res.stats.sa_counter("in", a.sa_in.spi, "bytes"),
         len(good[0][1]) + len(good[1][1]) + 4 * 60 + len(bad_ck))
    t.eq("SA a: decrypt_errors", res.stats.sa_counter("in", a.sa_in.spi, "decrypt_errors"), 1)


def run_encap(ctx, t):
    gw, a, b, c = gateway_with_peers(ctx, "tunencap", 40, 0x6000)
    # Two outbound SAs for one network (a rekey): the newer one is used.
    extra = {"mode": '"tunnel"', "peer_net": '"10.77.0.0/16"', "local_net": f'"{LOCAL_NET}"'}
    old = gw.add_sa(SaSpec("out", 0x6200, peer_addr(43), "aes-cbc-128", "hmac-sha1-96",
                           peer_mac=peer_mac(43), extra=extra))
    new = gw.add_sa(SaSpec("out", 0x6201, peer_addr(43), "aes-cbc-128", "hmac-sha1-96",
                           peer_mac=peer_mac(43), extra=extra))
    mtu_a = tunnel_mtu(1500, 16, 16, 12, False)
    plan = [  # (packet, outbound SA or None when it does not leave)
        (udp_packet(INSIDE_HOST, "192.168.50.7", 28, 1), a.sa_out),
        (udp_packet(INSIDE_HOST, "192.168.50.9", 900, 2, df=True, tos=0x2E), a.sa_out),
        (udp_packet(INSIDE_HOST, "192.168.50.200", 200, 3), b.sa_out),  # the /25 beats the /24
        (udp_packet(INSIDE_HOST, "172.16.200.1", 64, 4), c.sa_out),
        (udp_packet(INSIDE_HOST, "10.77.3.3", 64, 5), new),
        (udp_packet(INSIDE_HOST, "192.168.50.8", mtu_a, 6, df=True), a.sa_out),  # exactly the tunnel MTU
    ]
    over_df = udp_packet(INSIDE_HOST, "192.168.50.10", mtu_a + 1, 7, df=True)
    big = udp_packet(INSIDE_HOST, "192.168.50.11", 1500, 8)
    nowhere = udp_packet(INSIDE_HOST, "192.168.60.1", 64, 9)
    dying = udp_packet(INSIDE_HOST, "192.168.50.7", 64, 10, ttl=1)
    # From our outside address to peer a itself: transport mode's inside
    # path, which a tunnel SA must not serve.
    to_peer = udp_packet(OUTSIDE_ADDR, a.addr, 64, 11)
    sent = [p for p, _ in plan] + [over_df, big, nowhere, dying, to_peer]
    res = gw.run(inside_in=[to_inside(p) for p in sent])

    by_spi = {}
    for f in res.outside_out:
        udp = f[23] == 17
        by_spi.setdefault(parse_esp_frame(f, udp)[0], []).append(f)
    seqs = {}
    for k, (pkt, sa) in enumerate(plan):
        name = f"packet {k} to {IP(pkt).dst} in SA {sa.spi:#x}"
        seqs[sa.spi] = seqs.get(sa.spi, 0) + 1
        frames = by_spi.get(sa.spi, [])
        if not t.check(f"{name}: sent", len(frames) >= seqs[sa.spi]):
            continue
        f = frames[seqs[sa.spi] - 1]
        _, seq, iv_off = parse_esp_frame(f, sa.udp)
        t.eq(f"{name}: sequence number", seq, seqs[sa.spi])
        inner = IP(pkt)
        outer = IP(src=OUTSIDE_ADDR, dst=sa.peer, ttl=64, tos=inner.tos, id=inner.id, flags=inner.flags & 2)
        exp = (mac_bytes(sa.peer_mac) + mac_bytes(OUTSIDE_MAC) + b"\x08\x00" +
               protect_tunnel(sa, IP(forwarded(pkt)), seq, outer, iv=f[iv_off:iv_off + sa.iv_len]))
        t.bytes_eq(f"{name}: frame equals scapy's tunnel-mode encryption", f, exp)
    t.eq("the old SA of 10.77.0.0/16 sent nothing", len(by_spi.get(old.spi, [])), 0)
    fit = by_spi.get(a.sa_out.spi, [])
    # CBC pads to 16 bytes: 1496 is the largest packet of this SA within 1500.
    t.eq("a packet of exactly the tunnel MTU (1438) leaves as a 1496-byte ESP packet",
         (mtu_a, len(fit[2]) - 14 if len(fit) > 2 else None), (1438, 1496))
    # The fragments of `big`, each its own tunnel packet of SA a, after the three above.
    frags = [decrypt(a.sa_out, f[14:])[20:] for f in fit[3:]]
    t.frames_eq("big without DF: fragments equal scapy's fragment() of the forwarded packet", frags,
                fragments(forwarded(big), mtu_a))
    t.frames_eq("over the tunnel MTU with DF: ICMP fragmentation needed from our inside address",
                res.inside_out, [frag_needed(over_df, mtu_a)])
    seg = res.seg_totals
    t.eq("tunnel_out", seg["tunnel_out"], len(plan) + len(frags))
    t.eq("inner_fragmented", seg["inner_fragmented"], 1)
    t.eq("icmp_too_big_sent", seg["icmp_too_big_sent"], 1)
    t.drops("encap drops", res.stats, {"no_session": 1, "esp_tunnel_ttl": 1, "no_outbound_sa": 1})
