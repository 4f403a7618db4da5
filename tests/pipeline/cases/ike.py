"""IKE goes to the control plane untouched: UDP 500, and UDP 4500 whose
payload starts with the non-ESP marker (RFC 3948 §2.2); NAT keepalives (one
0xFF byte, RFC 3948 §2.3) are counted and dropped."""

import struct

from gwrun import OUTSIDE_ADDR
from traffic import ip_packet, to_outside


def udp(src, dst, sport, dport, payload):
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def isakmp(label, n=60):
    """An IKEv1 header (RFC 2408 §3.1: cookies, next payload SA, version 1.0,
    Identity Protection exchange) padded to n bytes."""
    hdr = label.encode().ljust(8, b"\0")[:8] + b"\0" * 8 + bytes([1, 0x10, 2, 0]) + struct.pack("!II", 0, n)
    return hdr + bytes(i & 0xFF for i in range(n - len(hdr)))


def run(ctx, t):
    gw = ctx.gateway("ike")
    peer, peer2 = "203.0.113.5", "203.0.113.6"
    mac = "02:00:00:00:00:44"
    ike500 = bytes(ip_packet(peer, OUTSIDE_ADDR, 17, udp(peer, OUTSIDE_ADDR, 500, 500, isakmp("a")), ip_id=1))
    ike500_nat = bytes(ip_packet(peer2, OUTSIDE_ADDR, 17, udp(peer2, OUTSIDE_ADDR, 1025, 500, isakmp("b", 300)),
                                 ip_id=2, ttl=3))
    ike4500 = bytes(ip_packet(peer, OUTSIDE_ADDR, 17,
                              udp(peer, OUTSIDE_ADDR, 4500, 4500, b"\0\0\0\0" + isakmp("c", 92)), ip_id=3))
    ike4500_nat = bytes(ip_packet(peer2, OUTSIDE_ADDR, 17,
                                  udp(peer2, OUTSIDE_ADDR, 33000, 4500, b"\0\0\0\0" + isakmp("d", 28)), ip_id=4))
    keepalive = bytes(ip_packet(peer2, OUTSIDE_ADDR, 17, udp(peer2, OUTSIDE_ADDR, 33000, 4500, b"\xff"), ip_id=5))
    # Short frames as a NIC delivers them: padded to 60 bytes.
    tiny_ike = bytes(ip_packet(peer, OUTSIDE_ADDR, 17, udp(peer, OUTSIDE_ADDR, 500, 500, b"\1\2\3\4"), ip_id=6))
    other_port = bytes(ip_packet(peer, OUTSIDE_ADDR, 17, udp(peer, OUTSIDE_ADDR, 500, 53, b"dns?"), ip_id=7))
    frames = [to_outside(ike500, mac), to_outside(ike500_nat, mac), to_outside(ike4500, mac),
              to_outside(keepalive, mac), to_outside(keepalive, mac, trailer=b"\0" * 17),
              to_outside(ike4500_nat, mac), to_outside(tiny_ike, mac, trailer=b"\0" * (60 - 14 - len(tiny_ike))),
              to_outside(other_port, mac)]
    res = gw.run(outside_in=frames)
    st = res.stats
    t.frames_eq("punted IKE packets", res.punts, [ike500, ike500_nat, ike4500, ike4500_nat, tiny_ike])
    t.eq("punted", st.total("punted"), 5)
    t.eq("rx_packets", st.total("rx_packets"), len(frames))
    t.drops("ike", st, {"nat_keepalive": 2, "udp_port": 1})
    t.eq("nothing sent", len(res.outside_out) + len(res.inside_out), 0)
