"""Inner IPv4 packets larger than a session's tunnel MTU, inside → client.

The tunnel MTU is the outside port's MTU less what the session really adds
(outer IPv4, NAT-T UDP, ESP header, IV, padding, trailer and ICV of its
outbound SA, UDP, L2TP and PPP as sent): 1420 for a raw AES-CBC-128/
HMAC-SHA1-96 session with a plain PPP header at MTU 1500, 1419 for an
AES-GCM-128 NAT-T one with Ns and ACFC/PFC. A packet of exactly that size
must leave as one ESP frame of exactly the port's MTU; one byte more with
DF is answered with ICMP "fragmentation needed" (RFC 1191), which scapy
builds byte for byte (tos 0xc0, 548 bytes quoted, RFC 1812 §4.3.2.3);
without DF it is cut into fragments equal to scapy's fragment(), each
decrypted by scapy, and scapy's defragment() gives back the packet. Then
the "icmp" and "drop" policies, the ICMP rate limit and the packets that
must never get an ICMP error (an ICMP error, a non-first fragment)."""

from scapy.layers.inet import ICMP, IP, UDP, defragment, fragment
from scapy.packet import Raw

import l2tp_ppp as lp
from cases.sessions import INSIDE_HOST, clients
from esp import decrypt
from gwrun import INSIDE_ADDR, INSIDE_HOST_MAC, INSIDE_MAC
from traffic import mac_bytes, to_inside

ETH_TO_HOST = mac_bytes(INSIDE_HOST_MAC) + mac_bytes(INSIDE_MAC) + b"\x08\x00"


def packet(dst, size, df, ip_id, proto="udp"):
    """An IPv4 packet of `size` bytes in all from the inside host."""
    l4 = UDP(sport=40000, dport=53) if proto == "udp" else ICMP(type=3, code=1)
    pay = bytes((ip_id * 3 + i) & 0xFF for i in range(size - 28))
    return bytes(IP(src=INSIDE_HOST, dst=dst, ttl=64, id=ip_id, flags="DF" if df else 0) / l4 / Raw(pay))


def frag_needed(inner, mtu):
    """The ICMP error scapy builds for inner: from our inside address."""
    return ETH_TO_HOST + bytes(IP(src=INSIDE_ADDR, dst=INSIDE_HOST, tos=0xC0, ttl=64, id=0, flags=0) /
                               ICMP(type=3, code=4, nexthopmtu=mtu) / Raw(inner[:548]))


