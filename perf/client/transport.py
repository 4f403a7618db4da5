"""How the client's L2TP datagrams travel, with one interface for all:
send(l2tp_bytes) and recv(timeout) -> l2tp_bytes or None.

- UdpTransport: plain UDP from a kernel socket bound to the local address
  and port (a trusted LAC, no IPsec).
- EspTransport: the L2TP/IPsec of RFC 3193 with static keys: the UDP
  datagram local:sport → server:1701 protected by ESP in transport mode
  (RFC 4303), sent either as IP protocol 50 through a raw socket or inside
  UDP 4500 (RFC 3948 NAT-T). The ESP work is scapy's SecurityAssociation
  (tests/pipeline/esp.py builds it), none of it the gateway's.

RFC 2661 §8.1 lets the LNS answer from another port than 1701; both
transports then send to the port it used.
"""

import json
import select
import socket
import struct
import time

from scapy.layers.inet import IP, UDP
from scapy.packet import Raw

import esp as esp_ref

L2TP_PORT = 1701


class UdpTransport:
    def __init__(self, local, server, sport=L2TP_PORT, dport=L2TP_PORT):
        self.server = server
        self.dport = dport
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((local, sport))

    def send(self, data):
        self.sock.sendto(bytes(data), (self.server, self.dport))

    def recv(self, timeout):
        deadline = time.monotonic() + max(timeout, 0)
        while True:
            left = deadline - time.monotonic()
            if not readable(self.sock, left):
                return None
            data, (addr, port) = self.sock.recvfrom(65535)
            if addr == self.server:
                self.dport = port  # RFC 2661 §8.1
                return data
            if left <= 0:
                return None

    def close(self):
        self.sock.close()


class EspConfig:
    """The static SA pair, from JSON:
        {"encap": "none" | "udp", "cipher": "aes-cbc-128", "integrity": "hmac-sha1-96",
         "spi_out": 40961, "cipher_key_out": "hex", "integrity_key_out": "hex",
         "spi_in": 45057, "cipher_key_in": "hex", "integrity_key_in": "hex"}
    "out" protects what the client sends (the gateway's inbound SA), "in"
    what it receives. Names as in the gateway's configuration."""

    def __init__(self, d):
        self.encap = d.get("encap", "none")
        if self.encap not in ("none", "udp"):
            raise ValueError(f"encap {self.encap!r}: none or udp")
        self.cipher = d["cipher"]
        self.auth = d.get("integrity", "none")
        if self.cipher not in esp_ref.CIPHERS or self.auth not in esp_ref.AUTHS:
            raise ValueError(f"unknown transform {self.cipher}/{self.auth}")
        self.spi_out, self.spi_in = int(d["spi_out"]), int(d["spi_in"])
        self.keys = {k: bytes.fromhex(d.get(k, "")) for k in
                     ("cipher_key_out", "integrity_key_out", "cipher_key_in", "integrity_key_in")}

    @classmethod
    def load(cls, path):
        with open(path) as f:
            return cls(json.load(f))

    def sa(self, direction):
        # SaSpec's "in"/"out" is the gateway's view: our "out" is its "in".
        spec = esp_ref.SaSpec(direction="in" if direction == "out" else "out",
                              spi=self.spi_out if direction == "out" else self.spi_in,
                              peer="0.0.0.0", cipher=self.cipher, auth=self.auth,
                              encap=self.encap,
                              cipher_key=self.keys[f"cipher_key_{direction}"],
                              auth_key=self.keys[f"integrity_key_{direction}"])
        if len(spec.cipher_key) != esp_ref.CIPHERS[self.cipher][1]:
            raise ValueError(f"cipher_key_{direction}: {len(spec.cipher_key)} bytes, "
                             f"{self.cipher} needs {esp_ref.CIPHERS[self.cipher][1]}")
        return spec


