"""TCP MSS clamping on SYNs that cross a session (dataplane.tcp_mss, 1320 by
default), both ways. The expected packets are scapy's: the same segment
built with the clamped option and its checksums computed afresh."""

from scapy.layers.inet import IP, TCP

import l2tp_ppp as lp
from cases.sessions import INSIDE_HOST, MAC_A, Plan, clients, next_hop_mac
from esp import decrypt
from gwrun import INSIDE_HOST_MAC, INSIDE_MAC
from traffic import mac_bytes

LIMIT = 1320


def segment(src, dst, mss, flags, ip_id):
    opts = [("MSS", mss), ("NOP", None), ("WScale", 7), ("SAckOK", b"")]
    return bytes(IP(src=src, dst=dst, ttl=64, id=ip_id) /
                 TCP(sport=33000, dport=443, flags=flags, seq=1000, options=opts))


def clamped(pkt):
    """What the gateway must forward: TTL - 1 and an MSS above LIMIT set to it."""
    p = IP(pkt)
    p.ttl -= 1
    p[TCP].options = [("MSS", min(v, LIMIT)) if k == "MSS" else (k, v) for k, v in p[TCP].options]
    del p.chksum
    del p[TCP].chksum
    return bytes(p)


def run(ctx, t):
    gw = ctx.gateway("mss")
    gw.inside_neighbors[INSIDE_HOST] = INSIDE_HOST_MAC
    a = clients(gw)[0]
    plan = Plan()
    eth = mac_bytes(next_hop_mac(INSIDE_HOST)) + mac_bytes(INSIDE_MAC) + b"\x08\x00"
    from_client = [segment(a.address, INSIDE_HOST, 1460, "S", 1),     # clamped
                   segment(a.address, INSIDE_HOST, 1200, "S", 2),     # below the limit
                   segment(a.address, INSIDE_HOST, 1460, "A", 3)]     # not a SYN
    for inner in from_client:
        plan.forward(a, MAC_A, inner)
    plan.exp_inside = [eth + clamped(from_client[0]), eth + lp.forwarded(from_client[1]),
                       eth + lp.forwarded(from_client[2])]
    synack = segment(INSIDE_HOST, a.address, 1460, "SA", 4)
    plan.to_client(a, synack)

    res = gw.run(outside_in=plan.outside, inside_in=plan.inside)
    t.check("scapy clamps the way the test expects", IP(clamped(from_client[0]))[TCP].options[0] == ("MSS", LIMIT))
    t.frames_eq("inside: the client's SYN clamped to 1320, the others untouched", res.inside_out, plan.exp_inside)
    if t.eq("outside: one ESP frame", len(res.outside_out), 1):
        dec = decrypt(a.sa_out, res.outside_out[0][14:])
        t.bytes_eq("outside: the SYN-ACK to the client clamped to 1320", dec,
                   lp.encap_plain(a, clamped(synack)))
