#!/usr/bin/python3
"""Independent IKEv1 vectors for tests/unit/ike (written to vectors.h).

Messages are built with scapy's ISAKMP layer where it has the payload (SA,
Proposal, Transform, KE, ID, Hash, Nonce, Vendor ID); the payloads it lacks
(Notification, Delete, CERT, CR, SIG, NAT-D, NAT-OA, fragment) are packed
here with struct from the RFC figures. Keys, hashes, DH and ciphers come from
hashlib/hmac and python3-cryptography, following RFC 2409 §5 and Appendix B
directly; the MODP primes are rebuilt from their defining formula with pi
(RFC 2409 §6.2, RFC 3526) and checked to be prime, so no table is shared
with the C++ side.

Run: /usr/bin/python3 tests/unit/ike/gen_vectors.py > tests/unit/ike/vectors.h
"""
import hashlib
import hmac
import random
import struct

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from scapy.layers.isakmp import (ISAKMP, ISAKMP_payload, ISAKMP_payload_Hash, ISAKMP_payload_ID,
                                 ISAKMP_payload_KE, ISAKMP_payload_Nonce, ISAKMP_payload_Proposal,
                                 ISAKMP_payload_SA, ISAKMP_payload_Transform,
                                 ISAKMP_payload_VendorID)

try:
    from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
except ImportError:  # python3-cryptography < 43
    TripleDES = algorithms.TripleDES

OUT = []


def emit(name, data, comment=None):
    if comment:
        OUT.append(f"// {comment}")
    h = data.hex()
    parts = [h[i:i + 96] for i in range(0, len(h), 96)] or [""]
    body = "\n    ".join(f'"{p}"' for p in parts)
    OUT.append(f"inline constexpr const char* {name} =\n    {body};")


def emit_int(name, value):
    OUT.append(f"inline constexpr unsigned {name} = {value};")


ICKY = bytes.fromhex("0102030405060708")
RCKY = bytes.fromhex("a1a2a3a4a5a6a7a8")

# ---------------------------------------------------------------- messages


def t1(num, enc, keylen, hsh, auth, group, life=28800):
    attrs = [("Encryption", enc)]
    if keylen:
        attrs.append(("KeyLength", keylen))
    attrs += [("Hash", hsh), ("Authentication", auth), ("GroupDesc", group),
              ("LifeType", "Seconds"), ("LifeDuration", life)]
    return ISAKMP_payload_Transform(num=num, id=1, transforms=attrs)


def chain(items):
    pkt = items[0]
    for it in items[1:]:
        pkt = pkt / it
    return pkt


def sa1(transforms):
    prop = ISAKMP_payload_Proposal(proposal=1, proto=1, trans_nb=len(transforms),
                                   trans=chain(transforms))
    return ISAKMP_payload_SA(prop=prop)


def vid(b):
    return ISAKMP_payload_VendorID(load=b)


def md5(s):
    return hashlib.md5(s).digest()


V_RFC3947 = md5(b"RFC 3947")
V_DRAFT02 = md5(b"draft-ietf-ipsec-nat-t-ike-02")
V_DRAFT02N = md5(b"draft-ietf-ipsec-nat-t-ike-02\n")
V_DRAFT03 = md5(b"draft-ietf-ipsec-nat-t-ike-03")
V_FRAG = md5(b"FRAGMENTATION")
V_MSNT5 = md5(b"MS NT5 ISAKMPOAKLEY")
V_MSNEG = md5(b"MS-Negotiation Discovery Capable")
V_CGA = md5(b"IKE CGA version 1")
V_MAMIE = md5(b"MS-MamieExists")
V_DPD = bytes.fromhex("afcad71368a1f1c96b8696fc77570100")  # RFC 3706 §5.1

# Windows 10/11 built-in L2TP/IPsec client, Main Mode message 1.
win = [t1(1, "AES-CBC", 256, "SHA", "PSK", 20), t1(2, "AES-CBC", 128, "SHA", "PSK", 19),
       t1(3, "AES-CBC", 256, "SHA", "PSK", 14), t1(4, "3DES-CBC", 0, "SHA", "PSK", 14),
       t1(5, "3DES-CBC", 0, "SHA", "PSK", 2)]
pkt = (ISAKMP(init_cookie=ICKY, exch_type=2) / sa1(win) / vid(V_MSNT5 + b"\x00\x00\x00\x09") /
       vid(V_RFC3947) / vid(V_DRAFT02N) / vid(V_FRAG) / vid(V_MSNEG) / vid(V_CGA))
emit("windows_mm1", bytes(pkt), "scapy: Windows 10/11 Main Mode 1 (5 transforms, 6 VIDs)")

# macOS / iOS (racoon-derived) Main Mode 1.
mac = [t1(1, "AES-CBC", 256, "SHA2-256", "PSK", 14), t1(2, "AES-CBC", 128, "SHA2-256", "PSK", 14),
       t1(3, "AES-CBC", 256, "SHA", "PSK", 14), t1(4, "AES-CBC", 128, "SHA", "PSK", 14),
       t1(5, "3DES-CBC", 0, "SHA", "PSK", 14), t1(6, "AES-CBC", 256, "SHA", "PSK", 2),
       t1(7, "AES-CBC", 128, "SHA", "PSK", 2), t1(8, "3DES-CBC", 0, "SHA", "PSK", 2),
       t1(9, "3DES-CBC", 0, "MD5", "PSK", 2)]
