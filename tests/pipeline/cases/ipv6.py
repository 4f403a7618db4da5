"""IPv6 inside PPP (protocol 0x0057, RFC 5072) on sessions that have a /64,
both ways, with every packet built and checked by scapy.

From the clients: an echo request and UDP leave the inside port with hop
limit - 1 to the static neighbour or through the IPv6 gateway; a TCP SYN is
clamped to dataplane.tcp_mss; a source outside the session's /64, a
link-local source, hop limit 1 and a lying payload length are dropped under
their reasons, and IPv6 from a session without IPv6 as before
(ppp_protocol). From the inside: the /64 finds the session, the packet
leaves in PPP 0x0057 / L2TP / ESP (decrypted by scapy), a SYN-ACK clamped
to the tunnel MTU less 60 when that is below tcp_mss, a packet above the
tunnel MTU answered with ICMPv6 Packet Too Big (RFC 4443 §3.2), never
fragmented; echo and Neighbor Solicitation to our inside address answered.
A second run without static neighbours exchanges NDP: our solicitation for
an unknown neighbour, learning from its advertisement and from a
solicitation's source link-layer option (RFC 4861 §7.2)."""

from scapy.layers.inet import TCP
from scapy.layers.inet6 import (IPv6, ICMPv6EchoReply, ICMPv6EchoRequest, ICMPv6ND_NA, ICMPv6ND_NS,
                                ICMPv6NDOptDstLLAddr, ICMPv6NDOptSrcLLAddr, ICMPv6PacketTooBig, UDP)
from scapy.layers.l2 import Ether
from scapy.packet import Raw

import l2tp_ppp as lp
from cases.sessions import INSIDE_GW_MAC, MAC_A, MAC_NAT, Plan, clients
from esp import decrypt
from gwrun import INSIDE_HOST_MAC, INSIDE_MAC
from segment import Segment
from traffic import mac_bytes

GW6 = "2001:db8:ffff::1"
HOST6 = "2001:db8:ffff::2"
HOST6_B, HOST6_B_MAC = "2001:db8:ffff::3", "02:00:00:00:0a:03"
ROUTER6 = "2001:db8:ffff::fe"
FAR6 = "2001:db8:99::1"
PREFIX_A, ADDR_A = "2001:db8:1:7::/64", "2001:db8:1:7::7"
PREFIX_B, ADDR_B = "2001:db8:1:20::/64", "2001:db8:1:20:a:b:c:d"
TCP_MSS = 1400


def configure(gw, static):
    extra = f' ipv6_address = "{GW6}/64"; ipv6_gateway = "{ROUTER6}";'
    if static:
        extra += (f' ipv6_neighbors = ( {{ address = "{HOST6}"; mac = "{INSIDE_HOST_MAC}"; }},'
                  f' {{ address = "{ROUTER6}"; mac = "{INSIDE_GW_MAC}"; }} );')
    gw.inside_extra = extra
    gw.dataplane_extra["tcp_mss"] = TCP_MSS
    sessions = clients(gw)
    sessions[0].ipv6_prefix = PREFIX_A
    sessions[1].ipv6_prefix = PREFIX_B
    return sessions


def eth6(dst_mac, src_mac, pkt):
    return mac_bytes(dst_mac) + mac_bytes(src_mac) + b"\x86\xdd" + bytes(pkt)


def forwarded6(pkt):
    p = IPv6(bytes(pkt))
    p.hlim -= 1
    return bytes(p)


def syn6(src, dst, mss, flags):
    opts = [("MSS", mss), ("NOP", None), ("WScale", 7), ("SAckOK", b"")]
    return bytes(IPv6(src=src, dst=dst, hlim=64) / TCP(sport=33000, dport=443, flags=flags, seq=1000, options=opts))


def clamped6(pkt, limit):
    p = IPv6(pkt)
    p.hlim -= 1
    p[TCP].options = [("MSS", min(v, limit)) if k == "MSS" else (k, v) for k, v in p[TCP].options]
    del p[TCP].chksum
    return bytes(p)


def ptb(to_mac, to, inner, mtu):
    return bytes(Ether(dst=to_mac, src=INSIDE_MAC) / IPv6(src=GW6, dst=to, hlim=64) /
                 ICMPv6PacketTooBig(mtu=mtu) / Raw(inner[:1232]))


def big6(src, dst, size, n):
    return bytes(IPv6(src=src, dst=dst, hlim=64) / UDP(sport=1000 + n, dport=2000) /
                 Raw(bytes((n + i) & 0xFF for i in range(size - 48))))


def na_from_us(to_mac, to):
    return bytes(Ether(dst=to_mac, src=INSIDE_MAC) / IPv6(src=GW6, dst=to, hlim=255) /
                 ICMPv6ND_NA(tgt=GW6, R=0, S=1, O=1) / ICMPv6NDOptDstLLAddr(lladdr=INSIDE_MAC))


