"""ESP decapsulation for every transform, raw and UDP-encapsulated (RFC 4303
transport mode, RFC 3948): L2TP packets in ESP from each SA's peer come out of
the control plane's punt pcap exactly as the gateway must rewrite them."""

from esp import TRANSFORMS, SaSpec, expected_decap, protect
from gwrun import OUTSIDE_ADDR
from traffic import L4_SIZES, ip_packet, peer_addr, peer_mac, to_outside, udp_bytes


def sas():
    out = []
    i = 0
    for cipher, auth in TRANSFORMS:
        for encap in ("none", "udp"):
            n = 10 + i
            # NAT-T peers behind a NAT come from a port other than 4500.
            out.append(SaSpec("in", 0x1000 + i, peer_addr(n), cipher, auth, encap=encap,
                              peer_port=4500 if i % 4 == 1 else 40000 + i))
            i += 1
    return out


def run(ctx, t):
    gw = ctx.gateway("decap")
    frames, expected, per_sa = [], [], []
    for k, sa in enumerate(sas()):
        gw.add_sa(sa)
        n = int(sa.peer.rsplit(".", 1)[1])
        l4_total = 0
        sizes = L4_SIZES + [46]  # the last one with an Ethernet trailer
        for seq, size in enumerate(sizes, start=1):
            csum_src = "192.168.1.100" if sa.udp else None
            l4 = udp_bytes(sa.peer, OUTSIDE_ADDR, size, f"{sa.spi}/{seq}", csum_src=csum_src)
            ip = ip_packet(sa.peer, OUTSIDE_ADDR, 17, l4, ttl=40 + seq, ip_id=0x100 * k + seq, tos=4 * seq,
                           flags="DF" if seq % 2 else 0)
            wire = protect(sa, ip, seq)
            trailer = b"\0" * 6 if seq == len(sizes) else b""
            frames.append(to_outside(wire, peer_mac(n), trailer=trailer))
            expected.append(expected_decap(wire, l4, 17, sa.udp))
            l4_total += len(l4)
        per_sa.append((sa, len(sizes), l4_total))

    res = gw.run(outside_in=frames)
    st = res.stats
    t.frames_eq("punted packets", res.punts, expected)
    t.eq("outside port sent nothing", len(res.outside_out), 0)
    t.eq("inside port sent nothing", len(res.inside_out), 0)
    t.eq("rx_packets", st.total("rx_packets"), len(frames))
    t.eq("esp_decapped", st.total("esp_decapped"), len(frames))
    t.eq("punted", st.total("punted"), len(frames))
    t.drops("decap", st, {})
    for sa, n, l4_total in per_sa:
        name = f"SA {sa.spi:#x} {sa.cipher}/{sa.auth}/{sa.encap}"
        t.eq(f"{name} packets", st.sa_counter("in", sa.spi, "packets"), n)
        t.eq(f"{name} bytes (inner transport payload)", st.sa_counter("in", sa.spi, "bytes"), l4_total)
        for c in ("auth_failures", "replay_drops", "decrypt_errors"):
            t.eq(f"{name} {c}", st.sa_counter("in", sa.spi, c), 0)
