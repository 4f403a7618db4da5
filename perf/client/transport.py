"""How the client's L2TP datagrams travel, with one interface for all:
send(l2tp_bytes) and recv(timeout) -> l2tp_bytes or None.

- UdpTransport: plain UDP from a kernel socket bound to the local address
  and port (a trusted LAC, no IPsec).
- EspTransport: the L2TP/IPsec of RFC 3193 with static keys: the UDP
  datagram local:sport → server:1701 protected by ESP in transport mode
  (RFC 4303), sent either as IP protocol 50 through a raw socket or inside
  UDP 4500 (RFC 3948 NAT-T). The ESP work is scapy's SecurityAssociation
  (tests/pipeline/esp.py builds it), none of it the gateway's; use_codec()
  switches a transport to esp_codec.py's faster path for load runs.
- SharedEsp: one raw ESP socket for many EspTransports of a load run, the
  packets told apart by SPI, so that a held session keeps no socket of its
  own for ESP (the descriptor limit, and the kernel's walk over every raw
  socket of the protocol for each packet).

For a loop over many transports (perf/l2tp_load.py): fileno() and
drain(handle), which reads what is waiting without blocking.

RFC 2661 §8.1 lets the LNS answer from another port than 1701; both
transports then send to the port it used.
"""

import errno
import json
import select
import socket
import struct
import time

from scapy.layers.inet import IP, UDP
from scapy.packet import Raw

import esp as esp_ref

from . import esp_codec

