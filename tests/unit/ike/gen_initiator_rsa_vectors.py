#!/usr/bin/python3
"""Vectors of a phase-1 rekey the gateway starts with RSA signatures
(initiator_rsa_vectors.h).

The PKI is the one in cert_vectors.h (its PEM keys and DER certificates are
read back from that file, so the two stay consistent). The gateway
(192.0.2.1, certificate C=CH, O=test, CN=gw) starts a Main Mode with the
suite AES-256/SHA1/ECP-256/RSA signatures, 28800 s, to the client
(198.51.100.5, C=CH, O=test, CN=client), no NAT-T; this script is the client
answering as a responder with fixed randomness and computes the gateway's
messages 1, 3 and 5: payloads packed with struct (RFC 2408 §3), SKEYID for
signatures (RFC 2409 §5.1), RSA with PKCS#1 v1.5 block type 1 over the bare
HASH (as IKEv1 signs) with Python integers, ECDH and AES from
python3-cryptography (the packing and signing helpers are those of gen_vectors.py
and gen_cert_vectors.py).

Run: /usr/bin/python3 tests/unit/ike/gen_initiator_rsa_vectors.py > tests/unit/ike/initiator_rsa_vectors.h
"""
import contextlib
import functools
import hashlib
import io
import os
import re
import struct

with contextlib.redirect_stdout(io.StringIO()):
    # Their helpers only (emit, det, payload packing, raw PKCS#1 signing);
    # the PKI gen_cert_vectors.py makes on import is not used.
    import gen_cert_vectors as gc  # noqa: E402
    import gen_vectors as gv  # noqa: E402

from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.hazmat.primitives.ciphers import algorithms  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "cert_vectors.h")) as f:
    CV = f.read()


def cv_pem(name):
    return re.search(rf'{name} = R"PEM\((.*?)\)PEM"', CV, re.S).group(1).encode()


def cv_hex(name):
    m = re.search(rf'{name} =\s*((?:"[0-9a-f]*"\s*)+);', CV)
    return bytes.fromhex("".join(re.findall(r'"([0-9a-f]*)"', m.group(1))))


GW_KEY = serialization.load_pem_private_key(cv_pem("gw_key_pem"), None)
CLIENT_KEY = serialization.load_pem_private_key(cv_pem("client_key_pem"), None)
GW_DER, CLIENT_DER = cv_hex("gw_der"), cv_hex("client_der")
CA_SUBJECT, GW_SUBJECT, CLIENT_SUBJECT = cv_hex("ca_subject"), cv_hex("gw_subject"), cv_hex("client_subject")

OUT = []
gv.OUT = OUT  # gv.emit writes here
emit = gv.emit
det = gv.det
raw_sign = gc.raw_sign
payloads = gv.chain_payloads


prf = functools.partial(gv.prf, "sha1")
xy = gc.xy

ICKY = bytes.fromhex("9191919191919191")  # the gateway's cookie
RCKY = bytes.fromhex("2828282828282828")  # the client's


def header(first, flags, length, rcky=RCKY):
    return ICKY + rcky + struct.pack("!BBBBII", first, 0x10, 2, flags, 0, length)


def clear(items, rcky=RCKY):
    first, body = payloads(items)
    return header(first, 0, 28 + len(body), rcky) + body


NI, NR = det(b"p1rk-rsa-ni", 32), det(b"p1rk-rsa-nr", 32)
xi = int.from_bytes(det(b"p1rk-rsa-xi", 32), "big")
xr = int.from_bytes(det(b"p1rk-rsa-xr", 32), "big")
ki = ec.derive_private_key(xi, ec.SECP256R1())
kr = ec.derive_private_key(xr, ec.SECP256R1())


GXI, GXR = xy(ki), xy(kr)
GXY = ki.exchange(ec.ECDH(), kr.public_key())  # RFC 5903 §7: the x coordinate

# AES-CBC-256, SHA1, RSA signatures (3), ECP-256 (19), 28800 s.
attrs = b"".join(struct.pack("!HH", 0x8000 | t, v) for t, v in
                 [(1, 7), (14, 256), (2, 2), (3, 3), (4, 19), (11, 1), (12, 28800)])
