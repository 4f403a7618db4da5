"""Peer-side authentication arithmetic: CHAP-MD5 (RFC 1994 §4.1) and
MS-CHAPv2 (RFC 2759 §8), plus the MPPE start keys that MS-CHAPv2 yields
(RFC 3079 §3.3-3.4, through tests/pipeline/mppe_ref.py).

DES comes from python3-cryptography: single DES is TripleDES with the same
8-byte key three times (EDE with K1=K2=K3 collapses to one DES). The 7-byte
key pieces of ChallengeResponse are spread to 8 bytes first (RFC 2759 §8.6
DesEncrypt; the low bit of each byte is parity, which DES ignores).
"""

import hashlib
import hmac
import warnings

import mppe_ref

from .md4 import md4

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

# RFC 2759 §8.7 GenerateAuthenticatorResponse constants.
_MAGIC1 = b"Magic server to client signing constant"
_MAGIC2 = b"Pad to make it do more than one iteration"


def chap_md5_response(ident, secret, challenge):
    """RFC 1994 §4.1: MD5 over the Identifier, the secret and the challenge."""
    return hashlib.md5(bytes([ident]) + bytes(secret) + bytes(challenge)).digest()


def _unicode(password):
    # RFC 2759 §8.3: the password as 16-bit little-endian Unicode.
    return password.encode("utf-16-le")


def nt_password_hash(password):  # RFC 2759 §8.3
    return md4(_unicode(password))


def hash_nt_password_hash(password_hash):  # RFC 2759 §8.4
    return md4(password_hash)


def challenge_hash(peer_challenge, authenticator_challenge, username):  # RFC 2759 §8.2
    # The user name without any domain part ("DOMAIN\user" → "user").
    user = username.split("\\")[-1].encode()
    return hashlib.sha1(bytes(peer_challenge) + bytes(authenticator_challenge) + user).digest()[:8]


def _des_key(key7):
    bits = int.from_bytes(key7, "big")
    return bytes(((bits >> (49 - 7 * i)) & 0x7F) << 1 for i in range(8))


def des_encrypt(clear8, key7):  # RFC 2759 §8.6
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        enc = Cipher(algorithms.TripleDES(_des_key(key7)), modes.ECB()).encryptor()
    return enc.update(bytes(clear8)) + enc.finalize()


def challenge_response(challenge8, password_hash):  # RFC 2759 §8.5
    z = bytes(password_hash) + bytes(5)
    return b"".join(des_encrypt(challenge8, z[i:i + 7]) for i in (0, 7, 14))


def generate_nt_response(authenticator_challenge, peer_challenge, username, password):  # RFC 2759 §8.1
    ch = challenge_hash(peer_challenge, authenticator_challenge, username)
    return challenge_response(ch, nt_password_hash(password))


def generate_authenticator_response(password, nt_response, peer_challenge, authenticator_challenge,
                                    username):  # RFC 2759 §8.7
    phh = hash_nt_password_hash(nt_password_hash(password))
    digest = hashlib.sha1(phh + bytes(nt_response) + _MAGIC1).digest()
    ch = challenge_hash(peer_challenge, authenticator_challenge, username)
    digest = hashlib.sha1(digest + ch + _MAGIC2).digest()
    return "S=" + digest.hex().upper()


def check_authenticator_response(password, nt_response, peer_challenge, authenticator_challenge,
                                 username, received):  # RFC 2759 §8.8
    """True when `received` (the "S=..." text of a Success packet, 42
    characters) is what the server must have computed; compared in constant
    time (an attacker-chosen value must not leak how much matched)."""
    want = generate_authenticator_response(password, nt_response, peer_challenge, authenticator_challenge,
                                           username)
    got = received.strip()[:42].upper()
    return hmac.compare_digest(want.encode(), got.encode())


def mppe_start_keys(password, nt_response):
    """(send, receive) 16-byte MPPE start keys of the client (RFC 3079 §3.4):
    MasterKey from PasswordHashHash and the NT-Response, then the asymmetric
    start keys with the client's magic constants."""
    phh = hash_nt_password_hash(nt_password_hash(password))
    master = mppe_ref.master_key(phh, bytes(nt_response))
    return (mppe_ref.start_key(master, is_send=True, is_server=False),
            mppe_ref.start_key(master, is_send=False, is_server=False))
