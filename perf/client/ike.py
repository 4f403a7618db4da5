"""The IKEv1 initiator (RFC 2409): Main Mode with a pre-shared key or RSA
signatures and certificates (ike_cert.CertAuth), then one
Quick Mode for an ESP SA pair (transport mode over UDP 1701 for
L2TP/IPsec, RFC 3193; tunnel mode between two subnets for interop runs),
with NAT traversal (RFC 3947 or the drafts 02/03: vendor IDs, NAT-D,
floating to UDP 4500 behind the non-ESP marker, UDP-encapsulated modes,
NAT-OA). hang_up() deletes the IPsec SA and then the ISAKMP SA
(Informational exchanges protected by HASH(1), §5.7). Once connected,
handle() answers the responder's R-U-THERE (RFC 3706) and notes its
Deletes; rekey() runs another Quick Mode on the same ISAKMP SA, and
delete_ipsec() retires the pair it replaced.

One exchange at a time, synchronous: each request is retransmitted until a
reply that belongs to it arrives or the tries run out. The first failure
ends the negotiation with its cause in `failure`."""

import hmac
import os
import socket
import struct
import time

from . import ike_keys as k
from . import isakmp as i
from .profiles import ESP_AUTH_NAME, ESP_CIPHER_NAME, P1
from .transport import EspConfig, EspTransport, readable

IKE_PORT, NATT_PORT = 500, 4500
NON_ESP_MARKER = b"\x00\x00\x00\x00"
NATT_KEEPALIVE = b"\xff"  # RFC 3948 §2.3
L2TP_PORT = 1701
ESP_KEY_BYTES = {(12, 128): 16, (12, 256): 32, (3, None): 24}
ESP_AUTH_BYTES = {2: 20, 5: 32}


class IkeFailure(Exception):
    pass


class PskAuth:
    """What Main Mode does differently with a pre-shared key (RFC 2409
    §5.4): SKEYID from the key, our address as IDii, HASH_I and HASH_R.
    ike_cert.CertAuth is the same for RSA signatures."""

    method = i.AUTH_PSK
    name = "pre-shared key"
    hint = " (pre-shared key mismatch?)"
    silence = "a wrong pre-shared key gets no answer"
    peer_certificate = None

    def __init__(self, psk):
        self.psk = psk.encode() if isinstance(psk, str) else psk

    def skeyid(self, hash_id, ni, nr, gxy):
        return k.skeyid_psk(hash_id, self.psk, ni, nr)

    def msg3_payloads(self):
        return []

    def idii(self, local, proto, port):
        return i.id_ipv4(local, proto, port)

    def describe_id(self, local):
        return local

    def msg5_payloads(self, idii_b, hash_i):
        return [(i.PL_ID, idii_b), (i.PL_HASH, hash_i)]

    def verify6(self, pl, hash_r_of):
        idr, hr = i.find(pl, i.PL_ID), i.find(pl, i.PL_HASH)
        if not idr or not hr:
            raise IkeFailure("Main Mode message 6 without ID or HASH")
        if not hmac.compare_digest(hr[0], hash_r_of(idr[0])):
            raise IkeFailure("Main Mode message 6: HASH_R does not verify (pre-shared key mismatch)")
        return i.parse_id(idr[0])[3]


