#!/usr/bin/python3
"""Benchmark traffic for the session path, as plain Ethernet pcaps that
net_pcap (infinite_rx or one pass), testpmd, pktgen-dpdk and tcpreplay can
replay.

  decap: ESP (transport mode) from the clients to the gateway's outside
         address, carrying UDP/1701 → L2TP data → PPP (optionally MPPE) →
         inner IPv4/UDP from each session's address to an inside host;
  encap: inner IPv4/UDP from the inside host to the sessions' addresses, for
         the inside port.

By default every session is its own client: its own peer address, SA pair
and inner address, as remote-access clients are. --sessions-per-sa K puts K
sessions behind one client (what a LAC is). Also writes the matching
configuration: the SAs and static sessions as a libconfig snippet, and prints
the data-plane limits they need. Everything is derived from --seed.

The frames are built byte by byte (struct, python3-cryptography's AES-CBC and
AES-GCM, hashlib's HMAC-SHA1, the RC4 MPPE sender of
tests/pipeline/mppe_ref.py), not through scapy, so 100 000 sessions take
seconds. --check N decodes N of the generated frames with scapy's own ESP
(SecurityAssociation) and IPv4/UDP parsers and the MPPE reference receiver,
and fails if any does not decrypt to the intended session's packet with
correct checksums. Nothing here shares code with the data plane.

  gen_session_pcap.py --direction decap --sessions 100000 --cipher aes-cbc-128 \\
      --size imix --packets 100000 --out d.pcap --conf-out s.conf --check 64
"""

import argparse
import hashlib
import hmac
import ipaddress
import os
import random
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "pipeline"))

import mppe_ref  # noqa: E402
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes  # noqa: E402
from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: E402

IMIX = [64] * 7 + [512] * 4 + [1400]  # on the inner UDP payload, 7:4:1
INSIDE_HOST = "10.0.0.2"
INNER_BASE = int(ipaddress.IPv4Address("100.64.0.1"))  # RFC 6598 space for the clients' addresses
# SPIs the gateway chose for inbound SAs and the clients for outbound ones;
# 2^28 apart so a million clients never collide.
SPI_IN_BASE = 0x10000000
SPI_OUT_BASE = 0x20000000

#            key(+salt) block iv  icv (AEAD)
CIPHERS = {"aes-cbc-128": (16, 16, 16, 0), "aes-gcm-128": (20, 4, 8, 16)}
AUTHS = {"none": (0, 0), "hmac-sha1-96": (20, 12)}
PROTO_UDP = 17
PROTO_ESP = 50
L2TP_PORT = 1701


def mac_bytes(mac):
    return bytes(int(x, 16) for x in mac.split(":"))


def csum(data, initial=0):
    """RFC 1071 Internet checksum. The sum of 16-bit words in host (little
    endian) order, folded and byte-swapped, equals the sum in network order
    (RFC 1071 §2(B)); summing a memoryview keeps the loop in C."""
    if len(data) % 2:
        data = bytes(data) + b"\0"
    s = sum(memoryview(data).cast("H")) + initial
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    s = ((s & 0xFF) << 8) | (s >> 8)
    return (~s) & 0xFFFF


def ipv4(src, dst, proto, payload, ident, ttl=64):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, 0, ttl, proto, 0, src, dst)
    return hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:] + payload


def udp(src, dst, sport, dport, payload):
    # The checksum covers the pseudo-header (RFC 768); 0 is sent as 0xFFFF.
    length = 8 + len(payload)
    c = csum(src + dst + struct.pack("!BBHHHHH", 0, PROTO_UDP, length, sport, dport, length, 0) + payload) or 0xFFFF
    return struct.pack("!HHHH", sport, dport, length, c) + payload


def ppp_l2tp(tunnel, session, ppp_payload):
    # RFC 2661 §3.1 data header without L, S, O (what Windows sends), then
    # PPP with address/control (RFC 1662 §3.1); ppp_payload starts with the
    # 2-byte protocol field (RFC 1661 §2).
    return struct.pack("!HHH", 0x0002, tunnel, session) + b"\xff\x03" + ppp_payload


