"""MPPE on L2TP/PPP sessions (RFC 3078, keys per RFC 3079). Four static
sessions, each over its own SAs: 128-bit stateless, 128-bit stateful (with
ACFC and PFC), 40-bit stateless (ESP in UDP), 56-bit stateful (with L2TP
sequencing). The client side is tests/pipeline/mppe_ref.py, an MPPE of its
own over python3-cryptography's ARC4.

From the clients: MPPE frames (PPP protocol 0x00FD) that the gateway must
decrypt and forward inside as IPv4 with TTL - 1, byte for byte; a stateful
stream of 300 frames across the key change at count 255; a stateful stream
with frames 10..12 lost, which must give one `mppe_coherency_gap`, one CCP
Reset-Request warning in the control plane's log, then `mppe_awaiting_flush`
until the flag frame 255 resynchronises; plain IPv4 (`ppp_unencrypted`);
frames with C (`mppe_compressed`), without D (`mppe_not_encrypted`), without
A where stateless needs it (`mppe_not_flushed`), repeated (`mppe_stale_count`)
or cut (`mppe_too_short`), none of which may move the coherency count;
IPv6 or no datagram inside MPPE (`ppp_protocol`, `ppp_malformed`), a spoofed
inner source (`inner_spoofed`); PPP control still punted.
From the inside: each packet leaves in MPPE (header and RC4 of the inner
protocol and packet) inside PPP/L2TP/UDP/ESP, compared byte for byte with
what scapy and mppe_ref make of it, then decrypted by scapy and the
mppe_ref receiver, which checks the coherency counts 0, 1, 2... and the
A bit on every stateless frame and on stateful flag frames only."""

from scapy.layers.inet import ICMP, IP, UDP
from scapy.packet import Raw

import l2tp_ppp as lp
import mppe_ref
from esp import SaSpec, decrypt, derive, expected_decap, parse_esp_frame, protect
from gwrun import INSIDE_HOST_MAC, INSIDE_MAC, OUTSIDE_MAC, find_session
from l2tp_ppp import MppeSpec, SessionSpec
from segment import Segment
from traffic import ip_packet, mac_bytes, to_inside, to_outside

INSIDE_HOST = "10.0.0.2"
PPP_MPPE = 0x00FD

STATEFUL_RUN = 300  # frames in each stateful stream from a client: across count 255
LOST = (10, 11, 12)  # frames of the 128-bit stateful stream that never arrive
TO_CLIENT_STATEFUL = 260  # packets to each stateful client: across count 255


def inner_packet(src, dst, ip_id, size, ttl=64, kind="udp"):
    payload = bytes((ip_id * 3 + i) & 0xFF for i in range(size))
    l4 = UDP(sport=40000 + ip_id % 1000, dport=53) if kind == "udp" else ICMP(type=8, id=ip_id, seq=1)
    return bytes(IP(src=src, dst=dst, ttl=ttl, id=ip_id) / l4 / Raw(payload))


class Client:
    """A client of one session: its MPPE sender and receiver, keyed like
    the other end of an MS-CHAPv2 exchange whose master key is made up."""

    def __init__(self, session, mac, master):
        self.s = session
        self.mac = mac
        m = session.mppe
        # RFC 3079 §3.4: the client sends with Magic2 and receives with
        # Magic3, the reverse of the server.
        self.tx = mppe_ref.Sender(mppe_ref.start_key(master, True, False), m.bits, m.stateless)
        self.rx = mppe_ref.Receiver(mppe_ref.start_key(master, False, False), m.bits, m.stateless)
        # What the gateway must send: its own sender with its send key.
        self.gw_tx = mppe_ref.Sender(m.send_key, m.bits, m.stateless)

    @property
    def name(self):
        m = self.s.mppe
        return f"{self.s.tunnel_id}/{self.s.session_id} mppe{m.bits}-{'stateless' if m.stateless else 'stateful'}"


