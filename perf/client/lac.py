"""The LAC side of an L2TPv2 control connection and its sessions
(RFC 2661): tunnel set-up SCCRQ → SCCRP → SCCCN (§5.1, with the §4.2 tunnel
authentication when a secret is set), incoming calls ICRQ → ICRP → ICCN
(§5.2), HELLO (§6.5), CDN (§6.11) and StopCCN (§6.4) both ways, and the
reliable delivery of §5.8: Ns/Nr, ZLB acknowledgements, the peer's receive
window, retransmission after 1 s doubling up to 8 s, and failure after 5
retransmissions (§5.8 leaves the numbers to the implementation).

Single-threaded: the owner calls handle() with every datagram from the
transport and tick() with the time; the caller's loop is session.py.
Data messages go to the Session's on_ppp callback.
"""

import hmac
import os
import struct
import time

from . import l2tp as w

RETRANSMIT_FIRST = 1.0
RETRANSMIT_CAP = 8.0
RETRANSMIT_TRIES = 5
OUR_RECEIVE_WINDOW = 4  # we process in order and at once: the §5.8 default suffices


def seq_before(a, b):
    """a precedes b in 16-bit sequence space (§5.8: half the space)."""
    return 0 < ((b - a) & 0xFFFF) < 0x8000


class Session:
    """One incoming call (§5.2); `on_ppp(frame)` receives its PPP frames."""

    def __init__(self, lac, our_id, sequencing):
        self.lac = lac
        self.our_id = our_id
        self.peer_id = None
        self.state = "idle"  # wait-reply, established, closed
        self.required = sequencing  # we send Sequencing Required in ICCN (§4.4.4)
        self.sequencing = sequencing
        self.data_ns = 0
        self.data_nr = 0
        self.result = None  # (result, error, message) of a CDN either way
        self.closed_by = None  # "peer" or "us"
        self.on_ppp = None
        self.dropped_out_of_order = 0

    def send_ppp(self, frame):
        if self.state != "established":
            raise w.L2tpError(f"session {self.our_id} is {self.state}")
        if self.sequencing:
            data = w.build_data(self.lac.peer_tunnel_id, self.peer_id, frame, ns=self.data_ns, nr=self.data_nr)
            self.data_ns = (self.data_ns + 1) & 0xFFFF
        else:
            data = w.build_data(self.lac.peer_tunnel_id, self.peer_id, frame)
        self.lac.transport.send(data)

    def receive(self, hdr, frame):
        if not self.required:
            # §5.4: without Sequencing Required the LNS decides: the LAC
            # numbers its data while the LNS numbers its own.
            self.sequencing = hdr.ns is not None
        if hdr.ns is not None:
            if seq_before(hdr.ns, self.data_nr):  # stale or duplicate: dropped
                self.dropped_out_of_order += 1
                return
            self.data_nr = (hdr.ns + 1) & 0xFFFF
        if self.on_ppp is not None:
            self.on_ppp(frame)


