#!/usr/bin/python3
"""Load generator: many L2TP clients (perf/client) from many source
addresses, started at a set rate, each holding its session with steady
traffic, then hanging up. Measures what the gateway sets up and holds.

    l2tp_load.py --server 198.51.100.1 --first 10.252.0.10 --clients 1000 \\
        --rate 50 --hold 30 --password secret --ping 10.0.0.2 \\
        [--ike psk --psk KEY --profile windows]

Without --ike the L2TP datagrams go in plain UDP (the gateway must trust
the clients' addresses: l2tp.plain_from); with it each client negotiates
IKEv1 Main Mode and Quick Mode first and runs L2TP over its own ESP SAs.

Every client binds its own address (first + i): the namespace it runs in
must own them (--add-addresses DEV adds them as /32s). A progress line each
second on stderr; the JSON summary last on stdout: setups per second,
setup latency percentiles, sessions held at once, pings through the
tunnels, failures by cause. Exit 0 when every client connected.
"""

import argparse
import dataclasses
import ipaddress
import json
import os
import resource
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from client.ike import connect_esp  # noqa: E402
from client.ppp import Profile  # noqa: E402
from client.profiles import PROFILES, offer  # noqa: E402
from client.session import Client  # noqa: E402
from client.transport import UdpTransport  # noqa: E402


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--server", required=True)
    ap.add_argument("--first", required=True, help="first client address; client i binds first + i")
    ap.add_argument("--clients", type=int, default=10)
    ap.add_argument("--rate", type=float, default=20.0, help="clients started per second")
    ap.add_argument("--in-flight", type=int, default=64, help="most setups under way at once")
    ap.add_argument("--hold", type=float, default=10.0,
                    help="seconds each client stays up after the last one connected")
    ap.add_argument("--ping", help="inside host each client pings while it holds")
    ap.add_argument("--ping-interval", type=float, default=1.0)
    ap.add_argument("--user", default="load", help="user name; %%d is replaced by the client's index")
    ap.add_argument("--password", required=True)
    ap.add_argument("--auth", default="mschapv2")
    ap.add_argument("--mppe", choices=("none", "40", "128", "any"), default="none")
    ap.add_argument("--stateless", action="store_true")
    ap.add_argument("--ike", choices=("psk",), help="negotiate each client's ESP SAs with IKEv1")
    ap.add_argument("--psk", help="the pre-shared key (--ike psk)")
    ap.add_argument("--profile", choices=sorted(PROFILES), default="windows",
                    help="whose offer each client makes (client/profiles.py)")
    ap.add_argument("--ike-proposals", help="phase-1 offer instead of the profile's, e.g. aes256-sha1-modp2048")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds for one setup")
    ap.add_argument("--add-addresses", metavar="DEV", help="add the clients' addresses to DEV first")
    ap.add_argument("--quiet", action="store_true", help="no progress lines")
    args = ap.parse_args(argv)
    args.auth = [a.strip() for a in args.auth.split(",")]
    if args.ike and not args.psk:
        ap.error("--ike psk needs --psk")
    return args


class Stats:
    """Shared by every client thread; one lock, touched a few times per
    client, never per packet."""

    def __init__(self):
        self.lock = threading.Lock()
        self.started = 0
        self.up = 0          # connected now
        self.peak_up = 0
        self.connected = 0   # connected at some point
        self.closed = 0
        self.failures = {}
        self.latencies = []
        self.ike_latencies = []  # Main Mode and Quick Mode, with --ike
        self.pings_sent = 0
        self.pings_received = 0
        self.first_up = None
        self.last_up = None

    def fail(self, cause):
        with self.lock:
            self.failures[cause] = self.failures.get(cause, 0) + 1

    def connected_after(self, seconds, now):
        with self.lock:
            self.connected += 1
            self.up += 1
            self.peak_up = max(self.peak_up, self.up)
            self.latencies.append(seconds)
            self.first_up = self.first_up or now
            self.last_up = now


def percentile(sorted_values, p):
    if not sorted_values:
        return None
    k = min(len(sorted_values) - 1, max(0, round(p / 100.0 * (len(sorted_values) - 1))))
    return sorted_values[k]


def cause_of(text):
    """Failures grouped by cause, without the per-client details (ids,
    addresses) that would make every one distinct."""
    if not text:
        return "unknown"
    for sep in (" (", ": Tunnel", ", "):
        if sep in text:
            text = text.split(sep)[0]
    return text