def make_session(gw, n, cipher, auth, bits, stateless, encap="none", **kw):
    peer = f"198.51.100.{40 + n}"
    mac = f"02:00:00:00:00:{40 + n:02x}"
    sa_in = gw.add_sa(SaSpec("in", 0x3000 + n, peer, cipher, auth, encap=encap))
    sa_out = gw.add_sa(SaSpec("out", 0x4000 + n, peer, cipher, auth, encap=encap, peer_mac=mac))
    master = derive(f"mppe-master/{n}", 16)
    mppe = MppeSpec(bits, stateless, send_key=mppe_ref.start_key(master, True, True),
                    recv_key=mppe_ref.start_key(master, False, True))
    s = gw.add_session(SessionSpec(10 + n, n, 100 + n, 200 + n, sa_in, sa_out, f"10.2.0.{n}", mppe=mppe, **kw))
    return Client(s, mac, master)


class Plan:
    def __init__(self):
        self.outside = []
        self.inside = []
        self.exp_inside = []
        self.exp_punts = []
        self.drops = {}  # reason -> [labels]
        self.esp_seq = {}
        self.sa_in = {}  # inbound SPI -> [packets, bytes]
        self.sess = {}  # ids -> expected counters
        self.to_clients = {}  # outbound SPI -> [(client, inner as sent)]

    def counters(self, c):
        return self.sess.setdefault(c.s.ids, dict(rx_packets=0, rx_bytes=0, tx_packets=0, tx_bytes=0, punted=0,
                                                  spoofed=0, other_drops=0))

    def _send(self, c, ppp, l2tp_ns=None):
        sa = c.s.sa_in
        self.esp_seq[sa.spi] = self.esp_seq.get(sa.spi, 0) + 1
        kw = {"ns": l2tp_ns, "nr": 0} if l2tp_ns is not None else {}
        csum = f"192.168.7.{c.s.session_id}" if sa.udp else None
        l4 = lp.client_l4(c.s, b"", ppp=ppp, csum_src=csum, **kw)
        ip = ip_packet(sa.peer, lp.OUTSIDE_ADDR, 17, l4, ip_id=len(self.outside) & 0xFFFF, ttl=50)
        wire = protect(sa, ip, self.esp_seq[sa.spi])
        self.outside.append(to_outside(wire, c.mac))
        cnt = self.sa_in.setdefault(sa.spi, [0, 0])
        cnt[0] += 1
        cnt[1] += len(l4)
        return wire, l4

    @staticmethod
    def mppe_ppp(c, mppe_frame, form):
        """The PPP frame around an MPPE frame, in one of the four forms a
        receiver must accept (RFC 1661 §6.5, §6.6): form bit 0 ACFC, bit 1
        PFC."""
        return lp.ppp_header(PPP_MPPE, acfc=bool(form & 1), pfc=bool(form & 2)) + mppe_frame

    def inner_proto(self, c, i):
        """The inner protocol field: RFC 1661 §6.5 lets a client that
        negotiated PFC send it in one byte or in two, and the gateway must
        take both."""
        return b"\x21" if c.s.pfc and i % 2 == 0 else b"\x00\x21"

    def forward(self, c, i, inner, form=0):
        """Frame i of the client's MPPE stream, carrying inner: it must come
        out of the inside port."""
        f = c.tx.frame(self.inner_proto(c, i) + inner)
        self._send(c, self.mppe_ppp(c, f, form), l2tp_ns=i if c.s.sequencing else None)
        self.exp_inside.append(mac_bytes(INSIDE_HOST_MAC) + mac_bytes(INSIDE_MAC) + b"\x08\x00"
                               + lp.forwarded(inner))
        cnt = self.counters(c)
        cnt["rx_packets"] += 1
        cnt["rx_bytes"] += len(inner)
        return f

    def drop(self, reason, label, c, ppp, counter="other_drops"):
        self._send(c, ppp)
        self.drops.setdefault(reason, []).append(f"{c.s.tunnel_id}/{c.s.session_id}: {label}")
        self.counters(c)[counter] += 1

    def lose(self, c, inner):
        """A frame the client sends that never reaches the gateway."""
        c.tx.frame(self.inner_proto(c, 1) + inner)

    def punt(self, c, proto, body):
        wire, l4 = self._send(c, lp.ppp_header(proto) + body)
        self.exp_punts.append(expected_decap(wire, l4, 17, c.s.sa_in.udp))
        self.counters(c)["punted"] += 1

    def to_client(self, c, inner):
        self.inside.append(to_inside(inner))
        self.to_clients.setdefault(c.s.sa_out.spi, []).append((c, inner))
        cnt = self.counters(c)
        cnt["tx_packets"] += 1
        cnt["tx_bytes"] += len(inner)


