"""ISAKMP wire formats (RFC 2408 §3, RFC 2407 §4.4-4.6, RFC 3947 §3-5 and
the NAT-T drafts' numbers): the header, the generic payload chain, SA /
Proposal / Transform with data attributes, ID, Notify, Delete, NAT-D and
NAT-OA. Pure bytes in, bytes out; no crypto and no state."""

import hashlib
import socket
import struct

VERSION = 0x10
HDR_LEN = 28

# Exchange types (RFC 2408 §3.1, RFC 2409 §9).
EXCH_MAIN, EXCH_INFO, EXCH_QUICK = 2, 5, 32
FLAG_ENC = 0x01

# Payload types (RFC 2408 §3.1, RFC 3947 §3; the drafts' private numbers).
PL_NONE, PL_SA, PL_P, PL_T, PL_KE, PL_ID, PL_HASH, PL_NONCE, PL_N, PL_D, PL_VID = 0, 1, 2, 3, 4, 5, 8, 10, 11, 12, 13
PL_CERT, PL_CR, PL_SIG = 6, 7, 9
PL_NATD, PL_NATOA = 20, 21
PL_NATD_DRAFT, PL_NATOA_DRAFT = 130, 131
PAYLOAD_NAMES = {1: "SA", 2: "P", 3: "T", 4: "KE", 5: "ID", 6: "CERT", 7: "CR", 8: "HASH", 9: "SIG",
                 10: "NONCE", 11: "N", 12: "D", 13: "VID", 20: "NAT-D", 21: "NAT-OA", 130: "NAT-D",
                 131: "NAT-OA"}

DOI_IPSEC = 1
SIT_IDENTITY_ONLY = 1
PROTO_ISAKMP, PROTO_ESP = 1, 3
KEY_IKE = 1

# Phase-1 attribute classes and values (RFC 2409 Appendix A, IANA).
P1_ENC, P1_HASH, P1_AUTH, P1_GROUP, P1_LIFE_TYPE, P1_LIFE_DURATION, P1_KEY_LENGTH = 1, 2, 3, 4, 11, 12, 14
AUTH_PSK, AUTH_RSA_SIG = 1, 3
LIFE_SECONDS, LIFE_KB = 1, 2

# Phase-2 attributes (RFC 2407 §4.5) and ESP transform IDs (§4.4.4).
P2_LIFE_TYPE, P2_LIFE_DURATION, P2_GROUP, P2_ENCAP, P2_AUTH, P2_KEY_LENGTH = 1, 2, 3, 4, 5, 6
ENCAP_TUNNEL, ENCAP_TRANSPORT = 1, 2
ENCAP_UDP_TUNNEL_RFC, ENCAP_UDP_TRANSPORT_RFC = 3, 4          # RFC 3947 §5.1
ENCAP_UDP_TUNNEL_DRAFT, ENCAP_UDP_TRANSPORT_DRAFT = 61443, 61444  # drafts 01-03

# Identification types (RFC 2407 §4.6.2.1).
ID_IPV4_ADDR, ID_FQDN, ID_IPV4_ADDR_SUBNET, ID_DER_ASN1_DN = 1, 2, 4, 9

# Notify message types (RFC 2408 §3.14.1, RFC 2407 §4.6.3).
NOTIFY_NAMES = {1: "INVALID-PAYLOAD-TYPE", 2: "DOI-NOT-SUPPORTED", 4: "INVALID-COOKIE", 5: "INVALID-MAJOR-VERSION",
                7: "INVALID-EXCHANGE-TYPE", 9: "INVALID-MESSAGE-ID", 11: "INVALID-SPI",
                14: "NO-PROPOSAL-CHOSEN", 16: "PAYLOAD-MALFORMED", 17: "INVALID-KEY-INFORMATION",
                18: "INVALID-ID-INFORMATION", 23: "INVALID-HASH-INFORMATION", 24: "AUTHENTICATION-FAILED",
                30: "UNEQUAL-PAYLOAD-LENGTHS", 24576: "RESPONDER-LIFETIME", 24578: "INITIAL-CONTACT",
                36136: "R-U-THERE", 36137: "R-U-THERE-ACK"}
N_INITIAL_CONTACT = 24578
# RFC 3706 §5: DPD notifies, SPI the two cookies, data a 32-bit sequence number.
N_R_U_THERE, N_R_U_THERE_ACK = 36136, 36137

