#!/usr/bin/python3
"""Self-test of the client, without network: every result is held against
an independent source — RFC test vectors (RFC 1320 §A.5, RFC 2759 §9.2,
RFC 3079 §3.5), scapy's L2TP and PPP layers, and tests/pipeline/mppe_ref.py
— and the PPP client runs a whole conversation against a server scripted
here with scapy's PPP layers, MS-CHAPv2 from the RFC formulas and
mppe_ref's strict MPPE receiver. Exit 0 when all checks pass.

    /usr/bin/python3 perf/client/selftest.py
"""

import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from scapy.layers.inet import ICMP, IP  # noqa: E402
from scapy.layers.l2tp import L2TP  # noqa: E402
from scapy.layers.ppp import (HDLC, PPP, PPP_CHAP_ChallengeResponse, PPP_IPCP,  # noqa: E402
                              PPP_IPCP_Option_DNS1, PPP_IPCP_Option_DNS2, PPP_IPCP_Option_IPAddress,
                              PPP_LCP_Auth_Protocol_Option, PPP_LCP_Configure, PPP_LCP_Echo,
                              PPP_LCP_Magic_Number_Option, PPP_LCP_MRU_Option, PPP_PAP_Request)
from scapy.packet import Raw  # noqa: E402

from client import l2tp as w  # noqa: E402
from client import lac as lacmod  # noqa: E402
from client import mppe, mschap  # noqa: E402
from client import ppp_wire as pw  # noqa: E402
from client.md4 import md4  # noqa: E402
from client.ppp import MPPE_H, MPPE_128, MPPE_40, PppClient, Profile  # noqa: E402

import mppe_ref  # noqa: E402

RESULTS = []


def check(name, ok, detail=""):
    RESULTS.append((name, bool(ok)))
    print(f"[{'PASS' if ok else 'FAIL'}] {name}{'' if ok or not detail else ': ' + str(detail)}")


# ------------------------------------------------------------------ crypto

def test_md4():
    vectors = {  # RFC 1320 §A.5
        b"": "31d6cfe0d16ae931b73c59d7e0c089c0",
        b"a": "bde52cb31de33e46245e05fbdbd6fb24",
        b"abc": "a448017aaf21d8525fc10ae87aa6729d",
        b"message digest": "d9130a8164549fe818874806e1c7014b",
        b"abcdefghijklmnopqrstuvwxyz": "d79e1c308aa5bbcdeea8ed63df412da9",
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789": "043f8582f241db351ce627e153e7f0e4",
        b"1234567890" * 8: "e33b4ddc9c38f2199c3e7b164fcc0536",
    }
    for msg, want in vectors.items():
        got = md4(msg).hex()
        check(f"MD4 RFC 1320 §A.5 {msg[:20]!r}", got == want, got)


def test_mschapv2():
    # RFC 2759 §9.2.
    user, password = "User", "clientPass"
    auth_ch = bytes.fromhex("5B5D7C7D7B3F2F3E3C2C602132262628")
    peer_ch = bytes.fromhex("21402324255E262A28295F2B3A337C7E")
    v = {
        "ChallengeHash": (mschap.challenge_hash(peer_ch, auth_ch, user), "D02E4386BCE91226"),
        "NtPasswordHash": (mschap.nt_password_hash(password), "44EBBA8D5312B8D611474411F56989AE"),
        "PasswordHashHash": (mschap.hash_nt_password_hash(mschap.nt_password_hash(password)),
                             "41C00C584BD2D91C4017A2A12FA59F3F"),
        "NT-Response": (mschap.generate_nt_response(auth_ch, peer_ch, user, password),
                        "82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF"),
    }
    for name, (got, want) in v.items():
        check(f"MS-CHAPv2 RFC 2759 §9.2 {name}", got == bytes.fromhex(want), got.hex())
    nt = v["NT-Response"][0]
    ar = mschap.generate_authenticator_response(password, nt, peer_ch, auth_ch, user)
    check("MS-CHAPv2 RFC 2759 §9.2 AuthenticatorResponse", ar == "S=407A5589115FD0D6209F510FE9C04566932CDA56", ar)
    check("MS-CHAPv2 CheckAuthenticatorResponse accepts the RFC value (lower case too)",
          mschap.check_authenticator_response(password, nt, peer_ch, auth_ch, user,
                                              "S=407a5589115fd0d6209f510fe9c04566932cda56 M=hello"))
    check("MS-CHAPv2 CheckAuthenticatorResponse refuses one wrong digit",
          not mschap.check_authenticator_response(password, nt, peer_ch, auth_ch, user,
                                                  "S=407A5589115FD0D6209F510FE9C04566932CDA57"))
    check("MS-CHAPv2 ChallengeHash drops a DOMAIN\\ prefix (RFC 2759 §8.2)",
          mschap.challenge_hash(peer_ch, auth_ch, "CORP\\User") == v["ChallengeHash"][0])
    # RFC 3079 §3.5.3: the client's receive start key is the server's send key.
    send, recv = mschap.mppe_start_keys(password, nt)
    check("MPPE RFC 3079 §3.5.3 client receive start key = server send key",
          recv == bytes.fromhex("8B7CDC149B993A1BA118CB153F56DCCB"), recv.hex())
    check("MPPE client send start key = mppe_ref's server receive key",
          send == mppe_ref.start_key(mppe_ref.master_key(v["PasswordHashHash"][0], nt), False, True))
    mppe_ref.selfcheck(check)


