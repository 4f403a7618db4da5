#!/usr/bin/python3
"""Self-test of the client's IKEv1 pieces, without network (but for one
NAT-T keepalive caught on loopback), each held
against a source of its own: scapy's ISAKMP layers for the codecs (both
ways), struct layouts written from RFC 2408 §3.14/3.15 and RFC 3947 §5.2
for the payloads scapy lacks, the key schedule of RFC 2409 §5 and
Appendix B recomputed with python3-cryptography's HMAC and hashes, the
Oakley primes against scapy's RFC 2409/3526 tables, DH and ECDH against
python3-cryptography from the peer's side, and the vendor IDs against the
values published with them; the certificate side as
selftest_ike_cert.py says. Exit 0 when all checks pass.

    /usr/bin/python3 perf/client/selftest_ike.py
"""

import os
import socket
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.hazmat.primitives import hmac as chmac  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import dh, ec  # noqa: E402
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes  # noqa: E402
from scapy.layers.isakmp import (ISAKMP, ISAKMP_payload_Hash, ISAKMP_payload_ID,  # noqa: E402
                                 ISAKMP_payload_KE, ISAKMP_payload_Nonce, ISAKMP_payload_Proposal,
                                 ISAKMP_payload_SA, ISAKMP_payload_Transform, ISAKMP_payload_VendorID)
from scapy.layers.tls.crypto.groups import modp1024, modp2048  # noqa: E402

from scapy.error import log_runtime  # noqa: E402

from client import ike_keys as k  # noqa: E402
from client import isakmp as i  # noqa: E402
from client.profiles import PROFILES, P1, P2  # noqa: E402
import selftest_ike_cert  # noqa: E402

RESULTS = []
CHASH = {1: hashes.MD5, 2: hashes.SHA1, 4: hashes.SHA256, 5: hashes.SHA384, 6: hashes.SHA512}


def check(name, ok, detail=""):
    RESULTS.append((name, bool(ok)))
    print(f"[{'PASS' if ok else 'FAIL'}] {name}{'' if ok or not detail else ': ' + str(detail)}")


def cprf(hid, key, data):
    """The prf a second way: python3-cryptography's HMAC."""
    h = chmac.HMAC(key, CHASH[hid]())
    h.update(data)
    return h.finalize()


def chash(hid, data):
    h = hashes.Hash(CHASH[hid]())
    h.update(data)
    return h.finalize()


# ------------------------------------------------------------------ codecs
def main_mode_1():
    prof = PROFILES["windows"]
    transforms = []
    for p in prof.p1:
        attrs = [(i.P1_ENC, p.enc)] + ([(i.P1_KEY_LENGTH, p.key_bits)] if p.key_bits else []) + \
            [(i.P1_HASH, p.hash), (i.P1_AUTH, i.AUTH_PSK), (i.P1_GROUP, p.group),
             (i.P1_LIFE_TYPE, i.LIFE_SECONDS), (i.P1_LIFE_DURATION, prof.p1_life)]
        transforms.append((i.KEY_IKE, attrs))
    sa = i.sa_body([i.proposal(1, i.PROTO_ISAKMP, b"", transforms)])
    hdr = i.Header(b"\x11" * 8, b"\x00" * 8, 0, i.EXCH_MAIN)
    return i.message(hdr, [(i.PL_SA, sa)] + [(i.PL_VID, v) for v in prof.vendor_ids]), prof


