"""Main Mode authenticated with RSA signatures (RFC 2409 §5.1, method 3)
and X.509 certificates (RFC 4945): our identity (ID_DER_ASN1_DN from the
certificate's subject by default, or an FQDN or our IPv4 address), the
CERT and CERTREQ payloads (encoding 4, X.509 signature), SIG_I and the
check of the responder's message 6 (its chain to our CAs, validity
dates, its ID against its certificate, SIG_R).

The signature is PKCS#1 v1.5 block type 1 over the raw HASH_I, without
a DigestInfo: what charon and Windows send in IKEv1 and what the gateway
verifies. python3-cryptography signs only with a DigestInfo, so the
private operation is done here on the key's numbers; verification
(padding included) is python3-cryptography's."""

import datetime
import hmac
import socket
import struct

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from . import ike_keys as k
from . import isakmp as i
from .ike import IkeFailure as CertFailure

CERT_X509_SIGNATURE = 4  # RFC 2408 §3.9
MAX_CHAIN = 8
PEM_BEGIN = b"-----BEGIN CERTIFICATE-----"


def load_certs(path):
    """Every certificate of a PEM file, in order (python3-cryptography 38
    reads one at a time)."""
    with open(path, "rb") as f:
        data = f.read()
    certs = [x509.load_pem_x509_certificate(PEM_BEGIN + part) for part in data.split(PEM_BEGIN)[1:]]
    if not certs:
        raise ValueError(f"{path}: no certificate")
    return certs


def pkcs1_type1(data, size):
    """EMSA-PKCS1-v1_5 encoding (RFC 8017 §9.2 steps 4-5) of data as it is:
    00 01 FF.. 00 data, with at least 8 bytes of FF."""
    if len(data) > size - 11:
        raise ValueError(f"{len(data)} bytes do not fit a {size * 8}-bit RSA signature")
    return b"\x00\x01" + b"\xff" * (size - 3 - len(data)) + b"\x00" + data


def sign_raw(key, data):
    """RSASP1 (RFC 8017 §5.2.1) over the type-1 padded data."""
    n = key.private_numbers()
    size = (n.public_numbers.n.bit_length() + 7) // 8
    m = int.from_bytes(pkcs1_type1(data, size), "big")
    return pow(m, n.d, n.public_numbers.n).to_bytes(size, "big")


def verify_raw(public_key, data, sig):
    """True when sig is the type-1 padded data under public_key."""
    if not isinstance(public_key, rsa.RSAPublicKey):
        return False
    try:
        got = public_key.recover_data_from_signature(sig, padding.PKCS1v15(), None)
    except (InvalidSignature, ValueError):
        return False
    return hmac.compare_digest(got, data)


def _utc(t):
    return t if t.tzinfo else t.replace(tzinfo=datetime.timezone.utc)


def _signed_by(cert, issuer):
    """cert's signature verifies with issuer's key and names issuer."""
    if cert.issuer != issuer.subject:
        return False
    key = issuer.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), cert.signature_hash_algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(cert.signature_hash_algorithm))
        else:
            return False
    except (InvalidSignature, UnsupportedAlgorithm, ValueError, TypeError):
        return False
    return True


