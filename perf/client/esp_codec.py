"""ESP in transport mode (RFC 4303) for L2TP's UDP datagrams, straight on
python3-cryptography: the load generator's fast path. scapy's
SecurityAssociation (transport.py's default) builds and dissects packet
objects for every datagram, which costs about ten times more; a run holding
thousands of sessions spends its one core on that. selftest_hold.py holds
every transform here against scapy's, byte for byte.

AES-CBC and 3DES-CBC with HMAC-SHA1-96, HMAC-SHA256-128 or its 96-bit cut (RFC 3602, 2451,
2404, 4868: the ICV over SPI to the end of the ciphertext), AES-GCM with a
16-byte ICV (RFC 4106: nonce = salt | explicit IV, AAD = SPI | sequence).
"""

import hashlib
import hmac
import os
import socket
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

import esp as esp_ref

from .icmp import checksum

IPPROTO_UDP = 17
HASHES = {"hmac-sha1-96": hashlib.sha1, "hmac-sha256-128": hashlib.sha256, "hmac-sha256-96": hashlib.sha256}
BLOCK_CIPHERS = {"aes-cbc-128": algorithms.AES, "aes-cbc-256": algorithms.AES, "3des-cbc": algorithms.TripleDES}


class EspError(Exception):
    pass


def supported(cipher, auth):
    if cipher in ("aes-gcm-128", "aes-gcm-256"):
        return auth == "none"
    return cipher in BLOCK_CIPHERS and auth in HASHES


def udp_datagram(src, dst, sport, dport, payload):
    """UDP header and payload with the checksum over the RFC 768 pseudo-header
    (transport mode keeps the outer addresses, so the checksum is the real one)."""
    length = 8 + len(payload)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, IPPROTO_UDP, length)
    header = struct.pack("!HHHH", sport, dport, length, 0)
    c = checksum(pseudo + header + payload) or 0xFFFF
    return struct.pack("!HHHH", sport, dport, length, c) + payload


class Sa:
    """One direction of an SA: spec is tests/pipeline/esp.py's SaSpec (its
    cipher, integrity and keys)."""

    def __init__(self, spec):
        if not supported(spec.cipher, spec.auth):
            raise EspError(f"{spec.cipher}/{spec.auth}: not in the fast path")
        self.spi = spec.spi
        self.spi_bytes = struct.pack("!I", spec.spi)
        self.block = esp_ref.CIPHERS[spec.cipher][2]
        self.iv_len = esp_ref.CIPHERS[spec.cipher][3]
        self.icv_len = spec.icv_len
        self.aead = spec.aead
        if self.aead:
            self.gcm = AESGCM(spec.cipher_key[:-4])
            self.salt = spec.cipher_key[-4:]
        else:
            self.algorithm = BLOCK_CIPHERS[spec.cipher](spec.cipher_key)
            self.auth_key = spec.auth_key
            self.hash = HASHES[spec.auth]

    def protect(self, payload, seq, nh=IPPROTO_UDP, iv=None):
        """SPI to ICV around payload, padded to the block with 1, 2, 3...
        (RFC 4303 §2.4: the minimum, as scapy pads)."""
        pad = (-(len(payload) + 2)) % self.block
        plain = payload + bytes(range(1, pad + 1)) + bytes((pad, nh))
        head = self.spi_bytes + struct.pack("!I", seq)
        if self.aead:
            iv = iv if iv is not None else struct.pack("!Q", seq)
            return head + iv + self.gcm.encrypt(self.salt + iv, plain, head)
        iv = iv if iv is not None else os.urandom(self.iv_len)
        enc = Cipher(self.algorithm, modes.CBC(iv)).encryptor()
        body = head + iv + enc.update(plain) + enc.finalize()
        return body + hmac.new(self.auth_key, body, self.hash).digest()[:self.icv_len]

    def unprotect(self, esp):
        """(next header, payload) of ESP bytes from SPI to ICV; raises
        EspError on a wrong ICV or a malformed trailer."""
        if len(esp) < 8 + self.iv_len + self.icv_len + 2:
            raise EspError(f"{len(esp)} bytes: too short")
        iv = esp[8:8 + self.iv_len]
        if self.aead:
            try:
                plain = self.gcm.decrypt(self.salt + iv, esp[8 + self.iv_len:], esp[:8])
            except Exception as e:  # cryptography's InvalidTag
                raise EspError("ICV does not verify") from e
        else:
            body, icv = esp[:-self.icv_len], esp[-self.icv_len:]
            want = hmac.new(self.auth_key, body, self.hash).digest()[:self.icv_len]
            if not hmac.compare_digest(icv, want):
                raise EspError("ICV does not verify")
            ct = body[8 + self.iv_len:]
            if len(ct) % self.block:
                raise EspError(f"ciphertext of {len(ct)} bytes, not whole blocks")
            dec = Cipher(self.algorithm, modes.CBC(iv)).decryptor()
            plain = dec.update(ct) + dec.finalize()
        pad, nh = plain[-2], plain[-1]
        if pad + 2 > len(plain) or plain[-2 - pad:-2] != bytes(range(1, pad + 1)):
            raise EspError("padding is not 1, 2, 3... (RFC 4303 §2.4)")
        return nh, plain[:-2 - pad]
