"""L2TPv2 wire format (RFC 2661): the header of control and data messages
(§3.1), AVPs (§4.1) with hidden values (§4.3) and the tunnel
authentication digest (§4.2 Challenge / Challenge Response, §5.1.1).

Pure functions over bytes: parse_* raise L2tpError with what was wrong;
build_* return bytes. The control connection that uses them is lac.py.
"""

import hashlib
import os
import struct
from dataclasses import dataclass, field

# §3.1 header flag bits (first 16-bit word, version in the low 4 bits).
T_BIT = 0x8000
L_BIT = 0x4000
S_BIT = 0x0800
O_BIT = 0x0200
P_BIT = 0x0100
VERSION = 2

# §4.1 AVP flag bits.
AVP_M = 0x8000
AVP_H = 0x4000
AVP_LEN_MASK = 0x03FF

# §4.4 / §4.4.1 message types.
SCCRQ, SCCRP, SCCCN, STOPCCN, HELLO = 1, 2, 3, 4, 6
OCRQ, OCRP, OCCN, ICRQ, ICRP, ICCN, CDN, WEN, SLI = 7, 8, 9, 10, 11, 12, 14, 15, 16
MESSAGE_NAMES = {SCCRQ: "SCCRQ", SCCRP: "SCCRP", SCCCN: "SCCCN", STOPCCN: "StopCCN", HELLO: "HELLO",
                 OCRQ: "OCRQ", OCRP: "OCRP", OCCN: "OCCN", ICRQ: "ICRQ", ICRP: "ICRP", ICCN: "ICCN",
                 CDN: "CDN", WEN: "WEN", SLI: "SLI"}

# §4.4 attribute types.
(MESSAGE_TYPE, RESULT_CODE, PROTOCOL_VERSION, FRAMING_CAPABILITIES, BEARER_CAPABILITIES, TIE_BREAKER,
 FIRMWARE_REVISION, HOST_NAME, VENDOR_NAME, ASSIGNED_TUNNEL_ID, RECEIVE_WINDOW_SIZE, CHALLENGE,
 Q931_CAUSE, CHALLENGE_RESPONSE, ASSIGNED_SESSION_ID, CALL_SERIAL_NUMBER, MINIMUM_BPS, MAXIMUM_BPS,
 BEARER_TYPE, FRAMING_TYPE) = range(20)
CALLED_NUMBER, CALLING_NUMBER, SUB_ADDRESS, TX_CONNECT_SPEED, PHYSICAL_CHANNEL_ID = 21, 22, 23, 24, 25
INITIAL_RECEIVED_LCP, LAST_SENT_LCP, LAST_RECEIVED_LCP = 26, 27, 28
PROXY_AUTHEN_TYPE, PROXY_AUTHEN_NAME, PROXY_AUTHEN_CHALLENGE, PROXY_AUTHEN_ID, PROXY_AUTHEN_RESPONSE = \
    29, 30, 31, 32, 33
CALL_ERRORS, ACCM, RANDOM_VECTOR, PRIVATE_GROUP_ID, RX_CONNECT_SPEED, SEQUENCING_REQUIRED = \
    34, 35, 36, 37, 38, 39
AVP_NAMES = {
    0: "Message Type", 1: "Result Code", 2: "Protocol Version", 3: "Framing Capabilities",
    4: "Bearer Capabilities", 5: "Tie Breaker", 6: "Firmware Revision", 7: "Host Name", 8: "Vendor Name",
    9: "Assigned Tunnel ID", 10: "Receive Window Size", 11: "Challenge", 12: "Q.931 Cause Code",
    13: "Challenge Response", 14: "Assigned Session ID", 15: "Call Serial Number", 16: "Minimum BPS",
    17: "Maximum BPS", 18: "Bearer Type", 19: "Framing Type", 21: "Called Number", 22: "Calling Number",
    23: "Sub-Address", 24: "Tx Connect Speed", 25: "Physical Channel ID", 26: "Initial Received LCP CONFREQ",
    27: "Last Sent LCP CONFREQ", 28: "Last Received LCP CONFREQ", 29: "Proxy Authen Type",
    30: "Proxy Authen Name", 31: "Proxy Authen Challenge", 32: "Proxy Authen ID",
    33: "Proxy Authen Response", 34: "Call Errors", 35: "ACCM", 36: "Random Vector",
    37: "Private Group ID", 38: "Rx Connect Speed", 39: "Sequencing Required",
}