def ns_to_us(src, src_mac, hlim=255):
    return eth6("33:33:ff:00:00:01", src_mac, IPv6(src=src, dst="ff02::1:ff00:1", hlim=hlim) /
                ICMPv6ND_NS(tgt=GW6) / ICMPv6NDOptSrcLLAddr(lladdr=src_mac))


def run(ctx, t):
    run_forwarding(ctx, t)
    run_ndp(ctx, t)


def run_forwarding(ctx, t):
    gw = ctx.gateway("ipv6")
    a, b, c = configure(gw, static=True)[:3]
    plan = Plan()
    ping = bytes(IPv6(src=ADDR_A, dst=HOST6, hlim=64) / ICMPv6EchoRequest(id=0x66, seq=1, data=b"ping6 through PPP"))
    far = bytes(IPv6(src=ADDR_A, dst=FAR6, hlim=9) / UDP(sport=5353, dport=53) / Raw(b"x" * 100))
    syn = syn6(ADDR_B, HOST6, 1460, "S")
    exp_in = [eth6(INSIDE_HOST_MAC, INSIDE_MAC, forwarded6(ping)), eth6(INSIDE_GW_MAC, INSIDE_MAC, forwarded6(far)),
              eth6(INSIDE_HOST_MAC, INSIDE_MAC, clamped6(syn, TCP_MSS))]
    plan.from_client(a.sa_in, lp.client_l4(a, ping, protocol=lp.PPP_IPV6), MAC_A, 1)
    plan.from_client(a.sa_in, lp.client_l4(a, far, protocol=lp.PPP_IPV6, acfc=True, pfc=True), MAC_A, 2)
    plan.from_client(b.sa_in, lp.client_l4(b, syn, protocol=lp.PPP_IPV6, csum_src="192.168.1.15"), MAC_NAT, 3)
    bad = [("inner6_spoofed", a, bytes(IPv6(src="2001:db8:1:8::7", dst=HOST6) / UDP() / Raw(b"spoof"))),
           ("inner6_scope", a, bytes(IPv6(src="fe80::7", dst=HOST6) / UDP() / Raw(b"link-local"))),
           ("inner6_scope", a, bytes(IPv6(src=ADDR_A, dst="ff02::2") / UDP() / Raw(b"multicast"))),
           ("inner6_hop_limit", a, bytes(IPv6(src=ADDR_A, dst=HOST6, hlim=1) / UDP() / Raw(b"hop"))),
           ("inner6_malformed", a, bytes(IPv6(src=ADDR_A, dst=HOST6, plen=200) / UDP() / Raw(b"short"))),
           ("ppp_protocol", c, bytes(IPv6(src="2001:db8:1:21::1", dst=HOST6) / UDP() / Raw(b"no ipv6")))]
    for i, (_, s, inner) in enumerate(bad):
        plan.from_client(s.sa_in, lp.client_l4(s, inner, protocol=lp.PPP_IPV6,
                                               csum_src="192.168.1.15" if s.sa_in.udp else None),
                         MAC_NAT if s.sa_in.udp else MAC_A, 10 + i)

    reply = bytes(IPv6(src=HOST6, dst=ADDR_A, hlim=64) / ICMPv6EchoReply(id=0x66, seq=1, data=b"ping6 through PPP"))
    synack = syn6(HOST6, ADDR_B, 1460, "SA")
    too_big = big6(HOST6, ADDR_A, 1421, 1)
    fits = big6(HOST6, ADDR_A, 1420, 2)
    echo_us = bytes(IPv6(src=HOST6, dst=GW6, hlim=64) / ICMPv6EchoRequest(id=7, seq=9, data=b"hello gw"))
    inside = [eth6(INSIDE_MAC, INSIDE_HOST_MAC, p) for p in (reply, synack, too_big, fits)]
    inside += [eth6(INSIDE_MAC, INSIDE_HOST_MAC, IPv6(src=HOST6, dst="2001:db8:1:30::1") / UDP() / Raw(b"none")),
               eth6(INSIDE_MAC, INSIDE_HOST_MAC, echo_us), ns_to_us(HOST6, INSIDE_HOST_MAC),
               ns_to_us(HOST6, INSIDE_HOST_MAC, hlim=64)]
    seen = {}

    def read_segment(g):
        seg = Segment.attach(g.channel)
        for e in seg.sessions():
            seen[(e["tunnel_id"], e["session_id"])] = (e, seg.session_counters(e["slot"]))
        seg.close()

    res = gw.run(outside_in=plan.outside, inside_in=inside, during=read_segment)

    got_in = [f for f in res.inside_out]
    from_clients = [f for f in got_in if IPv6(f[14:]).src in (ADDR_A, ADDR_B)]
    t.frames_eq("client to inside: hop limit - 1, static neighbour and gateway, SYN clamped to tcp_mss",
                from_clients, exp_in)
    local = [f for f in got_in if IPv6(f[14:]).src == GW6]
    exp_local = [ptb(INSIDE_HOST_MAC, HOST6, too_big, 1420),
                 bytes(Ether(dst=INSIDE_HOST_MAC, src=INSIDE_MAC) / IPv6(src=GW6, dst=HOST6, hlim=64) /
                       ICMPv6EchoReply(id=7, seq=9, data=b"hello gw")),
                 na_from_us(INSIDE_HOST_MAC, HOST6)]
    t.frames_eq("inside: Packet Too Big (MTU 1420), echo reply, Neighbor Advertisement, as scapy builds them",
                local, exp_local)
    frames_a = [f for f in res.outside_out if f[30:34] == bytes(map(int, a.peer.split(".")))]
    frames_b = [f for f in res.outside_out if f[30:34] == bytes(map(int, b.peer.split(".")))]
    dec_a = [decrypt(a.sa_out, f[14:]) for f in frames_a]
    dec_b = [decrypt(b.sa_out, f[14:]) for f in frames_b]
    t.frames_eq("inside to client a: PPP 0x0057 in L2TP in ESP, the packet of exactly the tunnel MTU too", dec_a,
                [lp.encap_frame(a, lp.ppp_header(lp.PPP_IPV6, a.acfc, a.pfc) + forwarded6(p)) for p in (reply, fits)])
    t.frames_eq("inside to client b: SYN-ACK clamped to its tunnel MTU 1419 less 60", dec_b,
                [lp.encap_frame(b, lp.ppp_header(lp.PPP_IPV6, b.acfc, b.pfc) + clamped6(synack, 1419 - 60), ns=0)])
    exp_drops = {}
    for reason, _, _ in bad:
        exp_drops[reason] = exp_drops.get(reason, 0) + 1
    exp_drops["no_session"] = 1
    exp_drops["nd_malformed"] = 1
    t.drops("drops", res.stats, exp_drops)
    seg = res.seg_totals
    t.eq("icmp_too_big_sent", seg["icmp_too_big_sent"], 1)
    t.eq("nd_advertisements", seg["nd_advertisements"], 1)
    t.eq("inner_fragmented: IPv6 is never fragmented", seg["inner_fragmented"], 0)
    for s, prefix in ((a, PREFIX_A), (b, PREFIX_B), (c, None)):
        e = seen.get(s.ids, ({}, {}))[0]
        t.eq(f"session {s.ids}: IPv6 /64 in the directory", (e.get("ipv6"), e.get("ipv6_prefix")),
             (prefix is not None, prefix))
    cnt = seen.get(a.ids, ({}, {}))[1]
    # rx: ping and UDP; spoofed: one; other drops: link-local, multicast,
    # hop limit, malformed; tx: echo reply and the full-size packet.
    t.eq("session a counters", {k: cnt.get(k) for k in ("rx_packets", "spoofed", "other_drops", "tx_packets")},
         {"rx_packets": 2, "spoofed": 1, "other_drops": 4, "tx_packets": 2})


