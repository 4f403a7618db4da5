"""Every malformed or unwelcome frame is dropped under its own reason with an
exact count, and the gateway still handles a good packet after all of them."""

import struct

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from esp import SaSpec, derive, expected_decap, inet_checksum, protect, protect_raw_esp, _finish
from gwrun import OUTSIDE_ADDR, OUTSIDE_MAC
from traffic import icmp_echo, ip_packet, mac_bytes, to_outside, udp_bytes

MAC = "02:00:00:00:00:07"


def reip(wire, **edits):
    """Edits IPv4 header fields of wire (bytes) and fixes the checksum unless
    told not to."""
    b = bytearray(wire)
    for k, v in edits.items():
        if k == "ttl":
            b[8] = v
        elif k == "frag":
            b[6:8] = struct.pack("!H", v)
        elif k == "ver":
            b[0] = (v << 4) | (b[0] & 0xF)
        elif k == "total_len":
            b[2:4] = struct.pack("!H", v)
    b[10:12] = b"\0\0"
    b[10:12] = struct.pack("!H", inet_checksum(bytes(b[:(b[0] & 0xF) * 4])))
    if edits.get("bad_checksum"):
        b[10] ^= 0x5A
    return bytes(b)


def with_options(wire):
    """The same packet with 4 bytes of IPv4 options (NOPs + EOL)."""
    ihl = (wire[0] & 0xF) * 4
    b = bytearray(wire[:ihl] + b"\x01\x01\x01\x00" + wire[ihl:])
    b[0] = 0x46
    b[2:4] = struct.pack("!H", len(b))
    b[10:12] = b"\0\0"
    b[10:12] = struct.pack("!H", inet_checksum(bytes(b[:24])))
    return bytes(b)


def gcm_raw(sa, ip_pkt, seq, plaintext):
    """An AES-GCM ESP packet over an arbitrary plaintext (RFC 4106: nonce =
    salt | explicit IV, AAD = SPI | seq), made with python3-cryptography."""
    iv = struct.pack("!Q", seq)
    key, salt = sa.cipher_key[:-4], sa.cipher_key[-4:]
    spi_seq = struct.pack("!II", sa.spi, seq)
    body = spi_seq + iv + AESGCM(key).encrypt(salt + iv, plaintext, spi_seq)
    from scapy.layers.inet import IP
    return _finish(sa, IP(bytes(ip_pkt)), body)


