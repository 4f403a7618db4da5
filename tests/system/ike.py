#!/usr/bin/python3
"""IKEv1 interoperability: the real data plane on af_packet ports in network
namespaces, the real control plane, and strongSwan's charon (Debian) as an
independent IKEv1 initiator with a pre-shared key:

  - Main Mode and Quick Mode complete against our responder: the control
    plane logs both "established" lines and the SA pair shows in
    `l2tpgwctl sa` and `l2tpgwctl ike`;
  - traffic flows through the data plane on the SAs both sides derived.
    This kernel has no XFRM, so charon runs its userspace ESP
    (kernel-libipsec), which does tunnel mode only: charon asks for a
    tunnel between its own address (behind the NAT: its private one) and
    the inside network 10.9.0.0/24, which the ike section lets tunnel-mode
    SAs reach (`tunnel_networks`). Pings from charon's side to the inside
    host go out through charon's TUN device, are decapsulated by the data
    plane and forwarded out of its inside port; the replies are routed by
    the data plane into the outbound tunnel SA. Nothing else joins the
    namespaces, and the SAs' packet counters in `l2tpgwctl sa` rise;
  - NAT-T: kernel-libipsec cannot receive raw ESP, so charon always fakes
    a NAT (wrong NAT-D hashes) to get UDP encapsulation: we detect "peer
    behind NAT", float to 4500 and the SAs carry ESP in UDP 4500;
  - a wrong pre-shared key: the log names "pre-shared key mismatch";
  - an MD5-only offer: the log names "no proposal chosen" with what was
    offered and what is configured;
  - RSA signatures with X.509 certificates (IKEv1 Main Mode, `auth =
    pubkey`): strongSwan's pki makes a CA, the gateway's and the client's
    certificates and a CRL at test time; charon authenticates with its
    certificate and checks ours, directly and behind the NAT, and its ESP
    authenticates in the data plane as with the pre-shared key (behind the
    NAT charon splits its message 5 in IKE fragments, payload 132, which we
    reassemble); a client
    certificate from a CA the gateway does not trust gives "certificate not
    trusted", a revoked one "certificate revoked";
  - rekeys the gateway starts: phase 2 (a Quick Mode) and phase 1 (a Main
    Mode from us with charon the responder, directly, behind the NAT and
    with certificates, where charon checks our certificate and SIG_I):
    charon lists the new IKE SA, both sides drop the old one (our Delete
    over it), the IPsec pair stays and charon's ESP keeps authenticating;
  - Aggressive Mode with a pre-shared key (charon `aggressive = yes`) for
    a peer whose ID is enabled for it: established, Quick Mode, pings
    through the tunnel and Delete, as in Main Mode; an ID not enabled for
    it is refused with one line naming it. The same with certificates for
    an rsa peer enabled for it (charon `auth = pubkey`).

Exit 0 when every check passed. Usage: ike.py BUILD_DIR
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

from sysnet import Checks, Gateway, checksums_in_software, netns_create, netns_teardown, sh, wait_for

NS_GW, NS_CL, NS_IN, NS_PV = "ike-gw", "ike-cl", "ike-in", "ike-pv"
GW_OUT, GW_IN = "203.0.113.1", "10.9.0.1"
CLIENT, INSIDE_HOST = "203.0.113.7", "10.9.0.2"
INSIDE_NET = "10.9.0.0/24"  # what tunnel-mode SAs may reach
# A client on a private network behind NS_CL, which masquerades it as CLIENT.
PRIVATE, PRIVATE_GW = "192.168.77.2", "192.168.77.1"
PSK = "interop test key 0123456789"
# Aggressive Mode: an ID enabled for it with its own key, and one that is not.
AM_ID, AM_PSK = "phone.example.org", "aggressive phone key 0123"
AM_REFUSED_ID = "laptop.example.org"

check = Checks()
NAMESPACES = (NS_GW, NS_CL, NS_IN, NS_PV)


def netns_setup():
    netns_create(*NAMESPACES)
    sh("ip", "link", "add", "ike-out", "netns", NS_GW, "type", "veth", "peer", "name", "icl0", "netns", NS_CL)
    sh("ip", "link", "add", "ike-in", "netns", NS_GW, "type", "veth", "peer", "name", "iih0", "netns", NS_IN)
    sh("ip", "-n", NS_GW, "link", "set", "ike-out", "up")
    sh("ip", "-n", NS_GW, "link", "set", "ike-in", "up")
    sh("ip", "-n", NS_CL, "addr", "add", f"{CLIENT}/24", "dev", "icl0")
    sh("ip", "-n", NS_CL, "link", "set", "icl0", "up")
    sh("ip", "-n", NS_IN, "addr", "add", f"{INSIDE_HOST}/24", "dev", "iih0")
    sh("ip", "-n", NS_IN, "link", "set", "iih0", "up")
    sh("ip", "-n", NS_IN, "route", "add", "default", "via", GW_IN)
    sh("ip", "link", "add", "icl1", "netns", NS_CL, "type", "veth", "peer", "name", "ipv0", "netns", NS_PV)
    sh("ip", "-n", NS_CL, "addr", "add", f"{PRIVATE_GW}/24", "dev", "icl1")
    sh("ip", "-n", NS_CL, "link", "set", "icl1", "up")
    sh("ip", "-n", NS_PV, "addr", "add", f"{PRIVATE}/24", "dev", "ipv0")
    sh("ip", "-n", NS_PV, "link", "set", "ipv0", "up")
    sh("ip", "-n", NS_PV, "route", "add", "default", "via", PRIVATE_GW)
    sh("ip", "netns", "exec", NS_CL, "sysctl", "-qw", "net.ipv4.ip_forward=1")
    sh("ip", "netns", "exec", NS_CL, "nft", "add table ip nat; "
       "add chain ip nat post { type nat hook postrouting priority 100 ; } ; "
       f"add rule ip nat post ip saddr {PRIVATE_GW}/24 oifname icl0 masquerade")
    for ns, dev in ((NS_CL, "icl0"), (NS_IN, "iih0"), (NS_PV, "ipv0"), (NS_CL, "icl1")):
        checksums_in_software(ns, dev)


CA_DN = "C=CH, O=test, CN=Test CA"
GW_DN = "C=CH, O=test, CN=gw"
CLIENT_DN = "C=CH, O=test, CN=client"
REVOKED_DN = "C=CH, O=test, CN=revoked"
AM_CLIENT_DN = "C=CH, O=test, CN=phone"  # an rsa peer enabled for Aggressive Mode
EVIL_CA_DN = "C=CH, O=evil, CN=Evil CA"


def make_pki(d):
    """A CA, the gateway's and clients' certificates and a CRL, made with
    strongSwan's pki (an implementation independent of ours)."""
    pki = os.path.join(d, "pki")
    os.makedirs(pki, exist_ok=True)

    def run(args, out):
        with open(os.path.join(pki, out), "wb") as f:
            f.write(subprocess.run(["pki", *args], check=True, capture_output=True).stdout)

    def key(name):
        run(["--gen", "--type", "rsa", "--size", "2048", "--outform", "pem"], name + ".key")

    def issue(name, dn, ca, san=None):
        pub = subprocess.run(["pki", "--pub", "--in", os.path.join(pki, name + ".key")], check=True,
                             capture_output=True).stdout
        args = ["pki", "--issue", "--cacert", os.path.join(pki, ca + ".pem"), "--cakey",
                os.path.join(pki, ca + ".key"), "--dn", dn, "--lifetime", "7300", "--outform", "pem"]
        if san:
            args += ["--san", san]
        with open(os.path.join(pki, name + ".pem"), "wb") as f:
            f.write(subprocess.run(args, input=pub, check=True, capture_output=True).stdout)

    for ca, dn in (("ca", CA_DN), ("evilca", EVIL_CA_DN)):
        key(ca)
        run(["--self", "--ca", "--lifetime", "7300", "--in", os.path.join(pki, ca + ".key"), "--dn", dn,
             "--outform", "pem"], ca + ".pem")
    for name, dn, ca, san in (("gw", GW_DN, "ca", GW_OUT), ("client", CLIENT_DN, "ca", CLIENT),
                              ("revoked", REVOKED_DN, "ca", None), ("evil", CLIENT_DN, "evilca", None),
                              ("phone", AM_CLIENT_DN, "ca", None)):
        key(name)
        issue(name, dn, ca, san)
    run(["--signcrl", "--cacert", os.path.join(pki, "ca.pem"), "--cakey", os.path.join(pki, "ca.key"),
         "--reason", "key-compromise", "--cert", os.path.join(pki, "revoked.pem"), "--outform", "pem"],
        "ca.crl")
    return pki


