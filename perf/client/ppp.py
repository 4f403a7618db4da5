"""The client side of PPP over an L2TP session, as a Windows L2TP/IPsec
client behaves: LCP (RFC 1661) asking for MRU, Magic-Number, PFC and ACFC;
authentication by PAP (RFC 1334), CHAP-MD5 (RFC 1994) or MS-CHAPv2
(RFC 2759, the server's authenticator response checked); IPCP (RFC 1332)
asking for 0.0.0.0 and DNS (RFC 1877); CCP (RFC 1962) with MPPE
(RFC 3078, keys of RFC 3079); IPv4 packets in and out, encrypted when MPPE
is up; Echo, Terminate, Protocol-Reject, CCP Reset-Request.

Single-threaded: input(frame) with every PPP frame of the session,
tick(now) with the time; output goes through send_frame(bytes).
"""

import ipaddress
import os
import re
import struct
import time
from dataclasses import dataclass, field

from . import mppe, mschap
from . import ppp_wire as pw
from .ppp_fsm import Fsm

AUTH_PROTOCOLS = {  # profile name -> LCP Authentication-Protocol option value (RFC 1661 §6.2)
    "pap": struct.pack("!H", pw.PROTO_PAP),
    "chap": struct.pack("!HB", pw.PROTO_CHAP, 5),  # RFC 1994 §3: algorithm 5 = MD5
    "mschapv2": struct.pack("!HB", pw.PROTO_CHAP, 0x81),  # RFC 2759 §2
}
AUTH_TITLES = {"pap": "PAP", "chap": "CHAP-MD5", "mschapv2": "MS-CHAPv2", "none": "no authentication"}
# RFC 2759 §6 failure codes.
MSCHAP_ERRORS = {646: "restricted logon hours", 647: "account disabled", 648: "password expired",
                 649: "no dial-in permission", 691: "authentication failure",
                 709: "error changing password"}

# RFC 3078 §2 Supported Bits.
MPPE_H = 0x01000000  # stateless
# RFC 3078 §2.1 letters: S (0x40) is 128-bit, L (0x20) 40-bit, M (0x80) 56-bit.
MPPE_128 = 0x00000040  # S
MPPE_40 = 0x00000020  # L
MPPE_56 = 0x00000080  # M
MPPE_D = 0x00000010  # obsolete
MPPE_C = 0x00000001  # MPPC compression
MPPE_OPTION = 18
AUTH_RETRY = 3.0
AUTH_TRIES = 10


@dataclass
class Profile:
    user: str
    password: str
    auth: list = field(default_factory=lambda: ["mschapv2"])  # acceptable, preferred first
    mppe: str = "none"  # none, 40, 128 or any (offer 128 and 40)
    stateless: bool = False
    mru: int = 1400
    compress: bool = True  # ask for PFC and ACFC and use them when acked

    def mppe_strengths(self):
        return {"none": 0, "40": MPPE_40, "128": MPPE_128, "any": MPPE_128 | MPPE_40}[self.mppe]


def _ip(v):
    return str(ipaddress.IPv4Address(v))


