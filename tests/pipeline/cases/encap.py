"""ESP encapsulation for every transform, raw and UDP-encapsulated: packets
from our outside address arriving on the inside port leave the outside port
protected. Each output frame is rebuilt by scapy from the input with the
sequence number and IV read from it and compared whole, then decrypted by
scapy and compared with the input."""

import struct

from scapy.layers.inet import IP

from esp import TRANSFORMS, SaSpec, decrypt, parse_esp_frame, protect
from gwrun import OUTSIDE_ADDR, OUTSIDE_MAC
from traffic import L4_SIZES, ip_packet, mac_bytes, peer_addr, peer_mac, to_inside, udp_bytes


def sas():
    out = []
    i = 0
    for cipher, auth in TRANSFORMS:
        for encap in ("none", "udp"):
            n = 50 + i
            out.append(SaSpec("out", 0x2000 + i, peer_addr(n), cipher, auth, encap=encap,
                              peer_port=4500 if i % 4 == 1 else 41000 + i, peer_mac=peer_mac(n)))
            i += 1
    return out


def run(ctx, t):
    gw = ctx.gateway("encap")
    frames, inputs = [], {}
    all_sas = sas()
    # Interleave the SAs so each one's sequence numbers must be its own.
    for r, size in enumerate(L4_SIZES):
        for k, sa in enumerate(all_sas):
            if r == 0:
                gw.add_sa(sa)
            l4 = udp_bytes(OUTSIDE_ADDR, sa.peer, size, f"out/{sa.spi}/{r}")
            ip = bytes(ip_packet(OUTSIDE_ADDR, sa.peer, 17, l4, ttl=30 + r, ip_id=0x4000 + 16 * k + r, tos=8))
            inputs.setdefault(sa.spi, []).append(ip)
            frames.append(to_inside(ip))
    # Refused: a source that is not ours, a destination without an SA.
    bad = [to_inside(bytes(ip_packet("10.0.0.5", all_sas[0].peer, 17,
                                     udp_bytes("10.0.0.5", all_sas[0].peer, 20, "bad1")))),
           to_inside(bytes(ip_packet(OUTSIDE_ADDR, "198.51.100.250", 17,
                                     udp_bytes(OUTSIDE_ADDR, "198.51.100.250", 20, "bad2"))))]
    res = gw.run(inside_in=frames + bad)
    st = res.stats

    by_spi = {}
    for f in res.outside_out:
        udp = len(f) > 23 and f[23] == 17
        spi, _, _ = parse_esp_frame(f, udp)
        by_spi.setdefault(spi, []).append(f)
    t.eq("outside frames", len(res.outside_out), len(frames))
    t.eq("SPIs seen", sorted(by_spi), sorted(sa.spi for sa in all_sas))
    for sa in all_sas:
        name = f"SA {sa.spi:#x} {sa.cipher}/{sa.auth}/{sa.encap}"
        got = by_spi.get(sa.spi, [])
        sent = inputs[sa.spi]
        if not t.eq(f"{name} frame count", len(got), len(sent)):
            continue
        seqs, ivs, mismatch, plain_bad = [], [], [], []
        for ip, f in zip(sent, got):
            _, seq, iv_off = parse_esp_frame(f, sa.udp)
            iv = f[iv_off:iv_off + sa.iv_len]
            seqs.append(seq)
            ivs.append(iv)
            exp = mac_bytes(sa.peer_mac) + mac_bytes(OUTSIDE_MAC) + b"\x08\x00" + protect(
                sa, IP(ip), seq, iv=iv)
            if f != exp and not mismatch:
                mismatch = [f, exp]
            try:
                plain = decrypt(sa, f[14:])
            except Exception as e:  # scapy raises on a bad ICV
                plain = repr(e).encode()
            if plain != ip and not plain_bad:
                plain_bad = [plain, ip]
        t.eq(f"{name} sequence numbers 1..n in order", seqs, list(range(1, len(sent) + 1)))
        if sa.aead:
            t.eq(f"{name} GCM IV = 64-bit sequence number", ivs, [struct.pack("!Q", s) for s in seqs])
        else:
            t.eq(f"{name} CBC IVs all distinct", len(set(ivs)), len(ivs))
        t.bytes_eq(f"{name} frames equal scapy's encryption", *(mismatch or [b"", b""]))
        t.bytes_eq(f"{name} scapy decrypts to the input", *(plain_bad or [b"", b""]))
        if sa.udp:
            udp_ok = all(struct.unpack("!HHHH", f[34:42]) == (sa.local_port, sa.peer_port, len(f) - 34, 0)
                         for f in got)
            t.check(f"{name} UDP ports {sa.local_port}->{sa.peer_port}, length, checksum 0", udp_ok)
        t.eq(f"{name} SA packets", st.sa_counter("out", sa.spi, "packets"), len(sent))
        t.eq(f"{name} SA bytes (transport payload)", st.sa_counter("out", sa.spi, "bytes"),
             sum(len(ip) - 20 for ip in sent))
    t.eq("rx_packets", st.total("rx_packets"), len(frames) + len(bad))
    t.eq("esp_encapped", st.total("esp_encapped"), len(frames))
    t.eq("tx_packets", st.total("tx_packets"), len(frames))
    t.drops("encap", st, {"no_session": 1, "no_outbound_sa": 1})
    t.eq("inside port sent nothing", len(res.inside_out), 0)
    t.eq("nothing punted", len(res.punts), 0)

