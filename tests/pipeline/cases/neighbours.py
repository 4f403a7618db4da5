"""Next hops of what the gateway sends on the outside port: an on-link peer
without a static entry is resolved by ARP (the reply that finds no MAC is
dropped as arp_unresolved and an ARP request goes out); the gateway learns a
peer from the ARP request the peer sends for our address (RFC 826, "merge")
and the next reply reaches it. Off-link peers go through the port's gateway
(its MAC from a static entry, or resolved by ARP); without a gateway they are
no_route. The replies are ESP-protected ICMP echo replies, checked whole."""

import struct

from scapy.layers.inet import IP
from scapy.layers.l2 import ARP, Ether

from esp import SaSpec, decrypt, parse_esp_frame, protect
from gwrun import OUTSIDE_ADDR, OUTSIDE_MAC
from traffic import icmp_echo, ip_packet, mac_bytes, to_outside

GW_ADDR = "198.51.100.254"
GW_MAC = "02:00:00:00:fe:fe"
ONLINK = "198.51.100.91"
ONLINK_MAC = "02:00:00:00:00:91"
OFFLINK = "203.0.113.9"
BROADCAST = "ff:ff:ff:ff:ff:ff"
# The ARP request from the peer comes after this many frames (the first echo
# requests, then frames dropped as not_for_us), so that it starts a receive
# burst of its own for any burst size dividing 256: within one burst, ARP is
# handled before the burst's ESP, which would hide the first miss.
BEFORE_ARP = 256


def arp_frame(op, eth_dst, sha, spa, tha, tpa):
    return bytes(Ether(dst=eth_dst, src=sha, type=0x0806) /
                 ARP(hwtype=1, ptype=0x0800, hwlen=6, plen=4, op=op, hwsrc=sha, psrc=spa, hwdst=tha, pdst=tpa))


class Peer:
    def __init__(self, gw, n, addr, cipher, auth, encap="none"):
        self.addr = addr
        self.sa_in = gw.add_sa(SaSpec("in", 0xA000 + n, addr, cipher, auth, encap=encap))
        self.sa_out = gw.add_sa(SaSpec("out", 0xA100 + n, addr, cipher, auth, encap=encap))
        self.seq = 0

    def echo(self, src_mac, ident):
        """An ESP-protected echo request and its payload."""
        self.seq += 1
        payload = bytes((ident + i) & 0xFF for i in range(40))
        ip = ip_packet(self.addr, OUTSIDE_ADDR, 1, icmp_echo(ident, self.seq, payload), ip_id=ident)
        return to_outside(protect(self.sa_in, ip, self.seq), src_mac), (ident, self.seq, payload)


def check_reply(t, name, frame, peer, eth_dst, want, esp_seq):
    """The frame is the ESP-protected echo reply to `want` from our address,
    with sequence number esp_seq, to eth_dst."""
    t.bytes_eq(f"{name}: Ethernet header", frame[:14], mac_bytes(eth_dst) + mac_bytes(OUTSIDE_MAC) + b"\x08\x00")
    spi, seq, _ = parse_esp_frame(frame, peer.sa_out.udp)
    t.eq(f"{name}: SPI and sequence number", (spi, seq), (peer.sa_out.spi, esp_seq))
    try:
        plain = decrypt(peer.sa_out, frame[14:])
    except Exception as e:  # scapy raises on a bad ICV
        t.check(f"{name}: scapy decrypts it", False, repr(e))
        return
    ip = IP(plain)
    ident, seq, payload = want
    t.eq(f"{name}: reply from us to the peer", (ip.src, ip.dst, ip.proto), (OUTSIDE_ADDR, peer.addr, 1))
    t.bytes_eq(f"{name}: echo reply body", plain[20:21] + plain[24:],
               b"\x00" + struct.pack("!HH", ident, seq) + payload)