def crafted(c, bits, body=None):
    """An MPPE frame with header byte `bits` and the sender's next count,
    made without the sender: its state does not move."""
    ccount = c.tx.next_count()
    return bytes([bits | ccount >> 8, ccount & 0xFF]) + (body if body is not None else bytes(range(30)))


def plan_traffic(plan, s128, f128, s40, f56):
    pkt = lambda c, i, size=40: inner_packet(c.s.address, INSIDE_HOST, 0x100 * c.s.session_id + i % 256,  # noqa: E731
                                             size + i % 7, ttl=2 + i % 60)
    # --- 128-bit stateless: good frames in every PPP form, then each defect,
    # none of which may move the coherency count. ---
    c = s128
    for i in range(5):
        plan.forward(c, i, pkt(c, i), form=i % 4)
    plan.drop("ppp_unencrypted", "IPv4 without MPPE", c, lp.ppp_header(lp.PPP_IPV4) + pkt(c, 90))
    plan.drop("ppp_unencrypted", "IPv4 without MPPE, 1-byte protocol", c,
              lp.ppp_header(lp.PPP_IPV4, acfc=True, pfc=True) + pkt(c, 91))
    plan.drop("mppe_compressed", "C bit (MPPC)", c, plan.mppe_ppp(c, crafted(c, 0x80 | 0x20 | 0x10), 0))
    plan.drop("mppe_not_encrypted", "D bit clear", c, plan.mppe_ppp(c, crafted(c, 0x80), 0))
    plan.drop("mppe_too_short", "header alone", c, plan.mppe_ppp(c, crafted(c, 0x90, b""), 0))
    plan.forward(c, 5, pkt(c, 5))  # count 5: nothing above moved the state
    f = c.tx.frame(b"\x00\x21" + pkt(c, 6))
    plan.drop("mppe_not_flushed", "stateless frame 6 without A", c, plan.mppe_ppp(c, bytes([f[0] & 0x7F]) + f[1:], 0))
    f7 = plan.forward(c, 7, pkt(c, 7))  # count 7: stateless keys follow the count over the gap
    plan.drop("mppe_stale_count", "frame 7 again", c, plan.mppe_ppp(c, f7, 0))
    for i in (8, 9):
        plan.forward(c, i, pkt(c, i, 200), form=3)
    # Well-formed MPPE around what the session does not carry: IPv6, and a
    # protocol field with no datagram.
    plan.drop("ppp_protocol", "IPv6 inside MPPE", c, plan.mppe_ppp(c, c.tx.frame(b"\x00\x57" + bytes(40)), 0))
    plan.drop("ppp_malformed", "MPPE around a bare protocol field", c, plan.mppe_ppp(c, c.tx.frame(b"\x00\x21"), 0))
    plan.forward(c, 12, pkt(c, 12))
    # PPP control still reaches the control plane on an MPPE session: a CCP
    # Reset-Request (RFC 1962 §5.1, code 14) and an LCP Echo-Request.
    plan.punt(c, lp.PPP_CCP, bytes.fromhex("0e010004"))
    plan.punt(c, lp.PPP_LCP, bytes.fromhex("0902000812345678"))

    # --- 40-bit stateless in UDP: frame 3 lost, 4 decrypts all the same. ---
    c = s40
    for i in range(7):
        if i == 3:
            plan.lose(c, pkt(c, i))
        else:
            plan.forward(c, i, pkt(c, i, 100), form=(i + 1) % 4)
    # The inner source is checked after decryption as without MPPE.
    spoofed = inner_packet("10.9.9.9", INSIDE_HOST, 0x377, 30)
    plan.drop("inner_spoofed", "from 10.9.9.9", c, plan.mppe_ppp(c, c.tx.frame(b"\x00\x21" + spoofed), 0),
              counter="spoofed")
    plan.forward(c, 8, pkt(c, 8))

    # --- 56-bit stateful with L2TP sequencing: 300 frames, across the key
    # change of flag frame 255; then C and no-D frames at the next count,
    # and the next real frame still decrypts. ---
    c = f56
    for i in range(STATEFUL_RUN):
        plan.forward(c, i, pkt(c, i, 20 + i % 50), form=i % 4)
    plan.drop("mppe_compressed", "C bit", c, plan.mppe_ppp(c, crafted(c, 0x30), 0))
    plan.drop("mppe_not_encrypted", "D bit clear", c, plan.mppe_ppp(c, crafted(c, 0x00), 0))
    plan.forward(c, STATEFUL_RUN, pkt(c, STATEFUL_RUN))

    # --- 128-bit stateful with ACFC and PFC: frames 10..12 lost. Frame 13
    # reveals the gap (RFC 3078 §8.2): dropped, and one Reset-Request asked
    # of the control plane; 14..254 are discarded; the flag frame 255
    # carries the A bit and a new key and resynchronises. ---
    c = f128
    for i in range(STATEFUL_RUN):
        inner = pkt(c, i, 10 + i % 30)
        if i in LOST:
            plan.lose(c, inner)
        elif LOST[-1] < i < 255:
            f = c.tx.frame(plan.inner_proto(c, i) + inner)
            reason = "mppe_coherency_gap" if i == LOST[-1] + 1 else "mppe_awaiting_flush"
            plan.drop(reason, f"frame {i} after the loss", c, plan.mppe_ppp(c, f, i % 4))
        else:
            plan.forward(c, i, inner, form=i % 4)
    plan.drop("ppp_unencrypted", "IPv4 without MPPE", c, lp.ppp_header(lp.PPP_IPV4, acfc=True, pfc=True)
              + pkt(c, 500))

    # --- Inside to the clients: a few to each stateless client, enough to
    # each stateful one to cross count 255, interleaved. ---
    host = lambda c, i, size: inner_packet(INSIDE_HOST, c.s.address, 0x4000 + 0x100 * c.s.session_id + i % 256,  # noqa: E731
                                           size, ttl=64 - i % 3, kind="icmp" if i % 5 == 0 else "udp")
    for i in range(TO_CLIENT_STATEFUL):
        for c in (f128, f56):
            plan.to_client(c, host(c, i, 10 + i % 40))
        if i < 6:
            for c in (s128, s40):
                plan.to_client(c, host(c, i, 1 + 250 * i))  # up to 1279 bytes: within the tunnel MTU


