#!/usr/bin/python3
"""Interoperability of the client's IKEv1 initiator with a real responder,
strongSwan's charon (Debian), in two network namespaces joined by a veth
pair (ssi-lac 10.251.9.2 ↔ ssi-lns 10.251.9.1):

  - Main Mode with a pre-shared key and Quick Mode complete; charon's
    `swanctl --list-sas` shows the IKE SA with our cookies and the CHILD_SA
    with the SPIs our client derived (its inbound is our outbound);
  - ESP works both ways with the keys both derived: this kernel has no
    XFRM, so charon runs its userspace ESP (kernel-libipsec), which does
    tunnel mode only and cannot receive raw ESP, so it fakes a NAT (encap)
    and both sides use UDP 4500. Our client pings 10.77.2.1, an address
    behind charon, from 10.77.1.5 in its own subnet, with the tunnel-mode
    packets built by scapy's SecurityAssociation over our keys;
  - our Deletes remove both SAs from charon.

Exit 0 when every check passed, 1 otherwise, 77 when charon is missing.
The namespaces go away even on failure.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import client  # noqa: E402,F401  (puts tests/pipeline on the path)
from client.netns import Pair, sh  # noqa: E402

PAIR = Pair("ssi", "10.251.9")
LOCAL_NET, REMOTE_NET = "10.77.1.0/24", "10.77.2.0/24"
INNER_SRC, INNER_DST = "10.77.1.5", "10.77.2.1"
PSK = "strongswan interop key 42"
P1, P2 = "aes256-sha1-modp2048", "aes128-sha1"
CHARON = "/usr/lib/ipsec/charon"

STRONGSWAN_CONF = """
charon {{
  load_modular = no
  load = random nonce openssl aes sha1 sha2 hmac kernel-libipsec kernel-netlink socket-default vici
  install_routes = yes
  plugins {{
    kernel-libipsec {{
      allow_peer_ts = yes
    }}
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
      default = 1
      ike = 2
    }}
  }}
}}
"""

SWANCTL_CONF = """
connections {{
  client {{
    version = 1
    local_addrs = {lns}
    remote_addrs = {lac}
    proposals = {p1}
    encap = yes
    dpd_delay = 0
    local {{
      auth = psk
      id = {lns}
    }}
    remote {{
      auth = psk
      id = {lac}
    }}
    children {{
      net {{
        mode = tunnel
        local_ts = {remote_net}
        remote_ts = {local_net}
        esp_proposals = {p2}
      }}
    }}
  }}
}}
secrets {{
  ike-client {{
    id-1 = {lns}
    id-2 = {lac}
    secret = "{psk}"
  }}
}}
"""

RESULTS = []


def check(ok, what):
    RESULTS.append(bool(ok))
    print(f"  [{'PASS' if ok else 'FAIL'}] {what}", flush=True)
    return ok


# ------------------------------------------------------------------ the initiator, inside ssi-lac
def initiator():
    """Runs in the LAC namespace: negotiates, prints the SAs as JSON, pings
    through the tunnel, waits for a line on stdin, hangs up."""
    import dataclasses
    import select
    import struct

    from scapy.layers.inet import ICMP, IP
    from scapy.layers.ipsec import ESP, SecurityAssociation
    from scapy.packet import Raw

    from client.ike import Initiator
    from client.profiles import PROFILES, p1_list, p2_list

    prof = dataclasses.replace(PROFILES["windows"], p1=p1_list(P1), p2=p2_list(P2))
    ike = Initiator(PAIR.lac_addr, PAIR.lns_addr, PSK, prof, log=lambda l: print(l, file=sys.stderr, flush=True),
                    retransmit=1.0, tunnel=(LOCAL_NET, REMOTE_NET))
    ok = ike.connect()
    print(json.dumps({"ok": ok, "failure": ike.failure, "ike": ike.summary() if ok else None}), flush=True)
    if not ok:
        return 1
    e = ike.esp
    names = {"aes-cbc-128": "AES-CBC", "aes-cbc-256": "AES-CBC", "3des-cbc": "3DES",
             "hmac-sha1-96": "HMAC-SHA1-96", "hmac-sha256-128": "SHA2-256-128"}
    out = SecurityAssociation(ESP, spi=e["spi_out"], crypt_algo=names[e["cipher"]],
                              crypt_key=bytes.fromhex(e["cipher_key_out"]), auth_algo=names[e["integrity"]],
                              auth_key=bytes.fromhex(e["integrity_key_out"]),
                              tunnel_header=IP(src=PAIR.lac_addr, dst=PAIR.lns_addr))
    inn = SecurityAssociation(ESP, spi=e["spi_in"], crypt_algo=names[e["cipher"]],
                              crypt_key=bytes.fromhex(e["cipher_key_in"]), auth_algo=names[e["integrity"]],
                              auth_key=bytes.fromhex(e["integrity_key_in"]),
                              tunnel_header=IP(src=PAIR.lns_addr, dst=PAIR.lac_addr))
    sock = ike.esp_socket()
    replies, bad = set(), 0
    for seq in range(5):
        pkt = IP(src=INNER_SRC, dst=INNER_DST) / ICMP(type=8, id=0x5151, seq=seq) / (b"interop" * 8)
        protected = bytes(out.encrypt(pkt))
        sock.sendto(protected[(protected[0] & 0x0F) * 4:], (PAIR.lns_addr, 4500))
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline and seq not in replies:
            if not select.select([sock], [], [], 0.2)[0]:
                continue
            data, _ = sock.recvfrom(65535)
            if len(data) < 8 or data[:4] == b"\0\0\0\0" or struct.unpack("!I", data[:4])[0] != e["spi_in"]:
                continue
            try:
                plain = inn.decrypt(IP(bytes(IP(src=PAIR.lns_addr, dst=PAIR.lac_addr, proto=50) / Raw(data))))
            except Exception:  # scapy raises on a bad ICV: counted, never accepted
                bad += 1
                continue
            if ICMP in plain and plain[ICMP].type == 0 and plain[IP].src == INNER_DST and plain[ICMP].id == 0x5151:
                replies.add(plain[ICMP].seq)
    print(json.dumps({"replies": len(replies), "bad": bad}), flush=True)
    sys.stdin.readline()
    ike.hang_up()
    ike.close()
    return 0


# ------------------------------------------------------------------ the responder and the checks
def swanctl(d, *args):
    r = subprocess.run(PAIR.exec(PAIR.lns) + ["swanctl", args[0], "--uri", f"unix://{d}/charon.vici", *args[1:]],
                       capture_output=True, text=True, timeout=30)
    return r.returncode, r.stdout + r.stderr


def start_charon(d):
    with open(os.path.join(d, "strongswan.conf"), "w") as f:
        f.write(STRONGSWAN_CONF.format(d=d))
    with open(os.path.join(d, "swanctl.conf"), "w") as f:
        f.write(SWANCTL_CONF.format(lns=PAIR.lns_addr, lac=PAIR.lac_addr, p1=P1, p2=P2, psk=PSK,
                                    local_net=LOCAL_NET, remote_net=REMOTE_NET))
    env = dict(os.environ, STRONGSWAN_CONF=os.path.join(d, "strongswan.conf"))
    # Its own /run: charon refuses to start while /run/charon.pid exists.
    proc = subprocess.Popen(PAIR.exec(PAIR.lns) + ["unshare", "-m", "sh", "-c",
                                                   f"mount -t tmpfs tmpfs /run && exec {CHARON}"],
                            stdout=open(os.path.join(d, "charon.out"), "w"), stderr=subprocess.STDOUT, env=env)
    for _ in range(100):
        if os.path.exists(os.path.join(d, "charon.vici")):
            break
        time.sleep(0.1)
    rc, out = swanctl(d, "--load-all", "--file", os.path.join(d, "swanctl.conf"))
    return proc, rc == 0 and "loaded connection 'client'" in out


def run(d):
    proc, loaded = start_charon(d)
    try:
        if not check(loaded, "charon started and loaded the responder's connection"):
            return
        # Something behind charon to ping: an address of its namespace.
        sh("ip", "-n", PAIR.lns, "addr", "add", f"{INNER_DST}/32", "dev", "lo")
        inner = subprocess.Popen(PAIR.exec(PAIR.lac) + ["/usr/bin/python3", os.path.abspath(__file__), "--initiator"],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            first = json.loads(inner.stdout.readline() or "{}")
            ike = first.get("ike") or {}
            if not check(first.get("ok"), f"Main Mode and Quick Mode completed with charon ({first.get('failure')})"):
                return
            print(f"  ours: {json.dumps(ike)}")
            check(ike.get("natt") == "rfc3947" and ike.get("udp_encap") and ike.get("encap_mode") == 3,
                  "NAT-T RFC 3947 agreed, charon's faked NAT seen, UDP-encapsulated tunnel mode (3)")
            rc, sas = swanctl(d, "--list-sas")
            print("\n".join(l for l in sas.splitlines() if not l.startswith("plugin '")))
            icky, rcky = ike["cookies"].split(":")
            check(f"{icky}_i" in sas and f"{rcky}_r" in sas and "ESTABLISHED" in sas,
                  "swanctl --list-sas: the IKE SA is established, with our cookies")
            # charon's "in" is the SPI it receives on: the one we send to.
            check(f"in  {ike['spi_out'][2:]}" in sas and f"out {ike['spi_in'][2:]}" in sas and "INSTALLED" in sas,
                  f"swanctl --list-sas: the CHILD_SA is installed with our SPIs (in {ike['spi_out']}, "
                  f"out {ike['spi_in']})")
            check("AES_CBC-128/HMAC_SHA1_96" in sas and LOCAL_NET in sas and REMOTE_NET in sas,
                  "the CHILD_SA has the transform and the subnets we asked for")
            ping = json.loads(inner.stdout.readline() or "{}")
            check(ping.get("replies") == 5 and ping.get("bad") == 0,
                  f"5 echo requests through ESP tunnel mode, {ping.get('replies')} replies decrypted, "
                  f"{ping.get('bad')} refused")
            inner.stdin.write("bye\n")
            inner.stdin.flush()
            inner.wait(20)
            gone = False
            for _ in range(50):
                rc, sas = swanctl(d, "--list-sas")
                if ike["spi_out"][2:] not in sas and icky not in sas:
                    gone = True
                    break
                time.sleep(0.2)
            check(gone, "after our Deletes charon lists neither SA")
        finally:
            if inner.poll() is None:
                inner.kill()
            err = inner.communicate()[1]
            print("  client: " + "\n  client: ".join(err.strip().splitlines()))
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        if not all(RESULTS):
            try:
                with open(os.path.join(d, "charon.log")) as f:
                    print(f.read()[-6000:])
            except FileNotFoundError:
                pass


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--initiator":
        return initiator()
    if not os.path.exists(CHARON) or shutil.which("swanctl") is None:
        print("strongSwan's charon or swanctl missing: skipped")
        return 77
    d = tempfile.mkdtemp(prefix="l2tpgw-ssi-")
    PAIR.setup()
    try:
        print("== our IKEv1 initiator against charon (responder, PSK, tunnel mode)")
        run(d)
    finally:
        PAIR.teardown()
        shutil.rmtree(d, ignore_errors=True)
    passed = sum(RESULTS)
    print(f"interop_strongswan: {passed} passed, {len(RESULTS) - passed} failed")
    return 0 if RESULTS and all(RESULTS) else 1


if __name__ == "__main__":
    sys.exit(main())
