#!/usr/bin/python3
"""The demo's client side, run inside the client namespace.

Speaks to the gateway the way an L2TP/IPsec client's IPsec layer does with
static SAs: ARP, plain ping, ESP-protected ICMP echo (raw ESP for client A,
ESP in UDP 4500 for client B behind NAT), ESP-protected L2TP (which the
gateway hands to its control plane), an IKE packet, one forged and one
replayed ESP packet. Every reply is decrypted here with scapy's own ESP code,
independent of the gateway's. Prints what happened and a JSON summary line.
"""
import argparse
import json
import socket
import struct
import threading
import time

from scapy.all import ARP, ICMP, IP, UDP, Ether, Raw, conf
from scapy.layers.ipsec import ESP, SecurityAssociation

conf.verb = 0
GW_IP, GW_MAC = "198.51.100.1", "02:00:00:00:01:01"
INSIDE_HOST = "10.0.0.2"
SESSION_ADDR = "100.64.0.7"  # client A's address in its PPP session
SESSION_IDS = (1, 1)  # the gateway's tunnel and session ids (what A sends)


class Client:
    def __init__(self, name, addr, mac, sa_out, sa_in, nat_t):
        self.name, self.addr, self.mac = name, addr, mac
        self.sa_out, self.sa_in, self.nat_t = sa_out, sa_in, nat_t
        self.sent = 0
        self.replies = 0
        self.bytes = 0
        self.session_sent = 0
        self.session_replies = 0

    def frame(self, inner):
        ip = self.sa_out.encrypt(inner)
        if self.nat_t:
            ip = fix_udp_len(ip)
        return Ether(src=self.mac, dst=GW_MAC) / ip


def fix_udp_len(ip):
    """scapy 2.5.0 writes 8 in the UDP length of its NAT-T header (it does not
    count the ESP payload behind it): set the length the RFC 768 way."""
    b = bytearray(bytes(ip))
    ihl = (b[0] & 0x0F) * 4
    b[ihl + 4:ihl + 6] = (len(b) - ihl).to_bytes(2, "big")
    return IP(bytes(b))


def sa_pair(args, which):
    if which == "A":
        out = SecurityAssociation(ESP, spi=0xA001, crypt_algo="AES-CBC",
                                  crypt_key=bytes.fromhex(args.a_in_enc),
                                  auth_algo="HMAC-SHA1-96", auth_key=bytes.fromhex(args.a_in_auth))
        inn = SecurityAssociation(ESP, spi=0xB001, crypt_algo="AES-CBC",
                                  crypt_key=bytes.fromhex(args.a_out_enc),
                                  auth_algo="HMAC-SHA1-96", auth_key=bytes.fromhex(args.a_out_auth))
        return out, inn
    nat = UDP(sport=4500, dport=4500)
    out = SecurityAssociation(ESP, spi=0xA002, crypt_algo="AES-GCM",
                              crypt_key=bytes.fromhex(args.b_in_enc), nat_t_header=nat)
    inn = SecurityAssociation(ESP, spi=0xB002, crypt_algo="AES-GCM",
                              crypt_key=bytes.fromhex(args.b_out_enc), nat_t_header=nat)
    return out, inn


class Link:
    """A raw AF_PACKET socket on the client's interface: sends prebuilt frames
    and keeps every frame it receives, decoded only after the traffic."""

    def __init__(self, iface):
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 << 20)
        self.sock.bind((iface, 0))
        self.frames = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._rx)
        self.thread.start()

    def _rx(self):
        self.sock.settimeout(0.2)
        while not self.stop.is_set():
            try:
                self.frames.append(self.sock.recv(65535))
            except socket.timeout:
                pass

    def send(self, frames):
        for f in frames:
            self.sock.send(bytes(f))

    def close(self):
        self.stop.set()
        self.thread.join()


