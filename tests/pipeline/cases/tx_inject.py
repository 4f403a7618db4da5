"""`l2tpgwctl inject`: IPv4 packets from a pcap file go out of a port through
the control plane's tx ring, protected by the outbound SA named with --sa
(raw ESP and UDP-encapsulated, CBC and GCM; compared byte for byte with
scapy's encryption at the sequence number and IV read from the output) or
unchanged behind an Ethernet header to the next hop's MAC; the three link
types a pcap may have; what the data plane refuses (bad IPv4 header, an SPI
that is not the peer's outbound SA) under its drop reason."""

import os
import struct

from scapy.layers.inet import IP

from esp import SaSpec, decrypt, inet_checksum, parse_esp_frame, protect
from gwrun import INSIDE_ADDR, INSIDE_HOST_MAC, INSIDE_MAC, OUTSIDE_ADDR, OUTSIDE_MAC
from pcapfile import LINKTYPE_ETHERNET, LINKTYPE_IPV4, write_pcap
from traffic import ip_packet, mac_bytes, peer_addr, peer_mac, udp_bytes

LINKTYPE_RAW = 101
INSIDE_HOST = "10.0.0.2"

# (cipher, integrity, encap, peer port, link type of the pcap injected)
SAS = [("aes-cbc-128", "hmac-sha1-96", "none", 4500, LINKTYPE_IPV4),
       ("aes-gcm-128", "none", "udp", 4500, LINKTYPE_RAW),
       ("aes-cbc-256", "hmac-sha256-128", "udp", 41234, LINKTYPE_ETHERNET),
       ("aes-gcm-256", "none", "none", 4500, LINKTYPE_IPV4)]
SIZES = [9, 47, 8 + 512, 8 + 1400]


def frame_of(ip, linktype, k):
    """The record for one IP packet in a pcap of that link type; Ethernet
    frames are padded to 60 bytes as a NIC would capture them."""
    if linktype != LINKTYPE_ETHERNET:
        return ip
    f = mac_bytes("02:00:00:00:77:77") + mac_bytes("02:00:00:00:77:78") + b"\x08\x00" + ip
    return f + b"\0" * max(0, 60 - len(f))