def test_codec_against_scapy():
    msg, prof = main_mode_1()
    s = ISAKMP(msg)
    check("scapy reads our header: cookies, exchange, length", s.init_cookie == b"\x11" * 8 and
          s.exch_type == 2 and s.length == len(msg) and s.next_payload == 1)
    sa = s[ISAKMP_payload_SA]
    prop = sa.prop
    check("scapy reads our SA: DOI 1, situation 1, one ISAKMP proposal",
          sa.DOI == 1 and sa.situation == 1 and prop.proto == 1 and prop.trans_nb == len(prof.p1))
    trs, t = [], prop.trans
    while isinstance(t, ISAKMP_payload_Transform):
        trs.append(t)
        t = t.payload
    want0 = [("Encryption", "AES-CBC"), ("KeyLength", 256), ("Hash", "SHA"), ("Authentication", "PSK"),
             (4, 20), ("LifeType", "Seconds"), ("LifeDuration", 28800)]
    got0 = [(a if a != "GroupDesc" else 4, b) for a, b in trs[0].transforms]
    check("scapy reads our transforms (count, numbering, first one's attributes)",
          len(trs) == len(prof.p1) and [t.num for t in trs] == list(range(1, len(trs) + 1)) and got0 == want0,
          got0)
    vids = [p.load for p in s.iterpayloads() if isinstance(p, ISAKMP_payload_VendorID)]
    check("scapy reads our vendor IDs", vids == prof.vendor_ids)

    # The other way: a message scapy builds, read by our codec.
    tr = ISAKMP_payload_Transform(num=1, id=1, transforms=[("Encryption", "3DES-CBC"), ("Hash", "SHA2-256"),
                                                           ("Authentication", "PSK"), ("GroupDesc", "2048MODPgr"),
                                                           ("LifeType", "Seconds"), ("LifeDuration", 86400)])
    built = bytes(ISAKMP(init_cookie=b"A" * 8, resp_cookie=b"B" * 8, exch_type=2, next_payload=1) /
                  ISAKMP_payload_SA(prop=ISAKMP_payload_Proposal(trans_nb=1, trans=tr), next_payload=4) /
                  ISAKMP_payload_KE(load=b"\x07" * 256, next_payload=10) /
                  ISAKMP_payload_Nonce(load=b"\x09" * 16, next_payload=5) /
                  ISAKMP_payload_ID(IDtype=1, ProtoID=17, Port=500, load=socket.inet_aton("192.0.2.9"),
                                    next_payload=8) /
                  ISAKMP_payload_Hash(load=b"\x05" * 20, next_payload=13) /
                  ISAKMP_payload_VendorID(load=i.VID_RFC3947))
    h = i.Header.parse(built)
    pl = i.unchain(h.next_payload, built[i.HDR_LEN:])
    check("our codec reads scapy's chain of payloads", [t for t, _ in pl] == [1, 4, 10, 5, 8, 13], pl)
    props = i.parse_sa(pl[0][1])
    attrs = props[0][3][0][2]
    check("our codec reads scapy's SA (TLV lifetime of 86400 too)",
          attrs == [(1, 5), (2, 4), (3, 1), (4, 14), (11, 1), (12, 86400)], attrs)
    check("our codec reads scapy's ID", i.parse_id(pl[3][1]) == (1, 17, 500, "192.0.2.9"))
    check("KE, nonce, hash and VID bodies intact", pl[1][1] == b"\x07" * 256 and pl[2][1] == b"\x09" * 16 and
          pl[4][1] == b"\x05" * 20 and pl[5][1] == i.VID_RFC3947)

    # Byte for byte: one ESP transform with a TLV lifetime of 250000 KB.
    ours = i.sa_body([i.proposal(1, i.PROTO_ESP, b"\xde\xad\xbe\xef",
                                 [(12, [(i.P2_LIFE_TYPE, 2), (i.P2_LIFE_DURATION, 250000), (i.P2_ENCAP, 4),
                                        (i.P2_AUTH, 2), (i.P2_KEY_LENGTH, 128)])])])
    # scapy 2.5 leaves the SPI out of the proposal's length: give it the
    # RFC 2408 §3.5 value (header, SPI, transforms) and compare the rest.
    sc = ISAKMP_payload_SA(prop=ISAKMP_payload_Proposal(
        proto=3, SPI=b"\xde\xad\xbe\xef", trans_nb=1, length=8 + 4 + 31,
        trans=ISAKMP_payload_Transform(num=1, id=12, transforms=[(1, 2), (2, 250000), (4, 4), (5, 2), (6, 128)])))
    check("an ESP SA payload equals scapy's byte for byte", bytes(sc)[4:] == ours, (bytes(sc)[4:].hex(), ours.hex()))

    # Payloads scapy 2.5 lacks, against the RFC layouts.
    n = i.notify(i.N_INITIAL_CONTACT, i.PROTO_ISAKMP, b"C" * 16)
    check("Notify: DOI, protocol, SPI size, type, SPI (RFC 2408 §3.14)",
          n == struct.pack("!IBBH", 1, 1, 16, 24578) + b"C" * 16 and
          i.parse_notify(n) == (1, 24578, b"C" * 16, b""))
    d = i.delete(i.PROTO_ESP, [b"\x01\x02\x03\x04"])
    check("Delete: DOI, protocol, SPI size, count, SPIs (RFC 2408 §3.15)",
          d == struct.pack("!IBBH", 1, 3, 4, 1) + b"\x01\x02\x03\x04" and
          i.parse_delete(d) == (3, [b"\x01\x02\x03\x04"]))
    check("NAT-OA: ID type, 3 reserved, IPv4 (RFC 3947 §5.2)",
          i.nat_oa("192.168.1.2") == bytes([1, 0, 0, 0, 192, 168, 1, 2]))
    natd = i.natd_hash(k.HASHES[2][1], b"I" * 8, b"R" * 8, "203.0.113.7", 500)
    check("NAT-D = HASH(CKY-I | CKY-R | IP | port) (RFC 3947 §3.2)",
          natd == chash(2, b"I" * 8 + b"R" * 8 + bytes([203, 0, 113, 7]) + b"\x01\xf4"))
    for bad in (built[:27], built[:-1], built[:20] + b"\x00" * 8):
        try:
            i.Header.parse(bad)
            ok = False
        except i.IsakmpError:
            ok = True
        check(f"a truncated or lying header is refused ({len(bad)} bytes)", ok)
    try:
        i.unchain(1, built[i.HDR_LEN:i.HDR_LEN + 30])
        ok = False
    except i.IsakmpError:
        ok = True
    check("a truncated payload chain is refused", ok)