def config(d):
    pki = os.path.join(d, "pki")
    return f"""
dataplane = {{ workers = [1]; channel = "ike"; max_sas = 64; punt_rate = 2000; }};
controlplane = {{ socket = "{d}/ctl.sock"; log_level = "info"; }};
ports = (
  {{ name = "outside"; role = "outside"; vdev = "net_af_packet0,iface=ike-out"; address = "{GW_OUT}/24"; }},
  {{ name = "inside"; role = "inside"; vdev = "net_af_packet1,iface=ike-in"; address = "{GW_IN}/24"; }}
);
ike = {{ psk = "{PSK}"; allow_tunnel = true; tunnel_networks = ( "{INSIDE_NET}" );
         retransmit_interval = 1; retransmits = 3;
         ca = "{pki}/ca.pem"; certificate = "{pki}/gw.pem"; private_key = "{pki}/gw.key";
         crl = "{pki}/ca.crl";
         # Message 6 with our certificate (about 1.3 KB) goes in fragments.
         fragment_size = 576;
         peers = ( {{ id = "{AM_ID}"; psk = "{AM_PSK}"; aggressive = true; }},
                   # Once rsa peers are listed, only their IDs are taken.
                   {{ id = "{CLIENT_DN}"; auth = "rsa"; }},
                   {{ id = "{AM_CLIENT_DN}"; auth = "rsa"; aggressive = true; }},
                   {{ id = "{AM_REFUSED_ID}"; psk = "{AM_PSK}"; }} ); }};
"""