class Lcp(Fsm):
    name, proto = "LCP", pw.PROTO_LCP

    def __init__(self, link):
        super().__init__(link)
        p = link.profile
        self.want = {1: struct.pack("!H", p.mru), 5: os.urandom(4)}
        if p.compress:
            self.want[7] = b""
            self.want[8] = b""
        self.auth = "none"
        self.peer_mru = 1500
        self.offered_auth = []  # what the server asked for, in order (for failure causes)

    @property
    def magic(self):
        # RFC 1661 §5.8: zero when the Magic-Number option was not agreed.
        acked = dict(self.acked_options or [])
        return acked.get(5, bytes(4))

    def request(self):
        return sorted(self.want.items())

    def on_nak(self, options):
        for t, v in options:
            if t == 1 and len(v) == 2:
                self.want[1] = v
            elif t == 5:
                self.want[5] = os.urandom(4)  # §6.4: a Nak'ed magic means a looped link or a clash

    def on_reject(self, options):
        for t, _ in options:
            self.want.pop(t, None)

    def judge(self, options):
        rej, nak = [], []
        p = self.link.profile
        auth = "none"
        for t, v in options:
            if t == 1 and len(v) == 2:
                self.peer_mru = struct.unpack("!H", v)[0]
            elif t == 2 and len(v) == 4:
                pass  # ACCM: meaningless without HDLC framing, acked as Windows does
            elif t == 3:
                auth = next((k for k, val in AUTH_PROTOCOLS.items() if val == v), None)
                offered = AUTH_TITLES.get(auth) or ("EAP" if v[:2] == b"\xc2\x27" else v.hex())
                if offered not in self.offered_auth:
                    self.offered_auth.append(offered)
                if auth not in p.auth:
                    # §6.2: Nak with the protocol we would rather use.
                    nak.append((3, AUTH_PROTOCOLS[p.auth[0]]))
            elif t == 5 and len(v) == 4:
                if v == self.want.get(5):
                    nak.append((5, os.urandom(4)))
            elif t in (7, 8) and not v:
                pass
            else:
                rej.append((t, v))
        if rej:
            return pw.CONF_REJ, rej
        if nak:
            return pw.CONF_NAK, nak
        self.auth = auth
        return pw.CONF_ACK, options

    def extra_code(self, code, ident, data):
        if code == pw.ECHO_REQ:
            if self.opened:
                self.link.send_cp(self.proto, pw.ECHO_REP, ident, self.magic + data[4:])
                self.link.echoes_answered += 1
            return True
        if code in (pw.ECHO_REP, pw.DISCARD_REQ):
            return True
        if code == pw.PROTO_REJ and len(data) >= 2:
            self.link.protocol_rejected(struct.unpack_from("!H", data)[0])
            return True
        return False

    def up(self):
        self.link.lcp_up()


class Ipcp(Fsm):
    name, proto = "IPCP", pw.PROTO_IPCP

    def __init__(self, link):
        super().__init__(link)
        zero = bytes(4)
        self.want = {3: zero, 129: zero, 131: zero}  # RFC 1332 §3.3, RFC 1877 §1.1/§1.3
        self.peer_address = None

    def request(self):
        return [(t, self.want[t]) for t in (3, 129, 131) if t in self.want]

    def on_nak(self, options):
        for t, v in options:
            if t in self.want and len(v) == 4:
                self.want[t] = v

    def on_reject(self, options):
        for t, _ in options:
            if t == 3:
                self.link.fail("IPCP: the server rejected the IP-Address option")
            self.want.pop(t, None)

    def judge(self, options):
        rej = [(t, v) for t, v in options if not (t == 3 and len(v) == 4)]
        if rej:
            return pw.CONF_REJ, rej  # VJ compression (2) and anything else
        for t, v in options:
            self.peer_address = _ip(v)
        return pw.CONF_ACK, options

    def up(self):
        if self.want.get(3, bytes(4)) == bytes(4):
            self.link.fail("IPCP: the server acknowledged address 0.0.0.0 instead of assigning one")
            return
        self.link.ipcp_up()

    @property
    def address(self):
        return _ip(self.want[3])

    @property
    def dns(self):
        return [_ip(self.want[t]) for t in (129, 131) if t in self.want and self.want[t] != bytes(4)]


def describe_mppe(bits):
    strength = {MPPE_128: "128", MPPE_40: "40", MPPE_56: "56"}.get(bits & (MPPE_128 | MPPE_40 | MPPE_56), "?")
    return f"MPPE-{strength} {'stateless' if bits & MPPE_H else 'stateful'}"


