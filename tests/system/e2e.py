#!/usr/bin/python3
"""The whole system end to end: the real data plane on af_packet ports in
network namespaces, the real control plane, and our independent client
(perf/l2tp_client.py) doing what a user's laptop does: IKEv1 Main Mode
with a pre-shared key, Quick Mode for ESP in transport mode, L2TP, PPP
with MS-CHAPv2 and MPPE, pings to a host on the inside and from it, then
a clean hang-up (PPP, CDN, StopCCN, IKE Deletes).

  - each client profile (windows, macos, android) directly: connects, gets
    an address, pings both ways, disconnects; afterwards `l2tpgwctl ike`
    and `l2tpgwctl sa` show its SAs gone;
  - the same behind an nftables masquerade (NAT-T: UDP 4500, the
    UDP-encapsulated modes, NAT-OA); the windows client there sends NAT-T
    keepalives every second (RFC 3948 §2.3), which the data plane counts
    as nat_keepalive, as many as the client sent, while the session goes
    on (the inside pings it after them);
  - certificates: strongSwan's pki makes a CA, the gateway's and the
    client's certificates at test time; the gateway has ca/certificate/
    private_key and an rsa peer entry for the client's DN; our client does
    Main Mode with RSA signatures (windows profile), checks the gateway's
    certificate and SIG_R, connects, pings both ways and hangs up with
    nothing left; a client certificate from another CA gives "certificate
    not trusted" in our log, and a client that trusts another CA refuses
    the gateway ("gateway certificate not trusted");
  - two clients behind the same NAT at once;
  - the gateway itself behind a NAT (a DNAT of UDP 500 and 4500 in front
    of it), clients behind their own: it must say so from NAT-D in one
    line, naming AssumeUDPEncapsulationContextOnSendRule for a Windows
    client only, and carry the session over UDP 4500;
  - failures whose one-line cause the control plane's log must give:
    a wrong pre-shared key, no common proposal, a client behind a NAT
    without NAT-T, a wrong password, an unknown user.

Exit 0 when every check passed. Usage: e2e.py BUILD_DIR
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

from ike import CLIENT_DN, make_pki
from sysnet import (Checks, Gateway, checksums_in_software, netns_create, netns_teardown, pings_answered, sh,
                    wait_for)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PY = "/usr/bin/python3"
NS_GW, NS_CL, NS_IN, NS_PV = "e2e-gw", "e2e-cl", "e2e-in", "e2e-pv"
GW_OUT, GW_IN = "203.0.113.1", "10.9.0.1"
CLIENT, INSIDE_HOST = "203.0.113.7", "10.9.0.2"
INSIDE_MAC = "02:00:00:00:09:02"
# Clients on a private network behind NS_CL, which masquerades them as CLIENT.
PRIVATE, PRIVATE2, PRIVATE_GW = "192.168.77.2", "192.168.77.3", "192.168.77.1"
PSK = "e2e test key 0123456789"
USERS = """users = (
  { name = "alice"; password = "correct horse"; },
  { name = "bob"; password = "battery staple"; },
  { name = "carol"; password = "static one"; }
);
"""
PASSWORDS = {"alice": "correct horse", "bob": "battery staple", "carol": "static one"}

check = Checks()
VERBOSE = os.environ.get("L2TPGW_VERBOSE") == "1"
NAMESPACES = (NS_GW, NS_CL, NS_IN, NS_PV)


def netns_setup():
    netns_create(*NAMESPACES)
    sh("ip", "link", "add", "e2e-out", "netns", NS_GW, "type", "veth", "peer", "name", "ecl0", "netns", NS_CL)
    sh("ip", "link", "add", "e2e-in", "netns", NS_GW, "type", "veth", "peer", "name", "eih0", "netns", NS_IN)
    sh("ip", "-n", NS_GW, "link", "set", "e2e-out", "up")
    sh("ip", "-n", NS_GW, "link", "set", "e2e-in", "up")
    sh("ip", "-n", NS_CL, "addr", "add", f"{CLIENT}/24", "dev", "ecl0")
    sh("ip", "-n", NS_CL, "link", "set", "ecl0", "up")
    sh("ip", "-n", NS_IN, "link", "set", "eih0", "address", INSIDE_MAC)
    sh("ip", "-n", NS_IN, "addr", "add", f"{INSIDE_HOST}/24", "dev", "eih0")
    sh("ip", "-n", NS_IN, "link", "set", "eih0", "up")
    sh("ip", "-n", NS_IN, "route", "add", "100.64.0.0/10", "via", GW_IN)
    sh("ip", "link", "add", "ecl1", "netns", NS_CL, "type", "veth", "peer", "name", "epv0", "netns", NS_PV)
    sh("ip", "-n", NS_CL, "addr", "add", f"{PRIVATE_GW}/24", "dev", "ecl1")
    sh("ip", "-n", NS_CL, "link", "set", "ecl1", "up")
    for a in (PRIVATE, PRIVATE2):
        sh("ip", "-n", NS_PV, "addr", "add", f"{a}/24", "dev", "epv0")
    sh("ip", "-n", NS_PV, "link", "set", "epv0", "up")
    sh("ip", "-n", NS_PV, "route", "add", "default", "via", PRIVATE_GW)
    sh("ip", "netns", "exec", NS_CL, "sysctl", "-qw", "net.ipv4.ip_forward=1")
    sh("ip", "netns", "exec", NS_CL, "nft", "add table ip nat; "
       "add chain ip nat post { type nat hook postrouting priority 100 ; } ; "
       f"add rule ip nat post ip saddr {PRIVATE_GW}/24 oifname ecl0 masquerade")
    for ns, dev in ((NS_CL, "ecl0"), (NS_IN, "eih0"), (NS_PV, "epv0"), (NS_CL, "ecl1")):
        checksums_in_software(ns, dev)


def config(d, pki, outside=GW_OUT):
    return f"""