def test_vendor_ids():
    published = {  # as ike-scan and the drafts list them
        "RFC 3947": (i.VID_RFC3947, "4a131c81070358455c5728f20e95452f"),
        "draft-02": (i.VID_DRAFT_02, "cd60464335df21f87cfdb2fc68b6a448"),
        "draft-02\\n": (i.VID_DRAFT_02N, "90cb80913ebb696e086381b5ec427b1f"),
        "draft-03": (i.VID_DRAFT_03, "7d9419a65310ca6f2c179d9215529d56"),
        "MS NT5 v9": (i.VID_MS_NT5, "1e2b516905991c7d7c96fcbfb587e46100000009"),
        "DPD": (i.VID_DPD, "afcad71368a1f1c96b8696fc77570100"),
    }
    for name, (ours, want) in published.items():
        check(f"vendor ID {name}", ours.hex() == want, ours.hex())


# ------------------------------------------------------------------ groups
def test_groups():
    check("MODP-1024 (RFC 2409 §6.2) from its formula equals scapy's table", k.MODP[2] == modp1024.m)
    check("MODP-2048 (RFC 3526 §3) from its formula equals scapy's table", k.MODP[14] == modp2048.m)
    for g, table in ((2, modp1024), (14, modp2048)):
        ours = k.DiffieHellman(g)
        peer = dh.DHParameterNumbers(table.m, 2).parameters().generate_private_key()
        peer_pub = peer.public_key().public_numbers().y.to_bytes(ours.size, "big")
        mine = ours.shared(peer_pub)
        theirs = peer.exchange(dh.DHPublicNumbers(int.from_bytes(ours.public, "big"),
                                                  dh.DHParameterNumbers(table.m, 2)).public_key())
        check(f"{k.GROUP_NAMES[g]}: g^xy agrees with python3-cryptography, padded to {ours.size} bytes",
              mine == theirs.rjust(ours.size, b"\0") and len(mine) == ours.size and len(ours.public) == ours.size)
    for g, curve, size in ((19, ec.SECP256R1, 32), (20, ec.SECP384R1, 48)):
        ours = k.DiffieHellman(g)
        peer = ec.generate_private_key(curve())
        pub = peer.public_key().public_numbers()
        mine = ours.shared(pub.x.to_bytes(size, "big") + pub.y.to_bytes(size, "big"))
        # RFC 5903 §7: the public value is x || y, i.e. the uncompressed point without its 0x04.
        theirs = peer.exchange(ec.ECDH(), ec.EllipticCurvePublicKey.from_encoded_point(curve(), b"\x04" + ours.public))
        check(f"{k.GROUP_NAMES[g]}: x||y public value and x-coordinate secret agree with python3-cryptography",
              mine == theirs and len(ours.public) == 2 * size and len(mine) == size)
    try:
        k.DiffieHellman(14).shared(b"\x01" * 255)
        ok = False
    except ValueError:
        ok = True
    check("a KE of the wrong length is refused", ok)