STRONGSWAN_CONF = """
charon {{
{extra}
  load_modular = no
  load = random nonce openssl pem pkcs1 pkcs8 x509 pubkey revocation constraints aes sha1 sha2 hmac kernel-libipsec kernel-netlink socket-default vici
  # charon routes the inside network into its TUN device; its own IKE and
  # ESP packets carry a mark that skips that routing table.
  install_routes = yes
  retransmit_tries = 3
  retransmit_timeout = 1.0
  # IKE fragmentation (payload 132) above this size, when the peer announced it.
  fragment_size = {fragment_size}
  plugins {{
    socket-default {{
      fwmark = 0x42
    }}
    kernel-netlink {{
      fwmark = !0x42
    }}
    vici {{
      socket = unix://{d}/charon.vici
    }}
  }}
  filelog {{
    charon {{
      path = {d}/charon.log
      time_format = %T
      flush_line = yes
      default = 1
      ike = 2
      esp = 2
    }}
  }}
}}
"""

SWANCTL_CONF = """
connections {{
  gw {{
    version = 1
    local_addrs = {client}
    remote_addrs = {gw}
    proposals = {proposals}
    encap = {encap}
    dpd_delay = 0
{extra}
    send_cert = always
    local {{
{local}
    }}
    remote {{
{remote}
    }}
    children {{
      l2tp {{
        mode = tunnel
        local_ts = {client}/32
        remote_ts = {inside_net}
        esp_proposals = aes128-sha1
      }}
    }}
  }}
}}
secrets {{
{secrets}
}}
"""


def psk_auth(client, psk, local_id=None):
    local = f"      auth = psk\n      id = {local_id or client}"
    remote = f"      auth = psk\n      id = {GW_OUT}"
    secrets = f'  ike-gw {{\n    id-1 = {GW_OUT}\n    id-2 = {local_id or client}\n    secret = "{psk}"\n  }}'
    return local, remote, secrets, None


def cert_auth(pki, name):
    """charon with its certificate `name` checks ours against our CA."""
    local = f"      auth = pubkey\n      certs = {pki}/{name}.pem"
    remote = f'      auth = pubkey\n      id = "{GW_DN}"\n      cacerts = {pki}/ca.pem'
    # swanctl loads private keys from private/ beside its swanctl.conf.
    return local, remote, "", f"{pki}/{name}.key"



