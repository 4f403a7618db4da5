#!/usr/bin/python3
"""The LNS end to end: the real data plane on af_packet ports in network
namespaces, the real control plane, and two independent peers that set up
L2TP and PPP against it:

  - our Python client (perf/client), written apart from the gateway: plain
    L2TP from a trusted prefix and L2TP inside ESP with static SAs,
    MS-CHAPv2, MPPE-128 stateless and MPPE-40 stateful, pings to a Linux
    host on the inside through the tunnel; and the failures an operator
    must be able to tell apart (wrong password, unknown user, encryption
    required but refused, plain L2TP from an untrusted source);
  - xl2tpd (Debian) as a LAC: its tunnel and session come up on our LNS;
    its pppd cannot start without /dev/ppp, and its CDN must end the
    session on both planes.

Exit 0 when every check passed. Usage: lns.py BUILD_DIR
"""

import json
import re
import os
import secrets
import shutil
import subprocess
import sys
import tempfile

from sysnet import Checks, Gateway, checksums_in_software, netns_create, netns_teardown, sh, wait_for

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PY = "/usr/bin/python3"
NS_GW, NS_CL, NS_IN = "l2e-gw", "l2e-cl", "l2e-in"
GW_OUT, GW_IN = "198.51.100.1", "10.0.0.1"
TRUSTED, ESP_CLIENT, UNTRUSTED = "198.51.100.20", "198.51.100.7", "198.51.100.40"
INSIDE_HOST = "10.0.0.2"
INSIDE_MAC = "02:00:00:00:02:02"  # a static neighbour: no first ping lost to ARP

check = Checks()
VERBOSE = os.environ.get("L2TPGW_VERBOSE") == "1"
NAMESPACES = (NS_GW, NS_CL, NS_IN)


def netns_setup():
    netns_create(*NAMESPACES)
    sh("ip", "link", "add", "l2e-out", "netns", NS_GW, "type", "veth", "peer", "name", "cl0", "netns", NS_CL)
    sh("ip", "link", "add", "l2e-in", "netns", NS_GW, "type", "veth", "peer", "name", "ih0", "netns", NS_IN)
    sh("ip", "-n", NS_GW, "link", "set", "l2e-out", "up")
    sh("ip", "-n", NS_GW, "link", "set", "l2e-in", "up")
    for a in (TRUSTED, ESP_CLIENT, UNTRUSTED):
        sh("ip", "-n", NS_CL, "addr", "add", f"{a}/24", "dev", "cl0")
    sh("ip", "-n", NS_CL, "link", "set", "cl0", "up")
    sh("ip", "-n", NS_IN, "link", "set", "ih0", "address", INSIDE_MAC)
    sh("ip", "-n", NS_IN, "addr", "add", f"{INSIDE_HOST}/24", "dev", "ih0")
    sh("ip", "-n", NS_IN, "link", "set", "ih0", "up")
    sh("ip", "-n", NS_IN, "route", "add", "100.64.0.0/10", "via", GW_IN)
    checksums_in_software(NS_CL, "cl0")
    checksums_in_software(NS_IN, "ih0")


def config(d, keys):
    return f"""
dataplane = {{ workers = [1]; channel = "l2e"; max_sas = 64; punt_rate = 2000; }};
controlplane = {{ socket = "{d}/ctl.sock"; log_level = "debug"; }};
ports = (
  {{ name = "outside"; role = "outside"; vdev = "net_af_packet0,iface=l2e-out"; address = "{GW_OUT}/24"; }},
  {{ name = "inside"; role = "inside"; vdev = "net_af_packet1,iface=l2e-in"; address = "{GW_IN}/24";
     neighbors = ( {{ address = "{INSIDE_HOST}"; mac = "{INSIDE_MAC}"; }} ); }}
);
sas = (
  {{ direction = "in"; spi = 0x0000a001; peer = "{ESP_CLIENT}"; cipher = "aes-cbc-128";
     cipher_key = "{keys['in_enc']}"; integrity = "hmac-sha1-96"; integrity_key = "{keys['in_auth']}"; }},
  {{ direction = "out"; spi = 0x0000b001; peer = "{ESP_CLIENT}"; cipher = "aes-cbc-128";
     cipher_key = "{keys['out_enc']}"; integrity = "hmac-sha1-96"; integrity_key = "{keys['out_auth']}"; }}
);
l2tp = {{ host_name = "l2tpgw-test"; plain_from = [ "198.51.100.16/28" ]; hello_interval = 30; }};
ppp = {{ auth = [ "mschapv2", "chap", "pap" ]; local_address = "100.64.0.1";
        pool = "100.64.0.10-100.64.0.12"; dns = [ "10.0.0.53" ]; mppe = "allow";
        echo_interval = 5; users = "users.conf"; }};
"""


