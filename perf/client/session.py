"""One client: an L2TP tunnel with one session carrying one PPP link over
a transport, driven by a single-threaded loop (run_until). connect() goes
step by step and stops at the first failure, keeping its cause; ping()
sends ICMP echo inside the tunnel; disconnect() closes PPP, the session
(CDN) and the tunnel (StopCCN) in that order, as RFC 2661 §5.7 and
RFC 1661 §3.7 expect of a clean hang-up.
"""

import os
import time

from scapy.layers.inet import ICMP, IP

from .lac import Lac, describe_result
from . import l2tp as w
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

    def run_until(self, done, timeout):
        """Processes input and timers until done() or the timeout; True when done."""
        deadline = time.monotonic() + timeout
        while True:
            if done():
                return True
            now = time.monotonic()
            if now >= deadline:
                return False
            wakes = [deadline, self.lac.next_deadline(), self.ppp.next_deadline() if self.ppp else None]
            wait = max(0.0, min(t for t in wakes if t is not None) - now)
            data = self.transport.recv(min(wait, 0.5))
            if data is not None:
                self.lac.handle(data)
            if self.on_poll is not None:
                self.on_poll()
            now = time.monotonic()
            self.lac.tick(now)
            if self.ppp is not None:
                self.ppp.tick(now)

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
        self._on_reply = lambda ip: self._echo_reply(ip, host, ident)
        payload = bytes((i & 0xFF) for i in range(size))
        for seq in range(count):
            if before is not None:
                before(seq)
            pkt = IP(src=self.ppp.ipcp.address, dst=host) / ICMP(type=8, id=ident, seq=seq) / payload
            self.ppp.send_ip(bytes(pkt))
            self.pings_sent += 1
            self.run_until(lambda: self.failure() is not None, interval)
            if self.failure():
                break
        self.run_until(lambda: self.pings_received >= self.pings_sent or self.failure() is not None, wait)
        self.log(f"ping {host}: {self.pings_sent} sent, {self.pings_received} replies")
        return self.pings_received

    def _ip_input(self, pkt):
        """Answers echo requests to our address, as any host would, so that
        the inside can ping the client; hands the rest to ping()."""
        try:
            ip = IP(pkt)
        except Exception:  # scapy's parse failure of a malformed packet: ignored
            return
        if ICMP in ip and ip[ICMP].type == 8 and ip.dst == self.ppp.ipcp.address:
            reply = IP(src=ip.dst, dst=ip.src) / ICMP(type=0, id=ip[ICMP].id, seq=ip[ICMP].seq) / \
                bytes(ip[ICMP].payload)
            self.ppp.send_ip(bytes(reply))
            self.echoes_answered += 1
        elif self._on_reply is not None:
            self._on_reply(ip)

    def _echo_reply(self, ip, host, ident):
        if ip.src == host and ICMP in ip and ip[ICMP].type == 0 and ip[ICMP].id == ident \
                and (ident, ip[ICMP].seq) not in self._replies:
            # Each ping() has its own identifier: a reply counts once per call.
            self._replies.add((ident, ip[ICMP].seq))
            self.pings_received += 1

    def disconnect(self, timeout=10.0):
        """PPP Terminate, CDN, StopCCN, each waited for; True when the
        StopCCN was acknowledged."""
        deadline = time.monotonic() + timeout
        left = lambda: max(0.0, deadline - time.monotonic())  # noqa: E731
        if self.lac.state in ("closed", "idle"):
            return False
        if self.lac.state == "wait-ctl-reply":
            self.lac.abandon()
            self.log("L2TP: no tunnel to close (the LNS never answered)")
            return False
        if self.ppp is not None and self.session.state == "established":
            self.ppp.terminate()
            self.run_until(lambda: self.ppp.terminated() or self.lac.state == "closed", min(left(), 7.0))
        if self.session is not None and self.session.state != "closed":
            self.lac.close_session(self.session)
            self.run_until(lambda: not self.lac.unacked or self.lac.state == "closed", left())
        self.lac.close_tunnel(1, None, "client disconnect")
        self.run_until(lambda: self.lac.stop_acked() or self.lac.state == "closed", left())
        ok = self.lac.stop_acked()
        self.lac.closed_cleanly = ok
        self.log("L2TP tunnel closed (StopCCN acknowledged)" if ok else "L2TP: StopCCN not acknowledged")
        self.lac.state = "closed"
        return ok

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