def fragments(inner_fwd, mtu):
    return [bytes(f) for f in fragment(IP(inner_fwd), fragsize=(mtu - 20) // 8 * 8)]


def decrypt_all(t, name, sa, frames):
    out = []
    for i, f in enumerate(frames):
        try:
            out.append(decrypt(sa, f[14:]))
        except Exception as e:  # noqa: BLE001 - a bad ICV is a failed check
            t.check(f"{name}: frame {i} decrypts", False, str(e))
            out.append(b"")
    return out


def run(ctx, t):
    run_fragment(ctx, t)
    run_icmp_policy(ctx, t)
    run_drop_policy(ctx, t)


def run_fragment(ctx, t):
    gw = ctx.gateway("toobig")
    gw.inside_neighbors[INSIDE_HOST] = INSIDE_HOST_MAC
    a, b = clients(gw)[:2]
    mtu_a, mtu_b = 1420, 1419
    fit_a = packet(a.address, mtu_a, True, 1)
    over_a_df = packet(a.address, mtu_a + 1, True, 2)
    big_a = packet(a.address, 1500, False, 3)
    fit_b = packet(b.address, mtu_b, False, 4)
    over_b = packet(b.address, mtu_b + 1, False, 5)
    icmp_err = packet(a.address, 1500, True, 6, proto="icmp")   # never answered with an error
    later_frag = bytes(IP(src=INSIDE_HOST, dst=a.address, ttl=64, id=7, flags="DF", frag=100, proto=17)
                       / Raw(bytes(1480)))                      # a non-first fragment: no error either
    small_a = packet(a.address, 100, True, 8)
    sent = [fit_a, over_a_df, big_a, fit_b, over_b, icmp_err, later_frag, small_a]
    res = gw.run(inside_in=[to_inside(p) for p in sent])

    t.frames_eq("inside: ICMP fragmentation needed, MTU 1420, byte for byte", res.inside_out,
                [frag_needed(over_a_df, mtu_a)])
    if res.inside_out:
        icmp = IP(res.inside_out[0][14:])
        t.eq("ICMP: type, code, next-hop MTU as scapy reads them", (icmp[ICMP].type, icmp[ICMP].code,
                                                                     icmp[ICMP].nexthopmtu), (3, 4, 1420))
    frames_a = [f for f in res.outside_out if IP(f[14:]).dst == a.peer]
    frames_b = [f for f in res.outside_out if IP(f[14:]).dst == b.peer]
    # CBC pads to 16 bytes: 1496 is the largest packet of this SA within
    # 1500. GCM pads to 4: exactly 1500.
    t.eq("outside: a packet of exactly the tunnel MTU: a 1496-byte ESP packet, one block below 1500",
         len(frames_a[0]) - 14 if frames_a else None, 1496)
    t.eq("outside: the same on the NAT-T GCM session fills 1500 bytes",
         len(frames_b[0]) - 14 if frames_b else None, 1500)
    exp_a = ([lp.encap_plain(a, lp.forwarded(fit_a))]
             + [lp.encap_plain(a, f) for f in fragments(lp.forwarded(big_a), mtu_a)]
             + [lp.encap_plain(a, lp.forwarded(small_a))])
    t.frames_eq("session a: decrypted by scapy, fragments equal scapy's fragment()",
                decrypt_all(t, "a", a.sa_out, frames_a), exp_a)
    frags_b = fragments(lp.forwarded(over_b), mtu_b)
    dec_b = decrypt_all(t, "b", b.sa_out, frames_b)
    exp_b = [lp.encap_plain(b, lp.forwarded(fit_b), ns=0)] + [lp.encap_plain(b, f, ns=1 + i)
                                                              for i, f in enumerate(frags_b)]
    t.frames_eq("session b: Ns per fragment, fragments equal scapy's", dec_b, exp_b)
    # Reassembled by scapy from what the gateway sent: the packet as forwarded.
    inner_a = [bytes(IP(d)[UDP].payload)[6 + 4:] for d in decrypt_all(t, "a", a.sa_out, frames_a[1:3])]
    whole = defragment([IP(x) for x in inner_a])
    t.bytes_eq("session a: scapy's defragment() of the fragments is the forwarded packet",
               bytes(whole[0]) if whole else b"", lp.forwarded(big_a))
    seg = res.seg_totals
    t.eq("icmp_too_big_sent", seg["icmp_too_big_sent"], 1)
    t.eq("inner_fragmented", seg["inner_fragmented"], 2)
    t.eq("inner_fragments", seg["inner_fragments"], 4)
    t.drops("drops", res.stats, {"inner_too_big": 2})


def run_icmp_policy(ctx, t):
    gw = ctx.gateway("toobigicmp")
    gw.inside_neighbors[INSIDE_HOST] = INSIDE_HOST_MAC
    gw.outside_mtu = 1400
    gw.dataplane_extra.update(inner_too_big='"icmp"', icmp_rate=1, icmp_burst=2)
    a = clients(gw)[0]
    mtu = 1324  # 1400: ESP payload 1342 less 18
    sent = [packet(a.address, mtu + 1, False, 20), packet(a.address, mtu + 1, True, 21),
            packet(a.address, 1400, False, 22), packet(a.address, 1400, True, 23),
            packet(a.address, mtu, False, 24)]
    res = gw.run(inside_in=[to_inside(p) for p in sent])
    t.frames_eq("policy icmp: ICMP with MTU 1324 for the first two, then the bucket is empty", res.inside_out,
                [frag_needed(sent[0], mtu), frag_needed(sent[1], mtu)])
    t.frames_eq("policy icmp: the packet that fits is sent",
                decrypt_all(t, "icmp", a.sa_out, res.outside_out), [lp.encap_plain(a, lp.forwarded(sent[4]))])
    t.eq("policy icmp: icmp_too_big_sent", res.seg_totals["icmp_too_big_sent"], 2)
    t.drops("policy icmp: drops", res.stats, {"icmp_rate": 2})


def run_drop_policy(ctx, t):
    gw = ctx.gateway("toobigdrop")
    gw.inside_neighbors[INSIDE_HOST] = INSIDE_HOST_MAC
    gw.dataplane_extra.update(inner_too_big='"drop"')
    a = clients(gw)[0]
    sent = [packet(a.address, 1421, False, 30), packet(a.address, 1421, True, 31)]
    res = gw.run(inside_in=[to_inside(p) for p in sent])
    t.frames_eq("policy drop: DF still gets its ICMP", res.inside_out, [frag_needed(sent[1], 1420)])
    t.eq("policy drop: nothing to the client", len(res.outside_out), 0)
    t.drops("policy drop: drops", res.stats, {"inner_too_big": 1})
    t.eq("policy drop: inner_fragmented", res.seg_totals["inner_fragmented"], 0)