def test_mppe_receiver():
    key = bytes(range(16))
    for bits in (40, 128):
        for stateless in (True, False):
            for lost in ([], [3], [250, 251, 252, 253, 254, 255, 256, 257], list(range(600, 1000))):
                tx = mppe_ref.Sender(key, bits, stateless)
                resets = []
                rx = mppe.Receiver(key, bits, stateless, lambda: resets.append(1))
                good = bad = 0
                for i in range(1200):
                    inner = b"\x00\x21" + struct.pack("!H", i) * 10
                    f = tx.frame(inner)
                    if i in lost:
                        continue
                    if resets:  # the sender honours a Reset-Request before its next frame (RFC 3078 §8)
                        tx.flush_next = True
                        resets.clear()
                    out = rx.frame(f)
                    if out is not None:
                        good += out == inner
                        bad += out != inner
                mode = "stateless" if stateless else "stateful"
                check(f"MPPE-{bits} {mode} receiver, {len(lost)} lost: every decrypted frame is right, "
                      "none lost to it beyond the resynchronisation", bad == 0 and good >= 1200 - len(lost) - (
                          0 if stateless or not lost else 3), f"good {good} bad {bad} discarded {rx.discarded}")


# ------------------------------------------------------------------ L2TP codec

def test_l2tp_codec():
    avps = w.message(w.SCCRQ, w.avp_u16(w.PROTOCOL_VERSION, 0x0100), w.Avp(w.HOST_NAME, b"lac"),
                     w.avp_u16(w.ASSIGNED_TUNNEL_ID, 77))
    raw = w.build_control(0x1234, 0, 5, 9, avps)
    s = L2TP(raw)
    check("L2TP control header as scapy parses it (T, L, S; length, ids, Ns, Nr)",
          s.hdr & 0x800 and s.hdr & 0x400 and s.hdr & 0x080 and s.len == len(raw) and s.tunnel_id == 0x1234
          and s.session_id == 0 and s.ns == 5 and s.nr == 9, s.summary())
    back = w.parse_control(raw)
    check("L2TP control round trip", back.msg_type == w.SCCRQ and back.get(w.ASSIGNED_TUNNEL_ID).u16() == 77
          and back.get(w.HOST_NAME).value == b"lac" and back.header.ns == 5 and back.header.nr == 9)
    zlb = w.build_control(1, 2, 3, 4, [])
    check("ZLB is a 12-byte header (RFC 2661 §5.8)", len(zlb) == 12 and w.parse_control(zlb).msg_type is None)

    payload = b"\xff\x03\xc0\x21" + b"\x01\x01\x00\x04"
    for length in (False, True):
        for ns in (None, 7):
            for off in (None, 2):  # scapy pads the Offset Size field to 4 bytes: size 2 fits both
                raw = w.build_data(0x0102, 0x0304, payload, length=length, ns=ns, nr=0, offset_size=off)
                s = L2TP(raw)
                ok = s.tunnel_id == 0x0102 and s.session_id == 0x0304 and bytes(s.payload) == payload
                ok = ok and (s.len == len(raw) if length else s.len is None)
                ok = ok and (s.ns == 7 if ns is not None else s.ns is None)
                hdr, frame = w.parse_data(raw)
                ok = ok and frame == payload and hdr.ns == ns and (hdr.offset_size == off)
                check(f"L2TP data header L={length} S={ns is not None} O={off is not None} vs scapy", ok,
                      s.summary())
    sbuilt = bytes(L2TP(hdr="length+sequence", tunnel_id=9, session_id=8, ns=300, nr=0) / Raw(payload))
    hdr, frame = w.parse_data(sbuilt)
    check("L2TP data message built by scapy parses", hdr.tunnel_id == 9 and hdr.session_id == 8
          and hdr.ns == 300 and hdr.length == len(sbuilt) and frame == payload)
    for bad, what in ((b"\xc8\x03\x00\x0c", "version 3"), (b"\xc8\x02\x00\x40" + bytes(8), "Length past the end"),
                      (b"\x88\x02" + bytes(8), "control without L")):
        try:
            w.parse_header(bad)
            check(f"L2TP header refused: {what}", False)
        except w.L2tpError:
            check(f"L2TP header refused: {what}", True)

    # §4.3 hidden AVPs: round trip, padding, and a wrong secret detected by
    # the length check. The independent check is xl2tpd revealing ours
    # (interop_xl2tpd.py).
    secret = b"tunnel secret"
    for value in (b"", b"\x00\x01", bytes(range(40))):
        avps = [w.avp_u16(w.MESSAGE_TYPE, w.ICRQ), w.Avp(w.CALLING_NUMBER, value, hidden=True)]
        raw = w.build_avps(avps, secret)
        parsed = w.parse_avps(raw, secret)
        check(f"hidden AVP of {len(value)} bytes round trip (Random Vector first)",
              parsed[1].attr == w.RANDOM_VECTOR and parsed[2].hidden and parsed[2].value == value)
    vector = os.urandom(16)
    hidden = w.hide(w.CALLING_NUMBER, b"5551234", secret, vector, pad=b"")
    import hashlib
    first = hashlib.md5(struct.pack("!H", w.CALLING_NUMBER) + secret + vector).digest()
    check("hidden AVP first block = (length||value) XOR MD5(type||secret||RV) (§4.3)",
          hidden == bytes(a ^ b for a, b in zip(b"\x00\x07" + b"5551234", first)))
    try:
        got = w.unhide(w.CALLING_NUMBER, hidden, b"other", vector)
        check("hidden AVP with a wrong secret does not reveal the value", got != b"5551234")
    except w.L2tpError:
        check("hidden AVP with a wrong secret does not reveal the value", True)
    ch = bytes(range(16))
    check("Challenge Response = MD5(type || secret || challenge) (§4.4.3 / RFC 1994 form)",
          w.challenge_response(w.SCCRP, secret, ch) == mschap.chap_md5_response(2, secret, ch))


