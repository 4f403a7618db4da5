"""IKEv1 key material (RFC 2409 §5, §5.5, Appendix B) and its primitives:
the Diffie-Hellman groups (MODP 1024 of RFC 2409 §6.2, MODP 2048 of RFC
3526 §3, ECP 256/384 of RFC 5903 with x||y public values and x as the
shared secret), the prf (HMAC of the negotiated hash), SKEYID for
pre-shared keys, SKEYID_d/a/e, the cipher key expansion, the phase-1 and
phase-2 IVs, CBC for the message bodies and the Quick Mode KEYMAT.

Everything through python3-cryptography and hashlib; nothing shared with
the gateway."""

import hashlib
import hmac
import os

from cryptography.hazmat.primitives.asymmetric import dh, ec
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

HASHES = {1: ("md5", hashlib.md5), 2: ("sha1", hashlib.sha1), 4: ("sha256", hashlib.sha256),
          5: ("sha384", hashlib.sha384), 6: ("sha512", hashlib.sha512)}
# IKE encryption algorithm id -> (name, block size, default key bytes)
CIPHERS = {5: ("3des", 8, 24), 7: ("aes", 16, None)}


# ------------------------------------------------------------------ Diffie-Hellman
def _pi_fixed(bits):
    """floor(pi * 2^bits) by Machin's formula, with guard bits."""
    guard = 32
    one = 1 << (bits + guard)

    def arctan_inv(x):
        total, term, k, x2 = 0, one // x, 1, x * x
        while term:
            total += term // k if (k // 2) % 2 == 0 else -(term // k)
            term //= x2
            k += 2
        return total
    return (16 * arctan_inv(5) - 4 * arctan_inv(239)) >> guard


def _oakley_prime(n, k):
    """The Oakley primes: 2^n - 2^(n-64) - 1 + 2^64 * (floor(2^(n-130) pi) + k)
    (RFC 2409 §6.2, RFC 3526 §3)."""
    return (1 << n) - (1 << (n - 64)) - 1 + (1 << 64) * (_pi_fixed(n - 130) + k)


MODP = {2: _oakley_prime(1024, 129093), 14: _oakley_prime(2048, 124476)}
ECP = {19: (ec.SECP256R1, 32), 20: (ec.SECP384R1, 48)}
GROUP_NAMES = {2: "modp1024", 14: "modp2048", 19: "ecp256", 20: "ecp384"}


class DiffieHellman:
    def __init__(self, group):
        self.group = group
        if group in MODP:
            p = MODP[group]
            self.size = (p.bit_length() + 7) // 8
            self._key = dh.DHParameterNumbers(p, 2).parameters().generate_private_key()
            y = self._key.public_key().public_numbers().y
            self.public = y.to_bytes(self.size, "big")
        elif group in ECP:
            curve, self.size = ECP[group]
            self._key = ec.generate_private_key(curve())
            n = self._key.public_key().public_numbers()
            self.public = n.x.to_bytes(self.size, "big") + n.y.to_bytes(self.size, "big")
        else:
            raise ValueError(f"DH group {group} not supported")

    def shared(self, peer):
        """g^xy as RFC 2409 hashes it: left-padded to the prime's length for
        MODP, the x coordinate for ECP (RFC 5903 §7)."""
        if self.group in MODP:
            if len(peer) != self.size:
                raise ValueError(f"KE of {len(peer)} bytes for a {self.size}-byte group")
            pub = dh.DHPublicNumbers(int.from_bytes(peer, "big"),
                                     dh.DHParameterNumbers(MODP[self.group], 2)).public_key()
            z = self._key.exchange(pub)
            return int.from_bytes(z, "big").to_bytes(self.size, "big")
        if len(peer) != 2 * self.size:
            raise ValueError(f"KE of {len(peer)} bytes, ECP wants {2 * self.size}")
        curve = ECP[self.group][0]()
        pub = ec.EllipticCurvePublicNumbers(int.from_bytes(peer[:self.size], "big"),
                                            int.from_bytes(peer[self.size:], "big"), curve).public_key()
        return self._key.exchange(ec.ECDH(), pub)


# ------------------------------------------------------------------ prf and phase 1
def prf(hash_id, key, data):
    return hmac.new(key, data, HASHES[hash_id][1]).digest()


def digest(hash_id, data):
    return HASHES[hash_id][1](data).digest()