class LoadRun:
    def __init__(self, args, log=None):
        self.args = args
        self.stats = Stats()
        self.all_connected = threading.Event()
        self.release = threading.Event()
        self.in_flight = threading.BoundedSemaphore(args.in_flight)
        self.log = log or (lambda line: None)

    def profile(self, i):
        user = self.args.user.replace("%d", str(i)) if "%d" in self.args.user else self.args.user
        return Profile(user=user, password=self.args.password, auth=self.args.auth, mppe=self.args.mppe,
                       stateless=self.args.stateless)

    def transport(self, local):
        """(initiator or None, transport or None): IKE first with --ike."""
        a = self.args
        if not a.ike:
            return None, UdpTransport(local, a.server)
        t0 = time.monotonic()
        ike, transport = connect_esp(local, a.server, a.psk, offer(a.profile, a.ike_proposals),
                                     log=lambda line: None)
        if transport is not None:
            with self.stats.lock:
                self.stats.ike_latencies.append(time.monotonic() - t0)
        return ike, transport

    def client(self, i, local):
        a = self.args
        s = self.stats
        with self.in_flight:
            # Latency from the setup's start, not from the queue for a slot.
            t0 = time.monotonic()
            ike, transport = self.transport(local)
            if transport is None:
                s.fail(cause_of(ike.failure))
                ike.close()
                self._maybe_all_done()
                return
            c = Client(transport, self.profile(i), log=lambda line: None)
            ok = c.connect(a.timeout)
        if not ok:
            s.fail(cause_of(c.failure() or f"stopped at {c.reached}"))
            c.disconnect(5.0)
            self._close(ike, transport)
            self._maybe_all_done()
            return
        s.connected_after(time.monotonic() - t0, time.monotonic())
        self._maybe_all_done()
        # Hold: answer the gateway's HELLOs and LCP echoes, ping if asked,
        # until every client is up and the hold has passed.
        while not self.release.is_set():
            if a.ping:
                sent, got = c.pings_sent, c.pings_received
                c.ping(a.ping, 1, interval=0.0, wait=a.ping_interval)
                with s.lock:
                    s.pings_sent += c.pings_sent - sent
                    s.pings_received += c.pings_received - got
            c.run_until(lambda: self.release.is_set() or c.failure() is not None, a.ping_interval)
            if c.failure() is not None:
                break
        failure = c.failure()
        with s.lock:
            s.up -= 1
        if failure is not None:
            s.fail("dropped while held: " + cause_of(failure))
        c.disconnect(10.0)
        self._close(ike, transport)
        with s.lock:
            s.closed += 1

    @staticmethod
    def _close(ike, transport):
        transport.close()
        if ike is not None:
            ike.hang_up()
            ike.close()

    def _maybe_all_done(self):
        with self.stats.lock:
            done = self.stats.connected + sum(self.stats.failures.values()) >= self.args.clients
        if done:
            self.all_connected.set()

    def progress(self, t_start, stop):
        while not stop.wait(1.0):
            s = self.stats
            with s.lock:
                line = (f"{time.monotonic() - t_start:6.1f}s started {s.started} up {s.up} "
                        f"connected {s.connected} failed {sum(s.failures.values())} closed {s.closed}")
            print(line, file=sys.stderr, flush=True)

    def run(self):
        a = self.args
        first = ipaddress.IPv4Address(a.first)
        # Small stacks: thousands of threads each need little.
        threading.stack_size(512 * 1024)
        stop_progress = threading.Event()
        t_start = time.monotonic()
        if not a.quiet:
            threading.Thread(target=self.progress, args=(t_start, stop_progress), daemon=True).start()
        threads = []
        for i in range(a.clients):
            due = t_start + i / a.rate
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            t = threading.Thread(target=self.client, args=(i, str(first + i)), daemon=True)
            t.start()
            threads.append(t)
            with self.stats.lock:
                self.stats.started += 1
        self.all_connected.wait()
        t_all = time.monotonic()
        time.sleep(a.hold)
        self.release.set()
        for t in threads:
            t.join()
        stop_progress.set()
        return self.summary(t_start, t_all)

    def summary(self, t_start, t_all):
        s = self.stats
        lat = sorted(s.latencies)
        ike_lat = sorted(s.ike_latencies)
        span = (s.last_up - t_start) if s.last_up else None
        ms = lambda v: None if v is None else round(v * 1000.0, 1)  # noqa: E731
        return {
            "clients": self.args.clients,
            "connected": s.connected,
            "failed": sum(s.failures.values()),
            "failures": s.failures,
            "setups_per_s": round(s.connected / span, 2) if span else None,
            "setup_ms": {"p50": ms(percentile(lat, 50)), "p90": ms(percentile(lat, 90)),
                         "p99": ms(percentile(lat, 99)), "max": ms(lat[-1] if lat else None)},
            "ike_ms": {"p50": ms(percentile(ike_lat, 50)), "p90": ms(percentile(ike_lat, 90)),
                       "p99": ms(percentile(ike_lat, 99))} if self.args.ike else None,
            "peak_sessions": s.peak_up,
            "ramp_s": round(t_all - t_start, 2),
            "pings_sent": s.pings_sent,
            "pings_received": s.pings_received,
            "closed": s.closed,
        }


def add_addresses(dev, first, n):
    base = ipaddress.IPv4Address(first)
    batch = "".join(f"address add {base + i}/32 dev {dev}\n" for i in range(n))
    subprocess.run(["ip", "-batch", "-", "-force"], input=batch.encode(), check=False,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main(argv=None):
    args = parse_args(argv)
    # One socket per client: lift the descriptor limit to what is allowed.
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if args.add_addresses:
        add_addresses(args.add_addresses, args.first, args.clients)
    summary = LoadRun(args).run()
    print(json.dumps(summary), flush=True)
    return 0 if summary["connected"] == args.clients else 1


if __name__ == "__main__":
    sys.exit(main())