class DropTransport:
    def __init__(self):
        self.sent = []

    def send(self, data):
        self.sent.append(bytes(data))


def test_lac_reliability():
    t = DropTransport()
    lac = lacmod.Lac(t, log=lambda s: None)
    lac.open_tunnel()
    t0 = lac.unacked[0][3]
    for k in range(lacmod.RETRANSMIT_TRIES):
        lac.tick(t0 + 1000 * (k + 1))
    check("SCCRQ retransmitted 5 times, same Ns", len(t.sent) == 6 and
          all(w.parse_control(x).header.ns == 0 for x in t.sent))
    lac.tick(t0 + 10_000)
    check("tunnel fails after the last retransmission", lac.state == "closed" and "SCCRQ" in (lac.failure or ""),
          lac.failure)
    # A scripted SCCRP with Ns 0, then its duplicate: one SCCCN, then a ZLB.
    t = DropTransport()
    lac = lacmod.Lac(t, log=lambda s: None)
    lac.open_tunnel()
    sccrp = w.build_control(lac.tunnel_id, 0, 0, 1, w.message(w.SCCRP, w.avp_u16(w.ASSIGNED_TUNNEL_ID, 99),
                                                                 w.avp_u16(w.RECEIVE_WINDOW_SIZE, 1)))
    lac.handle(sccrp)
    lac.handle(sccrp)
    kinds = [w.parse_control(x).name for x in t.sent]
    check("SCCRP → SCCCN; its duplicate → ZLB re-ack (§5.8)", kinds == ["SCCRQ", "SCCCN", "ZLB"] and
          lac.state == "established" and lac.peer_tunnel_id == 99, kinds)
    s1 = lac.open_session()
    lac.open_session()
    check("peer window 1: both ICRQs wait while the SCCCN is unacknowledged",
          all(w.parse_control(x).name != "ICRQ" for x in t.sent) and len(lac.pending) == 2, len(lac.pending))
    lac.handle(w.build_control(lac.tunnel_id, 0, 1, 2, []))  # ZLB acking the SCCCN
    lac.handle(w.build_control(lac.tunnel_id, 0, 1, 3, []))  # acking the first ICRQ
    check("each ICRQ goes once the window opens", sum(w.parse_control(x).name == "ICRQ" for x in t.sent) == 2)
    lac.handle(w.build_control(lac.tunnel_id, s1.our_id, 1, 3, w.message(
        w.CDN, w.result_code(3, 0, "admin"), w.avp_u16(w.ASSIGNED_SESSION_ID, 5))))
    check("CDN from the peer: result code exposed", s1.state == "closed" and s1.result == (3, 0, "admin")
          and s1.closed_by == "peer", s1.result)
    n = len(t.sent)
    lac.handle(w.build_control(lac.tunnel_id, 0, 2, 4, w.message(w.HELLO)))
    check("HELLO is acknowledged by a ZLB with Nr past it (§6.5)", len(t.sent) == n + 1 and
          w.parse_control(t.sent[-1]).name == "ZLB" and w.parse_control(t.sent[-1]).header.nr == 3)
    # §5.4 data sequencing: without Sequencing Required the LNS decides.
    s2 = lac.sessions[2]
    s2.state, s2.peer_id = "established", 6
    frames = []
    s2.on_ppp = frames.append
    lac.handle(w.build_data(lac.tunnel_id, 2, b"\xff\x03\xc0\x21a", ns=10))
    s2.send_ppp(b"x")
    seq_on = w.parse_data(t.sent[-1])[0].ns == 0
    lac.handle(w.build_data(lac.tunnel_id, 2, b"\xff\x03\xc0\x21b", ns=9))  # stale: dropped
    lac.handle(w.build_data(lac.tunnel_id, 2, b"\xff\x03\xc0\x21c"))
    s2.send_ppp(b"y")
    check("data sequencing follows the LNS; stale Ns dropped (§5.4)", seq_on and
          w.parse_data(t.sent[-1])[0].ns is None and frames == [b"\xff\x03\xc0\x21a", b"\xff\x03\xc0\x21c"],
          frames)
    lac.handle(w.build_control(lac.tunnel_id, 0, 3, 4, w.message(
        w.STOPCCN, w.avp_u16(w.ASSIGNED_TUNNEL_ID, 99), w.result_code(6))))
    check("StopCCN from the peer: result code exposed and acked", lac.result == (6, None, "") and
          lac.state == "closed" and w.parse_control(t.sent[-1]).name == "ZLB", lac.result)


