#!/usr/bin/python3
"""Independent vectors for IKEv1 authentication with RSA signatures
(tests/unit/ike/cert_vectors.h).

A small PKI made with python3-cryptography: a root CA, an intermediate CA,
the gateway's and clients' certificates (good, expired, not yet valid,
revoked, without digitalSignature, from a CA the gateway does not trust)
and a CRL. Every certificate and the CRL that should stay usable runs until
2060; the checks in the tests are made at a fixed time (CHECK_TIME).

Then a whole Main Mode with RSA signatures (RFC 2409 §5.1: SKEYID =
prf(Ni_b | Nr_b, g^xy), SIG = RSA over HASH_I/HASH_R with PKCS#1 v1.5
block type 1 and no DigestInfo, as IKEv1 implementations sign it) over
ECP-256, AES-256-CBC and SHA1: messages 1, 3 and 5 of the initiator and the
responder's expected messages 4 and 6 (PKCS#1 v1.5 is deterministic, so
SIG_R is known here). Message 5 comes in variants, one per failure the
responder must name. Payloads are packed with struct from RFC 2408 §3;
RSA is done with Python integers (pow) from the key's numbers, so no part
of the signature scheme is shared with the C++ side.

Run once: /usr/bin/python3 tests/unit/ike/gen_cert_vectors.py > tests/unit/ike/cert_vectors.h
(the keys are fresh each run, so the output differs between runs).
"""
import datetime
import hashlib
import hmac
import ipaddress
import struct

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.x509.oid import NameOID

OUT = []
UTC = datetime.timezone.utc


def emit(name, data, comment=None):
    if comment:
        OUT.append(f"// {comment}")
    h = data.hex()
    parts = [h[i:i + 96] for i in range(0, len(h), 96)] or [""]
    body = "\n    ".join(f'"{p}"' for p in parts)
    OUT.append(f"inline constexpr const char* {name} =\n    {body};")


def emit_text(name, text, comment=None):
    if comment:
        OUT.append(f"// {comment}")
    OUT.append(f'inline constexpr const char* {name} = R"PEM({text})PEM";')


def emit_int(name, value):
    OUT.append(f"inline constexpr long long {name} = {value};")


def at(y, m=1, d=1):
    return datetime.datetime(y, m, d, tzinfo=UTC)


CHECK_TIME = int(at(2030, 6, 1).timestamp())


def dn(*parts):
    oids = {"C": NameOID.COUNTRY_NAME, "O": NameOID.ORGANIZATION_NAME, "CN": NameOID.COMMON_NAME}
    return x509.Name([x509.NameAttribute(oids[k], v) for k, v in parts])


def key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def cert(subject, subject_key, issuer, issuer_key, serial, start, end, ca=False, ku=None, san=None):
    b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
         .public_key(subject_key.public_key()).serial_number(serial)
         .not_valid_before(start).not_valid_after(end)
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ca:
        ku = dict(key_cert_sign=True, crl_sign=True)
    if ku is not None:
        flags = dict(digital_signature=False, content_commitment=False, key_encipherment=False,
                     data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                     encipher_only=False, decipher_only=False)
        flags.update(ku)
        b = b.add_extension(x509.KeyUsage(**flags), critical=True)
    if san:
        b = b.add_extension(x509.SubjectAlternativeName(san), critical=False)
    return b.sign(issuer_key, hashes.SHA256())


def der(c):
    return c.public_bytes(serialization.Encoding.DER)


def pem(c):
    return c.public_bytes(serialization.Encoding.PEM).decode()


def key_pem(k):
    return k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                           serialization.NoEncryption()).decode()


# ---------------------------------------------------------------- the PKI
CA_DN = dn(("C", "CH"), ("O", "test"), ("CN", "Test CA"))
ca_key = key()
ca = cert(CA_DN, ca_key, CA_DN, ca_key, 1, at(2024), at(2060), ca=True)
SUB_DN = dn(("C", "CH"), ("O", "test"), ("CN", "Test Sub CA"))
sub_key = key()
sub = cert(SUB_DN, sub_key, CA_DN, ca_key, 2, at(2024), at(2060), ca=True)
OTHER_DN = dn(("C", "CH"), ("O", "other"), ("CN", "Other CA"))
other_key = key()
other = cert(OTHER_DN, other_key, OTHER_DN, other_key, 1, at(2024), at(2060), ca=True)

GW_DN = dn(("C", "CH"), ("O", "test"), ("CN", "gw"))
gw_key = key()
gw = cert(GW_DN, gw_key, CA_DN, ca_key, 10, at(2024), at(2060), ku=dict(digital_signature=True),
          san=[x509.IPAddress(ipaddress.ip_address("192.0.2.1")), x509.DNSName("gw.example.org")])