# Vendor IDs: MD5 of the names their documents give.
VID_RFC3947 = hashlib.md5(b"RFC 3947").digest()
VID_DRAFT_02 = hashlib.md5(b"draft-ietf-ipsec-nat-t-ike-02").digest()
VID_DRAFT_02N = hashlib.md5(b"draft-ietf-ipsec-nat-t-ike-02\n").digest()
VID_DRAFT_03 = hashlib.md5(b"draft-ietf-ipsec-nat-t-ike-03").digest()
# Microsoft's: "MS NT5 ISAKMPOAKLEY" with the Windows version (9: Windows 7 and later),
# and "MS-Negotiation Discovery Capable".
VID_MS_NT5 = hashlib.md5(b"MS NT5 ISAKMPOAKLEY").digest() + struct.pack("!I", 9)
VID_MS_NEGDISC = bytes.fromhex("fb1de3cdf341b7ea16b7e5be0855f120")
VID_DPD = bytes.fromhex("afcad71368a1f1c96b8696fc77570100")  # RFC 3706
NATT_VIDS = {VID_RFC3947: "rfc3947", VID_DRAFT_02: "draft-02", VID_DRAFT_02N: "draft-02", VID_DRAFT_03: "draft-03"}


class IsakmpError(ValueError):
    pass


# ------------------------------------------------------------------ header
class Header:
    def __init__(self, icookie, rcookie, next_payload, exch, flags=0, msgid=0, length=0):
        self.icookie, self.rcookie = icookie, rcookie
        self.next_payload, self.exch, self.flags, self.msgid, self.length = next_payload, exch, flags, msgid, length

    def pack(self):
        return struct.pack("!8s8sBBBBII", self.icookie, self.rcookie, self.next_payload, VERSION, self.exch,
                           self.flags, self.msgid, self.length)

    @classmethod
    def parse(cls, data):
        if len(data) < HDR_LEN:
            raise IsakmpError(f"datagram of {len(data)} bytes: shorter than the ISAKMP header")
        ic, rc, np, ver, ex, fl, mid, ln = struct.unpack_from("!8s8sBBBBII", data)
        if ver >> 4 != 1:
            raise IsakmpError(f"ISAKMP version {ver:#x}")
        if ln != len(data):
            raise IsakmpError(f"ISAKMP length {ln}, datagram {len(data)}")
        return cls(ic, rc, np, ex, fl, mid, ln)


# ------------------------------------------------------------------ payload chain
def chain(payloads):
    """[(type, body)] -> (first type, bytes) with each generic header's next
    payload pointing at the one after it."""
    out = b""
    for i, (_, body) in enumerate(payloads):
        nxt = payloads[i + 1][0] if i + 1 < len(payloads) else PL_NONE
        out += struct.pack("!BBH", nxt, 0, 4 + len(body)) + body
    return (payloads[0][0] if payloads else PL_NONE), out


def unchain(first, data):
    """Inverse of chain(); trailing bytes (the padding of an encrypted body)
    are ignored."""
    out, off, t = [], 0, first
    while t != PL_NONE:
        if off + 4 > len(data):
            raise IsakmpError(f"payload {PAYLOAD_NAMES.get(t, t)} truncated at {off}")
        nxt, _, ln = struct.unpack_from("!BBH", data, off)
        if ln < 4 or off + ln > len(data):
            raise IsakmpError(f"payload {PAYLOAD_NAMES.get(t, t)} length {ln} at {off}")
        out.append((t, data[off + 4:off + ln]))
        off, t = off + ln, nxt
    return out


def message(hdr, payloads):
    first, body = chain(payloads)
    hdr.next_payload = first
    hdr.length = HDR_LEN + len(body)
    return hdr.pack() + body


def find(payloads, ptype):
    return [b for t, b in payloads if t == ptype]


# ------------------------------------------------------------------ attributes
def attr(atype, value):
    """TV when the value fits 16 bits, else TLV with the shortest big-endian
    value (RFC 2408 §3.3)."""
    if isinstance(value, int) and 0 <= value < 0x10000:
        return struct.pack("!HH", 0x8000 | atype, value)
    if isinstance(value, int):
        value = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return struct.pack("!HH", atype, len(value)) + value


def parse_attrs(data):
    out, off = [], 0
    while off < len(data):
        if off + 4 > len(data):
            raise IsakmpError("attribute truncated")
        t, v = struct.unpack_from("!HH", data, off)
        if t & 0x8000:
            out.append((t & 0x7FFF, v))
            off += 4
        else:
            if off + 4 + v > len(data):
                raise IsakmpError("TLV attribute truncated")
            out.append((t, int.from_bytes(data[off + 4:off + 4 + v], "big")))
            off += 4 + v
    return out


# ------------------------------------------------------------------ SA / proposal / transform
def transform(num, tid, attrs, last):
    body = struct.pack("!BBH", num, tid, 0) + b"".join(attr(t, v) for t, v in attrs)
    return struct.pack("!BBH", PL_NONE if last else PL_T, 0, 4 + len(body)) + body