# ------------------------------------------------------------------ PPP codec

def scapy_ppp(frame):
    return HDLC(frame)[PPP] if frame[:2] == b"\xff\x03" else PPP(frame)


def test_ppp_codec():
    opts = [(1, struct.pack("!H", 1400)), (5, b"\x01\x02\x03\x04"), (7, b""), (8, b"")]
    frame = pw.build_frame(pw.PROTO_LCP, pw.build_cp(pw.CONF_REQ, 42, pw.build_options(opts)), acfc=True, pfc=True)
    s = scapy_ppp(frame)
    lcp = s[PPP_LCP_Configure]
    check("LCP Configure-Request as scapy parses it (uncompressed even with ACFC/PFC)",
          frame[:4] == b"\xff\x03\xc0\x21" and lcp.id == 42 and lcp.options[0].max_recv_unit == 1400
          and lcp.options[1].magic_number == 0x01020304 and [o.type for o in lcp.options] == [1, 5, 7, 8],
          s.summary())
    sbuilt = bytes(HDLC() / PPP(proto=0xC021) / PPP_LCP_Configure(id=3, options=[
        PPP_LCP_MRU_Option(max_recv_unit=1500), PPP_LCP_Auth_Protocol_Option(auth_protocol=0xC223, algorithm=0x81),
        PPP_LCP_Magic_Number_Option(magic_number=0xCAFEBABE)]))
    proto, info = pw.parse_frame(sbuilt)
    code, ident, data = pw.parse_cp(info)
    check("scapy's LCP Configure-Request parses (MS-CHAPv2 auth option)",
          proto == pw.PROTO_LCP and code == 1 and ident == 3 and pw.parse_options(data) ==
          [(1, b"\x05\xdc"), (3, b"\xc2\x23\x81"), (5, b"\xca\xfe\xba\xbe")])
    ip = bytes(IP(src="1.2.3.4", dst="5.6.7.8") / ICMP())
    for acfc in (False, True):
        for pfc in (False, True):
            f = pw.build_frame(pw.PROTO_IP, ip, acfc, pfc)
            s = scapy_ppp(f)
            check(f"IPv4 frame ACFC={acfc} PFC={pfc} as scapy parses it",
                  s.proto == 0x21 and bytes(s.payload) == ip and len(f) == len(ip) + 4 - 2 * acfc - pfc
                  and pw.parse_frame(f) == (pw.PROTO_IP, ip))