CLIENT_DN = dn(("C", "CH"), ("O", "test"), ("CN", "client"))
CLIENT_SAN = [x509.DNSName("client.example.org"), x509.IPAddress(ipaddress.ip_address("198.51.100.5")),
              x509.RFC822Name("client@example.org")]
client_key = key()
client = cert(CLIENT_DN, client_key, CA_DN, ca_key, 11, at(2024), at(2060),
              ku=dict(digital_signature=True, key_encipherment=True), san=CLIENT_SAN)
# The same subject from a CA the gateway does not trust.
client_other = cert(CLIENT_DN, client_key, OTHER_DN, other_key, 11, at(2024), at(2060),
                    ku=dict(digital_signature=True), san=CLIENT_SAN)
old_key = key()
OLD_DN = dn(("C", "CH"), ("O", "test"), ("CN", "old"))
old = cert(OLD_DN, old_key, CA_DN, ca_key, 12, at(2001), at(2011), ku=dict(digital_signature=True))
FUTURE_DN = dn(("C", "CH"), ("O", "test"), ("CN", "future"))
future = cert(FUTURE_DN, old_key, CA_DN, ca_key, 13, at(2050), at(2070), ku=dict(digital_signature=True))
REVOKED_DN = dn(("C", "CH"), ("O", "test"), ("CN", "revoked"))
revoked = cert(REVOKED_DN, old_key, CA_DN, ca_key, 14, at(2024), at(2060), ku=dict(digital_signature=True))
NOKU_DN = dn(("C", "CH"), ("O", "test"), ("CN", "noku"))
noku = cert(NOKU_DN, old_key, CA_DN, ca_key, 15, at(2024), at(2060), ku=dict(key_encipherment=True))
SUBCLIENT_DN = dn(("C", "CH"), ("O", "test"), ("CN", "subclient"))
subclient = cert(SUBCLIENT_DN, old_key, SUB_DN, sub_key, 16, at(2024), at(2060),
                 ku=dict(digital_signature=True))

crl = (x509.CertificateRevocationListBuilder().issuer_name(CA_DN)
       .last_update(at(2024)).next_update(at(2060))
       .add_revoked_certificate(x509.RevokedCertificateBuilder().serial_number(14)
                                .revocation_date(at(2025)).build())
       .sign(ca_key, hashes.SHA256()))

emit_int("check_time", CHECK_TIME)
emit_text("ca_pem", pem(ca), "Trusted root CA (C=CH, O=test, CN=Test CA), 2024..2060")
emit_text("sub_ca_pem", pem(sub))
emit_text("other_ca_pem", pem(other))
emit_text("crl_pem", crl.public_bytes(serialization.Encoding.PEM).decode(),
          "CRL of Test CA revoking serial 14 (CN=revoked), next update 2060")
emit_text("gw_pem", pem(gw))
emit_text("gw_key_pem", key_pem(gw_key))
emit_text("client_key_pem", key_pem(client_key))
emit("ca_subject", CA_DN.public_bytes())
emit("gw_subject", GW_DN.public_bytes())
emit("client_subject", CLIENT_DN.public_bytes())
for name, c in [("ca", ca), ("sub_ca", sub), ("gw", gw), ("client", client), ("client_other", client_other),
                ("old", old), ("future", future), ("revoked", revoked), ("noku", noku),
                ("subclient", subclient)]:
    emit(f"{name}_der", der(c))


# ---------------------------------------------------------------- RSA by hand
def raw_sign(k, h):
    """PKCS#1 v1.5 block type 1 over the bare hash (RFC 2409 §5.1 as IKEv1 uses it)."""
    n = k.private_numbers().public_numbers.n
    d = k.private_numbers().d
    size = (n.bit_length() + 7) // 8
    em = b"\x00\x01" + b"\xff" * (size - 3 - len(h)) + b"\x00" + h
    return pow(int.from_bytes(em, "big"), d, n).to_bytes(size, "big")


def raw_open(pub, sig):
    n, e = pub.public_numbers().n, pub.public_numbers().e
    size = (n.bit_length() + 7) // 8
    return pow(int.from_bytes(sig, "big"), e, n).to_bytes(size, "big")


HASH = hashlib.sha1(b"a hash to sign").digest()
sig = raw_sign(gw_key, HASH)
assert raw_open(gw_key.public_key(), sig).endswith(b"\x00" + HASH)
emit("sign_hash", HASH, "Raw PKCS#1 v1.5 signature of a SHA1-sized hash with the gateway's key")
emit("sign_gw", sig)
# The same hash signed the X.509 way (DigestInfo): not what IKEv1 verifies.
emit("sign_gw_digestinfo", gw_key.sign(HASH, padding.PKCS1v15(), Prehashed(hashes.SHA1())))