pkt = (ISAKMP(init_cookie=ICKY, exch_type=2) / sa1(mac) / vid(V_RFC3947) / vid(V_DRAFT03) /
       vid(V_DRAFT02N) / vid(V_FRAG) / vid(V_DPD))
emit("macos_mm1", bytes(pkt), "scapy: macOS/iOS Main Mode 1")

# Android (racoon) Main Mode 1: MODP1024 only.
andr = [t1(i + 1, c, k, h, "PSK", 2, 3600)
        for i, (c, k, h) in enumerate([("AES-CBC", 256, "SHA2-256"), ("AES-CBC", 256, "SHA"),
                                        ("AES-CBC", 128, "SHA2-256"), ("AES-CBC", 128, "SHA"),
                                        ("3DES-CBC", 0, "SHA2-256"), ("3DES-CBC", 0, "SHA")])]
pkt = (ISAKMP(init_cookie=ICKY, exch_type=2) / sa1(andr) / vid(V_RFC3947) / vid(V_DRAFT02N) /
       vid(V_DRAFT02) / vid(V_DPD))
emit("android_mm1", bytes(pkt), "scapy: Android racoon Main Mode 1")

md5only = [t1(1, "3DES-CBC", 0, "MD5", "PSK", 2), t1(2, "AES-CBC", 128, "MD5", "PSK", 14)]
emit("md5_only_mm1", bytes(ISAKMP(init_cookie=ICKY, exch_type=2) / sa1(md5only)),
     "scapy: MD5-only offer")

xauth = [t1(1, "AES-CBC", 256, "SHA", "XAUTHInitPreShared", 14),
         t1(2, "DES-CBC", 0, "SHA", "PSK", 14), t1(3, "AES-CBC", 256, "SHA", "PSK", 18)]
emit("xauth_mm1", bytes(ISAKMP(init_cookie=ICKY, exch_type=2) / sa1(xauth)),
     "scapy: XAUTH PSK, DES, MODP8192: nothing acceptable")

# A lifetime too large for a basic attribute (TLV, 4 bytes) and kilobytes.
big = ISAKMP_payload_Transform(num=1, id=1, transforms=[
    ("Encryption", "AES-CBC"), ("KeyLength", 256), ("Hash", "SHA"), ("Authentication", "PSK"),
    ("GroupDesc", 14), ("LifeType", "Seconds"), ("LifeDuration", 86400),
    ("LifeType", "Kilobytes"), ("LifeDuration", 250000)])
emit("lifetime_mm1", bytes(ISAKMP(init_cookie=ICKY, exch_type=2) / sa1([big])),
     "scapy: 86400 s and 250000 KB as TLV life durations")

# Main Mode 3: KE, Nonce, two NAT-D (RFC 3947 payload 20, packed by hand).
KE_DATA = bytes(range(256))
NONCE_DATA = bytes(range(100, 132))
NATD1 = hashlib.sha1(b"natd-1").digest()
NATD2 = hashlib.sha1(b"natd-2").digest()
pkt = (ISAKMP(init_cookie=ICKY, resp_cookie=RCKY, exch_type=2) / ISAKMP_payload_KE(load=KE_DATA) /
       ISAKMP_payload_Nonce(next_payload=20, load=NONCE_DATA) /
       ISAKMP_payload(next_payload=20, load=NATD1) / ISAKMP_payload(next_payload=0, load=NATD2))
emit("mm3", bytes(pkt), "scapy: Main Mode 3 with KE(256), Nonce(32), NAT-D x2")
emit("mm3_ke", KE_DATA)
emit("mm3_nonce", NONCE_DATA)
emit("mm3_natd1", NATD1)
emit("mm3_natd2", NATD2)

# Main Mode 5 plaintext: ID_IPV4_ADDR 192.0.2.10 UDP/500, HASH_I, INITIAL-CONTACT.
HASH_DATA = hashlib.sha1(b"hash_i").digest()
ic = struct.pack("!IBBH", 1, 1, 16, 24578) + ICKY + RCKY
pkt = (ISAKMP(init_cookie=ICKY, resp_cookie=RCKY, exch_type=2) /
       ISAKMP_payload_ID(IDtype=1, ProtoID=17, Port=500, load=bytes([192, 0, 2, 10])) /
       ISAKMP_payload_Hash(next_payload=11, load=HASH_DATA) / ISAKMP_payload(next_payload=0, load=ic))
emit("mm5_plain", bytes(pkt), "scapy + struct: MM5 ID/HASH/N(INITIAL-CONTACT)")
emit("mm5_hash", HASH_DATA)


# Quick Mode 1: HASH, SA (ESP, 4-byte SPI), Nonce, IDci, IDcr, NAT-OA x2.
def t2(num, tid, keylen, auth, encap, seconds=3600, kb=250000, group=None):
    attrs = [(1, 1), (2, seconds), (1, 2), (2, kb), (4, encap), (5, auth)]
    if keylen:
        attrs.append((6, keylen))
    if group:
        attrs.append((3, group))
    return ISAKMP_payload_Transform(num=num, id=tid, transforms=attrs)


def sa2(transforms, spi):
    trans = chain(transforms)
    prop = ISAKMP_payload_Proposal(proposal=1, proto=3, SPI=spi, trans_nb=len(transforms),
                                   trans=trans, length=8 + len(spi) + len(bytes(trans)))
    return ISAKMP_payload_SA(prop=prop, next_payload=10)


SPI_I = bytes.fromhex("c0ffee01")
win_qm = [t2(1, 12, 256, 2, 4), t2(2, 12, 128, 2, 4), t2(3, 3, 0, 2, 4), t2(4, 2, 0, 2, 4),
          t2(5, 3, 0, 1, 4)]
