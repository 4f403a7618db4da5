#!/usr/bin/python3
"""The whole system when things go wrong, and the MPPE modes: the real data
plane on af_packet ports in network namespaces, the real control plane, and
our independent client (perf/l2tp_client.py) through IKEv1, ESP, L2TP and
PPP, as tests/system/e2e.py runs them. What e2e.py does not cover:

  - MPPE none, 40-bit and 128-bit, stateless and stateful: each connects,
    pings both ways, and the client, `l2tpgwctl users` and `sessions`
    agree on the mode;
  - a client that vanishes (no hang-up, nothing answered), once per
    detector with the other two off or slow: IKE dead peer detection,
    PPP LCP echo, L2TP HELLO. Each must name the cause in the log and
    leave nothing on either plane: no IKE or IPsec SA, no session, no
    tunnel, no user, the pool's one address free for the next client;
  - induced failures: ESP dropped by the client's own firewall after Quick
    Mode, ESP with a damaged ICV (the SA's auth_failures and the esp_auth
    drop reason grow by exactly that many), encryption required but not
    offered, the address pool exhausted (the first client unaffected);
  - a second Quick Mode on the same ISAKMP SA under continuous pings, and
    a new Main Mode with its Quick Mode: the client moves to the new pair
    and deletes the old one (and the old ISAKMP SA); no echo lost, the
    data plane's session on the new pair.

The gateway runs three times with short timers, one detector each, and an
address pool of one so that a freed address is the only way the next
client gets in. Exit 0 when every check passed. Usage: e2e_faults.py BUILD_DIR
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

from sysnet import (Checks, Gateway, checksums_in_software, netns_create, netns_teardown, pings_answered, sh,
                    wait_for)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PY = "/usr/bin/python3"
NS_GW, NS_CL, NS_IN = "e2f-gw", "e2f-cl", "e2f-in"
NAMESPACES = (NS_GW, NS_CL, NS_IN)
GW_OUT, GW_IN = "203.0.113.1", "10.9.0.1"
CLIENT, CLIENT2, INSIDE_HOST = "203.0.113.7", "203.0.113.8", "10.9.0.2"
INSIDE_MAC = "02:00:00:00:09:02"
POOL_ADDR = "100.64.0.10"
PSK = "e2f test key 9876543210"
PASSWORDS = {"alice": "correct horse", "bob": "battery staple", "carol": "static one"}
USERS = "users = (\n" + ",\n".join(f'  {{ name = "{u}"; password = "{p}"; }}' for u, p in PASSWORDS.items()) + "\n);\n"

check = Checks()
VERBOSE = os.environ.get("L2TPGW_VERBOSE") == "1"

# One detector per gateway run; the others off (dpd_interval = 0,
# echo_interval = 0) or an hour away (hello_interval).
DPD_ONLY = {"dpd_interval": 2, "dpd_failures": 2, "echo_interval": 0, "hello_interval": 3600, "mppe": "allow",
            "stateless": "true"}
ECHO_ONLY = {"dpd_interval": 0, "dpd_failures": 1, "echo_interval": 1, "hello_interval": 3600, "mppe": "allow",
             "stateless": "false"}
HELLO_ONLY = {"dpd_interval": 0, "dpd_failures": 1, "echo_interval": 0, "hello_interval": 2, "mppe": "require",
              "stateless": "true"}
L2TP_RETRANSMITS = 2
ECHO_FAILURES = 2


def netns_setup():
    netns_create(*NAMESPACES)
    sh("ip", "link", "add", "e2f-out", "netns", NS_GW, "type", "veth", "peer", "name", "fcl0", "netns", NS_CL)
    sh("ip", "link", "add", "e2f-in", "netns", NS_GW, "type", "veth", "peer", "name", "fih0", "netns", NS_IN)
    sh("ip", "-n", NS_GW, "link", "set", "e2f-out", "up")
    sh("ip", "-n", NS_GW, "link", "set", "e2f-in", "up")
    for a in (CLIENT, CLIENT2):
        sh("ip", "-n", NS_CL, "addr", "add", f"{a}/24", "dev", "fcl0")
    sh("ip", "-n", NS_CL, "link", "set", "fcl0", "up")
    sh("ip", "-n", NS_IN, "link", "set", "fih0", "address", INSIDE_MAC)
    sh("ip", "-n", NS_IN, "addr", "add", f"{INSIDE_HOST}/24", "dev", "fih0")
    sh("ip", "-n", NS_IN, "link", "set", "fih0", "up")
    sh("ip", "-n", NS_IN, "route", "add", "100.64.0.0/10", "via", GW_IN)
    for ns, dev in ((NS_CL, "fcl0"), (NS_IN, "fih0")):
        checksums_in_software(ns, dev)


def config(d, t):
    return f"""
