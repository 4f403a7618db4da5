#!/usr/bin/python3
"""Benchmark traffic for the ESP path, as plain Ethernet pcaps that
net_pcap (infinite_rx), testpmd, pktgen-dpdk and tcpreplay can replay.

  decap: ESP (raw or UDP 4500) from N peers to the gateway's outside
         address, each carrying UDP/1701 (L2TP) of the chosen payload size;
  encap: the same UDP/1701 packets in clear, from the gateway's outside
         address to the N peers, for the inside port to protect.

With --mode tunnel (RFC 4301 §4.1) every SA joins a /24 of its peer
(172.16.K.0/24 for SA K) to the inside network 10.0.0.0/24:

  decap: tunnel-mode ESP from the peers whose inner packets go from their
         network to the inside host (10.0.0.2), to be forwarded inside;
  encap: the inner packets in clear from the inside host to the peers'
         networks, for the inside port to route into the tunnels.

Also writes the matching static SAs as a libconfig `sas = (...)` snippet
(inbound SAs for decap, outbound for encap). Everything is derived from
--seed, so two runs give identical files.

  gen_esp_pcap.py --direction decap --cipher aes-gcm-128 --integrity none \\
      --size 512 --sas 4 --packets 4096 --out decap.pcap --sas-out sas.conf
"""

import argparse
import ipaddress
import os
import random
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "pipeline"))

from esp import CIPHERS, AUTHS, SaSpec, protect, protect_tunnel  # noqa: E402
from pcapfile import write_pcap  # noqa: E402
from scapy.layers.inet import IP, UDP  # noqa: E402
from scapy.packet import Raw  # noqa: E402

# Simple IMIX (7:4:1), on the inner UDP payload.
IMIX = [64] * 7 + [512] * 4 + [1400]


def mac_bytes(mac):
    return bytes(int(x, 16) for x in mac.split(":"))


def parse_sizes(text):
    if text == "imix":
        return IMIX
    return [int(x) for x in text.split(",")]


def l2tp_data(n, rnd):
    # L2TP control header (RFC 2661 §3.1: T, L, S, version 2, tunnel 1,
    # Ns, Nr) followed by random bytes: the ESP path ends in a (rate-limited)
    # punt to the control plane. Sessions: perf/gen_session_pcap.py.
    hdr = struct.pack("!HHHHHH", 0xC802, n, 1, 0, 0, 0)
    return (hdr + rnd.randbytes(max(0, n - 12)))[:n]


