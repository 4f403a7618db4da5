"""ESP as an independent implementation sees it: scapy's SecurityAssociation
over python3-cryptography builds what the gateway must accept and checks
what it sends. Nothing here shares code with the data plane."""

import hashlib
import hmac
import socket
import struct
from dataclasses import dataclass, field

from scapy.layers.inet import IP, UDP
from scapy.layers.ipsec import AUTH_ALGOS, ESP, AuthAlgo, SecurityAssociation, _ESPPlain, split_for_transport
from scapy.layers.l2 import Ether
from scapy.packet import Raw

# Our transform names (dataplane/crypto/esp_algorithms.h) → scapy's, with the
# sizes RFC 3602 / 4106 / 2451 / 2404 / 4868 give them.
CIPHERS = {
    #  name           scapy      key(+salt) block iv  icv(aead)
    "aes-cbc-128": ("AES-CBC", 16, 16, 16, 0),
    "aes-cbc-256": ("AES-CBC", 32, 16, 16, 0),
    "aes-gcm-128": ("AES-GCM", 20, 4, 8, 16),
    "aes-gcm-256": ("AES-GCM", 36, 4, 8, 16),
    "3des-cbc": ("3DES", 24, 8, 8, 0),
}
AUTHS = {
    "none": (None, 0, 0),
    "hmac-sha1-96": ("HMAC-SHA1-96", 20, 12),
    "hmac-sha256-128": ("SHA2-256-128", 32, 16),
    "hmac-sha256-96": ("SHA2-256-96", 32, 12),
}
HMAC_HASH = {"hmac-sha1-96": hashlib.sha1, "hmac-sha256-128": hashlib.sha256,
             "hmac-sha256-96": hashlib.sha256}
# scapy knows HMAC-SHA2-256 only with RFC 4868's 128 bits; the earlier
# draft's 96 bits is the same algorithm cut shorter.
_sha256 = AUTH_ALGOS["SHA2-256-128"]
AUTH_ALGOS.setdefault("SHA2-256-96", AuthAlgo("SHA2-256-96", mac=_sha256.mac, digestmod=_sha256.digestmod,
                                              icv_size=12))

# Every pair the gateway accepts: AEAD alone, CBC with each HMAC.
TRANSFORMS = [
    ("aes-cbc-128", "hmac-sha1-96"),
    ("aes-cbc-128", "hmac-sha256-128"),
    ("aes-cbc-256", "hmac-sha1-96"),
    ("aes-cbc-256", "hmac-sha256-128"),
    ("aes-gcm-128", "none"),
    ("aes-gcm-256", "none"),
    ("3des-cbc", "hmac-sha1-96"),
    ("3des-cbc", "hmac-sha256-128"),
    ("aes-cbc-256", "hmac-sha256-96"),
    ("3des-cbc", "hmac-sha256-96"),
]

IPPROTO_ESP = 50
NAT_T_PORT = 4500


def derive(label, n):
    """Deterministic key material: tests must be reproducible byte for byte."""
    out = b""
    i = 0
    while len(out) < n:
        out += hashlib.sha256(f"{label}/{i}".encode()).digest()
        i += 1
    return out[:n]


