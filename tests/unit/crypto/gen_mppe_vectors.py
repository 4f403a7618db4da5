#!/usr/bin/python3
"""Independent MPPE vectors for tests/unit/crypto/mppe_test.cc.

Derives the keys of RFC 3079 (hashlib SHA-1) and runs an MPPE sender of
RFC 3078 over python3-cryptography's ARC4, without any of our C++ code, then
prints the frames (2-byte MPPE header + ciphertext) that mppe_test.cc pastes
as constants. Run: /usr/bin/python3 tests/unit/crypto/gen_mppe_vectors.py
"""
import hashlib

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

MAGIC1 = b"This is the MPPE Master Key"
MAGIC2 = b"On the client side, this is the send key; on the server side, it is the receive key."
MAGIC3 = b"On the client side, this is the receive key; on the server side, it is the send key."
PAD1 = bytes(40)
PAD2 = b"\xf2" * 40


def rc4(key, data):
    return Cipher(algorithms.ARC4(bytes(key)), mode=None).encryptor().update(bytes(data))


def master_key(password_hash_hash, nt_response):  # RFC 3079 §3.4
    return hashlib.sha1(password_hash_hash + nt_response + MAGIC1).digest()[:16]


def start_key(master, is_send, is_server):  # RFC 3079 §3.4
    magic = MAGIC3 if is_send == is_server else MAGIC2
    return hashlib.sha1(master + PAD1 + magic + PAD2).digest()[:16]


def new_key_from_sha(start, session, n):  # RFC 3079 §3.4 / RFC 3078 §7.3
    return hashlib.sha1(start[:n] + PAD1 + session[:n] + PAD2).digest()[:n]


def reduce(key, bits):  # RFC 3079 §3.1, §3.2
    if bits == 40:
        return b"\xd1\x26\x9e" + key[3:]
    if bits == 56:
        return b"\xd1" + key[1:]
    return key


def key_len(bits):
    return 16 if bits == 128 else 8


class Sender:
    """RFC 3078 sender: §3 header, §7.1/§7.2 key changes, §7.3 GetKey."""

    def __init__(self, start, bits, stateless):
        self.n = key_len(bits)
        self.bits = bits
        self.start = start[: self.n]
        self.stateless = stateless
        self.session = reduce(new_key_from_sha(self.start, self.start, self.n), bits)
        self.ks = self._keystream()
        self.ccount = 4095
        self.flush_next = False

    def _keystream(self):
        # A stateful RC4 stream: one generator per key, long enough for a run.
        return iter(rc4(self.session, bytes(1 << 20)))

    def change_key(self):
        interim = new_key_from_sha(self.start, self.session, self.n)
        self.session = reduce(rc4(interim, interim), self.bits)
        self.ks = self._keystream()

    def frame(self, inner):
        self.ccount = (self.ccount + 1) % 4096
        flushed = False
        if self.stateless or (self.ccount & 0xFF) == 0xFF or self.flush_next:
            self.change_key()
            flushed = True
            self.flush_next = False
        hdr = (0x80 if flushed else 0) | 0x10 | (self.ccount >> 8)
        ct = bytes(b ^ next(self.ks) for b in inner)
        return bytes([hdr, self.ccount & 0xFF]) + ct


def inner(i, size=20):
    """Inner PPP frame: protocol 0x0021 (IPv4) then a pattern of index i."""
    return b"\x00\x21" + bytes((i * 7 + k) & 0xFF for k in range(size - 2))


def show(name, data):
    print(f"{name} = {data.hex()}")


def main():
    # RFC 3079 §3.5.3 inputs.
    phh = bytes.fromhex("41C00C584BD2D91C4017A2A12FA59F3F")
    nt = bytes.fromhex("82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF")
    mk = master_key(phh, nt)
    show("master_key", mk)
    srv_send = start_key(mk, True, True)
    srv_recv = start_key(mk, False, True)
    show("server_send_start_key(magic3)", srv_send)
    show("server_recv_start_key(magic2)", srv_recv)
    show("client_send_start_key", start_key(mk, True, False))
    show("client_recv_start_key", start_key(mk, False, False))
    for bits in (40, 56, 128):
        n = key_len(bits)
        k = reduce(new_key_from_sha(srv_send[:n], srv_send[:n], n), bits)
        show(f"session_key_{bits}", k)
        show(f"rc4(session_key_{bits}, 'test message')", rc4(k, b"test message"))
        s = Sender(srv_send, bits, stateless=False)
        s.change_key()
        show(f"changed_key_{bits}", s.session)

    print("# stateless 128-bit, server send start key: frames 0, 1, 2 and 4096")
    s = Sender(srv_send, 128, stateless=True)
    for i in range(4097):
        f = s.frame(inner(i))
        if i in (0, 1, 2, 4096):
            show(f"stateless128[{i}]", f)

    print("# stateful 128-bit: frames 0, 1, 254, 255 (flag), 256, 299, 511, 767 (flags)")
    s = Sender(srv_send, 128, stateless=False)
    for i in range(768):
        f = s.frame(inner(i))
        if i in (0, 1, 254, 255, 256, 299, 511, 767):
            show(f"stateful128[{i}]", f)

    print("# stateful 128-bit with a CCP Reset-Request received after frame 5:")
    print("# frames 0..9 (6 is flushed and carries a new key)")
    s = Sender(srv_send, 128, stateless=False)
    for i in range(10):
        if i == 6:
            s.flush_next = True
        show(f"stateful128_reset[{i}]", s.frame(inner(i)))

    print("# stateless 40-bit, client send start key (Magic2): frames 0, 1")
    s = Sender(start_key(mk, True, False), 40, stateless=True)
    for i in range(2):
        show(f"stateless40[{i}]", s.frame(inner(i)))

    print("# stateful 56-bit, server send start key: frames 0, 1, 255 (flag), 256")
    s = Sender(srv_send, 56, stateless=False)
    for i in range(257):
        f = s.frame(inner(i))
        if i in (0, 1, 255, 256):
            show(f"stateful56[{i}]", f)


if __name__ == "__main__":
    main()