class Initiator:
    def __init__(self, local, server, auth, profile, l2tp_sport=L2TP_PORT, log=print, retransmit=2.0, tries=4,
                 tunnel=None, trace=False, natt=True, sock500=None, natt_keepalive=20.0):
        """auth: the pre-shared key (str or bytes) or an ike_cert.CertAuth.
        tunnel: None for transport mode (L2TP), or (local subnet, remote
        subnet) as "a.b.c.d/n" for tunnel mode. sock500: the port-500 socket
        of an earlier ISAKMP SA with the same peer (a phase-1 rekey), shared
        and not closed here. natt_keepalive: seconds between NAT-T
        keepalives once floated (0: none)."""
        self.local, self.server = local, server
        self.auth = auth if hasattr(auth, "verify6") else PskAuth(auth)
        self.profile, self.l2tp_sport, self.log = profile, l2tp_sport, log
        self.retransmit, self.tries, self.tunnel, self.trace = retransmit, tries, tunnel, trace
        self.use_natt = natt
        self.natt_keepalive = natt_keepalive
        self.next_keepalive = None
        self.keepalives_sent = 0
        self.own_sock500 = sock500 is None
        if sock500 is None:
            sock500 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock500.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock500.bind((local, IKE_PORT))
        self.sock500 = sock500
        self.sock4500 = None
        self.floated = False
        self.dport = IKE_PORT
        self.icookie = os.urandom(8)
        self.rcookie = b"\x00" * 8
        self.natt = None           # "rfc3947" | "draft-02" | "draft-03" once the responder agrees
        self.nat_local = self.nat_peer = False
        self.p1 = None
        self.p1_life = None
        self.p2 = None
        self.encap = None
        self.spi_in = self.spi_out = None
        self.keys = {}
        self.times = {}
        self.failure = None
        self.peer_id = None
        self.established = False
        self.ipsec_up = False
        self.last_p1_iv = None
        self.silent = False        # vanished: reads nothing, answers nothing
        self.dpd_answered = 0
        self.deletes_received = []
        self.rekeys = 0

    # ------------------------------------------------------------ transport
    def _sock(self):
        return self.sock4500 if self.floated else self.sock500

    def _send(self, data):
        if self.floated:
            self.sock4500.sendto(NON_ESP_MARKER + data, (self.server, NATT_PORT))
        else:
            self.sock500.sendto(data, (self.server, IKE_PORT))

    def _recv(self, timeout):
        s = self._sock()
        if not readable(s, timeout):
            return None
        data, (addr, _) = s.recvfrom(65535)
        if addr != self.server:
            return None
        if self.floated:
            if not data.startswith(NON_ESP_MARKER):
                return None  # ESP, or a keepalive
            data = data[4:]
        return data

    def _exchange(self, data, accept, what):
        """Sends data until accept(datagram) returns something other than
        None; returns that."""
        for attempt in range(self.tries):
            self._send(data)
            deadline = time.monotonic() + self.retransmit * (1 + attempt)
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                reply = self._recv(left)
                if reply is None:
                    continue
                got = accept(reply)
                if got is not None:
                    return got
            if attempt + 1 < self.tries:
                self.log(f"IKE: no answer to {what}, retransmitting")
        raise IkeFailure(f"no answer to {what} after {self.tries} tries")

    def _header(self, reply):
        try:
            h = i.Header.parse(reply)
        except i.IsakmpError:
            return None
        if h.icookie != self.icookie:
            return None
        return h

    def _plain_notify(self, h, reply):
        """An unprotected Informational from the responder (phase 1 refused):
        its Notify names the cause."""
        if h.exch != i.EXCH_INFO or h.flags & i.FLAG_ENC:
            return
        try:
            for body in i.find(i.unchain(h.next_payload, reply[i.HDR_LEN:]), i.PL_N):
                _, ntype, _, _ = i.parse_notify(body)
                raise IkeFailure(f"the responder refused: {i.NOTIFY_NAMES.get(ntype, ntype)}")
        except i.IsakmpError:
            pass

    # ------------------------------------------------------------ encryption
    def _encrypt(self, exch, msgid, payloads, iv):
        first, body = i.chain(payloads)
        ct = k.encrypt(self.p1.enc, self.keys["enc"], iv, body)
        hdr = i.Header(self.icookie, self.rcookie, first, exch, i.FLAG_ENC, msgid, i.HDR_LEN + len(ct))
        return hdr.pack() + ct, ct[-len(iv):]

    def _decrypt(self, h, reply, iv):
        ct = reply[i.HDR_LEN:]
        plain = k.decrypt(self.p1.enc, self.keys["enc"], iv, ct)
        return plain, ct[-len(iv):]

    # ------------------------------------------------------------ Main Mode
    def _p1_attrs(self, p):
        attrs = [(i.P1_ENC, p.enc)]
        if p.key_bits:
            attrs.append((i.P1_KEY_LENGTH, p.key_bits))
        attrs += [(i.P1_HASH, p.hash), (i.P1_AUTH, self.auth.method), (i.P1_GROUP, p.group),
                  (i.P1_LIFE_TYPE, i.LIFE_SECONDS), (i.P1_LIFE_DURATION, self.profile.p1_life)]
        return attrs

    def main_mode(self):
        t0 = time.monotonic()
        prof = self.profile
        sai_b = i.sa_body([i.proposal(1, i.PROTO_ISAKMP, b"", [(i.KEY_IKE, self._p1_attrs(p)) for p in prof.p1])])
        vids = prof.vendor_ids if self.use_natt else [v for v in prof.vendor_ids if v not in i.NATT_VIDS]
        msg1 = i.message(i.Header(self.icookie, self.rcookie, 0, i.EXCH_MAIN),
                         [(i.PL_SA, sai_b)] + [(i.PL_VID, v) for v in vids])
        self.log(f"IKE: Main Mode 1/6 to {self.server}: {len(prof.p1)} transforms, {len(vids)} vendor IDs")

        def accept_mm(reply):
            h = self._header(reply)
            if h is None:
                return None
            self._plain_notify(h, reply)
            if h.exch != i.EXCH_MAIN or h.msgid != 0:
                return None
            return h, i.unchain(h.next_payload, reply[i.HDR_LEN:]) if not h.flags & i.FLAG_ENC else None

        h, pl = self._exchange(msg1, accept_mm, "Main Mode message 1")
        self.rcookie = h.rcookie
        sa = i.find(pl, i.PL_SA)
        if not sa:
            raise IkeFailure("Main Mode message 2 without SA")
        props = i.parse_sa(sa[0])
        if len(props) != 1 or len(props[0][3]) != 1:
            raise IkeFailure("Main Mode message 2: the responder must choose one transform")
        attrs = dict(props[0][3][0][2])
        self.p1 = P1(attrs.get(i.P1_ENC), attrs.get(i.P1_KEY_LENGTH, 0) or None, attrs.get(i.P1_HASH),
                     attrs.get(i.P1_GROUP))
        self.p1_life = attrs.get(i.P1_LIFE_DURATION)
        if self.p1 not in prof.p1 or attrs.get(i.P1_AUTH) != self.auth.method:
            raise IkeFailure(f"the responder chose a transform we did not offer: {attrs}")
        for v in i.find(pl, i.PL_VID):
            if v in i.NATT_VIDS and v in vids and self.natt is None:
                self.natt = i.NATT_VIDS[v]
        self.log(f"IKE: Main Mode 2/6: chose {self.p1.name()}, NAT-T {self.natt or 'not supported'}")

        # Messages 3 and 4: KE, nonces, NAT-D.
        self.dh = k.DiffieHellman(self.p1.group)
        ni = os.urandom(32)
        natd_type = i.PL_NATD if self.natt == "rfc3947" else i.PL_NATD_DRAFT
        hashfn = k.HASHES[self.p1.hash][1]
        payloads = [(i.PL_KE, self.dh.public), (i.PL_NONCE, ni)] + self.auth.msg3_payloads()
        if self.natt:
            # RFC 3947 §3.2: the destination first, then our own address.
            payloads += [(natd_type, i.natd_hash(hashfn, self.icookie, self.rcookie, self.server, IKE_PORT)),
                         (natd_type, i.natd_hash(hashfn, self.icookie, self.rcookie, self.local, IKE_PORT))]
        msg3 = i.message(i.Header(self.icookie, self.rcookie, 0, i.EXCH_MAIN), payloads)
        self.log(f"IKE: Main Mode 3/6: KE ({k.GROUP_NAMES[self.p1.group]}), nonce" +
                 (", NAT-D" if self.natt else ""))

        def accept_mm4(reply):
            got = accept_mm(reply)
            if got is None or got[1] is None or not i.find(got[1], i.PL_KE):
                return None
            return got
        h, pl = self._exchange(msg3, accept_mm4, "Main Mode message 3")
        gxr, nr = i.find(pl, i.PL_KE)[0], (i.find(pl, i.PL_NONCE) or [None])[0]
        if nr is None:
            raise IkeFailure("Main Mode message 4 without nonce")
        try:
            gxy = self.dh.shared(gxr)
        except ValueError as e:
            raise IkeFailure(f"Main Mode message 4: bad KE: {e}") from None
        natd = i.find(pl, natd_type) if self.natt else []
        if self.natt:
            if len(natd) < 2:
                raise IkeFailure("Main Mode message 4: NAT-T agreed but fewer than two NAT-D")
            # The responder's first NAT-D is us as it sees us; the rest are its own addresses.
            self.nat_local = not hmac.compare_digest(
                natd[0], i.natd_hash(hashfn, self.icookie, self.rcookie, self.local, IKE_PORT))
            mine = i.natd_hash(hashfn, self.icookie, self.rcookie, self.server, IKE_PORT)
            self.nat_peer = not any(hmac.compare_digest(n, mine) for n in natd[1:])

        skeyid = self.auth.skeyid(self.p1.hash, ni, nr, gxy)
        d, a, e = k.skeyid_dae(self.p1.hash, skeyid, gxy, self.icookie, self.rcookie)
        block = k.CIPHERS[self.p1.enc][1]
        klen = (self.p1.key_bits // 8) if self.p1.key_bits else k.CIPHERS[self.p1.enc][2]
        self.keys = {"skeyid": skeyid, "d": d, "a": a, "e": e, "enc": k.cipher_key(self.p1.hash, e, klen)}
        self.ni, self.nr = ni, nr
        iv = k.phase1_iv(self.p1.hash, self.dh.public, gxr, block)
        nat = self.nat_state()
        self.log(f"IKE: Main Mode 4/6: keys derived, NAT: {nat}")

        if self.nat_local or self.nat_peer:
            self._float()

        # Messages 5 and 6, encrypted: identities and hashes.
        proto, port = prof.id_proto_port
        idii_b = self.auth.idii(self.local, proto, port)
        hi = k.hash_i(self.p1.hash, skeyid, self.dh.public, gxr, self.icookie, self.rcookie, sai_b, idii_b)
        payloads = self.auth.msg5_payloads(idii_b, hi)
        if prof.initial_contact:
            payloads.append((i.PL_N, i.notify(i.N_INITIAL_CONTACT, i.PROTO_ISAKMP, self.icookie + self.rcookie)))
        msg5, iv = self._encrypt(i.EXCH_MAIN, 0, payloads, iv)
        self.log(f"IKE: Main Mode 5/6: ID {self.auth.describe_id(self.local)}, "
                 f"{'HASH_I' if self.auth.method == i.AUTH_PSK else 'CERT, SIG_I'}" +
                 (" (to port 4500)" if self.floated else ""))

        def accept_mm6(reply):
            h = self._header(reply)
            if h is None or h.rcookie != self.rcookie:
                return None
            self._plain_notify(h, reply)
            if h.exch != i.EXCH_MAIN or not h.flags & i.FLAG_ENC:
                return None
            return h, reply
        h, reply = self._exchange(msg5, accept_mm6, f"Main Mode message 5 ({self.auth.silence})")
        try:
            plain, self.last_p1_iv = self._decrypt(h, reply, iv)
            pl = i.unchain(h.next_payload, plain)
        except (ValueError, i.IsakmpError) as ex:
            raise IkeFailure(f"Main Mode message 6 does not decrypt: {ex}{self.auth.hint}") from None
        self.peer_id = self.auth.verify6(pl, lambda idr_b: k.hash_r(self.p1.hash, skeyid, self.dh.public, gxr,
                                                                    self.icookie, self.rcookie, sai_b, idr_b))
        self.established = True
        self.times["main_mode_s"] = round(time.monotonic() - t0, 3)
        self.log(f"IKE: Main Mode 6/6: ISAKMP SA established with {self.server} (ID {self.peer_id}), "
                 f"{self.p1.name()}, auth {self.auth.name}, NAT: {nat}")

    def _float(self):
        """RFC 3947 §4 (and draft-02 §4): behind a NAT, the initiator moves to
        port 4500 from message 5 on."""
        self.sock4500 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock4500.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock4500.bind((self.local, NATT_PORT))
        self.floated = True

    def nat_state(self):
        if not self.natt:
            return "no NAT-T"
        if self.nat_local and self.nat_peer:
            return "both behind NAT"
        return "we are behind NAT" if self.nat_local else "peer behind NAT" if self.nat_peer else "none"

    # ------------------------------------------------------------ Quick Mode
    def _encap_mode(self):
        if not self.floated:
            return i.ENCAP_TUNNEL if self.tunnel else i.ENCAP_TRANSPORT
        if self.natt == "rfc3947":
            return i.ENCAP_UDP_TUNNEL_RFC if self.tunnel else i.ENCAP_UDP_TRANSPORT_RFC
        return i.ENCAP_UDP_TUNNEL_DRAFT if self.tunnel else i.ENCAP_UDP_TRANSPORT_DRAFT

    def quick_mode(self):
        t0 = time.monotonic()
        prof = self.profile
        msgid = struct.unpack("!I", os.urandom(4))[0] | 1
        self.spi_in = os.urandom(4)
        mode = self._encap_mode()
        transforms = []
        for p in prof.p2:
            attrs = [(i.P2_LIFE_TYPE, i.LIFE_SECONDS), (i.P2_LIFE_DURATION, prof.p2_life_s)]
            if prof.p2_life_kb:
                attrs += [(i.P2_LIFE_TYPE, i.LIFE_KB), (i.P2_LIFE_DURATION, prof.p2_life_kb)]
            attrs += [(i.P2_ENCAP, mode), (i.P2_AUTH, p.auth)]
            if p.key_bits:
                attrs.append((i.P2_KEY_LENGTH, p.key_bits))
            transforms.append((p.enc, attrs))
        sa = i.sa_body([i.proposal(1, i.PROTO_ESP, self.spi_in, transforms)])
        ni = os.urandom(32)
        if self.tunnel:
            (ln, lp), (rn, rp) = (s.split("/") for s in self.tunnel)
            idci, idcr = i.id_subnet(ln, int(lp)), i.id_subnet(rn, int(rp))
        else:
            idci = i.id_ipv4(self.local, 17, self.l2tp_sport)
            idcr = i.id_ipv4(self.server, 17, L2TP_PORT)
        rest = [(i.PL_SA, sa), (i.PL_NONCE, ni), (i.PL_ID, idci), (i.PL_ID, idcr)]
        if self.floated and not self.tunnel:
            # RFC 3947 §5.2: our original address and the responder's; the
            # drafts carry only ours.
            oa = i.PL_NATOA if self.natt == "rfc3947" else i.PL_NATOA_DRAFT
            rest.append((oa, i.nat_oa(self.local)))
            if self.natt == "rfc3947":
                rest.append((oa, i.nat_oa(self.server)))
        a, hid = self.keys["a"], self.p1.hash
        h1 = k.hash_1(hid, a, msgid, i.chain(rest)[1])
        block = k.CIPHERS[self.p1.enc][1]
        iv = k.phase2_iv(hid, self.last_p1_iv, msgid, block)
        msg1, iv = self._encrypt(i.EXCH_QUICK, msgid, [(i.PL_HASH, h1)] + rest, iv)
        sel = f"{self.tunnel[0]} <-> {self.tunnel[1]}" if self.tunnel else \
            f"udp {self.local}:{self.l2tp_sport} <-> {self.server}:{L2TP_PORT}"
        self.log(f"IKE: Quick Mode 1/3: {len(prof.p2)} ESP transforms, mode {mode}, {sel}, SPI in 0x{self.spi_in.hex()}")

        def accept_qm(reply):
            h = self._header(reply)
            if h is None or h.rcookie != self.rcookie or not h.flags & i.FLAG_ENC:
                return None
            if h.exch == i.EXCH_INFO:
                self._protected_notify(h, reply)
                return None
            if h.exch != i.EXCH_QUICK or h.msgid != msgid:
                return None
            return h, reply
        h, reply = self._exchange(msg1, accept_qm, "Quick Mode message 1")
        try:
            plain, iv = self._decrypt(h, reply, iv)
            pl = i.unchain(h.next_payload, plain)
        except (ValueError, i.IsakmpError) as ex:
            raise IkeFailure(f"Quick Mode message 2 does not decrypt: {ex}") from None
        if not pl or pl[0][0] != i.PL_HASH:
            raise IkeFailure("Quick Mode message 2 does not start with HASH(2)")
        hlen = 4 + len(pl[0][1])
        total = sum(4 + len(b) for _, b in pl)
        want = k.hash_2(hid, a, msgid, ni, plain[hlen:total])
        if not hmac.compare_digest(pl[0][1], want):
            raise IkeFailure("Quick Mode message 2: HASH(2) does not verify")
        sa2, nr = i.find(pl, i.PL_SA), i.find(pl, i.PL_NONCE)
        if not sa2 or not nr:
            raise IkeFailure("Quick Mode message 2 without SA or nonce")
        props = i.parse_sa(sa2[0])
        if len(props) != 1 or len(props[0][3]) != 1 or props[0][1] != i.PROTO_ESP or len(props[0][2]) != 4:
            raise IkeFailure("Quick Mode message 2: not one ESP transform with a 4-byte SPI")
        _, _, self.spi_out, [(_, tid, tattrs)] = props[0]
        attrs = dict(tattrs)
        self.p2 = next((p for p in prof.p2 if p.enc == tid and p.auth == attrs.get(i.P2_AUTH)
                        and p.key_bits == (attrs.get(i.P2_KEY_LENGTH) or None)), None)
        if self.p2 is None:
            raise IkeFailure(f"the responder chose an ESP transform we did not offer: {tid} {attrs}")
        self.encap = attrs.get(i.P2_ENCAP)
        for body in i.find(pl, i.PL_N):
            _, ntype, _, data = i.parse_notify(body)
            self.log(f"IKE: Quick Mode 2/3: notify {i.NOTIFY_NAMES.get(ntype, ntype)} {data.hex()}")
        nr = nr[0]

        h3 = k.hash_3(hid, a, msgid, ni, nr)
        msg3, _ = self._encrypt(i.EXCH_QUICK, msgid, [(i.PL_HASH, h3)], iv)
        self._send(msg3)
        enc_len = ESP_KEY_BYTES[(self.p2.enc, self.p2.key_bits)]
        auth_len = ESP_AUTH_BYTES[self.p2.auth]
        km_in = k.keymat(hid, self.keys["d"], i.PROTO_ESP, self.spi_in, ni, nr, enc_len + auth_len)
        km_out = k.keymat(hid, self.keys["d"], i.PROTO_ESP, self.spi_out, ni, nr, enc_len + auth_len)
        self.esp = {"encap": "udp" if self.floated else "none",
                    "cipher": ESP_CIPHER_NAME[(self.p2.enc, self.p2.key_bits)],
                    "integrity": ESP_AUTH_NAME[self.p2.auth],
                    "spi_out": int.from_bytes(self.spi_out, "big"),
                    "cipher_key_out": km_out[:enc_len].hex(), "integrity_key_out": km_out[enc_len:].hex(),
                    "spi_in": int.from_bytes(self.spi_in, "big"),
                    "cipher_key_in": km_in[:enc_len].hex(), "integrity_key_in": km_in[enc_len:].hex()}
        self.ipsec_up = True
        self.times["quick_mode_s"] = round(time.monotonic() - t0, 3)
        self.log(f"IKE: Quick Mode 3/3: IPsec SA established: ESP {self.esp['cipher']}/{self.esp['integrity']} "
                 f"{'tunnel' if self.tunnel else 'transport'}{', UDP 4500' if self.floated else ''}, "
                 f"SPIs in 0x{self.spi_in.hex()} out 0x{self.spi_out.hex()}")

    def _verified_informational(self, h, reply):
        """The payloads of an encrypted Informational whose HASH(1)
        verifies (RFC 2409 §5.7), or None."""
        try:
            iv = k.phase2_iv(self.p1.hash, self.last_p1_iv, h.msgid, k.CIPHERS[self.p1.enc][1])
            plain, _ = self._decrypt(h, reply, iv)
            pl = i.unchain(h.next_payload, plain)
        except (ValueError, i.IsakmpError):
            return None
        if not pl or pl[0][0] != i.PL_HASH:
            return None
        total = sum(4 + len(b) for _, b in pl)
        want = k.hash_1(self.p1.hash, self.keys["a"], h.msgid, plain[4 + len(pl[0][1]):total])
        if not hmac.compare_digest(pl[0][1], want):
            return None
        return pl

    def _protected_notify(self, h, reply):
        """An Informational under the ISAKMP SA: a Notify refusing Quick Mode
        ends it; a Delete of our SA too; an R-U-THERE is answered."""
        pl = self._verified_informational(h, reply)
        if pl is None:
            return
        self._answer_dpd(pl)
        for body in i.find(pl, i.PL_N):
            _, ntype, _, _ = i.parse_notify(body)
            if ntype < 8192:  # RFC 2408 §3.14.1: error types
                raise IkeFailure(f"the responder refused Quick Mode: {i.NOTIFY_NAMES.get(ntype, ntype)}")
        if i.find(pl, i.PL_D):
            raise IkeFailure("the responder deleted the SA during Quick Mode")

    # ------------------------------------------------------------ the whole thing
    def connect(self):
        """True with the ESP SA pair in self.esp; else self.failure says why."""
        try:
            self.main_mode()
            self.quick_mode()
            return True
        except IkeFailure as e:
            self.failure = f"IKE: {e}"
            self.log(f"failed: {self.failure}")
            return False

    # ------------------------------------------------------------ once connected
    def poll(self):
        """Reads what waits on port 500. After floating, port 4500 is the ESP
        transport's to read: it hands IKE datagrams to handle(); here only
        the keepalives leave on it."""
        if self.silent:
            return
        if self.floated:
            self._keepalive()
            return
        while readable(self.sock500, 0):
            data, (addr, _) = self.sock500.recvfrom(65535)
            if addr == self.server:
                self.handle(data)

    def _keepalive(self):
        """RFC 3948 §2.3: behind a NAT, a one-byte 0xFF datagram to port 4500
        every natt_keepalive seconds keeps the NAT's mapping while the SAs
        are up."""
        if not self.nat_local or not self.natt_keepalive or not self.ipsec_up:
            return
        now = time.monotonic()
        if self.next_keepalive is None:
            self.next_keepalive = now + self.natt_keepalive
        elif now >= self.next_keepalive:
            self.sock4500.sendto(NATT_KEEPALIVE, (self.server, NATT_PORT))
            self.keepalives_sent += 1
            self.next_keepalive = now + self.natt_keepalive

    def handle(self, data):
        """One ISAKMP datagram from the responder after Quick Mode: only
        protected Informationals of our ISAKMP SA count."""
        if self.silent or not self.established:
            return
        h = self._header(data)
        if h is None or h.rcookie != self.rcookie or h.exch != i.EXCH_INFO or not h.flags & i.FLAG_ENC:
            return
        pl = self._verified_informational(h, data)
        if pl is None:
            return
        self._answer_dpd(pl)
        for body in i.find(pl, i.PL_D):
            try:
                proto, spis = i.parse_delete(body)
            except struct.error:
                continue
            what = "ISAKMP SA" if proto == i.PROTO_ISAKMP else f"SPIs {', '.join('0x' + s.hex() for s in spis)}"
            self.deletes_received.append(what)
            self.log(f"IKE: the responder deleted {what}")

    def _answer_dpd(self, pl):
        for body in i.find(pl, i.PL_N):
            try:
                _, ntype, spi, data = i.parse_notify(body)
            except i.IsakmpError:
                continue
            # RFC 3706 §5: the ACK echoes the cookies and the sequence number.
            if ntype == i.N_R_U_THERE and spi == self.icookie + self.rcookie and len(data) == 4:
                self._informational(i.PL_N, i.notify(i.N_R_U_THERE_ACK, i.PROTO_ISAKMP, spi, data))
                self.dpd_answered += 1
                self.log(f"IKE: R-U-THERE {int.from_bytes(data, 'big')} answered")

    def vanish(self):
        """From now on nothing is read and nothing sent, Deletes included:
        a peer that lost power or its network."""
        self.silent = True
        self.established = self.ipsec_up = False

    def rekey(self):
        """A new Quick Mode on the same ISAKMP SA (the old pair stays until
        delete_ipsec()); returns the old (spi_in, spi_out, esp)."""
        old = (self.spi_in, self.spi_out, self.esp)
        self.log(f"IKE: rekeying phase 2 (old SPIs in 0x{self.spi_in.hex()} out 0x{self.spi_out.hex()})")
        try:
            self.quick_mode()
        except IkeFailure as e:
            self.failure = f"IKE: rekey: {e}"
            self.log(f"failed: {self.failure}")
            self.spi_in, self.spi_out, self.esp = old
            return None
        self.rekeys += 1
        return old

    def delete_ipsec(self, spi_in):
        """Delete for one IPsec SA named by our inbound SPI (RFC 2408 §3.15)."""
        self._informational(i.PL_D, i.delete(i.PROTO_ESP, [spi_in]))
        self.log(f"IKE: Delete sent for the IPsec SA (SPI 0x{spi_in.hex()})")

    def esp_socket(self):
        """The UDP 4500 socket that ESP shares with IKE after floating."""
        return self.sock4500 if self.floated else None

    def _informational(self, payload_type, body):
        msgid = struct.unpack("!I", os.urandom(4))[0] | 1
        rest = i.chain([(payload_type, body)])[1]
        h = k.hash_1(self.p1.hash, self.keys["a"], msgid, rest)
        iv = k.phase2_iv(self.p1.hash, self.last_p1_iv, msgid, k.CIPHERS[self.p1.enc][1])
        msg, _ = self._encrypt(i.EXCH_INFO, msgid, [(i.PL_HASH, h), (payload_type, body)], iv)
        self._send(msg)

    def hang_up(self):
        """Delete (RFC 2408 §3.15) for the IPsec SA, named by our inbound SPI
        (the SA the responder sends on), then for the ISAKMP SA, named by its
        cookies."""
        if self.ipsec_up:
            self._informational(i.PL_D, i.delete(i.PROTO_ESP, [self.spi_in]))
            self.log(f"IKE: Delete sent for the IPsec SA (SPI 0x{self.spi_in.hex()})")
            self.ipsec_up = False
        if self.established:
            self._informational(i.PL_D, i.delete(i.PROTO_ISAKMP, [self.icookie + self.rcookie]))
            self.log("IKE: Delete sent for the ISAKMP SA")
            self.established = False

    def close(self):
        if self.own_sock500:
            self.sock500.close()
        if self.sock4500:
            self.sock4500.close()

    def summary(self):
        return {
            "p1": self.p1.name() if self.p1 else None,
            "p1_lifetime": self.p1_life,
            "p2": self.p2.name() if self.p2 else None,
            "esp": f"{self.esp['cipher']}/{self.esp['integrity']}" if self.p2 else None,
            "encap_mode": self.encap,
            "spi_in": f"0x{self.spi_in.hex()}" if self.spi_in else None,
            "spi_out": f"0x{self.spi_out.hex()}" if self.spi_out else None,
            "cookies": f"{self.icookie.hex()}:{self.rcookie.hex()}",
            "natt": self.natt,
            "nat": self.nat_state() if self.p1 else None,
            "udp_encap": self.floated,
            "peer_id": self.peer_id,
            "auth": self.auth.name,
            "peer_certificate": self.auth.peer_certificate,
            "natt_keepalives_sent": self.keepalives_sent,
            "l2tp_sport": self.l2tp_sport,
            "dpd": i.VID_DPD in self.profile.vendor_ids,
            "dpd_answered": self.dpd_answered,
            "deletes_received": self.deletes_received,
            "rekeys": self.rekeys,
        } | self.times


def connect_esp(local, server, psk, profile, sport=None, log=print, **initiator_args):
    """IKE, then ESP with what it negotiated: (initiator, transport), the
    transport None when IKE failed. IKE datagrams that arrive on the UDP
    4500 socket the two share go back to the initiator (R-U-THERE behind
    a NAT)."""
    sport = sport or profile.sport()
    ike = Initiator(local, server, psk, profile, l2tp_sport=sport, log=log, **initiator_args)
    if not ike.connect():
        return ike, None
    transport = EspTransport(local, server, EspConfig(ike.esp), sport=sport, sock=ike.esp_socket())
    transport.on_ike = ike.handle
    return ike, transport