class Charon:
    """charon in the client namespace with its own /run (it refuses to start
    when /run/charon.pid exists) and its own configuration files."""

    def __init__(self, d, tag, ns=NS_CL, local=CLIENT):
        self.ns, self.local = ns, local
        self.d = os.path.join(d, tag)
        os.makedirs(self.d, exist_ok=True)
        self.proc = None

    def start(self, psk, encap, proposals="aes256-sha1-modp2048", auth=None, fragment_size=1280,
              aggressive=False):
        # charon refuses Aggressive Mode with a PSK unless told it knows the risk.
        extra = "  i_dont_care_about_security_and_use_aggressive_mode_psk = yes" if aggressive else ""
        with open(os.path.join(self.d, "strongswan.conf"), "w") as f:
            f.write(STRONGSWAN_CONF.format(d=self.d, fragment_size=fragment_size, extra=extra))
        local, remote, secrets, key = auth or psk_auth(self.local, psk)
        if key:
            os.makedirs(os.path.join(self.d, "private"), exist_ok=True)
            shutil.copy(key, os.path.join(self.d, "private", "peer.key"))
        with open(os.path.join(self.d, "swanctl.conf"), "w") as f:
            f.write(SWANCTL_CONF.format(client=self.local, gw=GW_OUT, inside_net=INSIDE_NET,
                                        encap="yes" if encap else "no",
                                        proposals=proposals, local=local, remote=remote, secrets=secrets,
                                        extra="    aggressive = yes" if aggressive else ""))
        env = dict(os.environ, STRONGSWAN_CONF=os.path.join(self.d, "strongswan.conf"))
        script = "mount -t tmpfs tmpfs /run && exec /usr/lib/ipsec/charon"
        self.proc = subprocess.Popen(["ip", "netns", "exec", self.ns, "unshare", "-m", "sh", "-c", script],
                                     stdout=open(os.path.join(self.d, "charon.out"), "w"),
                                     stderr=subprocess.STDOUT, env=env)
        for _ in range(100):
            if os.path.exists(os.path.join(self.d, "charon.vici")):
                break
            time.sleep(0.1)
        return self.swanctl("--load-all", "--file", os.path.join(self.d, "swanctl.conf"))

    def swanctl(self, *args, timeout=60):
        # swanctl takes the command first, then its options.
        cmd = ["ip", "netns", "exec", self.ns, "swanctl", args[0], "--uri", f"unix://{self.d}/charon.vici",
               *args[1:]]
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return 124, ""
        return r.returncode, r.stdout + r.stderr

    def log(self):
        try:
            with open(os.path.join(self.d, "charon.log")) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def stop(self):
        if self.proc:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def ping_inside(ns, local, count):
    """Pings from `local` in ns to the inside host; how many were answered."""
    r = sh("ip", "netns", "exec", ns, "ping", "-n", "-c", str(count), "-i", "0.2", "-W", "2", "-I", local,
           INSIDE_HOST, check_rc=False)
    m = re.search(r"(\d+) received", r.stdout)
    return int(m.group(1)) if m else 0


def sa_packets(gw):
    """Packets counted so far on each of the data plane's SAs with CLIENT."""
    return {(s["direction"], s["spi_hex"]): s["counters"]["packets"]
            for s in gw.ctl_list("sa") if s.get("peer") == CLIENT}


def tunnel_carries(gw, charon, what, count=5):
    """Pings from charon's side to the inside host through the tunnel-mode
    SAs: all answered, and the SAs with charon counted them both ways."""
    drops0 = gw.drops()
    before = sa_packets(gw)
    # The first packet toward the inside host waits on ARP in the data plane.
    ping_inside(charon.ns, charon.local, 2)
    got = ping_inside(charon.ns, charon.local, count)
    check(got == count, f"{what}: {got} of {count} pings from {charon.local} to the inside host "
          f"{INSIDE_HOST} answered through the tunnel")
    after = sa_packets(gw)
    moved = {d: sum(n - before.get((dd, spi), 0) for (dd, spi), n in after.items() if dd == d) for d in ("in", "out")}
    check(moved["in"] >= count and moved["out"] >= count,
          f"{what}: the data plane's SAs with {CLIENT} carried them (in {moved['in']}, out {moved['out']} packets)")
    drops1 = gw.drops()
    for reason in ("esp_auth", "esp_unknown_spi", "esp_tunnel_selector", "esp_next_header"):
        check(drops1.get(reason, 0) == drops0.get(reason, 0), f"{what}: no {reason} drop")