def peer_net(k):
    """The first three octets of SA k's network in tunnel mode."""
    return f"172.16.{k % 256}" if k < 256 else f"172.{17 + k // 256}.{k % 256}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--direction", choices=("decap", "encap"), default="decap")
    ap.add_argument("--cipher", choices=sorted(CIPHERS), default="aes-cbc-128")
    ap.add_argument("--integrity", choices=sorted(AUTHS), default=None,
                    help="default: hmac-sha1-96 for CBC, none for GCM")
    ap.add_argument("--encap", choices=("none", "udp"), default="none")
    ap.add_argument("--mode", choices=("transport", "tunnel"), default="transport")
    ap.add_argument("--inside-host", default="10.0.0.2", help="tunnel mode: the inner packets' inside end")
    ap.add_argument("--size", default="512", help="inner UDP payload bytes: N, N,M,... or imix")
    ap.add_argument("--sas", type=int, default=1, help="number of SAs (one peer each)")
    ap.add_argument("--packets", type=int, default=4096)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--gw", default="198.51.100.1", help="the gateway's outside address")
    ap.add_argument("--gw-mac", default="02:00:00:00:01:01", help="destination MAC (the receiving port)")
    ap.add_argument("--src-mac", default="02:00:00:00:00:fe", help="source MAC of the frames")
    ap.add_argument("--peer-base", default="198.18.0.1", help="first peer address (RFC 2544 range)")
    ap.add_argument("--spi-base", type=lambda s: int(s, 0), default=0x10000)
    ap.add_argument("--replay-window", type=int, default=None, help="replay_window of inbound SAs")
    ap.add_argument("--out", required=True, help="pcap to write")
    ap.add_argument("--sas-out", required=True, help="libconfig snippet with the SAs to write")
    args = ap.parse_args()

    auth = args.integrity or ("none" if CIPHERS[args.cipher][4] else "hmac-sha1-96")
    sizes = parse_sizes(args.size)
    rnd = random.Random(args.seed)
    base = int(ipaddress.IPv4Address(args.peer_base))
    direction = "in" if args.direction == "decap" else "out"
    sas = []
    for i in range(args.sas):
        peer = str(ipaddress.IPv4Address(base + i))
        key_seed = rnd.randbytes(64)
        extra = {}
        if args.mode == "tunnel":
            extra = {"mode": '"tunnel"', "peer_net": f'"{peer_net(i)}.0/24"', "local_net": '"10.0.0.0/24"'}
        sas.append(SaSpec(direction, args.spi_base + i, peer, args.cipher, auth, encap=args.encap,
                          replay_window=args.replay_window if direction == "in" else None,
                          cipher_key=key_seed[:CIPHERS[args.cipher][1]],
                          auth_key=key_seed[32:32 + AUTHS[auth][1]], extra=extra))
    frames = []
    esp_sizes = []  # the ESP frame on the wire, either direction
    seqs = [0] * len(sas)
    eth = mac_bytes(args.gw_mac) + mac_bytes(args.src_mac) + b"\x08\x00"
    order = sizes * (len(sas) if len(sizes) > 1 else 1)
    rnd.shuffle(order)
    for n in range(args.packets):
        k = n % len(sas)
        sa = sas[k]
        size = order[n % len(order)]
        if args.mode == "tunnel":
            far = f"{peer_net(k)}.{1 + n // len(sas) % 254}"
            src, dst = (far, args.inside_host) if direction == "in" else (args.inside_host, far)
        else:
            src, dst = (sa.peer, args.gw) if direction == "in" else (args.gw, sa.peer)
        ip = IP(bytes(IP(src=src, dst=dst, ttl=64, id=n & 0xFFFF) / UDP(sport=1701, dport=1701) /
                      Raw(l2tp_data(size, rnd))))
        outer = IP(src=sa.peer, dst=args.gw) if direction == "in" else IP(src=args.gw, dst=sa.peer)

        def seal(seq, iv=None):
            if args.mode == "tunnel":
                return protect_tunnel(sa, ip, seq, outer, iv=iv)
            return protect(sa, ip, seq, iv=iv)

        if direction == "in":
            seqs[k] += 1
            frames.append(eth + seal(seqs[k], None if sa.aead else rnd.randbytes(sa.iv_len)))
            esp_sizes.append(len(frames[-1]))
        else:
            frames.append(eth + bytes(ip))
            esp_sizes.append(14 + len(seal(1)))
    write_pcap(args.out, frames)
    with open(args.sas_out, "w") as f:
        f.write(f"# {len(sas)} {direction}bound SA(s) for {os.path.basename(args.out)}:"
                f" {args.cipher}/{auth}, encap {args.encap}, {args.mode} mode, seed {args.seed}\n")
        f.write("sas = (\n  " + ",\n  ".join(sa.libconfig() for sa in sas) + "\n);\n")
    mean = sum(len(f) for f in frames) / len(frames)
    print(f"{args.out}: {len(frames)} frames, mean {mean:.1f} bytes; {args.sas_out}: {len(sas)} SAs")
    # For scripts: the mean Ethernet frame carrying ESP (without preamble,
    # IFG and FCS), what a throughput in Gbit/s is computed on.
    print(f"esp_frame_mean={sum(esp_sizes) / len(esp_sizes):.1f}")


if __name__ == "__main__":
    main()
