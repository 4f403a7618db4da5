"""MPPE as a client sees it: the key derivation of RFC 3079 (hashlib SHA-1),
an RFC 3078 sender and receiver over python3-cryptography's ARC4. The same
steps as tests/unit/crypto/gen_mppe_vectors.py, with a receiver added;
nothing is shared with the data plane. selfcheck() holds the derivation
against the RFC 3079 §3.5 sample values.

A frame here is what follows the PPP protocol field 0x00FD (RFC 3078 §3):

    |A|B|C|D| coherency count (12 bits) | RC4(inner protocol + inner data) |
"""

import hashlib
import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # ARC4's deprecation notice in newer releases
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

MAGIC1 = b"This is the MPPE Master Key"
MAGIC2 = b"On the client side, this is the send key; on the server side, it is the receive key."
MAGIC3 = b"On the client side, this is the receive key; on the server side, it is the send key."
PAD1 = bytes(40)
PAD2 = b"\xf2" * 40

BIT_A = 0x80  # flushed: the sender changed its key before this frame
BIT_B = 0x40
BIT_C = 0x20  # MPPC compressed
BIT_D = 0x10  # encrypted
CCOUNT_SPACE = 4096


def _arc4(key):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Cipher(algorithms.ARC4(bytes(key)), mode=None).encryptor()


def rc4(key, data):
    return _arc4(key).update(bytes(data))


def master_key(password_hash_hash, nt_response):  # RFC 3079 §3.4 GetMasterKey
    return hashlib.sha1(password_hash_hash + nt_response + MAGIC1).digest()[:16]


def start_key(master, is_send, is_server):  # RFC 3079 §3.4 GetAsymetricStartKey
    magic = MAGIC3 if is_send == is_server else MAGIC2
    return hashlib.sha1(master + PAD1 + magic + PAD2).digest()[:16]


def new_key_from_sha(start, session, n):  # RFC 3079 §3.4, RFC 3078 §7.3
    return hashlib.sha1(start[:n] + PAD1 + session[:n] + PAD2).digest()[:n]


def reduce(key, bits):  # RFC 3079 §3.1, §3.2
    if bits == 40:
        return b"\xd1\x26\x9e" + key[3:]
    if bits == 56:
        return b"\xd1" + key[1:]
    return key


def key_len(bits):
    return 16 if bits == 128 else 8


def initial_key(start, bits):  # RFC 3079 §3.1-§3.3
    n = key_len(bits)
    return reduce(new_key_from_sha(start[:n], start[:n], n), bits)


def changed_key(start, session, bits):  # RFC 3078 §7.3 GetKey
    interim = new_key_from_sha(start, session, key_len(bits))
    return reduce(rc4(interim, interim), bits)


def is_flag(ccount):
    return (ccount & 0xFF) == 0xFF


def header(data):
    """(A, B, C, D, coherency count) of a frame."""
    b0 = data[0]
    return (bool(b0 & BIT_A), bool(b0 & BIT_B), bool(b0 & BIT_C), bool(b0 & BIT_D),
            (b0 & 0x0F) << 8 | data[1])


class _Direction:
    def __init__(self, start, bits, stateless):
        assert bits in (40, 56, 128)
        self.bits = bits
        self.start = bytes(start[:key_len(bits)])
        self.stateless = stateless
        self.session = initial_key(self.start, bits)
        self.rc4 = _arc4(self.session)
        # Both ends count from 0 (RFC 3078 §3): the first frame follows 4095.
        self.ccount = CCOUNT_SPACE - 1

    def change_key(self):
        self.session = changed_key(self.start, self.session, self.bits)
        self.rc4 = _arc4(self.session)


class Sender(_Direction):
    """RFC 3078 sender: stateless, a new key for every frame (§7.1);
    stateful, before each flag frame, whose low count octet is 0xFF (§7.2),
    and after a CCP Reset-Request (§8.2). Each re-keyed frame has the A bit."""

    def __init__(self, start, bits, stateless):
        super().__init__(start, bits, stateless)
        self.flush_next = False

    def frame(self, inner):
        self.ccount = (self.ccount + 1) % CCOUNT_SPACE
        flushed = self.stateless or is_flag(self.ccount) or self.flush_next
        if flushed:
            self.change_key()
            self.flush_next = False
        hdr = (BIT_A if flushed else 0) | BIT_D | (self.ccount >> 8)
        return bytes([hdr, self.ccount & 0xFF]) + self.rc4.update(bytes(inner))

    def next_count(self):
        return (self.ccount + 1) % CCOUNT_SPACE


