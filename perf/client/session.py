"""One client: an L2TP tunnel with one session carrying one PPP link over
a transport, driven by its own single-threaded loop (run_until) or, once
up, by a caller's loop over many clients (input, tick, next_deadline,
steady_ping/ping_once, hang_up: perf/l2tp_load.py). connect() goes
step by step and stops at the first failure, keeping its cause; ping()
sends ICMP echo inside the tunnel; disconnect() closes PPP, the session
(CDN) and the tunnel (StopCCN) in that order, as RFC 2661 §5.7 and
RFC 1661 §3.7 expect of a clean hang-up.
"""

import os
import time

from . import icmp
from . import l2tp as w
from .lac import Lac, describe_result
from .ppp import PppClient


class Client:
    def __init__(self, transport, profile, secret=None, sequencing=False, host_name="l2tpgw-client",
                 log=print, trace=None, hide=False, ppp_trace=None):
        self.transport = transport
        self.log = log
        self.lac = Lac(transport, host_name=host_name, secret=secret, log=log, trace=trace, hide=hide)
        self.profile = profile
        self.sequencing = sequencing
        self.ppp_trace = ppp_trace
        self.session = None
        self.ppp = None
        self.reached = "none"  # tunnel, session, lcp, auth, ipcp, running
        self.pings_sent = 0
        self.pings_received = 0
        self.echoes_answered = 0
        self._replies = set()
        self._on_reply = None
        self._steady = None
        self.ping_replies_unmatched = 0
        self.on_poll = None  # called once per loop turn: IKE's own socket

    # ------------------------------------------------------------ loop
    def failure(self):
        if self.lac.failure:
            return self.lac.failure
        if self.session is not None and self.session.closed_by == "peer":
            return f"the LNS closed the session: {describe_result(self.session.result, w.CDN_RESULTS)}"
        if self.ppp is not None and self.ppp.failure:
            return self.ppp.failure
        return None

    def next_deadline(self):
        """When tick() has work next (a retransmission, a PPP restart), or None."""
        ds = [self.lac.next_deadline(), self.ppp.next_deadline() if self.ppp else None]
        return min((d for d in ds if d is not None), default=None)

    def input(self, data):
        """One L2TP datagram from the transport."""
        self.lac.handle(data)

    def tick(self, now):
        """The timers due at now."""
        self.lac.tick(now)
        if self.ppp is not None:
            self.ppp.tick(now)

    def run_until(self, done, timeout):
        """Processes input and timers until done() or the timeout; True when
        done. One client on its own; a loop over many drives input(),
        tick() and next_deadline() itself (perf/l2tp_load.py)."""
        deadline = time.monotonic() + timeout
        while True:
            if done():
                return True
            now = time.monotonic()
            if now >= deadline:
                return False
            wake = min(deadline, self.next_deadline() or deadline)
            data = self.transport.recv(min(max(0.0, wake - now), 0.5))
            if data is not None:
                self.input(data)
            if self.on_poll is not None:
                self.on_poll()
            self.tick(time.monotonic())

    # ------------------------------------------------------------ steps
    def connect(self, timeout=30.0):
        """True when PPP is running; otherwise failure() says why."""
        deadline = time.monotonic() + timeout
        left = lambda: max(0.0, deadline - time.monotonic())  # noqa: E731

        self.lac.open_tunnel()
        if not self.run_until(lambda: self.lac.state != "wait-ctl-reply", left()) or self.lac.state != "established":
            return self._timeout("no SCCRP from the LNS")
        self.reached = "tunnel"

        self.session = self.lac.open_session(self.sequencing)
        if not self.run_until(lambda: self.session.state != "wait-reply" or self.lac.failure, left()) \
                or self.session.state != "established":
            return self._timeout("no ICRP from the LNS")
        self.reached = "session"

        self.ppp = PppClient(self.session.send_ppp, self.profile, log=self.log, trace=self.ppp_trace)
        self.ppp.on_ip = self._ip_input
        self.session.on_ppp = self.ppp.input
        self.ppp.start()
        steps = (("lcp", lambda: self.ppp.lcp.opened), ("auth", lambda: self.ppp.auth_ok or
                                                        (self.ppp.lcp.opened and self.ppp.auth == "none")),
                 ("running", self.ppp.running))
        for name, cond in steps:
            if not self.run_until(lambda: cond() or self.failure() or self.session.state == "closed", left()) \
                    or not cond():
                return self._timeout(f"PPP did not get past {self.reached}")
            self.reached = name
        return True

    def _timeout(self, what):
        if self.failure() is None and self.lac.failure is None:
            self.lac.failure = f"timed out: {what}"
            self.log(f"failed: timed out: {what}")
        return False

    def ping(self, host, count, interval=0.2, wait=2.0, size=56, before=None):
        """ICMP echo to host from the assigned address, inside the tunnel.
        before(seq), when given, runs before each echo is sent."""
        ident = int.from_bytes(os.urandom(2), "big")
        self._on_reply = lambda e: self._echo_reply(e, host, ident)
        payload = bytes((i & 0xFF) for i in range(size))
        for seq in range(count):
            if before is not None:
                before(seq)
            self.ppp.send_ip(icmp.echo(self.ppp.ipcp.address, host, ident, seq, payload))
            self.pings_sent += 1
            self.run_until(lambda: self.failure() is not None, interval)
            if self.failure():
                break
        self.run_until(lambda: self.pings_received >= self.pings_sent or self.failure() is not None, wait)
        self.log(f"ping {host}: {self.pings_sent} sent, {self.pings_received} replies")
        return self.pings_received

    def steady_ping(self, host, size=56, on_rtt=None, give_up=5.0):
        """Sets up ping_once() for a caller's loop: one identifier for the
        whole hold, replies counted in pings_received and their round trip
        (seconds) given to on_rtt; a reply later than give_up seconds
        counts as lost (ping_replies_unmatched)."""
        ident = int.from_bytes(os.urandom(2), "big")
        self._steady = {"host": host, "ident": ident, "seq": 0, "sent": {}, "on_rtt": on_rtt, "give_up": give_up,
                        "payload": bytes((i & 0xFF) for i in range(size))}
        self._on_reply = self._steady_reply

    def ping_once(self):
        """Sends the next echo of steady_ping() without waiting for it."""
        st = self._steady
        seq = st["seq"]
        st["seq"] = (seq + 1) & 0xFFFF
        sent = st["sent"]
        now = time.monotonic()
        while sent and (now - next(iter(sent.values())) > st["give_up"] or len(sent) > 1000):
            del sent[next(iter(sent))]  # the oldest: lost, no longer waited for
        sent[seq] = now
        self.ppp.send_ip(icmp.echo(self.ppp.ipcp.address, st["host"], st["ident"], seq, st["payload"]))
        self.pings_sent += 1

    def _steady_reply(self, e):
        st = self._steady
        if e.type != icmp.ECHO_REPLY or e.src != st["host"] or e.ident != st["ident"]:
            return
        t = st["sent"].pop(e.seq, None)
        if t is None:
            self.ping_replies_unmatched += 1  # a duplicate, or one given up
            return
        self.pings_received += 1
        if st["on_rtt"] is not None:
            st["on_rtt"](time.monotonic() - t)

    def _ip_input(self, pkt):
        """Answers echo requests to our address, as any host would, so that
        the inside can ping the client; hands echo replies to ping()."""
        e = icmp.parse(pkt)
        if e is None:
            return
        if e.type == icmp.ECHO_REQUEST and e.dst == self.ppp.ipcp.address:
            self.ppp.send_ip(icmp.echo(e.dst, e.src, e.ident, e.seq, e.payload, kind=icmp.ECHO_REPLY))
            self.echoes_answered += 1
        elif self._on_reply is not None:
            self._on_reply(e)

    def _echo_reply(self, e, host, ident):
        if e.src == host and e.type == icmp.ECHO_REPLY and e.ident == ident and (ident, e.seq) not in self._replies:
            # Each ping() has its own identifier: a reply counts once per call.
            self._replies.add((ident, e.seq))
            self.pings_received += 1

    def hang_up(self, timeout=10.0):
        """disconnect()'s steps for a caller's own loop: a generator that
        yields (done, deadline) — go on when done() or at the deadline,
        driving input() and tick() meanwhile — and returns what
        disconnect() returns."""
        deadline = time.monotonic() + timeout
        if self.lac.state in ("closed", "idle"):
            return False
        if self.lac.state == "wait-ctl-reply":
            self.lac.abandon()
            self.log("L2TP: no tunnel to close (the LNS never answered)")
            return False
        if self.ppp is not None and self.session.state == "established":
            self.ppp.terminate()
            yield (lambda: self.ppp.terminated() or self.lac.state == "closed",
                   min(deadline, time.monotonic() + 7.0))
        if self.session is not None and self.session.state != "closed":
            self.lac.close_session(self.session)
            yield (lambda: not self.lac.unacked or self.lac.state == "closed"), deadline
        self.lac.close_tunnel(1, None, "client disconnect")
        yield (lambda: self.lac.stop_acked() or self.lac.state == "closed"), deadline
        ok = self.lac.stop_acked()
        self.lac.closed_cleanly = ok
        self.log("L2TP tunnel closed (StopCCN acknowledged)" if ok else "L2TP: StopCCN not acknowledged")
        self.lac.state = "closed"
        return ok

    def disconnect(self, timeout=10.0):
        """PPP Terminate, CDN, StopCCN, each waited for; True when the
        StopCCN was acknowledged."""
        steps = self.hang_up(timeout)
        try:
            while True:
                done, until = next(steps)
                self.run_until(done, max(0.0, until - time.monotonic()))
        except StopIteration as stop:
            return stop.value

    def summary(self):
        p = self.ppp
        extra = {}
        if hasattr(self.transport, "dropped"):
            extra = {"esp_dropped": self.transport.dropped, "esp_last_error": self.transport.last_error}
        return extra | {
            "reached": self.reached,
            "tunnel": {"ours": self.lac.tunnel_id, "peer": self.lac.peer_tunnel_id},
            "session": {"ours": self.session.our_id, "peer": self.session.peer_id} if self.session else None,
            "auth": p.auth if p and p.auth_ok else None,
            "address": p.ipcp.address if p and p.ipcp.opened else None,
            "dns": p.ipcp.dns if p and p.ipcp.opened else [],
            "mppe": p.mppe_mode if p else None,
            "pings_sent": self.pings_sent,
            "pings_received": self.pings_received,
            "echoes_answered": self.echoes_answered,
            "failure": self.failure(),
        }
