"""SAs replaced and deleted under traffic, and the control plane killed and
restarted under traffic. The data plane runs on looping sources (net_pcap
infinite_rx) and its counters are read straight from the shared segment
(segment.py), so they can be watched while no control plane runs.

Outbound (inside: plain packets from our address to the peer, looping;
outside: net_null): traffic is encapsulated; `sa-del` stops it
(no_outbound_sa); ten control planes, each killed with SIGKILL, re-install
the SA with the other cipher (aes-cbc-128 <-> aes-gcm-128): the first
re-installs it, the others replace it without a single no_outbound_sa; while
no control plane runs the data plane keeps encapsulating. A restart with an
unchanged configuration leaves the SA alone ("already present"): same slot,
same installation time, counters not reset.

Inbound (outside: ESP looping, half made with the aes-cbc-128 keys and half
with the aes-gcm-128 keys of one SPI, replay_window = 0 since the capture
replays its sequence numbers): each restart replaces the SA with the other
cipher; the half that does not match the installed keys fails only its ICV
(esp_auth), the other half is decapsulated.

Every step waits for counters to move rather than for a time; the only time
limits are timeouts. Both data planes exit 0 on SIGTERM, and then every
received packet is accounted for exactly."""

import os
import signal
import time

from esp import SaSpec, protect
from gwrun import OUTSIDE_ADDR, GatewayError
from pcapfile import write_pcap
from segment import Segment
from traffic import ip_packet, peer_addr, peer_mac, to_inside, to_outside, udp_bytes

CBC = ("aes-cbc-128", "hmac-sha1-96")
GCM = ("aes-gcm-128", "none")
RESTARTS = 10
TIMEOUT = 10.0


def wait_until(pred, timeout=TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.01)
    return pred()


def rises(seg, key, timeout=TIMEOUT):
    """Whether the summed worker counter `key` moves within the timeout."""
    base = seg.totals()[key]
    return wait_until(lambda: seg.totals()[key] > base, timeout)


class Churn:
    """One data plane and the control planes started against it, one
    configuration file each."""

    def __init__(self, ctx, tag):
        self.gw = ctx.gateway(tag)
        self.cp = None
        self.n_cp = 0
        self.dp = None
        self.seg = None

    def config(self, name, sas):
        self.gw.sas = list(sas)
        path = self.gw.path(name)
        with open(path, "w") as f:
            f.write(self.gw.config_text())
        return path

    def start(self, cfg):
        self.gw.cfg = cfg
        self.dp = self.gw.start_dataplane()
        self.seg = Segment.attach(self.gw.channel)
        self.start_cp(cfg)

    def start_cp(self, cfg):
        """Starts a control plane and waits for its sync summary; returns
        its log."""
        self.n_cp += 1
        log_name = f"controlplane{self.n_cp}.log"
        self.cp = self.gw.start_controlplane(cfg=cfg, log_name=log_name)
        ok = wait_until(lambda: "static SAs:" in self.gw._log(log_name, tail=None) or self.cp.poll() is not None)
        log = self.gw._log(log_name, tail=None)
        if not ok or self.cp.poll() is not None:
            raise GatewayError(f"control plane {self.n_cp} did not sync:\n{log}")
        return log

    def kill_cp(self):
        self.cp.send_signal(signal.SIGKILL)
        self.cp.wait()
        self.cp = None

    def stop(self, t):
        if self.cp is not None:
            self.cp.send_signal(signal.SIGTERM)
            t.eq(f"{self.gw.tag}: control plane exit code on SIGTERM", self.cp.wait(timeout=10), 0)
            self.cp = None
        self.dp.send_signal(signal.SIGTERM)
        try:
            rc = self.dp.wait(timeout=10)
        except Exception:
            self.dp.kill()
            rc = self.dp.wait()
        self.dp = None
        t.eq("data plane exit code on SIGTERM", rc, 0)
        if rc != 0:
            t.check("data plane log", False, self.gw._log("dataplane.log"))

    def close(self, ok):
        for p in (self.cp, self.dp):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()
        if self.seg is not None:
            self.seg.close()
        self.gw.cleanup(remove_dir=ok and not self.gw.keep)