dataplane = {{ workers = [1]; channel = "e2e"; max_sas = 64; punt_rate = 2000; }};
controlplane = {{ socket = "{d}/ctl.sock"; log_level = "info"; }};
ports = (
  {{ name = "outside"; role = "outside"; vdev = "net_af_packet0,iface=e2e-out"; address = "{outside}/24"; }},
  {{ name = "inside"; role = "inside"; vdev = "net_af_packet1,iface=e2e-in"; address = "{GW_IN}/24";
     neighbors = ( {{ address = "{INSIDE_HOST}"; mac = "{INSIDE_MAC}"; }} ); }}
);
ike = {{ psk = "{PSK}"; retransmit_interval = 1; retransmits = 3;
         ca = "{pki}/ca.pem"; certificate = "{pki}/gw.pem"; private_key = "{pki}/gw.key";
         peers = ( {{ id = "{CLIENT_DN}"; auth = "rsa"; }} ); }};
l2tp = {{ host_name = "l2tpgw-e2e"; hello_interval = 30; }};
ppp = {{ auth = [ "mschapv2" ]; local_address = "100.64.0.1";
        pool = "100.64.0.10-100.64.0.20"; dns = [ "10.9.0.53" ]; mppe = "allow";
        echo_interval = 5; users = "users.conf"; }};
"""


def client_cmd(ns, local, user, profile, password=None, psk=PSK, extra=(), ike=None, server=GW_OUT):
    """ike: the --ike arguments when not the pre-shared key psk."""
    return ["ip", "netns", "exec", ns, PY, os.path.join(ROOT, "perf/l2tp_client.py"),
            "--server", server, "--local", local, "--user", user,
            "--password", PASSWORDS.get(user, "x") if password is None else password,
            *(ike or ("--ike", "psk", "--psk", psk)), "--profile", profile, "--ike-retransmit", "1",
            "--mppe", "128", "--stateless", "--timeout", "20", *extra]


def parse(out):
    lines = [l for l in out.splitlines() if l.strip()]
    try:
        return json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        return {}


def run_client(cmd, timeout=90):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if VERBOSE or r.returncode != 0:
        print(r.stdout + r.stderr)
    return r.returncode, parse(r.stdout)


def ping_from_inside(address, count=3):
    return pings_answered(NS_IN, address, count)


def sas_gone(gw, peer):
    return peer not in gw.ctl("sa") and peer not in gw.ctl("ike")


def drop_count(gw, reason):
    """One of the data plane's drop counters, as `l2tpgwctl stats --json` names it."""
    out = gw.ctl("stats", "--json")
    try:
        return json.loads(out[out.index("{"):]).get("drops", {}).get(reason, 0)
    except ValueError:
        return None