def our_rekey(gw, charon):
    """A rekey the gateway starts (l2tpgwctl ike-rekey): charon answers our
    Quick Mode as the responder, its ESP then arrives on the new pair, and
    our Delete of the old pair reaches it."""
    print("== a rekey started by us (l2tpgwctl ike-rekey), charon the responder")
    before = len(gw.log())
    old = {s["spi_hex"] for s in gw.ctl_list("sa") if s.get("peer") == CLIENT}
    out = gw.ctl("ike-rekey", CLIENT)
    check("rekeying 1 IPsec SA pair" in out, f"l2tpgwctl ike-rekey {CLIENT}: {out.strip()}")
    check(wait_for(lambda: "removed: replaced by our rekey" in gw.log()[before:], 20),
          "our log: the old pair removed, replaced by our rekey")
    log = gw.log()[before:]
    check("Quick Mode started by us" in log, "our log: Quick Mode started by us")
    new = re.findall(rf"IPsec SA established with {CLIENT}: .*SPIs in (0x[0-9a-f]+) out (0x[0-9a-f]+)", log)
    check(len(new) == 1, f"our log: one new IPsec SA established ({new})")
    check(wait_for(lambda: "received DELETE for ESP CHILD_SA" in charon.log(), 10),
          "charon received our Delete of the old pair")
    established = re.findall(r"CHILD_SA \S+ established with SPIs", charon.log())
    check(len(established) >= 2, f"charon established the new CHILD_SA as responder ({len(established)} in its log)")
    now = {s["spi_hex"] for s in gw.ctl_list("sa") if s.get("peer") == CLIENT}
    check(len(new) == 1 and set(new[0]) == now and not (now & old),
          f"the data plane holds the new pair only: {sorted(now)} (old {sorted(old)})")
    tunnel_carries(gw, charon, "after our rekey")


def our_phase1_rekey(gw, charon):
    """A phase-1 rekey the gateway starts (l2tpgwctl ike-rekey PEER phase1):
    a Main Mode from us, charon the responder (from our port 4500, as
    charon fakes a NAT); the new IKE SA carries the IPsec pair, our Delete
    of the old one over itself reaches charon, and ESP keeps flowing."""
    print("== a phase-1 rekey started by us (l2tpgwctl ike-rekey PEER phase1), charon the responder")
    before = len(gw.log())
    charon_before = len(charon.log())
    pairs = {s["spi_hex"] for s in gw.ctl_list("sa") if s.get("peer") == CLIENT}
    out = gw.ctl("ike-rekey", CLIENT, "phase1")
    check("rekeying 1 IKE SA" in out, f"l2tpgwctl ike-rekey {CLIENT} phase1: {out.strip()}")
    check(wait_for(lambda: "replaced by our phase-1 rekey" in gw.log()[before:], 20),
          "our log: the old IKE SA deleted, replaced by our phase-1 rekey")
    log = gw.log()[before:]
    check("rekeying the IKE SA with " + CLIENT in log, "our log: Main Mode started by us")
    line = next((l for l in log.splitlines() if "IKE SA established with" in l), "")
    check(f"IKE SA established with {CLIENT} (ID " in line and line.endswith("phase-1 rekey started by us"),
          f"our log: the new IKE SA, our rekey: {line.strip()}")
    check("failed" not in log and "removed" not in log, "nothing failed, no IPsec SA removed")
    if "auth RSA signature" in line:
        check(f"authentication of '{GW_DN}' with RSA_EMSA_PKCS1_NULL successful" in charon.log()[charon_before:],
              "charon verified our certificate and SIG_I")
        # Our message 5 carries the certificate: above fragment_size = 576.
        check("reassembled fragmented IKE message" in charon.log()[charon_before:],
              "we sent our message 5 in IKE fragments and charon reassembled them")
    check(wait_for(lambda: "received DELETE for IKE_SA" in charon.log()[charon_before:], 10),
          "charon received our Delete of the old IKE SA")
    rc, sas = charon.swanctl("--list-sas")
    print(sas)
    ike_sas = re.findall(r"ESTABLISHED, IKEv1, ([0-9a-f]+)_i(\*?) ([0-9a-f]+)_r(\*?)", sas)
    check(len(ike_sas) == 1 and ike_sas[0][3] == "*",
          f"charon lists one IKE SA, the new one, where it is the responder: {ike_sas}")
    check("l2tp: #" in sas and "INSTALLED" in sas, "charon's CHILD_SA is still installed")
    ike = gw.ctl("ike")
    print(ike)
    check("main-ours" in ike and "established" in ike, "l2tpgwctl ike shows the IKE SA as ours (main-ours)")
    now = {s["spi_hex"] for s in gw.ctl_list("sa") if s.get("peer") == CLIENT}
    check(now == pairs, f"the data plane holds the same pair: {sorted(now)} (before {sorted(pairs)})")
    tunnel_carries(gw, charon, "after our phase-1 rekey")