def sa_line(log, verb, sa):
    name = f"{sa.direction} spi {sa.spi:#010x} peer {sa.peer} {sa.cipher}/{sa.auth}"
    return f"sa: {verb} {name}" in log


def outbound(ctx, t):
    c = Churn(ctx, "churnout")
    ok = False
    try:
        peer = peer_addr(71)
        sas = {cipher: SaSpec("out", 0x7001, peer, cipher, auth, peer_mac=peer_mac(71)) for cipher, auth in (CBC, GCM)}
        c.gw.neighbors[peer] = peer_mac(71)
        src = c.gw.path("plain.pcap")
        write_pcap(src, [to_inside(bytes(ip_packet(OUTSIDE_ADDR, peer, 17, udp_bytes(OUTSIDE_ADDR, peer, 60 + k, f"c{k}"),
                                                   ip_id=k))) for k in range(16)])
        c.gw.inside_vdev = f"net_pcap1,rx_pcap={src},infinite_rx=1"
        c.gw.outside_vdev = "net_null0,no-rx=1"
        cfg = {k: c.config(f"{k}.conf", [sa]) for k, sa in sas.items()}
        c.start(cfg["aes-cbc-128"])
        seg = c.seg
        t.check("traffic is encapsulated", rises(seg, "esp_encapped"))

        p = c.gw.ctl("sa-del", "out", "0x7001", peer)
        t.eq("sa-del under traffic", (p.returncode, p.stdout), (0, f"deleted out spi 0x00007001 peer {peer}\n"))
        t.check("after sa-del: no_outbound_sa rises", rises(seg, "drop_no_outbound_sa"))
        # Each burst after the delete drops; once two more have, nothing
        # can still be encapsulating.
        t.check("a second burst dropped", rises(seg, "drop_no_outbound_sa"))
        e1 = seg.totals()["esp_encapped"]
        t.check("a third burst dropped", rises(seg, "drop_no_outbound_sa"))
        t.eq("after sa-del: esp_encapped stopped", seg.totals()["esp_encapped"], e1)
        t.eq("after sa-del: the SA left the directory", seg.find_sa("out", 0x7001, peer), None)

        no_sa = None
        for i in range(RESTARTS):
            c.kill_cp()
            if i == 0:
                t.check("no control plane, SA deleted: still no_outbound_sa", rises(seg, "drop_no_outbound_sa"))
            else:
                t.check(f"restart {i}: no control plane, esp_encapped still rises", rises(seg, "esp_encapped"))
            cipher = GCM[0] if i % 2 == 0 else CBC[0]
            log = c.start_cp(cfg[cipher])
            verb = "installed" if i == 0 else "replaced"
            t.check(f"restart {i}: control plane {verb} the SA as {cipher}", sa_line(log, verb, sas[cipher]),
                    log[-1500:])
            e = seg.find_sa("out", 0x7001, peer)
            t.eq(f"restart {i}: directory shows {cipher}", e and e["cipher"], cipher)
            t.check(f"restart {i}: esp_encapped rises", rises(seg, "esp_encapped"))
            t.check(f"restart {i}: the new SA counts packets",
                    e is not None and wait_until(lambda: seg.sa_counters(e["slot"])["packets"] > 0))
            if i == 0:
                no_sa = seg.totals()["drop_no_outbound_sa"]
        t.eq("no no_outbound_sa while the SA was replaced 9 times", seg.totals()["drop_no_outbound_sa"], no_sa)

        # Same configuration again: nothing is pushed, nothing is reset.
        last = GCM[0] if (RESTARTS - 1) % 2 == 0 else CBC[0]
        c.kill_cp()
        before = seg.find_sa("out", 0x7001, peer)
        before_ctr = seg.sa_counters(before["slot"]) if before else None
        log = c.start_cp(cfg[last])
        t.check("unchanged configuration: 'already present'",
                "sa: already present out spi 0x00007001" in log and "1 already present" in log, log[-1500:])
        after = seg.find_sa("out", 0x7001, peer)
        t.eq("unchanged configuration: same slot and installation time",
             after and (after["slot"], after["installed_unix_ns"]),
             before and (before["slot"], before["installed_unix_ns"]))
        if before and after:
            after_ctr = seg.sa_counters(after["slot"])
            t.check("unchanged configuration: SA counters not reset",
                    after_ctr["packets"] >= before_ctr["packets"] > 0 and after_ctr["bytes"] >= before_ctr["bytes"],
                    f"before {before_ctr}, after {after_ctr}")
        t.check("unchanged configuration: traffic still encapsulated", rises(seg, "esp_encapped"))

        c.stop(t)
        tot = seg.totals()
        drops = {k[5:]: v for k, v in tot.items() if k.startswith("drop_") and v}
        t.eq("outbound: the only drops are no_outbound_sa", sorted(drops), ["no_outbound_sa"])
        t.eq("outbound: rx = encapsulated + no_outbound_sa", tot["rx_packets"],
             tot["esp_encapped"] + tot["drop_no_outbound_sa"])
        t.eq("outbound: tx = encapsulated", tot["tx_packets"], tot["esp_encapped"])
        ok = True
    finally:
        c.close(ok)