def proposal(num, proto, spi, transforms, last=True):
    """transforms: [(transform id, [(attr, value)])]."""
    ts = b"".join(transform(i + 1, tid, attrs, i + 1 == len(transforms)) for i, (tid, attrs) in enumerate(transforms))
    body = struct.pack("!BBBB", num, proto, len(spi), len(transforms)) + spi + ts
    return struct.pack("!BBH", PL_NONE if last else PL_P, 0, 4 + len(body)) + body


def sa_body(proposals):
    """The SA payload body (DOI, situation, proposals): what HASH_I and
    HASH_R cover as SAi_b."""
    return struct.pack("!II", DOI_IPSEC, SIT_IDENTITY_ONLY) + b"".join(proposals)


def parse_sa(body):
    """-> [(proposal num, protocol, spi, [(transform num, id, [(attr, value)])])]"""
    if len(body) < 8:
        raise IsakmpError("SA payload truncated")
    doi, sit = struct.unpack_from("!II", body)
    if doi != DOI_IPSEC:
        raise IsakmpError(f"SA DOI {doi}")
    props, off, nxt = [], 8, PL_P
    while nxt == PL_P:
        if off + 8 > len(body):
            raise IsakmpError("proposal truncated")
        nxt, _, ln, pnum, proto, spisz, ntr = struct.unpack_from("!BBHBBBB", body, off)
        if ln < 8 + spisz or off + ln > len(body):
            raise IsakmpError(f"proposal length {ln}")
        spi = body[off + 8:off + 8 + spisz]
        toff, tend, trs, tnext = off + 8 + spisz, off + ln, [], PL_T
        while tnext == PL_T and toff < tend:
            tnext, _, tln, tnum, tid, _ = struct.unpack_from("!BBHBBH", body, toff)
            if tln < 8 or toff + tln > tend:
                raise IsakmpError(f"transform length {tln}")
            trs.append((tnum, tid, parse_attrs(body[toff + 8:toff + tln])))
            toff += tln
        if len(trs) != ntr:
            raise IsakmpError(f"proposal says {ntr} transforms, holds {len(trs)}")
        props.append((pnum, proto, spi, trs))
        off += ln
    return props


# ------------------------------------------------------------------ ID, notify, delete, NAT-D, NAT-OA
def id_body(id_type, data, proto=0, port=0):
    return struct.pack("!BBH", id_type, proto, port) + data


def id_ipv4(addr, proto=0, port=0):
    return id_body(ID_IPV4_ADDR, socket.inet_aton(addr), proto, port)


def id_subnet(net, prefix, proto=0, port=0):
    mask = (0xFFFFFFFF << (32 - prefix)) & 0xFFFFFFFF
    return struct.pack("!BBH", ID_IPV4_ADDR_SUBNET, proto, port) + socket.inet_aton(net) + struct.pack("!I", mask)


def parse_id(body):
    if len(body) < 4:
        raise IsakmpError("ID payload truncated")
    t, proto, port = struct.unpack_from("!BBH", body)
    data = body[4:]
    if t == ID_IPV4_ADDR and len(data) == 4:
        value = socket.inet_ntoa(data)
    elif t == ID_IPV4_ADDR_SUBNET and len(data) == 8:
        value = f"{socket.inet_ntoa(data[:4])}/{socket.inet_ntoa(data[4:])}"
    elif t == ID_DER_ASN1_DN:
        value = data.hex()
    else:
        value = data.decode("ascii", "replace")
    return t, proto, port, value


def notify(ntype, proto=PROTO_ISAKMP, spi=b"", data=b""):
    return struct.pack("!IBBH", DOI_IPSEC, proto, len(spi), ntype) + spi + data


def parse_notify(body):
    if len(body) < 8:
        raise IsakmpError("Notify truncated")
    doi, proto, spisz, ntype = struct.unpack_from("!IBBH", body)
    return proto, ntype, body[8:8 + spisz], body[8 + spisz:]


def delete(proto, spis):
    size = len(spis[0]) if spis else 0
    return struct.pack("!IBBH", DOI_IPSEC, proto, size, len(spis)) + b"".join(spis)


def parse_delete(body):
    doi, proto, size, n = struct.unpack_from("!IBBH", body)
    return proto, [body[8 + i * size:8 + (i + 1) * size] for i in range(n)]


def natd_hash(hashfn, icookie, rcookie, addr, port):
    """RFC 3947 §3.2: HASH(CKY-I | CKY-R | IP | Port) with the phase-1 hash."""
    return hashfn(icookie + rcookie + socket.inet_aton(addr) + struct.pack("!H", port)).digest()


def nat_oa(addr):
    """RFC 3947 §5.2: ID type, three reserved bytes, the address."""
    return struct.pack("!B3x", ID_IPV4_ADDR) + socket.inet_aton(addr)
