#!/usr/bin/python3
"""Self-test of the load generator's fast paths, without network: the ESP
codec (esp_codec.py) against scapy's SecurityAssociation for every
transform it has, byte for byte both ways, and the ICMP echo builder and
parser (icmp.py) against scapy's IP and ICMP layers. Exit 0 when all
checks pass.

    /usr/bin/python3 perf/client/selftest_hold.py
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from scapy.layers.inet import ICMP, IP, UDP  # noqa: E402
from scapy.packet import Raw  # noqa: E402

from client import esp_codec, icmp  # noqa: E402

import esp as esp_ref  # noqa: E402

RESULTS = []
LOCAL, SERVER = "10.252.0.10", "198.51.100.1"


def check(name, ok, detail=""):
    RESULTS.append((name, bool(ok)))
    print(f"[{'PASS' if ok else 'FAIL'}] {name}{'' if ok or not detail else ': ' + str(detail)}")


def test_esp():
    for cipher, auth in esp_ref.TRANSFORMS:
        if not esp_codec.supported(cipher, auth):
            check(f"ESP {cipher}/{auth}: in the fast path", False)
            continue
        # Our "out" SA is the gateway's inbound one: the spec's sender is us.
        spec = esp_ref.SaSpec(direction="in", spi=0x1234abcd, peer=LOCAL, cipher=cipher, auth=auth)
        codec = esp_codec.Sa(spec)
        for size in (0, 1, 13, 14, 15, 100, 1400):
            payload = bytes((i * 7 + size) & 0xFF for i in range(size))
            seq = 1000 + size
            iv = spec.default_iv(seq)
            inner = IP(src=LOCAL, dst=SERVER) / UDP(sport=1701, dport=1701) / Raw(payload)
            ip_bytes = bytes(spec.scapy_sa().encrypt(inner, seq_num=seq, iv=iv))
            want = ip_bytes[(ip_bytes[0] & 0x0F) * 4:]
            got = codec.protect(esp_codec.udp_datagram(LOCAL, SERVER, 1701, 1701, payload), seq, iv=iv)
            check(f"ESP {cipher}/{auth} {size} B: protect equals scapy's", got == want,
                  f"{got.hex()[:64]} vs {want.hex()[:64]}")
            # And back: scapy's packet through unprotect.
            nh, udp = codec.unprotect(want)
            want_udp = bytes(IP(bytes(inner))[UDP])
            ok = nh == 17 and udp == want_udp
            check(f"ESP {cipher}/{auth} {size} B: unprotect gives scapy's UDP datagram", ok)
            # Ours decrypted by scapy, with a fresh IV (CBC's random one).
            mine = codec.protect(esp_codec.udp_datagram(LOCAL, SERVER, 1701, 1701, payload), seq + 1)
            outer = IP(bytes(IP(src=LOCAL, dst=SERVER, proto=50) / Raw(mine)))
            plain = spec.scapy_sa().decrypt(outer)
            check(f"ESP {cipher}/{auth} {size} B: scapy decrypts ours", UDP in plain and
                  bytes(plain[UDP]) == want_udp)
        damaged = want[:-1] + bytes([want[-1] ^ 1])
        try:
            codec.unprotect(damaged)
            check(f"ESP {cipher}/{auth}: a damaged ICV is refused", False)
        except esp_codec.EspError:
            check(f"ESP {cipher}/{auth}: a damaged ICV is refused", True)


def test_udp_checksum():
    for size in (0, 1, 57, 1400):
        payload = os.urandom(size)
        want = bytes(IP(bytes(IP(src=LOCAL, dst=SERVER) / UDP(sport=1701, dport=40000) / Raw(payload)))[UDP])
        got = esp_codec.udp_datagram(LOCAL, SERVER, 1701, 40000, payload)
        check(f"UDP {size} B: header and checksum equal scapy's", got == want, f"{got[:8].hex()} vs {want[:8].hex()}")


def test_icmp():
    for size in (0, 1, 56, 1000):
        payload = bytes(i & 0xFF for i in range(size))
        for kind in (icmp.ECHO_REQUEST, icmp.ECHO_REPLY):
            got = icmp.echo("100.64.0.10", "10.0.0.2", 0xBEEF, 7, payload, kind=kind)
            want = bytes(IP(src="100.64.0.10", dst="10.0.0.2", id=1) / ICMP(type=kind, id=0xBEEF, seq=7) / payload)
            check(f"ICMP type {kind} {size} B: equals scapy's", got == want, f"{got.hex()[:60]} vs {want.hex()[:60]}")
        pkt = bytes(IP(src="10.0.0.2", dst="100.64.0.10", ttl=63, id=99, options=[]) /
                    ICMP(type=0, id=0x1234, seq=65535) / payload)
        e = icmp.parse(pkt)
        check(f"ICMP parse of scapy's reply {size} B", e == icmp.Echo(0, "10.0.0.2", "100.64.0.10", 0x1234, 65535,
                                                                      payload), e)
    other = bytes(IP(src="10.0.0.2", dst="100.64.0.10") / ICMP(type=3, code=3) / (b"x" * 8))
    check("ICMP parse: destination unreachable is not an echo", icmp.parse(other) is None)
    frag = bytes(IP(src="10.0.0.2", dst="100.64.0.10", flags="MF") / ICMP(type=0) / (b"x" * 8))
    check("ICMP parse: a fragment is not taken", icmp.parse(frag) is None)
    udp = bytes(IP(src="10.0.0.2", dst="100.64.0.10") / UDP() / b"x")
    check("ICMP parse: UDP is not ICMP", icmp.parse(udp) is None)
    check("ICMP parse: truncated", icmp.parse(icmp.echo("1.2.3.4", "5.6.7.8", 1, 1, b"abcd")[:-3]) is None)
    with_options = bytes(IP(src="10.0.0.2", dst="100.64.0.10", options=b"\x01\x01\x01\x00") /
                         ICMP(type=8, id=5, seq=6) / b"opt")
    check("ICMP parse: IP options skipped", icmp.parse(with_options) ==
          icmp.Echo(8, "10.0.0.2", "100.64.0.10", 5, 6, b"opt"))
    check("ICMP checksum of ours verifies with scapy",
          IP(icmp.echo("1.2.3.4", "5.6.7.8", 1, 2, b"xyz"))[ICMP].chksum ==
          ICMP(bytes(ICMP(type=8, id=1, seq=2) / b"xyz")).chksum)


def main():
    test_esp()
    test_udp_checksum()
    test_icmp()
    failed = [n for n, ok in RESULTS if not ok]
    print(f"{len(RESULTS) - len(failed)} of {len(RESULTS)} checks passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
