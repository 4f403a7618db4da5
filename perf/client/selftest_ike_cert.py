"""Checks of the certificate side of Main Mode (client/ike_cert.py) for
selftest_ike.py, each against a computation of its own: certificates
made here with python3-cryptography's builder, SIG_I held against
python3-cryptography's own PKCS#1 v1.5 signature (with a DigestInfo the
raw signer is given by hand) and against the padding written out from
RFC 8017 §9.2, SIG_R made here by the bare RSA formula, the payloads read
back by scapy's ISAKMP layers, and the NAT-T keepalive caught on a
socket of its own."""

import datetime
import os
import socket
import tempfile

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from cryptography.x509.oid import NameOID
from scapy.layers.isakmp import ISAKMP

from client import ike
from client import ike_cert as c
from client import ike_keys as k
from client import isakmp as i
from client.profiles import PROFILES

# RFC 8017 §9.2 note 1: the DER prefix of DigestInfo for SHA-1.
SHA1_DIGESTINFO = bytes.fromhex("3021300906052b0e03021a05000414")
DAY = datetime.timedelta(days=1)


def name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "CH"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "test"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_cert(subject, key, issuer=None, issuer_key=None, ca=False, before=-1, after=30, san=None):
    now = datetime.datetime.now(datetime.timezone.utc)
    b = (x509.CertificateBuilder().subject_name(name(subject))
         .issuer_name(issuer.subject if issuer else name(subject)).public_key(key.public_key())
         .serial_number(x509.random_serial_number()).not_valid_before(now + before * DAY)
         .not_valid_after(now + after * DAY)
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if san:
        b = b.add_extension(x509.SubjectAlternativeName(san), critical=False)
    return b.sign(issuer_key or key, hashes.SHA256())


def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def write(d, fname, *objs):
    path = os.path.join(d, fname)
    with open(path, "wb") as f:
        for o in objs:
            if isinstance(o, x509.Certificate):
                f.write(o.public_bytes(serialization.Encoding.PEM))
            else:
                f.write(o.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()))
    return path


def bare_rsa_sign(key, data):
    """SIG_R the way RFC 8017 writes it: 00 01 FF.. 00 data, to the power d."""
    n = key.private_numbers()
    size = key.key_size // 8
    em = b"\x00\x01" + b"\xff" * (size - 3 - len(data)) + b"\x00" + data
    return pow(int.from_bytes(em, "big"), n.d, n.public_numbers.n).to_bytes(size, "big")