dataplane = {{ workers = [1]; channel = "e2f"; max_sas = 64; punt_rate = 2000; }};
controlplane = {{ socket = "{d}/ctl.sock"; log_level = "info"; }};
ports = (
  {{ name = "outside"; role = "outside"; vdev = "net_af_packet0,iface=e2f-out"; address = "{GW_OUT}/24"; }},
  {{ name = "inside"; role = "inside"; vdev = "net_af_packet1,iface=e2f-in"; address = "{GW_IN}/24";
     neighbors = ( {{ address = "{INSIDE_HOST}"; mac = "{INSIDE_MAC}"; }} ); }}
);
ike = {{ psk = "{PSK}"; retransmit_interval = 1; retransmits = 3;
        dpd_interval = {t["dpd_interval"]}; dpd_failures = {t["dpd_failures"]}; }};
l2tp = {{ host_name = "l2tpgw-e2f"; hello_interval = {t["hello_interval"]}; retransmits = {L2TP_RETRANSMITS}; }};
ppp = {{ auth = [ "mschapv2" ]; local_address = "100.64.0.1";
        pool = "{POOL_ADDR}-{POOL_ADDR}"; dns = [ "10.9.0.53" ]; mppe = "{t["mppe"]}"; mppe_stateless = {t["stateless"]};
        echo_interval = {t["echo_interval"]}; echo_failures = {ECHO_FAILURES}; users = "users.conf"; }};