class Sa:
    def __init__(self, direction, spi, peer, cipher, auth, key):
        self.direction, self.spi, self.peer, self.cipher, self.auth = direction, spi, peer, cipher, auth
        self.key_len, self.block, self.iv_len, self.aead_icv = CIPHERS[cipher]
        self.cipher_key = key[:self.key_len]
        self.auth_key = key[32:32 + AUTHS[auth][0]]
        self.icv_len = self.aead_icv or AUTHS[auth][1]
        self.seq = 0

    def libconfig(self, replay_window):
        f = [f'direction = "{self.direction}"', f"spi = {self.spi:#x}", f'peer = "{self.peer}"',
             f'cipher = "{self.cipher}"', f'cipher_key = "{self.cipher_key.hex()}"', f'integrity = "{self.auth}"']
        if self.auth != "none":
            f.append(f'integrity_key = "{self.auth_key.hex()}"')
        if self.direction == "in" and replay_window is not None:
            f.append(f"replay_window = {replay_window}")
        return "{ " + "; ".join(f) + "; }"

    def esp_len(self, payload_len):
        """Bytes of ESP (header to ICV) around payload_len bytes of payload:
        the minimum padding to the block (RFC 4303 §2.4), as scapy pads."""
        body = payload_len + 2
        body += (-body) % self.block
        return 8 + self.iv_len + body + self.icv_len

    def protect(self, payload, nh, iv):
        """RFC 4303 transport-mode ESP of payload: SPI, sequence, IV,
        encrypted payload + padding 1, 2, 3... + pad length + next header,
        ICV. CBC+HMAC-SHA1-96: RFC 3602 and 2404 (ICV over SPI to
        ciphertext); GCM: RFC 4106 (nonce = salt | IV, AAD = SPI | sequence)."""
        self.seq += 1
        pad = (-(len(payload) + 2)) % self.block
        plain = payload + bytes(range(1, pad + 1)) + bytes((pad, nh))
        head = struct.pack("!II", self.spi, self.seq)
        if self.aead_icv:
            iv = struct.pack("!Q", self.seq)  # a counter, as RFC 4106 §3.1 allows
            return head + iv + AESGCM(self.cipher_key[:16]).encrypt(self.cipher_key[16:] + iv, plain, head)
        enc = Cipher(algorithms.AES(self.cipher_key), modes.CBC(iv)).encryptor()
        body = head + iv + enc.update(plain) + enc.finalize()
        return body + hmac.new(self.auth_key, body, hashlib.sha1).digest()[:self.icv_len]


class Session:
    def __init__(self, index, client):
        self.index = index
        self.client = client
        self.tunnel = 1 + index // 65535
        self.session = 1 + index % 65535
        self.addr = ipaddress.IPv4Address(INNER_BASE + index).packed
        self.mppe = ""  # the session's libconfig mppe group, when it has one
        self.sender = None

    def libconfig(self):
        c = self.client
        return (f"{{ {self.mppe}tunnel_id = {self.tunnel}; session_id = {self.session}; "
                f"peer_tunnel_id = {self.tunnel}; peer_session_id = {self.session}; "
                f"peer = \"{c['peer']}\"; sa_in = {c['in'].spi:#x}; sa_out = {c['out'].spi:#x}; "
                f"address = \"{ipaddress.IPv4Address(self.addr)}\"; }}")


