"""ICMP echo (RFC 792) in IPv4 (RFC 791), built and read with struct: the
client pings through its tunnel and answers the inside's pings. scapy did
this before at about ten times the cost, which a load run with thousands of
sessions cannot pay; selftest_hold.py holds both functions against scapy.
"""

import socket
import struct
from collections import namedtuple

ECHO_REPLY, ECHO_REQUEST = 0, 8
IPPROTO_ICMP = 1

Echo = namedtuple("Echo", "type src dst ident seq payload")


def checksum(data):
    """The Internet checksum (RFC 1071), for ICMP and UDP alike."""
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def echo(src, dst, ident, seq, payload, kind=ECHO_REQUEST, ttl=64, ip_id=1):
    """The IPv4 packet of an echo request (or reply, kind=ECHO_REPLY)."""
    icmp = struct.pack("!BBHHH", kind, 0, 0, ident, seq) + payload
    icmp = icmp[:2] + struct.pack("!H", checksum(icmp)) + icmp[4:]
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), ip_id, 0, ttl, IPPROTO_ICMP, 0,
                         socket.inet_aton(src), socket.inet_aton(dst))
    header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
    return header + icmp


def parse(packet):
    """Echo of an IPv4 ICMP echo request or reply, or None for anything else
    (another protocol or type, a fragment, a truncated packet)."""
    if len(packet) < 20 or packet[0] >> 4 != 4:
        return None
    ihl = (packet[0] & 0x0F) * 4
    total = struct.unpack_from("!H", packet, 2)[0]
    frag = struct.unpack_from("!H", packet, 6)[0]
    if ihl < 20 or total < ihl + 8 or total > len(packet) or packet[9] != IPPROTO_ICMP or frag & 0x3FFF:
        return None
    kind, _, _, ident, seq = struct.unpack_from("!BBHHH", packet, ihl)
    if kind not in (ECHO_REPLY, ECHO_REQUEST):
        return None
    return Echo(kind, socket.inet_ntoa(packet[12:16]), socket.inet_ntoa(packet[16:20]), ident, seq,
                bytes(packet[ihl + 8:total]))
