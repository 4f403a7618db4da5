#!/usr/bin/python3
"""Vectors of an Aggressive Mode with RSA signatures (aggressive_rsa_vectors.h).

The PKI is the one in cert_vectors.h (its PEM keys and DER certificates are
read back from that file, so the two stay consistent). The client (C=CH,
O=test, CN=client, local 198.51.100.5, seen by the gateway as 203.0.113.9
behind a NAT) starts an Aggressive Mode (RFC 2409 §5.4 with the signature
authentication of §5.1) to the gateway at 192.0.2.1 (C=CH, O=test, CN=gw)
offering AES-256/SHA1/ECP-256/RSA signatures, 28800 s, with IDii its
certificate's DN, a CERTREQ naming the CA and the vendor IDs of RFC 3947
NAT-T, DPD and IKE fragmentation (as strongSwan sends it). This script
computes the client's messages 1 and 3 and the gateway's expected message 2
with its randomness fixed: payloads packed with struct (RFC 2408 §3),
SKEYID for signatures (RFC 2409 §5: prf(Ni_b | Nr_b, g^xy)), RSA with
PKCS#1 v1.5 block type 1 over the bare HASH (as IKEv1 signs) with Python
integers, ECDH and AES from python3-cryptography, NAT-D from RFC 3947 §3.2
(the packing and signing helpers are those of gen_vectors.py and
gen_cert_vectors.py; nothing comes from the C++ side).

Message 3 exists encrypted (with INITIAL-CONTACT, as strongSwan sends it),
in the clear, as three fragments, and in one variant per failure the
responder must name; message 1 also exists with other IDs for those of the
failures that depend on IDii.

Run: /usr/bin/python3 tests/unit/ike/gen_aggressive_rsa_vectors.py > tests/unit/ike/aggressive_rsa_vectors.h
"""
import contextlib
import hashlib
import io
import struct

with contextlib.redirect_stdout(io.StringIO()):
    # The PKI as read back from cert_vectors.h and the packing and signing
    # helpers of gen_vectors.py and gen_cert_vectors.py, as the phase-1
    # rekey vectors use them; their own output is dropped.
    import gen_initiator_rsa_vectors as gi  # noqa: E402

from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.hazmat.primitives.ciphers import algorithms  # noqa: E402

gc, gv = gi.gc, gi.gv
GW_KEY, CLIENT_KEY, GW_DER, CLIENT_DER = gi.GW_KEY, gi.CLIENT_KEY, gi.GW_DER, gi.CLIENT_DER
CA_SUBJECT, GW_SUBJECT, CLIENT_SUBJECT = gi.CA_SUBJECT, gi.GW_SUBJECT, gi.CLIENT_SUBJECT
CLIENT_OTHER_DER, REVOKED_DER = gi.cv_hex("client_other_der"), gi.cv_hex("revoked_der")
REVOKED_SUBJECT = gc.dn(("C", "CH"), ("O", "test"), ("CN", "revoked")).public_bytes()

OUT = gi.OUT  # where gv.emit writes; the rekey vectors' lines are dropped
OUT.clear()
emit, det, raw_sign, payloads, prf, xy = gi.emit, gi.det, gi.raw_sign, gi.payloads, gi.prf, gi.xy

ICKY = bytes.fromhex("a1a2a3a4a5a6a7a8")  # the client's cookie
RCKY = bytes.fromhex("3c3c3c3c3c3c3c3c")  # the gateway's
GW = bytes([192, 0, 2, 1])
CLIENT_LOCAL = bytes([198, 51, 100, 5])
CLIENT_SEEN = bytes([203, 0, 113, 9])
V_RFC3947 = hashlib.md5(b"RFC 3947").digest()
V_DPD = bytes.fromhex("afcad71368a1f1c96b8696fc77570100")  # RFC 3706 §5.1
V_FRAG = hashlib.md5(b"FRAGMENTATION").digest()  # strongSwan appends flags 0x80000000


def message(first, body, flags=0, rcky=RCKY):  # exchange 4: Aggressive Mode
    return ICKY + rcky + struct.pack("!BBBBII", first, 0x10, 4, flags, 0, 28 + len(body)) + body


def clear(items, rcky=RCKY):
    return message(*payloads(items), rcky=rcky)


NI, NR = det(b"am-rsa-ni", 32), det(b"am-rsa-nr", 32)
xi, xr = (int.from_bytes(det(b"am-rsa-x" + side, 32), "big") for side in (b"i", b"r"))
ki, kr = (ec.derive_private_key(x, ec.SECP256R1()) for x in (xi, xr))
GXI, GXR = xy(ki), xy(kr)
GXY = ki.exchange(ec.ECDH(), kr.public_key())  # RFC 5903 §7: the x coordinate

# The suite of the phase-1 rekey vectors: AES-CBC-256, SHA1, RSA
# signatures (3), ECP-256 (19), 28800 s; the CERTREQ names the CA.
SAI_B, CERTREQ = gi.SAI_B, gi.CERTREQ


def id_body(t, data):
    return struct.pack("!BBH", t, 17, 500) + data


IDII = id_body(9, CLIENT_SUBJECT)
IDIR = id_body(9, GW_SUBJECT)


def msg1(idii):
    return clear([(1, SAI_B), (4, GXI), (10, NI), (5, idii), (7, CERTREQ), (13, V_RFC3947),
                  (13, V_DPD), (13, V_FRAG + bytes.fromhex("80000000"))], rcky=bytes(8))


skeyid, sk_d, sk_a, key, iv0 = gi.sig_keys(NI, NR, GXY, ICKY, RCKY, GXI, GXR)


