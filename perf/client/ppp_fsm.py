"""The option-negotiation automaton of RFC 1661 §4, one per control
protocol (LCP, IPCP, CCP), reduced to what an active client needs: it
always opens, so the states are Req-Sent / Ack-Rcvd / Ack-Sent / Opened
plus Closing and Closed. Restart timer 3 s, Max-Configure 10 and
Max-Failure 5 are the §4.6 defaults; Max-Terminate 2 is the default.

A subclass gives the protocol's options: request() our Configure-Request
options; on_nak / on_reject adjust them; judge() answers the peer's
Configure-Request. It may override extra_code() for codes beyond 1-7.
"""

import os
import time

from . import ppp_wire as pw

RESTART = 3.0
MAX_CONFIGURE = 10
MAX_TERMINATE = 2
MAX_FAILURE = 5


class Fsm:
    name = "?"
    proto = 0

    def __init__(self, link):
        self.link = link  # PppClient: send_cp(proto, code, id, data), log, fail
        self.state = "initial"
        self.ident = os.urandom(1)[0]
        self.sent_options = None
        self.peer_options = None  # what we acknowledged
        self.acked_options = None  # what the peer acknowledged
        self.deadline = None
        self.tries = 0
        self.naks_received = 0
        self.naks_sent = 0
        self.terminate_cause = None

    # ---- subclass interface
    def request(self):
        return []

    def on_nak(self, options):
        pass

    def on_reject(self, options):
        pass

    def judge(self, options):
        """(CONF_ACK | CONF_NAK | CONF_REJ, options to send)."""
        return pw.CONF_ACK, options

    def up(self):
        pass

    def extra_code(self, code, ident, data):
        return False

    # ---- automaton
    @property
    def opened(self):
        return self.state == "opened"

    def open(self):
        self.tries = 0
        self._send_request()

    def _send_request(self):
        self.ident = (self.ident + 1) & 0xFF
        self.sent_options = self.request()
        self.link.send_cp(self.proto, pw.CONF_REQ, self.ident, pw.build_options(self.sent_options))
        self.tries += 1
        self.deadline = time.monotonic() + RESTART
        if self.state not in ("ack-sent",):
            self.state = "req-sent"

    def close(self, reason=b""):
        if self.state in ("closed", "initial", "closing"):
            return
        self.state = "closing"
        self.tries = 1
        self.ident = (self.ident + 1) & 0xFF
        self._term = reason
        self.link.send_cp(self.proto, pw.TERM_REQ, self.ident, reason)
        self.deadline = time.monotonic() + RESTART

    def tick(self, now):
        if self.deadline is None or now < self.deadline:
            return
        if self.state == "closing":
            if self.tries >= MAX_TERMINATE:
                self.state, self.deadline = "closed", None
                return
            self.tries += 1
            self.link.send_cp(self.proto, pw.TERM_REQ, self.ident, self._term)
            self.deadline = now + RESTART
        elif self.state in ("req-sent", "ack-rcvd", "ack-sent"):
            if self.state == "ack-rcvd":
                # §4.2: the peer acked us but never sent an acceptable
                # request of its own; keep asking (it restarts its side).
                self.state = "req-sent"
            if self.tries >= MAX_CONFIGURE:
                self.deadline = None
                self.state = "closed"
                self.link.fail(f"{self.name}: no agreement after {MAX_CONFIGURE} Configure-Requests")
                return
            self._send_request()

    def input(self, info):
        try:
            code, ident, data = pw.parse_cp(info)
        except pw.PppError as e:
            self.link.log(f"{self.name}: dropped: {e}")
            return
        if code == pw.CONF_REQ:
            self._peer_request(ident, data)
        elif code in (pw.CONF_ACK, pw.CONF_NAK, pw.CONF_REJ):
            # §5.2: a reply to an older request is silently discarded; so is
            # a second one to our last (Ack-Rcvd, Opened): a retransmitted
            # request can be answered twice, and taking the second Ack as
            # new would leave an opened link waiting for nothing (pppd's
            # seen_ack does the same).
            if ident != self.ident or self.state not in ("req-sent", "ack-sent"):
                return
            self._reply(code, data)
        elif code == pw.TERM_REQ:
            self.link.send_cp(self.proto, pw.TERM_ACK, ident, b"")
            was = self.state
            self.state, self.deadline = "closed", None
            self.terminate_cause = data.decode(errors="replace")
            if was != "closed":
                self.link.down(self, f"peer sent {self.name} Terminate-Request"
                                     f"{': ' + repr(self.terminate_cause) if data else ''}")
        elif code == pw.TERM_ACK:
            if self.state == "closing":
                self.state, self.deadline = "closed", None
        elif code == pw.CODE_REJ:
            self.link.log(f"{self.name}: peer rejected code {data[:1].hex()}")
        elif not self.extra_code(code, ident, data):
            # §5.6: an unknown code is answered with Code-Reject.
            self.ident = (self.ident + 1) & 0xFF
            self.link.send_cp(self.proto, pw.CODE_REJ, self.ident, info[:self.link.mru - 4])

    def _reply(self, code, data):
        try:
            options = pw.parse_options(data)
        except pw.PppError as e:
            self.link.log(f"{self.name}: {pw.CODE_NAMES[code]} dropped: {e}")
            return
        if code == pw.CONF_ACK:
            if options != self.sent_options:
                self.link.log(f"{self.name}: Configure-Ack does not echo our request; dropped (§5.2)")
                return
            self.acked_options = options
            if self.state == "ack-sent":
                self._open()
            else:
                # The restart timer keeps running (§4.2): at its end we ask
                # again, should the peer's own request never come.
                self.state = "ack-rcvd"
            return
        if code == pw.CONF_NAK:
            self.naks_received += 1
            if self.naks_received > MAX_FAILURE * 2:
                self.link.fail(f"{self.name}: the peer keeps Nak'ing our options {options}")
                return
            self.on_nak(options)
        else:
            self.on_reject(options)
        if self.link.failure is None:
            self._send_request()

    def _peer_request(self, ident, data):
        try:
            options = pw.parse_options(data)
        except pw.PppError as e:
            self.link.log(f"{self.name}: Configure-Request dropped: {e}")
            return
        if self.state == "opened":
            # §4 event RCR in Opened: renegotiate from scratch.
            self.link.log(f"{self.name}: peer renegotiates")
            self.state = "req-sent"
            self._send_request()
        elif self.state in ("initial", "closed", "closing"):
            if self.state == "initial":
                self.open()
            else:
                return
        verdict, reply = self.judge(options)
        if verdict == pw.CONF_NAK:
            self.naks_sent += 1
            if self.naks_sent > MAX_FAILURE:
                verdict = pw.CONF_REJ  # §4.6 Max-Failure: Nak turns into Reject
        self.link.send_cp(self.proto, verdict, ident, pw.build_options(reply))
        if verdict == pw.CONF_ACK:
            self.peer_options = options
            if self.state == "ack-rcvd":
                self._open()
            else:
                self.state = "ack-sent"
        elif self.state == "ack-sent":
            self.state = "req-sent"

    def _open(self):
        self.state = "opened"
        self.deadline = None
        self.up()