def inbound(ctx, t):
    c = Churn(ctx, "churnin")
    ok = False
    try:
        peer = peer_addr(72)
        sas = {cipher: SaSpec("in", 0x7101, peer, cipher, auth, replay_window=0) for cipher, auth in (CBC, GCM)}
        # 50 bytes of inner UDP: the aes-gcm-128 packets (52 bytes of
        # ciphertext) also have the length the aes-cbc-128 SA accepts, and
        # the reverse, so a packet under the other SA's keys fails its ICV
        # and nothing else.
        frames = []
        for k in range(16):
            sa = sas[CBC[0] if k % 2 == 0 else GCM[0]]
            l4 = udp_bytes(peer, OUTSIDE_ADDR, 50, f"in{k}", dport=53)
            frames.append(to_outside(protect(sa, ip_packet(peer, OUTSIDE_ADDR, 17, l4, ip_id=k), k + 1), peer_mac(72)))
        src = c.gw.path("esp.pcap")
        write_pcap(src, frames)
        c.gw.outside_vdev = f"net_pcap0,rx_pcap={src},infinite_rx=1"
        c.gw.inside_vdev = "net_null1,no-rx=1"
        cfg = {k: c.config(f"{k}.conf", [sa]) for k, sa in sas.items()}
        c.start(cfg[CBC[0]])
        seg = c.seg
        t.check("inbound: packets decapsulated", rises(seg, "esp_decapped"))
        t.check("inbound: the other half fails its ICV", rises(seg, "drop_esp_auth"))
        for i in range(RESTARTS):
            c.kill_cp()
            t.check(f"inbound restart {i}: no control plane, esp_decapped still rises", rises(seg, "esp_decapped"))
            cipher = GCM[0] if i % 2 == 0 else CBC[0]
            log = c.start_cp(cfg[cipher])
            t.check(f"inbound restart {i}: SA replaced as {cipher}", sa_line(log, "replaced", sas[cipher]), log[-1500:])
            e = seg.find_sa("in", 0x7101, peer)
            t.eq(f"inbound restart {i}: directory shows {cipher}, window off",
                 e and (e["cipher"], e["replay_window"]), (cipher, 0))
            t.check(f"inbound restart {i}: esp_decapped rises", rises(seg, "esp_decapped"))
            t.check(f"inbound restart {i}: the new SA decapsulates and fails the other half",
                    e is not None and wait_until(lambda: seg.sa_counters(e["slot"])["packets"] > 0
                                                 and seg.sa_counters(e["slot"])["auth_failures"] > 0))
        c.stop(t)
        tot = seg.totals()
        drops = {k[5:]: v for k, v in tot.items() if k.startswith("drop_") and v}
        t.eq("inbound: the only drops are esp_auth and the inner port", sorted(drops),
             ["esp_auth", "esp_inner_unhandled"])
        t.eq("inbound: every decapsulated packet is the inner-port drop", tot["esp_decapped"],
             tot["drop_esp_inner_unhandled"])
        t.eq("inbound: rx = esp_auth + decapsulated", tot["rx_packets"], tot["drop_esp_auth"] + tot["esp_decapped"])
        ok = True
    finally:
        c.close(ok)


def run(ctx, t):
    outbound(ctx, t)
    inbound(ctx, t)