def connect_case(gw, title, ns, local, peer, user, profile, nat, label=None, ike_args=None, keepalive=None,
                 server=GW_OUT, nat_text="peer behind NAT"):
    """One client, held connected while the inside pings it, then hung up.
    label names the checks (the profile by default); ike_args as
    client_cmd's ike; keepalive: seconds between the client's NAT-T keepalives,
    whose count in the data plane is then checked; nat_text: what the
    gateway's log says of the NAT when nat."""
    print(f"== {title}")
    label = label or profile
    before = len(gw.log())
    kept_before = drop_count(gw, "nat_keepalive")
    if keepalive and not check(kept_before is not None, f"{label}: l2tpgwctl stats --json reads"):
        return {}
    extra = ("--ping", INSIDE_HOST, "--count", "5", "--hold-stdin")
    if keepalive is not None:
        extra += ("--natt-keepalive", str(keepalive))
    cmd = client_cmd(ns, local, user, profile, extra=extra, ike=ike_args, server=server)
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        up = wait_for(lambda: f"user {user} connected" in gw.log()[before:], 40)
        check(up, f"{label}: the control plane logged '{user} connected'")
        if up and keepalive:
            # The session must carry on after them: the inside's pings come next.
            check(wait_for(lambda: (drop_count(gw, "nat_keepalive") or 0) >= kept_before + 2, 30),
                  f"{label}: the data plane counted the client's NAT-T keepalives as nat_keepalive "
                  f"({kept_before} -> {drop_count(gw, 'nat_keepalive')})")
        users = gw.ctl("users")
        m = re.search(r"(100\.64\.0\.\d+)", users)
        if up and m:
            got = ping_from_inside(m.group(1))
            check(got == 3, f"{label}: the inside host pinged the client's address {m.group(1)} ({got}/3)")
            ike = gw.ctl("ike")
            check(peer in ike and "established" in ike, f"{label}: l2tpgwctl ike lists the IKE SA with {peer}")
            check(peer in gw.ctl("sa"), f"{label}: l2tpgwctl sa lists the ESP pair with {peer}")
            if VERBOSE:
                print(ike)
        out, _ = proc.communicate("hang up\n", timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
            out = proc.communicate()[0]
    s = parse(out)
    if proc.returncode != 0 or VERBOSE:
        print(out)
    ike = s.get("ike") or {}
    check(proc.returncode == 0 and s.get("ok"), f"{label}: connected, pinged and hung up cleanly "
          f"(exit {proc.returncode}, failure {s.get('failure')})")
    check((s.get("address") or "").startswith("100.64.0."), f"{label}: got a pool address ({s.get('address')})")
    check(s.get("pings_received") == 5, f"{label}: 5/5 pings to the inside host ({s.get('pings_received')})")
    check(s.get("echoes_answered", 0) >= 3, f"{label}: answered the inside's pings ({s.get('echoes_answered')})")
    print(f"  IKE: {json.dumps(ike)}")
    check(bool(ike.get("p1")) and bool(ike.get("esp")), f"{label}: summary names P1 {ike.get('p1')} "
          f"and ESP {ike.get('esp')}")
    check(ike.get("udp_encap") is nat, f"{label}: ESP {'in UDP 4500' if nat else 'as IP protocol 50'}")
    # RFC 3947 §5.1 modes, or the drafts' private numbers for macOS.
    want_mode = (61444 if profile == "macos" else 4) if nat else 2
    check(ike.get("encap_mode") == want_mode, f"{label}: encapsulation mode {ike.get('encap_mode')} "
          f"(want {want_mode})")
    sport = ike.get("l2tp_sport")
    check(sport != 1701 if profile == "macos" else sport == 1701, f"{label}: L2TP source port {sport}")
    log = gw.log()[before:]
    spi_in = (ike.get("spi_in") or "")[2:]
    check(bool(spi_in) and re.search(rf"IPsec SA established with {peer}.*{spi_in}", log) is not None,
          f"{label}: our log has the IPsec SA with the client's SPI {ike.get('spi_in')}")
    if nat:
        check(f"NAT: {nat_text}" in log, f"{label}: our log says '{nat_text}'")
    check(wait_for(lambda: "deleted by the peer" in gw.log()[before:], 10),
          f"{label}: the client's Delete removed the IPsec SA ('deleted by the peer')")
    check(wait_for(lambda: sas_gone(gw, peer), 10), f"{label}: no SA with {peer} left in l2tpgwctl sa / ike")
    if keepalive:
        sent = ike.get("natt_keepalives_sent")
        check(bool(sent) and wait_for(lambda: drop_count(gw, "nat_keepalive") == kept_before + sent, 10),
              f"{label}: nat_keepalive rose by exactly the {sent} keepalives the client sent "
              f"({kept_before} -> {drop_count(gw, 'nat_keepalive')})")
    return s


def two_behind_nat(gw):
    print("== two clients behind the same NAT at once (windows and android)")
    before = len(gw.log())
    procs = [subprocess.Popen(client_cmd(NS_PV, local, user, prof,
                                         extra=("--ping", INSIDE_HOST, "--count", "5", "--hold-stdin")),
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for local, user, prof in ((PRIVATE, "alice", "windows"), (PRIVATE2, "bob", "android"))]
    both = wait_for(lambda: "user alice connected" in gw.log()[before:] and
                    "user bob connected" in gw.log()[before:], 60)
    check(both, "both users connected at the same time")
    if both:
        ike = gw.ctl("ike")
        print(ike)
        ports = set(re.findall(rf"{CLIENT}:(\d+)\s+192\.168\.77\.\d\s+(?:main|aggressive)\s+established", ike))
        check(len(ports) == 2, f"l2tpgwctl ike lists two IKE SAs from the NAT's address, ports {sorted(ports)}")
    outs = []
    for p in procs:
        try:
            outs.append(p.communicate("hang up\n", timeout=90)[0])
        except subprocess.TimeoutExpired:
            p.kill()
            outs.append(p.communicate()[0])
    for p, out, name in zip(procs, outs, ("alice", "bob")):
        s = parse(out)
        if p.returncode != 0 or VERBOSE:
            print(out)
        check(p.returncode == 0 and s.get("pings_received") == 5,
              f"{name}: connected, 5/5 pings, clean hang-up (exit {p.returncode}, failure {s.get('failure')})")
    check(wait_for(lambda: sas_gone(gw, CLIENT), 10), "no SA left after both hung up")


def transforms(gw):
    """What the profiles' first choices leave out: AES-128, 3DES, ECP-256,
    MODP-2048 with SHA1, ESP AES-128 with SHA2-256 and 3DES."""
    for p1, p2, esp in (("aes128-sha1-ecp256", "aes128-sha256", "aes-cbc-128/hmac-sha256-128"),
                        ("3des-sha1-modp2048", "3des-sha1", "3des-cbc/hmac-sha1-96"),
                        ("aes256-sha1-modp2048", "3des-sha256", "3des-cbc/hmac-sha256-128")):
        print(f"== windows offering only {p1}, ESP {p2}")
        rc, s = run_client(client_cmd(NS_CL, CLIENT, "alice", "windows",
                                      extra=("--ike-proposals", p1, "--esp-proposals", p2,
                                             "--ping", INSIDE_HOST, "--count", "3")))
        ike = s.get("ike") or {}
        check(rc == 0 and s.get("pings_received") == 3 and ike.get("p1") == p1 and ike.get("esp") == esp,
              f"{p1} / {esp}: connected, 3/3 pings, clean hang-up (exit {rc}, {ike.get('p1')}, {ike.get('esp')}, "
              f"failure {s.get('failure')})")
    check(wait_for(lambda: sas_gone(gw, CLIENT), 10), "no SA left after them")


def failures(gw):
    print("== failures the operator must be able to tell apart")
    before = len(gw.log())
    rc, s = run_client(client_cmd(NS_CL, CLIENT, "alice", "windows", psk="not the key"), timeout=60)
    check(rc != 0 and s.get("reached") == "ike", f"a wrong pre-shared key fails in IKE ({s.get('failure')})")
    check(wait_for(lambda: "pre-shared key mismatch" in gw.log()[before:], 10),
          "our log names the cause: pre-shared key mismatch")
    check("not the key" not in gw.log(), "the key itself is not logged")

    before = len(gw.log())
    rc, s = run_client(client_cmd(NS_CL, CLIENT, "alice", "windows",
                                  extra=("--ike-proposals", "aes128-md5-modp2048,des-sha1-modp1024")), timeout=60)
    check(rc != 0 and s.get("reached") == "ike", f"an MD5/DES-only offer fails in IKE ({s.get('failure')})")
    check(wait_for(lambda: "no proposal chosen" in gw.log()[before:], 10),
          "our log names the cause: no proposal chosen")

    # Behind the masquerade without announcing NAT-T: Main Mode passes on
    # UDP 500, but raw ESP would not cross the NAT; the Quick Mode's IDci
    # (the client's private address) gives it away.
    before = len(gw.log())
    rc, s = run_client(client_cmd(NS_PV, PRIVATE, "alice", "windows", extra=("--no-natt",)), timeout=60)
    check(rc != 0 and s.get("reached") == "ike", f"behind a NAT without NAT-T fails in IKE ({s.get('failure')})")
    check(wait_for(lambda: "peer behind NAT without NAT-T" in gw.log()[before:], 10),
          "our log names the cause: peer behind NAT without NAT-T")
    n = gw.log()[before:].count("peer behind NAT without NAT-T")
    check(n == 1, f"once, however often the client repeated its Quick Mode ({n} lines)")

    before = len(gw.log())
    rc, s = run_client(client_cmd(NS_CL, CLIENT, "alice", "macos", password="wrong"))
    check(rc != 0 and (s.get("ike") or {}).get("spi_in"), "a wrong password fails after IKE succeeded")
    check(wait_for(lambda: "authentication failed for user alice: wrong password" in gw.log()[before:], 10),
          "our log names the wrong password")

    before = len(gw.log())
    rc, s = run_client(client_cmd(NS_CL, CLIENT, "mallory", "android"))
    check(rc != 0, "an unknown user fails")
    check(wait_for(lambda: "authentication failed for user mallory: unknown user" in gw.log()[before:], 10),
          "our log names the unknown user")
    check(wait_for(lambda: sas_gone(gw, CLIENT), 10), "the failed attempts left no SA behind")


def cert_args(pki, name, ca="ca"):
    return ("--ike", "rsa", "--cert", f"{pki}/{name}.pem", "--key", f"{pki}/{name}.key", "--ca", f"{pki}/{ca}.pem")


def certificates(gw, pki):
    before = len(gw.log())
    s = connect_case(gw, "windows with certificates (RSA signatures), direct", NS_CL, CLIENT, CLIENT, "alice",
                     "windows", False, label="certificates", ike_args=cert_args(pki, "client"))
    ike = s.get("ike") or {}
    check(ike.get("auth") == "RSA signature" and "CN=gw" in (ike.get("peer_certificate") or ""),
          f"certificates: the client verified the gateway's certificate and SIG_R ({ike.get('peer_certificate')})")
    check(f"IKE SA established with {CLIENT} (ID {CLIENT_DN})" in gw.log()[before:] and
          f"auth RSA signature (certificate {CLIENT_DN}" in gw.log()[before:],
          "certificates: our log has the IKE SA with the client's DN, authenticated by its certificate")

    print("== certificates: refusals")
    before = len(gw.log())
    rc, s = run_client(client_cmd(NS_CL, CLIENT, "alice", "windows", ike=cert_args(pki, "evil")), timeout=60)
    check(rc != 0 and s.get("reached") == "ike", f"a client certificate from another CA fails in IKE "
          f"({s.get('failure')})")
    check(wait_for(lambda: f"certificate not trusted: {CLIENT_DN}" in gw.log()[before:], 10),
          "our log names the cause: certificate not trusted")
    check(wait_for(lambda: sas_gone(gw, CLIENT), 10), "the refused certificate left no SA behind")
    # Last: the gateway keeps the ISAKMP SA the client walks away from.
    rc, s = run_client(client_cmd(NS_CL, CLIENT, "alice", "windows", ike=cert_args(pki, "client", ca="evilca")),
                       timeout=60)
    check(rc != 0 and (s.get("failure") or "").startswith("IKE: gateway certificate not trusted"),
          f"a client trusting another CA refuses the gateway's certificate ({s.get('failure')})")


def gateway_behind_nat(build, gw, pki):
    """The gateway itself behind a NAT: NS_CL forwards UDP 500 and 4500 of
    a public address to the gateway's private one (nftables DNAT), and the
    clients come from NS_PV, behind NS_CL's masquerade as before. The
    gateway must see from NAT-D that its own address was rewritten, say so
    in one line (with the registry value Windows then needs, for a Windows
    client only), and the session must work over UDP 4500."""
    print("== the gateway behind a NAT (DNAT of UDP 500/4500 in front of it)")
    gw.stop()
    public, private, router = "198.51.100.1", "10.99.0.2", "10.99.0.1"
    sh("ip", "-n", NS_CL, "addr", "add", f"{router}/24", "dev", "ecl0")
    sh("ip", "netns", "exec", NS_CL, "nft", "add chain ip nat pre { type nat hook prerouting priority -100 ; } ; "
       f"add rule ip nat pre ip daddr {public} udp dport {{ 500, 4500 }} dnat to {private}")
    d = tempfile.mkdtemp(prefix="l2tpgw-e2e-gn-")
    shutil.copy(os.path.join(gw.d, "users.conf"), d)
    hidden = Gateway(build, d, NS_GW, "e2egn")
    with open(hidden.conf, "w") as f:
        f.write(config(d, pki, outside=private))
    try:
        if not check(hidden.start(), "gateway behind a NAT: up and synced"):
            return
        for user, profile, hint in (("alice", "windows", True), ("carol", "android", False)):
            before = len(hidden.log())
            connect_case(hidden, f"{profile}, gateway behind a NAT", NS_PV, PRIVATE, router, user, profile, True,
                         label=f"{profile} to a gateway behind a NAT", server=public, nat_text="both behind NAT")
            lines = [l for l in hidden.log()[before:].splitlines() if "we are behind a NAT" in l]
            check(len(lines) == 1, f"{profile}: one line says the gateway is behind a NAT ({len(lines)})")
            named = bool(lines) and "AssumeUDPEncapsulationContextOnSendRule = 2" in lines[0]
            check(named is hint, f"{profile}: the Windows registry value is named "
                  f"{'for a Windows client' if hint else 'only for Windows clients'} ({lines[:1]})")
    finally:
        hidden.stop()
        if check.failures:
            print("== control plane log (gateway behind a NAT)")
            print(hidden.log()[-6000:])
        if not os.environ.get("L2TPGW_KEEP"):
            shutil.rmtree(d, ignore_errors=True)


def main():
    build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build"))
    for tool in ("ethtool", "nft", "ping"):
        if shutil.which(tool) is None:
            print(f"{tool} missing (scripts/setup.sh installs it)")
            return 1
    d = tempfile.mkdtemp(prefix="l2tpgw-e2e-")
    gw = Gateway(build, d, NS_GW, "e2e")
    pki = make_pki(d)
    with open(gw.conf, "w") as f:
        f.write(config(d, pki))
    with open(os.path.join(d, "users.conf"), "w") as f:
        f.write(USERS)
    netns_setup()
    only = os.environ.get("E2E_ONLY", "")
    try:
        if not check(gw.start(), "data plane and control plane up and synced"):
            return 1
        # Every IKE datagram with the client's address in the log: when a case
        # fails, the log printed below shows what reached the control plane.
        gw.ctl("ike-trace", CLIENT, "on")
        cases = [("windows, direct", NS_CL, CLIENT, "alice", "windows", False),
                 ("macos, direct", NS_CL, CLIENT, "bob", "macos", False),
                 ("android, direct", NS_CL, CLIENT, "carol", "android", False),
                 ("windows, behind a NAT, NAT-T keepalives every second", NS_PV, PRIVATE, "alice", "windows",
                  True),
                 ("macos, behind a NAT", NS_PV, PRIVATE, "bob", "macos", True),
                 ("android, behind a NAT", NS_PV, PRIVATE, "carol", "android", True)]
        for title, ns, local, user, prof, nat in cases:
            if not only or only in title:
                connect_case(gw, title, ns, local, CLIENT, user, prof, nat,
                             keepalive=1 if "keepalives" in title else None)
        if not only or only == "transforms":
            transforms(gw)
        if not only or only == "two":
            two_behind_nat(gw)
        if not only or only == "failures":
            failures(gw)
        if not only or only == "certificates":
            certificates(gw, pki)
        print(gw.ctl("drops"))
        if not only or only == "gateway-nat":
            gateway_behind_nat(build, gw, pki)
    finally:
        gw.stop()
        netns_teardown(*NAMESPACES)
        if check.failures:
            print("== control plane log")
            print(gw.log()[-8000:])
        if not os.environ.get("L2TPGW_KEEP"):
            shutil.rmtree(d, ignore_errors=True)
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