# ------------------------------------------------------------------ PPP conversation

class ScriptedServer:
    """A PPP server played with scapy's PPP layers: LCP asking for
    MS-CHAPv2 (or PAP), MS-CHAPv2 checked and answered per RFC 2759,
    IPCP Nak'ing 0.0.0.0 to 100.64.0.7 and DNS, CCP asking for
    `mppe_bits`, ICMP echo answered through mppe_ref (strict in order)."""

    def __init__(self, user, password, auth=b"\xc2\x23\x81", mppe_bits=MPPE_H | MPPE_128, bad_authenticator=False,
                 reject_magic=False):
        self.user, self.password = user, password
        self.auth, self.mppe_bits = auth, mppe_bits
        self.bad_authenticator = bad_authenticator
        self.reject_magic = reject_magic  # as SoftEther does
        self.client_magic = None
        self.out = []
        self.events = []
        self.naks_seen = []
        self.challenge = os.urandom(16)
        self.tx = self.rx = None
        self.magic = 0x5EC0_11D5
        self.mppe_heads = set()
        self.lcp_heads = set()

    def send(self, proto, pkt):
        self.out.append(bytes(HDLC() / PPP(proto=proto) / pkt) if not isinstance(pkt, bytes)
                        else b"\xff\x03" + struct.pack("!H", proto) + pkt)

    def handle(self, frame):
        self.last_head = frame[:4]
        s = scapy_ppp(frame)
        proto = s.proto
        if proto == 0xC021:
            self._lcp(s)
        elif proto == 0xC223:
            self._chap(s.payload)
        elif proto == 0xC023:
            req = s[PPP_PAP_Request]
            self.events.append(("pap", req.username, req.password))
            self.send(0xC023, b"\x02" + bytes([req.id]) + b"\x00\x06\x01X")
        elif proto == 0x8021:
            self._ipcp(s[PPP_IPCP])
        elif proto == 0x80FD:
            self._ccp(bytes(s.payload))
        elif proto == 0xFD:
            self._mppe(bytes(s.payload))
        else:
            self.events.append(("other", hex(proto)))

    def _lcp(self, s):
        data = bytes(s.payload)
        code, ident = data[0], data[1]
        self.lcp_heads.add(self.last_head)
        if code == 1:
            opts = s[PPP_LCP_Configure].options
            self.events.append(("lcp-req", [o.type for o in opts]))
            magic = [o for o in opts if o.type == 5]
            if magic and self.reject_magic:
                self.send(0xC021, PPP_LCP_Configure(code=4, id=ident, options=magic))
                return
            self.client_magic = magic[0].magic_number if magic else 0
            self.send(0xC021, bytes([2]) + data[1:])  # Configure-Ack echoes the request
            self.send(0xC021, bytes(PPP_LCP_Configure(code=1, id=1, options=[
                PPP_LCP_MRU_Option(max_recv_unit=1400), PPP_LCP_Auth_Protocol_Option(auth_protocol=0xC223,
                                                                                  algorithm=0x81)
                if self.auth == b"\xc2\x23\x81" else
                PPP_LCP_Auth_Protocol_Option(auth_protocol=0xC023),
                PPP_LCP_Magic_Number_Option(magic_number=self.magic)])))
        elif code == 2:
            self.events.append("lcp-acked")
            if self.auth == b"\xc2\x23\x81":
                self.send(0xC223, PPP_CHAP_ChallengeResponse(code=1, id=7, value=self.challenge,
                                                             optional_name=b"lns"))
        elif code == 3:
            self.naks_seen.append(data[4:])
        elif code == 5:
            self.events.append("lcp-term")
            self.send(0xC021, bytes([6, ident, 0, 4]))
        elif code == 10:
            self.events.append(("echo-reply", s[PPP_LCP_Echo].magic_number))

    def _chap(self, c):
        r = c
        value = bytes(r.value)
        peer_ch, nt = value[:16], value[24:48]
        want = mschap.generate_nt_response(self.challenge, peer_ch, self.user, self.password)
        ok = bytes(r.optional_name) == self.user.encode() and nt == want and value[16:24] == bytes(8)
        self.events.append(("chap-response", ok))
        if not ok:
            self.send(0xC223, bytes([4, c.id, 0, 4 + 40]) + b"E=691 R=0 C=" + b"00" * 14)
            return
        ar = mschap.generate_authenticator_response(self.password, nt, peer_ch, self.challenge, self.user)
        if self.bad_authenticator:
            ar = ar[:-1] + ("0" if ar[-1] != "0" else "1")
        msg = (ar + " M=welcome").encode()
        self.send(0xC223, bytes([3, c.id]) + struct.pack("!H", 4 + len(msg)) + msg)
        phh = mschap.hash_nt_password_hash(mschap.nt_password_hash(self.password))
        master = mppe_ref.master_key(phh, nt)
        self.keys = (mppe_ref.start_key(master, True, True), mppe_ref.start_key(master, False, True))

    def _ipcp(self, p):
        opts = {o.type: o.data for o in p.options}
        if p.code == 1:
            if opts.get(3) == "0.0.0.0":
                self.send(0x8021, PPP_IPCP(code=3, id=p.id, options=[
                    PPP_IPCP_Option_IPAddress(data="100.64.0.7"), PPP_IPCP_Option_DNS1(data="9.9.9.9"),
                    PPP_IPCP_Option_DNS2(data="1.1.1.1")]))
            else:
                self.events.append(("ipcp-req", opts))
                self.send(0x8021, PPP_IPCP(code=2, id=p.id, options=p.options))
                self.send(0x8021, PPP_IPCP(code=1, id=9, options=[PPP_IPCP_Option_IPAddress(data="100.64.0.1")]))
        elif p.code == 2:
            self.events.append("ipcp-acked")

    def _ccp(self, data):
        code, ident = data[0], data[1]
        opts = pw.parse_options(data[4:])
        if code == 1:
            bits = struct.unpack("!I", opts[0][1])[0]
            if bits != self.mppe_bits:
                self.events.append(("ccp-offer", bits))
                nak = pw.build_options([(18, struct.pack("!I", self.mppe_bits))])
                self.send(0x80FD, pw.build_cp(3, ident, nak))
                return
            self.send(0x80FD, pw.build_cp(2, ident, data[4:]))
            self.send(0x80FD, pw.build_cp(1, 1, pw.build_options([(18, struct.pack("!I", self.mppe_bits))])))
        elif code == 2:
            bits = 128 if self.mppe_bits & MPPE_128 else 40
            stateless = bool(self.mppe_bits & MPPE_H)
            self.tx = mppe_ref.Sender(self.keys[0], bits, stateless)
            self.rx = mppe_ref.Receiver(self.keys[1], bits, stateless)
            self.events.append("ccp-acked")
        elif code == 15:
            self.events.append("reset-ack")
        else:
            self.events.append(("ccp", code))

    def _mppe(self, data):
        self.mppe_heads.add(self.last_head)
        if self.events and self.events[-1] == "expect-flushed":
            self.events.append(("flushed", bool(data[0] & 0x80)))
        if self.events and self.events[-1] == ("flushed", True) and not self.rx.stateless:
            # mppe_ref.Receiver checks a stream without resets; after a
            # Reset-Request the sender re-keyed before this frame (RFC 3078 §8).
            self.rx.change_key()
            self.rx.ccount = mppe_ref.header(data)[4]
            inner = self.rx.rc4.update(data[2:])
        else:
            inner = self.rx.frame(data)
        proto, payload = struct.unpack_from("!H", inner)[0], inner[2:]
        if proto != pw.PROTO_IP:
            self.events.append(("mppe-inner-protocol", proto))
            return
        ip = IP(payload)
        self.events.append(("ping", ip.src, ip.dst))
        reply = IP(src=ip.dst, dst=ip.src) / ICMP(type=0, id=ip[ICMP].id, seq=ip[ICMP].seq) / bytes(ip[ICMP].payload)
        self.out.append(b"\xfd" + self.tx.frame(b"\x00\x21" + bytes(reply)))  # ACFC + PFC, as a server may


