#!/usr/bin/python3
"""Vectors of a phase-1 rekey the gateway starts (initiator_vectors.h).

The ISAKMP SA replaced is the Main Mode of gen_vectors.py (AES-256/SHA1/
MODP2048, PSK, the client behind a NAT at 203.0.113.9:4500, RFC 3947 and
DPD vendor IDs). The gateway (192.0.2.1) starts a new Main Mode to it from
port 4500; this script is the client answering as a responder with fixed
randomness (messages 2, 4, 6) and computes what the gateway must send
(messages 1, 3, 5) and the keys, with struct, hashlib/hmac and
python3-cryptography after RFC 2409 §5 and Appendix B and RFC 3947 §3.2;
the MODP prime and helpers are gen_vectors.py's (rebuilt from pi there).

Run: /usr/bin/python3 tests/unit/ike/gen_initiator_vectors.py > tests/unit/ike/initiator_vectors.h
"""
import contextlib
import hashlib
import io
import struct

with contextlib.redirect_stdout(io.StringIO()):
    import gen_vectors as gv  # noqa: E402  (its vectors.h text is not wanted here)

from cryptography.hazmat.primitives.ciphers import algorithms  # noqa: E402

OUT = []
gv.OUT = OUT  # gv.emit writes here

PSK = gv.MM_PSK
GW = gv.GW
SEEN = gv.CLIENT_SEEN      # the client as the gateway sees it
LOCAL = gv.CLIENT_LOCAL    # the client's own address
CKY_I = bytes.fromhex("7a7b7c7d7e7f7071")  # the gateway's cookie
CKY_R = bytes.fromhex("c1c2c3c4c5c6c7c8")  # the client's
NI = gv.det(b"p1rk-ni", 32)
NR = gv.det(b"p1rk-nr", 20)
p14 = gv.p14
xi = int.from_bytes(gv.det(b"p1rk-xi", 32), "big")
xr = int.from_bytes(gv.det(b"p1rk-xr", 32), "big")
GXI = pow(2, xi, p14).to_bytes(256, "big")
GXR = pow(2, xr, p14).to_bytes(256, "big")
GXY = pow(pow(2, xr, p14), xi, p14).to_bytes(256, "big")
gp = gv.gp
chain_payloads = gv.chain_payloads
attr_int = gv.attr_int


def header(first, flags, length, rcky=CKY_R):
    return CKY_I + rcky + struct.pack("!BBBBII", first, 0x10, 2, flags, 0, length)


def clear(items, rcky=CKY_R):
    first, body = chain_payloads(items)
    return header(first, 0, 28 + len(body), rcky) + body


# RFC 2409 Appendix A attributes, the suite of the SA replaced and its
# lifetime (3000 s: ike_lifetime = 3000 cut the 28800 s of its offer).
attrs = (attr_int(1, 7) + attr_int(14, 256) + attr_int(2, 2) + attr_int(3, 1) + attr_int(4, 14) +
         attr_int(11, 1) + attr_int(12, 3000))
transform = struct.pack("!BBH", 1, 1, 0) + attrs               # KEY_IKE
proposal = struct.pack("!BBBB", 1, 1, 0, 1) + gp(0, transform)  # ISAKMP, no SPI
SAI_B = struct.pack("!II", 1, 1) + gp(0, proposal)
vids = [(13, gv.V_RFC3947), (13, gv.V_DPD)]
msg1 = clear([(1, SAI_B)] + vids, rcky=bytes(8))
msg2 = clear([(1, SAI_B)] + vids)


def natd(ip, port):
    return hashlib.sha1(CKY_I + CKY_R + ip + struct.pack("!H", port)).digest()


# RFC 3947 §3.2: the destination first, then the sender's own address.
msg3 = clear([(4, GXI), (10, NI), (20, natd(SEEN, 4500)), (20, natd(GW, 4500))])
msg4 = clear([(4, GXR), (10, NR), (20, natd(GW, 4500)), (20, natd(LOCAL, 4500))])