def check_to_clients(t, plan, res):
    by_spi = {}
    for f in res.outside_out:
        udp = len(f) > 23 and f[23] == 17
        by_spi.setdefault(parse_esp_frame(f, udp)[0], []).append(f)
    t.eq("outside: ESP frames", len(res.outside_out), sum(len(v) for v in plan.to_clients.values()))
    st = res.stats
    for spi, items in sorted(plan.to_clients.items()):
        c = items[0][0]
        s, sa = c.s, c.s.sa_out
        name = f"to {c.name}"
        got = by_spi.get(spi, [])
        if not t.eq(f"{name}: frames", len(got), len(items)):
            continue
        seqs, mismatch, plain_bad, mppe_bad, counts, a_bits = [], [], [], [], [], []
        sa_bytes = 0
        ppp_len = (0 if s.acfc else 2) + (1 if s.pfc else 2)
        l2tp_len = 10 if s.sequencing else 6
        for n, ((_, inner), f) in enumerate(zip(items, got)):
            _, seq, iv_off = parse_esp_frame(f, sa.udp)
            seqs.append(seq)
            fwd = lp.forwarded(inner)
            mframe = c.gw_tx.frame((b"\x21" if s.pfc else b"\x00\x21") + fwd)
            plain = lp.encap_frame(s, lp.ppp_header(PPP_MPPE, s.acfc, s.pfc) + mframe, ns=n)
            sa_bytes += len(plain) - 20
            exp = mac_bytes(sa.peer_mac) + mac_bytes(OUTSIDE_MAC) + b"\x08\x00" + protect(
                sa, IP(plain), seq, iv=f[iv_off:iv_off + sa.iv_len])
            if f != exp and not mismatch:
                mismatch = [f, exp]
            try:
                dec = decrypt(sa, f[14:])
            except Exception as e:  # scapy raises on a bad ICV
                dec = repr(e).encode()
            if dec != plain and not plain_bad:
                plain_bad = [dec, plain]
            # The client's own view: headers by offset, then its receiver.
            hdr_len = 20 + 8 + l2tp_len
            ppp = dec[hdr_len:hdr_len + ppp_len]
            mf = dec[hdr_len + ppp_len:]
            try:
                if ppp != lp.ppp_header(PPP_MPPE, s.acfc, s.pfc):
                    raise mppe_ref.MppeRefError(f"PPP header {ppp.hex()}")
                a, _, _, _, ccount = mppe_ref.header(mf)
                counts.append(ccount)
                a_bits.append(a)
                clear = c.rx.frame(mf)
                want = (b"\x21" if s.pfc else b"\x00\x21") + fwd
                if clear != want:
                    raise mppe_ref.MppeRefError(f"inner {clear.hex()}, expected {want.hex()}")
            except (mppe_ref.MppeRefError, IndexError) as e:
                if not mppe_bad:
                    mppe_bad = [f"packet {n}: {e}"]
        t.eq(f"{name}: ESP sequence numbers 1..n", seqs, list(range(1, len(items) + 1)))
        t.bytes_eq(f"{name}: frames equal scapy's ESP of mppe_ref's MPPE of the packet",
                   *(mismatch or [b"", b""]))
        t.bytes_eq(f"{name}: scapy decrypts to the expected packet", *(plain_bad or [b"", b""]))
        t.check(f"{name}: the client's MPPE receiver decrypts every inner packet byte for byte", not mppe_bad,
                "; ".join(mppe_bad))
        t.eq(f"{name}: coherency counts 0, 1, 2...", counts, list(range(len(items))))
        want_a = [s.mppe.stateless or (k & 0xFF) == 0xFF for k in range(len(items))]
        t.eq(f"{name}: A bit on {'every frame' if s.mppe.stateless else 'flag frames only'}", a_bits, want_a)
        t.eq(f"{name}: SA packets and bytes (the ESP payload: UDP onwards)",
             (st.sa_counter("out", spi, "packets"), st.sa_counter("out", spi, "bytes")), (len(items), sa_bytes))


