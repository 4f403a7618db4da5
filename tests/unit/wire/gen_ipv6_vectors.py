#!/usr/bin/python3
"""Prints the IPv6 vectors pasted into ipv6_test.cc, every packet built by
python3-scapy with its checksums computed by scapy (run with
/usr/bin/python3): an echo request and its reply, the Neighbor
Solicitation and Advertisement the gateway must send, ones it must refuse,
a Packet Too Big quoting a large packet, and an IPv6 TCP SYN before and
after its MSS is clamped to 1360."""

from scapy.layers.inet import TCP
from scapy.layers.inet6 import (IPv6, ICMPv6EchoReply, ICMPv6EchoRequest, ICMPv6ND_NA, ICMPv6ND_NS,
                                ICMPv6NDOptDstLLAddr, ICMPv6NDOptSrcLLAddr, ICMPv6PacketTooBig, UDP)
from scapy.packet import Raw

GW = "2001:db8:ffff::1"
HOST = "2001:db8:ffff::2"
CLIENT = "2001:db8:1:2::1234"
GW_MAC = "02:00:00:00:02:01"
HOST_MAC = "02:00:00:00:0a:02"


def out(name, b):
    h = bytes(b).hex()
    print(f"// {name} ({len(bytes(b))} bytes)")
    print("\n".join(f'      "{h[i:i + 96]}"' for i in range(0, len(h), 96)))


out("echo request", IPv6(src=HOST, dst=GW, hlim=63) / ICMPv6EchoRequest(id=0x1234, seq=7, data=b"ping6 data!"))
out("echo reply", IPv6(src=GW, dst=HOST, hlim=64) / ICMPv6EchoReply(id=0x1234, seq=7, data=b"ping6 data!"))
out("ns", IPv6(src=GW, dst="ff02::1:ff00:2", hlim=255) / ICMPv6ND_NS(tgt=HOST) / ICMPv6NDOptSrcLLAddr(lladdr=GW_MAC))
out("na", IPv6(src=GW, dst=HOST, hlim=255) / ICMPv6ND_NA(tgt=GW, R=0, S=1, O=1) / ICMPv6NDOptDstLLAddr(lladdr=GW_MAC))
out("host ns", IPv6(src=HOST, dst="ff02::1:ff00:1", hlim=255) / ICMPv6ND_NS(tgt=GW) /
    ICMPv6NDOptSrcLLAddr(lladdr=HOST_MAC))
out("host na no option", IPv6(src=HOST, dst=GW, hlim=255) / ICMPv6ND_NA(tgt=HOST, R=0, S=1, O=1))
out("ns hop 64", IPv6(src=HOST, dst="ff02::1:ff00:1", hlim=64) / ICMPv6ND_NS(tgt=GW))
out("dad ns with option", IPv6(src="::", dst="ff02::1:ff00:1", hlim=255) / ICMPv6ND_NS(tgt=GW) /
    ICMPv6NDOptSrcLLAddr(lladdr=HOST_MAC))
big = IPv6(src=HOST, dst=CLIENT, hlim=64) / UDP(sport=1000, dport=2000) / Raw(bytes(i & 0xFF for i in range(1452)))
ptb = IPv6(src=GW, dst=HOST, hlim=64) / ICMPv6PacketTooBig(mtu=1419) / Raw(bytes(big)[:1232])
out("ptb head", bytes(ptb)[:48])
print("ptb len", len(ptb))
opts = [("MSS", 1460), ("NOP", None), ("WScale", 7), ("SAckOK", b"")]
syn = IPv6(src=HOST, dst=CLIENT, hlim=64) / TCP(sport=33000, dport=443, flags="S", seq=1000, options=opts)
out("syn6", syn)
c = IPv6(bytes(syn))
c[TCP].options = [("MSS", 1360)] + opts[1:]
del c[TCP].chksum
out("syn6 clamped", c)