def run_ndp(ctx, t):
    gw = ctx.gateway("ipv6nd")
    a = configure(gw, static=False)[0]
    first = big6(HOST6_B, ADDR_A, 1500, 3)
    second = big6(HOST6_B, ADDR_A, 1500, 4)
    third = big6(HOST6, ADDR_A, 1500, 5)
    na_b = eth6(INSIDE_MAC, HOST6_B_MAC, IPv6(src=HOST6_B, dst=GW6, hlim=255) /
                ICMPv6ND_NA(tgt=HOST6_B, R=0, S=1, O=1) / ICMPv6NDOptDstLLAddr(lladdr=HOST6_B_MAC))
    inside = [eth6(INSIDE_MAC, HOST6_B_MAC, first), na_b, eth6(INSIDE_MAC, HOST6_B_MAC, second),
              ns_to_us(HOST6, INSIDE_HOST_MAC), eth6(INSIDE_MAC, INSIDE_HOST_MAC, third)]
    res = gw.run(inside_in=inside)
    ns = bytes(Ether(dst="33:33:ff:00:00:03", src=INSIDE_MAC) / IPv6(src=GW6, dst="ff02::1:ff00:3", hlim=255) /
               ICMPv6ND_NS(tgt=HOST6_B) / ICMPv6NDOptSrcLLAddr(lladdr=INSIDE_MAC))
    t.frames_eq("NDP: our solicitation, then what we learnt from the advertisement and from a solicitation",
                res.inside_out, [ns, ptb(HOST6_B_MAC, HOST6_B, second, 1420), na_from_us(INSIDE_HOST_MAC, HOST6),
                                 ptb(INSIDE_HOST_MAC, HOST6, third, 1420)])
    t.drops("NDP: drops", res.stats, {"nd_unresolved": 1, "nd_consumed": 1})
    t.eq("NDP: nothing to the client", len(res.outside_out), 0)