@dataclass
class SaSpec:
    direction: str  # "in" or "out", as the gateway sees it
    spi: int
    peer: str
    cipher: str
    auth: str
    encap: str = "none"  # or "udp" (RFC 3948)
    peer_port: int = NAT_T_PORT
    local_port: int = NAT_T_PORT
    replay_window: int = None
    cipher_key: bytes = None
    auth_key: bytes = None
    peer_mac: str = None
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        label = f"{self.direction}/{self.spi:#x}/{self.peer}/{self.cipher}/{self.auth}"
        if self.cipher_key is None:
            self.cipher_key = derive("ck/" + label, CIPHERS[self.cipher][1])
        if self.auth_key is None:
            self.auth_key = derive("ak/" + label, AUTHS[self.auth][1])

    @property
    def udp(self):
        return self.encap == "udp"

    @property
    def block(self):
        return CIPHERS[self.cipher][2]

    @property
    def iv_len(self):
        return CIPHERS[self.cipher][3]

    @property
    def aead(self):
        return CIPHERS[self.cipher][4] != 0

    @property
    def icv_len(self):
        return CIPHERS[self.cipher][4] or AUTHS[self.auth][2]

    def libconfig(self):
        f = [f'direction = "{self.direction}"', f"spi = {self.spi:#x}", f'peer = "{self.peer}"']
        if self.udp:
            f += ['encap = "udp"', f"peer_port = {self.peer_port}", f"local_port = {self.local_port}"]
        f += [f'cipher = "{self.cipher}"', f'cipher_key = "{self.cipher_key.hex()}"',
              f'integrity = "{self.auth}"']
        if self.auth != "none":
            f.append(f'integrity_key = "{self.auth_key.hex()}"')
        if self.replay_window is not None:
            f.append(f"replay_window = {self.replay_window}")
        for k, v in self.extra.items():
            f.append(f"{k} = {v}")
        return "{ " + "; ".join(f) + "; }"

    def scapy_sa(self, tunnel_header=None):
        """The SA as the sender of its packets holds it: the peer for an inbound
        SA, the gateway for an outbound one. Without scapy's nat_t_header:
        scapy 2.5.0 writes 8 into the UDP length of NAT-T packets (it fixes the
        header before appending ESP), so the UDP header is ours (_finish)."""
        crypt = CIPHERS[self.cipher][0]
        auth = AUTHS[self.auth][0]
        kw = {}
        if auth:
            kw = {"auth_algo": auth, "auth_key": self.auth_key}
        if tunnel_header is not None:
            kw["tunnel_header"] = tunnel_header
        return SecurityAssociation(ESP, spi=self.spi, crypt_algo=crypt, crypt_key=self.cipher_key, **kw)

    def default_iv(self, seq):
        # GCM: the explicit IV is the sequence number (RFC 4106 §3.1 allows a
        # counter); CBC: any unpredictable value, fixed here for reproducibility.
        if self.aead:
            return struct.pack("!Q", seq)
        return derive(f"iv/{self.spi}/{seq}", self.iv_len)


def inet_checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def protect(sa, ip_pkt, seq, iv=None, padding=None, padlen=None, nh=None):
    """ESP transport-mode protection of ip_pkt (a scapy IP packet) with the
    sending side of sa. Default padding is scapy's own (the minimum, bytes
    1, 2, 3...); `padding` gives other pad bytes, `padlen`/`nh` other values of
    those trailer fields, to build packets that are wrong on purpose but carry
    a valid ICV. Returns raw bytes of the IP packet."""
    ssa = sa.scapy_sa()
    if iv is None:
        iv = sa.default_iv(seq)
    if padding is None and padlen is None and nh is None:
        raw_esp = ssa.encrypt(ip_pkt.copy(), seq_num=seq, iv=iv)
        if not sa.udp:
            return bytes(raw_esp)
        return _finish(sa, raw_esp, bytes(raw_esp[ESP]))
    # Same steps as SecurityAssociation._encrypt_esp, with our trailer.
    ip_header, inner_nh, payload = split_for_transport(ip_pkt.copy(), socket.IPPROTO_ESP)
    esp = _ESPPlain(spi=sa.spi, seq=seq, iv=iv)
    esp.data = payload
    esp.nh = inner_nh if nh is None else nh
    if padding is None:
        esp = ssa.crypt_algo.pad(esp)
    else:
        esp.padding = padding
        esp.padlen = len(padding)
    if padlen is not None:
        esp.padlen = padlen
    esp = ssa.crypt_algo.encrypt(ssa, esp, ssa.crypt_key, ssa.crypt_icv_size)
    ssa.auth_algo.sign(esp, ssa.auth_key)
    return _finish(sa, ip_header, bytes(esp))


