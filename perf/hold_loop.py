"""The load generator's hold loop: every session that is up, in one thread.

One epoll over the sessions' sockets (the shared raw ESP socket, each
client's IKE port-500 socket, UDP 1701 for plain L2TP) and one timer heap
(L2TP retransmissions, PPP restarts, pings, hang-up deadlines). Input goes
to the client's own handlers (session.Client.input), which acknowledge
control messages and HELLOs (RFC 2661 §5.8, §6.5), answer LCP echoes
(RFC 1661 §5.8) and ICMP echoes; IKE datagrams go to the initiator
(R-U-THERE, RFC 3706). At the end the sessions hang up (PPP Terminate, CDN,
StopCCN, then IKE Deletes) at most hangup_batch at a time, each driven
through Client.hang_up()'s steps.

A session enters from a setup thread through adopt(); from then on only
this thread touches it.
"""

import collections
import heapq
import itertools
import os
import random
import select
import socket
import threading
import time
import traceback

from client.ppp_wire import PppError
from client.transport import SharedEsp

TICK, PING, IKE_POLL, STATS = range(4)
IKE_POLL_EVERY = 5.0  # NAT-T keepalives of floated initiators (ike.poll)


def proc_kb(pid, key):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def proc_cpu_s(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return round((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), 2)
    except (OSError, IndexError, ValueError):
        return None


class Held:
    __slots__ = ("index", "client", "ike", "transport", "fds", "scheduled", "steps", "wait", "dropped",
                 "done")

    def __init__(self, index, client, ike, transport):
        self.index, self.client, self.ike, self.transport = index, client, ike, transport
        self.fds = []
        self.scheduled = None  # the earliest TICK in the heap for it
        self.steps = None      # Client.hang_up() generator once hanging up
        self.wait = None       # (done, deadline) of the current hang-up step
        self.dropped = False
        self.done = False


class HoldLoop:
    def __init__(self, stats, ping=None, ping_interval=10.0, hangup_batch=100, cause_of=str,
                 use_shared_esp=False):
        self.stats = stats
        self.ping_host = ping
        self.ping_interval = ping_interval
        self.hangup_batch = max(1, hangup_batch)
        self.cause_of = cause_of
        self.ep = select.epoll()
        self.incoming = collections.deque()
        self.wake_r, self.wake_w = socket.socketpair()
        self.wake_r.setblocking(False)
        self.wake_w.setblocking(False)
        self.ep.register(self.wake_r.fileno(), select.EPOLLIN)
        self.by_fd = {}
        self.shared = None
        if use_shared_esp:
            self.shared = SharedEsp()
            self.ep.register(self.shared.fileno(), select.EPOLLIN)
        self.by_transport = {}
        self.heap = []
        self.seq = itertools.count()
        self.held = {}          # index -> Held, holding (not hanging up)
        self.hanging = {}       # index -> Held, hanging up
        self.to_hang = collections.deque()
        self._release = threading.Event()
        self.rtts = []
        self.errors = collections.Counter()
        self.counts = collections.Counter()  # of sessions gone: their answers, kept when they leave
        self.held_peak = 0
        self.held_at_release = None
        self.phase = "hold"  # then draining (the last ping replies), then hanging (up)
        self.drain_until = None
        self.busy_peak = 0.0
        self.late_max = 0.0
        self.snapshot = {"held": 0, "pings_sent": 0, "pings_received": 0, "lcp_echoes": 0, "hellos": 0,
                         "loop_busy": 0.0, "timer_late_ms": 0.0}
        self._late_window = 0.0

    # ------------------------------------------------------------ other threads
    def adopt(self, index, client, ike, transport):
        """From a setup thread: the session is up; the loop owns it from now."""
        self.incoming.append(Held(index, client, ike, transport))
        try:
            self.wake_w.send(b"\0")
        except BlockingIOError:
            pass  # already woken

    def release(self):
        """From the main thread: hang every session up, then return from run()."""
        self._release.set()
        try:
            self.wake_w.send(b"\0")
        except BlockingIOError:
            pass

    # ------------------------------------------------------------ the loop
    def run(self):
        self._push(time.monotonic() + 1.0, STATS, None)
        cpu0, wall0 = time.thread_time(), time.monotonic()
        self.cpu_start = cpu0
        self.stats_mark = (cpu0, wall0)
        while True:
            now = time.monotonic()
            timeout = 1.0
            if self.heap:
                timeout = min(timeout, max(0.0, self.heap[0][0] - now))
            for fd, _ in self.ep.poll(timeout, 1024):
                self._guarded(self._readable, fd)
            self._timers()
            if self.incoming:
                self._guarded(self._take_incoming)
            if self._release.is_set():
                now = time.monotonic()
                if self.phase == "hold":
                    # Pings stop now; the hang-ups start once the last
                    # replies had their time, so that none is lost to a
                    # session already closing.
                    self.phase = "draining"
                    self.held_at_release = len(self.held)
                    self.drain_until = now + (min(2.0, self.ping_interval) if self.ping_host else 0.0)
                if self.phase == "draining" and now >= self.drain_until:
                    self.phase = "hanging"
                    self.to_hang.extend(self.held.values())
                if self.phase == "hanging":
                    self._start_hang_ups()
                if not self.held and not self.hanging and not self.incoming and not self.to_hang:
                    break
        self.loop_cpu_s = round(time.thread_time() - self.cpu_start, 2)
        if self.shared is not None:
            self.shared.close()

    def _guarded(self, fn, *args):
        """A bug or a socket error in one session's handling must not end
        the loop that holds all the others: counted, the first one shown."""
        try:
            fn(*args)
        except Exception as e:
            key = f"{type(e).__name__}: {e}"
            if not self.errors:
                traceback.print_exc()
            self.errors[key[:120]] += 1

    def _push(self, when, kind, h):
        heapq.heappush(self.heap, (when, next(self.seq), kind, h))

    def _take_incoming(self):
        while self.incoming:
            h = self.incoming.popleft()
            c, t = h.client, h.transport
            self.by_transport[id(t)] = h
            self.held[h.index] = h
            self.held_peak = max(self.held_peak, len(self.held))
            if self.shared is not None and t.share(self.shared, lambda data, h=h: self._input(h, data)):
                if h.done:
                    continue  # what waited on its own socket ended it
            elif t.fileno() is not None:
                self._watch(h, t.fileno(), lambda h=h: h.transport.drain(lambda data: self._input(h, data)))
            if h.ike is not None:
                if h.ike.floated:
                    self._push(time.monotonic() + IKE_POLL_EVERY, IKE_POLL, h)
                else:
                    self._watch(h, h.ike.sock500.fileno(), h.ike.poll)
            if self.ping_host and c.ppp is not None:
                c.steady_ping(self.ping_host, on_rtt=self.rtts.append)
                self._push(time.monotonic() + random.uniform(0, self.ping_interval), PING, h)
            if self.phase == "hanging":
                self.to_hang.append(h)
            if not h.done:
                self._after(h)

    def _watch(self, h, fd, on_readable):
        self.ep.register(fd, select.EPOLLIN)
        self.by_fd[fd] = on_readable
        h.fds.append(fd)

    def _readable(self, fd):
        if self.shared is not None and fd == self.shared.fileno():
            self.shared.drain(self._shared_input)
        elif fd == self.wake_r.fileno():
            try:
                while self.wake_r.recv(4096):
                    pass
            except BlockingIOError:
                pass
        else:
            on_readable = self.by_fd.get(fd)
            if on_readable is not None:
                on_readable()

    def _shared_input(self, transport, data):
        h = self.by_transport.get(id(transport))
        if h is not None:
            self._input(h, data)

    def _input(self, h, data):
        if h.done:
            return
        h.client.input(data)
        self._after(h)

    def _timers(self):
        now = time.monotonic()
        heap = self.heap
        while heap and heap[0][0] <= now:
            when, _, kind, h = heapq.heappop(heap)
            self._late_window = max(self._late_window, now - when)
            self._guarded(self._timer, now, when, kind, h)

    def _timer(self, now, when, kind, h):
        if kind == STATS:
            self._sample(now)
            self._push(now + 1.0, STATS, None)
            return
        if h.done:
            return
        if kind == TICK:
            if when != h.scheduled:
                return  # superseded by an earlier one
            h.scheduled = None
            h.client.tick(now)
            self._after(h)
        elif kind == PING:
            if h.steps is None and not h.dropped and self.phase == "hold":
                self._push(when + self.ping_interval, PING, h)
                try:
                    h.client.ping_once()
                except PppError:
                    pass  # PPP no longer running: the failure check below ends it
                self._after(h)
        elif kind == IKE_POLL:
            self._push(now + IKE_POLL_EVERY, IKE_POLL, h)
            h.ike.poll()

    def _after(self, h):
        """After input or a timer: a dropped session starts its hang-up, a
        hang-up step that is done moves on, and the next timer is set."""
        c = h.client
        if h.steps is None and not h.dropped and c.failure() is not None:
            h.dropped = True
            self.stats.fail("dropped while held: " + self.cause_of(c.failure()))
            self.held.pop(h.index, None)
            self.stats.left()
            self._begin_hang_up(h)
            return
        while h.steps is not None:
            done, until = h.wait
            if not done() and time.monotonic() < until:
                break
            self._step(h)
            if h.done:
                return
        d = c.next_deadline()
        if h.wait is not None:
            d = h.wait[1] if d is None else min(d, h.wait[1])
        if d is not None and (h.scheduled is None or d < h.scheduled):
            h.scheduled = d
            self._push(d, TICK, h)

    # ------------------------------------------------------------ hanging up
    def _start_hang_ups(self):
        while self.to_hang and len(self.hanging) < self.hangup_batch:
            h = self.to_hang.popleft()
            if h.steps is not None or h.done or h.index not in self.held:
                continue
            self.held.pop(h.index)
            self.stats.left()
            self._begin_hang_up(h)

    def _begin_hang_up(self, h):
        self.hanging[h.index] = h
        h.steps = h.client.hang_up(10.0)
        self._step(h)
        if not h.done:
            self._after(h)

    def _step(self, h):
        try:
            h.wait = next(h.steps)
        except StopIteration as stop:
            self._finish(h, bool(stop.value))

    def _finish(self, h, clean):
        h.done = True
        h.wait = None
        self.hanging.pop(h.index, None)
        self._count(h)
        self.counts["clean"] += clean
        for fd in h.fds:
            self.ep.unregister(fd)
            self.by_fd.pop(fd, None)
        h.transport.close()
        if h.ike is not None:
            try:
                h.ike.hang_up()
            except OSError:
                pass
            h.ike.close()
        self.by_transport.pop(id(h.transport), None)
        self.stats.closed_one()

    # ------------------------------------------------------------ figures
    @staticmethod
    def _answers(h):
        c = h.client
        return {"pings_sent": c.pings_sent, "pings_received": c.pings_received,
                "lcp_echoes": c.ppp.echoes_answered if c.ppp else 0, "hellos": c.lac.hellos_received,
                "icmp_echoes": c.echoes_answered, "ping_replies_unmatched": c.ping_replies_unmatched,
                "ip_in": c.ppp.counters["ip_in"] if c.ppp else 0,
                "out_of_order": c.session.dropped_out_of_order if c.session else 0, "dpd": h.ike.dpd_answered if h.ike else 0,
                "esp_dropped": getattr(h.transport, "dropped", 0), "not_l2tp": getattr(h.transport, "not_l2tp", 0),
                "send_errors": getattr(h.transport, "send_errors", 0)}

    def _count(self, h):
        for k, v in self._answers(h).items():
            self.counts[k] += v

    def _live(self):
        total = collections.Counter(self.counts)
        for group in (self.held, self.hanging):
            for h in group.values():
                for k, v in self._answers(h).items():
                    total[k] += v
        return total

    def _sample(self, now):
        cpu = time.thread_time()
        cpu0, wall0 = self.stats_mark
        busy = (cpu - cpu0) / max(1e-6, now - wall0)
        self.stats_mark = (cpu, now)
        self.busy_peak = max(self.busy_peak, busy)
        self.late_max = max(self.late_max, self._late_window)
        live = self._live()
        self.snapshot = {"held": len(self.held), "pings_sent": live["pings_sent"],
                         "pings_received": live["pings_received"], "lcp_echoes": live["lcp_echoes"],
                         "hellos": live["hellos"], "loop_busy": round(busy, 3),
                         "timer_late_ms": round(self._late_window * 1000.0, 1)}
        self._late_window = 0.0

    def totals(self):
        t = self._live()
        return {"held_peak": self.held_peak, "held_at_release": self.held_at_release,
                "pings_sent": t["pings_sent"], "pings_received": t["pings_received"],
                "lcp_echoes": t["lcp_echoes"], "hellos": t["hellos"], "icmp_echoes": t["icmp_echoes"],
                "dpd": t["dpd"], "esp_dropped": t["esp_dropped"], "clean": t["clean"],
                "loop_busy_peak": round(self.busy_peak, 3),
                "timer_late_ms_max": round(self.late_max * 1000.0, 1),
                "loop_cpu_s": getattr(self, "loop_cpu_s", None), "errors": dict(self.errors),
                "ping_replies_unmatched": t["ping_replies_unmatched"], "ip_in": t["ip_in"],
                "out_of_order": t["out_of_order"], "not_l2tp": t["not_l2tp"], "send_errors": t["send_errors"],
                "shared_esp": {"received": self.shared.received, "unknown_spi": self.shared.unknown,
                               "misaddressed": self.shared.misaddressed}
                if self.shared is not None else None}