# ------------------------------------------------------------------ key schedule
def test_key_schedule():
    psk, ni, nr = b"shared secret", os.urandom(32), os.urandom(16)
    ci, cr = os.urandom(8), os.urandom(8)
    gxy, gxi, gxr = os.urandom(256), os.urandom(256), os.urandom(256)
    sai_b, idii, idir = os.urandom(60), os.urandom(8), os.urandom(8)
    for hid in (1, 2, 4, 5, 6):
        name = k.HASHES[hid][0]
        skeyid = k.skeyid_psk(hid, psk, ni, nr)
        ok = skeyid == cprf(hid, psk, ni + nr)
        d, a, e = k.skeyid_dae(hid, skeyid, gxy, ci, cr)
        d2 = cprf(hid, skeyid, gxy + ci + cr + b"\0")
        a2 = cprf(hid, skeyid, d2 + gxy + ci + cr + b"\1")
        e2 = cprf(hid, skeyid, a2 + gxy + ci + cr + b"\2")
        ok = ok and (d, a, e) == (d2, a2, e2)
        check(f"{name}: SKEYID and SKEYID_d/a/e (RFC 2409 §5)", ok)
        check(f"{name}: HASH_I and HASH_R (§5)",
              k.hash_i(hid, skeyid, gxi, gxr, ci, cr, sai_b, idii) == cprf(hid, skeyid, gxi + gxr + ci + cr + sai_b + idii)
              and k.hash_r(hid, skeyid, gxi, gxr, ci, cr, sai_b, idir) ==
              cprf(hid, skeyid, gxr + gxi + cr + ci + sai_b + idir))
        for klen in (16, 24, 32):
            want = e2
            if len(want) < klen:
                blocks, kk = [], b"\0"
                while sum(map(len, blocks)) < klen:
                    kk = cprf(hid, e2, kk)
                    blocks.append(kk)
                want = b"".join(blocks)
            check(f"{name}: cipher key of {klen} bytes (Appendix B expansion when SKEYID_e is shorter)",
                  k.cipher_key(hid, e, klen) == want[:klen])
        check(f"{name}: phase-1 IV = hash(g^xi | g^xr) and phase-2 IV = hash(last block | M-ID)",
              k.phase1_iv(hid, gxi, gxr, 16) == chash(hid, gxi + gxr)[:16] and
              k.phase2_iv(hid, b"L" * 16, 0x01020304, 8) == chash(hid, b"L" * 16 + b"\1\2\3\4")[:8])
        mid, rest = 0xCAFE0001, os.urandom(80)
        check(f"{name}: Quick Mode HASH(1), HASH(2), HASH(3) (§5.5)",
              k.hash_1(hid, a, mid, rest) == cprf(hid, a2, struct.pack("!I", mid) + rest) and
              k.hash_2(hid, a, mid, ni, rest) == cprf(hid, a2, struct.pack("!I", mid) + ni + rest) and
              k.hash_3(hid, a, mid, ni, nr) == cprf(hid, a2, b"\0" + struct.pack("!I", mid) + ni + nr))
        spi = b"\xc0\x01\xd0\x0d"
        seed = bytes([3]) + spi + ni + nr
        want, kk = b"", b""
        while len(want) < 64:
            kk = cprf(hid, d2, kk + seed)
            want += kk
        check(f"{name}: KEYMAT of 64 bytes, K1 | K2 | ... (§5.5)",
              k.keymat(hid, d, 3, spi, ni, nr, 64) == want[:64])


