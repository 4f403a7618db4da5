#!/usr/bin/python3
"""Summary of a `perf record -e cpu-clock` profile of the data plane (what
perf/esp_bench.sh -P writes): the worker thread's samples grouped by where
they go — IPsec-MB (the ESP crypto), the RC4 of MPPE, the benchmark's own
ports (net_pcap, net_null), DPDK's hash, the rest of the data plane by
symbol — as Markdown.

  profile_summary.py FILE.data [--top N] [--comm rte-worker-1]
"""

import argparse
import collections
import re
import subprocess

# Data-plane symbols that are MPPE's RC4 and key changes (dataplane/crypto).
# IPsec-MB is counted as one: its assembly exports few symbols, so perf
# names most of its samples after an unrelated neighbour; with MPPE its
# share also holds the SHA-1 of the key changes.
MPPE_SYMBOLS = re.compile(r"rc4|mppe", re.IGNORECASE)


def samples(path, comm):
    out = subprocess.run(["perf", "report", "-i", path, "--no-children", "--comm", comm, "--sort", "dso,symbol",
                          "--stdio", "-q", "--percentage", "relative"],
                         check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        m = re.match(r"\s*([\d.]+)%\s+(\S+)\s+\[[.k]\]\s+(.*?)\s*(?:-\s+-\s*)?$", line)
        if m:
            yield float(m.group(1)), m.group(2), m.group(3).strip()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data")
    ap.add_argument("--top", type=int, default=12)
    ap.add_argument("--comm", default="rte-worker-1")
    args = ap.parse_args()
    groups = collections.Counter()
    own = collections.Counter()
    for share, dso, sym in samples(args.data, args.comm):
        if dso.startswith("libIPSec_MB"):
            groups["IPsec-MB (ESP crypto; with MPPE also its key-change SHA-1)"] += share
        elif dso == "l2tpgw-dataplane" and MPPE_SYMBOLS.search(sym):
            groups["MPPE (RC4 key schedule and stream)"] += share
        elif dso.startswith("libcrypto"):
            groups[f"OpenSSL `{sym}`"] += share
        elif "net_pcap" in dso or "libpcap" in dso:
            groups["net_pcap RX (benchmark source: copy into mbufs)"] += share
        elif "net_null" in dso:
            groups["net_null TX (benchmark sink)"] += share
        elif dso.startswith("librte_hash"):
            groups["rte_hash (SA and session lookups)"] += share
        elif dso.startswith("librte_mbuf") or dso.startswith("librte_mempool") or "mempool_ring" in dso:
            groups["mbuf alloc/free"] += share
        elif dso == "l2tpgw-dataplane":
            groups["data plane (l2tpgw code)"] += share
            own[re.sub(r"\(anonymous namespace\)::", "", sym)] += share
        elif dso.startswith("libc"):
            groups["libc (memcpy, memmove)"] += share
        else:
            groups[f"other ({dso})"] += share
    print(f"Profile {args.data}, thread {args.comm}:\n")
    print("| share | where |\n|---|---|")
    for name, share in groups.most_common():
        print(f"| {share:.1f}% | {name} |")
    print("\nTop data-plane symbols:\n\n| share | symbol |\n|---|---|")
    for name, share in own.most_common(args.top):
        print(f"| {share:.1f}% | `{name}` |")


if __name__ == "__main__":
    main()
