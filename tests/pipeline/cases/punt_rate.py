"""The punt rate limit (dataplane.punt_rate, punt_burst): a token bucket per
worker that starts full. 200 IKE packets arrive within one run: the first
punt_burst of them reach the control plane at once, later ones only as
tokens refill at punt_rate per second, every other one is dropped as
punt_rate. Over a run of T seconds at most punt_burst + punt_rate * T tokens
exist, which bounds the count from above; T is measured around the run (from
the data plane's start to the counters going idle), which contains the
interval in which the worker took its decisions."""

import math
import struct

from gwrun import OUTSIDE_ADDR
from traffic import ip_packet, to_outside

RATE = 10
BURST = 5
N = 200


def run(ctx, t):
    gw = ctx.gateway("puntrate")
    gw.dataplane_extra.update({"punt_rate": RATE, "punt_burst": BURST})
    peer = "203.0.113.20"
    packets = []
    for k in range(N):
        ike = struct.pack("!QQBBBBII", 0x1000 + k, 0, 1, 0x10, 2, 0, 0, 28)
        udp = struct.pack("!HHHH", 500, 500, 8 + len(ike), 0) + ike
        packets.append(bytes(ip_packet(peer, OUTSIDE_ADDR, 17, udp, ip_id=k)))
    res = gw.run(outside_in=[to_outside(p, "02:00:00:00:00:20") for p in packets])
    st = res.stats
    punted = st.total("punted")
    dropped = st.drops().get("punt_rate", 0)
    slack = math.floor(RATE * res.elapsed)
    t.eq("punted + punt_rate drops", punted + dropped, N)
    t.check(f"punted between {BURST} and {BURST} + {RATE}/s x {res.elapsed:.2f} s = {BURST + slack}",
            BURST <= punted <= BURST + slack, f"punted {punted}")
    t.drops("punt_rate", st, {"punt_rate": N - punted})
    t.eq("punt pcap holds every punted packet", len(res.punts), punted)
    t.frames_eq(f"the first {BURST} packets punted (the bucket starts full)", res.punts[:BURST], packets[:BURST])
    pos = [packets.index(p) if p in packets else -1 for p in res.punts]
    t.check("punted packets are input packets in input order", pos == sorted(pos) and -1 not in pos
            and len(set(pos)) == len(pos), f"positions {pos}")
    t.eq("control plane's count of IKE punts", st.doc.get("punts", {}).get("ike"), punted)
    t.eq("rx_packets", st.total("rx_packets"), N)
