#!/usr/bin/python3
"""Benchmark traffic for the session path, as plain Ethernet pcaps that
net_pcap (infinite_rx), testpmd, pktgen-dpdk and tcpreplay can replay.

  decap: ESP (raw or UDP 4500) from the clients to the gateway's outside
         address, carrying UDP/1701 → L2TP data → PPP → inner IPv4/UDP from
         each session's address to an inside host;
  encap: inner IPv4/UDP from the inside host to the sessions' addresses, for
         the inside port.

Sessions are spread over --clients clients (one peer address and SA pair
each; a client with several sessions is what a LAC is). Also writes the
matching configuration: the dataplane limits, SAs and static sessions as a
libconfig snippet. Everything is derived from --seed.

  gen_session_pcap.py --direction decap --sessions 1000 --clients 100 \\
      --cipher aes-cbc-128 --size imix --packets 8192 --out d.pcap --conf-out s.conf
"""

import argparse
import ipaddress
import os
import random
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "pipeline"))

import mppe_ref  # noqa: E402
from esp import CIPHERS, AUTHS, SaSpec, protect  # noqa: E402
from pcapfile import write_pcap  # noqa: E402
from scapy.layers.inet import IP, UDP  # noqa: E402
from scapy.packet import Raw  # noqa: E402

IMIX = [64] * 7 + [512] * 4 + [1400]  # on the inner UDP payload, 7:4:1
INSIDE_HOST = "10.0.0.2"
INNER_BASE = int(ipaddress.IPv4Address("100.64.0.1"))  # RFC 6598 space for the clients' addresses


def mac_bytes(mac):
    return bytes(int(x, 16) for x in mac.split(":"))


def ppp_l2tp(tunnel, session, inner, mppe=None):
    # RFC 2661 §3.1 data header without L, S, O (what Windows sends), then
    # PPP with address/control and a 2-byte protocol (RFC 1661 §2): IPv4, or
    # 0x00FD with the MPPE frame of protocol and datagram (RFC 3078 §3).
    if mppe is None:
        return struct.pack("!HHH", 0x0002, tunnel, session) + b"\xff\x03\x00\x21" + inner
    return struct.pack("!HHH", 0x0002, tunnel, session) + b"\xff\x03\x00\xfd" + mppe.frame(b"\x00\x21" + inner)