def learn_and_gateway(ctx, t):
    gw = ctx.gateway("neigh")
    gw.outside_gateway = GW_ADDR
    gw.neighbors[GW_ADDR] = GW_MAC
    onlink = Peer(gw, 1, ONLINK, "aes-cbc-128", "hmac-sha1-96")
    offlink = Peer(gw, 2, OFFLINK, "aes-gcm-128", "none", encap="udp")
    first, want1 = onlink.echo(ONLINK_MAC, 0x11)
    far, want_far = offlink.echo(GW_MAC, 0x22)  # an off-link peer's packets come through the router
    filler = [to_outside(ip_packet(ONLINK, OUTSIDE_ADDR, 1, icmp_echo(9, k, b"")), ONLINK_MAC,
                         dst_mac="02:00:00:00:99:99") for k in range(BEFORE_ARP - 2)]
    ask = arp_frame(1, BROADCAST, ONLINK_MAC, ONLINK, "00:00:00:00:00:00", OUTSIDE_ADDR)
    second, want2 = onlink.echo(ONLINK_MAC, 0x33)
    res = gw.run(outside_in=[first, far] + filler + [ask, second])
    st = res.stats
    out = res.outside_out
    arps = [f for f in out if f[12:14] == b"\x08\x06"]
    esp = [f for f in out if f[12:14] == b"\x08\x00"]
    t.eq("frames sent: ARP request, ARP reply, two ESP replies", (len(out), len(arps), len(esp)), (4, 2, 2))
    t.frames_eq("ARP request for the on-link peer, then the reply to its request", arps,
                [arp_frame(1, BROADCAST, OUTSIDE_MAC, OUTSIDE_ADDR, "00:00:00:00:00:00", ONLINK),
                 arp_frame(2, ONLINK_MAC, OUTSIDE_MAC, OUTSIDE_ADDR, ONLINK_MAC, ONLINK)])
    t.check("the ARP request left before anything was sent to the learnt MAC",
            out.index(arps[0]) < min(out.index(f) for f in out if f[:6] == mac_bytes(ONLINK_MAC)) if arps else False)
    to_onlink = [f for f in esp if f[:6] == mac_bytes(ONLINK_MAC)]
    to_gateway = [f for f in esp if f[:6] == mac_bytes(GW_MAC)]
    if t.eq("one ESP reply to the learnt MAC", len(to_onlink), 1):
        # The first reply took sequence number 1 before it found no MAC.
        check_reply(t, "reply after learning", to_onlink[0], onlink, ONLINK_MAC, want2, 2)
    if t.eq("one ESP reply to the gateway's MAC", len(to_gateway), 1):
        check_reply(t, "reply to the off-link peer", to_gateway[0], offlink, GW_MAC, want_far, 1)
    t.eq("icmp_replies", st.total("icmp_replies"), 3)
    t.eq("arp_replies", st.total("arp_replies"), 1)
    t.drops("learn and gateway", st, {"arp_unresolved": 1, "not_for_us": BEFORE_ARP - 2})


def no_gateway(ctx, t):
    gw = ctx.gateway("neighnogw")
    offlink = Peer(gw, 3, OFFLINK, "aes-cbc-128", "hmac-sha1-96")
    req, _ = offlink.echo(GW_MAC, 0x44)
    res = gw.run(outside_in=[req])
    t.eq("no gateway: nothing sent", len(res.outside_out), 0)
    t.eq("no gateway: icmp_replies", res.stats.total("icmp_replies"), 1)
    t.drops("no gateway", res.stats, {"no_route": 1})


def gateway_unresolved(ctx, t):
    gw = ctx.gateway("neighgwarp")
    gw.outside_gateway = GW_ADDR
    offlink = Peer(gw, 4, OFFLINK, "aes-gcm-256", "none")
    req, _ = offlink.echo(GW_MAC, 0x55)
    res = gw.run(outside_in=[req])
    t.frames_eq("gateway's MAC unknown: ARP request for the gateway, not the peer", res.outside_out,
                [arp_frame(1, BROADCAST, OUTSIDE_MAC, OUTSIDE_ADDR, "00:00:00:00:00:00", GW_ADDR)])
    t.drops("gateway unresolved", res.stats, {"arp_unresolved": 1})


def run(ctx, t):
    learn_and_gateway(ctx, t)
    no_gateway(ctx, t)
    gateway_unresolved(ctx, t)