"""


def client_cmd(user, local=CLIENT, profile="windows", mppe=("--mppe", "128", "--stateless"), extra=()):
    return ["ip", "netns", "exec", NS_CL, PY, os.path.join(ROOT, "perf/l2tp_client.py"),
            "--server", GW_OUT, "--local", local, "--user", user, "--password", PASSWORDS[user],
            "--ike", "psk", "--psk", PSK, "--profile", profile, "--ike-retransmit", "1",
            "--timeout", "20", *mppe, *extra]


def parse(out):
    lines = [l for l in out.splitlines() if l.strip()]
    try:
        return json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        return {}


class Client:
    """A client process held open (--hold-stdin), its output collected as
    it comes so that the test can wait for a step."""

    def __init__(self, cmd):
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        self.lines = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line)

    def out(self):
        return "".join(self.lines)

    def saw(self, text, seconds):
        return wait_for(lambda: text in self.out() or (self.proc.poll() is not None and
                                                         not self.reader.is_alive() and text in self.out()),
                        seconds)

    def finish(self, timeout=60):
        """A line on standard input (hang up, or end a vanished client's
        silence), then the summary."""
        try:
            self.proc.stdin.write("go\n")
            self.proc.stdin.close()
        except (BrokenPipeError, ValueError):
            pass
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.reader.join(5)
        out = self.out()
        if VERBOSE or self.proc.returncode != 0:
            print(out)
        return self.proc.returncode, parse(out)


def run_client(cmd, timeout=90):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if VERBOSE or r.returncode != 0:
        print(r.stdout + r.stderr)
    return r.returncode, parse(r.stdout)


def ping_from_inside(address, count=3):
    return pings_answered(NS_IN, address, count)


def since(gw, before):
    return gw.log()[before:]


def live_tunnels(gw, peer):
    """Tunnel lines naming the peer, but not those held after a StopCCN:
    RFC 2661 §5.7 keeps that state a while to re-acknowledge a lost ZLB;
    such a tunnel carries nothing."""
    return [l for l in gw.ctl("tunnels").splitlines() if peer + ":" in l and "held-after-stop" not in l]


def nothing_left(gw, peer):
    """What must be gone on both planes once a client is: every listing
    that would name it."""
    return {"IKE SA (l2tpgwctl ike)": peer + ":" not in gw.ctl("ike"),
            "IPsec SA (l2tpgwctl sa)": peer not in gw.ctl("sa"),
            "session (l2tpgwctl sessions)": peer + ":" not in gw.ctl("sessions"),
            "tunnel (l2tpgwctl tunnels)": not live_tunnels(gw, peer),
            "user (l2tpgwctl users)": POOL_ADDR not in gw.ctl("users")}


def check_nothing_left(gw, peer, what, seconds=10):
    wait_for(lambda: all(nothing_left(gw, peer).values()), seconds)
    left = [k for k, gone in nothing_left(gw, peer).items() if not gone]
    return check(not left, f"{what}: nothing left" + (f" (still there: {', '.join(left)})" if left else ""))


def start_gateway(build, d, timers, title):
    print(f"== gateway: {title}")
    gw = Gateway(build, d, NS_GW, "e2f")
    with open(gw.conf, "w") as f:
        f.write(config(d, timers))
    with open(os.path.join(d, "controlplane.log"), "a"):
        pass
    if not check(gw.start(), f"data plane and control plane up and synced ({title})"):
        gw.stop()
        return None
    return gw


# ---------------------------------------------------------------- MPPE

def mppe_case(gw, title, mppe_args, want_client, want_bits, want_stateless):
    print(f"== MPPE {title}")
    before = len(gw.log())
    c = Client(client_cmd("alice", mppe=mppe_args, extra=("--ping", INSIDE_HOST, "--count", "3", "--hold-stdin")))
    up = c.saw("holding the connection", 40)
    check(up, f"{title}: connected and pinged, holding")
    if up:
        got = ping_from_inside(POOL_ADDR)
        check(got == 3, f"{title}: the inside host pinged the client ({got}/3)")
        users = gw.ctl("users")
        line = next((l for l in users.splitlines() if "alice" in l), "")
        print(f"  users: {line.strip()}")
        ours = [s for s in gw.ctl_list("sessions") if s.get("peer") == CLIENT]
        sess = ours[0] if len(ours) == 1 else {}
        print(f"  sessions: mppe {sess.get('mppe')} bits {sess.get('mppe_bits')} stateless {sess.get('mppe_stateless')}")
        if want_bits is None:
            check(bool(sess) and not sess.get("mppe_bits") and re.search(r"MS-CHAPv2\s+none\s", line) is not None,
                  f"{title}: sessions shows no MPPE ({sess.get('mppe')}), users shows none")
        else:
            check(sess.get("mppe_bits") == want_bits and sess.get("mppe_stateless") is want_stateless,
                  f"{title}: sessions shows MPPE-{want_bits} {'stateless' if want_stateless else 'stateful'} "
                  f"({sess.get('mppe')})")
            word = "stateless" if want_stateless else "stateful"
            check(re.search(rf"MS-CHAPv2\s+{want_bits} {word}\s", line) is not None, f"{title}: users shows {want_bits} {word}")
        m = re.search(r"user alice connected: .*", since(gw, before))
        print(f"  log: {m.group(0) if m else None}")
    rc, s = c.finish()
    check(rc == 0 and s.get("pings_received") == 3 and s.get("echoes_answered", 0) >= 3,
          f"{title}: 3/3 pings each way, clean hang-up (exit {rc}, failure {s.get('failure')})")
    check(s.get("mppe") == want_client, f"{title}: the client's summary says {s.get('mppe')!r} (want {want_client!r})")
    check_nothing_left(gw, CLIENT, f"{title}: after hang-up")


def mppe_stateless_rows(gw):
    """ppp.mppe_stateless = true: the gateway's preference, so stateful
    needs the other run."""
    for title, args, want_client, bits, stateless in (
            ("none", ("--mppe", "none"), None, None, None),
            ("40-bit stateless", ("--mppe", "40", "--stateless"), "MPPE-40 stateless", 40, True),
            ("128-bit stateless", ("--mppe", "128", "--stateless"), "MPPE-128 stateless", 128, True)):
        mppe_case(gw, title, args, want_client, bits, stateless)


def mppe_stateful_rows(gw):
    """ppp.mppe_stateless = false."""
    for title, args, want_client, bits, stateless in (
            ("40-bit stateful", ("--mppe", "40"), "MPPE-40 stateful", 40, False),
            ("128-bit stateful", ("--mppe", "128"), "MPPE-128 stateful", 128, False)):
        mppe_case(gw, title, args, want_client, bits, stateless)


# ---------------------------------------------------------------- faults

def sa_in_of(gw, peer):
    return [s for s in gw.ctl_list("sa") if s.get("peer") == peer and s.get("direction") == "in"]


def esp_auth_drops(gw):
    return gw.drops().get("esp_auth", 0)


def corrupt_esp(gw, n=3, count=8):
    print(f"== ESP with a damaged ICV in {n} packets")
    drops0 = esp_auth_drops(gw)
    c = Client(client_cmd("alice", extra=("--corrupt-esp", str(n), "--ping", INSIDE_HOST, "--count", str(count),
                                          "--hold-stdin")))
    held = c.saw("holding the connection", 40)
    # The gateway's inbound SA is the one the client sends on: its "out".
    m = re.search(r"Quick Mode 3/3: .* out (0x[0-9a-f]+)", c.out())
    ins = [s for s in sa_in_of(gw, CLIENT) if m and s.get("spi_hex") == m.group(1)]
    fails = ins[0]["counters"]["auth_failures"] if len(ins) == 1 else None
    drops = esp_auth_drops(gw) - drops0
    check(len(ins) == 1 and fails == n, f"the inbound SA {m.group(1) if m else '?'}'s auth_failures is {fails} "
          f"(want exactly {n})")
    check(drops == n, f"the esp_auth drop reason grew by {drops} (want exactly {n})")
    if held:
        got = ping_from_inside(POOL_ADDR)
        check(got == 3, f"the session still carries traffic after the damaged packets ({got}/3)")
    rc, s = c.finish()
    check(s.get("esp_corrupted") == n, f"the client damaged {s.get('esp_corrupted')} packets")
    check(rc == 0 and count - n <= s.get("pings_received", -1) <= count,
          f"pings answered: {s.get('pings_received')}/{count} (at most {n} lost with the damaged packets; "
          f"exit {rc}, failure {s.get('failure')})")
    check_nothing_left(gw, CLIENT, "after hang-up")


def nft_dropped():
    nft = sh("ip", "netns", "exec", NS_CL, "nft", "list table ip e2f", check_rc=False).stdout
    m = re.search(r"counter packets (\d+)", nft)
    return int(m.group(1)) if m else 0


def esp_blocked(gw):
    print("== ESP dropped by the client's firewall after Quick Mode")
    sh("ip", "netns", "exec", NS_CL, "nft", "add table ip e2f; "
       "add chain ip e2f out { type filter hook output priority 0 ; } ; "
       "add rule ip e2f out ip protocol esp counter drop")
    try:
        before = len(gw.log())
        c = Client(client_cmd("alice", extra=("--timeout", "8")))
        est = wait_for(lambda: f"IPsec SA established with {CLIENT}" in since(gw, before), 30)
        check(est, "the gateway established the IPsec SA")
        # While the client still retransmits its SCCRQ (the firewall has
        # dropped two): the SA is there and nothing came in on it.
        wait_for(lambda: nft_dropped() >= 2, 20)
        ins = sa_in_of(gw, CLIENT)
        pkts = ins[0]["counters"]["packets"] if len(ins) == 1 else None
        check(pkts == 0, f"the inbound SA exists and received nothing ({pkts} packets)")
        check(not live_tunnels(gw, CLIENT), "no L2TP tunnel from the client")
        rc, s = c.finish()
        check(rc != 0 and s.get("reached") == "none" and "SCCRP" in (s.get("failure") or ""),
              f"the client got no SCCRP ({s.get('failure')})")
        check(nft_dropped() > 0, f"the firewall dropped the client's ESP ({nft_dropped()} packets)")
        lines = [l for l in since(gw, before).splitlines() if CLIENT in l]
        print("  the gateway's log for this client:")
        for l in lines:
            print(f"    {l}")
        check_nothing_left(gw, CLIENT, "after the client's Deletes")
    finally:
        sh("ip", "netns", "exec", NS_CL, "nft", "delete table ip e2f", check_rc=False)


def encryption_required(gw):
    print("== encryption required (mppe = \"require\"), the client offers none")
    before = len(gw.log())
    rc, s = run_client(client_cmd("alice", mppe=("--mppe", "none")))
    check(rc != 0 and (s.get("ike") or {}).get("spi_in"), f"the client is refused after IKE ({s.get('failure')})")
    check(wait_for(lambda: "session" in since(gw, before) and
                   "encryption required but not offered" in since(gw, before), 10),
          "the log names the cause: encryption required but not offered")
    check_nothing_left(gw, CLIENT, "after the refusal")


def pool_exhausted(gw):
    print("== address pool of one: a second client is refused, the first unaffected")
    first = Client(client_cmd("alice", extra=("--hold-stdin",)))
    up = first.saw("holding the connection", 40)
    check(up, "the first client holds the pool's only address")
    before = len(gw.log())
    rc, s = run_client(client_cmd("bob", local=CLIENT2))
    check(rc != 0 and s.get("address") is None, f"the second client gets no address ({s.get('failure')})")
    check(wait_for(lambda: "address pool exhausted" in since(gw, before), 10),
          "the log names the cause: address pool exhausted")
    got = ping_from_inside(POOL_ADDR)
    check(got == 3, f"the first client still answers the inside's pings ({got}/3)")
    check("alice" in gw.ctl("users") and "bob" not in gw.ctl("users"), "users lists alice only")
    rc, s = first.finish()
    check(rc == 0, f"the first client hung up cleanly (exit {rc}, failure {s.get('failure')})")
    check_nothing_left(gw, CLIENT, "the first client, after its hang-up")
    check(wait_for(lambda: CLIENT2 + ":" not in gw.ctl("ike") and not live_tunnels(gw, CLIENT2), 10),
          "nothing left of the refused client")


def rekey_case(gw, phase, count=20, at=6):
    """phase 2: a second Quick Mode on the same ISAKMP SA; phase 1: a new
    Main Mode (without INITIAL-CONTACT, as a rekeying client sends it) and a
    Quick Mode on it. Either way the client sends on the new pair at once
    and deletes the old pair (and for phase 1 the old ISAKMP SA)."""
    print(f"== phase-{phase} rekey under continuous pings")
    before = len(gw.log())
    drops0 = gw.drops()
    opt = "--rekey-after" if phase == 2 else "--rekey-p1-after"
    c = Client(client_cmd("alice", extra=("--ping", INSIDE_HOST, "--count", str(count), opt, str(at),
                                          "--hold-stdin")))
    # Read while the pings still run on the new pair: the client hangs up
    # at their end if any went unanswered.
    c.saw("Delete sent for the IPsec SA" if phase == 2 else "Delete sent for the ISAKMP SA", 60)
    c.saw("ping ", 1)
    log = since(gw, before)
    spis = re.findall(rf"IPsec SA established with {CLIENT}: .*SPIs in (0x[0-9a-f]+) out (0x[0-9a-f]+)", log)
    check(len(spis) == 2, f"the gateway established two IPsec SAs with the client ({len(spis)})")
    check(re.search(rf"IPsec SA with {CLIENT} .*removed: deleted by the peer", log) is not None,
          "the gateway removed the old pair: deleted by the peer")
    if phase == 1:
        check(len(re.findall(rf"IKE SA established with {CLIENT} ", log)) == 2,
              "the gateway established a second IKE SA with the client")
        check(re.search(rf"IKE SA with {CLIENT} \(ID [^)]*\) deleted by the peer", log) is not None,
              "the gateway ended the old IKE SA: deleted by the peer")
        ike = gw.ctl("ike")
        check(len(re.findall(rf"{CLIENT}:500 .* established ", ike)) == 1,
              "l2tpgwctl ike lists one established IKE SA with the client")
    mine = {s["spi_hex"]: s for s in gw.ctl_list("sa") if s.get("peer") == CLIENT}
    print(f"  sa: {sorted(mine)}")
    sess = [s for s in gw.ctl_list("sessions") if s.get("peer") == CLIENT]
    grew = {k: v - drops0.get(k, 0) for k, v in gw.drops().items() if isinstance(v, int) and v != drops0.get(k, 0)}
    print(f"  drops that grew: {grew}")
    # The inbound SA is in the data plane before HASH(2) leaves, so the
    # client's first packets on the new pair find it.
    check(grew.get("esp_unknown_spi", 0) == 0,
          f"no ESP arrived for an SPI the data plane lacked ({grew.get('esp_unknown_spi', 0)})")
    if len(spis) == 2:
        (old_in, old_out), (new_in, new_out) = spis
        got = (sess[0].get("sa_in_hex"), sess[0].get("sa_out_hex")) if len(sess) == 1 else None
        check(got == (new_in, new_out), f"the data plane's session moved to the new pair {new_in}/{new_out} "
              f"(it uses {got})")
        check(old_in not in mine and old_out not in mine, f"the old SAs {old_in}/{old_out} are gone from sa")
        check(new_in in mine and new_out in mine and mine[new_in]["counters"]["packets"] > 0 and
              mine[new_out]["counters"]["packets"] > 0,
              f"the new SAs {new_in}/{new_out} carry traffic both ways")
    if c.saw("holding the connection", 20):
        got = ping_from_inside(POOL_ADDR)
        check(got == 3, f"the inside host pings the client after the rekey ({got}/3)")
    rc, s = c.finish()
    check(rc == 0 and s.get("pings_received") == count, f"no echo lost across the rekey: "
          f"{s.get('pings_received')}/{count} (exit {rc}, failure {s.get('failure')})")
    check(len(s.get("rekeyed_from") or []) == 1, "the client rekeyed once")
    check_nothing_left(gw, CLIENT, "after hang-up")


# ---------------------------------------------------------------- control-plane restart

def restart_case(gw, sig, count=60):
    """The control plane ends (SIGKILL: a crash, after its last periodic
    save; SIGTERM: a planned restart, saving on exit) while a client pings
    through the tunnel, and a new one starts. The data plane forwards
    throughout; the new control plane restores the IKE SA, the IPsec pair,
    the tunnel and the session from its state file and manages them again:
    DPD, a phase-2 rekey on the restored ISAKMP SA, and the hang-up."""
    name = signal.Signals(sig).name
    print(f"== control plane restarted ({name}) under continuous pings")
    # Echo number 45 (9 s in) comes after the restart: its rekey runs on
    # the ISAKMP SA the new control plane restored.
    # Android announces DPD (Windows does not): the restored SA must run it.
    c = Client(client_cmd("alice", profile="android",
                          extra=("--ping", INSIDE_HOST, "--count", str(count), "--rekey-after", "45", "--hold-stdin")))
    if not check(c.saw("IPCP: address", 30), f"{name}: the client connected"):
        c.finish()
        return
    before_sa = {s["spi_hex"] for s in gw.ctl_list("sa") if s.get("peer") == CLIENT}
    before_sess = [(s.get("sa_in_hex"), s.get("sa_out_hex")) for s in gw.ctl_list("sessions") if s.get("peer") == CLIENT]
    time.sleep(1.5)  # past the periodic save that follows a change
    gw.stop_cp(sig)
    t_down = time.monotonic()
    before = len(gw.log())
    time.sleep(2)
    alive = pings_answered(NS_IN, POOL_ADDR, 2)
    check(alive == 2, f"{name}: with no control plane the inside host still reaches the client ({alive}/2)")
    check(gw.start_cp(), f"{name}: a new control plane attached and synced")
    print(f"  control plane away for {time.monotonic() - t_down:.1f} s")
    log = since(gw, before)
    m = re.search(r"restored (\d+) ISAKMP SAs?, (\d+) IPsec SA pairs?", log)
    check(m is not None and m.group(1) == "1" and m.group(2) == "1",
          f"{name}: the new control plane restored the IKE SA and the pair ({m.group(0) if m else 'no line'})")
    m = re.search(r"restored (\d+) tunnels?, (\d+) sessions?", log)
    check(m is not None and m.group(1) == "1" and m.group(2) == "1",
          f"{name}: and the tunnel and session ({m.group(0) if m else 'no line'})")
    after_sa = {s["spi_hex"] for s in gw.ctl_list("sa") if s.get("peer") == CLIENT}
    after_sess = [(s.get("sa_in_hex"), s.get("sa_out_hex")) for s in gw.ctl_list("sessions") if s.get("peer") == CLIENT]
    check(after_sa == before_sa and after_sess == before_sess and len(after_sess) == 1,
          f"{name}: the data plane kept the SAs {sorted(after_sa)} and the session {after_sess}")
    check(f"{CLIENT}:" in gw.ctl("ike") and "alice" in gw.ctl("users") and POOL_ADDR in gw.ctl("users"),
          f"{name}: l2tpgwctl ike and users show the client again")
    dpd = len(re.findall("R-U-THERE", c.out()))
    c.saw("Delete sent for the IPsec SA", 30)
    log = since(gw, before)
    check(re.search(rf"IPsec SA established with {CLIENT}: ", log) is not None,
          f"{name}: the client's phase-2 rekey completed on the restored ISAKMP SA")
    if c.saw("holding the connection", 30):
        wait_for(lambda: len(re.findall("R-U-THERE", c.out())) > dpd, 3 * DPD_ONLY["dpd_interval"])
        check(len(re.findall("R-U-THERE", c.out())) > dpd, f"{name}: the new control plane runs DPD on it")
        got = pings_answered(NS_IN, POOL_ADDR, 3)
        check(got == 3, f"{name}: the inside host pings the client after the rekey ({got}/3)")
    rc, s = c.finish()
    check(rc == 0 and s.get("pings_received") == count,
          f"{name}: no echo lost across the restart: {s.get('pings_received')}/{count} "
          f"(exit {rc}, failure {s.get('failure')})")
    check(s.get("clean_disconnect") is True, f"{name}: the restored tunnel closed cleanly at hang-up")
    check_nothing_left(gw, CLIENT, f"{name}: after hang-up")


# ---------------------------------------------------------------- vanishing

def vanish_case(gw, title, cause, profile="windows", extra_checks=None):
    print(f"== a client vanishes: {title}")
    before = len(gw.log())
    c = Client(client_cmd("alice", profile=profile, extra=("--vanish-after", "3", "--vanish-for", "120",
                                                            "--hold-stdin")))
    up = c.saw("vanishing", 60)
    check(up, f"{title}: connected, then silent")
    if extra_checks:
        extra_checks(c, before)
    found = wait_for(lambda: re.search(cause, since(gw, before)) is not None, 60)
    m = re.search(cause, since(gw, before))
    check(found, f"{title}: the log names the cause: {m.group(0) if m else cause}")
    wait_for(lambda: all(nothing_left(gw, CLIENT).values()), 15)
    for what, gone in nothing_left(gw, CLIENT).items():
        check(gone, f"{title}: no {what} left")
    c.finish()
    rc, s = run_client(client_cmd("bob", local=CLIENT2, extra=("--ping", INSIDE_HOST, "--count", "2")))
    check(rc == 0 and s.get("address") == POOL_ADDR,
          f"{title}: a new client gets the pool's only address {s.get('address')} (failure {s.get('failure')})")
    wait_for(lambda: CLIENT2 not in gw.ctl("ike"), 10)


def dpd_answered(c, before):
    check(c.saw("R-U-THERE", 1) and "answered" in c.out(),
          "dpd: the client announced DPD and answered R-U-THERE while present")


def main():
    build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build"))
    for tool in ("ethtool", "nft", "ping"):
        if shutil.which(tool) is None:
            print(f"{tool} missing (scripts/setup.sh installs it)")
            return 1
    only = set(os.environ.get("E2E_ONLY", "").split(",")) - {""}
    netns_setup()
    dirs = []
    try:
        for title, timers, cases in (
                ("DPD only", DPD_ONLY, [("mppe", mppe_stateless_rows), ("corrupt", corrupt_esp), ("blocked", esp_blocked),
                                        ("rekey", lambda gw: rekey_case(gw, 2)),
                                        ("rekey1", lambda gw: rekey_case(gw, 1)),
                                        ("restart", lambda gw: restart_case(gw, signal.SIGKILL)),
                                        ("restart", lambda gw: restart_case(gw, signal.SIGTERM)),
                                        ("dpd", lambda gw: vanish_case(
                                            gw, "IKE dead peer detection",
                                            rf"peer {CLIENT} \(ID [^)]*\) is dead: {DPD_ONLY['dpd_failures']} "
                                            r"R-U-THERE unanswered", profile="android",
                                            extra_checks=dpd_answered))]),
                ("LCP echo only, stateful MPPE preferred", ECHO_ONLY,
                 [("mppe", mppe_stateful_rows), ("pool", pool_exhausted),
                  ("echo", lambda gw: vanish_case(
                      gw, "PPP LCP echo",
                      rf"user alice disconnected after \d+ s \(tunnel \d+ session \d+ from {CLIENT}:\d+\): "
                      rf"LCP echo timeout: no reply to {ECHO_FAILURES} Echo-Requests"))]),
                ("L2TP HELLO only, MPPE required", HELLO_ONLY,
                 [("require", encryption_required),
                  ("hello", lambda gw: vanish_case(
                      gw, "L2TP HELLO",
                      rf"tunnel \d+ from {CLIENT}:\d+: no response to HELLO after {L2TP_RETRANSMITS} "
                      r"retransmits \(client went silent\)"))])):
            todo = [(n, f) for n, f in cases if not only or n in only]
            if not todo:
                continue
            d = tempfile.mkdtemp(prefix="l2tpgw-e2f-")
            dirs.append(d)
            with open(os.path.join(d, "users.conf"), "w") as f:
                f.write(USERS)
            gw = start_gateway(build, d, timers, title)
            if gw is None:
                continue
            try:
                for _, fn in todo:
                    fn(gw)
                print(gw.ctl("drops"))
            finally:
                gw.stop()
                if check.failures:
                    print(f"== control plane log ({title})")
                    print(gw.log()[-6000:])
    finally:
        netns_teardown(*NAMESPACES)
        if not os.environ.get("L2TPGW_KEEP"):
            for d in dirs:
                shutil.rmtree(d, ignore_errors=True)
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
