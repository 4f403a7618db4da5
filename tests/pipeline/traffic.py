"""Packets the cases share: peers, L2TP-over-UDP payloads and frames
addressed to the gateway's ports."""

import struct

from scapy.layers.inet import ICMP, IP, UDP
from scapy.packet import Raw

from esp import derive
from gwrun import INSIDE_HOST_MAC, INSIDE_MAC, OUTSIDE_ADDR, OUTSIDE_MAC

L2TP_PORT = 1701

# Inner UDP lengths: 9 (one byte of payload), 46 and 47 (46 + 2 trailer bytes
# is a multiple of 16, 8 and 4, so 46 needs no padding and 47 the most:
# 15 for AES-CBC, 7 for 3DES, 3 for GCM), then the benchmark sizes.
L4_SIZES = [8 + 12, 46, 47, 8 + 64, 8 + 512, 8 + 1400]  # the first: UDP + a bare L2TP control header


def peer_addr(i):
    return f"198.51.100.{i}"


def peer_mac(i):
    return f"02:00:00:00:00:{i:02x}"


def l2tp_payload(n, label):
    """An L2TP control message header (RFC 2661 §3.1: T=1, L=1, S=1, ver 2,
    tunnel, session, Ns, Nr) followed by filler, n bytes in all: what the
    gateway hands to its control plane. Shorter than the 12-byte header, it
    is cut (and malformed)."""
    body = struct.pack("!HHHHHH", 0xC802, n, 7, 9, 0, 0) + derive(f"l2tp/{label}", max(0, n - 12))
    return body[:n]


def udp_bytes(src, dst, l4_len, label, sport=L2TP_PORT, dport=L2TP_PORT, csum_src=None):
    """A UDP datagram of l4_len bytes in all, its checksum computed over the
    pseudo-header of csum_src (default src): a NAT-T peer computes it with its
    private address, which is why the gateway must zero it."""
    pkt = IP(src=csum_src or src, dst=dst) / UDP(sport=sport, dport=dport) / Raw(
        l2tp_payload(l4_len - 8, label))
    return bytes(IP(bytes(pkt))[UDP])


def ip_packet(src, dst, proto, l4, ttl=64, ip_id=0x1234, tos=0, flags=0):
    """A scapy IP packet carrying exactly the bytes l4 (no re-computation)."""
    return IP(bytes(IP(src=src, dst=dst, proto=proto, ttl=ttl, id=ip_id, tos=tos, flags=flags) / Raw(l4)))


def icmp_echo(ident, seq, payload, type_=8):
    return bytes(ICMP(type=type_, code=0, id=ident, seq=seq) / Raw(payload))


def to_outside(ip_bytes, src_mac, dst_mac=OUTSIDE_MAC, trailer=b""):
    return mac_bytes(dst_mac) + mac_bytes(src_mac) + b"\x08\x00" + bytes(ip_bytes) + trailer


def to_inside(ip_bytes, src_mac=INSIDE_HOST_MAC):
    return mac_bytes(INSIDE_MAC) + mac_bytes(src_mac) + b"\x08\x00" + bytes(ip_bytes)


def mac_bytes(mac):
    return bytes(int(x, 16) for x in mac.split(":"))


def gw_addr():
    return OUTSIDE_ADDR