# §4.4.2 StopCCN and §4.4.2 CDN result codes (the ones a client shows).
STOPCCN_RESULTS = {1: "general request to clear control connection", 2: "general error",
                   3: "control channel already exists", 4: "requester is not authorized",
                   5: "protocol version not supported", 6: "requester is being shut down",
                   7: "finite state machine error"}
CDN_RESULTS = {1: "lost carrier", 2: "general error", 3: "administrative reason",
               4: "lack of facilities (temporary)", 5: "lack of facilities (permanent)",
               6: "invalid destination", 7: "no carrier", 8: "busy", 9: "no dial tone",
               10: "timeout", 11: "no appropriate framing"}
ERROR_CODES = {0: "no general error", 1: "no control connection exists", 2: "length is wrong",
               3: "a field is out of range or a reserved field was non-zero", 4: "insufficient resources",
               5: "invalid session ID", 6: "a generic vendor-specific error", 7: "try another LNS",
               8: "unknown mandatory AVP"}


class L2tpError(Exception):
    pass


@dataclass
class Header:
    """§3.1: the fields present depend on the flags; None means absent."""
    is_control: bool
    tunnel_id: int
    session_id: int
    length: int = None  # the L field (absent: None)
    ns: int = None
    nr: int = None
    offset_size: int = None  # the O field's Offset Size (absent: None)
    priority: bool = False
    header_len: int = 0


def parse_header(data):
    if len(data) < 6:
        raise L2tpError(f"{len(data)} bytes: shorter than any L2TP header")
    flags = struct.unpack_from("!H", data)[0]
    if flags & 0x000F != VERSION:
        raise L2tpError(f"version {flags & 0x000F}, not 2")
    is_control = bool(flags & T_BIT)
    off = 2
    length = None
    if flags & L_BIT:
        length = struct.unpack_from("!H", data, off)[0]
        off += 2
    if len(data) < off + 4:
        raise L2tpError("truncated header")
    tunnel_id, session_id = struct.unpack_from("!HH", data, off)
    off += 4
    ns = nr = None
    if flags & S_BIT:
        if len(data) < off + 4:
            raise L2tpError("truncated Ns/Nr")
        ns, nr = struct.unpack_from("!HH", data, off)
        off += 4
    offset_size = None
    if flags & O_BIT:
        if len(data) < off + 2:
            raise L2tpError("truncated Offset Size")
        offset_size = struct.unpack_from("!H", data, off)[0]
        off += 2 + offset_size
    if is_control:
        # §3.1: control messages must have L and S set and no O, P.
        if length is None or ns is None:
            raise L2tpError("control message without L or S bit")
        if flags & (O_BIT | P_BIT):
            raise L2tpError("control message with O or P bit")
    if length is not None and length > len(data):
        raise L2tpError(f"Length field {length} beyond the {len(data)} bytes received")
    if off > (length if length is not None else len(data)):
        raise L2tpError("offset padding beyond the message")
    return Header(is_control, tunnel_id, session_id, length, ns, nr, offset_size,
                  bool(flags & P_BIT), off)


def build_data(tunnel_id, session_id, payload, length=False, ns=None, nr=0, offset_size=None,
               priority=False):
    """A data message (§3.1): `ns` given adds the S bit (Ns, Nr); `length`
    the L field; `offset_size` the O field and that many zero pad bytes."""
    flags = VERSION | (P_BIT if priority else 0)
    body = struct.pack("!HH", tunnel_id, session_id)
    if ns is not None:
        flags |= S_BIT
        body += struct.pack("!HH", ns, nr)
    if offset_size is not None:
        flags |= O_BIT
        body += struct.pack("!H", offset_size) + bytes(offset_size)
    if length:
        flags |= L_BIT
        total = 4 + len(body) + len(payload)
        return struct.pack("!HH", flags, total) + body + bytes(payload)
    return struct.pack("!H", flags) + body + bytes(payload)


def parse_data(data):
    """(Header, PPP frame) of a data message."""
    hdr = parse_header(data)
    if hdr.is_control:
        raise L2tpError("control message where a data message was expected")
    end = hdr.length if hdr.length is not None else len(data)
    return hdr, bytes(data[hdr.header_len:end])


# ---------------------------------------------------------------- AVPs