USERS = """users = (
  { name = "alice"; password = "correct horse"; },
  { name = "bob"; password = "battery staple"; mppe = "require"; },
  { name = "carol"; password = "static one"; address = "100.64.0.11"; }
);
"""


def client(d, user, password, source=TRUSTED, extra=(), timeout=60):
    cmd = ["ip", "netns", "exec", NS_CL, PY, os.path.join(ROOT, "perf/l2tp_client.py"),
           "--server", GW_OUT, "--local", source, "--user", user, "--password", password,
           "--timeout", "15", *extra]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if VERBOSE:
        print(r.stdout + r.stderr)
    lines = [l for l in r.stdout.splitlines() if l.strip()]
    try:
        summary = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        summary = {}
    return r.returncode, summary, r.stdout


def xl2tpd_lac(d, gw):
    print("== xl2tpd as the LAC (plain L2TP from the trusted prefix)")
    conf = os.path.join(d, "xl2tpd.conf")
    with open(conf, "w") as f:
        f.write(f"[global]\nlisten-addr = {TRUSTED}\nport = 1701\naccess control = no\n"
                f"[lac gw]\nlns = {GW_OUT}\nautodial = yes\nredial = no\nlength bit = yes\n"
                f"pppoptfile = {d}/ppp.options\n")
    with open(os.path.join(d, "ppp.options"), "w") as f:
        f.write("noauth\n")
    before = gw.log()
    p = subprocess.Popen(["ip", "netns", "exec", NS_CL, "xl2tpd", "-D", "-c", conf, "-p", f"{d}/xl2tpd.pid",
                          "-C", f"{d}/xl2tpd.control"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # pppd fails at once without /dev/ppp; xl2tpd then sends CDN.
        closed = wait_for(lambda: "closed by the peer's CDN" in gw.log()[len(before):], 20)
        new = gw.log()[len(before):]
        check(re.search(rf"from {TRUSTED}:1701: tunnel established", new) is not None and
              re.search(r"session \d+ \(peer session \d+\) established", new) is not None,
              "xl2tpd's tunnel and session came up on the LNS")
        check(closed, "xl2tpd's CDN (its pppd could not start) ended the session")
        tunnels = gw.ctl("tunnels")
        check("plain" in tunnels and TRUSTED in tunnels, "l2tpgwctl tunnels shows xl2tpd's tunnel, plain")
        check(wait_for(lambda: TRUSTED not in gw.ctl("users"), 5),
              "nothing of xl2tpd's session is left in l2tpgwctl users")
    finally:
        p.terminate()
        p.wait(10)


def main():
    build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build"))
    for tool in ("xl2tpd", "ethtool"):
        if shutil.which(tool) is None:
            print(f"{tool} missing (scripts/setup.sh installs it)")
            return 1
    d = tempfile.mkdtemp(prefix="l2tpgw-lns-")
    keys = {k: secrets.token_hex(n) for k, n in
            (("in_enc", 16), ("in_auth", 20), ("out_enc", 16), ("out_auth", 20))}
    gw = Gateway(build, d, NS_GW, "l2e")
    with open(gw.conf, "w") as f:
        f.write(config(d, keys))
    with open(os.path.join(d, "users.conf"), "w") as f:
        f.write(USERS)
    esp = os.path.join(d, "esp.json")
    with open(esp, "w") as f:
        json.dump({"encap": "none", "cipher": "aes-cbc-128", "integrity": "hmac-sha1-96",
                   "spi_out": 0xa001, "cipher_key_out": keys["in_enc"], "integrity_key_out": keys["in_auth"],
                   "spi_in": 0xb001, "cipher_key_in": keys["out_enc"], "integrity_key_in": keys["out_auth"]}, f)
    netns_setup()
    try:
        if not check(gw.start(), "data plane and control plane up and synced"):
            return 1
        print("== alice: plain L2TP, MS-CHAPv2, MPPE-128 stateless, 20 pings to the inside host")
        rc, s, out = client(d, "alice", "correct horse",
                            extra=("--mppe", "128", "--stateless", "--ping", INSIDE_HOST, "--count", "20",
                                   "--hold", "1"))
        check(rc == 0, f"alice connected (exit {rc})")
        check((s.get("address") or "").startswith("100.64.0."), f"alice got a pool address ({s.get('address')})")
        check(s.get("pings_received") == 20, f"20/20 pings answered through MPPE ({s.get('pings_received')})")
        log = gw.log()
        check("user alice connected" in log and "MPPE-128 stateless" in log,
              "the control plane logged alice's success with her MPPE mode")

        print("== carol: L2TP inside ESP (static SAs), MS-CHAPv2, MPPE-40, her static address")
        rc, s, out = client(d, "carol", "static one", source=ESP_CLIENT,
                            extra=("--esp-config", esp, "--mppe", "40", "--ping", INSIDE_HOST, "--count", "10"))
        check(rc == 0, f"carol connected through ESP (exit {rc})")
        check(s.get("address") == "100.64.0.11", f"carol got her static address ({s.get('address')})")
        check(s.get("pings_received") == 10, f"10/10 pings through ESP, L2TP, MPPE-40 ({s.get('pings_received')})")
        # She asked for stateful; the server prefers stateless and Naks
        # her request to it, which she accepts (one mode for both ways).
        check(s.get("mppe") == "MPPE-40 stateless", f"the server's stateless preference won ({s.get('mppe')})")

        print("== failures the operator must be able to tell apart")
        rc, s, out = client(d, "alice", "wrong")
        check(rc != 0, "a wrong password fails")
        check("authentication failed for user alice: wrong password" in gw.log(),
              "the log names the wrong password")
        rc, s, out = client(d, "mallory", "x")
        check(rc != 0 and "authentication failed for user mallory: unknown user" in gw.log(),
              "an unknown user fails and the log says so")
        rc, s, out = client(d, "bob", "battery staple", extra=("--mppe", "none"))
        check(rc != 0 and "encryption required but not offered" in gw.log(),
              "bob must encrypt; his client without MPPE is refused with that cause")
        before = gw.log()
        rc, s, out = client(d, "alice", "correct horse", source=UNTRUSTED, timeout=90)
        check(rc != 0, "plain L2TP from an untrusted address gets no tunnel")
        check(f"plain L2TP from {UNTRUSTED}:1701 refused" in gw.log()[len(before):],
              "the log says plain L2TP was refused and why")

        print("== the operator's view of a connected user, and a disconnect")
        cmd = ["ip", "netns", "exec", NS_CL, PY, os.path.join(ROOT, "perf/l2tp_client.py"), "--server", GW_OUT,
               "--local", TRUSTED, "--user", "alice", "--password", "correct horse", "--mppe", "128",
               "--stateless", "--timeout", "15", "--hold", "30"]
        held = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            check(wait_for(lambda: "alice" in gw.ctl("users") and "running" in gw.ctl("users"), 20),
                  "l2tpgwctl users lists alice while she is connected")
            users = gw.ctl("users")
            print(users)
            check("MS-CHAPv2" in users and "128 stateless" in users and "100.64.0." in users,
                  "with her address, authentication and MPPE mode")
            check("established" in gw.ctl("tunnels"), "l2tpgwctl tunnels shows her tunnel established")
            check("100.64.0." in gw.ctl("sessions"), "the data plane carries her session with its address")
            check("disconnected 1 session" in gw.ctl("disconnect-user", "alice"), "disconnect-user alice")
            out, _ = held.communicate(timeout=30)
            check(held.returncode != 0, "her client saw the disconnect")
        finally:
            if held.poll() is None:
                held.kill()
        check(wait_for(lambda: "0 sessions" in gw.ctl("sessions"), 10),
              "her session left the data plane")

        xl2tpd_lac(d, gw)

        print("== after the clients left")
        users = gw.ctl("users")
        check(wait_for(lambda: "0 sessions" in gw.ctl("users"), 10), "no PPP session left")
        check(wait_for(lambda: "0 sessions" in gw.ctl("sessions"), 10),
              "no session left in the data plane")
        print(users)
        print(gw.ctl("drops"))
    finally:
        gw.stop()
        netns_teardown(*NAMESPACES)
        if check.failures:
            print("== control plane log")
            print(gw.log()[-6000:])
        shutil.rmtree(d, ignore_errors=True)
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