def converse(client, server, rounds=50):
    for _ in range(rounds):
        moved = False
        while client_out:
            server.handle(client_out.pop(0))
            moved = True
        while server.out:
            client.input(server.out.pop(0))
            moved = True
        if not moved:
            return


client_out = []


def test_ppp_conversation():
    global client_out
    for bits, mode in ((MPPE_H | MPPE_128, "any"), (MPPE_40, "40")):
        client_out = []
        profile = Profile("alice", "alicepass", auth=["mschapv2"], mppe=mode, stateless=False)
        logs = []
        client = PppClient(client_out.append, profile, log=logs.append)
        server = ScriptedServer("alice", "alicepass", mppe_bits=bits)
        client.start()
        converse(client, server)
        name = f"PPP with MS-CHAPv2 and MPPE bits {bits:#x}"
        check(f"{name}: LCP asks for MRU, magic, PFC, ACFC", ("lcp-req", [1, 5, 7, 8]) in server.events,
              server.events)
        check(f"{name}: MS-CHAPv2 response right, server authenticator accepted",
              ("chap-response", True) in server.events and client.auth_ok, logs)
        check(f"{name}: IPCP took the Nak'ed address and DNS", client.ipcp.address == "100.64.0.7" and
              client.ipcp.dns == ["9.9.9.9", "1.1.1.1"] and ("ipcp-req", {3: "100.64.0.7", 129: "9.9.9.9",
                                                                          131: "1.1.1.1"}) in server.events,
              server.events)
        want_mode = "MPPE-128 stateless" if bits & MPPE_128 else "MPPE-40 stateful"
        check(f"{name}: CCP took the server's choice ({want_mode})", client.mppe_mode == want_mode
              and client.running(), (client.mppe_mode, logs))
        got = []
        client.on_ip = got.append
        for seq in range(300):
            client.send_ip(bytes(IP(src="100.64.0.7", dst="10.0.0.2") / ICMP(id=1, seq=seq) / b"abc"))
            converse(client, server)
        check(f"{name}: 300 pings through MPPE, each checked by mppe_ref's strict receiver, all replies decrypted",
              len(got) == 300 and all(IP(p)[ICMP].type == 0 for p in got), (len(got), logs[-3:]))
        check(f"{name}: the client's MPPE frames use the ACFC and PFC the server acked; LCP never does",
              {h[:1] for h in server.mppe_heads} == {b"\xfd"} and {h[:4] for h in server.lcp_heads} ==
              {b"\xff\x03\xc0\x21"}, (server.mppe_heads, server.lcp_heads))
        # LCP Echo-Request gets an Echo-Reply with our magic.
        server.out.append(bytes(HDLC() / PPP(proto=0xC021) / PPP_LCP_Echo(code=9, id=5, magic_number=server.magic)))
        converse(client, server)
        check(f"{name}: LCP Echo-Reply with the magic the client asked for",
              server.client_magic and ("echo-reply", server.client_magic) in server.events, server.events[-3:])
        # A CCP Reset-Request: Reset-Ack, and the next frame is flushed.
        server.send(0x80FD, pw.build_cp(14, 77, b""))
        converse(client, server)
        server.events.append("expect-flushed")
        client.send_ip(bytes(IP(src="100.64.0.7", dst="10.0.0.2") / ICMP(id=1, seq=999)))
        converse(client, server)
        check(f"{name}: CCP Reset-Request → Reset-Ack and a flushed (A) next frame that decrypts",
              "reset-ack" in server.events and ("flushed", True) in server.events and
              ("ping", "100.64.0.7", "10.0.0.2") == server.events[-1], server.events[-4:])
        client.terminate()
        converse(client, server)
        check(f"{name}: Terminate-Request answered, link terminated", "lcp-term" in server.events and
              client.terminated())

    # The server's authenticator response is wrong: the client must fail.
    client_out = []
    logs = []
    client = PppClient(client_out.append, Profile("alice", "alicepass", mppe="128"), log=logs.append)
    server = ScriptedServer("alice", "alicepass", bad_authenticator=True)
    client.start()
    converse(client, server)
    check("MS-CHAPv2: a wrong server authenticator response fails the link, with the cause",
          not client.auth_ok and client.failure and "authenticator response is wrong" in client.failure,
          client.failure)
    # A server that wants PAP when the profile only allows MS-CHAPv2: Nak.
    client_out = []
    client = PppClient(client_out.append, Profile("alice", "alicepass"), log=logs.append)
    server = ScriptedServer("alice", "alicepass", auth=b"\xc0\x23")
    client.start()
    converse(client, server, rounds=3)
    check("LCP: PAP asked, only MS-CHAPv2 allowed → Nak with C223 81",
          server.naks_seen and server.naks_seen[0] == b"\x03\x05\xc2\x23\x81", server.naks_seen)
    # A server that rejects Magic-Number: echo replies carry zero (RFC 1661 §5.8).
    client_out = []
    client = PppClient(client_out.append, Profile("alice", "alicepass"), log=logs.append)
    server = ScriptedServer("alice", "alicepass", reject_magic=True)
    client.start()
    converse(client, server)
    server.out.append(bytes(HDLC() / PPP(proto=0xC021) / PPP_LCP_Echo(code=9, id=6, magic_number=server.magic)))
    converse(client, server)
    check("LCP: Magic-Number rejected → request without it, Echo-Reply with magic 0",
          client.running() and server.events[:2] == [("lcp-req", [1, 5, 7, 8]), ("lcp-req", [1, 7, 8])]
          and ("echo-reply", 0) in server.events, server.events)
    # PAP allowed: credentials sent.
    client_out = []
    client = PppClient(client_out.append, Profile("bob", "pw", auth=["pap"]), log=logs.append)
    server = ScriptedServer("bob", "pw", auth=b"\xc0\x23")
    client.start()
    converse(client, server)
    check("PAP: Authenticate-Request carries the user and password, Ack authenticates",
          ("pap", b"bob", b"pw") in server.events and client.auth_ok, server.events)


