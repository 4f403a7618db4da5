#!/usr/bin/python3
"""Pipeline tests: the real data plane and control plane on net_pcap ports,
fed with packets built by scapy and checked byte for byte. Each module in
cases/ is one group (one or a few runs of the gateway); every check counts as
one test. Prints `N passed, M failed` last and exits non-zero on a failure.

  run.py --build BUILD_DIR [--keep] [group ...]
"""

import argparse
import importlib
import os
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import gwrun  # noqa: E402


def hexdiff(got, exp, context=16):
    n = min(len(got), len(exp))
    first = next((i for i in range(n) if got[i] != exp[i]), n)
    lo = max(0, first - context)
    return (f"lengths got {len(got)} expected {len(exp)}, first difference at byte {first}\n"
            f"      got[{lo}:]: {got[lo:first + 48].hex()}\n"
            f"      exp[{lo}:]: {exp[lo:first + 48].hex()}\n"
            f"      full got: {got.hex()}\n"
            f"      full exp: {exp.hex()}")


class Checker:
    def __init__(self, verbose):
        self.verbose = verbose
        self.passed = 0
        self.failed = 0
        self.group = ""
        self.failures = []

    def check(self, name, cond, detail=""):
        full = f"{self.group}/{name}"
        if cond:
            self.passed += 1
            if self.verbose:
                print(f"PASS {full}")
        else:
            self.failed += 1
            self.failures.append(full)
            print(f"FAIL {full}" + (f": {detail}" if detail else ""))
        sys.stdout.flush()
        return bool(cond)

    def eq(self, name, got, exp):
        return self.check(name, got == exp, f"got {got!r}, expected {exp!r}")

    def bytes_eq(self, name, got, exp):
        return self.check(name, got == exp, "" if got == exp else "\n      " + hexdiff(got, exp))

    def frames_eq(self, name, got, exp):
        """Ordered lists of packets: the count, then every byte of each."""
        detail = []
        if len(got) != len(exp):
            detail.append(f"got {len(got)} packets, expected {len(exp)}")
        for i, (g, e) in enumerate(zip(got, exp)):
            if g != e:
                where = f" (the expected one is at position {got.index(e)})" if e in got else ""
                detail.append(f"first mismatch at packet {i}{where}:\n      " + hexdiff(g, e))
                break
        return self.check(f"{name}: {len(exp)} packets byte for byte", not detail, "; ".join(detail))

    def drops(self, name, stats, expected):
        """The whole drop map: the expected reasons with their exact counts and
        every other reason zero."""
        got = stats.nonzero_drops()
        exp = {k: v for k, v in expected.items() if v}
        return self.check(f"{name}: drop counters", got == exp, f"got {got}, expected {exp}")


class Context:
    def __init__(self, bins, keep):
        self.bins = bins
        self.keep = keep

    def gateway(self, tag):
        return gwrun.Gateway(self.bins, tag, keep=self.keep)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True, help="meson build directory with the binaries")
    ap.add_argument("--keep", action="store_true", help="keep the work directories (configs, pcaps, logs)")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("groups", nargs="*", help="case modules to run (default: all)")
    args = ap.parse_args()

    names = sorted(f[:-3] for f in os.listdir(os.path.join(HERE, "cases"))
                   if f.endswith(".py") and not f.startswith("_"))
    if args.groups:
        unknown = set(args.groups) - set(names)
        if unknown:
            ap.error(f"unknown groups {sorted(unknown)}; have {names}")
        names = [n for n in names if n in args.groups]

    t = Checker(args.verbose)
    bins = gwrun.Binaries(os.path.abspath(args.build))
    missing = bins.missing()
    if missing:
        t.group = "setup"
        t.check("binaries built", False, f"missing {missing}")
        print(f"{t.passed} passed, {t.failed} failed")
        return 1
    ctx = Context(bins, args.keep)
    for name in names:
        t.group = name
        start = time.monotonic()
        try:
            mod = importlib.import_module(f"cases.{name}")
            mod.run(ctx, t)
        except Exception as e:  # one broken group must not hide the others
            detail = str(e) if isinstance(e, gwrun.GatewayError) else traceback.format_exc()
            t.check("run", False, detail)
        print(f"# {name}: {time.monotonic() - start:.1f} s")
    if t.failures:
        print("failed:\n  " + "\n  ".join(t.failures))
    print(f"{t.passed} passed, {t.failed} failed")
    return 0 if t.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