def peer_rekeys(gw, charon):
    """Rekeys charon starts: phase 2 (a Quick Mode on the same ISAKMP SA),
    then phase 1 (IKEv1 has no rekey in place: a new Main Mode; charon
    keeps its IPsec SAs, now under the new ISAKMP SA, and the old one
    until it hangs up)."""
    print("== rekeys started by charon: phase 2, then phase 1")
    before = len(gw.log())
    rc, out = charon.swanctl("--rekey", "--child", "l2tp")
    check(rc == 0, f"swanctl --rekey --child: exit {rc}")
    check(wait_for(lambda: f"IPsec SA established with {CLIENT}" in gw.log()[before:], 20),
          "phase 2: a new IPsec SA established on charon's Quick Mode")
    tunnel_carries(gw, charon, "after charon's phase-2 rekey")
    before = len(gw.log())
    rc, out = charon.swanctl("--rekey", "--ike", "gw", "--reauth")
    check(rc == 0, f"swanctl --rekey --ike --reauth: exit {rc}")
    check(wait_for(lambda: f"IKE SA established with {CLIENT} " in gw.log()[before:], 20),
          "phase 1: a new IKE SA established on charon's Main Mode")
    check(len(re.findall(rf"IKE SA established with {CLIENT} ", gw.log()[before:])) == 1,
          "phase 1: exactly one new IKE SA in our log")
    tunnel_carries(gw, charon, "after charon's phase-1 rekey")
    # charon keeps its IPsec SAs and moves them to the new ISAKMP SA: the
    # Deletes of its hang-up come over the new one (checked below: the
    # pairs leave the data plane).