class Session:
    def __init__(self, index, client):
        self.index = index
        self.client = client
        self.tunnel = 1 + index // 65535
        self.session = 1 + index % 65535
        self.addr = str(ipaddress.IPv4Address(INNER_BASE + index))

    mppe = ""  # the session's mppe group, when it has one

    def libconfig(self):
        return (f"{{ {self.mppe} tunnel_id = {self.tunnel}; session_id = {self.session}; peer_tunnel_id = {self.tunnel}; "
                f"peer_session_id = {self.session}; peer = \"{self.client['peer']}\"; "
                f"sa_in = 0x{self.client['in'].spi:x}; sa_out = 0x{self.client['out'].spi:x}; "
                f"address = \"{self.addr}\"; }}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--direction", choices=("decap", "encap"), default="decap")
    ap.add_argument("--cipher", choices=sorted(CIPHERS), default="aes-cbc-128")
    ap.add_argument("--integrity", choices=sorted(AUTHS), default=None,
                    help="default: hmac-sha1-96 for CBC, none for GCM")
    ap.add_argument("--encap", choices=("none", "udp"), default="none")
    ap.add_argument("--size", default="512", help="inner UDP payload bytes: N, N,M,... or imix")
    ap.add_argument("--sessions", type=int, default=1)
    ap.add_argument("--clients", type=int, default=None, help="default: min(sessions, 1000)")
    ap.add_argument("--packets", type=int, default=4096)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--gw", default="198.51.100.1")
    ap.add_argument("--gw-mac", default="02:00:00:00:01:01", help="destination MAC (the receiving port)")
    ap.add_argument("--src-mac", default="02:00:00:00:00:fe")
    ap.add_argument("--peer-base", default="198.18.0.1", help="first client address (RFC 2544 range)")
    ap.add_argument("--mppe", default="none",
                    help="none, or BITS with s for stateless: 128s, 128, 56s, 40s, ...")
    ap.add_argument("--out", required=True)
    ap.add_argument("--conf-out", required=True, help="libconfig snippet: SAs and sessions")
    args = ap.parse_args()

    auth = args.integrity or ("none" if CIPHERS[args.cipher][4] else "hmac-sha1-96")
    sizes = IMIX if args.size == "imix" else [int(x) for x in args.size.split(",")]
    n_clients = args.clients or min(args.sessions, 1000)
    rnd = random.Random(args.seed)
    base = int(ipaddress.IPv4Address(args.peer_base))
    clients = []
    for i in range(n_clients):
        peer = str(ipaddress.IPv4Address(base + i))
        pair = {"peer": peer}
        for direction, spi_base in (("in", 0x100000), ("out", 0x200000)):
            key = rnd.randbytes(64)
            # The capture loops, so inbound SAs do without anti-replay (static
            # SAs only; docs/PERFORMANCE.md).
            pair[direction] = SaSpec(direction, spi_base + i, peer, args.cipher, auth, encap=args.encap,
                                     replay_window=0 if direction == "in" else None,
                                     cipher_key=key[:CIPHERS[args.cipher][1]],
                                     auth_key=key[32:32 + AUTHS[auth][1]])
        clients.append(pair)
    sessions = [Session(i, clients[i % n_clients]) for i in range(args.sessions)]
    senders = {}
    if args.mppe != "none":
        bits, stateless = int(args.mppe.rstrip("s")), args.mppe.endswith("s")
        # Decap captures with MPPE are good for one pass only (pktgen,
        # tcpreplay): the keys change and never come back (RFC 3078 §7).
        for s in sessions:
            send_key, recv_key = rnd.randbytes(16), rnd.randbytes(16)
            s.mppe = (f"mppe = {{ bits = {bits}; stateless = {'true' if stateless else 'false'}; "
                      f"send_key = \"{send_key.hex()}\"; recv_key = \"{recv_key.hex()}\"; }};")
            # The client encrypts with the key the gateway receives with.
            senders[s.index] = mppe_ref.Sender(recv_key, bits, stateless)

    eth = mac_bytes(args.gw_mac) + mac_bytes(args.src_mac) + b"\x08\x00"
    frames, wire_sizes = [], []
    seqs = {}
    order = list(sizes)
    for n in range(args.packets):
        s = sessions[n % len(sessions)]
        size = order[(n // len(sessions) + n) % len(order)]
        c = s.client
        if args.direction == "decap":
            inner = bytes(IP(src=s.addr, dst=INSIDE_HOST, ttl=64, id=n & 0xFFFF) /
                          UDP(sport=5000, dport=5001) / Raw(rnd.randbytes(size)))
            outer = IP(src=c["peer"], dst=args.gw, ttl=64) / UDP(sport=1701, dport=1701) / \
                Raw(ppp_l2tp(s.tunnel, s.session, inner, senders.get(s.index)))
            seqs[c["peer"]] = seqs.get(c["peer"], 0) + 1
            sa = c["in"]
            iv = None if sa.aead else rnd.randbytes(sa.iv_len)
            frames.append(eth + protect(sa, IP(bytes(outer)), seqs[c["peer"]], iv=iv))
            wire_sizes.append(len(frames[-1]))
        else:
            inner = bytes(IP(src=INSIDE_HOST, dst=s.addr, ttl=64, id=n & 0xFFFF) /
                          UDP(sport=5001, dport=5000) / Raw(rnd.randbytes(size)))
            frames.append(eth + inner)
            mppe_len = 4 if s.mppe else 0  # MPPE header and the 2-byte protocol field moved inside
            outer = IP(src=args.gw, dst=c["peer"], ttl=64) / UDP(sport=1701, dport=1701) / \
                Raw(ppp_l2tp(s.tunnel, s.session, inner) + bytes(mppe_len))
            wire_sizes.append(14 + len(protect(c["out"], IP(bytes(outer)), 1)))
    write_pcap(args.out, frames)
    with open(args.conf_out, "w") as f:
        f.write(f"# {len(sessions)} sessions over {n_clients} clients for {os.path.basename(args.out)}:"
                f" {args.cipher}/{auth}, encap {args.encap}, seed {args.seed}\n")
        sas = [c[d] for c in clients for d in ("in", "out")]
        f.write("sas = (\n  " + ",\n  ".join(sa.libconfig() for sa in sas) + "\n);\n")
        f.write("sessions = (\n  " + ",\n  ".join(s.libconfig() for s in sessions) + "\n);\n")
    print(f"{args.out}: {len(frames)} frames; {args.conf_out}: {len(sessions)} sessions, {len(sas)} SAs")
    # For scripts: the limits the data plane needs, and the mean Ethernet
    # frame carrying ESP (what Gbit/s is computed on).
    print(f"max_sas={len(sas)}")
    print(f"max_sessions={len(sessions)}")
    print(f"esp_frame_mean={sum(wire_sizes) / len(wire_sizes):.1f}")


if __name__ == "__main__":
    main()