def protect_tunnel(sa, inner_ip, seq, outer, iv=None):
    """ESP tunnel-mode protection (RFC 4303 §3.1.2) of inner_ip (a scapy IP
    packet) by scapy: outer (a scapy IP header) is the new outer header,
    next header 4. Returns raw bytes of the outer IP packet."""
    ssa = sa.scapy_sa(tunnel_header=outer)
    raw_esp = ssa.encrypt(inner_ip.copy(), seq_num=seq, iv=sa.default_iv(seq) if iv is None else iv)
    if not sa.udp:
        return bytes(raw_esp)
    return _finish(sa, raw_esp, bytes(raw_esp[ESP]))


def _finish(sa, ip_header, esp_bytes):
    """Wraps ESP bytes in the (UDP and) IP header of ip_header."""
    ip = ip_header.copy()
    ip.remove_payload()
    if sa.udp:
        sport, dport = ((sa.peer_port, sa.local_port) if sa.direction == "in"
                        else (sa.local_port, sa.peer_port))
        body = struct.pack("!HHHH", sport, dport, 8 + len(esp_bytes), 0) + esp_bytes
        ip.proto = 17
    else:
        body = esp_bytes
        ip.proto = IPPROTO_ESP
    del ip.len
    del ip.chksum
    return bytes(ip / Raw(body))


def protect_raw_esp(sa, ip_pkt, esp_body_no_icv):
    """Wraps an arbitrary ESP body (SPI, seq, IV, ciphertext) with a correct
    ICV for a non-AEAD SA: for ciphertexts no cipher would produce (wrong
    length), so that only the check under test can refuse them."""
    assert not sa.aead
    icv = hmac.new(sa.auth_key, esp_body_no_icv, HMAC_HASH[sa.auth]).digest()[:sa.icv_len]
    ip_header, _, _ = split_for_transport(ip_pkt.copy(), socket.IPPROTO_ESP)
    return _finish(sa, ip_header, esp_body_no_icv + icv)


def esp_offset(ip_bytes, udp):
    return (ip_bytes[0] & 0xF) * 4 + (8 if udp else 0)


def expected_decap(sent_ip, inner_l4, nh, udp_encap):
    """What the gateway must make of sent_ip (the IP packet carrying ESP) whose
    protected payload is inner_l4: the outer header with protocol = next
    header, the total length of the result and a fresh checksum (TTL, id, TOS
    and flags untouched); for NAT-T the UDP header removed and the inner UDP
    checksum zeroed, since it covered the peer's private address (RFC 3948
    §3.1.2)."""
    ihl = (sent_ip[0] & 0xF) * 4
    hdr = bytearray(sent_ip[:ihl])
    hdr[9] = nh
    hdr[2:4] = struct.pack("!H", ihl + len(inner_l4))
    hdr[10:12] = b"\0\0"
    hdr[10:12] = struct.pack("!H", inet_checksum(bytes(hdr)))
    l4 = bytearray(inner_l4)
    if udp_encap and nh == 17:
        l4[6:8] = b"\0\0"
    return bytes(hdr) + bytes(l4)


def ether(dst, src, payload, ethertype=0x0800):
    return bytes(Ether(dst=dst, src=src, type=ethertype)) + bytes(payload)


def parse_esp_frame(frame, udp):
    """(spi, seq, iv-start offset) of an ESP frame as the gateway sent it."""
    ip = frame[14:]
    off = esp_offset(ip, udp)
    spi, seq = struct.unpack("!II", ip[off:off + 8])
    return spi, seq, 14 + off + 8


def decrypt(sa, ip_bytes):
    """scapy's decryption of an IP packet the gateway protected with sa;
    returns the plaintext IP packet bytes (raises on a bad ICV)."""
    if sa.udp:
        ihl = (ip_bytes[0] & 0xF) * 4
        hdr = IP(ip_bytes[:ihl])
        hdr.proto = IPPROTO_ESP
        del hdr.len
        del hdr.chksum
        pkt = IP(bytes(hdr / Raw(ip_bytes[ihl + 8:])))
    else:
        pkt = IP(ip_bytes)
    return bytes(sa.scapy_sa().decrypt(pkt))