L2TP_PORT = 1701
IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)  # Linux's value; Python 3.11 does not export it


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

    def fileno(self):
        return self.sock.fileno()

    def drain(self, handle, limit=64):
        """handle(l2tp_bytes) for each datagram waiting, at most limit; the
        number read."""
        n = 0
        while n < limit and self.sock.fileno() != -1:  # handle() may have closed us
            try:
                data, (addr, port) = self.sock.recvfrom(65535, socket.MSG_DONTWAIT)
            except (BlockingIOError, InterruptedError):
                break
            n += 1
            if addr == self.server:
                self.dport = port
                handle(data)
        return n

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
        self.codec_out = None   # esp_codec's SAs once use_codec() is called
        self.codec_in = None
        self.shared = None      # a SharedEsp sending and receiving for us
        self.seq = 1
        self.dropped = 0
        self.not_l2tp = 0       # decrypted, but not UDP to our L2TP port
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

    def use_codec(self):
        """esp_codec.py instead of scapy from now on, when it has the
        transform; True when it does."""
        if not esp_codec.supported(self.config.cipher, self.config.auth):
            return False
        self.codec_out = esp_codec.Sa(self.out_spec)
        self.codec_in = {spi: esp_codec.Sa(self.config.sa("in")) for spi in self.in_sas
                         if spi == self.config.spi_in}
        return True

    def send(self, data):
        if self.codec_out is not None:
            esp_bytes = self.codec_out.protect(
                esp_codec.udp_datagram(self.local, self.server, self.sport, self.dport, bytes(data)), self.seq)
        else:
            inner = IP(src=self.local, dst=self.server) / UDP(sport=self.sport, dport=self.dport) / Raw(bytes(data))
            protected = self.out_sa.encrypt(inner, seq_num=self.seq, iv=self.out_spec.default_iv(self.seq)
                                            if self.out_spec.aead else None)
            ip_bytes = bytes(protected)
            esp_bytes = ip_bytes[(ip_bytes[0] & 0x0F) * 4:]
        self.seq += 1
        if self.corrupt_next > 0:
            # The last byte is the ICV's: the receiver's integrity check must fail.
            esp_bytes = esp_bytes[:-1] + bytes([esp_bytes[-1] ^ 0x5A])
            self.corrupt_next -= 1
            self.corrupted += 1
        try:
            if self.shared is not None:
                self.shared.send(esp_bytes, self.local, self.server)
            elif self.config.encap == "udp":
                self.sock.sendto(esp_bytes, (self.server, esp_ref.NAT_T_PORT))
            else:
                self.sock.sendto(esp_bytes, (self.server, 0))
        except OSError as e:
            # A local firewall (EPERM) or a full buffer: lost like on a wire,
            # and L2TP's retransmission is there for it.
            self.send_errors += 1
            self.last_error = f"send: {e}"

    def _esp_of(self, data, addr):
        """The ESP bytes of one datagram read from our socket, or None."""
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

    def deliver(self, esp_bytes):
        """The L2TP datagram inside ESP bytes (SPI to ICV), or None when
        they are not ours or do not decrypt (counted in dropped)."""
        spi = struct.unpack_from("!I", esp_bytes)[0] if esp_bytes is not None and len(esp_bytes) >= 4 else None
        if spi not in self.in_sas:
            return None
        codec = self.codec_in.get(spi) if self.codec_in is not None else None
        if codec is not None:
            try:
                nh, payload = codec.unprotect(esp_bytes)
            except esp_codec.EspError as e:
                self.dropped += 1
                self.last_error = str(e)
                return None
            self.received_by_spi[spi] = self.received_by_spi.get(spi, 0) + 1
            if nh != esp_codec.IPPROTO_UDP or len(payload) < 8:
                self.not_l2tp += 1
                return None
            sport, dport, length = struct.unpack_from("!HHH", payload)
            if dport != self.sport or length < 8 or length > len(payload):
                self.not_l2tp += 1
                return None
            self.dport = sport  # RFC 2661 §8.1
            return payload[8:length]
        # Re-parsed so that scapy dissects the ESP header it decrypts.
        outer = IP(bytes(IP(src=self.server, dst=self.local, proto=esp_ref.IPPROTO_ESP) / Raw(esp_bytes)))
        try:
            plain = self.in_sas[spi].decrypt(outer)
            self.received_by_spi[spi] = self.received_by_spi.get(spi, 0) + 1
        except Exception as e:  # scapy raises on a bad ICV or padding: count, never accept
            self.dropped += 1
            self.last_error = str(e)
            return None
        if UDP in plain and plain[UDP].dport == self.sport:
            self.dport = plain[UDP].sport  # RFC 2661 §8.1
            return bytes(plain[UDP].payload)
        return None

    def recv(self, timeout):
        deadline = time.monotonic() + max(timeout, 0)
        while True:
            left = deadline - time.monotonic()
            if not readable(self.sock, left):
                return None
            data, (addr, _) = self.sock.recvfrom(65535)
            l2tp = self.deliver(self._esp_of(data, addr))
            if l2tp is not None:
                return l2tp
            if time.monotonic() >= deadline:
                return None

    def fileno(self):
        """Our own socket's descriptor; None once a SharedEsp reads for us."""
        return self.sock.fileno() if self.sock is not None else None

    def drain(self, handle, limit=64):
        """handle(l2tp_bytes) for each datagram waiting on our own socket,
        at most limit; the number read."""
        n = 0
        while n < limit and self.sock is not None:
            try:
                data, (addr, _) = self.sock.recvfrom(65535, socket.MSG_DONTWAIT)
            except (BlockingIOError, InterruptedError):
                break
            n += 1
            l2tp = self.deliver(self._esp_of(data, addr))
            if l2tp is not None:
                handle(l2tp)
        return n

    def share(self, shared, handle):
        """Moves to shared (a SharedEsp) for both directions and closes our
        own raw socket, after handing what waits on it to handle(). Only a
        raw-socket transport of its own moves: NAT-T shares IKE's socket."""
        if self.config.encap != "none" or not self.own_sock or self.sock is None:
            return False
        shared.register(self)
        self.shared = shared
        self.drain(handle, limit=1 << 20)
        self.sock.close()
        self.sock = None
        return True

    def rekeyed(self, config):
        """A new SA pair from a second Quick Mode: what we send moves to it
        at once; the old inbound SA keeps delivering until retire()."""
        self.config = config
        self.out_spec = config.sa("out")
        self.out_sa = self.out_spec.scapy_sa()
        self.seq = 1
        self.in_sas[config.spi_in] = config.sa("in").scapy_sa()
        if self.codec_out is not None:
            if esp_codec.supported(config.cipher, config.auth):
                self.codec_out = esp_codec.Sa(self.out_spec)
                self.codec_in[config.spi_in] = esp_codec.Sa(config.sa("in"))
            else:
                self.codec_out = self.codec_in = None
        if self.shared is not None:
            self.shared.register(self)

    def retire(self, spi_in):
        self.in_sas.pop(spi_in, None)
        if self.codec_in is not None:
            self.codec_in.pop(spi_in, None)
        if self.shared is not None:
            self.shared.unregister_spi(spi_in)

    def close(self):
        if self.shared is not None:
            self.shared.unregister(self)
            self.shared = None
        if self.own_sock and self.sock is not None:
            self.sock.close()
        self.sock = None  # IKE's socket, when shared, is IKE's to close


