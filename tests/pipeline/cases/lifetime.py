"""SA lifetimes (RFC 4301 §4.4.2.1) in packets and bytes, inbound and
outbound: the SA carries exactly its hard limit of packets and drops the rest
as sa_hard_expired, counted on the SA; the control plane logs the soft and the
hard event once each, at the packet that crossed the limit. All packets of an
SA arrive in one burst, so the limit must hold inside a burst too."""

import re

from esp import SaSpec, expected_decap, protect
from gwrun import OUTSIDE_ADDR
from traffic import ip_packet, peer_addr, peer_mac, to_inside, to_outside, udp_bytes

L4 = 100  # inner UDP datagram: the bytes each packet counts against the SA
SENT = 8


def lifetime(**kw):
    return {"lifetime": "{ " + " ".join(f"{k} = {v}L;" for k, v in kw.items()) + " }"}


def run(ctx, t):
    gw = ctx.gateway("lifetime")
    by_pkts = gw.add_sa(SaSpec("in", 0x9001, peer_addr(81), "aes-cbc-128", "hmac-sha1-96",
                               extra=lifetime(soft_packets=3, hard_packets=5)))
    by_bytes = gw.add_sa(SaSpec("in", 0x9002, peer_addr(82), "aes-gcm-128", "none", encap="udp",
                                extra=lifetime(soft_bytes=3 * L4, hard_bytes=5 * L4)))
    out = gw.add_sa(SaSpec("out", 0x9003, peer_addr(83), "aes-cbc-256", "hmac-sha256-128",
                           peer_mac=peer_mac(83), extra=lifetime(hard_packets=2)))
    frames, expected = [], []
    for sa in (by_pkts, by_bytes):
        for seq in range(1, SENT + 1):
            l4 = udp_bytes(sa.peer, OUTSIDE_ADDR, L4, f"life/{sa.spi}/{seq}")
            wire = protect(sa, ip_packet(sa.peer, OUTSIDE_ADDR, 17, l4, ip_id=seq), seq)
            frames.append(to_outside(wire, peer_mac(81)))
            if seq <= 5:
                expected.append(expected_decap(wire, l4, 17, sa.udp))
    inside = [to_inside(bytes(ip_packet(OUTSIDE_ADDR, out.peer, 17, udp_bytes(OUTSIDE_ADDR, out.peer, L4, f"o{k}"),
                                        ip_id=k)))
              for k in range(4)]
    res = gw.run(outside_in=frames, inside_in=inside)
    st = res.stats

    t.frames_eq("the first 5 packets of each inbound SA punted", res.punts, expected)
    for sa, what in ((by_pkts, "packets 3/5"), (by_bytes, f"bytes {3 * L4}/{5 * L4}")):
        name = f"in SA {sa.spi:#x} ({what})"
        t.eq(f"{name}: SA packets, bytes, expired_drops",
             tuple(st.sa_counter("in", sa.spi, c) for c in ("packets", "bytes", "expired_drops")),
             (5, 5 * L4, SENT - 5))
    t.eq("out SA 0x9003 (packets -/2): frames sent", len(res.outside_out), 2)
    t.eq("out SA 0x9003: SA packets, expired_drops",
         (st.sa_counter("out", out.spi, "packets"), st.sa_counter("out", out.spi, "expired_drops")), (2, 2))
    t.eq("esp_decapped", st.total("esp_decapped"), 10)
    t.eq("esp_encapped", st.total("esp_encapped"), 2)
    t.drops("lifetime", st, {"sa_hard_expired": 2 * (SENT - 5) + 2})

    # One warning per crossing, naming the SA and the totals at the packet
    # that crossed.
    log = res.cp_log
    for sa, kind, pk, by in ((by_pkts, "soft packet", 3, 3 * L4), (by_pkts, "hard packet", 5, 5 * L4),
                             (by_bytes, "soft byte", 3, 3 * L4), (by_bytes, "hard byte", 5, 5 * L4),
                             (out, "hard packet", 2, 2 * (L4 + 0))):
        name = f"{sa.direction} spi {sa.spi:#010x} peer {sa.peer}"
        line = f"warn  sa: {name} {kind} lifetime reached (packets={pk}, bytes={by})"
        lines = [ln for ln in log.splitlines() if f"sa: {name} {kind} lifetime" in ln]
        t.check(f"log: '{name} {kind}' once, at packet {pk}",
                len(lines) == 1 and lines[0].endswith(line), f"lines {lines}, expected one ending '{line}'")
    others = [ln for ln in log.splitlines() if "lifetime reached" in ln]
    t.eq("no other lifetime warnings", len(others), 5)