def run_case(gw, d, tag, behind_nat, pki=None, fragment_size=1280, aggressive=False):
    where = f"behind a masquerading NAT ({PRIVATE} as {CLIENT})" if behind_nat else "direct"
    method = "RSA signatures (X.509)" if pki else "PSK"
    mode = "Aggressive Mode" if aggressive else "Main Mode"
    print(f"== charon, IKEv1 {mode} {method}, tunnel mode, NAT-T, {where}")
    # kernel-libipsec cannot receive raw ESP and fakes a NAT itself when
    # there is none, so charon always floats to 4500 and asks for UDP
    # encapsulation.
    charon = Charon(d, tag, NS_PV, PRIVATE) if behind_nat else Charon(d, tag)
    if pki:
        auth = cert_auth(pki, "phone" if aggressive else "client")
    else:
        auth = psk_auth(charon.local, AM_PSK, AM_ID) if aggressive else None
    rc, out = charon.start(PSK, encap=True, auth=auth, fragment_size=fragment_size, aggressive=aggressive)
    check(rc == 0 and "loaded connection 'gw'" in out, f"swanctl loaded the connection: {out.strip()[-300:]}")
    before = gw.log()
    rc, out = charon.swanctl("--initiate", "--child", "l2tp", "--timeout", "30")
    check(rc == 0, f"charon reports the CHILD_SA established (exit {rc})")
    # charon reports success once it sent HASH(3); we may still be on it.
    wait_for(lambda: "IPsec SA established with " in gw.log()[len(before):], 10)
    log = gw.log()[len(before):]
    peer_id = (AM_CLIENT_DN if aggressive else CLIENT_DN) if pki else AM_ID if aggressive else charon.local
    line = next((l for l in log.splitlines() if "IKE SA established with" in l), "")
    check(f"IKE SA established with {CLIENT} (ID {peer_id})" in line and
          line.endswith(", Aggressive Mode") == aggressive,
          f"our log: IKE SA established ({mode}), with charon's ID: {line.strip()}")
    if pki:
        check(f"auth RSA signature (certificate {peer_id}, issued by {CA_DN})" in log,
              "the line names the method: RSA signature, with the certificate")
        check(wait_for(lambda: f"authentication of '{GW_DN}' with RSA_EMSA_PKCS1_NULL successful"
                       in charon.log(), 5),
              "charon verified our certificate and SIG_R (raw PKCS#1 v1.5, RSA_EMSA_PKCS1_NULL)")
        if fragment_size < 1280:
            line = next((l for l in charon.log().splitlines() if "splitting IKE message" in l), "")
            check(line != "", f"charon sent IKE fragments and we reassembled them: {line.strip()}")
        line = next((l for l in charon.log().splitlines() if "reassembled fragmented IKE message" in l), "")
        check(line != "", f"we sent message {2 if aggressive else 6} in IKE fragments and charon "
              f"reassembled them: {line.strip()}")
    else:
        check("auth pre-shared key" in log, "the line names the method: pre-shared key")
    check("NAT: peer behind NAT" in log, "our log names the NAT status ('peer behind NAT')")
    check("IPsec SA established with " + CLIENT in log, "our log: IPsec SA established (Quick Mode)")
    check("tunnel, NAT-T udp 4500" in log, "the IPsec line says 'tunnel, NAT-T udp 4500'")
    check(f"tunnel {charon.local}/32 <-> {INSIDE_NET}" in log,
          f"the IPsec line names the prefixes: tunnel {charon.local}/32 <-> {INSIDE_NET}")
    sa = gw.ctl("sa")
    check(sa.count(CLIENT) >= 2, "the SA pair is in the data plane (l2tpgwctl sa)")
    mine = [s for s in gw.ctl_list("sa") if s.get("peer") == CLIENT]
    check(len(mine) == 2 and all((s.get("mode"), s.get("peer_net"), s.get("local_net")) ==
                                 ("tunnel", f"{charon.local}/32", INSIDE_NET) for s in mine),
          f"both SAs are tunnel mode with charon's and the inside prefixes in the data plane: "
          f"{[(s.get('mode'), s.get('peer_net'), s.get('local_net')) for s in mine]}")
    ike = gw.ctl("ike")
    check("established" in ike and "aes-cbc-128/hmac-sha1-96" in ike,
          "l2tpgwctl ike lists the IKE SA and the IPsec SA")
    check(("aggressive" if aggressive else "main") in ike, f"l2tpgwctl ike shows the mode ({mode})")
    print(ike)
    tunnel_carries(gw, charon, "after Quick Mode")
    if tag == "direct":
        our_rekey(gw, charon)
        our_phase1_rekey(gw, charon)
        peer_rekeys(gw, charon)
    if tag in ("nat", "cert-direct"):
        our_phase1_rekey(gw, charon)
    # Charon deletes its CHILD_SA and IKE_SA: the SAs leave the data plane.
    rc, out = charon.swanctl("--terminate", "--ike", "gw", "--timeout", "10")
    check(wait_for(lambda: "deleted by the peer" in gw.log()[len(before):], 10),
          "charon's Delete reached us and was logged")
    check(wait_for(lambda: CLIENT not in gw.ctl("sa"), 10), "the SA pair left the data plane")
    charon.stop()
    return charon


def run_wrong_psk(gw, d):
    print("== charon with a wrong pre-shared key")
    charon = Charon(d, "wrong")
    charon.start("not the gateway's key 42", False)
    before = gw.log()
    charon.swanctl("--initiate", "--child", "l2tp", "--timeout", "15")
    check(wait_for(lambda: "pre-shared key mismatch" in gw.log()[len(before):], 15),
          "our log names the cause: pre-shared key mismatch")
    check("not the gateway" not in gw.log(), "the key itself is not logged")
    charon.stop()
    return charon


def run_aggressive_refused(gw, d):
    print(f"== charon in Aggressive Mode as {AM_REFUSED_ID}, an ID not enabled for it")
    charon = Charon(d, "am-refused")
    charon.start(AM_PSK, True, auth=psk_auth(CLIENT, AM_PSK, AM_REFUSED_ID), aggressive=True)
    before = gw.log()
    charon.swanctl("--initiate", "--child", "l2tp", "--timeout", "15")
    expect = f"Aggressive Mode from {CLIENT} (ID {AM_REFUSED_ID}) refused: not enabled for this peer"
    check(wait_for(lambda: expect in gw.log()[len(before):], 15), f"our log: {expect}")
    log = gw.log()[len(before):]
    check("IKE SA established" not in log and "Aggressive Mode with" not in log,
          "nothing else: no exchange went on")
    check(AM_PSK not in gw.log(), "the key itself is not logged")
    check(log.count(expect) == 1, f"one line for charon's message 1 and its retransmissions ({log.count(expect)})")
    ike = gw.ctl("ike")
    m = re.search(r"(\d+) Aggressive Mode not enabled", ike)
    check(m is not None and int(m.group(1)) >= 1,
          f"l2tpgwctl ike counts the refusals ({m.group(0) if m else 'no counter'})")
    charon.stop()
    return charon