class Ccp(Fsm):
    """MPPE only (RFC 3078 §2): our request carries the strengths of the
    profile and its H bit; the server's choice (a Nak, or its own request)
    wins when it is one strength we allow. Any other CCP option (other
    compressors) is rejected: this client compresses nothing."""
    name, proto = "CCP", pw.PROTO_CCP

    def __init__(self, link):
        super().__init__(link)
        p = link.profile
        self.allowed = p.mppe_strengths()
        self.bits = self.allowed | (MPPE_H if p.stateless else 0)

    def request(self):
        return [(MPPE_OPTION, struct.pack("!I", self.bits))]

    def _acceptable(self, bits):
        strength = bits & (MPPE_128 | MPPE_40 | MPPE_56)
        return strength in (MPPE_128, MPPE_40) and strength & self.allowed and not bits & MPPE_C

    def _best(self, bits):
        offered = bits & self.allowed
        strength = MPPE_128 if offered & MPPE_128 else MPPE_40 if offered & MPPE_40 else \
            (MPPE_128 if self.allowed & MPPE_128 else MPPE_40)
        return strength | (bits & MPPE_H)

    def on_nak(self, options):
        for t, v in options:
            if t == MPPE_OPTION and len(v) == 4:
                bits = struct.unpack("!I", v)[0]
                if not self._acceptable(bits):
                    self.link.fail(f"CCP: the server wants {describe_mppe(bits)} "
                                   f"(bits {bits:#010x}), which the profile does not allow")
                    return
                self.bits = bits

    def on_reject(self, options):
        if any(t == MPPE_OPTION for t, _ in options):
            self.link.fail("CCP: the server rejected MPPE")

    def judge(self, options):
        rej = [(t, v) for t, v in options if t != MPPE_OPTION or len(v) != 4]
        if rej:
            return pw.CONF_REJ, rej
        for _, v in options:
            bits = struct.unpack("!I", v)[0]
            if not self._acceptable(bits):
                return pw.CONF_NAK, [(MPPE_OPTION, struct.pack("!I", self._best(bits)))]
        return pw.CONF_ACK, options

    def extra_code(self, code, ident, data):
        if code == pw.RESET_REQ:
            # RFC 3078 §8: re-key and flush before the next frame; RFC 1962
            # §2.1 asks for the Reset-Ack, which pppd and Windows send too.
            self.link.mppe_reset_requested()
            self.link.send_cp(self.proto, pw.RESET_ACK, ident, b"")
            return True
        if code == pw.RESET_ACK:
            return True
        return False

    def up(self):
        self.link.ccp_up()