def run(check):
    d = tempfile.mkdtemp(prefix="selftest-ike-cert-")
    ca_key, gw_key, cl_key, other_key, mid_key = (rsa_key() for _ in range(5))
    ca = make_cert("Test CA", ca_key, ca=True)
    other_ca = make_cert("Other CA", other_key, ca=True)
    mid = make_cert("Intermediate CA", mid_key, ca, ca_key, ca=True)
    gw = make_cert("gateway", gw_key, ca, ca_key, san=[x509.DNSName("vpn.example.org")])
    gw_via_mid = make_cert("gateway", gw_key, mid, mid_key)
    gw_expired = make_cert("gateway", gw_key, ca, ca_key, before=-30, after=-1)
    gw_other = make_cert("gateway", gw_key, other_ca, other_key)
    client = make_cert("client", cl_key, ca, ca_key, san=[x509.DNSName("laptop.example.org")])
    auth = c.CertAuth(write(d, "client.pem", client), write(d, "client.key", cl_key), write(d, "ca.pem", ca))

    # SIG_I: the raw hash, type-1 padding, no DigestInfo.
    h = os.urandom(20)
    sig = c.sign_raw(cl_key, h)
    em = pow(int.from_bytes(sig, "big"), 65537, cl_key.public_key().public_numbers().n).to_bytes(256, "big")
    check("SIG_I decodes to 00 01, 233 bytes FF, 00, then HASH_I itself (RFC 8017 §9.2, no DigestInfo)",
          em == b"\x00\x01" + b"\xff" * 233 + b"\x00" + h, em.hex())
    check("python3-cryptography recovers HASH_I from SIG_I with the public key (PKCS#1 v1.5, no hash)",
          cl_key.public_key().recover_data_from_signature(sig, padding.PKCS1v15(), None) == h)
    check("the raw signer over DigestInfo(SHA-1) | H equals python3-cryptography's PKCS#1 v1.5 SHA-1 signature",
          c.sign_raw(cl_key, SHA1_DIGESTINFO + h) ==
          cl_key.sign(h, padding.PKCS1v15(), Prehashed(hashes.SHA1())))
    check("SIG_R made by the bare formula verifies; one flipped bit does not",
          c.verify_raw(gw_key.public_key(), h, bare_rsa_sign(gw_key, h)) and
          not c.verify_raw(gw_key.public_key(), h, bytes([sig[0] ^ 1]) + bare_rsa_sign(gw_key, h)[1:]))

    # Messages 3 and 5 as scapy reads them.
    idii = auth.idii("192.0.2.7", 17, 500)
    hi = os.urandom(20)
    hdr = i.Header(b"\x01" * 8, b"\x02" * 8, 0, i.EXCH_MAIN)
    s = ISAKMP(i.message(hdr, auth.msg5_payloads(idii, hi)))
    p_id = s.payload
    p_cert = p_id.payload
    p_sig = p_cert.payload
    check("message 5 in scapy: ID type DER_ASN1_DN (9), UDP/500, the certificate's subject DER",
          (p_id.IDtype, p_id.ProtoID, p_id.Port) == (9, 17, 500) and bytes(p_id.load) == client.subject.public_bytes())
    check("message 5 in scapy: CERT (6) of encoding 4 holding the certificate's DER, then SIG (9), nothing after",
          p_id.next_payload == 6 and bytes(p_cert.load) == b"\x04" + client.public_bytes(serialization.Encoding.DER)
          and p_cert.next_payload == 9 and p_sig.next_payload == 0 and
          cl_key.public_key().recover_data_from_signature(bytes(p_sig.load), padding.PKCS1v15(), None) == hi)
    cr = auth.msg3_payloads()
    check("message 3 carries one CERTREQ: encoding 4 and our CA's subject DER (RFC 2408 §3.10)",
          cr == [(7, b"\x04" + ca.subject.public_bytes())])
    check("--id fqdn:NAME and ip give ID_FQDN and ID_IPV4_ADDR",
          c.CertAuth(*auth_paths(d), "fqdn:laptop.example.org")
          .idii("192.0.2.7", 17, 500) == b"\x02\x11\x01\xf4laptop.example.org" and
          c.CertAuth(*auth_paths(d), "ip").idii("192.0.2.7", 17, 500) == b"\x01\x11\x01\xf4\xc0\x00\x02\x07")
    check("SKEYID for signatures = prf(Ni_b | Nr_b, g^xy) (RFC 2409 §5)",
          auth.skeyid(2, b"n" * 16, b"r" * 16, b"g" * 128) == k.prf(2, b"n" * 16 + b"r" * 16, b"g" * 128))

    # Message 6 the gateway's way: ID DN, CERT(s), SIG_R over HASH_R.
    def msg6(cert, extra=(), sign_key=gw_key, id_b=None):
        id_b = id_b or i.id_body(i.ID_DER_ASN1_DN, cert.subject.public_bytes(), 17, 500)
        hr = k.prf(2, b"skeyid", id_b)
        pl = [(i.PL_ID, id_b)] + [(i.PL_CERT, c.cert_payload(x)) for x in (cert, *extra)]
        return pl + [(i.PL_SIG, bare_rsa_sign(sign_key, hr))], lambda idr_b: k.prf(2, b"skeyid", idr_b)

    def outcome(pl_hr):
        try:
            return auth.verify6(*pl_hr)
        except ike.IkeFailure as e:
            return str(e)
    got = outcome(msg6(gw))
    check("message 6 from a certificate of our CA with a good SIG_R is accepted", got == "CN=gateway,O=test,C=CH", got)
    got = outcome(msg6(gw_via_mid, [mid]))
    check("a chain through an intermediate carried in message 6 is accepted", got == "CN=gateway,O=test,C=CH", got)
    untrusted = "gateway certificate not trusted"
    got = outcome(msg6(gw_via_mid))
    check(f"without the intermediate: '{untrusted}'", got.startswith(untrusted), got)
    got = outcome(msg6(gw_other))
    check(f"another CA's certificate: '{untrusted}'", got.startswith(untrusted), got)
    got = outcome(msg6(gw_expired))
    check("an expired certificate: 'gateway certificate expired'", got.startswith("gateway certificate expired"), got)
    got = outcome(msg6(gw, sign_key=cl_key))
    check("SIG_R by another key: 'gateway signature invalid'", got.startswith("gateway signature invalid"), got)
    got = outcome(msg6(gw, id_b=i.id_body(i.ID_FQDN, b"vpn.example.org", 17, 500)))
    check("ID_FQDN in the certificate's subjectAltName is accepted", got == "vpn.example.org", got)
    got = outcome(msg6(gw, id_b=i.id_body(i.ID_FQDN, b"evil.example.org", 17, 500)))
    check("an ID the certificate does not name is refused", got.startswith("gateway ID does not match"), got)
    try:
        c.CertAuth(write(d, "c2.pem", client), write(d, "wrong.key", gw_key), write(d, "ca2.pem", ca))
        ok = False
    except ValueError:
        ok = True
    check("a key that is not the certificate's is refused at start", ok)
    keepalive(check)


def auth_paths(d):
    return [os.path.join(d, f) for f in ("client.pem", "client.key", "ca.pem")]


def keepalive(check):
    """RFC 3948 §2.3 from poll(): one 0xFF byte from port 4500 to port 4500,
    only behind a NAT, only when due, never with 0."""
    local, server = "127.83.0.1", "127.83.0.2"
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    peer.bind((server, ike.NATT_PORT))
    peer.settimeout(0)
    got = []

    def drain():
        try:
            while True:
                got.append(peer.recvfrom(100))
        except BlockingIOError:
            pass
    for interval, behind_nat in ((5.0, True), (0, True), (5.0, False)):
        ini = ike.Initiator(local, server, "k", PROFILES["windows"], log=lambda _: None, natt_keepalive=interval)
        ini._float()
        ini.nat_local, ini.ipsec_up, ini.established = behind_nat, True, True
        ini.poll()
        first = ini.next_keepalive
        ini.next_keepalive = 0 if first is not None else None  # due now, without waiting
        ini.poll()
        ini.poll()
        ini.close()
        drain()
        if interval and behind_nat:
            check("behind a NAT: over three polls, none at the start, one when due, none right after",
                  len(got) == 1 and ini.keepalives_sent == 1, got)
            check("the keepalive is the single byte 0xFF from our port 4500",
                  got and got[0][0] == b"\xff" and got[0][1] == (local, ike.NATT_PORT), got)
        else:
            check(f"no keepalive {'with --natt-keepalive 0' if not interval else 'when only the peer is behind a NAT'}",
                  not got and ini.keepalives_sent == 0, got)
        got.clear()
    peer.close()