class SharedEsp:
    """One unbound raw ESP socket for every transport registered with it:
    datagrams are dispatched by inbound SPI, and sent with the transport's
    own address as source (IP_PKTINFO)."""

    def __init__(self, rcvbuf=32 << 20):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, esp_ref.IPPROTO_ESP)
        self.sock.setblocking(False)
        for opt in (getattr(socket, "SO_RCVBUFFORCE", None), socket.SO_RCVBUF):
            if opt is None:
                continue
            try:
                self.sock.setsockopt(socket.SOL_SOCKET, opt, rcvbuf)
                break
            except OSError:
                continue
        self.by_spi = {}
        self.received = 0
        self.unknown = 0  # ESP for no registered SPI: setups still on their own sockets
        self.misaddressed = 0
        self.send_errors = 0

    def fileno(self):
        return self.sock.fileno()

    def register(self, transport):
        for spi in transport.in_sas:
            self.by_spi[spi] = transport

    def unregister_spi(self, spi):
        self.by_spi.pop(spi, None)

    def unregister(self, transport):
        for spi in list(transport.in_sas):
            if self.by_spi.get(spi) is transport:
                del self.by_spi[spi]

    def send(self, esp_bytes, src, dst):
        pktinfo = struct.pack("=i4s4s", 0, socket.inet_aton(src), bytes(4))
        self.sock.sendmsg([esp_bytes], [(socket.IPPROTO_IP, IP_PKTINFO, pktinfo)], 0, (dst, 0))

    def drain(self, handle, limit=256):
        """handle(transport, l2tp_bytes) for each datagram of a registered
        SPI waiting, at most limit read; the number read."""
        n = 0
        while n < limit:
            try:
                data = self.sock.recv(65535)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as e:
                if e.errno in (errno.EAGAIN, errno.EWOULDBLOCK):
                    break
                raise
            n += 1
            self.received += 1
            ihl = (data[0] & 0x0F) * 4
            if len(data) < ihl + 8:
                continue
            t = self.by_spi.get(struct.unpack_from("!I", data, ihl)[0])
            if t is None:
                self.unknown += 1
                continue
            if socket.inet_ntoa(data[12:16]) != t.server or socket.inet_ntoa(data[16:20]) != t.local:
                self.misaddressed += 1  # our SPI, another address: not ours to take
                continue
            l2tp = t.deliver(data[ihl:])
            if l2tp is not None:
                handle(t, l2tp)
        return n

    def close(self):
        self.sock.close()


def readable(sock, timeout):
    """Whether sock has a datagram within timeout seconds. poll(), not
    select(): a load run holds thousands of sockets, past select's 1024."""
    p = select.poll()
    p.register(sock, select.POLLIN)
    return bool(p.poll(max(timeout, 0) * 1000.0))