skeyid = gv.prf("sha1", PSK, NI, NR)
sk_d = gv.prf("sha1", skeyid, GXY, CKY_I, CKY_R, b"\x00")
sk_a = gv.prf("sha1", skeyid, sk_d, GXY, CKY_I, CKY_R, b"\x01")
sk_e = gv.prf("sha1", skeyid, sk_a, GXY, CKY_I, CKY_R, b"\x02")
key = gv.expand("sha1", sk_e, 32)
iv0 = hashlib.sha1(GXI + GXR).digest()[:16]
IDII = struct.pack("!BBH", 1, 17, 500) + GW
IDIR = struct.pack("!BBH", 1, 17, 500) + LOCAL
hash_i = gv.prf("sha1", skeyid, GXI, GXR, CKY_I, CKY_R, SAI_B, IDII)


def hash_r(idir):
    return gv.prf("sha1", skeyid, GXR, GXI, CKY_R, CKY_I, SAI_B, idir)


def encrypted(items, iv):
    first, body = chain_payloads(items)
    body += bytes(-len(body) % 16)
    ct = gv.cbc(algorithms.AES, key, iv, body)
    return header(first, 1, 28 + len(ct)) + ct, ct[-16:]


msg5, msg5_last = encrypted([(5, IDII), (8, hash_i)], iv0)
msg6, msg6_last = encrypted([(5, IDIR), (8, hash_r(IDIR))], msg5_last)
wrong = bytearray(hash_r(IDIR))
wrong[0] ^= 1
msg6_bad_hash, _ = encrypted([(5, IDIR), (8, bytes(wrong))], msg5_last)
other = struct.pack("!BBH", 1, 17, 500) + bytes([198, 51, 100, 6])
msg6_other_id, _ = encrypted([(5, other), (8, hash_r(other))], msg5_last)

emit = gv.emit
emit("p1rk_icky", CKY_I, "The gateway's Main Mode to 203.0.113.9:4500 replacing gen_vectors' SA")
emit("p1rk_ni", NI)
emit("p1rk_xi", xi.to_bytes(32, "big"))
emit("p1rk_msg1", msg1)
emit("p1rk_msg2", msg2)
emit("p1rk_msg3", msg3)
emit("p1rk_msg4", msg4)
emit("p1rk_msg5", msg5)
emit("p1rk_msg6", msg6)
emit("p1rk_msg6_bad_hash", msg6_bad_hash, "HASH_R with one bit flipped")
emit("p1rk_msg6_other_id", msg6_other_id, "a valid HASH_R for another identity (198.51.100.6)")
emit("p1rk_skeyid", skeyid)
emit("p1rk_skeyid_d", sk_d)
emit("p1rk_skeyid_a", sk_a)
emit("p1rk_skeyid_e", sk_e)
emit("p1rk_enc_key", key)
emit("p1rk_iv", iv0)
emit("p1rk_last_block", msg6_last)

# The Delete of the replaced ISAKMP SA over itself (RFC 2408 §3.15,
# protocol ISAKMP, its cookies as the SPI), HASH(1) first (RFC 2409 §5.7),
# under the message ID the service test draws.
DEL_MID = 0x0d0e0f10
emit("p1rk_old_delete", gv.info_message(DEL_MID, [
    (12, struct.pack("!IBBH", 1, 1, 16, 1) + gv.ICKY + gv.MM_RCKY)]),
    "The old ISAKMP SA's Delete, message ID 0x0d0e0f10")
gv.emit_int("p1rk_delete_mid", DEL_MID)

print("// Generated by tests/unit/ike/gen_initiator_vectors.py (/usr/bin/python3); do not edit.")
print("#pragma once")
print()
print("namespace l2tpgw::ike::p1rk {")
print()
print("\n".join(OUT))
print()
print("}  // namespace l2tpgw::ike::p1rk")