class EspTransport:
    def __init__(self, local, server, config, sport=L2TP_PORT, dport=L2TP_PORT, sock=None):
        """sock: a UDP socket already bound to port 4500 (IKE's, after it
        floated there), shared rather than bound twice; not closed here."""
        self.local, self.server = local, server
        self.sport, self.dport = sport, dport
        self.config = config
        self.out_spec = config.sa("out")
        # Inbound SAs by SPI: after a rekey the old one still delivers
        # until the peer stops using it.
        self.in_sas = {config.spi_in: config.sa("in").scapy_sa()}
        self.out_sa = self.out_spec.scapy_sa()
        self.seq = 1
        self.dropped = 0
        self.last_error = None
        self.on_ike = None      # receives IKE datagrams found on a shared UDP 4500 socket
        self.corrupt_next = 0   # outgoing packets still to be damaged (a test's fault)
        self.corrupted = 0
        self.send_errors = 0
        self.received_by_spi = {}
        self.own_sock = sock is None
        if sock is not None:
            self.sock = sock
        elif config.encap == "udp":
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.sock.bind((local, esp_ref.NAT_T_PORT))
        else:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, esp_ref.IPPROTO_ESP)
            self.sock.bind((local, 0))

    def send(self, data):
        inner = IP(src=self.local, dst=self.server) / UDP(sport=self.sport, dport=self.dport) / Raw(bytes(data))
        protected = self.out_sa.encrypt(inner, seq_num=self.seq, iv=self.out_spec.default_iv(self.seq)
                                        if self.out_spec.aead else None)
        self.seq += 1
        ip_bytes = bytes(protected)
        esp_bytes = ip_bytes[(ip_bytes[0] & 0x0F) * 4:]
        if self.corrupt_next > 0:
            # The last byte is the ICV's: the receiver's integrity check must fail.
            esp_bytes = esp_bytes[:-1] + bytes([esp_bytes[-1] ^ 0x5A])
            self.corrupt_next -= 1
            self.corrupted += 1
        try:
            if self.config.encap == "udp":
                self.sock.sendto(esp_bytes, (self.server, esp_ref.NAT_T_PORT))
            else:
                self.sock.sendto(esp_bytes, (self.server, 0))
        except OSError as e:
            # A local firewall (EPERM) or a full buffer: lost like on a wire,
            # and L2TP's retransmission is there for it.
            self.send_errors += 1
            self.last_error = f"send: {e}"

    def _esp_payload(self):
        """ESP bytes of the next datagram from the server, or None."""
        data, (addr, _) = self.sock.recvfrom(65535)
        if addr != self.server:
            return None
        if self.config.encap == "udp":
            # RFC 3948 §2.2/§2.3: a zero marker is IKE, 0xFF a keepalive.
            if len(data) > 4 and data[:4] == b"\0\0\0\0" and self.on_ike is not None:
                self.on_ike(data[4:])
            if len(data) < 8 or data[:4] == b"\0\0\0\0":
                return None
            return data
        return data[(data[0] & 0x0F) * 4:]  # a raw socket gives the IP header

    def recv(self, timeout):
        deadline = time.monotonic() + max(timeout, 0)
        while True:
            left = deadline - time.monotonic()
            if not readable(self.sock, left):
                return None
            esp_bytes = self._esp_payload()
            spi = struct.unpack_from("!I", esp_bytes)[0] if esp_bytes is not None and len(esp_bytes) >= 4 else None
            if spi in self.in_sas:
                # Re-parsed so that scapy dissects the ESP header it decrypts.
                outer = IP(bytes(IP(src=self.server, dst=self.local, proto=esp_ref.IPPROTO_ESP) / Raw(esp_bytes)))
                try:
                    plain = self.in_sas[spi].decrypt(outer)
                    self.received_by_spi[spi] = self.received_by_spi.get(spi, 0) + 1
                except Exception as e:  # scapy raises on a bad ICV or padding: count, never accept
                    self.dropped += 1
                    self.last_error = str(e)
                    plain = None
                if plain is not None and UDP in plain and plain[UDP].dport == self.sport:
                    self.dport = plain[UDP].sport  # RFC 2661 §8.1
                    return bytes(plain[UDP].payload)
            if time.monotonic() >= deadline:
                return None

    def rekeyed(self, config):
        """A new SA pair from a second Quick Mode: what we send moves to it
        at once; the old inbound SA keeps delivering until retire()."""
        self.config = config
        self.out_spec = config.sa("out")
        self.out_sa = self.out_spec.scapy_sa()
        self.seq = 1
        self.in_sas[config.spi_in] = config.sa("in").scapy_sa()

    def retire(self, spi_in):
        self.in_sas.pop(spi_in, None)

    def close(self):
        if self.own_sock:
            self.sock.close()


def readable(sock, timeout):
    """Whether sock has a datagram within timeout seconds. poll(), not
    select(): a load run holds thousands of sockets, past select's 1024."""
    p = select.poll()
    p.register(sock, select.POLLIN)
    return bool(p.poll(max(timeout, 0) * 1000.0))