@dataclass
class Avp:
    attr: int
    value: bytes
    mandatory: bool = True
    hidden: bool = False  # as received, or to hide when built
    vendor: int = 0

    @property
    def name(self):
        return AVP_NAMES.get(self.attr, f"attribute {self.attr}") if self.vendor == 0 else \
            f"vendor {self.vendor} attribute {self.attr}"

    def u16(self):
        if len(self.value) < 2:
            raise L2tpError(f"{self.name}: {len(self.value)} bytes, need 2")
        return struct.unpack_from("!H", self.value)[0]

    def u32(self):
        if len(self.value) < 4:
            raise L2tpError(f"{self.name}: {len(self.value)} bytes, need 4")
        return struct.unpack_from("!I", self.value)[0]


def avp_u16(attr, v, mandatory=True):
    return Avp(attr, struct.pack("!H", v), mandatory)


def avp_u32(attr, v, mandatory=True):
    return Avp(attr, struct.pack("!I", v), mandatory)


def _hide_stream(attr, secret, vector, chunks):
    """§4.3: the MD5 key stream; b1 = MD5(attr || secret || RV), then
    b(i) = MD5(secret || c(i-1)) over the previous cipher block."""
    yield hashlib.md5(struct.pack("!H", attr) + secret + vector).digest()
    for c in chunks:
        yield hashlib.md5(secret + c).digest()


def hide(attr, value, secret, vector, pad=None):
    """§4.3: hidden value = 2-byte original length, value, padding; XOR'ed
    16 bytes at a time with the key stream."""
    if pad is None:
        pad = os.urandom((-(2 + len(value))) % 16 + 16 * (os.urandom(1)[0] % 2))
    plain = struct.pack("!H", len(value)) + bytes(value) + bytes(pad)
    out = b""
    prev = []
    for i, key in enumerate(_hide_stream(attr, secret, vector, prev)):
        block = plain[16 * i:16 * i + 16]
        if not block:
            break
        c = bytes(p ^ k for p, k in zip(block, key))
        prev.append(c)
        out += c
    return out


def unhide(attr, hidden, secret, vector):
    plain = b""
    chunks = [hidden[i:i + 16] for i in range(0, len(hidden), 16)]
    for c, key in zip(chunks, _hide_stream(attr, secret, vector, chunks)):
        plain += bytes(x ^ k for x, k in zip(c, key))
    if len(plain) < 2:
        raise L2tpError(f"hidden {AVP_NAMES.get(attr, attr)}: {len(hidden)} bytes")
    n = struct.unpack_from("!H", plain)[0]
    if n > len(plain) - 2:
        raise L2tpError(f"hidden {AVP_NAMES.get(attr, attr)}: original length {n} beyond the data "
                        "(wrong secret?)")
    return plain[2:2 + n]


def parse_avps(data, secret=None):
    """List of Avp from the bytes after a control header. Hidden AVPs are
    revealed with `secret` and the latest Random Vector (§4.3); their
    `hidden` stays True. A hidden AVP without a secret or vector raises."""
    avps = []
    off = 0
    vector = None
    while off < len(data):
        if len(data) - off < 6:
            raise L2tpError(f"{len(data) - off} trailing bytes: shorter than an AVP header")
        word, vendor, attr = struct.unpack_from("!HHH", data, off)
        length = word & AVP_LEN_MASK
        if length < 6 or off + length > len(data):
            raise L2tpError(f"AVP {attr}: length {length} with {len(data) - off} bytes left")
        if word & 0x3C00:
            raise L2tpError(f"AVP {attr}: reserved bits set ({word:#06x})")
        value = bytes(data[off + 6:off + length])
        hidden = bool(word & AVP_H)
        if hidden:
            if secret is None or vector is None:
                raise L2tpError(f"hidden {AVP_NAMES.get(attr, attr)} without "
                                f"{'a secret' if secret is None else 'a Random Vector before it'}")
            value = unhide(attr, value, secret, vector)
        avp = Avp(attr, value, bool(word & AVP_M), hidden, vendor)
        if vendor == 0 and attr == RANDOM_VECTOR:
            vector = value
        avps.append(avp)
        off += length
    return avps


def build_avps(avps, secret=None):
    """Bytes of `avps`; those with hidden=True are hidden behind one fresh
    Random Vector AVP put before the first of them (§4.3)."""
    out = b""
    vector = None
    for a in avps:
        value = a.value
        word = (AVP_M if a.mandatory else 0)
        if a.hidden:
            if secret is None:
                raise L2tpError(f"cannot hide {a.name} without a secret")
            if vector is None:
                vector = os.urandom(16)
                out += _avp_bytes(AVP_M, 0, RANDOM_VECTOR, vector)
            value = hide(a.attr, value, secret, vector)
            word |= AVP_H
        out += _avp_bytes(word, a.vendor, a.attr, value)
    return out


