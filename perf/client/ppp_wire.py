"""PPP framing and control-packet codecs (RFC 1661 §2, §5, §6) as pure
functions; the automata that use them are in ppp.py.

Over L2TP a PPP frame has no HDLC flags, FCS or escaping (RFC 2661 §3.1);
Address/Control FF 03 and a 2-byte protocol unless ACFC / PFC were
negotiated (RFC 1661 §6.5, §6.6). LCP is always sent uncompressed.
"""

import struct

PROTO_IP = 0x0021
PROTO_MPPE = 0x00FD  # RFC 1962 §4: a compressed (here: encrypted) datagram
PROTO_IPV6 = 0x0057
PROTO_IPCP = 0x8021
PROTO_IPV6CP = 0x8057
PROTO_CCP = 0x80FD
PROTO_LCP = 0xC021
PROTO_PAP = 0xC023
PROTO_CHAP = 0xC223
PROTO_NAMES = {PROTO_IP: "IPv4", PROTO_MPPE: "MPPE", PROTO_IPCP: "IPCP", PROTO_CCP: "CCP", PROTO_LCP: "LCP",
               PROTO_PAP: "PAP", PROTO_CHAP: "CHAP", PROTO_IPV6: "IPv6", PROTO_IPV6CP: "IPv6CP"}

# RFC 1661 §5 codes; 14/15 are CCP's Reset-Request/Ack (RFC 1962 §2.1).
CONF_REQ, CONF_ACK, CONF_NAK, CONF_REJ, TERM_REQ, TERM_ACK, CODE_REJ, PROTO_REJ = range(1, 9)
ECHO_REQ, ECHO_REP, DISCARD_REQ = 9, 10, 11
RESET_REQ, RESET_ACK = 14, 15
CODE_NAMES = {1: "Configure-Request", 2: "Configure-Ack", 3: "Configure-Nak", 4: "Configure-Reject",
              5: "Terminate-Request", 6: "Terminate-Ack", 7: "Code-Reject", 8: "Protocol-Reject",
              9: "Echo-Request", 10: "Echo-Reply", 11: "Discard-Request", 14: "Reset-Request",
              15: "Reset-Ack"}


class PppError(Exception):
    pass


def parse_frame(frame):
    """(protocol, information) of a PPP frame, compressed or not."""
    f = bytes(frame)
    if f[:2] == b"\xff\x03":
        f = f[2:]
    if not f:
        raise PppError("empty PPP frame")
    # RFC 1661 §2: protocol values have an odd low octet and an even high one,
    # so a first octet with the low bit set is a compressed 1-byte field.
    if f[0] & 1:
        return f[0], f[1:]
    if len(f) < 2 or not f[1] & 1:
        raise PppError(f"bad protocol field {f[:2].hex()}")
    return struct.unpack_from("!H", f)[0], f[2:]


def build_frame(proto, info, acfc=False, pfc=False):
    head = b"" if acfc and proto != PROTO_LCP else b"\xff\x03"
    if pfc and proto < 0x100 and proto != PROTO_LCP:
        head += bytes([proto])
    else:
        head += struct.pack("!H", proto)
    return head + bytes(info)


def parse_cp(info):
    """(code, identifier, data) of an LCP-like packet (RFC 1661 §5)."""
    if len(info) < 4:
        raise PppError(f"control packet of {len(info)} bytes")
    code, ident, length = struct.unpack_from("!BBH", info)
    if length < 4 or length > len(info):
        raise PppError(f"control packet Length {length} with {len(info)} bytes")
    return code, ident, bytes(info[4:length])  # §5: bytes past Length are padding


def build_cp(code, ident, data=b""):
    return struct.pack("!BBH", code, ident, 4 + len(data)) + bytes(data)


def parse_options(data):
    """[(type, value)] of a Configure-* packet (RFC 1661 §6)."""
    out = []
    off = 0
    while off < len(data):
        if len(data) - off < 2:
            raise PppError("truncated option")
        t, n = data[off], data[off + 1]
        if n < 2 or off + n > len(data):
            raise PppError(f"option {t}: length {n}")
        out.append((t, bytes(data[off + 2:off + n])))
        off += n
    return out


def build_options(options):
    return b"".join(bytes([t, 2 + len(v)]) + bytes(v) for t, v in options)


def describe(proto, info):
    """One line for a control packet, for traces. PAP's and CHAP's bodies
    are left out: they carry the password or its hashes."""
    name = PROTO_NAMES.get(proto, f"{proto:#06x}")
    try:
        code, ident, data = parse_cp(info)
    except PppError as e:
        return f"{name} malformed: {e}"
    if proto in (PROTO_PAP, PROTO_CHAP):
        label = {PROTO_PAP: {1: "Authenticate-Request", 2: "Authenticate-Ack", 3: "Authenticate-Nak"},
                 PROTO_CHAP: {1: "Challenge", 2: "Response", 3: "Success", 4: "Failure"}}[proto].get(code, code)
        return f"{name} {label} id {ident}"
    text = f"{name} {CODE_NAMES.get(code, f'code {code}')} id {ident}"
    if code in (CONF_REQ, CONF_ACK, CONF_NAK, CONF_REJ):
        try:
            text += ": " + (" ".join(f"{t}={v.hex() or '-'}" for t, v in parse_options(data)) or "no options")
        except PppError as e:
            text += f": bad options ({e})"
    elif code in (TERM_REQ, TERM_ACK) and data:
        text += f": {data!r}"
    elif code == PROTO_REJ and len(data) >= 2:
        text += f": protocol {struct.unpack_from('!H', data)[0]:#06x}"
    return text
