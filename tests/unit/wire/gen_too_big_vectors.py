#!/usr/bin/python3
"""Prints the vectors pasted into too_big_test.cc, made by python3-scapy
(run with /usr/bin/python3):

- the largest ESP payload per transform, raw and NAT-T, for several link
  MTUs: found by encrypting payloads with scapy's SecurityAssociation (its
  own padding rule, RFC 4303 §2.4) and keeping the largest whose outer IPv4
  packet fits, with UDP 4500 added for NAT-T;
- an ICMP "fragmentation needed" (RFC 1191) quoting a packet, checksums by
  scapy;
- the fragments scapy's fragment() cuts a packet into, and fragments of a
  fragment built field by field with scapy computing the checksums.
"""

from scapy.layers.inet import ICMP, IP, UDP, fragment
from scapy.layers.ipsec import SecurityAssociation, ESP
from scapy.packet import Raw

TRANSFORMS = [
    ("aes_cbc_128", "hmac_sha1_96", "AES-CBC", 16, "HMAC-SHA1-96", 20),
    ("aes_cbc_256", "hmac_sha256_128", "AES-CBC", 32, "SHA2-256-128", 32),
    ("aes_gcm_128", "none", "AES-GCM", 20, None, 0),
    ("aes_gcm_256", "none", "AES-GCM", 36, None, 0),
    ("des3_cbc", "hmac_sha1_96", "3DES", 24, "HMAC-SHA1-96", 20),
    ("des3_cbc", "hmac_sha256_128", "3DES", 24, "SHA2-256-128", 32),
]


def esp_len(sa, n):
    ip = IP(src="198.51.100.1", dst="203.0.113.5", proto=17) / Raw(bytes(n))
    return len(sa.encrypt(ip))


def max_payload(sa, mtu, natt):
    budget = mtu - (8 if natt else 0)
    lo, hi = 0, mtu
    if esp_len(sa, 0) > budget:
        return 0
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if esp_len(sa, mid) <= budget:
            lo = mid
        else:
            hi = mid - 1
    return lo


def hexs(b):
    h = b.hex()
    return "\n".join(f'      "{h[i:i + 96]}"' for i in range(0, len(h), 96))


print("// esp_max_payload: {cipher, auth, natt, mtu, payload}")
for c, a, sc, kl, sa_auth, al in TRANSFORMS:
    sa = SecurityAssociation(ESP, spi=0x1000, crypt_algo=sc, crypt_key=bytes(range(kl)),
                             auth_algo=sa_auth, auth_key=bytes(al) if sa_auth else None)
    for natt in (False, True):
        for mtu in (576, 1280, 1400, 1500, 9000):
            print(f"    {{EspCipher::{c}, EspAuth::{a}, {str(natt).lower()}, {mtu}, {max_payload(sa, mtu, natt)}}},")

# ICMP fragmentation needed: a 1500-byte UDP packet with DF from 10.0.0.2 to
# 10.1.0.7, answered by 10.0.0.1 with MTU 1420; 548 bytes quoted.
big = bytes(IP(src="10.0.0.2", dst="10.1.0.7", ttl=63, id=0x4242, flags="DF") /
            UDP(sport=40000, dport=53) / Raw(bytes((i * 7) & 0xFF for i in range(1472))))
icmp = bytes(IP(src="10.0.0.1", dst="10.0.0.2", tos=0xC0, ttl=64, id=0, flags=0) /
             ICMP(type=3, code=4, nexthopmtu=1420) / Raw(big[:548]))
print("// ICMP in"); print(hexs(big[:60]))
print("// ICMP out"); print(hexs(icmp[:28]))
print("icmp len", len(icmp))

# Fragments: a 1400-byte packet without DF cut for MTU 1000 by scapy.
pkt = IP(src="10.0.0.2", dst="10.1.0.7", ttl=63, id=0x1234, tos=0x10) / UDP(sport=1, dport=2) / \
    Raw(bytes((i * 13) & 0xFF for i in range(1372)))
frags = fragment(pkt, fragsize=976)
for f in frags:
    print("// frag", len(bytes(f))); print(hexs(bytes(f)[:20]))
# A fragment (offset 800 bytes, MF set) cut again: the last piece keeps MF.
sub = IP(src="10.0.0.2", dst="10.1.0.7", ttl=63, id=0x9999, flags="MF", frag=100) / Raw(bytes(600))
for off, ln, mf in ((0, 296, True), (296, 296, True), (592, 8, True)):
    h = IP(src="10.0.0.2", dst="10.1.0.7", ttl=63, id=0x9999, flags="MF" if mf else 0,
           frag=100 + off // 8, proto=0) / Raw(bytes(ln))
    print("// subfrag", off, ln); print(hexs(bytes(h)[:20]))
# And a last fragment (offset 800, MF clear) cut in two: only the final
# piece has MF clear.
for off, ln, mf in ((0, 296, True), (296, 4, False)):
    h = IP(src="10.0.0.2", dst="10.1.0.7", ttl=63, id=0x7777, flags="MF" if mf else 0,
           frag=100 + off // 8, proto=0) / Raw(bytes(ln))
    print("// lastfrag", off, ln); print(hexs(bytes(h)[:20]))