def verify_chain(leaf, intermediates, anchors, now=None):
    """Follows issuers from leaf through intermediates to one of anchors;
    every certificate on the way (the anchor included) within its dates.
    Raises CertFailure with the cause."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    path, cur = [], leaf
    for _ in range(MAX_CHAIN):
        path.append(cur)
        anchor = next((a for a in anchors if _signed_by(cur, a)), None)
        if anchor is not None:
            path.append(anchor)
            break
        nxt = next((c for c in intermediates if c not in path and _signed_by(cur, c)), None)
        if nxt is None:
            raise CertFailure(f"gateway certificate not trusted: {leaf.subject.rfc4514_string()} "
                              f"(no path from issuer {cur.issuer.rfc4514_string()} to our CAs)")
        cur = nxt
    else:
        raise CertFailure(f"gateway certificate not trusted: chain longer than {MAX_CHAIN}")
    for c in path:
        if now < _utc(c.not_valid_before):
            raise CertFailure(f"gateway certificate not yet valid: {c.subject.rfc4514_string()} "
                              f"valid from {c.not_valid_before}")
        if now > _utc(c.not_valid_after):
            raise CertFailure(f"gateway certificate expired: {c.subject.rfc4514_string()} "
                              f"valid until {c.not_valid_after}")
    return path


def cert_names_id(cert, id_type, value):
    """RFC 4945 §3.1: the ID is the subject DN or one of the subjectAltNames."""
    if id_type == i.ID_DER_ASN1_DN:
        return value == cert.subject.public_bytes()
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    if id_type == i.ID_FQDN:
        return value.decode("ascii", "replace").lower() in [n.lower() for n in san.get_values_for_type(x509.DNSName)]
    if id_type == i.ID_IPV4_ADDR and len(value) == 4:
        return socket.inet_ntoa(value) in [str(a) for a in san.get_values_for_type(x509.IPAddress)]
    return False


class CertAuth:
    """The certificate side of Main Mode for the initiator (ike.Initiator
    asks it for SKEYID, the payloads of messages 3 and 5, and to check
    message 6)."""

    method = i.AUTH_RSA_SIG
    name = "RSA signature"
    hint = ""
    silence = "a certificate the gateway refuses gets no answer"

    def __init__(self, cert_path, key_path, ca_path, id_spec="dn"):
        self.chain = load_certs(cert_path)
        self.cert = self.chain[0]
        with open(key_path, "rb") as f:
            self.key = serialization.load_pem_private_key(f.read(), password=None)
        if not isinstance(self.key, rsa.RSAPrivateKey):
            raise ValueError(f"{key_path}: not an RSA key")
        if self.key.public_key().public_numbers() != self.cert.public_key().public_numbers():
            raise ValueError(f"{key_path} is not the key of {cert_path}")
        self.cas = load_certs(ca_path)
        if id_spec not in ("dn", "ip") and not id_spec.startswith("fqdn:"):
            raise ValueError(f"--id {id_spec!r}: dn, fqdn:NAME or ip")
        self.id_spec = id_spec
        self.peer_certificate = None

    def skeyid(self, hash_id, ni, nr, gxy):
        """RFC 2409 §5: SKEYID = prf(Ni_b | Nr_b, g^xy) for signatures."""
        return k.prf(hash_id, ni + nr, gxy)

    def msg3_payloads(self):
        """One CERTREQ per CA we trust, naming its subject (RFC 2408 §3.10),
        as Windows sends them."""
        return [(i.PL_CR, cert_request(ca)) for ca in self.cas]

    def idii(self, local, proto, port):
        if self.id_spec == "dn":
            return i.id_body(i.ID_DER_ASN1_DN, self.cert.subject.public_bytes(), proto, port)
        if self.id_spec == "ip":
            return i.id_ipv4(local, proto, port)
        return i.id_body(i.ID_FQDN, self.id_spec[5:].encode(), proto, port)

    def describe_id(self, local):
        if self.id_spec == "dn":
            return self.cert.subject.rfc4514_string()
        return local if self.id_spec == "ip" else self.id_spec[5:]

    def msg5_payloads(self, idii_b, hash_i):
        certs = [(i.PL_CERT, cert_payload(c)) for c in self.chain]
        return [(i.PL_ID, idii_b)] + certs + [(i.PL_SIG, sign_raw(self.key, hash_i))]

    def verify6(self, pl, hash_r_of):
        """Message 6: the first CERT the responder's, the others
        intermediates; they chain to our CAs, the ID names the leaf, SIG_R
        verifies with its key. Returns the peer's name; raises CertFailure."""
        idr, sig = i.find(pl, i.PL_ID), i.find(pl, i.PL_SIG)
        if not idr or not sig:
            raise CertFailure("Main Mode message 6 without ID or SIG")
        certs = []
        for body in i.find(pl, i.PL_CERT):
            if body[:1] != bytes([CERT_X509_SIGNATURE]):
                continue
            try:
                certs.append(x509.load_der_x509_certificate(body[1:]))
            except ValueError as e:
                raise CertFailure(f"gateway certificate malformed: {e}") from None
        if not certs:
            raise CertFailure("Main Mode message 6 carries no X.509 CERT")
        verify_chain(certs[0], certs[1:], self.cas)
        id_type, _, _ = struct.unpack_from("!BBH", idr[0])
        if not cert_names_id(certs[0], id_type, idr[0][4:]):
            raise CertFailure(f"gateway ID does not match its certificate {certs[0].subject.rfc4514_string()}")
        if not verify_raw(certs[0].public_key(), hash_r_of(idr[0]), sig[0]):
            raise CertFailure(f"gateway signature invalid: SIG_R does not verify with the key of "
                              f"{certs[0].subject.rfc4514_string()}")
        self.peer_certificate = (f"{certs[0].subject.rfc4514_string()}, issued by "
                                 f"{certs[0].issuer.rfc4514_string()}")
        return certs[0].subject.rfc4514_string() if id_type == i.ID_DER_ASN1_DN else i.parse_id(idr[0])[3]


def cert_payload(cert):
    return bytes([CERT_X509_SIGNATURE]) + cert.public_bytes(serialization.Encoding.DER)


def cert_request(ca):
    return bytes([CERT_X509_SIGNATURE]) + ca.subject.public_bytes()