QM_NONCE = bytes(range(200, 232))
natoa_i = struct.pack("!B3x", 1) + bytes([192, 168, 1, 20])
natoa_r = struct.pack("!B3x", 1) + bytes([198, 51, 100, 7])
pkt = (ISAKMP(init_cookie=ICKY, resp_cookie=RCKY, exch_type=32, id=0x11223344) /
       ISAKMP_payload_Hash(load=bytes(20)) / sa2(win_qm, SPI_I) /
       ISAKMP_payload_Nonce(load=QM_NONCE) /
       ISAKMP_payload_ID(IDtype=1, ProtoID=17, Port=1701, load=bytes([192, 168, 1, 20])) /
       ISAKMP_payload_ID(next_payload=21, IDtype=1, ProtoID=17, Port=1701,
                         load=bytes([198, 51, 100, 7])) /
       ISAKMP_payload(next_payload=21, load=natoa_i) / ISAKMP_payload(next_payload=0, load=natoa_r))
emit("windows_qm1", bytes(pkt), "scapy + struct: Windows Quick Mode 1 (ESP, UDP-transport)")

mac_qm = [t2(1, 12, 256, 5, 61444), t2(2, 12, 128, 5, 61444), t2(3, 12, 256, 2, 61444),
          t2(4, 3, 0, 2, 61444), t2(5, 3, 0, 1, 61444)]
pkt = (ISAKMP(init_cookie=ICKY, resp_cookie=RCKY, exch_type=32, id=0x55667788) /
       ISAKMP_payload_Hash(load=bytes(20)) / sa2(mac_qm, SPI_I) /
       ISAKMP_payload_Nonce(next_payload=0, load=QM_NONCE))
emit("macos_qm1", bytes(pkt), "scapy: macOS Quick Mode 1 (HMAC-SHA2-256, draft UDP-transport)")

pfs_qm = [t2(1, 12, 128, 2, 2, group=14), t2(2, 12, 128, 1, 2), t2(3, 12, 128, 2, 1)]
pkt = (ISAKMP(init_cookie=ICKY, resp_cookie=RCKY, exch_type=32, id=1) /
       ISAKMP_payload_Hash(load=bytes(20)) / sa2(pfs_qm, SPI_I) /
       ISAKMP_payload_Nonce(next_payload=0, load=QM_NONCE))
emit("pfs_qm1", bytes(pkt), "scapy: QM1 with PFS MODP2048 transport, then MD5, then tunnel")

# Informational: DPD R-U-THERE (RFC 3706 §5.1), Delete of one ESP SPI and of the ISAKMP SA.
dpd = struct.pack("!IBBH", 1, 1, 16, 36136) + ICKY + RCKY + struct.pack("!I", 0x01020304)
dele = struct.pack("!IBBH", 1, 3, 4, 2) + bytes.fromhex("c0ffee01") + bytes.fromhex("0badf00d")
pkt = (ISAKMP(init_cookie=ICKY, resp_cookie=RCKY, exch_type=5, id=0xdeadbeef) /
       ISAKMP_payload_Hash(next_payload=11, load=bytes(20)) /
       ISAKMP_payload(next_payload=12, load=dpd) / ISAKMP_payload(next_payload=0, load=dele))
emit("info_dpd_delete", bytes(pkt), "scapy + struct: HASH, N(R-U-THERE seq 0x01020304), D(ESP x2)")

# CERT (X.509 sig), CR (empty CA), SIG.
CERT = b"\x30\x82\x01\x00" + bytes(12)
pkt = (ISAKMP(init_cookie=ICKY, resp_cookie=RCKY, exch_type=2, next_payload=6) /
       ISAKMP_payload(next_payload=7, load=b"\x04" + CERT) /
       ISAKMP_payload(next_payload=7, load=b"\x04") /
       ISAKMP_payload(next_payload=9, load=b"\x04" + b"CN") /
       ISAKMP_payload(next_payload=0, load=b"\x5a" * 128))
emit("cert_cr_sig", bytes(pkt), "scapy + struct: CERT(X.509), CR(any), CR(CA 'CN'), SIG(128)")

# Cisco-format fragment (payload 132): id 7, number 2, last.
frag = struct.pack("!HBB", 7, 2, 1) + b"fragment-data"
pkt = ISAKMP(init_cookie=ICKY, resp_cookie=RCKY, exch_type=2, next_payload=132) / ISAKMP_payload(
    next_payload=0, load=frag)
emit("fragment_msg", bytes(pkt), "scapy + struct: IKE fragment 2 (last) of id 7")

# ---------------------------------------------------------------- key schedule
HASHES = {"md5": hashlib.md5, "sha1": hashlib.sha1, "sha256": hashlib.sha256,
          "sha384": hashlib.sha384, "sha512": hashlib.sha512}


def det(label, n):
    out = b""
    i = 0
    while len(out) < n:
        out += hashlib.sha256(label + bytes([i])).digest()
        i += 1
    return out[:n]


PSK = b"l2tp-ipsec-shared"
NI = det(b"ni", 32)
NR = det(b"nr", 24)
GXY = det(b"gxy", 256)
GXI = det(b"gxi", 256)
GXR = det(b"gxr", 256)
SAI = det(b"sai", 52)
IDII = bytes([1, 17, 1, 244, 192, 0, 2, 10])
IDIR = bytes([1, 17, 1, 244, 198, 51, 100, 1])
LAST_BLOCK = det(b"last", 16)
MID = 0x8badf00d
AFTER = det(b"after", 120)
QM_GXY = det(b"qm-gxy", 256)
for name, v in [("psk", PSK), ("ni", NI), ("nr", NR), ("gxy", GXY), ("gxi", GXI), ("gxr", GXR),
                ("sai", SAI), ("idii", IDII), ("idir", IDIR), ("last_block", LAST_BLOCK),
                ("after", AFTER), ("qm_gxy", QM_GXY)]:
    emit("in_" + name, v)
