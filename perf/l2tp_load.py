#!/usr/bin/python3
"""Load generator: many L2TP clients (perf/client) from many source
addresses, started at a set rate, each holding its session with steady
traffic, then hanging up. Measures what the gateway sets up and holds.

    l2tp_load.py --server 198.51.100.1 --first 10.252.0.10 --clients 1000 \\
        --rate 50 --hold 30 --password secret --ping 10.0.0.2 \\
        [--ike psk --psk KEY --profile windows] [--watch cp=PID --watch dp=PID]

Without --ike the L2TP datagrams go in plain UDP (the gateway must trust
the clients' addresses: l2tp.plain_from); with it each client negotiates
IKEv1 Main Mode and Quick Mode first and runs L2TP over its own ESP SAs.

Setups run in a pool of --in-flight threads. A session that is up goes to
one hold loop (hold_loop.py): a single thread over every session's sockets
(epoll) and a timer heap, which acknowledges the gateway's control
messages and HELLOs, answers its LCP echoes and R-U-THEREs, sends the
steady pings and counts their replies, and at the end hangs the sessions
up a bounded number at a time. One thread per session did not hold a
thousand of them on a shared core: late answers to LCP echoes got them
dropped.

Every client binds its own address (first + i): the namespace it runs in
must own them (--add-addresses DEV adds them as /32s). A progress line each
second on stderr; the JSON summary last on stdout: setups per second,
setup latency percentiles, sessions held over time, pings through the
tunnels, echoes and HELLOs answered, memory and CPU of this process and of
the --watch'ed ones, failures by cause. Exit 0 when every client connected.
SIGTERM or SIGINT ends a run early: no more setups start, the sessions
that are up hang up, and the summary says stopped_early.
"""

import argparse
import concurrent.futures
import ipaddress
import json
import os
import re
import resource
import signal
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
from hold_loop import HoldLoop, proc_cpu_s, proc_kb  # noqa: E402


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--server", required=True)
    ap.add_argument("--first", required=True, help="first client address; client i binds first + i")
    ap.add_argument("--clients", type=int, default=10)
    ap.add_argument("--rate", type=float, default=20.0, help="clients started per second")
    ap.add_argument("--in-flight", type=int, default=64, help="most setups under way at once (threads)")
    ap.add_argument("--hold", type=float, default=10.0,
                    help="seconds each client stays up after the last one connected")
    ap.add_argument("--ping", help="inside host each client pings while it holds")
    ap.add_argument("--ping-interval", type=float, default=1.0, help="seconds between one client's pings")
    ap.add_argument("--hangup-batch", type=int, default=100, help="most hang-ups under way at once")
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
    ap.add_argument("--esp", choices=("codec", "scapy"), default="codec",
                    help="ESP through client/esp_codec.py (default) or scapy's SecurityAssociation")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds for one setup")
    ap.add_argument("--add-addresses", metavar="DEV", help="add the clients' addresses to DEV first")
    ap.add_argument("--watch", action="append", default=[], metavar="NAME=PID",
                    help="another process whose memory and CPU time the timeline records")
    ap.add_argument("--sample", type=float, default=5.0, help="seconds between timeline samples")
    ap.add_argument("--quiet", action="store_true", help="no progress lines")
    args = ap.parse_args(argv)
    args.auth = [a.strip() for a in args.auth.split(",")]
    if args.ike and not args.psk:
        ap.error("--ike psk needs --psk")
    try:
        args.watch = [(n, int(p)) for n, p in (w.split("=", 1) for w in args.watch)]
    except ValueError:
        ap.error("--watch NAME=PID")
    return args