def test_cbc():
    for enc, key_len, block in ((7, 16, 16), (7, 32, 16), (5, 24, 8)):
        key, iv = os.urandom(key_len), os.urandom(block)
        for n in (0, 1, block - 1, block, 3 * block + 5):
            plain = os.urandom(n)
            ct = k.encrypt(enc, key, iv, plain)
            algo = algorithms.AES(key) if enc == 7 else algorithms.TripleDES(key)
            d = Cipher(algo, modes.CBC(iv)).decryptor()
            dec = d.update(ct) + d.finalize()
            pad = dec[-1]
            ok = len(ct) % block == 0 and dec[:n] == plain and len(dec) == n + pad + 1 and \
                dec[n:-1] == b"\0" * pad and k.decrypt(enc, key, iv, ct)[:n] == plain
            if not ok:
                break
        check(f"IKE body CBC ({'AES' if enc == 7 else '3DES'}-{key_len * 8}): RFC 2409 padding, "
              "python3-cryptography decrypts", ok)


def test_profiles():
    w, m, a = PROFILES["windows"], PROFILES["macos"], PROFILES["android"]
    check("windows: ECP-384 first, MODP-1024 last, 28800 s, RFC 3947, port 1701",
          w.p1[0] == P1.parse("aes256-sha1-ecp384") and w.p1[-1] == P1.parse("3des-sha1-modp1024") and
          w.p1_life == 28800 and i.VID_RFC3947 in w.vendor_ids and w.sport() == 1701 and
          [p.name() for p in w.p2] == ["aes256-sha1", "aes128-sha1", "3des-sha1"] and w.p2_life_kb == 250000)
    check("macos: SHA2-256 first in both phases, draft NAT-T only, 3600 s, random L2TP port",
          m.p1[0] == P1.parse("aes256-sha256-modp2048") and m.p2[0] == P2.parse("aes256-sha256") and
          i.VID_RFC3947 not in m.vendor_ids and i.VID_DRAFT_02 in m.vendor_ids and m.p1_life == 3600 and
          m.natt == "draft" and len({m.sport() for _ in range(20)}) > 1 and 1701 not in {m.sport() for _ in range(50)})
    check("android: MODP-1024 only, AES-256/AES-128/3DES x SHA2-256/SHA1",
          {p.group for p in a.p1} == {2} and len(a.p1) == 6 and a.sport() == 1701)
    for bad in ("aes256-sha1", "aes999-sha1-modp2048", "aes128-sha1-modp3"):
        try:
            P1.parse(bad)
            ok = False
        except ValueError:
            ok = True
        check(f"proposal {bad!r} refused with a message", ok)


def test_certificates():
    selftest_ike_cert.run(check)


def main():
    log_runtime.setLevel(40)  # scapy warns of phase-2 attribute types it takes for phase-1 ones
    for test in (test_codec_against_scapy, test_vendor_ids, test_groups, test_key_schedule, test_cbc, test_profiles,
                 test_certificates):
        try:
            test()
        except Exception as e:  # a test that breaks is a failure, named, and the others still run
            import traceback
            traceback.print_exc()
            check(f"{test.__name__} ran to its end", False, f"{type(e).__name__}: {e}")
    passed = sum(ok for _, ok in RESULTS)
    failed = len(RESULTS) - passed
    print(f"selftest_ike: {passed} passed, {failed} failed")
    return 0 if failed == 0 and passed else 1


if __name__ == "__main__":
    sys.exit(main())