class Lac:
    def __init__(self, transport, host_name="l2tpgw-client", secret=None, log=print, trace=None,
                 hide=False):
        self.transport = transport
        self.host_name = host_name
        self.secret = secret.encode() if isinstance(secret, str) else secret
        self.log = log
        self.trace = trace  # callable(direction, Control) or None
        # §4.3: hide the call's identifiers (ICRQ) and speed (ICCN) with the secret.
        self.hide = hide and bool(self.secret)
        self.tunnel_id = int.from_bytes(os.urandom(2), "big") or 1
        self.peer_tunnel_id = 0
        self.state = "idle"  # wait-ctl-reply, established, closing, closed
        self.ns = 0
        self.nr = 0
        self.peer_window = 4  # §5.8 default without a Receive Window Size AVP
        self.unacked = []  # [ns, session_id, avps, deadline, tries, timeout]
        self.pending = []  # (session_id, avps) waiting for the peer's window
        self.sessions = {}
        self.peer_avps = {}  # message name -> AVPs, the first of each received
        self.result = None  # (result, error, message) of a StopCCN either way
        self.failure = None  # why the tunnel failed, if it did
        self.closed_cleanly = False  # our StopCCN acked, or crossed by the peer's
        self.peer_result = None
        self._challenge = None
        self._next_session = 1
        self._sent_since_receive = False
        self.hellos_received = 0  # each acknowledged by a ZLB (§6.5)

    # ------------------------------------------------------------ output

    def _emit(self, session_id, avps, ns):
        data = w.build_control(self.peer_tunnel_id, session_id, ns, self.nr, avps, self.secret)
        if self.trace:
            self.trace("sent", w.parse_control(data, self.secret))
        self.transport.send(data)
        self._sent_since_receive = True

    def send(self, session_id, avps):
        if len(self.unacked) >= self.peer_window:
            self.pending.append((session_id, avps))
            return
        ns = self.ns
        self.ns = (self.ns + 1) & 0xFFFF
        self.unacked.append([ns, session_id, avps, time.monotonic() + RETRANSMIT_FIRST, 0, RETRANSMIT_FIRST])
        self._emit(session_id, avps, ns)

    def _send_zlb(self):
        self._emit(0, [], self.ns)

    def _acked(self, nr):
        self.unacked = [u for u in self.unacked if not seq_before(u[0], nr)]
        while self.pending and len(self.unacked) < self.peer_window:
            self.send(*self.pending.pop(0))

    def tick(self, now):
        """Retransmits what is due; fails the tunnel after the last try."""
        for u in self.unacked:
            if now < u[3]:
                continue
            if u[4] >= RETRANSMIT_TRIES:
                name = w.MESSAGE_NAMES.get(struct.unpack("!H", u[2][0].value)[0], "?")
                self._fail(f"no acknowledgement of our {name} after {RETRANSMIT_TRIES} retransmissions")
                return
            u[4] += 1
            u[5] = min(u[5] * 2, RETRANSMIT_CAP)
            u[3] = now + u[5]
            # §5.8: a retransmission carries the current Nr.
            self._emit(u[1], u[2], u[0])

    def next_deadline(self):
        return min((u[3] for u in self.unacked), default=None)

    def _fail(self, cause):
        if self.failure is None:
            self.failure = cause
            self.log(f"L2TP tunnel failed: {cause}")
        self.state = "closed"
        self.unacked.clear()
        self.pending.clear()
        for s in self.sessions.values():
            s.state = "closed"

    # ------------------------------------------------------------ tunnel

    def open_tunnel(self):
        avps = w.message(w.SCCRQ,
                         w.avp_u16(w.PROTOCOL_VERSION, 0x0100),  # version 1, revision 0 (§4.4.3)
                         w.avp_u32(w.FRAMING_CAPABILITIES, 0x3),  # sync and async
                         w.avp_u32(w.BEARER_CAPABILITIES, 0x0, mandatory=True),
                         w.Avp(w.FIRMWARE_REVISION, struct.pack("!H", 0x0100), mandatory=False),
                         w.Avp(w.HOST_NAME, self.host_name.encode()),
                         w.Avp(w.VENDOR_NAME, b"l2tpgw test client", mandatory=False),
                         w.avp_u16(w.ASSIGNED_TUNNEL_ID, self.tunnel_id),
                         w.avp_u16(w.RECEIVE_WINDOW_SIZE, OUR_RECEIVE_WINDOW))
        if self.secret:
            self._challenge = os.urandom(16)
            avps.append(w.Avp(w.CHALLENGE, self._challenge))
        self.state = "wait-ctl-reply"
        self.send(0, avps)

    def close_tunnel(self, result=1, error=None, text=""):
        """StopCCN (§6.4); the caller waits until it is acked (done())."""
        if self.state in ("closed", "idle"):
            return
        for s in self.sessions.values():
            s.state = "closed"
        self.result = (result, error, text)
        self.state = "closing"
        self.send(0, w.message(w.STOPCCN, w.avp_u16(w.ASSIGNED_TUNNEL_ID, self.tunnel_id),
                               w.result_code(result, error, text)))

    def abandon(self):
        """Gives up a tunnel the peer never answered: nothing to send it."""
        self.state = "closed"
        self.unacked.clear()
        self.pending.clear()

    def stop_acked(self):
        return (self.state == "closing" and not self.unacked and not self.pending) or self.closed_cleanly

    def _hidden(self, avp):
        avp.hidden = self.hide
        return avp

    # ------------------------------------------------------------ sessions

    def open_session(self, sequencing=False):
        """ICRQ (§6.6); returns the Session, established on ICRP/ICCN."""
        sid = self._next_session
        self._next_session += 1
        s = Session(self, sid, sequencing)
        self.sessions[sid] = s
        s.state = "wait-reply"
        self.send(0, w.message(w.ICRQ,
                               self._hidden(w.avp_u16(w.ASSIGNED_SESSION_ID, sid)),
                               self._hidden(w.avp_u32(w.CALL_SERIAL_NUMBER,
                                                      int.from_bytes(os.urandom(4), "big") >> 1)),
                               w.avp_u32(w.BEARER_TYPE, 0x0, mandatory=True)))
        return s

    def close_session(self, s, result=3, error=None, text=""):
        """CDN (§6.11); result 3 is "disconnected for administrative reasons"."""
        if s.state == "closed":
            return
        s.result = (result, error, text)
        s.closed_by = "us"
        peer = s.peer_id or 0
        s.state = "closed"
        self.send(peer, w.message(w.CDN, w.result_code(result, error, text), w.avp_u16(w.ASSIGNED_SESSION_ID,
                                                                                      s.our_id)))

    # ------------------------------------------------------------ input

    def handle(self, data):
        """One datagram from the transport."""
        try:
            hdr = w.parse_header(data)
        except w.L2tpError as e:
            self.log(f"L2TP: dropped a malformed datagram: {e}")
            return
        if hdr.tunnel_id != self.tunnel_id:
            self.log(f"L2TP: dropped a message for tunnel {hdr.tunnel_id} (ours is {self.tunnel_id})")
            return
        if not hdr.is_control:
            self._data(data)
            return
        try:
            msg = w.parse_control(data, self.secret)
            msg_type = msg.msg_type
        except w.L2tpError as e:
            self.log(f"L2TP: dropped a control message: {e}")
            return
        if self.trace:
            self.trace("received", msg)
        self._acked(hdr.nr)
        if msg_type is None:
            return  # ZLB: an acknowledgement only
        if hdr.ns != self.nr:
            if seq_before(hdr.ns, self.nr):
                self._send_zlb()  # our ack was lost: §5.8 says ack again
            return  # ahead of a gap: the peer retransmits in order
        self.nr = (self.nr + 1) & 0xFFFF
        self._sent_since_receive = False
        self.peer_avps.setdefault(msg.name, msg.avps)
        self._dispatch(msg, msg_type)
        if not self._sent_since_receive:
            self._send_zlb()

    def _data(self, data):
        try:
            hdr, frame = w.parse_data(data)
        except w.L2tpError as e:
            self.log(f"L2TP: dropped a data message: {e}")
            return
        s = self.sessions.get(hdr.session_id)
        if s is None or s.state != "established":
            return
        s.receive(hdr, frame)

    def _dispatch(self, msg, t):
        unknown = [a for a in msg.avps if a.mandatory and (a.vendor != 0 or a.attr not in w.AVP_NAMES)]
        if unknown:
            # §4.1: an unrecognised mandatory AVP ends the tunnel (or session).
            self.log(f"L2TP: {msg.name} carries unknown mandatory {unknown[0].name}")
            self.close_tunnel(2, 8, f"unknown mandatory AVP {unknown[0].attr}")
            self._fail(f"{msg.name} with unknown mandatory {unknown[0].name}")
            return
        if t == w.SCCRP:
            self._sccrp(msg)
        elif t == w.STOPCCN:
            rc = msg.get(w.RESULT_CODE)
            result = w.parse_result_code(rc) if rc else None
            if self.state == "closing":
                # Both ends hung up at once: the tunnel is closed all the same.
                self.peer_result = result
                self.closed_cleanly = True
                self.state = "closed"
                self.unacked.clear()
                self.log(f"L2TP: the LNS answered with its own StopCCN: "
                         f"{describe_result(result, w.STOPCCN_RESULTS)}")
                return
            self.result = result
            self._fail(f"peer sent StopCCN: {describe_result(self.result, w.STOPCCN_RESULTS)}")
        elif t == w.ICRP:
            self._icrp(msg)
        elif t == w.CDN:
            s = self.sessions.get(msg.header.session_id)
            if s is not None and s.closed_by == "us":
                self.log(f"L2TP session {s.our_id}: the LNS answered our CDN with its own")
            elif s is not None:
                rc = msg.get(w.RESULT_CODE)
                s.result = w.parse_result_code(rc) if rc else None
                s.state = "closed"
                s.closed_by = "peer"
                self.log(f"L2TP session {s.our_id}: peer sent CDN: {describe_result(s.result, w.CDN_RESULTS)}")
        elif t in (w.HELLO, w.SLI, w.WEN):
            # Acknowledged by the ZLB that follows; SLI's ACCM means nothing without HDLC.
            self.hellos_received += t == w.HELLO
        else:
            self.log(f"L2TP: unexpected {msg.name} in state {self.state}")

    def _sccrp(self, msg):
        if self.state != "wait-ctl-reply":
            self.log(f"L2TP: SCCRP in state {self.state}, ignored")
            return
        tid = msg.get(w.ASSIGNED_TUNNEL_ID)
        if tid is None:
            self.close_tunnel(2, 0, "SCCRP without Assigned Tunnel ID")
            self._fail("SCCRP without Assigned Tunnel ID")
            return
        self.peer_tunnel_id = tid.u16()
        rws = msg.get(w.RECEIVE_WINDOW_SIZE)
        if rws is not None and rws.u16() > 0:
            self.peer_window = rws.u16()
        if self.secret:
            resp = msg.get(w.CHALLENGE_RESPONSE)
            want = w.challenge_response(w.SCCRP, self.secret, self._challenge)
            if resp is None or not hmac.compare_digest(resp.value, want):
                cause = "SCCRP without Challenge Response" if resp is None else "wrong Challenge Response"
                self.close_tunnel(4, 0, cause)
                self._fail(f"tunnel authentication failed: {cause}")
                return
        avps = w.message(w.SCCCN)
        challenge = msg.get(w.CHALLENGE)
        if challenge is not None:
            if not self.secret:
                self.close_tunnel(4, 0, "challenged without a shared secret")
                self._fail("the LNS asked for tunnel authentication and no secret is set")
                return
            avps.append(w.Avp(w.CHALLENGE_RESPONSE, w.challenge_response(w.SCCCN, self.secret, challenge.value)))
        self.send(0, avps)
        self.state = "established"
        self.log(f"L2TP tunnel up: our id {self.tunnel_id}, peer id {self.peer_tunnel_id}")

    def _icrp(self, msg):
        s = self.sessions.get(msg.header.session_id)
        if s is None or s.state != "wait-reply":
            self.log(f"L2TP: ICRP for session {msg.header.session_id}, not waiting for one")
            return
        sid = msg.get(w.ASSIGNED_SESSION_ID)
        if sid is None:
            self.close_session(s, 2, 0, "ICRP without Assigned Session ID")
            return
        s.peer_id = sid.u16()
        avps = w.message(w.ICCN,
                         self._hidden(w.avp_u32(w.TX_CONNECT_SPEED, 100_000_000)),
                         w.avp_u32(w.FRAMING_TYPE, 0x1))  # synchronous: no HDLC framing (§4.4.5)
        if s.required:
            avps.append(w.Avp(w.SEQUENCING_REQUIRED, b""))
        self.send(s.peer_id, avps)
        s.state = "established"
        self.log(f"L2TP session up: our id {s.our_id}, peer id {s.peer_id}"
                 f"{', sequencing required' if s.required else ''}")


def describe_result(result, names):
    if result is None:
        return "no Result Code"
    code, error, text = result
    out = f"result {code} ({names.get(code, 'unknown')})"
    if error:
        out += f", error {error} ({w.ERROR_CODES.get(error, 'unknown')})"
    if text:
        out += f": {text!r}"
    return out