class MppeRefError(Exception):
    pass


class Receiver(_Direction):
    """RFC 3078 receiver for a lossless, in-order stream (what a gateway's
    output is): every frame must carry the next coherency count, D, neither
    B nor C, and the A bit exactly where the sender must re-key (every frame
    stateless; flag frames stateful). Returns the decrypted inner protocol
    field and data; raises MppeRefError on any departure."""

    def frame(self, data):
        if len(data) < 3:
            raise MppeRefError(f"frame of {len(data)} bytes")
        a, b, c, d, ccount = header(data)
        want = (self.ccount + 1) % CCOUNT_SPACE
        if ccount != want:
            raise MppeRefError(f"coherency count {ccount}, expected {want}")
        if not d or b or c:
            raise MppeRefError(f"header bits A={a} B={b} C={c} D={d}")
        must_flush = self.stateless or is_flag(ccount)
        if a != must_flush:
            raise MppeRefError(f"count {ccount}: A bit {a}, expected {must_flush}")
        self.ccount = ccount
        if a:
            self.change_key()
        return self.rc4.update(bytes(data[2:]))


def selfcheck(check):
    """RFC 3079 §3.5 sample derivations (MS-CHAPv2, password "clientPass"):
    master key, the server's send start key, the initial session keys and
    the sample encrypted messages of §3.5.1 and §3.5.3."""
    phh = bytes.fromhex("41C00C584BD2D91C4017A2A12FA59F3F")
    nt = bytes.fromhex("82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF")
    mk = master_key(phh, nt)
    check("mppe_ref: RFC 3079 §3.5.3 master key", mk == bytes.fromhex("FDECE3717A8C838CB388E527AE3CDD31"),
          mk.hex())
    send = start_key(mk, True, True)
    check("mppe_ref: RFC 3079 §3.5.3 send start key", send == bytes.fromhex("8B7CDC149B993A1BA118CB153F56DCCB"),
          send.hex())
    check("mppe_ref: Magic2/Magic3 pair the client's send key with the server's receive key",
          start_key(mk, True, False) == start_key(mk, False, True) and start_key(mk, False, False) == send)
    for bits, key, sample in ((40, "D1269EC49FA62E3E", "92913791 7E5803D6 68D75898"),
                              (56, "D15C00C49FA62E3E", None),
                              (128, "405CB2247A7956E6E211007AE27B22D4", "81848317 DF688462 72FB5ABE")):
        k = initial_key(send, bits)
        check(f"mppe_ref: RFC 3079 §3.5 {bits}-bit initial session key", k == bytes.fromhex(key), k.hex())
        if sample:
            ct = rc4(k, b"test message")
            check(f"mppe_ref: RFC 3079 §3.5 {bits}-bit sample encrypted message",
                  ct == bytes.fromhex(sample.replace(" ", "")), ct.hex())
    # Frames of tests/unit/crypto/mppe_test.cc, which the data plane's MPPE
    # decrypts: this port and that generator must agree.
    pattern = lambda i: b"\x00\x21" + bytes((i * 7 + k) & 0xFF for k in range(18))  # noqa: E731
    for bits, stateless, want in ((128, True, {0: "90007058562ae26c5cbfd561812c755f99b767ff28c2"}),
                                  (128, False, {255: "90ff7058afd11b93a5442c6688277c5090bc6ef831d9",
                                                256: "110045d4b4350f269957d184424458e693dfcc329d37"}),
                                  (56, False, {255: "90ff68da0aa15e877aa7f082e417b98050a3f86934a4"})):
        tx = Sender(send, bits, stateless)
        got = {i: f.hex() for i, f in ((i, tx.frame(pattern(i))) for i in range(max(want) + 1)) if i in want}
        check(f"mppe_ref: {bits}-bit {'stateless' if stateless else 'stateful'} frames equal mppe_test.cc's",
              got == want, f"{got} {want}")
    # The sender and receiver agree over key changes, both modes and every
    # strength (the receiver checks counts and A bits on its own).
    for bits in (40, 56, 128):
        for stateless in (True, False):
            tx, rx = Sender(send, bits, stateless), Receiver(send, bits, stateless)
            ok = all(rx.frame(tx.frame(bytes([0, 0x21, i & 0xFF]) * 3)) == bytes([0, 0x21, i & 0xFF]) * 3
                     for i in range(300))
            check(f"mppe_ref: {bits}-bit {'stateless' if stateless else 'stateful'} sender and receiver agree "
                  "over 300 frames", ok)