class Stats:
    """Shared by the setup threads, the hold loop and the progress thread;
    one lock, touched a few times per client, never per packet."""

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
        self.first_up = None
        self.last_up = None
        self.client_log = {}

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

    def left(self):
        with self.lock:
            self.up -= 1

    def closed_one(self):
        with self.lock:
            self.closed += 1


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
        self.stop = threading.Event()  # SIGTERM or SIGINT: hang up now, then the summary
        self.log = log or (lambda line: None)
        self.hold = HoldLoop(self.stats, ping=args.ping, ping_interval=args.ping_interval,
                             hangup_batch=args.hangup_batch, cause_of=cause_of, use_shared_esp=bool(args.ike))

    def client_log(self, line):
        """What the clients log, counted by kind: their protocol events and
        the datagrams they drop (a wrong tunnel id, a malformed frame)."""
        key = re.sub(r"\d+", "N", cause_of(line))[:80]  # one key per kind, not per client
        with self.stats.lock:
            self.stats.client_log[key] = self.stats.client_log.get(key, 0) + 1

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
            if a.esp == "codec":
                transport.use_codec()
            with self.stats.lock:
                self.stats.ike_latencies.append(time.monotonic() - t0)
        return ike, transport

    def client(self, i, local):
        """One setup, in a pool thread; a session that is up goes to the
        hold loop, which owns it from then on."""
        a = self.args
        s = self.stats
        try:
            # Latency from the setup's start, not from the queue for a thread.
            t0 = time.monotonic()
            ike, transport = self.transport(local)
            if transport is None:
                s.fail(cause_of(ike.failure))
                ike.close()
                return
            c = Client(transport, self.profile(i), log=self.client_log)
            if ike is not None:
                c.on_poll = ike.poll
            if not c.connect(a.timeout):
                s.fail(cause_of(c.failure() or f"stopped at {c.reached}"))
                c.disconnect(5.0)
                transport.close()
                if ike is not None:
                    ike.hang_up()
                    ike.close()
                return
            now = time.monotonic()
            s.connected_after(now - t0, now)
            self.hold.adopt(i, c, ike, transport)
        except Exception as e:  # a bug or a socket error: counted, the run goes on
            s.fail(f"client error: {type(e).__name__}: {e}")
        finally:
            self._maybe_all_done()

    def _maybe_all_done(self):
        with self.stats.lock:
            done = self.stats.connected + sum(self.stats.failures.values()) >= self.args.clients
        if done:
            self.all_connected.set()

    def progress(self, t_start, stop):
        """Progress lines each second, and a timeline sample every --sample
        seconds with the memory and CPU time of this process and the
        watched ones."""
        a = self.args
        procs = [("load", os.getpid())] + a.watch
        next_sample = 0.0
        while True:
            t = time.monotonic() - t_start
            s = self.stats
            h = self.hold.snapshot
            with s.lock:
                line = (f"{t:6.1f}s started {s.started} up {s.up} connected {s.connected} "
                        f"failed {sum(s.failures.values())} closed {s.closed} held {h['held']} "
                        f"pings {h['pings_received']}/{h['pings_sent']} lcp-echo {h['lcp_echoes']} "
                        f"hello {h['hellos']} loop {h['loop_busy']:.0%}")
                row = {"t": round(t, 1), "started": s.started, "connected": s.connected, "up": s.up,
                       "failed": sum(s.failures.values())}
            if not a.quiet:
                print(line, file=sys.stderr, flush=True)
            if t >= next_sample or stop.is_set():
                next_sample = t + a.sample
                row |= {k: h[k] for k in ("held", "pings_sent", "pings_received", "lcp_echoes", "hellos",
                                          "loop_busy", "timer_late_ms")}
                for name, pid in procs:
                    row[f"{name}_rss_kb"] = proc_kb(pid, "VmRSS")
                    row[f"{name}_cpu_s"] = proc_cpu_s(pid)
                self.timeline.append(row)
            if stop.wait(1.0):
                break

    def run(self):
        a = self.args
        first = ipaddress.IPv4Address(a.first)
        # Small stacks: the pool's threads each need little.
        threading.stack_size(512 * 1024)
        stop_progress = threading.Event()
        t_start = time.monotonic()
        self.timeline = []
        loop = threading.Thread(target=self.hold.run, name="hold", daemon=True)
        loop.start()
        progress = threading.Thread(target=self.progress, args=(t_start, stop_progress), daemon=True)
        progress.start()
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=a.in_flight, thread_name_prefix="setup")
        for i in range(a.clients):
            due = t_start + i / a.rate
            delay = due - time.monotonic()
            if delay > 0 and self.stop.wait(delay):
                break
            pool.submit(self.client, i, str(first + i))
            with self.stats.lock:
                self.stats.started += 1
        while not self.all_connected.is_set() and not self.stop.wait(0.2):
            pass
        t_all = time.monotonic()
        self.stop.wait(a.hold)
        t_release = time.monotonic()
        # Setups still queued are not started; those under way finish
        # first, and what they bring up is hung up with the rest.
        pool.shutdown(wait=True, cancel_futures=True)
        self.hold.release()
        loop.join()
        t_end = time.monotonic()
        stop_progress.set()
        progress.join()
        return self.summary(t_start, t_all, t_release, t_end)

    def summary(self, t_start, t_all, t_release, t_end):
        s = self.stats
        h = self.hold.totals()
        lat = sorted(s.latencies)
        ike_lat = sorted(s.ike_latencies)
        rtt = sorted(self.hold.rtts)
        span = (s.last_up - t_start) if s.last_up else None
        ms = lambda v: None if v is None else round(v * 1000.0, 1)  # noqa: E731
        watched = {name: {"hwm_kb": proc_kb(pid, "VmHWM"), "rss_kb_peak": max(
            (r.get(f"{name}_rss_kb") or 0 for r in self.timeline), default=None)}
            for name, pid in [("load", os.getpid())] + self.args.watch}
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
            "held_peak": h["held_peak"],
            "held_at_release": h["held_at_release"],
            "ramp_s": round(t_all - t_start, 2),
            "held_s": round(t_release - t_all, 2),
            "hangup_s": round(t_end - t_release, 2),
            "pings_sent": h["pings_sent"],
            "pings_received": h["pings_received"],
            "ping_rtt_ms": {"p50": ms(percentile(rtt, 50)), "p90": ms(percentile(rtt, 90)),
                            "p99": ms(percentile(rtt, 99)), "max": ms(rtt[-1] if rtt else None)},
            "lcp_echoes_answered": h["lcp_echoes"],
            "hellos_answered": h["hellos"],
            "icmp_echoes_answered": h["icmp_echoes"],
            "dpd_answered": h["dpd"],
            "esp_dropped": h["esp_dropped"],
            "ping_replies_unmatched": h["ping_replies_unmatched"],
            "ip_packets_in": h["ip_in"],
            "l2tp_data_out_of_order": h["out_of_order"],
            "esp_not_l2tp": h["not_l2tp"],
            "send_errors": h["send_errors"],
            "shared_esp": h["shared_esp"],
            "hold_loop": {"busy_peak": h["loop_busy_peak"], "timer_late_ms_max": h["timer_late_ms_max"],
                          "cpu_s": h["loop_cpu_s"], "errors": h["errors"]},
            "memory_kb": watched,
            "load_cpu_s": round(sum(os.times()[:2]), 2),
            "closed": s.closed,
            "client_log": s.client_log,
            "hung_up_cleanly": h["clean"],
            "timeline": self.timeline,
        }


def add_addresses(dev, first, n):
    base = ipaddress.IPv4Address(first)
    batch = "".join(f"address add {base + i}/32 dev {dev}\n" for i in range(n))
    subprocess.run(["ip", "-batch", "-", "-force"], input=batch.encode(), check=False,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def raise_nofile(clients):
    """Each held client keeps one socket (UDP 1701, or IKE's port 500 with
    ESP on the shared raw socket), two behind a NAT; a setup under way one
    more. The hard limit is what this process may not pass."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = clients + 256
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(hard, want), max(hard, want)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        print(f"l2tp_load: RLIMIT_NOFILE is {soft} (hard {hard}); {clients} clients need about {want}",
              file=sys.stderr, flush=True)


def main(argv=None):
    args = parse_args(argv)
    raise_nofile(args.clients)
    if args.add_addresses:
        add_addresses(args.add_addresses, args.first, args.clients)
    run = LoadRun(args)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: run.stop.set())
    summary = run.run()
    summary["stopped_early"] = run.stop.is_set()
    print(json.dumps(summary), flush=True)
    return 0 if summary["connected"] == args.clients else 1


if __name__ == "__main__":
    sys.exit(main())
