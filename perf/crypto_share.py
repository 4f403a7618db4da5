#!/usr/bin/python3
"""The share of crypto in perf/esp_bench.sh session rows: the cycles the same
crypto costs alone (perf/crypto_bench for ESP, perf/rc4_bench for MPPE, run
with --benchmark_format=json) over the pipeline's cycles per packet.

For an inner UDP payload of P bytes the ESP job protects P + 46 bytes (inner
UDP 8 and IPv4 20, PPP 4, L2TP 6, UDP 8) and MPPE encrypts P + 30 (inner
headers and the 2-byte protocol field); the microbenchmarks have 64, 512 and
1400 bytes, so the cost at other lengths is interpolated linearly between
those points (beyond 1400, the last slope). IMIX is 7:4:1 of 64, 512, 1400.
MPPE encryption costs what decryption does (the same RC4 and key changes),
so rc4_bench's mppe_decrypt stands for both directions.

  crypto_share.py --crypto crypto.json [--mppe rc4.json] TABLE.md...

Prints the session rows of the tables with three more columns: ESP crypto
alone, MPPE alone and their share of the pipeline's cycles.
"""

import argparse
import json
import re

IMIX = [64] * 7 + [512] * 4 + [1400]
ESP_OVERHEAD = 46
MPPE_OVERHEAD = 30


def points(path, pattern):
    """{size: cycles_per_packet} of the benchmarks whose name matches."""
    out = {}
    for b in json.load(open(path))["benchmarks"]:
        m = re.fullmatch(pattern + r"/(\d+)", b["name"].split("/min_time")[0])
        if m:
            out[int(m.group(1))] = b["cycles_per_packet"]
    return out


def at(curve, length):
    xs = sorted(curve)
    for lo, hi in zip(xs, xs[1:]):
        if length <= hi or hi == xs[-1]:
            return curve[lo] + (curve[hi] - curve[lo]) * (length - lo) / (hi - lo)
    return curve[xs[0]]


def mean_over(payload, curve, overhead):
    sizes = IMIX if payload == "imix" else [int(payload)]
    return sum(at(curve, s + overhead) for s in sizes) / len(sizes)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--crypto", required=True)
    ap.add_argument("--mppe")
    ap.add_argument("tables", nargs="+")
    args = ap.parse_args()
    esp = {(d, x): points(args.crypto, f"esp_{'encrypt' if d == 'sencap' else 'decrypt'}/{n}")
           for d in ("sdecap", "sencap") for x, n in (("aes-cbc-128/hmac-sha1-96", "aes128cbc_sha1_96"),
                                                      ("aes-gcm-128/none", "aes128gcm"))}
    mppe = points(args.mppe, "mppe_decrypt/stateless_128") if args.mppe else {}
    for path in args.tables:
        for line in open(path):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) < 7 or cells[0] not in ("sdecap", "sencap"):
                continue
            try:
                cyc = float(cells[6])
            except ValueError:
                continue
            m = re.match(r"(\w+) × \d+ sessions(?:, MPPE (\w+))?", cells[2])
            payload, mode = m.group(1), m.group(2)
            c_esp = mean_over(payload, esp[(cells[0], cells[1])], ESP_OVERHEAD)
            c_mppe = mean_over(payload, mppe, MPPE_OVERHEAD) if mode == "128s" and mppe else 0.0
            print(line.rstrip().rstrip("|").rstrip() +
                  f" | {c_esp:.0f} | {c_mppe:.0f} | {(c_esp + c_mppe) / cyc:.0%} |")


if __name__ == "__main__":
    main()
