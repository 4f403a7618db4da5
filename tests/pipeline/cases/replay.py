"""Anti-replay (RFC 4303 §3.4.3): duplicates and packets left of the window
dropped, out-of-order packets inside the window accepted, the window edge
exact, the window moved only by packets whose ICV verified; the default
window of 64 and a configured one of 1024."""

from esp import SaSpec, expected_decap, protect
from gwrun import OUTSIDE_ADDR
from traffic import ip_packet, peer_mac, to_outside, udp_bytes

A = "accept"
R = "replay"
BAD = "bad-icv"

# (sequence number, what the gateway must do) in arrival order.
WINDOW_64 = [
    (1, A), (2, A), (3, A), (2, R), (100, A), (37, A),  # 37 = 100 - 64 + 1: the left edge
    (36, R),  # 100 - 64: just left of the window
    (37, R), (99, A), (50, A), (99, R), (1, R),
    (10000, BAD),  # must not move the window
    (101, A), (38, A), (37, R), (300, A), (237, A), (236, R), (300, R), (299, A),
]
WINDOW_1024 = [
    (1, A), (2000, A), (977, A),  # 2000 - 1024 + 1
    (976, R), (1500, A), (1500, R), (1999, A), (2000, R), (977, R), (978, A),
    (5000, BAD), (2001, A), (1, R),
]


def run(ctx, t):
    gw = ctx.gateway("replay")
    sa64 = gw.add_sa(SaSpec("in", 0x5001, "198.51.100.70", "aes-cbc-128", "hmac-sha1-96"))
    sa1k = gw.add_sa(SaSpec("in", 0x5002, "198.51.100.71", "aes-gcm-128", "none", encap="udp",
                            replay_window=1024))
    frames, expected = [], []
    counts = {}
    # Interleaved, so one SA's window cannot be confused with the other's.
    seqs = [(sa64, s) for s in WINDOW_64]
    seqs2 = [(sa1k, s) for s in WINDOW_1024]
    order = []
    while seqs or seqs2:
        if seqs:
            order.append(seqs.pop(0))
        if seqs2:
            order.append(seqs2.pop(0))
    for i, (sa, (seq, what)) in enumerate(order):
        l4 = udp_bytes(sa.peer, OUTSIDE_ADDR, 40 + i, f"replay/{i}")
        wire = bytearray(protect(sa, ip_packet(sa.peer, OUTSIDE_ADDR, 17, l4, ip_id=i), seq))
        if what == BAD:
            wire[-1] ^= 0x01
        frames.append(to_outside(bytes(wire), peer_mac(70)))
        if what == A:
            expected.append(expected_decap(bytes(wire), l4, 17, sa.udp))
        counts[(sa.spi, what)] = counts.get((sa.spi, what), 0) + 1
    res = gw.run(outside_in=frames)
    st = res.stats
    t.frames_eq("accepted packets punted", res.punts, expected)
    for sa in (sa64, sa1k):
        name = f"window {sa.replay_window or 64}"
        t.eq(f"{name}: SA packets", st.sa_counter("in", sa.spi, "packets"), counts.get((sa.spi, A), 0))
        t.eq(f"{name}: SA replay_drops", st.sa_counter("in", sa.spi, "replay_drops"), counts.get((sa.spi, R), 0))
        t.eq(f"{name}: SA auth_failures", st.sa_counter("in", sa.spi, "auth_failures"),
             counts.get((sa.spi, BAD), 0))
    t.drops("replay", st, {"esp_replay": sum(v for (s, w), v in counts.items() if w == R),
                           "esp_auth": sum(v for (s, w), v in counts.items() if w == BAD)})
    t.eq("rx_packets", st.total("rx_packets"), len(frames))