def natd(ip, port):  # RFC 3947 §3.2 with the negotiated hash
    return hashlib.sha1(ICKY + RCKY + ip + struct.pack("!H", port)).digest()


# Message 2: the chosen (only) transform, KE, Nr, our DN, our certificate,
# the CERTREQ naming our CA, SIG_R; our vendor IDs; NAT-D of the peer as
# we see it, then ours.
hash_r = prf(skeyid, GXR, GXI, RCKY, ICKY, SAI_B, IDIR)
msg2 = clear([(1, SAI_B), (4, GXR), (10, NR), (5, IDIR), (6, b"\x04" + GW_DER), (7, CERTREQ),
              (9, raw_sign(GW_KEY, hash_r)), (13, V_RFC3947), (13, V_DPD), (13, V_FRAG),
              (20, natd(CLIENT_SEEN, 500)), (20, natd(GW, 500))])


def hash_i(idii):
    return prf(skeyid, GXI, GXR, ICKY, RCKY, SAI_B, idii)


NATD3 = [(20, natd(GW, 500)), (20, natd(CLIENT_LOCAL, 500))]
IC = struct.pack("!IBBH", 1, 1, 16, 24578) + ICKY + RCKY  # INITIAL-CONTACT


def encrypted(items):
    first, body = payloads(items)
    ct = gv.cbc(algorithms.AES, key, iv0, body + bytes(-len(body) % 16))
    return message(first, ct, flags=1), ct[-16:]


def msg3_items(idii, certs, signer, tamper=False, order="CSAB"):
    """CERTs (C), SIG_I (S) and the two NAT-D (A, B) in `order`; payload
    order is free (RFC 2408 §5), and a variant that starts differently is
    encrypted to different blocks from its first one on."""
    parts = {"C": [(6, b"\x04" + c) for c in certs], "S": [], "A": NATD3[:1], "B": NATD3[1:]}
    if signer is not None:
        s = raw_sign(signer, hash_i(idii))
        if tamper:
            s = s[:-1] + bytes([s[-1] ^ 1])
        parts["S"] = [(9, s)]
    return [item for k in order for item in parts[k]]


good = msg3_items(IDII, [CLIENT_DER], CLIENT_KEY)
msg3, msg3_last = encrypted(good + [(11, IC)])
msg3_clear = clear(good)

for name, value, comment in [
        ("msg1", msg1(IDII), "Aggressive Mode with RSA signatures (ECP-256, AES-256/SHA1, NAT-T RFC 3947)"),
        ("msg2", msg2, "Our message 2 when our randomness is the following"),
        ("rcky", RCKY, None), ("nr", NR, None), ("xr", xr.to_bytes(32, "big"), None),
        ("msg3", msg3, "Message 3 encrypted under the phase-1 keys, with INITIAL-CONTACT"),
        ("msg3_clear", msg3_clear, "The same in the clear (RFC 2409 §5.4), without the notification"),
        ("skeyid_d", sk_d, None), ("skeyid_a", sk_a, None), ("enc_key", key, None), ("iv0", iv0, None),
        ("last_block", msg3_last, None)]:
    emit(name, value, comment)

# Message 3 in three fragments (payload 132 as strongSwan sends it: id,
# number from 1, flags with bit 0 = last; the data, in order, is the whole
# message), in headers of the Aggressive Mode exchange.
cut = (0, len(msg3) // 3, 2 * len(msg3) // 3, len(msg3))
for i in range(3):
    body = struct.pack("!HBB", 1, i + 1, 1 if i == 2 else 0) + msg3[cut[i]:cut[i + 1]]
    frag = payloads([(132, body)])[1]
    emit(f"msg3_frag{i + 1}", message(132, frag),
         "Message 3 as three fragments" if i == 0 else None)

# Failures of message 3 after the message 1 above (IDii the client's DN).
OTHER_KEY = GW_KEY  # a key that is not the certificate's
variants = [
    ("untrusted", [CLIENT_OTHER_DER], CLIENT_KEY, {}),
    ("bad_sig", [CLIENT_DER], CLIENT_KEY, {"tamper": True, "order": "ABCS"}),
    ("wrong_key", [CLIENT_DER], OTHER_KEY, {"order": "SCAB"}),
    ("no_cert", [], CLIENT_KEY, {"order": "SAB"}),
    ("no_sig", [CLIENT_DER], None, {"order": "BAC"}),
]
for name, certs, signer, kw in variants:
    emit(f"msg3_{name}", encrypted(msg3_items(IDII, certs, signer, **kw))[0])

# IDii the certificate does not name (an FQDN the configuration enables),
# and IDii of a revoked certificate: message 1 and a message 3 signed over
# the HASH_I of that ID.
ID_FQDN = id_body(2, b"intruder.example.org")
ID_REVOKED = id_body(9, REVOKED_SUBJECT)
emit("msg1_fqdn", msg1(ID_FQDN), "IDii intruder.example.org, which the client's certificate does not name")
emit("msg3_fqdn", encrypted(msg3_items(ID_FQDN, [CLIENT_DER], CLIENT_KEY, order="ACSB"))[0])
emit("msg1_revoked", msg1(ID_REVOKED), "IDii C=CH, O=test, CN=revoked")
# Its key is not in cert_vectors.h; the chain is refused before the
# signature is looked at, so the client's key stands in.
emit("msg3_revoked", encrypted(msg3_items(ID_REVOKED, [REVOKED_DER], CLIENT_KEY))[0])

print("// Generated by tests/unit/ike/gen_aggressive_rsa_vectors.py (/usr/bin/python3); do not edit.")
print("#pragma once")
print()
print("namespace l2tpgw::ike::am_rsa {")
print()
print("\n".join(OUT))
print()
print("}  // namespace l2tpgw::ike::am_rsa")