def run(ctx, t):
    gw = ctx.gateway("inject")
    sas, plans = [], []
    for i, (cipher, auth, encap, port, linktype) in enumerate(SAS):
        n = 60 + i
        sa = gw.add_sa(SaSpec("out", 0x8001 + i, peer_addr(n), cipher, auth, encap=encap, peer_port=port,
                              peer_mac=peer_mac(n)))
        ips = [bytes(ip_packet(OUTSIDE_ADDR, sa.peer, 17, udp_bytes(OUTSIDE_ADDR, sa.peer, size, f"inj/{i}/{k}"),
                               ip_id=0x5100 + 16 * i + k, ttl=64 - k))
               for k, size in enumerate(SIZES)]
        sas.append(sa)
        plans.append((sa, linktype, ips))
    plain_peer, plain_mac = peer_addr(69), peer_mac(69)
    gw.neighbors[plain_peer] = plain_mac
    gw.inside_neighbors[INSIDE_HOST] = INSIDE_HOST_MAC
    plain = [bytes(ip_packet(OUTSIDE_ADDR, plain_peer, 17, udp_bytes(OUTSIDE_ADDR, plain_peer, 30, "plain"), ip_id=0x5200)),
             bytes(ip_packet(OUTSIDE_ADDR, plain_peer, 1, b"\x08\x00\xf7\xff" + bytes(4), ip_id=0x5201))]
    plain_inside = [bytes(ip_packet(INSIDE_ADDR, INSIDE_HOST, 17, udp_bytes(INSIDE_ADDR, INSIDE_HOST, 20, "in"),
                                    ip_id=0x5300))]
    good = bytearray(bytes(ip_packet(OUTSIDE_ADDR, sas[0].peer, 17, udp_bytes(OUTSIDE_ADDR, sas[0].peer, 20, "bad"))))
    good[10] ^= 0x40  # header checksum wrong
    malformed = bytes(good)
    unknown_spi = [bytes(ip_packet(OUTSIDE_ADDR, sas[0].peer, 17, udp_bytes(OUTSIDE_ADDR, sas[0].peer, 20, "spi")))]

    replies = []

    def inject(name, packets, *args, linktype=LINKTYPE_IPV4):
        write_pcap(gw.path(name), [frame_of(p, linktype, k) for k, p in enumerate(packets)], linktype=linktype)
        # A relative path: l2tpgwctl makes it absolute for the control plane.
        p = gw.ctl("inject", "--pcap", name, *args, cwd=gw.dir)
        replies.append((name, args, p.returncode, p.stdout, p.stderr))

    def during(g):
        for sa, linktype, ips in plans:
            inject(f"sa{sa.spi:x}.pcap", ips, "--sa", hex(sa.spi), sa.peer, linktype=linktype)
        inject("plain.pcap", plain)
        inject("inside.pcap", plain_inside, "--port", "inside", linktype=LINKTYPE_ETHERNET)
        inject("malformed.pcap", [malformed])
        inject("malformed_sa.pcap", [malformed], "--sa", hex(sas[0].spi), sas[0].peer)
        inject("unknown_spi.pcap", unknown_spi, "--sa", "0x9999", sas[0].peer)
        inject("no_sa_peer.pcap", unknown_spi, "--sa", hex(sas[0].spi), plain_peer)
        bad = g.ctl("inject", "--pcap", g.path("absent.pcap"))
        replies.append(("absent", (), bad.returncode, bad.stdout, bad.stderr))
        bad = g.ctl("inject", "--pcap", g.path("plain.pcap"), "--port", "dmz")
        replies.append(("dmz", (), bad.returncode, bad.stdout, bad.stderr))

    res = gw.run(during=during)
    st = res.stats

    counts = {"sa8001.pcap": 4, "sa8002.pcap": 4, "sa8003.pcap": 4, "sa8004.pcap": 4, "plain.pcap": 2,
              "inside.pcap": 1, "malformed.pcap": 1, "malformed_sa.pcap": 1, "unknown_spi.pcap": 1,
              "no_sa_peer.pcap": 1}
    for name, args, rc, out, err in replies:
        if name in counts:
            port = "inside" if "--port" in args else "outside"
            via = ""
            if "--sa" in args:
                spi, peer = int(args[1], 16), args[2]
                via = f" through out spi {spi:#010x} peer {peer}"
            t.eq(f"inject {name}: reply", (rc, out, err),
                 (0, f"queued {counts[name]} of {counts[name]} packets from {gw.path(name)} to port {port}{via}\n", ""))
        elif name == "absent":
            t.eq("inject of a missing file: error", (rc, out, err),
                 (1, "", f"l2tpgwctl: cannot open {gw.path('absent.pcap')}: No such file or directory\n"))
        else:
            t.eq("inject to an unknown port: error", (rc, out, err), (1, "", "l2tpgwctl: no port named 'dmz'\n"))

    by_spi, plain_out = {}, []
    for f in res.outside_out:
        proto = f[23] if len(f) > 23 else None
        if proto == 50 or (proto == 17 and f[34:36] != b"\x06\xa5"):  # ESP, or UDP not from port 1701
            by_spi.setdefault(parse_esp_frame(f, proto == 17)[0], []).append(f)
        else:
            plain_out.append(f)
    for sa, linktype, ips in plans:
        name = f"SA {sa.spi:#x} {sa.cipher}/{sa.auth}/{sa.encap} (pcap link type {linktype})"
        got = by_spi.get(sa.spi, [])
        if not t.eq(f"{name}: frames", len(got), len(ips)):
            continue
        seqs, mismatch, plain_bad = [], [], []
        for ip, f in zip(ips, got):
            _, seq, iv_off = parse_esp_frame(f, sa.udp)
            seqs.append(seq)
            iv = f[iv_off:iv_off + sa.iv_len]
            exp = mac_bytes(sa.peer_mac) + mac_bytes(OUTSIDE_MAC) + b"\x08\x00" + protect(sa, IP(ip), seq, iv=iv)
            if f != exp and not mismatch:
                mismatch = [f, exp]
            try:
                dec = decrypt(sa, f[14:])
            except Exception as e:  # scapy raises on a bad ICV
                dec = repr(e).encode()
            if dec != ip and not plain_bad:
                plain_bad = [dec, ip]
        t.eq(f"{name}: sequence numbers 1..n in file order", seqs, list(range(1, len(ips) + 1)))
        t.bytes_eq(f"{name}: frames equal scapy's encryption", *(mismatch or [b"", b""]))
        t.bytes_eq(f"{name}: scapy decrypts to the injected packet", *(plain_bad or [b"", b""]))
        t.eq(f"{name}: SA packets and bytes", (st.sa_counter("out", sa.spi, "packets"),
                                               st.sa_counter("out", sa.spi, "bytes")),
             (len(ips), sum(len(ip) - 20 for ip in ips)))
    t.eq("ESP SPIs seen", sorted(by_spi), sorted(sa.spi for sa in sas))
    exp_plain = [mac_bytes(plain_mac) + mac_bytes(OUTSIDE_MAC) + b"\x08\x00" + ip for ip in plain]
    t.frames_eq("plain packets unchanged to the neighbour's MAC", plain_out, exp_plain)
    t.frames_eq("plain packet out of the inside port",
                res.inside_out, [mac_bytes(INSIDE_HOST_MAC) + mac_bytes(INSIDE_MAC) + b"\x08\x00" + plain_inside[0]])
    t.check("the malformed packet's checksum is wrong", inet_checksum(malformed[:20]) != 0)
    t.eq("esp_encapped", st.total("esp_encapped"), sum(len(ips) for _, _, ips in plans))
    t.eq("tx_packets", st.total("tx_packets"), sum(len(ips) for _, _, ips in plans) + len(plain) + 1)
    t.eq("rx_packets", st.total("rx_packets"), 0)
    t.drops("inject", st, {"tx_malformed": 2, "no_outbound_sa": 2})
    t.eq("nothing punted", len(res.punts), 0)
    t.check("inject logged by the control plane",
            res.cp_log.count("ctl: inject: queued") == len(counts), res.cp_log[-2000:])