# ---------------------------------------------------------------- a Main Mode
def det(label, n):
    out, i = b"", 0
    while len(out) < n:
        out += hashlib.sha256(label + bytes([i])).digest()
        i += 1
    return out[:n]


def prf(k, *parts):
    return hmac.new(k, b"".join(parts), hashlib.sha1).digest()


def payload(nxt, body):
    return struct.pack("!BBH", nxt, 0, 4 + len(body)) + body


def chain(items):  # [(type, body)] -> (first type, bytes)
    out = b""
    for i, (t, body) in enumerate(items):
        nxt = items[i + 1][0] if i + 1 < len(items) else 0
        out += payload(nxt, body)
    return (items[0][0] if items else 0), out


def header(first, flags=0, length=0, rcky=bytes(8)):
    return ICKY + rcky + struct.pack("!BBBBII", first, 0x10, 2, flags, 0, length)


def message(items, rcky=bytes(8)):
    first, body = chain(items)
    return header(first, 0, 28 + len(body), rcky) + body


ICKY = bytes.fromhex("c1c2c3c4c5c6c7c8")
RCKY = bytes.fromhex("5151515151515151")
NI = det(b"rsa-ni", 32)
NR = det(b"rsa-nr", 32)
CURVE = ec.SECP256R1()
xi = int.from_bytes(det(b"rsa-xi", 32), "big")
xr = int.from_bytes(det(b"rsa-xr", 32), "big")
ki = ec.derive_private_key(xi, CURVE)
kr = ec.derive_private_key(xr, CURVE)


def xy(k):
    n = k.public_key().public_numbers()
    return n.x.to_bytes(32, "big") + n.y.to_bytes(32, "big")


GXI, GXR = xy(ki), xy(kr)
GXY = ki.exchange(ec.ECDH(), kr.public_key())  # RFC 5903 §7: the x coordinate

# Proposal: AES-CBC-256 (7, key length 256), SHA1 (2), RSA signatures (3),
# ECP-256 (19), 28800 s (RFC 2409 Appendix A).
attrs = b"".join(struct.pack("!HH", 0x8000 | t, v) for t, v in
                 [(1, 7), (14, 256), (2, 2), (3, 3), (4, 19), (11, 1), (12, 28800)])
transform = struct.pack("!BBH", 0, 0, 8 + len(attrs)) + struct.pack("!BBH", 1, 1, 0) + attrs
proposal = struct.pack("!BBHBBBB", 0, 0, 8 + len(transform), 1, 1, 0, 1) + transform
sai_b = struct.pack("!II", 1, 1) + proposal
mm1 = message([(1, sai_b)])
mm2 = message([(1, sai_b)], RCKY)
CERTREQ_CA = bytes([4]) + CA_DN.public_bytes()
mm3 = message([(4, GXI), (10, NI), (7, CERTREQ_CA)], RCKY)
mm4 = message([(4, GXR), (10, NR), (7, CERTREQ_CA)], RCKY)

skeyid = prf(NI + NR, GXY)  # RFC 2409 §5: signatures
skeyid_d = prf(skeyid, GXY, ICKY, RCKY, b"\x00")
skeyid_a = prf(skeyid, skeyid_d, GXY, ICKY, RCKY, b"\x01")
skeyid_e = prf(skeyid, skeyid_a, GXY, ICKY, RCKY, b"\x02")
k1 = prf(skeyid_e, b"\x00")  # Appendix B: SHA1 is short of 32 bytes
enc_key = (k1 + prf(skeyid_e, k1))[:32]
iv0 = hashlib.sha1(GXI + GXR).digest()[:16]


def encrypted(items, iv):
    first, body = chain(items)
    body += bytes(-len(body) % 16)
    enc = Cipher(algorithms.AES(enc_key), modes.CBC(iv)).encryptor()
    ct = enc.update(body) + enc.finalize()
    return header(first, 1, 28 + len(ct), RCKY) + ct, ct[-16:]


def id_body(t, data):
    return struct.pack("!BBH", t, 17, 500) + data


def hash_i(idii_b):
    return prf(skeyid, GXI, GXR, ICKY, RCKY, sai_b, idii_b)


def msg5(id_b, certs, signer, tamper=None, digestinfo=False):
    h = hash_i(id_b)
    if digestinfo:
        s = signer.sign(h, padding.PKCS1v15(), Prehashed(hashes.SHA1()))
    else:
        s = raw_sign(signer, h)
    if tamper:
        s = s[:-1] + bytes([s[-1] ^ 1])
    items = [(5, id_b)] + [(6, c) for c in certs] + [(9, s)]
    return encrypted(items, iv0)