def skeyid_psk(hash_id, psk, ni, nr):
    """RFC 2409 §5: SKEYID = prf(pre-shared-key, Ni_b | Nr_b)."""
    return prf(hash_id, psk, ni + nr)


def skeyid_dae(hash_id, skeyid, gxy, cky_i, cky_r):
    d = prf(hash_id, skeyid, gxy + cky_i + cky_r + b"\x00")
    a = prf(hash_id, skeyid, d + gxy + cky_i + cky_r + b"\x01")
    e = prf(hash_id, skeyid, a + gxy + cky_i + cky_r + b"\x02")
    return d, a, e


def cipher_key(hash_id, skeyid_e, length):
    """Appendix B: SKEYID_e itself when long enough, else K1 | K2 | ... with
    K1 = prf(SKEYID_e, 0) and Kn = prf(SKEYID_e, Kn-1), truncated."""
    if len(skeyid_e) >= length:
        return skeyid_e[:length]
    out, k = b"", b"\x00"
    while len(out) < length:
        k = prf(hash_id, skeyid_e, k)
        out += k
    return out[:length]


def hash_i(hash_id, skeyid, gxi, gxr, cky_i, cky_r, sai_b, idii_b):
    return prf(hash_id, skeyid, gxi + gxr + cky_i + cky_r + sai_b + idii_b)


def hash_r(hash_id, skeyid, gxi, gxr, cky_i, cky_r, sai_b, idir_b):
    return prf(hash_id, skeyid, gxr + gxi + cky_r + cky_i + sai_b + idir_b)


def phase1_iv(hash_id, gxi, gxr, block):
    """Appendix B: hash(g^xi | g^xr), truncated to the cipher's block."""
    return digest(hash_id, gxi + gxr)[:block]


def phase2_iv(hash_id, last_p1_block, msgid, block):
    """Appendix B: hash(last phase-1 CBC block | M-ID) for every new exchange
    (Quick Mode, Informational) under the ISAKMP SA."""
    return digest(hash_id, last_p1_block + msgid.to_bytes(4, "big"))[:block]


# ------------------------------------------------------------------ CBC bodies
def _algo(enc_id, key):
    return algorithms.TripleDES(key) if enc_id == 5 else algorithms.AES(key)


def encrypt(enc_id, key, iv, plain):
    """RFC 2409 Appendix B padding: zeros, the last byte the count of pad
    bytes before it; always at least that one byte."""
    block = CIPHERS[enc_id][1]
    pad = block - (len(plain) + 1) % block if (len(plain) + 1) % block else 0
    data = plain + b"\x00" * pad + bytes([pad])
    e = Cipher(_algo(enc_id, key), modes.CBC(iv)).encryptor()
    return e.update(data) + e.finalize()


def decrypt(enc_id, key, iv, data):
    block = CIPHERS[enc_id][1]
    if not data or len(data) % block:
        raise ValueError(f"encrypted body of {len(data)} bytes, not a multiple of {block}")
    d = Cipher(_algo(enc_id, key), modes.CBC(iv)).decryptor()
    return d.update(data) + d.finalize()


# ------------------------------------------------------------------ phase 2
def hash_1(hash_id, skeyid_a, msgid, rest):
    """RFC 2409 §5.5 HASH(1) and §5.7 (Informational): prf(SKEYID_a, M-ID |
    every payload after the HASH)."""
    return prf(hash_id, skeyid_a, msgid.to_bytes(4, "big") + rest)


def hash_2(hash_id, skeyid_a, msgid, ni_b, rest):
    return prf(hash_id, skeyid_a, msgid.to_bytes(4, "big") + ni_b + rest)


def hash_3(hash_id, skeyid_a, msgid, ni_b, nr_b):
    return prf(hash_id, skeyid_a, b"\x00" + msgid.to_bytes(4, "big") + ni_b + nr_b)


def keymat(hash_id, skeyid_d, protocol, spi, ni_b, nr_b, length, gqm=b""):
    """§5.5: KEYMAT = K1 | K2 | ..., K1 = prf(SKEYID_d, [g(qm)^xy |] protocol
    | SPI | Ni_b | Nr_b), Kn = prf(SKEYID_d, Kn-1 | the same). SPI is that
    of the SA's receiver."""
    seed = gqm + bytes([protocol]) + spi + ni_b + nr_b
    out, k = b"", b""
    while len(out) < length:
        k = prf(hash_id, skeyid_d, k + seed)
        out += k
    return out[:length]


def random_bytes(n):
    return os.urandom(n)
