#!/usr/bin/python3
"""Independent IKEv1 Aggressive Mode vectors (written to aggressive_vectors.h).

A whole Aggressive Mode with a pre-shared key (RFC 2409 §5.4): the
initiator's messages 1 and 3 and the responder's expected message 2, both
sides computed here. Every payload is packed with struct from the RFC
figures (RFC 2408 §3, RFC 2407 §4.6, RFC 3947 §3.2); ECP-256 comes from
python3-cryptography, the PRF from hmac, AES-CBC from python3-cryptography.
Nothing is shared with the C++ side or with gen_vectors.py.

The initiator sits behind a NAT (local 198.51.100.5, seen as 203.0.113.9)
and talks to the gateway at 192.0.2.1, port 500 throughout; it offers
3DES/MD5 (refused by default) and AES-128/SHA2-256, both ECP-256, and
announces RFC 3947 NAT-T and DPD. Message 3 exists twice: encrypted (with
INITIAL-CONTACT) and in the clear.

Run: /usr/bin/python3 tests/unit/ike/gen_aggressive_vectors.py > tests/unit/ike/aggressive_vectors.h
"""
import hashlib
import hmac
import struct

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

OUT = []


def emit(name, data, comment=None):
    if comment:
        OUT.append(f"// {comment}")
    h = data.hex()
    parts = [h[i:i + 96] for i in range(0, len(h), 96)] or [""]
    body = "\n    ".join(f'"{p}"' for p in parts)
    OUT.append(f"inline constexpr const char* {name} =\n    {body};")


def det(label, n):
    out = b""
    i = 0
    while len(out) < n:
        out += hashlib.sha256(b"aggressive-" + label + bytes([i])).digest()
        i += 1
    return out[:n]


def prf(key, *parts):  # the negotiated PRF: HMAC-SHA2-256
    return hmac.new(key, b"".join(parts), hashlib.sha256).digest()


def gp(nxt, body):  # RFC 2408 §3.2 generic payload header
    return struct.pack("!BBH", nxt, 0, 4 + len(body)) + body


def chain(items):  # [(type, body)] -> (first type, bytes)
    out = b""
    for i, (_, body) in enumerate(items):
        nxt = items[i + 1][0] if i + 1 < len(items) else 0
        out += gp(nxt, body)
    return items[0][0], out


def header(rcky, first, flags, length):
    return ICKY + rcky + struct.pack("!BBBBII", first, 0x10, 4, flags, 0, length)


def message(rcky, items):
    first, body = chain(items)
    return header(rcky, first, 0, 28 + len(body)) + body


def basic(t, v):  # RFC 2408 §3.3, TV form
    return struct.pack("!HH", 0x8000 | t, v)


def transform(num, enc, keylen, hsh, group):
    # RFC 2409 Appendix A: 1 encryption, 14 key length, 2 hash, 3 auth
    # (1 = pre-shared key), 4 group, 11/12 life type and duration.
    a = basic(1, enc)
    if keylen:
        a += basic(14, keylen)
    a += basic(2, hsh) + basic(3, 1) + basic(4, group) + basic(11, 1) + basic(12, 28800)
    return struct.pack("!BBH", num, 1, 0) + a  # KEY_IKE


def sa_body(transforms):
    ts = b"".join(gp(0 if i + 1 == len(transforms) else 3, t) for i, t in enumerate(transforms))
    prop = struct.pack("!BBBB", 1, 1, 0, len(transforms)) + ts  # ISAKMP, no SPI
    return struct.pack("!II", 1, 1) + gp(0, prop)  # DOI IPsec, SIT_IDENTITY_ONLY


def vid_md5(s):
    return hashlib.md5(s).digest()


ICKY = bytes.fromhex("a9a8a7a6a5a4a3a2")
RCKY = bytes.fromhex("4a4a4a4a4a4a4a4a")
PSK = b"aggressive phone key 2026"
NI = det(b"ni", 32)
NR = det(b"nr", 32)
GW = bytes([192, 0, 2, 1])
CLIENT_LOCAL = bytes([198, 51, 100, 5])
CLIENT_SEEN = bytes([203, 0, 113, 9])
V_RFC3947 = vid_md5(b"RFC 3947")
V_DPD = bytes.fromhex("afcad71368a1f1c96b8696fc77570100")  # RFC 3706 §5.1