def test_ppp_duplicate_replies():
    """A retransmitted request can be answered twice: the second Ack
    (same identifier) must not move an opened link (it would stay deaf,
    as pppd's seen_ack knows); and in Ack-Rcvd the restart timer runs,
    so a peer that never sends its own request is asked again (§4.2)."""
    global client_out
    client_out = []
    client = PppClient(client_out.append, Profile("alice", "alicepass", auth=["mschapv2"], mppe="none"),
                       log=lambda _: None)
    server = ScriptedServer("alice", "alicepass")
    sent = []
    server_send = server.send
    server.send = lambda proto, pkt: (server_send(proto, pkt), sent.append(server.out[-1]))
    client.start()
    converse(client, server)
    acks = [f for f in sent if scapy_ppp(f).proto == 0x8021 and scapy_ppp(f)[PPP_IPCP].code == 2]
    check("duplicate replies: IPCP opened and the server acked it", client.ipcp.opened and acks, sent)
    if not acks:
        return
    client.input(acks[-1])
    check("duplicate replies: a second IPCP Configure-Ack leaves the link opened", client.ipcp.opened,
          client.ipcp.state)
    ipcp = client.ipcp
    client_out.clear()
    ipcp.state = "req-sent"
    ipcp._send_request()
    req = scapy_ppp(client_out[-1])[PPP_IPCP]
    ack = bytes(HDLC() / PPP(proto=0x8021) / PPP_IPCP(code=2, id=req.id, options=req.options))
    client.input(ack)
    check("ack-rcvd: an Ack to our request without the peer's own", ipcp.state == "ack-rcvd", ipcp.state)
    check("ack-rcvd: the restart timer still runs", ipcp.deadline is not None)
    client_out.clear()
    if ipcp.deadline is not None:
        ipcp.tick(ipcp.deadline + 0.01)
    again = [scapy_ppp(f)[PPP_IPCP] for f in client_out if scapy_ppp(f).proto == 0x8021]
    check("ack-rcvd: at its end a new Configure-Request goes out",
          len(again) == 1 and again[0].code == 1 and again[0].id != req.id and ipcp.state == "req-sent",
          (again, ipcp.state))


def main():
    for test in (test_md4, test_mschapv2, test_mppe_receiver, test_l2tp_codec, test_lac_reliability,
                 test_ppp_codec, test_ppp_conversation, test_ppp_duplicate_replies):
        try:
            test()
        except Exception as e:  # a test that breaks is a failure, named, and the others still run
            import traceback
            traceback.print_exc()
            check(f"{test.__name__} ran to its end", False, f"{type(e).__name__}: {e}")
    passed = sum(ok for _, ok in RESULTS)
    failed = len(RESULTS) - passed
    print(f"selftest: {passed} passed, {failed} failed")
    return 0 if failed == 0 and passed else 1


if __name__ == "__main__":
    sys.exit(main())