transform = payloads([(3, struct.pack("!BBH", 1, 1, 0) + attrs)])[1]
proposal = payloads([(2, struct.pack("!BBBB", 1, 1, 0, 1) + transform)])[1]
SAI_B = struct.pack("!II", 1, 1) + proposal
CERTREQ = bytes([4]) + CA_SUBJECT
msg1 = clear([(1, SAI_B)], rcky=bytes(8))
msg2 = clear([(1, SAI_B)])
msg3 = clear([(4, GXI), (10, NI), (7, CERTREQ)])
msg4 = clear([(4, GXR), (10, NR), (7, CERTREQ)])



def sig_keys(ni, nr, gxy, icky, rcky, gxi, gxr):
    """SKEYID for signatures (RFC 2409 §5), SKEYID_d, SKEYID_a, the
    AES-256 key and the first IV, with SHA1 as the PRF."""
    skeyid = prf(ni + nr, gxy)
    sk_d = prf(skeyid, gxy, icky, rcky, b"\x00")
    sk_a = prf(skeyid, sk_d, gxy, icky, rcky, b"\x01")
    sk_e = prf(skeyid, sk_a, gxy, icky, rcky, b"\x02")
    k1 = prf(sk_e, b"\x00")  # RFC 2409 Appendix B: SHA1 is short of 32 bytes
    return skeyid, sk_d, sk_a, (k1 + prf(sk_e, k1))[:32], hashlib.sha1(gxi + gxr).digest()[:16]


skeyid, sk_d, sk_a, key, iv0 = sig_keys(NI, NR, GXY, ICKY, RCKY, GXI, GXR)


def encrypted(items, iv):
    first, body = payloads(items)
    ct = gv.cbc(algorithms.AES, key, iv, body + bytes(-len(body) % 16))
    return header(first, 1, 28 + len(ct)) + ct, ct[-16:]


IDII = struct.pack("!BBH", 9, 17, 500) + GW_SUBJECT
IDIR = struct.pack("!BBH", 9, 17, 500) + CLIENT_SUBJECT
hash_i = prf(skeyid, GXI, GXR, ICKY, RCKY, SAI_B, IDII)
hash_r = prf(skeyid, GXR, GXI, RCKY, ICKY, SAI_B, IDIR)
msg5, msg5_last = encrypted([(5, IDII), (6, b"\x04" + GW_DER), (9, raw_sign(GW_KEY, hash_i))], iv0)
sig_r = raw_sign(CLIENT_KEY, hash_r)
msg6, msg6_last = encrypted([(5, IDIR), (6, b"\x04" + CLIENT_DER), (9, sig_r)], msg5_last)
bad = sig_r[:-1] + bytes([sig_r[-1] ^ 1])
msg6_bad_sig, _ = encrypted([(5, IDIR), (6, b"\x04" + CLIENT_DER), (9, bad)], msg5_last)

emit("icky", ICKY, "The gateway's Main Mode with RSA signatures to 198.51.100.5 (ECP-256, AES-256/SHA1)")
emit("ni", NI)
emit("xi", xi.to_bytes(32, "big"))
emit("peer_id", IDIR)
emit("msg1", msg1)
emit("msg2", msg2)
emit("msg3", msg3)
emit("msg4", msg4)
emit("msg5", msg5)
emit("msg6", msg6)
emit("msg6_bad_sig", msg6_bad_sig, "SIG_R with its last bit flipped")
emit("skeyid", skeyid)
emit("skeyid_d", sk_d)
emit("skeyid_a", sk_a)
emit("enc_key", key)
emit("iv", iv0)
emit("last_block", msg6_last)

print("// Generated by tests/unit/ike/gen_initiator_rsa_vectors.py (/usr/bin/python3); do not edit.")
print("#pragma once")
print()
print("namespace l2tpgw::ike::p1rk_rsa {")
print()
print("\n".join(OUT))
print()
print("}  // namespace l2tpgw::ike::p1rk_rsa")