class PppClient:
    def __init__(self, send_frame, profile, log=print, trace=None):
        self.send_frame = send_frame
        self.profile = profile
        self.log = log
        self.phase = "dead"  # establish, authenticate, network, running, terminating, terminated
        self.failure = None
        self.mru = 1500
        self.lcp = Lcp(self)
        self.ipcp = Ipcp(self)
        self.ccp = Ccp(self)
        self.auth = "none"
        self.auth_ok = False
        self.mppe_mode = None
        self.mppe_tx = self.mppe_rx = None
        self._start_keys = None
        self._auth_state = {}
        self._auth_deadline = None
        self.on_ip = None
        self.trace = trace  # callable(direction, protocol, information) for control packets
        self.echoes_answered = 0
        self.counters = {"ip_in": 0, "ip_out": 0, "unencrypted_dropped": 0, "mppe_errors": 0,
                         "protocol_rejects_sent": 0}

    # ------------------------------------------------------------ output
    @property
    def _compress(self):
        acked = dict(self.lcp.acked_options or [])
        return 8 in acked, 7 in acked  # ACFC, PFC the server agreed to receive

    def send_cp(self, proto, code, ident, data):
        acfc, pfc = self._compress if proto != pw.PROTO_LCP else (False, False)
        info = pw.build_cp(code, ident, data)
        if self.trace:
            self.trace("sent", proto, info)
        self.send_frame(pw.build_frame(proto, info, acfc, pfc))

    def _send(self, proto, info):
        if self.trace and proto not in (pw.PROTO_IP, pw.PROTO_MPPE):
            self.trace("sent", proto, info)
        acfc, pfc = self._compress
        self.send_frame(pw.build_frame(proto, info, acfc, pfc))

    def fail(self, cause):
        if self.failure is None:
            self.failure = cause
            self.log(f"PPP failed: {cause}")
        if self.phase not in ("terminating", "terminated"):
            self.phase = "terminating"
            self.lcp.close(cause.encode()[:64])

    def down(self, fsm, cause):
        if fsm is self.lcp and self.phase == "establish" \
                and self.lcp.offered_auth:
            allowed = ", ".join(AUTH_TITLES[a] for a in self.profile.auth)
            cause += (f" before LCP opened; the server offered {', '.join(self.lcp.offered_auth)}"
                      f" and we allow {allowed}")
        if fsm is self.lcp or fsm is self.ipcp or (fsm is self.ccp and self.profile.mppe != "none"):
            if self.phase != "terminating":
                self.failure = self.failure or cause
                self.log(f"PPP: {cause}")
                self.phase = "terminated"

    # ------------------------------------------------------------ phases
    def start(self):
        self.phase = "establish"
        self.lcp.open()

    def terminate(self):
        """LCP Terminate-Request (§5.5); done when terminated() is True."""
        if self.phase in ("terminating", "terminated", "dead"):
            return
        self.phase = "terminating"
        self.lcp.close(b"user request")

    def terminated(self):
        return self.phase == "terminated" or (self.phase == "terminating" and self.lcp.state == "closed")

    def lcp_up(self):
        self.auth = self.lcp.auth
        flags = [n for t, n in ((8, "ACFC"), (7, "PFC")) if t in dict(self.lcp.acked_options)]
        self.mru = self.lcp.peer_mru
        self.log(f"PPP LCP opened ({' '.join(flags) or 'no compression'})")
        if self.auth == "none":
            if self.profile.mppe != "none":
                self.fail("the server asks for no authentication, so there are no MPPE keys")
                return
            self._network()
            return
        self.phase = "authenticate"
        if self.auth == "pap":
            self._auth_state = {"tries": 0, "ident": 0}
            self._pap_send()

    def _auth_ok(self):
        self.auth_ok = True
        self._auth_deadline = None
        self.log(f"authenticated with {AUTH_TITLES[self.auth]}")
        if self.profile.mppe != "none" and self.auth != "mschapv2":
            self.fail(f"MPPE needs MS-CHAPv2 keys; the server authenticated with {AUTH_TITLES[self.auth]}")
            return
        self._network()

    def _network(self):
        self.phase = "network"
        self.ipcp.open()
        if self.profile.mppe != "none":
            self.ccp.open()

    def ipcp_up(self):
        self.log(f"IPCP: address {self.ipcp.address}, DNS {', '.join(self.ipcp.dns) or 'none'}"
                 f" (server {self.ipcp.peer_address})")
        self._maybe_running()

    def ccp_up(self):
        ours, theirs = self.ccp.acked_options[0][1], self.ccp.peer_options[0][1]
        if ours != theirs:
            self.fail(f"CCP: the directions disagree: we receive {describe_mppe(struct.unpack('!I', ours)[0])}, "
                      f"the server receives {describe_mppe(struct.unpack('!I', theirs)[0])}")
            return
        bits = struct.unpack("!I", ours)[0]
        strength = 128 if bits & MPPE_128 else 40
        stateless = bool(bits & MPPE_H)
        send_key, recv_key = self._start_keys
        self.mppe_tx = mppe.Sender(send_key, strength, stateless)
        self.mppe_rx = mppe.Receiver(recv_key, strength, stateless, self._send_reset_request)
        self.mppe_mode = describe_mppe(bits)
        self.log(f"CCP: {self.mppe_mode}")
        self._maybe_running()

    def _maybe_running(self):
        if self.ipcp.opened and (self.profile.mppe == "none" or self.mppe_tx is not None):
            self.phase = "running"

    def running(self):
        return self.phase == "running"

    def mppe_reset_requested(self):
        if self.mppe_tx is not None:
            self.mppe_tx.flush_next = True

    def _send_reset_request(self):
        self.ccp.ident = (self.ccp.ident + 1) & 0xFF
        self.send_cp(pw.PROTO_CCP, pw.RESET_REQ, self.ccp.ident, b"")

    def protocol_rejected(self, proto):
        name = pw.PROTO_NAMES.get(proto, hex(proto))
        self.log(f"PPP: the server rejected protocol {name}")
        if proto == pw.PROTO_CCP and self.profile.mppe != "none":
            self.fail("the server does not speak CCP, so no MPPE")
        elif proto == pw.PROTO_IPCP:
            self.fail("the server rejected IPCP")

    # ------------------------------------------------------------ auth
    def _pap_send(self):
        st = self._auth_state
        st["tries"] += 1
        if st["tries"] > AUTH_TRIES:
            self.fail("PAP: no answer from the server")
            return
        st["ident"] = (st["ident"] + 1) & 0xFF
        u, p = self.profile.user.encode(), self.profile.password.encode()
        self._send(pw.PROTO_PAP, pw.build_cp(1, st["ident"], bytes([len(u)]) + u + bytes([len(p)]) + p))
        self._auth_deadline = time.monotonic() + AUTH_RETRY

    def _pap_input(self, info):
        if self.auth != "pap" or self.phase != "authenticate":
            return
        code, ident, data = pw.parse_cp(info)
        if ident != self._auth_state["ident"]:
            return
        msg = data[1:1 + data[0]].decode(errors="replace") if data else ""
        if code == 2:
            self._auth_ok()
        elif code == 3:
            self.fail(f"PAP: the server refused the credentials ({msg!r})")

    def _chap_input(self, info):
        code, ident, data = pw.parse_cp(info)
        if self.auth not in ("chap", "mschapv2"):
            return
        if code == 1:
            self._chap_challenge(ident, data)
        elif code == 3:
            self._chap_success(ident, data)
        elif code == 4:
            self._chap_failure(data)

    def _chap_challenge(self, ident, data):
        if not data or 1 + data[0] > len(data):
            self.log("CHAP: malformed Challenge dropped")
            return
        challenge = data[1:1 + data[0]]
        st = self._auth_state
        if st.get("ident") == ident and st.get("challenge") == challenge:
            value = st["value"]  # the server repeats itself: answer the same (RFC 1994 §4.1)
        elif self.auth == "chap":
            value = mschap.chap_md5_response(ident, self.profile.password.encode(), challenge)
        else:
            if len(challenge) != 16:
                self.fail(f"MS-CHAPv2: a {len(challenge)}-byte challenge (RFC 2759 §4 says 16)")
                return
            peer_challenge = os.urandom(16)
            nt = mschap.generate_nt_response(challenge, peer_challenge, self.profile.user, self.profile.password)
            value = peer_challenge + bytes(8) + nt + b"\0"  # RFC 2759 §4 Response Value
            st.update(peer_challenge=peer_challenge, nt=nt)
        st.update(ident=ident, challenge=challenge, value=value)
        name = self.profile.user.encode()
        self._send(pw.PROTO_CHAP, pw.build_cp(2, ident, bytes([len(value)]) + value + name))

    def _chap_success(self, ident, data):
        st = self._auth_state
        if st.get("ident") != ident:
            return
        if self.auth == "mschapv2":
            text = data.decode(errors="replace")
            m = re.search(r"S=[0-9A-Fa-f]{40}", text)
            if m is None:
                self.fail(f"MS-CHAPv2: the server's Success carries no authenticator response ({text!r})")
                return
            if not mschap.check_authenticator_response(self.profile.password, st["nt"], st["peer_challenge"],
                                                       st["challenge"], self.profile.user, m.group(0)):
                self.fail("MS-CHAPv2: the server's authenticator response is wrong: "
                          "it does not know the password (RFC 2759 §8.8)")
                return
            self._start_keys = mschap.mppe_start_keys(self.profile.password, st["nt"])
        if not self.auth_ok:
            self._auth_ok()

    def _chap_failure(self, data):
        text = data.decode(errors="replace")
        m = re.search(r"E=(\d+)", text)
        why = f"error {m.group(1)} ({MSCHAP_ERRORS.get(int(m.group(1)), 'unknown')})" if m else "refused"
        self.fail(f"{AUTH_TITLES[self.auth]}: the server refused the credentials: {why}; message {text!r}")

    # ------------------------------------------------------------ input
    def input(self, frame):
        try:
            proto, info = pw.parse_frame(frame)
        except pw.PppError as e:
            self.log(f"PPP: dropped: {e}")
            return
        try:
            self._input(proto, info)
        except pw.PppError as e:
            self.log(f"PPP: {pw.PROTO_NAMES.get(proto, hex(proto))} dropped: {e}")

    def _input(self, proto, info):
        if self.trace and proto not in (pw.PROTO_IP, pw.PROTO_MPPE):
            self.trace("received", proto, info)
        if proto == pw.PROTO_LCP:
            self.lcp.input(info)
            return
        if not self.lcp.opened:
            return  # RFC 1661 §3.4: nothing but LCP before the link is up
        if proto == pw.PROTO_PAP:
            self._pap_input(info)
        elif proto == pw.PROTO_CHAP:
            self._chap_input(info)
        elif self.phase not in ("network", "running"):
            return  # §3.5: NCPs wait for authentication
        elif proto == pw.PROTO_IPCP:
            self.ipcp.input(info)
        elif proto == pw.PROTO_CCP and self.profile.mppe != "none":
            self.ccp.input(info)
        elif proto == pw.PROTO_MPPE and self.mppe_rx is not None:
            self._mppe_input(info)
        elif proto == pw.PROTO_IP:
            if self.mppe_rx is not None:
                self.counters["unencrypted_dropped"] += 1  # RFC 3078 §4: all or nothing
            elif self.ipcp.opened:
                self._ip_input(info)
        else:
            # §5.7: a protocol we do not run (IPv6CP, CCP without MPPE, ...).
            self.counters["protocol_rejects_sent"] += 1
            self.lcp.ident = (self.lcp.ident + 1) & 0xFF
            self.send_cp(pw.PROTO_LCP, pw.PROTO_REJ, self.lcp.ident,
                         struct.pack("!H", proto) + bytes(info)[:self.mru - 6])

    def _mppe_input(self, info):
        try:
            inner = self.mppe_rx.frame(info)
        except mppe.MppeError as e:
            self.counters["mppe_errors"] += 1
            self.log(f"MPPE: dropped: {e}")
            return
        if inner is None:
            return
        try:
            proto, payload = pw.parse_frame(inner)
        except pw.PppError as e:
            self.counters["mppe_errors"] += 1
            self.log(f"MPPE: decrypted frame dropped: {e}")
            return
        if proto == pw.PROTO_IP:
            self._ip_input(payload)
        else:
            self.log(f"MPPE: protocol {proto:#06x} inside, dropped")

    def _ip_input(self, packet):
        self.counters["ip_in"] += 1
        if self.on_ip is not None:
            self.on_ip(bytes(packet))

    def send_ip(self, packet):
        if not self.running():
            raise pw.PppError(f"PPP is {self.phase}: no IP yet")
        self.counters["ip_out"] += 1
        if self.mppe_tx is not None:
            # RFC 3078 §3: the encrypted part starts with the protocol field.
            self._send(pw.PROTO_MPPE, self.mppe_tx.frame(struct.pack("!H", pw.PROTO_IP) + bytes(packet)))
        else:
            self._send(pw.PROTO_IP, packet)

    # ------------------------------------------------------------ timers
    def tick(self, now):
        for f in (self.lcp, self.ipcp, self.ccp):
            f.tick(now)
        if self._auth_deadline is not None and now >= self._auth_deadline and self.phase == "authenticate":
            if self.auth == "pap":
                self._pap_send()
            else:
                self._auth_deadline = None
        if self.phase == "terminating" and self.lcp.state == "closed":
            self.phase = "terminated"

    def next_deadline(self):
        ds = [f.deadline for f in (self.lcp, self.ipcp, self.ccp) if f.deadline is not None]
        if self._auth_deadline is not None:
            ds.append(self._auth_deadline)
        return min(ds, default=None)