def _avp_bytes(word, vendor, attr, value):
    length = 6 + len(value)
    if length > AVP_LEN_MASK:
        raise L2tpError(f"AVP {attr}: {length} bytes, more than 1023")
    return struct.pack("!HHH", word | length, vendor, attr) + bytes(value)


# ------------------------------------------------------ control messages


@dataclass
class Control:
    """A parsed control message; msg_type None is a ZLB (§5.8)."""
    header: Header
    avps: list = field(default_factory=list)

    @property
    def msg_type(self):
        if not self.avps:
            return None
        first = self.avps[0]
        if first.attr != MESSAGE_TYPE or first.vendor != 0:
            raise L2tpError("first AVP is not Message Type (§4.4.1)")
        return first.u16()

    @property
    def name(self):
        t = self.msg_type
        return "ZLB" if t is None else MESSAGE_NAMES.get(t, f"message type {t}")

    def get(self, attr):
        for a in self.avps:
            if a.attr == attr and a.vendor == 0:
                return a
        return None


def parse_control(data, secret=None):
    hdr = parse_header(data)
    if not hdr.is_control:
        raise L2tpError("data message where a control message was expected")
    return Control(hdr, parse_avps(data[hdr.header_len:hdr.length], secret))


def build_control(tunnel_id, session_id, ns, nr, avps, secret=None):
    """§3.1: T, L and S set; ZLB when `avps` is empty."""
    body = build_avps(avps, secret)
    flags = T_BIT | L_BIT | S_BIT | VERSION
    return struct.pack("!HHHHHH", flags, 12 + len(body), tunnel_id, session_id, ns, nr) + body


def message(msg_type, *avps):
    return [avp_u16(MESSAGE_TYPE, msg_type)] + list(avps)


def result_code(result, error=None, text=""):
    """§4.4.2 Result Code value: result, optional error and message."""
    v = struct.pack("!H", result)
    if error is not None or text:
        v += struct.pack("!H", error or 0) + text.encode()
    return Avp(RESULT_CODE, v)


def parse_result_code(avp):
    """(result, error or None, message) of a Result Code AVP."""
    v = avp.value
    if len(v) < 2:
        raise L2tpError(f"Result Code of {len(v)} bytes")
    result = struct.unpack_from("!H", v)[0]
    error = struct.unpack_from("!H", v, 2)[0] if len(v) >= 4 else None
    return result, error, v[4:].decode(errors="replace")


def challenge_response(msg_type, secret, challenge):
    """§4.4.3 Challenge Response: MD5 over the type of the message that
    carries the response (one byte: 2 in SCCRP, 3 in SCCCN), the secret
    and the challenge (the CHAP formula of RFC 1994 with that as the id)."""
    return hashlib.md5(bytes([msg_type]) + secret + challenge).digest()


def describe_avps(avps):
    """One line naming each AVP with its value, for logs. The values of the
    Challenge-related AVPs are left out: they derive from the secret."""
    parts = []
    for a in avps:
        flags = ("M" if a.mandatory else "") + ("H" if a.hidden else "")
        if a.vendor == 0 and a.attr in (CHALLENGE, CHALLENGE_RESPONSE, RANDOM_VECTOR):
            val = f"<{len(a.value)} bytes>"
        elif a.vendor == 0 and a.attr in (HOST_NAME, VENDOR_NAME, CALLED_NUMBER, CALLING_NUMBER,
                                          SUB_ADDRESS):
            val = repr(a.value.decode(errors="replace"))
        elif a.vendor == 0 and a.attr == MESSAGE_TYPE:
            val = MESSAGE_NAMES.get(a.u16(), str(a.u16()))
        elif a.vendor == 0 and a.attr == PROTOCOL_VERSION and len(a.value) == 2:
            val = f"{a.value[0]}.{a.value[1]}"
        elif a.vendor == 0 and a.attr == RESULT_CODE and len(a.value) >= 2:
            code, error, text = parse_result_code(a)
            val = f"{code}" + (f"/{error}" if error is not None else "") + (f" {text!r}" if text else "")
        elif len(a.value) in (2, 4):
            val = str(int.from_bytes(a.value, "big"))
        else:
            val = a.value.hex() or "-"
        parts.append(f"{a.name}{'[' + flags + ']' if flags else ''}={val}")
    return ", ".join(parts)