def run_md5_only(gw, d):
    print("== charon offering only MD5 in phase 1")
    charon = Charon(d, "md5")
    charon.start(PSK, False, proposals="aes128-md5-modp2048")
    before = gw.log()
    charon.swanctl("--initiate", "--child", "l2tp", "--timeout", "15")
    check(wait_for(lambda: "no proposal chosen" in gw.log()[len(before):], 15),
          "our log names the cause: no proposal chosen")
    line = next((l for l in gw.log()[len(before):].splitlines() if "no proposal chosen" in l), "")
    check("MD5 refused" in line and "configured [" in line,
          "the line shows what was offered (MD5 refused) and what is configured")
    charon.stop()
    return charon


def run_cert_refused(gw, d, pki, name, expect):
    print(f"== charon with the certificate '{name}': {expect}")
    charon = Charon(d, "cert-" + name)
    charon.start(PSK, True, auth=cert_auth(pki, name))
    before = gw.log()
    charon.swanctl("--initiate", "--child", "l2tp", "--timeout", "15")
    check(wait_for(lambda: expect in gw.log()[len(before):], 15), f"our log names the cause: {expect}")
    line = next((l for l in gw.log()[len(before):].splitlines() if expect in l), "")
    print(line)
    check(f"Main Mode with {CLIENT} failed: {expect}" in line, "one line, naming the peer")
    check("PRIVATE KEY" not in gw.log(), "no key material in our log")
    charon.stop()
    return charon


def main():
    build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build")
    if (not os.path.exists("/usr/lib/ipsec/charon") or shutil.which("swanctl") is None or
            shutil.which("ethtool") is None or shutil.which("nft") is None or shutil.which("pki") is None):
        print("strongSwan missing (scripts/setup.sh installs it)")
        return 1
    d = tempfile.mkdtemp(prefix="l2tpgw-ike-")
    gw = Gateway(build, d, NS_GW, "ike")
    pki = make_pki(d)
    with open(gw.conf, "w") as f:
        f.write(config(d))
    netns_setup()
    charons = []
    try:
        if not check(gw.start(), "data plane and control plane up and synced"):
            return 1
        charons.append(run_case(gw, d, "direct", False))
        charons.append(run_case(gw, d, "nat", True))
        charons.append(run_wrong_psk(gw, d))
        charons.append(run_md5_only(gw, d))
        check(f"peer ID {AM_ID} may use Aggressive Mode: its message 2 exposes a hash of the "
              "pre-shared key to offline guessing" in gw.log(), "the warning for the enabled peer at start")
        charons.append(run_case(gw, d, "aggressive", False, aggressive=True))
        charons.append(run_aggressive_refused(gw, d))
        charons.append(run_case(gw, d, "cert-direct", False, pki))
        # Behind the NAT charon also splits message 5 (its ID, certificate
        # and signature) in IKE fragments, which we reassemble.
        charons.append(run_case(gw, d, "cert-nat", True, pki, fragment_size=600))
        # Aggressive Mode with certificates: our message 2 carries our
        # certificate and SIG_R (in IKE fragments), charon's message 3 its
        # certificate and SIG_I.
        charons.append(run_case(gw, d, "cert-aggressive", False, pki, aggressive=True))
        charons.append(run_cert_refused(gw, d, pki, "evil", "certificate not trusted"))
        charons.append(run_cert_refused(gw, d, pki, "revoked", "certificate revoked"))
        print(gw.ctl("drops"))
    finally:
        for c in charons:
            c.stop()
        gw.stop()
        netns_teardown(*NAMESPACES)
        if check.failures:
            print("== control plane log")
            print(gw.log()[-6000:])
            for c in charons:
                print(f"== charon log ({c.d})")
                print(c.log()[-6000:])
        if not os.environ.get("L2TPGW_KEEP"):
            shutil.rmtree(d, ignore_errors=True)
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