def decode(frames, clients, log):
    by_mac = {c.mac: c for c in clients}
    for raw in frames:
        p = Ether(raw)
        c = by_mac.get(p.dst)
        if c is None or p.src != GW_MAC:
            continue
        if ARP in p:
            if p[ARP].op == 2:
                log.append(f"{c.name}: ARP {p[ARP].psrc} is at {p[ARP].hwsrc}")
            continue
        if IP not in p:
            continue
        ip = p[IP]
        if ip.proto == 50 or (UDP in ip and ip[UDP].dport == 4500):
            if c.nat_t:
                # scapy decrypts ESP in UDP as raw ESP once the UDP header is gone.
                ip = IP(bytes(IP(src=ip.src, dst=ip.dst, proto=50) / bytes(ip[UDP].payload)))
            try:
                plain = c.sa_in.decrypt(ip)
            except Exception as e:  # a reply that does not decrypt is a failure
                log.append(f"{c.name}: reply failed to decrypt: {e}")
                continue
            if UDP in plain and plain[UDP].sport == 1701:
                # RFC 2661 §3.1 data header (no L, S, O) + PPP FF 03 00 21.
                l2tp = bytes(plain[UDP].payload)
                inner = IP(l2tp[10:]) if l2tp[6:10] == b"\xff\x03\x00\x21" else None
                if inner is not None and ICMP in inner and inner[ICMP].type == 0 and inner.src == INSIDE_HOST:
                    c.session_replies += 1
            elif ICMP in plain and plain[ICMP].type == 0:
                c.replies += 1
                c.bytes += len(raw)
        elif ICMP in ip and ip[ICMP].type == 0:
            log.append(f"{c.name}: plain echo reply from {ip.src} id={ip[ICMP].id} seq={ip[ICMP].seq}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--iface", required=True)
    ap.add_argument("--count", type=int, default=2000)
    for k in ("a_in_enc", "a_in_auth", "a_out_enc", "a_out_auth", "b_in_enc", "b_out_enc"):
        ap.add_argument("--" + k.replace("_", "-"), required=True)
    args = ap.parse_args()

    a = Client("client A (raw ESP, AES-CBC/HMAC-SHA1)", "198.51.100.7", "02:00:00:00:00:07",
               *sa_pair(args, "A"), nat_t=False)
    b = Client("client B (NAT-T, AES-GCM)", "198.51.100.8", "02:00:00:00:00:08",
               *sa_pair(args, "B"), nat_t=True)
    clients = [a, b]
    log = []
    link = Link(args.iface)

    link.send([Ether(src=a.mac, dst="ff:ff:ff:ff:ff:ff") /
               ARP(op=1, hwsrc=a.mac, psrc=a.addr, pdst=GW_IP)])
    link.send([Ether(src=a.mac, dst=GW_MAC) / IP(src=a.addr, dst=GW_IP) / ICMP(id=1, seq=s) / b"ping"
               for s in range(3)])

    # L2TP inside ESP: the gateway punts it to its control plane.
    l2tp_hello = bytes.fromhex("c80200140000000000000000" "80080000000000060000")
    link.send([c.frame(IP(src=c.addr, dst=GW_IP) / UDP(sport=1701, dport=1701) / Raw(l2tp_hello))
               for c in clients])
    # IKE from client B on 4500 (non-ESP marker, RFC 3948 §2.2) and a keepalive.
    link.send([Ether(src=b.mac, dst=GW_MAC) / IP(src=b.addr, dst=GW_IP) / UDP(sport=4500, dport=4500) /
               Raw(b"\x00\x00\x00\x00" + bytes(28)),
               Ether(src=b.mac, dst=GW_MAC) / IP(src=b.addr, dst=GW_IP) / UDP(sport=4500, dport=4500) /
               Raw(b"\xff")])

    # Steady ESP traffic: ICMP echo through the SAs, both clients interleaved,
    # built first so that sending is not paced by scapy.
    payload = bytes(range(256)) * 4  # 1 KiB of inner payload per request
    frames = []
    for s in range(args.count):
        for c in clients:
            frames.append(bytes(c.frame(IP(src=c.addr, dst=GW_IP) / ICMP(id=7, seq=s) / payload)))
            c.sent += 1
    t0 = time.time()
    link.send(frames)
    t_send = time.time() - t0

    # Through A's L2TP session: pings to the host on the inside, in PPP in
    # L2TP in UDP 1701 in ESP, as a Windows client sends them.
    session_frames = []
    for s in range(200):
        inner = bytes(IP(src=SESSION_ADDR, dst=INSIDE_HOST, ttl=64, id=s) / ICMP(id=9, seq=s) / b"through the tunnel")
        l2tp = struct.pack("!HHH", 0x0002, *SESSION_IDS) + b"\xff\x03\x00\x21" + inner
        session_frames.append(bytes(a.frame(IP(src=a.addr, dst=GW_IP) / UDP(sport=1701, dport=1701) / Raw(l2tp))))
        a.session_sent += 1
    link.send(session_frames)

    # One forged packet (last byte of the ICV flipped) and one replay.
    forged = bytearray(bytes(a.frame(IP(src=a.addr, dst=GW_IP) / ICMP(id=8, seq=1) / b"x")))
    forged[-1] ^= 0x01
    link.send([bytes(forged), frames[0]])

    expected = sum(c.sent for c in clients) + a.session_sent
    deadline = time.time() + 5
    gw_mac = bytes.fromhex(GW_MAC.replace(":", ""))
    # The socket also sees our own frames going out: count the gateway's.
    # ESP replies are over 100 bytes; ARP and the plain echo replies are not.
    while time.time() < deadline and sum(len(f) > 100 and f[6:12] == gw_mac for f in link.frames) < expected:
        time.sleep(0.05)
    elapsed = time.time() - t0
    link.close()
    decode(link.frames, clients, log)

    for line in log:
        print("  " + line)
    for c in clients:
        print(f"  {c.name}: {c.sent} ESP echo requests sent, {c.replies} ESP echo replies "
              f"received and decrypted")
    print(f"  {a.name}: {a.session_sent} pings to {INSIDE_HOST} through its L2TP session, "
          f"{a.session_replies} replies back through the tunnel")
    replies = sum(c.replies for c in clients) + a.session_replies
    summary = {
        "sent": sum(c.sent for c in clients),
        "replies": replies - a.session_replies,
        "seconds": round(elapsed, 3),
        "send_seconds": round(t_send, 3),
        "reply_mbit_s": round(sum(c.bytes for c in clients) * 8 / elapsed / 1e6, 2),
        "replies_per_s": round(replies / elapsed, 1),
        "session_sent": a.session_sent,
        "session_replies": a.session_replies,
    }
    print("SUMMARY " + json.dumps(summary))


if __name__ == "__main__":
    main()