emit_int("in_mid", MID)
emit_int("in_spi", 0xc0ffee01)


def prf(h, key, *parts):
    return hmac.new(key, b"".join(parts), HASHES[h]).digest()


def expand(h, skeyid_e, n):  # RFC 2409 Appendix B
    if len(skeyid_e) >= n:
        return skeyid_e[:n]
    k = prf(h, skeyid_e, b"\x00")
    out = k
    while len(out) < n:
        k = prf(h, skeyid_e, k)
        out += k
    return out[:n]


def keymat(h, skeyid_d, gqm, spi, n):  # RFC 2409 §5.5
    seed = gqm + bytes([3]) + struct.pack("!I", spi) + NI + NR
    k = prf(h, skeyid_d, seed)
    out = k
    while len(out) < n:
        k = prf(h, skeyid_d, k + seed)
        out += k
    return out[:n]


for h in HASHES:
    skeyid = prf(h, PSK, NI, NR)
    skeyid_sig = prf(h, NI + NR, GXY)
    d = prf(h, skeyid, GXY, ICKY, RCKY, b"\x00")
    a = prf(h, skeyid, d, GXY, ICKY, RCKY, b"\x01")
    e = prf(h, skeyid, a, GXY, ICKY, RCKY, b"\x02")
    mid = struct.pack("!I", MID)
    emit(f"{h}_skeyid", skeyid, f"RFC 2409 §5 with {h}")
    emit(f"{h}_skeyid_sig", skeyid_sig)
    emit(f"{h}_skeyid_d", d)
    emit(f"{h}_skeyid_a", a)
    emit(f"{h}_skeyid_e", e)
    emit(f"{h}_enc_aes128", expand(h, e, 16))
    emit(f"{h}_enc_aes256", expand(h, e, 32))
    emit(f"{h}_enc_des3", expand(h, e, 24))
    emit(f"{h}_iv_aes", HASHES[h](GXI + GXR).digest()[:16])
    emit(f"{h}_iv_des3", HASHES[h](GXI + GXR).digest()[:8])
    emit(f"{h}_hash_i", prf(h, skeyid, GXI, GXR, ICKY, RCKY, SAI, IDII))
    emit(f"{h}_hash_r", prf(h, skeyid, GXR, GXI, RCKY, ICKY, SAI, IDIR))
    emit(f"{h}_p2_iv_aes", HASHES[h](LAST_BLOCK + mid).digest()[:16])
    emit(f"{h}_qm_hash1", prf(h, a, mid, AFTER))
    emit(f"{h}_qm_hash2", prf(h, a, mid, NI, AFTER))
    emit(f"{h}_qm_hash3", prf(h, a, b"\x00", mid, NI, NR))
    emit(f"{h}_keymat", keymat(h, d, b"", 0xc0ffee01, 64))
    emit(f"{h}_keymat_pfs", keymat(h, d, QM_GXY, 0xc0ffee01, 64))

# ---------------------------------------------------------------- DH