def check_sessions(t, plan, clients, views):
    seg_dir = views.get("segment", [])
    doc = views.get("ctl")
    for c in clients:
        s = c.s
        name = f"session {c.name}"
        e = next((d for d in seg_dir if (d["tunnel_id"], d["session_id"]) == s.ids), None)
        if t.check(f"{name}: in the segment's directory", e is not None, f"{seg_dir}"):
            t.eq(f"{name}: directory MPPE bits and mode", (e["mppe_bits"], e["mppe_stateless"]),
                 (s.mppe.bits, s.mppe.stateless))
        entry = find_session(doc, *s.ids) if doc is not None else None
        if not t.check(f"{name}: listed by l2tpgwctl sessions --json", entry is not None,
                       f"{views.get('ctl_err')} {str(doc)[:300]}"):
            continue
        exp = plan.counters(c)
        cnt = entry.get("counters", {})
        t.eq(f"{name}: counters", {k: cnt.get(k) for k in exp}, exp)
        mode = f"mppe{s.mppe.bits}-{'stateless' if s.mppe.stateless else 'stateful'}"
        t.eq(f"{name}: MPPE mode and resets in l2tpgwctl",
             (entry.get("mppe"), entry.get("mppe_bits"), entry.get("mppe_stateless"), entry.get("mppe_resets")),
             (mode, s.mppe.bits, s.mppe.stateless, 1 if s.ids == clients[1].s.ids else 0))
        t.check(f"{name}: no key in l2tpgwctl's JSON",
                s.mppe.send_key.hex() not in str(entry) and s.mppe.recv_key.hex() not in str(entry)
                and not any("key" in k for k in entry))
    text = views.get("ctl_text", "")
    row = next((ln for ln in text.splitlines() if ln.startswith(f"{clients[1].s.tunnel_id}/")), "")
    t.check("l2tpgwctl sessions: the stateful 128-bit row shows its mode and one reset",
            " mppe128-stateful " in row and row.split()[-1] == "1", text)


