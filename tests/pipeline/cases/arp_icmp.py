"""Plain ARP and ICMP echo to the gateway's outside address (RFC 826, RFC 792)."""

import struct

from scapy.layers.l2 import ARP, Ether

from esp import inet_checksum
from gwrun import OUTSIDE_ADDR, OUTSIDE_MAC
from traffic import icmp_echo, ip_packet, mac_bytes, to_outside

ASKER_MAC = "02:00:00:00:00:33"
ASKER_IP = "198.51.100.33"


def arp(op, src_mac, src_ip, dst_mac, dst_ip, eth_dst):
    return bytes(Ether(dst=eth_dst, src=src_mac, type=0x0806) /
                 ARP(hwtype=1, ptype=0x0800, hwlen=6, plen=4, op=op, hwsrc=src_mac, psrc=src_ip,
                     hwdst=dst_mac, pdst=dst_ip))


def echo_reply_expected(req_frame):
    """The request with Ethernet and IP addresses swapped, TTL 64, type 0 and
    both checksums recomputed; the IP id is the gateway's choice and is
    masked out of the comparison by the caller."""
    ip = bytearray(req_frame[14:])
    ihl = (ip[0] & 0xF) * 4
    ip[12:16], ip[16:20] = ip[16:20], ip[12:16]
    ip[8] = 64
    ip[10:12] = b"\0\0"
    icmp = bytearray(ip[ihl:])
    icmp[0] = 0
    icmp[2:4] = b"\0\0"
    icmp[2:4] = struct.pack("!H", inet_checksum(bytes(icmp)))
    ip[ihl:] = icmp
    return req_frame[6:12] + req_frame[0:6] + req_frame[12:14] + bytes(ip)


def mask_ip_id_and_checksum(frame):
    f = bytearray(frame)
    if len(f) >= 34:
        f[18:20] = b"\0\0"
        f[24:26] = b"\0\0"
    return bytes(f)


def run(ctx, t):
    gw = ctx.gateway("arpicmp")
    req = arp(1, ASKER_MAC, ASKER_IP, "00:00:00:00:00:00", OUTSIDE_ADDR, "ff:ff:ff:ff:ff:ff")
    req_unicast = arp(1, "02:00:00:00:00:34", "198.51.100.34", "00:00:00:00:00:00", OUTSIDE_ADDR, OUTSIDE_MAC)
    req_padded = arp(1, "02:00:00:00:00:35", "198.51.100.35", "00:00:00:00:00:00", OUTSIDE_ADDR,
                     "ff:ff:ff:ff:ff:ff") + b"\0" * 18
    req_other = arp(1, ASKER_MAC, ASKER_IP, "00:00:00:00:00:00", "198.51.100.99", "ff:ff:ff:ff:ff:ff")
    echo = [to_outside(ip_packet(ASKER_IP, OUTSIDE_ADDR, 1, icmp_echo(0x77, s, bytes(range(n)) * 1),
                                 ttl=55, ip_id=0x900 + s), ASKER_MAC)
            for s, n in ((1, 0), (2, 56), (3, 200))]
    echo_padded = to_outside(ip_packet(ASKER_IP, OUTSIDE_ADDR, 1, icmp_echo(0x78, 9, b"ab"), ip_id=0x999),
                             ASKER_MAC, trailer=b"\0" * 16)
    echo_other = to_outside(ip_packet(ASKER_IP, "198.51.100.98", 1, icmp_echo(0x79, 1, b"x")), ASKER_MAC)
    frames = [req, req_unicast, req_padded, req_other] + echo + [echo_padded, echo_other]
    res = gw.run(outside_in=frames)
    st = res.stats

    def reply(req_frame):
        src_mac = ":".join(f"{b:02x}" for b in req_frame[6:12])
        src_ip = ".".join(str(b) for b in req_frame[28:32])
        return arp(2, OUTSIDE_MAC, OUTSIDE_ADDR, src_mac, src_ip, src_mac)

    out = res.outside_out
    arps = [f for f in out if f[12:14] == b"\x08\x06"]
    icmps = [f for f in out if f[12:14] == b"\x08\x00"]
    t.eq("frames sent", len(out), 3 + len(echo) + 1)
    t.frames_eq("ARP replies", arps[:2], [reply(req), reply(req_unicast)])
    if len(arps) >= 3:
        # A reply built in the request's buffer may keep the Ethernet padding.
        exp = reply(req_padded)
        t.check("ARP reply to a padded request", arps[2] in (exp, exp + b"\0" * 18),
                f"got {arps[2].hex()}, expected {exp.hex()} (optionally + 18 zero bytes)")
    else:
        t.check("ARP reply to a padded request", False, f"only {len(arps)} ARP replies")
    exp_icmp = [echo_reply_expected(f) for f in echo]
    t.frames_eq("ICMP echo replies (IP id masked)", [mask_ip_id_and_checksum(f) for f in icmps[:3]],
                [mask_ip_id_and_checksum(f) for f in exp_icmp])
    t.check("ICMP echo replies: IPv4 header checksums valid",
            all(inet_checksum(f[14:34]) == 0 for f in icmps) and icmps, [f.hex() for f in icmps])
    if len(icmps) == 4:
        # The reply to a padded frame carries the IP packet only.
        exp = echo_reply_expected(echo_padded[:14 + 20 + 8 + 2])
        t.bytes_eq("ICMP echo reply to a padded frame", mask_ip_id_and_checksum(icmps[3]),
                   mask_ip_id_and_checksum(exp))
    else:
        t.check("ICMP echo reply to a padded frame", False, f"{len(icmps)} ICMP replies")
    t.eq("arp_replies", st.total("arp_replies"), 3)
    t.eq("icmp_replies", st.total("icmp_replies"), 4)
    t.eq("rx_packets", st.total("rx_packets"), len(frames))
    t.drops("arp/icmp", st, {"arp_ignored": 1, "not_for_us": 1})
    t.eq("nothing punted", len(res.punts), 0)
