"""ICMP echo through ESP: a request protected by a peer's inbound SA is
answered, and the reply leaves protected by the outbound SA toward that peer
(raw and NAT-T, CBC and GCM)."""

import struct

from scapy.layers.inet import IP

from esp import SaSpec, decrypt, inet_checksum, parse_esp_frame, protect
from gwrun import OUTSIDE_ADDR, OUTSIDE_MAC
from traffic import icmp_echo, ip_packet, mac_bytes, peer_addr, peer_mac, to_outside

PAIRS = [("aes-cbc-128", "hmac-sha1-96", "none"), ("aes-gcm-128", "none", "udp"),
         ("3des-cbc", "hmac-sha256-128", "udp"), ("aes-cbc-256", "hmac-sha256-128", "none"),
         ("aes-gcm-256", "none", "none")]


def run(ctx, t):
    gw = ctx.gateway("icmpesp")
    frames, peers = [], []
    for i, (cipher, auth, encap) in enumerate(PAIRS):
        n = 100 + i
        port = 4500 if i == 1 else 50000 + i
        sa_in = gw.add_sa(SaSpec("in", 0x3000 + i, peer_addr(n), cipher, auth, encap=encap, peer_port=port))
        sa_out = gw.add_sa(SaSpec("out", 0x3100 + i, peer_addr(n), cipher, auth, encap=encap, peer_port=port,
                                  peer_mac=peer_mac(n)))
        reqs = []
        for seq, size in enumerate((0, 56, 1000), start=1):
            payload = bytes((seq * 7 + j) & 0xFF for j in range(size))
            icmp = icmp_echo(0x4200 + i, seq, payload)
            ip = ip_packet(sa_in.peer, OUTSIDE_ADDR, 1, icmp, ttl=20 + seq, ip_id=0x700 + seq)
            frames.append(to_outside(protect(sa_in, ip, seq), peer_mac(n)))
            reqs.append((0x4200 + i, seq, payload))
        peers.append((sa_in, sa_out, reqs))

    # A peer with an inbound SA and no outbound one: the reply has nowhere to go.
    lone = gw.add_sa(SaSpec("in", 0x3200, peer_addr(120), "aes-gcm-128", "none"))
    ip = ip_packet(lone.peer, OUTSIDE_ADDR, 1, icmp_echo(0x4300, 1, b"lonely"))
    frames.append(to_outside(protect(lone, ip, 1), peer_mac(120)))

    res = gw.run(outside_in=frames)
    st = res.stats
    by_spi = {}
    for f in res.outside_out:
        udp = len(f) > 23 and f[23] == 17
        by_spi.setdefault(parse_esp_frame(f, udp)[0], []).append(f)
    for sa_in, sa_out, reqs in peers:
        name = f"{sa_out.cipher}/{sa_out.auth}/{sa_out.encap}"
        got = by_spi.get(sa_out.spi, [])
        if not t.eq(f"{name} replies in SA {sa_out.spi:#x}", len(got), len(reqs)):
            continue
        for k, (f, (ident, seq, payload)) in enumerate(zip(got, reqs)):
            _, esp_seq, iv_off = parse_esp_frame(f, sa_out.udp)
            t.eq(f"{name} reply {k}: ESP sequence number", esp_seq, k + 1)
            t.bytes_eq(f"{name} reply {k}: Ethernet header", f[:14],
                       mac_bytes(sa_out.peer_mac) + mac_bytes(OUTSIDE_MAC) + b"\x08\x00")
            try:
                plain = decrypt(sa_out, f[14:])
            except Exception as e:
                t.check(f"{name} reply {k}: scapy decrypts it", False, repr(e))
                continue
            ip = IP(plain)
            t.eq(f"{name} reply {k}: addresses, protocol, TTL",
                 (ip.src, ip.dst, ip.proto, ip.ttl, ip.ihl, ip.len, ip.frag, ip.flags.MF),
                 (OUTSIDE_ADDR, sa_out.peer, 1, 64, 5, len(plain), 0, 0))
            t.eq(f"{name} reply {k}: IPv4 header checksum valid", inet_checksum(plain[:20]), 0)
            icmp = plain[20:]
            t.bytes_eq(f"{name} reply {k}: ICMP echo reply body", icmp[:2] + icmp[4:],
                       b"\x00\x00" + struct.pack("!HH", ident, seq) + payload)
            t.eq(f"{name} reply {k}: ICMP checksum valid", inet_checksum(icmp), 0)
            # The whole frame as scapy protects that plaintext with this SA.
            iv = f[iv_off:iv_off + sa_out.iv_len]
            exp = f[:14] + protect(sa_out, IP(plain), esp_seq, iv=iv)
            t.bytes_eq(f"{name} reply {k}: frame equals scapy's encryption", f, exp)
            if sa_out.udp:
                t.eq(f"{name} reply {k}: UDP ports and checksum",
                     struct.unpack("!HHxxH", f[34:42]), (sa_out.local_port, sa_out.peer_port, 0))
    n = len(frames) - 1
    t.eq("outside frames", len(res.outside_out), n)
    t.eq("rx_packets", st.total("rx_packets"), n + 1)
    t.eq("esp_decapped", st.total("esp_decapped"), n + 1)
    t.eq("esp_encapped", st.total("esp_encapped"), n)
    t.eq("icmp_replies", st.total("icmp_replies"), n)
    t.drops("icmp through ESP", st, {"no_outbound_sa": 1})
    t.eq("nothing punted", len(res.punts), 0)