def pi_bits(n):
    """floor(pi * 2^n) with Machin's formula in integer arithmetic."""
    guard = 64
    one = 1 << (n + guard)

    def arctan_inv(x):
        total = term = one // x
        x2 = x * x
        k = 1
        while term:
            term //= x2
            total += -(term // (2 * k + 1)) if k % 2 else term // (2 * k + 1)
            k += 1
        return total
    return (16 * arctan_inv(5) - 4 * arctan_inv(239)) >> guard


def is_probable_prime(n, rounds=16):
    rng = random.Random(1)
    d, s = n - 1, 0
    while d % 2 == 0:
        d //= 2
        s += 1
    for _ in range(rounds):
        a = rng.randrange(2, n - 2)
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


# RFC 2409 §6.2 and RFC 3526: p = 2^n - 2^(n-64) - 1 + 2^64 * (floor(2^(n-130) pi) + k)
MODP = {2: (1024, 129093), 5: (1536, 741804), 14: (2048, 124476), 15: (3072, 1690314),
        16: (4096, 240904)}
for group, (bits, k) in MODP.items():
    p = 2 ** bits - 2 ** (bits - 64) - 1 + 2 ** 64 * (pi_bits(bits - 130) + k)
    assert p.bit_length() == bits and is_probable_prime(p) and is_probable_prime((p - 1) // 2)
    n = bits // 8
    xa = int.from_bytes(det(b"xa%d" % group, 32), "big")
    xb = int.from_bytes(det(b"xb%d" % group, n - 1), "big")
    ya, yb = pow(2, xa, p), pow(2, xb, p)
    z = pow(yb, xa, p)
    assert z == pow(ya, xb, p)
    emit(f"modp{group}_p", p.to_bytes(n, "big"), f"MODP group {group}")
    emit(f"modp{group}_xa", xa.to_bytes(32, "big"))
    emit(f"modp{group}_xb", xb.to_bytes(n - 1, "big"))
    emit(f"modp{group}_ya", ya.to_bytes(n, "big"))
    emit(f"modp{group}_yb", yb.to_bytes(n, "big"))
    emit(f"modp{group}_z", z.to_bytes(n, "big"))

for group, curve, n in [(19, ec.SECP256R1(), 32), (20, ec.SECP384R1(), 48)]:
    da = int.from_bytes(det(b"da%d" % group, n), "big") % (2 ** (8 * n - 1))
    db = int.from_bytes(det(b"db%d" % group, n), "big") % (2 ** (8 * n - 1))
    ka, kb = ec.derive_private_key(da, curve), ec.derive_private_key(db, curve)

    def xy(k):
        nums = k.public_key().public_numbers()
        return nums.x.to_bytes(n, "big") + nums.y.to_bytes(n, "big")
    z = ka.exchange(ec.ECDH(), kb.public_key())
    emit(f"ecp{group}_da", da.to_bytes(n, "big"), f"ECP group {group}, python3-cryptography")
    emit(f"ecp{group}_db", db.to_bytes(n, "big"))
    emit(f"ecp{group}_qa", xy(ka))
    emit(f"ecp{group}_qb", xy(kb))
    emit(f"ecp{group}_z", z)

# ---------------------------------------------------------------- ciphers
BODY = det(b"body", 61)  # a plaintext body, not block aligned


def cbc(alg, key, iv, data):
    enc = Cipher(alg(key), modes.CBC(iv)).encryptor()
    return enc.update(data) + enc.finalize()


for name, alg, klen, blk in [("aes128", algorithms.AES, 16, 16), ("aes256", algorithms.AES, 32, 16),
                             ("des3", TripleDES, 24, 8)]:
    key = det(b"key" + name.encode(), klen)
    iv = det(b"iv" + name.encode(), blk)
    padded = BODY + bytes(-len(BODY) % blk)
    ct = cbc(alg, key, iv, padded)
    ct2 = cbc(alg, key, ct[-blk:], padded)  # the next message chains from the last block
    emit(f"{name}_key", key, f"{name}-CBC, zero padding to the block")
    emit(f"{name}_iv", iv)
    emit(f"{name}_ct", ct)
    emit(f"{name}_ct2", ct2)
emit("cipher_body", BODY)

# ---------------------------------------------------------------- NAT-D
for h in ("sha1", "sha256"):
    emit(f"natd_{h}_a", HASHES[h](ICKY + RCKY + bytes([192, 0, 2, 1]) + struct.pack("!H", 500))
         .digest(), f"RFC 3947 §3.2 NAT-D with {h}")
    emit(f"natd_{h}_b", HASHES[h](ICKY + RCKY + bytes([203, 0, 113, 9]) + struct.pack("!H", 4500))
         .digest())

for name, v in [("rfc3947", V_RFC3947), ("draft02", V_DRAFT02), ("draft02n", V_DRAFT02N),
                ("draft03", V_DRAFT03), ("frag", V_FRAG), ("msnt5", V_MSNT5), ("msneg", V_MSNEG),
                ("cga", V_CGA), ("mamie", V_MAMIE)]:
    emit("vid_" + name, v)


# ---------------------------------------------------------------- a Main Mode exchange
# A Windows-like initiator behind a NAT (local 198.51.100.5:500, seen as
# 203.0.113.9:500, floating to 4500 for message 5) against the gateway at
# 192.0.2.1, with the responder's randomness fixed so messages 2, 4 and 6
# are predictable. Initiator and expected responder are both computed here.
MM_PSK = b"correct horse battery staple"
MM_RCKY = bytes.fromhex("5eed5eed5eed5eed")
MM_NI = det(b"mm-ni", 32)
MM_NR = det(b"mm-nr", 32)
p14 = 2 ** 2048 - 2 ** 1984 - 1 + 2 ** 64 * (pi_bits(2048 - 130) + 124476)
mm_xi = int.from_bytes(det(b"mm-xi", 32), "big")
mm_xr = int.from_bytes(det(b"mm-xr", 32), "big")
GXI_MM = pow(2, mm_xi, p14).to_bytes(256, "big")
GXR_MM = pow(2, mm_xr, p14).to_bytes(256, "big")
GXY_MM = pow(pow(2, mm_xr, p14), mm_xi, p14).to_bytes(256, "big")
GW = bytes([192, 0, 2, 1])
CLIENT_LOCAL = bytes([198, 51, 100, 5])
CLIENT_SEEN = bytes([203, 0, 113, 9])

offer = [t1(1, "3DES-CBC", 0, "MD5", "PSK", 14), t1(2, "AES-CBC", 256, "SHA", "PSK", 14)]
mm1 = ISAKMP(init_cookie=ICKY, exch_type=2) / sa1(offer) / vid(V_RFC3947) / vid(V_DPD)
mm1_b = bytes(mm1)
sai_b = bytes(sa1(offer))[4:]
chosen = t1(2, "AES-CBC", 256, "SHA", "PSK", 14)
mm2 = (ISAKMP(init_cookie=ICKY, resp_cookie=MM_RCKY, exch_type=2) / sa1([chosen]) /
       vid(V_RFC3947) / vid(V_DPD))


def natd(ip, port):
    return hashlib.sha1(ICKY + MM_RCKY + ip + struct.pack("!H", port)).digest()


mm3 = (ISAKMP(init_cookie=ICKY, resp_cookie=MM_RCKY, exch_type=2) / ISAKMP_payload_KE(load=GXI_MM) /
       ISAKMP_payload_Nonce(next_payload=20, load=MM_NI) /
       ISAKMP_payload(next_payload=20, load=natd(GW, 500)) /
       ISAKMP_payload(next_payload=0, load=natd(CLIENT_LOCAL, 500)))
mm4 = (ISAKMP(init_cookie=ICKY, resp_cookie=MM_RCKY, exch_type=2) / ISAKMP_payload_KE(load=GXR_MM) /
       ISAKMP_payload_Nonce(next_payload=20, load=MM_NR) /
       ISAKMP_payload(next_payload=20, load=natd(CLIENT_SEEN, 500)) /
       ISAKMP_payload(next_payload=0, load=natd(GW, 500)))

mm_skeyid = prf("sha1", MM_PSK, MM_NI, MM_NR)
mm_d = prf("sha1", mm_skeyid, GXY_MM, ICKY, MM_RCKY, b"\x00")
mm_a = prf("sha1", mm_skeyid, mm_d, GXY_MM, ICKY, MM_RCKY, b"\x01")
mm_e = prf("sha1", mm_skeyid, mm_a, GXY_MM, ICKY, MM_RCKY, b"\x02")
mm_key = expand("sha1", mm_e, 32)
mm_iv0 = hashlib.sha1(GXI_MM + GXR_MM).digest()[:16]
idii_b = bytes([1, 17, 1, 244]) + CLIENT_LOCAL
idir_b = bytes([1, 17, 1, 244]) + GW
hash_i_mm = prf("sha1", mm_skeyid, GXI_MM, GXR_MM, ICKY, MM_RCKY, sai_b, idii_b)
hash_r_mm = prf("sha1", mm_skeyid, GXR_MM, GXI_MM, MM_RCKY, ICKY, sai_b, idir_b)


def encrypted(hdr, payloads, iv):
    body = bytes(payloads)
    body += bytes(-len(body) % 16)
    ct = cbc(algorithms.AES, mm_key, iv, body)
    raw = bytes(hdr / payloads)
    msg = bytearray(raw[:28] + ct)
    msg[19] |= 1
    msg[24:28] = struct.pack("!I", len(msg))
    return bytes(msg), ct[-16:]


ic_mm = struct.pack("!IBBH", 1, 1, 16, 24578) + ICKY + MM_RCKY
mm5, mm5_last = encrypted(
    ISAKMP(init_cookie=ICKY, resp_cookie=MM_RCKY, exch_type=2),
    ISAKMP_payload_ID(IDtype=1, ProtoID=17, Port=500, load=CLIENT_LOCAL) /
    ISAKMP_payload_Hash(next_payload=11, load=hash_i_mm) / ISAKMP_payload(next_payload=0, load=ic_mm),
    mm_iv0)
mm6, mm6_last = encrypted(
    ISAKMP(init_cookie=ICKY, resp_cookie=MM_RCKY, exch_type=2),
    ISAKMP_payload_ID(IDtype=1, ProtoID=17, Port=500, load=GW) /
    ISAKMP_payload_Hash(next_payload=0, load=hash_r_mm), mm5_last)
emit("mm_psk", MM_PSK, "A whole Main Mode (PSK, MODP2048, AES-256/SHA1, NAT-T RFC 3947)")
emit("mm_rcky", MM_RCKY)
emit("mm_nr", MM_NR)
emit("mm_xr", mm_xr.to_bytes(32, "big"))
emit("mm_msg1", mm1_b)
emit("mm_msg2", bytes(mm2))
emit("mm_msg3", bytes(mm3))
emit("mm_msg4", bytes(mm4))
emit("mm_msg5", mm5)
emit("mm_msg6", mm6)
emit("mm_skeyid_d", mm_d)
emit("mm_skeyid_a", mm_a)
emit("mm_enc_key", mm_key)
emit("mm_last_block", mm6_last)
emit("mm_idir", idir_b)



# ---------------------------------------------------------------- Quick Mode on that ISAKMP SA
# Payloads packed here with struct from the RFC figures (RFC 2408 §3.2-3.15,
# RFC 2407 §4.6, RFC 3947 §5.2), independent of the C++ encoders; hashes
# and KEYMAT from RFC 2409 §5.5, CBC from python3-cryptography.
def gp(nxt, body):
    return struct.pack("!BBH", nxt, 0, 4 + len(body)) + body


def chain_payloads(items):  # [(type, body)] -> (first type, bytes)
    out = b""
    for i, (_, body) in enumerate(items):
        nxt = items[i + 1][0] if i + 1 < len(items) else 0
        out += gp(nxt, body)
    return items[0][0], out


def attr_int(t, v):
    if v < 65536:
        return struct.pack("!HH", 0x8000 | t, v)
    return struct.pack("!HHI", t, 4, v)


def esp_transform(num, tid, keylen, auth, encap, seconds, kb=None, group=None):
    a = attr_int(1, 1) + attr_int(2, seconds)
    if kb:
        a += attr_int(1, 2) + attr_int(2, kb)
    a += attr_int(4, encap) + attr_int(5, auth)
    if keylen:
        a += attr_int(6, keylen)
    if group:
        a += attr_int(3, group)
    return struct.pack("!BBH", num, tid, 0) + a


def esp_sa(spi, transforms):
    ts = b"".join(gp(0 if i + 1 == len(transforms) else 3, t) for i, t in enumerate(transforms))
    prop = struct.pack("!BBBB", 1, 3, len(spi), len(transforms)) + spi + ts
    return struct.pack("!II", 1, 1) + gp(0, prop)


def qm_message(exch, mid, items, iv):
    first, body = chain_payloads(items)
    padded = body + bytes(-len(body) % 16)
    ct = cbc(algorithms.AES, mm_key, iv, padded)
    hdr = ICKY + MM_RCKY + struct.pack("!BBBBII", first, 0x10, exch, 1, mid, 28 + len(ct))
    return hdr + ct, ct[-16:]


def with_hash(items, mac):
    after = chain_payloads(items)[1]
    h = mac(after)
    return [(8, h)] + items


def p2_iv(mid):
    return hashlib.sha1(mm6_last + struct.pack("!I", mid)).digest()[:16]


def qm_keymat(gqm, spi, ni, nr, n):  # RFC 2409 §5.5
    seed = gqm + bytes([3]) + struct.pack("!I", spi) + ni + nr
    k = prf("sha1", mm_d, seed)
    out = k
    while len(out) < n:
        k = prf("sha1", mm_d, k + seed)
        out += k
    return out[:n]


def emit_keymat(prefix, gqm, spi_in, spi_out, ni, nr, enc_len, auth_len):
    """The ESP keys of both directions, the encryption key first."""
    for way, spi in (("in", spi_in), ("out", spi_out)):
        km = qm_keymat(gqm, spi, ni, nr, enc_len + auth_len)
        emit(f"{prefix}_{way}_enc", km[:enc_len])
        emit(f"{prefix}_{way}_auth", km[enc_len:])


def quick_mode(mid, offer, chosen, ni, nr, spi_r, ids, natoa, ke_i=None, ke_r=None, gqm=b"",
               notify=None, spi_i=SPI_I, natoa_r=(CLIENT_SEEN, GW)):
    mid_b = struct.pack("!I", mid)
    q1 = [(1, esp_sa(spi_i, offer)), (10, ni)]
    q2 = [(1, esp_sa(struct.pack("!I", spi_r), [chosen])), (10, nr)]
    if ke_i:
        q1.append((4, ke_i))
        q2.append((4, ke_r))
    for body in ids:
        q1.append((5, body))
        q2.append((5, body))
    if notify:
        q2.append((11, notify))
    if natoa:
        q1 += [(21, struct.pack("!B3x", 1) + natoa[0]), (21, struct.pack("!B3x", 1) + natoa[1])]
        q2 += [(21, struct.pack("!B3x", 1) + natoa_r[0]), (21, struct.pack("!B3x", 1) + natoa_r[1])]
    m1, last1 = qm_message(32, mid, with_hash(q1, lambda a: prf("sha1", mm_a, mid_b, a)), p2_iv(mid))
    m2, last2 = qm_message(32, mid, with_hash(q2, lambda a: prf("sha1", mm_a, mid_b, ni, a)), last1)
    m3, _ = qm_message(32, mid, [(8, prf("sha1", mm_a, b"\x00", mid_b, ni, nr))], last2)
    return m1, m2, m3


QM_SPI_R = 0x5eed0001
QM_NI = det(b"qm-ni", 32)
QM_NR = det(b"qm-nr", 32)
qm_offer = [esp_transform(1, 12, 128, 1, 4, 3600, 250000), esp_transform(2, 12, 128, 2, 4, 3600, 250000)]
qm_ids = [struct.pack("!BBH", 1, 17, 1701) + CLIENT_LOCAL, struct.pack("!BBH", 1, 17, 1701) + GW]
qm1, qm2, qm3 = quick_mode(0x0a0b0c0d, qm_offer, qm_offer[1], QM_NI, QM_NR, QM_SPI_R, qm_ids,
                           (CLIENT_LOCAL, GW))
emit("qm_msg1", qm1, "Quick Mode on the Main Mode SA above: MD5 refused, AES-128/SHA1 UDP-transport")
emit("qm_msg2", qm2)
emit("qm_msg3", qm3)
emit("qm_nr", QM_NR)
emit_int("qm_spi_r", QM_SPI_R)
emit_keymat("qm", b"", QM_SPI_R, 0xc0ffee01, QM_NI, QM_NR, 16, 20)

# With PFS (MODP2048), no IDs, 86400 s offered and cut to 3600 by RESPONDER-LIFETIME.
qm_xi = int.from_bytes(det(b"qm-xi", 32), "big")
qm_xr = int.from_bytes(det(b"qm-xr", 32), "big")
QM_GXI = pow(2, qm_xi, p14).to_bytes(256, "big")
QM_GXR = pow(2, qm_xr, p14).to_bytes(256, "big")
QM_GXY = pow(pow(2, qm_xi, p14), qm_xr, p14).to_bytes(256, "big")
pfs_offer = [esp_transform(1, 12, 256, 2, 4, 86400, group=14)]
rl = struct.pack("!IBBH", 1, 3, 4, 24576) + struct.pack("!I", QM_SPI_R + 1) + attr_int(1, 1) + attr_int(2, 3600)
pq1, pq2, pq3 = quick_mode(0x01010101, pfs_offer, pfs_offer[0], QM_NI, QM_NR, QM_SPI_R + 1, [], None,
                           QM_GXI, QM_GXR, QM_GXY, rl)
emit("qm_pfs_msg1", pq1, "Quick Mode with PFS MODP2048 and RESPONDER-LIFETIME 3600 s")
emit("qm_pfs_msg2", pq2)
emit("qm_pfs_msg3", pq3)
emit("qm_pfs_xr", qm_xr.to_bytes(32, "big"))
emit_keymat("qm_pfs", QM_GXY, QM_SPI_R + 1, 0xc0ffee01, QM_NI, QM_NR, 32, 20)

# A rekey the gateway starts on the same ISAKMP SA, roles swapped: it
# offers the agreed transform once more (number 1) under its new SPI, its
# selector first, NAT-OAi its own address and NAT-OAr the client as seen;
# the client chooses it with its own SPI and nonce.
RK_SPI_GW = 0x5eed0002
RK_SPI_CL = 0xc0ffee02
RK_NI = det(b"rk-ni", 32)
RK_NR = det(b"rk-nr", 32)
rk_t = esp_transform(1, 12, 128, 2, 4, 3600, 250000)
rk1, rk2, rk3 = quick_mode(0x0c0d0e0f, [rk_t], rk_t, RK_NI, RK_NR, RK_SPI_CL, [qm_ids[1], qm_ids[0]],
                           (GW, CLIENT_SEEN), spi_i=struct.pack("!I", RK_SPI_GW),
                           natoa_r=(GW, CLIENT_LOCAL))
emit("rk_msg1", rk1, "A rekey of that pair started by the gateway (message ID 0x0c0d0e0f)")
emit("rk_msg2", rk2)
emit("rk_msg3", rk3)
emit("rk_ni", RK_NI)
emit_int("rk_spi_gw", RK_SPI_GW)
emit_int("rk_spi_client", RK_SPI_CL)
emit_keymat("rk", b"", RK_SPI_GW, RK_SPI_CL, RK_NI, RK_NR, 16, 20)

# Tunnel mode (RFC 4301 §4.1) on the same ISAKMP SA: UDP-Tunnel (RFC 3947
# mode 3), the client's inner address 192.168.77.2 (ID_IPV4_ADDR) to the
# network 10.9.0.0/24 behind the gateway (ID_IPV4_ADDR_SUBNET), protocol
# and ports 0, no NAT-OA (RFC 3947 §5.2 sends it in transport mode only).
# Then the client's second Quick Mode for the same networks (its own
# rekey), and the gateway's rekey of the first pair, its selector first.
TN_NET = bytes([192, 168, 77, 2])
TN_LOCAL = bytes([10, 9, 0, 0]) + bytes([255, 255, 255, 0])
tn_ids = [struct.pack("!BBH", 1, 0, 0) + TN_NET, struct.pack("!BBH", 4, 0, 0) + TN_LOCAL]
tn_t = esp_transform(1, 12, 128, 2, 3, 3600, 250000)
TN_NI = det(b"tn-ni", 32)
tn1, tn2, tn3 = quick_mode(0x0e0e0e0e, [tn_t], tn_t, TN_NI, QM_NR, QM_SPI_R, tn_ids, None)
emit("tn_msg1", tn1, "Tunnel mode 192.168.77.2 <-> 10.9.0.0/24, UDP-tunnel (message ID 0x0e0e0e0e)")
emit("tn_msg2", tn2)
emit("tn_msg3", tn3)
emit("tn_idci", tn_ids[0])
emit("tn_idcr", tn_ids[1])
emit_keymat("tn", b"", QM_SPI_R, 0xc0ffee01, TN_NI, QM_NR, 16, 20)
TN_AGAIN_SPI_R = 0x5eed0004
tn_again = quick_mode(0x0f0f0f0f, [tn_t], tn_t, det(b"tn-again-ni", 32), QM_NR, TN_AGAIN_SPI_R, tn_ids,
                      None, spi_i=struct.pack("!I", 0xc0ffee03))
emit("tn_again_msg1", tn_again[0], "The client's own rekey of that tunnel (message ID 0x0f0f0f0f)")
emit("tn_again_msg2", tn_again[1])
emit("tn_again_msg3", tn_again[2])
emit_int("tn_again_spi_r", TN_AGAIN_SPI_R)
tr1, tr2, tr3 = quick_mode(0x0c0d0e0f, [tn_t], tn_t, RK_NI, RK_NR, RK_SPI_CL, [tn_ids[1], tn_ids[0]],
                           None, spi_i=struct.pack("!I", RK_SPI_GW))
emit("tr_msg1", tr1, "The gateway's rekey of the tunnel pair (keys: the rk_ ones, same SPIs and nonces)")
emit("tr_msg2", tr2)
emit("tr_msg3", tr3)


# Informational: R-U-THERE (RFC 3706 §5.1) and our expected R-U-THERE-ACK;
# Delete of an ESP SA and of the ISAKMP SA with INITIAL-CONTACT.
def info_message(mid, items):
    mid_b = struct.pack("!I", mid)
    return qm_message(5, mid, with_hash(items, lambda a: prf("sha1", mm_a, mid_b, a)), p2_iv(mid))[0]


cookies = ICKY + MM_RCKY
emit("info_dpd", info_message(0x77777777, [(11, struct.pack("!IBBH", 1, 1, 16, 36136) + cookies +
                                                struct.pack("!I", 0x01020304))]),
     "Informational exchanges on the Main Mode SA")
emit("info_dpd_ack", info_message(0x12345678, [(11, struct.pack("!IBBH", 1, 1, 16, 36137) + cookies +
                                                    struct.pack("!I", 0x01020304))]))
emit("info_delete", info_message(0x66666666, [
    (12, struct.pack("!IBBH", 1, 3, 4, 1) + SPI_I),
    (12, struct.pack("!IBBH", 1, 1, 16, 1) + cookies),
    (11, struct.pack("!IBBH", 1, 1, 16, 24578) + cookies)]))

print("// Generated by tests/unit/ike/gen_vectors.py (/usr/bin/python3); do not edit.")
print("#pragma once")
print()
print("namespace l2tpgw::ike::vec {")
print()
print("\n".join(OUT))
print()
print("}  // namespace l2tpgw::ike::vec")