def run(ctx, t):
    mppe_ref.selfcheck(t.check)

    gw = ctx.gateway("mppe")
    gw.inside_neighbors[INSIDE_HOST] = INSIDE_HOST_MAC
    s128 = make_session(gw, 1, "aes-gcm-128", "none", 128, True)
    f128 = make_session(gw, 2, "aes-cbc-128", "hmac-sha1-96", 128, False, acfc=True, pfc=True)
    s40 = make_session(gw, 3, "aes-gcm-256", "none", 40, True, encap="udp")
    f56 = make_session(gw, 4, "aes-cbc-256", "hmac-sha256-128", 56, False, sequencing=True)
    clients = [s128, f128, s40, f56]
    t.check("client and gateway keys pair up (RFC 3079 §3.4 Magic2/Magic3)",
            all(c.tx.start == c.s.mppe.recv_key[:len(c.tx.start)] for c in clients))
    plan = Plan()
    plan_traffic(plan, s128, f128, s40, f56)

    views = {}

    def during(g):
        seg = Segment.attach(g.channel)
        try:
            views["segment"] = seg.sessions()
        finally:
            seg.close()
        views["ctl"], views["ctl_err"] = g.ctl_json("sessions")
        views["ctl_text"] = g.ctl("sessions").stdout

    res = gw.run(outside_in=plan.outside, inside_in=plan.inside, during=during)
    st = res.stats

    t.frames_eq("inside: decrypted inner packets (TTL - 1)", res.inside_out, plan.exp_inside)
    t.frames_eq("punt pcap: PPP control of an MPPE session", res.punts, plan.exp_punts)
    check_to_clients(t, plan, res)

    want = {r: len(v) for r, v in plan.drops.items()}
    t.drops("mppe", st, want)
    got = st.nonzero_drops()
    for reason, labels in sorted(plan.drops.items()):
        shown = labels if len(labels) <= 3 else labels[:2] + [f"... {len(labels)} in all"]
        t.eq(f"{reason} ({'; '.join(shown)})", got.get(reason, 0), len(labels))
    outs = sum(len(v) for v in plan.to_clients.values())
    t.eq("rx_packets", st.total("rx_packets"), len(plan.outside) + len(plan.inside))
    t.eq("esp_decapped", st.total("esp_decapped"), len(plan.outside))
    t.eq("esp_encapped", st.total("esp_encapped"), outs)
    t.eq("tx_packets", st.total("tx_packets"), len(plan.exp_inside) + outs)
    t.eq("punted", st.total("punted"), len(plan.exp_punts))
    for spi, (n, nbytes) in sorted(plan.sa_in.items()):
        t.eq(f"inbound SA {spi:#x} packets and bytes",
             (st.sa_counter("in", spi, "packets"), st.sa_counter("in", spi, "bytes")), (n, nbytes))

    # RFC 3078 §8.2: exactly one Reset-Request asked, for the gap at 13.
    c = f128
    lost = [ln for ln in res.cp_log.splitlines() if "MPPE packets lost" in ln]
    want_line = (f"session: tunnel {c.s.tunnel_id} session {c.s.session_id}: MPPE packets lost "
                 f"(coherency count {LOST[-1] + 1}): CCP Reset-Request needed")
    t.check("control plane: one CCP Reset-Request warning, for the stateful 128-bit session at count 13",
            len(lost) == 1 and lost[0].endswith(want_line) and " warn " in lost[0], f"{lost}")
    t.check("control plane: no key in its log",
            not any(k.hex() in res.cp_log for x in clients for k in (x.s.mppe.send_key, x.s.mppe.recv_key)))
    check_sessions(t, plan, clients, views)