curve = ec.SECP256R1()
di = int.from_bytes(det(b"xi", 32), "big") % (2 ** 255)
dr = int.from_bytes(det(b"xr", 32), "big") % (2 ** 255)
ki, kr = ec.derive_private_key(di, curve), ec.derive_private_key(dr, curve)


def xy(k):  # RFC 5903 §7: x | y
    nums = k.public_key().public_numbers()
    return nums.x.to_bytes(32, "big") + nums.y.to_bytes(32, "big")


GXI, GXR = xy(ki), xy(kr)
GXY = ki.exchange(ec.ECDH(), kr.public_key())  # RFC 5903 §7: the x coordinate

offer = [transform(1, 5, 0, 1, 19), transform(2, 7, 128, 4, 19)]  # 3DES/MD5, AES-128/SHA2-256
SAI_B = sa_body(offer)
IDII_B = struct.pack("!BBH", 2, 17, 500) + b"phone.example.org"  # ID_FQDN
IDIR_B = struct.pack("!BBH", 1, 17, 500) + GW  # ID_IPV4_ADDR

am1 = message(bytes(8), [(1, SAI_B), (4, GXI), (10, NI), (5, IDII_B), (13, V_RFC3947),
                         (13, V_DPD)])

skeyid = prf(PSK, NI, NR)
skeyid_d = prf(skeyid, GXY, ICKY, RCKY, b"\x00")
skeyid_a = prf(skeyid, skeyid_d, GXY, ICKY, RCKY, b"\x01")
skeyid_e = prf(skeyid, skeyid_a, GXY, ICKY, RCKY, b"\x02")
enc_key = skeyid_e[:16]  # RFC 2409 Appendix B: long enough, truncated
iv0 = hashlib.sha256(GXI + GXR).digest()[:16]
hash_r = prf(skeyid, GXR, GXI, RCKY, ICKY, SAI_B, IDIR_B)
hash_i = prf(skeyid, GXI, GXR, ICKY, RCKY, SAI_B, IDII_B)


def natd(ip, port):  # RFC 3947 §3.2 with the negotiated hash
    return hashlib.sha256(ICKY + RCKY + ip + struct.pack("!H", port)).digest()


# Message 2: our SA repeats the chosen transform; NAT-D of the peer as we
# see it, then ours.
am2 = message(RCKY, [(1, sa_body([offer[1]])), (4, GXR), (10, NR), (5, IDIR_B), (8, hash_r),
                     (13, V_RFC3947), (13, V_DPD), (20, natd(CLIENT_SEEN, 500)),
                     (20, natd(GW, 500))])

# Message 3: HASH_I, NAT-D of the responder and of itself as the initiator
# knows them.
m3_items = [(8, hash_i), (20, natd(GW, 500)), (20, natd(CLIENT_LOCAL, 500))]
am3_clear = message(RCKY, m3_items)
ic = struct.pack("!IBBH", 1, 1, 16, 24578) + ICKY + RCKY  # INITIAL-CONTACT
first, body = chain(m3_items + [(11, ic)])
padded = body + bytes(-len(body) % 16)
enc = Cipher(algorithms.AES(enc_key), modes.CBC(iv0)).encryptor()
ct = enc.update(padded) + enc.finalize()
am3_enc = header(RCKY, first, 1, 28 + len(ct)) + ct

# The same message 3 under a key the responder does not hold: decrypts to noise.
wrong_skeyid = prf(b"not the phone key at all", NI, NR)
wd = prf(wrong_skeyid, GXY, ICKY, RCKY, b"\x00")
wa = prf(wrong_skeyid, wd, GXY, ICKY, RCKY, b"\x01")
we = prf(wrong_skeyid, wa, GXY, ICKY, RCKY, b"\x02")
enc = Cipher(algorithms.AES(we[:16]), modes.CBC(iv0)).encryptor()
wct = enc.update(padded) + enc.finalize()
am3_wrong_key = header(RCKY, first, 1, 28 + len(wct)) + wct

emit("am_psk", PSK, "A whole Aggressive Mode (PSK, ECP-256, AES-128/SHA2-256, NAT-T RFC 3947)")
emit("am_rcky", RCKY)
emit("am_nr", NR)
emit("am_xr", dr.to_bytes(32, "big"))
emit("am_idir", IDIR_B)
emit("am_msg1", am1)
emit("am_msg2", am2)
emit("am_msg3_encrypted", am3_enc)
emit("am_msg3_clear", am3_clear)
emit("am_msg3_wrong_key", am3_wrong_key)
emit("am_skeyid_d", skeyid_d)
emit("am_skeyid_a", skeyid_a)
emit("am_enc_key", enc_key)
emit("am_iv0", iv0, "phase-2 IVs start here when message 3 is in the clear")
emit("am_last_block_encrypted", ct[-16:])