CLIENT_ID = id_body(9, CLIENT_DN.public_bytes())
mm5, mm5_last = msg5(CLIENT_ID, [b"\x04" + der(client)], client_key)
IDIR = id_body(9, GW_DN.public_bytes())
hash_r = prf(skeyid, GXR, GXI, RCKY, ICKY, sai_b, IDIR)
mm6, _ = encrypted([(5, IDIR), (6, b"\x04" + der(gw)), (9, raw_sign(gw_key, hash_r))], mm5_last)

emit("rsa_rcky", RCKY, "Main Mode with RSA signatures (ECP-256, AES-256/SHA1), responder's randomness")
emit("rsa_nr", NR)
emit("rsa_xr", xr.to_bytes(32, "big"))
emit("rsa_msg1", mm1)
emit("rsa_msg2", mm2)
emit("rsa_msg3", mm3)
emit("rsa_msg4", mm4)
emit("rsa_msg5", mm5)
emit("rsa_msg6", mm6)
emit("rsa_skeyid_d", skeyid_d)
emit("rsa_skeyid_a", skeyid_a)
emit("rsa_enc_key", enc_key)
emit("rsa_iv0", iv0)

variants = [
    ("untrusted", CLIENT_ID, [b"\x04" + der(client_other)], client_key, {}),
    ("expired", id_body(9, OLD_DN.public_bytes()), [b"\x04" + der(old)], old_key, {}),
    ("future", id_body(9, FUTURE_DN.public_bytes()), [b"\x04" + der(future)], old_key, {}),
    ("revoked", id_body(9, REVOKED_DN.public_bytes()), [b"\x04" + der(revoked)], old_key, {}),
    ("noku", id_body(9, NOKU_DN.public_bytes()), [b"\x04" + der(noku)], old_key, {}),
    ("wrong_id", id_body(2, b"intruder.example.org"), [b"\x04" + der(client)], client_key, {}),
    ("id_fqdn", id_body(2, b"CLIENT.example.org"), [b"\x04" + der(client)], client_key, {}),
    ("id_ipv4", id_body(1, bytes([198, 51, 100, 5])), [b"\x04" + der(client)], client_key, {}),
    ("id_email", id_body(3, b"client@example.org"), [b"\x04" + der(client)], client_key, {}),
    ("bad_sig", CLIENT_ID, [b"\x04" + der(client)], client_key, {"tamper": True}),
    ("wrong_key", CLIENT_ID, [b"\x04" + der(client)], gw_key, {}),
    ("digestinfo", CLIENT_ID, [b"\x04" + der(client)], client_key, {"digestinfo": True}),
    ("chain", id_body(9, SUBCLIENT_DN.public_bytes()), [b"\x04" + der(subclient), b"\x04" + der(sub)],
     old_key, {}),
    ("no_intermediate", id_body(9, SUBCLIENT_DN.public_bytes()), [b"\x04" + der(subclient)], old_key, {}),
    ("no_cert", CLIENT_ID, [], client_key, {}),
    ("pgp_cert", CLIENT_ID, [b"\x02" + der(client)], client_key, {}),
    ("garbage_cert", CLIENT_ID, [b"\x04" + der(client)[:-40]], client_key, {}),
]
for name, idb, certs, signer, kw in variants:
    emit(f"rsa_msg5_{name}", msg5(idb, certs, signer, **kw)[0])

# Message 5 in three fragments (payload 132, Cisco's format as strongSwan
# sends it: id, number from 1, flags with bit 0 = last; the data, in
# order, is the whole message).
FRAG_AT = (0, len(mm5) // 3, 2 * len(mm5) // 3, len(mm5))
for i in range(3):
    data = mm5[FRAG_AT[i]:FRAG_AT[i + 1]]
    body = struct.pack("!HBB", 1, i + 1, 1 if i == 2 else 0) + data
    frag = ICKY + RCKY + struct.pack("!BBBBII", 132, 0x10, 2, 0, 0, 28 + 4 + len(body)) + payload(0, body)
    emit(f"rsa_msg5_frag{i + 1}", frag, "Message 5 as three fragments" if i == 0 else None)

print("// Generated by tests/unit/ike/gen_cert_vectors.py (/usr/bin/python3); do not edit.")
print("#pragma once")
print()
print("namespace l2tpgw::ike::certvec {")
print()
print("\n".join(OUT))
print()
print("}  // namespace l2tpgw::ike::certvec")