def write_pcap(path, frames):
    # Classic libpcap, microsecond stamps one microsecond apart (as
    # tests/pipeline/pcapfile.py writes); one buffered write per record.
    with open(path, "wb", buffering=1 << 20) as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, frame in enumerate(frames):
            f.write(struct.pack("<IIII", 1_000_000 + i // 1_000_000, i % 1_000_000, len(frame), len(frame)))
            f.write(frame)


def check(args, frames, sessions, order):
    """Decodes args.check frames with scapy and the MPPE reference receiver:
    each must be the packet generated for its session, byte for byte where
    the generator chose the bytes, with valid IPv4 and UDP checksums."""
    from scapy.layers.inet import IP, UDP
    from scapy.layers.ipsec import ESP, SecurityAssociation
    from scapy.layers.l2 import Ether

    def checksums_ok(ip):
        # scapy computes a deleted field when it builds the packet again.
        again = IP(bytes(ip))
        del again.chksum
        if UDP in again:
            del again[UDP].chksum
        again = IP(bytes(again))
        return again.chksum == ip.chksum and (UDP not in ip or again[UDP].chksum == ip[UDP].chksum)

    n = len(frames)
    picks = sorted(set([0, n - 1] + random.Random(args.seed + 1).sample(range(n), min(n, args.check)))) if n else []
    mppe_stream = None
    if args.direction == "decap" and args.mppe != "none":
        # MPPE keys change along a session's stream: decode session 0's first
        # frames in order with a fresh receiver instead of random picks.
        picks = [i for i in range(0, n, len(sessions))][:args.check]
        bits, stateless = int(args.mppe.rstrip("s")), args.mppe.endswith("s")
        mppe_stream = mppe_ref.Receiver(sessions[0].recv_key, bits, stateless)
    bad = 0
    for i in picks:
        s = sessions[i % len(sessions)]
        eth = Ether(frames[i])
        errs = []
        if args.direction == "decap":
            sa = s.client["in"]
            kw = {"auth_algo": "HMAC-SHA1-96", "auth_key": sa.auth_key} if sa.auth != "none" else {}
            ssa = SecurityAssociation(ESP, spi=sa.spi, crypt_algo="AES-GCM" if sa.aead_icv else "AES-CBC",
                                      crypt_key=sa.cipher_key, **kw)
            outer = eth[IP]
            if not checksums_ok(outer) or outer.src != sa.peer or outer.dst != args.gw or outer.proto != PROTO_ESP:
                errs.append(f"outer {outer.summary()}")
            try:
                plain = ssa.decrypt(outer)  # raises on a wrong ICV
            except Exception as e:  # noqa: BLE001 — any failure is the finding
                errs.append(f"decrypt: {e}")
                plain = None
            if plain is not None:
                if UDP not in plain or plain[UDP].dport != L2TP_PORT or not checksums_ok(plain):
                    errs.append(f"L2TP carrier {plain.summary()}")
                l2tp = bytes(plain[UDP].payload)
                flags, tid, sid = struct.unpack("!HHH", l2tp[:6])
                if (flags, tid, sid) != (0x0002, s.tunnel, s.session) or l2tp[6:8] != b"\xff\x03":
                    errs.append(f"L2TP/PPP header {l2tp[:8].hex()}")
                ppp = l2tp[8:]
                if mppe_stream is not None:
                    ppp = mppe_stream.frame(ppp[2:]) if ppp[:2] == b"\x00\xfd" else b""
                if ppp[:2] != b"\x00\x21":
                    errs.append(f"PPP protocol {ppp[:2].hex()}")
                inner = IP(ppp[2:])
                if (inner.src, inner.dst) != (str(ipaddress.IPv4Address(s.addr)), INSIDE_HOST) or \
                        UDP not in inner or len(inner[UDP].payload) != order[i] or not checksums_ok(inner):
                    errs.append(f"inner {inner.summary()}")
        else:
            inner = eth[IP]
            if (inner.src, inner.dst) != (INSIDE_HOST, str(ipaddress.IPv4Address(s.addr))) or UDP not in inner or \
                    len(inner[UDP].payload) != order[i] or not checksums_ok(inner):
                errs.append(f"inner {inner.summary()}")
        if errs:
            bad += 1
            print(f"check: frame {i} (session {s.index}): " + "; ".join(errs), file=sys.stderr)
    print(f"check: {len(picks) - bad}/{len(picks)} frames decoded by scapy"
          f"{' and the MPPE reference receiver' if mppe_stream else ''} as generated")
    return bad == 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--direction", choices=("decap", "encap"), default="decap")
    ap.add_argument("--cipher", choices=sorted(CIPHERS), default="aes-cbc-128")
    ap.add_argument("--integrity", choices=sorted(AUTHS), default=None,
                    help="default: hmac-sha1-96 for CBC, none for GCM")
    ap.add_argument("--size", default="512", help="inner UDP payload bytes: N, N,M,... or imix")
    ap.add_argument("--sessions", type=int, default=1)
    ap.add_argument("--sessions-per-sa", type=int, default=1,
                    help="sessions behind one client and its SA pair (default 1: every session its own client)")
    ap.add_argument("--packets", type=int, default=4096)
    ap.add_argument("--replay-window", type=int, default=0,
                    help="of the inbound SAs; 0 (off) because a looping capture repeats sequence numbers")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--gw", default="198.51.100.1")
    ap.add_argument("--gw-mac", default="02:00:00:00:01:01", help="destination MAC (the receiving port)")
    ap.add_argument("--src-mac", default="02:00:00:00:00:fe")
    ap.add_argument("--peer-base", default="198.18.0.1", help="first client address (RFC 2544 range)")
    ap.add_argument("--mppe", default="none",
                    help="none, or BITS with s for stateless: 128s, 128, 56s, 40s, ...")
    ap.add_argument("--check", type=int, default=0, metavar="N",
                    help="decode N generated frames with scapy (and the MPPE reference) and fail on a mismatch")
    ap.add_argument("--out", required=True)
    ap.add_argument("--conf-out", required=True, help="libconfig snippet: SAs and sessions")
    args = ap.parse_args()

    t_start = time.monotonic()
    auth = args.integrity or ("none" if CIPHERS[args.cipher][3] else "hmac-sha1-96")
    if bool(CIPHERS[args.cipher][3]) == (auth != "none"):
        ap.error(f"{args.cipher} with {auth}: AEAD goes alone, CBC needs an integrity transform")
    sizes = IMIX if args.size == "imix" else [int(x) for x in args.size.split(",")]
    n_clients = (args.sessions + args.sessions_per_sa - 1) // args.sessions_per_sa
    rnd = random.Random(args.seed)
    base = int(ipaddress.IPv4Address(args.peer_base))
    clients = []
    for i in range(n_clients):
        peer = str(ipaddress.IPv4Address(base + i))
        clients.append({"peer": peer, "peer_b": ipaddress.IPv4Address(base + i).packed,
                        "in": Sa("in", SPI_IN_BASE + i, peer, args.cipher, auth, rnd.randbytes(64)),
                        "out": Sa("out", SPI_OUT_BASE + i, peer, args.cipher, auth, rnd.randbytes(64))})
    # Session i is client i // K's: consecutive sessions share a client.
    sessions = [Session(i, clients[i // args.sessions_per_sa]) for i in range(args.sessions)]
    bits = stateless = None
    if args.mppe != "none":
        bits, stateless = int(args.mppe.rstrip("s")), args.mppe.endswith("s")
        for s in sessions:
            send_key, recv_key = rnd.randbytes(16), rnd.randbytes(16)
            s.mppe = (f"mppe = {{ bits = {bits}; stateless = {'true' if stateless else 'false'}; "
                      f"send_key = \"{send_key.hex()}\"; recv_key = \"{recv_key.hex()}\"; }}; ")
            s.recv_key = recv_key
            if args.direction == "decap":
                # The client encrypts with the key the gateway receives with.
                # Decap captures with MPPE are good for one pass only: the
                # keys change and never come back (RFC 3078 §7).
                s.sender = mppe_ref.Sender(recv_key, bits, stateless)

    gw = ipaddress.IPv4Address(args.gw).packed
    inside = ipaddress.IPv4Address(INSIDE_HOST).packed
    eth = mac_bytes(args.gw_mac) + mac_bytes(args.src_mac) + b"\x08\x00"
    payloads = {size: rnd.randbytes(size) for size in set(sizes)}
    frames, order = [], []
    wire_total = 0
    n_sess = len(sessions)
    for n in range(args.packets):
        s = sessions[n % n_sess]
        size = sizes[(n // n_sess + n) % len(sizes)]
        order.append(size)
        c = s.client
        ident = n & 0xFFFF
        if args.direction == "decap":
            inner = ipv4(s.addr, inside, PROTO_UDP, udp(s.addr, inside, 5000, 5001, payloads[size]), ident)
            ppp = b"\x00\x21" + inner
            if s.sender is not None:
                ppp = b"\x00\xfd" + s.sender.frame(ppp)
            carrier = udp(c["peer_b"], gw, L2TP_PORT, L2TP_PORT, ppp_l2tp(s.tunnel, s.session, ppp))
            sa = c["in"]
            esp = sa.protect(carrier, PROTO_UDP, None if sa.aead_icv else rnd.randbytes(sa.iv_len))
            frame = eth + ipv4(c["peer_b"], gw, PROTO_ESP, esp, ident)
            wire_total += len(frame)
        else:
            frame = eth + ipv4(inside, s.addr, PROTO_UDP, udp(inside, s.addr, 5001, 5000, payloads[size]), ident)
            # What the gateway sends: Ethernet, IPv4, ESP around UDP, L2TP,
            # PPP address/control and protocol, (MPPE header and the inner
            # protocol field), the inner packet.
            carried = 8 + 6 + 2 + 2 + (2 + 2 if s.mppe else 0) + len(frame) - 14
            wire_total += 14 + 20 + c["out"].esp_len(carried)
        frames.append(frame)
    write_pcap(args.out, frames)
    replay = args.replay_window
    with open(args.conf_out, "w", buffering=1 << 20) as f:
        f.write(f"# {n_sess} sessions over {n_clients} clients for {os.path.basename(args.out)}:"
                f" {args.cipher}/{auth}, seed {args.seed}\n")
        sas = [c[d] for c in clients for d in ("in", "out")]
        f.write("sas = (\n  " + ",\n  ".join(sa.libconfig(replay) for sa in sas) + "\n);\n")
        f.write("sessions = (\n  " + ",\n  ".join(s.libconfig() for s in sessions) + "\n);\n")
    elapsed = time.monotonic() - t_start
    print(f"{args.out}: {len(frames)} frames; {args.conf_out}: {n_sess} sessions, {len(sas)} SAs; {elapsed:.1f} s")
    if args.check and not check(args, frames, sessions, order):
        sys.exit(1)
    # For scripts: the limits the data plane needs, and the mean Ethernet
    # frame carrying ESP (what Gbit/s is computed on).
    print(f"max_sas={len(sas)}")
    print(f"max_sessions={n_sess}")
    print(f"esp_frame_mean={wire_total / max(len(frames), 1):.1f}")


if __name__ == "__main__":
    main()