def run(ctx, t):
    gw = ctx.gateway("bad")
    cbc = gw.add_sa(SaSpec("in", 0x6001, "198.51.100.7", "aes-cbc-128", "hmac-sha1-96"))
    gcm = gw.add_sa(SaSpec("in", 0x6002, "198.51.100.8", "aes-gcm-128", "none", encap="udp",
                           peer_port=4500))
    des = gw.add_sa(SaSpec("in", 0x6003, "198.51.100.9", "3des-cbc", "hmac-sha256-128"))
    seq = {cbc.spi: 0, gcm.spi: 0, des.spi: 0}
    cases = []  # (label, frame, drop reason)

    def l4_for(sa, n=40, dport=1701):
        return udp_bytes(sa.peer, OUTSIDE_ADDR, n, f"bad/{len(cases)}", dport=dport)

    def next_seq(sa):
        seq[sa.spi] += 1
        return seq[sa.spi]

    def esp(sa, src=None, **kw):
        ip = ip_packet(src or sa.peer, OUTSIDE_ADDR, 17, kw.pop("l4", None) or l4_for(sa), ip_id=len(cases))
        return protect(sa, ip, next_seq(sa), **kw)

    def add(label, wire_or_frame, reason, raw_frame=False):
        frame = wire_or_frame if raw_frame else to_outside(wire_or_frame, MAC)
        cases.append((label, frame, reason))

    # Ethernet and IPv4.
    add("9-byte frame", mac_bytes(OUTSIDE_MAC) + b"\x02\0\0", "runt", raw_frame=True)
    add("Ethernet header only", mac_bytes(OUTSIDE_MAC) + mac_bytes(MAC) + b"\x08\x00", "runt", raw_frame=True)
    add("Ethernet + 16 bytes of IPv4", mac_bytes(OUTSIDE_MAC) + mac_bytes(MAC) + b"\x08\x00" + esp(cbc)[:16],
        "runt", raw_frame=True)
    add("other destination MAC", to_outside(esp(cbc), MAC, dst_mac="02:00:00:00:99:99"), "not_for_us",
        raw_frame=True)
    add("IPv6 ethertype", mac_bytes(OUTSIDE_MAC) + mac_bytes(MAC) + b"\x86\xdd" + bytes(40), "unknown_ethertype",
        raw_frame=True)
    add("IPv4 version 5", reip(esp(cbc), ver=5), "ip_version")
    add("IPv4 header checksum wrong", reip(esp(cbc), bad_checksum=True), "ip_checksum")
    add("IPv4 options", with_options(esp(cbc)), "ip_options")
    # Fragments addressed to the gateway wait for reassembly (cases/fragments.py).
    add("IPv4 TTL 0", reip(esp(cbc), ttl=0), "ip_ttl")
    w = esp(cbc)
    add("IPv4 total length beyond the frame", reip(w, total_len=len(w) + 4), "ip_total_len")
    add("IPv4 to another address", ip_packet(cbc.peer, "198.51.100.77", 50, bytes(40)), "not_for_us")
    add("IPv4 protocol TCP", ip_packet(cbc.peer, OUTSIDE_ADDR, 6, bytes(20)), "ip_proto")

    # ESP: SA lookup, peer and encapsulation.
    add("unknown SPI", ip_packet(cbc.peer, OUTSIDE_ADDR, 50, struct.pack("!II", 0xDEAD, 1) + bytes(64)),
        "esp_unknown_spi")
    add("wrong peer address", esp(cbc, src="198.51.100.99"), "esp_wrong_peer")
    raw_as_udp = esp(cbc)
    add("raw-ESP SA in UDP 4500", ip_packet(cbc.peer, OUTSIDE_ADDR, 17,
                                            struct.pack("!HHHH", 4500, 4500, 8 + len(raw_as_udp) - 20, 0)
                                            + raw_as_udp[20:]), "esp_wrong_peer")
    udp_wire = esp(gcm)
    add("NAT-T SA as raw ESP", ip_packet(gcm.peer, OUTSIDE_ADDR, 50, udp_wire[28:]), "esp_wrong_peer")
    add("NAT-T SA from another source port",
        udp_wire[:20] + struct.pack("!H", 4501) + udp_wire[22:], "esp_wrong_peer")

    # ESP: lengths, integrity, trailer.
    add("ESP of 6 bytes", ip_packet(cbc.peer, OUTSIDE_ADDR, 50, struct.pack("!I", cbc.spi) + b"\0\1"),
        "esp_truncated")
    add("aes-cbc-128: ESP header + 8 bytes", ip_packet(cbc.peer, OUTSIDE_ADDR, 50, struct.pack("!II", cbc.spi, 50) + bytes(8)),
        "esp_truncated")
    add("aes-gcm-128: ESP NAT-T header + 20 bytes",
        ip_packet(gcm.peer, OUTSIDE_ADDR, 17, struct.pack("!HHHH", 4500, 4500, 36, 0)
                  + struct.pack("!II", gcm.spi, 50) + bytes(20)), "esp_truncated")
    for sa in (cbc, gcm):
        w = bytearray(esp(sa))
        w[-sa.icv_len - 5] ^= 0x10  # a ciphertext bit
        add(f"{sa.cipher}: one ciphertext bit flipped", bytes(w), "esp_auth")
    for sa in (cbc, des, gcm):
        w = bytearray(esp(sa))
        w[-3] ^= 0x04  # an ICV bit
        add(f"{sa.cipher}: one ICV bit flipped", bytes(w), "esp_auth")
    for sa, short in ((cbc, 8), (des, 4)):
        s = next_seq(sa)
        body = struct.pack("!II", sa.spi, s) + derive(f"iv{s}", sa.iv_len) + derive(f"ct{s}", 2 * sa.block + short)
        add(f"{sa.cipher}: ciphertext not a multiple of the block",
            protect_raw_esp(sa, ip_packet(sa.peer, OUTSIDE_ADDR, 17, b""), body), "esp_block_len")
    add("aes-gcm-128: ciphertext not a multiple of 4",
        gcm_raw(gcm, ip_packet(gcm.peer, OUTSIDE_ADDR, 17, b""), next_seq(gcm),
                l4_for(gcm, 40) + b"\x00\x11"), "esp_block_len")  # 40 + pad length + next header
    # 44 bytes of UDP + the two trailer bytes: 2 or 18 pad bytes for AES-CBC.
    add("aes-cbc-128: pad bytes not 1, 2, 3...",
        esp(cbc, l4=l4_for(cbc, 44), padding=bytes([1, 2, 3, 4, 5, 6, 7, 9]) + bytes(range(9, 19))), "esp_pad")
    add("aes-cbc-128: zero padding", esp(cbc, l4=l4_for(cbc, 44), padding=bytes(2)), "esp_pad")
    add("3des-cbc: pad length beyond the payload", esp(des, l4=l4_for(des, 44), padding=bytes([1, 2]), padlen=250),
        "esp_pad")
    add("aes-gcm-128: pad bytes not 1, 2, 3...", esp(gcm, l4=l4_for(gcm, 44), padding=bytes([1, 3])), "esp_pad")
    add("aes-gcm-128: pad length beyond the payload", esp(gcm, l4=l4_for(gcm, 44), padding=bytes([1, 2]), padlen=60),
        "esp_pad")
    add("aes-cbc-128: next header TCP", esp(cbc, nh=6), "esp_next_header")
    add("aes-gcm-128: next header IP-in-IP", esp(gcm, nh=4), "esp_next_header")
    add("inner UDP to port 53", esp(cbc, l4=l4_for(cbc, 30, dport=53)), "esp_inner_unhandled")

    # After all that, one good packet per SA, and the largest valid padding
    # (RFC 4303 §2.4: up to 255 bytes) on the CBC SA.
    good, expected = [], []
    for sa, padding in ((cbc, None), (gcm, None), (des, None), (cbc, bytes(range(1, 241)))):
        l4 = l4_for(sa, 46)  # 46 + 2 + 240 = 288 = 18 AES blocks
        kw = {} if padding is None else {"padding": padding}
        wire = esp(sa, l4=l4, **kw)
        good.append(to_outside(wire, MAC))
        expected.append(expected_decap(wire, l4, 17, sa.udp))

    frames = [f for _, f, _ in cases] + good
    res = gw.run(outside_in=frames)
    st = res.stats
    want = {}
    for _, _, reason in cases:
        want[reason] = want.get(reason, 0) + 1
    t.drops("bad input", st, want)
    got = st.nonzero_drops()
    for reason in sorted(want):
        labels = [label for label, _, r in cases if r == reason]
        t.eq(f"{reason} ({'; '.join(labels)})", got.get(reason, 0), want[reason])
    t.frames_eq("good packets after the bad ones", res.punts, expected)
    t.eq("rx_packets", st.total("rx_packets"), len(frames))
    t.eq("nothing sent", len(res.outside_out) + len(res.inside_out), 0)
    for sa in (cbc, gcm, des):
        n_auth = sum(1 for label, _, r in cases if r == "esp_auth" and label.startswith(sa.cipher + ":"))
        t.eq(f"SA {sa.cipher} auth_failures", st.sa_counter("in", sa.spi, "auth_failures"), n_auth)
        n_dec = sum(1 for label, _, r in cases if r in ("esp_truncated", "esp_block_len", "esp_pad", "esp_next_header")
                    and label.startswith(sa.cipher + ":"))
        t.eq(f"SA {sa.cipher} decrypt_errors", st.sa_counter("in", sa.spi, "decrypt_errors"), n_dec)
