"""MD4 (RFC 1320), needed only for NtPasswordHash (RFC 2759 §8.3).

OpenSSL 3 puts MD4 in its legacy provider, so hashlib.new("md4") fails on
this platform; the 48 steps are short enough to write out. Checked against
the RFC 1320 §A.5 test suite in selftest.py.
"""

import struct

_MASK = 0xFFFFFFFF


def _rotl(x, n):
    x &= _MASK
    return ((x << n) | (x >> (32 - n))) & _MASK


def _f(x, y, z):
    return (x & y) | (~x & z)


def _g(x, y, z):
    return (x & y) | (x & z) | (y & z)


def _h(x, y, z):
    return x ^ y ^ z


# RFC 1320 §3.4: word order and shift amounts of each round.
_ROUND1 = [(k, (3, 7, 11, 19)[k % 4]) for k in range(16)]
_ROUND2 = [(k, (3, 5, 9, 13)[i % 4]) for i, k in enumerate((0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15))]
_ROUND3 = [(k, (3, 9, 11, 15)[i % 4]) for i, k in enumerate((0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15))]


def md4(data):
    data = bytes(data)
    bit_len = (8 * len(data)) & 0xFFFFFFFFFFFFFFFF
    # §3.1-3.2: pad with 0x80, zeros to 56 mod 64, then the 64-bit length.
    msg = data + b"\x80" + bytes((55 - len(data)) % 64) + struct.pack("<Q", bit_len)
    state = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476]
    for off in range(0, len(msg), 64):
        x = struct.unpack("<16I", msg[off:off + 64])
        a, b, c, d = state
        for rnd, fn, const in ((_ROUND1, _f, 0), (_ROUND2, _g, 0x5A827999), (_ROUND3, _h, 0x6ED9EBA1)):
            for i, (k, s) in enumerate(rnd):
                # The four registers rotate roles each step: a, d, c, b.
                if i % 4 == 0:
                    a = _rotl(a + fn(b, c, d) + x[k] + const, s)
                elif i % 4 == 1:
                    d = _rotl(d + fn(a, b, c) + x[k] + const, s)
                elif i % 4 == 2:
                    c = _rotl(c + fn(d, a, b) + x[k] + const, s)
                else:
                    b = _rotl(b + fn(c, d, a) + x[k] + const, s)
        state = [(v + w) & _MASK for v, w in zip(state, (a, b, c, d))]
    return struct.pack("<4I", *state)