# ---------------------------------------------------------------- Quick Mode on that SA
# RFC 2409 §5.5 on either ending of phase 1: the phase-2 IV is
# hash(last phase-1 CBC block | M-ID) (Appendix B), the last block being
# message 3's when it was encrypted, else the first IV. AES-128/HMAC-SHA1,
# UDP-encapsulated transport (RFC 3947 mode 4), 3600 s, no IDs; the
# responder's SPI and nonce are fixed so its HASH(2) message is predictable.
QM_SPI_I = bytes.fromhex("c0ffee02")
QM_SPI_R = 0x5eed0a0a
QM_NI = det(b"qm-ni", 32)
QM_NR = det(b"qm-nr", 32)


def attr(t, v):
    return struct.pack("!HH", 0x8000 | t, v)


# RFC 2407 §4.5: life type/duration, encapsulation, auth, key length.
esp_t = struct.pack("!BBH", 1, 12, 0) + attr(1, 1) + attr(2, 3600) + attr(4, 4) + attr(5, 2) + attr(6, 128)


def esp_sa(spi):
    prop = struct.pack("!BBBB", 1, 3, 4, 1) + spi + gp(0, esp_t)
    return struct.pack("!II", 1, 1) + gp(0, prop)


def qm_message(mid, items, iv):
    first, body = chain(items)
    padded = body + bytes(-len(body) % 16)
    e = Cipher(algorithms.AES(enc_key), modes.CBC(iv)).encryptor()
    ct = e.update(padded) + e.finalize()
    hdr = ICKY + RCKY + struct.pack("!BBBBII", first, 0x10, 32, 1, mid, 28 + len(ct))
    return hdr + ct, ct[-16:]


def qm_keymat(spi):  # RFC 2409 §5.5, prf+ of SKEYID_d
    seed = bytes([3]) + struct.pack("!I", spi) + QM_NI + QM_NR
    k = prf(skeyid_d, seed)
    out = k
    while len(out) < 36:
        k = prf(skeyid_d, k + seed)
        out += k
    return out[:36]


def quick_mode(tag, last_phase1_block, mid):
    mid_b = struct.pack("!I", mid)
    iv = hashlib.sha256(last_phase1_block + mid_b).digest()[:16]
    q1 = [(1, esp_sa(QM_SPI_I)), (10, QM_NI)]
    q2 = [(1, esp_sa(struct.pack("!I", QM_SPI_R))), (10, QM_NR)]
    h1 = prf(skeyid_a, mid_b, chain(q1)[1])
    m1, last1 = qm_message(mid, [(8, h1)] + q1, iv)
    h2 = prf(skeyid_a, mid_b, QM_NI, chain(q2)[1])
    m2, last2 = qm_message(mid, [(8, h2)] + q2, last1)
    m3, _ = qm_message(mid, [(8, prf(skeyid_a, b"\x00", mid_b, QM_NI, QM_NR))], last2)
    emit(f"am_qm1_{tag}", m1)
    emit(f"am_qm2_{tag}", m2)
    emit(f"am_qm3_{tag}", m3)


emit("am_qm_nr", QM_NR, "Quick Mode on the Aggressive Mode SA (message 3 encrypted, then in the clear)")
quick_mode("encrypted", ct[-16:], 0x0badcafe)
quick_mode("clear", iv0, 0x0badcafe)
km_in, km_out = qm_keymat(QM_SPI_R), qm_keymat(0xc0ffee02)
emit("am_qm_in_enc", km_in[:16])
emit("am_qm_in_auth", km_in[16:])
emit("am_qm_out_enc", km_out[:16])
emit("am_qm_out_auth", km_out[16:])
OUT.append(f"inline constexpr unsigned am_qm_spi_r = {QM_SPI_R:#x};")

print("// Generated by tests/unit/ike/gen_aggressive_vectors.py (/usr/bin/python3); do not edit.")
print("#pragma once")
print()
print("namespace l2tpgw::ike::vec {")
print()
print("\n".join(OUT))
print()
print("}  // namespace l2tpgw::ike::vec")
