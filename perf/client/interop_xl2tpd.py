#!/usr/bin/python3
"""Interoperability of the client's L2TP control connection with a real
LNS, xl2tpd, in two network namespaces joined by a veth pair
(l2c-lac 10.251.0.2 ↔ l2c-lns 10.251.0.1).

The kernel here has no L2TP or PPP and there is no /dev/ppp, so xl2tpd runs
its L2TP in userspace and cannot start pppd: each case covers the tunnel
(SCCRQ/SCCRP/SCCCN), the session (ICRQ/ICRP/ICCN), what xl2tpd does when
its pppd dies, and a StopCCN that xl2tpd acknowledges. Cases:

  plain        no tunnel secret
  secret       tunnel authentication both ways (RFC 2661 §4.2, §5.1.1),
               xl2tpd hiding its AVPs (§4.3) and sequencing data
  wrong-secret the client must refuse xl2tpd's Challenge Response
  esp, esp-natt the same over ESP with static keys (raw ESP with
               AES-CBC/HMAC-SHA1-96; UDP 4500 with AES-GCM): a relay in the
               LNS namespace decrypts with tests/pipeline/esp.py, hands the
               inner L2TP to xl2tpd, and protects its answers the same way

Prints the AVPs xl2tpd sent and what happened; exit 0 when every case
behaved as stated, 1 otherwise. The namespaces go away even on failure.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

NS_LNS, NS_LAC = "l2c-lns", "l2c-lac"  # netns.Pair("l2c", "10.251.0")
LNS_ADDR, LAC_ADDR = "10.251.0.1", "10.251.0.2"
HERE = os.path.dirname(os.path.abspath(__file__))
CLIENT = os.path.join(os.path.dirname(HERE), "l2tp_client.py")
sys.path.insert(0, os.path.dirname(HERE))
import client  # noqa: E402,F401  (puts tests/pipeline on the path: esp.py)
from client.netns import Pair, sh  # noqa: E402


PAIR = Pair("l2c", "10.251.0")


def setup_namespaces():
    PAIR.setup()


def teardown_namespaces():
    PAIR.teardown()


XL2TPD_CONF = """[global]
listen-addr = {lns}
port = 1701
auth file = {dir}/l2tp-secrets
access control = no
debug avp = yes
debug network = yes
debug state = yes
debug tunnel = yes

[lns default]
ip range = 10.251.1.10-10.251.1.20
local ip = 10.251.1.1
require chap = yes
refuse pap = yes
require authentication = yes
name = interop-lns
pppoptfile = {dir}/options.xl2tpd
length bit = yes
challenge = {challenge}
hidden bit = {hidden}
flow bit = {flow}
"""


class Xl2tpd:
    def __init__(self, secret, hidden, flow):
        self.dir = tempfile.mkdtemp(prefix="l2c-xl2tpd-")
        with open(f"{self.dir}/xl2tpd.conf", "w") as f:
            f.write(XL2TPD_CONF.format(lns=LNS_ADDR, dir=self.dir, challenge="yes" if secret else "no",
                                       hidden="yes" if hidden else "no", flow="yes" if flow else "no"))
        with open(f"{self.dir}/l2tp-secrets", "w") as f:
            f.write(f"* * {secret}\n" if secret else "")
        os.chmod(f"{self.dir}/l2tp-secrets", 0o600)
        with open(f"{self.dir}/options.xl2tpd", "w") as f:
            f.write("require-mschap-v2\nnoccp\nmtu 1400\nmru 1400\n")
        self.log = open(f"{self.dir}/xl2tpd.log", "w")
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", NS_LNS, "xl2tpd", "-D", "-c", f"{self.dir}/xl2tpd.conf",
             "-s", f"{self.dir}/l2tp-secrets", "-p", f"{self.dir}/xl2tpd.pid", "-C", f"{self.dir}/control"],
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        # Ready when it listens on 1701 in its namespace.
        for _ in range(50):
            if "1701" in sh("ip", "netns", "exec", NS_LNS, "ss", "-uln", check=False).stdout:
                return
            time.sleep(0.1)
        raise RuntimeError("xl2tpd did not start listening")

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()
        with open(f"{self.dir}/xl2tpd.log") as f:
            text = f.read()
        shutil.rmtree(self.dir, ignore_errors=True)
        return text


# ------------------------------------------------------------------ ESP relay

def esp_specs(encap):
    """The static SA pair as the LNS side sees it (esp.py's SaSpec, keys
    derived deterministically there)."""
    import esp
    cipher, auth = ("aes-cbc-128", "hmac-sha1-96") if encap == "none" else ("aes-gcm-128", "none")
    return (esp.SaSpec("in", 0xA001, LAC_ADDR, cipher, auth, encap=encap),
            esp.SaSpec("out", 0xB001, LAC_ADDR, cipher, auth, encap=encap))


def client_esp_json(encap, path):
    sa_in, sa_out = esp_specs(encap)
    with open(path, "w") as f:
        json.dump({"encap": encap, "cipher": sa_in.cipher, "integrity": sa_in.auth,
                   "spi_out": sa_in.spi, "cipher_key_out": sa_in.cipher_key.hex(),
                   "integrity_key_out": sa_in.auth_key.hex(),
                   "spi_in": sa_out.spi, "cipher_key_in": sa_out.cipher_key.hex(),
                   "integrity_key_in": sa_out.auth_key.hex()}, f)


def relay(encap, stats_path):
    """Runs in the LNS namespace: ESP from the client → decrypt (esp.py) →
    UDP to xl2tpd from port 1702; xl2tpd's answers → protect (esp.py) →
    the client. Writes its counters to stats_path on SIGTERM."""
    import select
    import socket
    import esp
    from scapy.layers.inet import IP, UDP
    from scapy.packet import Raw

    sa_in, sa_out = esp_specs(encap)
    if encap == "udp":
        outer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        outer.bind((LNS_ADDR, esp.NAT_T_PORT))
    else:
        outer = socket.socket(socket.AF_INET, socket.SOCK_RAW, esp.IPPROTO_ESP)
        outer.bind((LNS_ADDR, 0))
    inner = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    inner.bind((LNS_ADDR, 1702))
    stats = {"decrypted": 0, "failed": 0, "protected": 0, "client_port": None}
    seq = 1

    def stop(*_):
        with open(stats_path, "w") as f:
            json.dump(stats, f)
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    while True:
        ready = select.select([outer, inner], [], [])[0]
        if outer in ready:
            data, (addr, port) = outer.recvfrom(65535)
            if encap == "udp":
                data = bytes(IP(src=addr, dst=LNS_ADDR, proto=17) / UDP(sport=port, dport=esp.NAT_T_PORT)
                             / Raw(data))
            try:
                plain = IP(esp.decrypt(sa_in, data))
                stats["decrypted"] += 1
            except Exception as e:  # a packet that does not decrypt is counted, never passed on
                stats["failed"] += 1
                stats["error"] = str(e)
                continue
            stats["client_port"] = plain[UDP].sport
            inner.sendto(bytes(plain[UDP].payload), (LNS_ADDR, 1701))
        if inner in ready and stats["client_port"] is not None:
            data = inner.recv(65535)
            pkt = IP(src=LNS_ADDR, dst=LAC_ADDR) / UDP(sport=1701, dport=stats["client_port"]) / Raw(data)
            protected = esp.protect(sa_out, pkt, seq)
            seq += 1
            stats["protected"] += 1
            ihl = (protected[0] & 0x0F) * 4
            if encap == "udp":
                outer.sendto(protected[ihl + 8:], (LAC_ADDR, esp.NAT_T_PORT))
            else:
                outer.sendto(protected[ihl:], (LAC_ADDR, 0))


def run_client(secret, sequencing=False, hide=False, esp_json=None):
    cmd = ["ip", "netns", "exec", NS_LAC, sys.executable, CLIENT, "--server", LNS_ADDR, "--local", LAC_ADDR,
           "--user", "alice", "--password", "alicepass", "--auth", "mschapv2", "--trace", "--timeout", "15"]
    if secret:
        cmd += ["--secret", secret]
    if sequencing:
        cmd += ["--sequencing"]
    if hide:
        cmd += ["--hide"]
    if esp_json:
        cmd += ["--esp-config", esp_json]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=90)
    lines = p.stdout.rstrip().splitlines()
    try:
        summary = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        summary = None
    return p.returncode, lines, summary, p.stderr


class Case:
    def __init__(self, name):
        self.name = name
        self.checks = []

    def check(self, what, ok, detail=""):
        self.checks.append((what, bool(ok), detail))
        print(f"  [{'PASS' if ok else 'FAIL'}] {what}{': ' + detail if detail and not ok else ''}")

    @property
    def ok(self):
        return all(ok for _, ok, _ in self.checks)


def received(lines, name):
    """AVP lines of the messages called `name` that the client received."""
    return [ln for ln in lines if ln.strip().startswith(f"received {name} ")]


def case_connect(name, lns_secret, client_secret, hidden, flow, sequencing, hide=False):
    print(f"\n== {name}: xl2tpd challenge={'yes' if lns_secret else 'no'} hidden={hidden} flow={flow}; "
          f"client secret={'set' if client_secret else 'none'} sequencing={sequencing}")
    c = Case(name)
    lns = Xl2tpd(lns_secret, hidden, flow)
    try:
        rc, lines, summary, err = run_client(client_secret, sequencing, hide)
    finally:
        log = lns.stop()
    for ln in lines[:-1]:
        print("   | " + ln)
    if err.strip():
        print("   | stderr: " + err.strip().replace("\n", "\n   | stderr: "))
    c.check("the client printed a JSON summary last", summary is not None)
    if summary is None:
        return c, log
    return c, (log, rc, lines, summary)


def case_esp(name, encap):
    print(f"\n== {name}: L2TP in ESP ({'UDP 4500' if encap == 'udp' else 'IP protocol 50'}), static SAs")
    c = Case(name)
    tmp = tempfile.mkdtemp(prefix="l2c-esp-")
    esp_json, stats_path = f"{tmp}/sa.json", f"{tmp}/relay.json"
    client_esp_json(encap, esp_json)
    lns = Xl2tpd(None, hidden=False, flow=False)
    rel = subprocess.Popen(["ip", "netns", "exec", NS_LNS, sys.executable, os.path.abspath(__file__),
                            "--relay", encap, stats_path], start_new_session=True)
    try:
        for _ in range(50):  # the relay is ready once its socket towards xl2tpd is bound
            if ":1702 " in sh("ip", "netns", "exec", NS_LNS, "ss", "-uln", check=False).stdout:
                break
            time.sleep(0.1)
        rc, lines, s, err = run_client(None, esp_json=esp_json)
    finally:
        os.killpg(rel.pid, signal.SIGTERM)
        rel.wait(5)
        log = lns.stop()
    for ln in lines[:-1]:
        print("   | " + ln)
    if err.strip():
        print("   | stderr: " + err.strip().replace("\n", "\n   | stderr: "))
    try:
        with open(stats_path) as f:
            stats = json.load(f)
    except (OSError, json.JSONDecodeError):
        stats = None
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"  relay: {stats}")
    c.check("the client printed a JSON summary last", s is not None)
    c.check("xl2tpd saw the tunnel come through the relay",
            f"Connection established to {LNS_ADDR}, 1702" in log, log[-800:])
    c.check("the relay decrypted every packet of the client and protected xl2tpd's answers",
            stats is not None and stats["decrypted"] > 0 and stats["failed"] == 0 and stats["protected"] > 0,
            str(stats))
    if s is not None:
        c.check("the client dropped nothing it received through ESP", s.get("esp_dropped") == 0,
                str(s.get("esp_last_error")))
        c.check("tunnel and session up through ESP", s["session"] is not None and s["session"]["peer"] is not None,
                json.dumps(s))
        c.check("xl2tpd acknowledged the StopCCN through ESP", s["clean_disconnect"], json.dumps(s))
    return c


def main():
    if os.geteuid() != 0 or shutil.which("xl2tpd") is None:
        print("needs root and xl2tpd")
        return 1
    cases = []
    try:
        setup_namespaces()

        # 1. No secret: tunnel and session up, then xl2tpd's pppd fails.
        c, res = case_connect("plain", None, None, hidden=False, flow=False, sequencing=False)
        if isinstance(res, tuple):
            log, rc, lines, s = res
            c.check("tunnel up (SCCRP with an Assigned Tunnel ID)", s["reached"] in ("tunnel", "session") or
                    s["tunnel"]["peer"] != 0, json.dumps(s))
            c.check("session up (ICRP with an Assigned Session ID)",
                    s["session"] is not None and s["session"]["peer"] is not None, json.dumps(s))
            c.check("no PPP: xl2tpd cannot start pppd here", s["address"] is None)
            c.check("the client exits 1 and gives the cause", rc == 1 and s["failure"], s["failure"])
            c.check("xl2tpd acknowledged the StopCCN", s["clean_disconnect"], json.dumps(s))
            c.check("xl2tpd's log shows pppd failing", re.search(r"pppd|/dev/ppp|child", log, re.I),
                    log[-500:])
            print("  failure cause: " + str(s["failure"]))
        cases.append(c)

        # 2. Shared secret both ways, hidden AVPs, sequencing.
        c, res = case_connect("secret", "interop-secret", "interop-secret", hidden=True, flow=True,
                              sequencing=True, hide=True)
        if isinstance(res, tuple):
            log, rc, lines, s = res
            c.check("tunnel up after both Challenge Responses checked",
                    any("L2TP tunnel up" in ln for ln in lines), "")
            c.check("the SCCRP carried a Challenge and a Challenge Response",
                    any("Challenge[M]=" in ln and "Challenge Response[M]=" in ln for ln in received(lines, "SCCRP")))
            c.check("the client hid ICRQ/ICCN AVPs", any(ln.strip().startswith("sent ICRQ") and
                                                         "Assigned Session ID[MH]=1" in ln for ln in lines))
            # xl2tpd 1.3.18 reads hidden AVPs but, with "hidden bit", only adds
            # a Random Vector to what it sends: its log shows it revealed ours.
            c.check("xl2tpd revealed our hidden Assigned Session ID and Tx Connect Speed",
                    "using peer's call 1" in log and "transmit baud rate is 100000000" in log, log[-1500:])
            c.check("xl2tpd saw Sequencing Required", "peer requires sequencing" in log)
            c.check("session up", s["session"] is not None and s["session"]["peer"] is not None, json.dumps(s))
            c.check("xl2tpd acknowledged the StopCCN", s["clean_disconnect"], json.dumps(s))
            c.check("xl2tpd's log has no challenge failure", not re.search(r"challenge.*(fail|mismatch|bad)",
                                                                           log, re.I), log[-500:])
        cases.append(c)

        # 4, 5. Over ESP, raw and NAT-T.
        for encap, name in (("none", "esp"), ("udp", "esp-natt")):
            cases.append(case_esp(name, encap))

        # 3. Wrong secret: the client must refuse the SCCRP.
        c, res = case_connect("wrong-secret", "interop-secret", "not-the-secret", hidden=False, flow=False,
                              sequencing=False)
        if isinstance(res, tuple):
            log, rc, lines, s = res
            c.check("the client refused the tunnel", rc == 1 and s["reached"] == "none", json.dumps(s))
            c.check("the cause names the Challenge Response",
                    s["failure"] and "Challenge Response" in s["failure"], str(s["failure"]))
            c.check("the client sent StopCCN result 4 (not authorized)",
                    any(ln.strip().startswith("sent StopCCN") and "Result Code" in ln for ln in lines))
        cases.append(c)
    except Exception as e:  # a broken set-up is a failed run, reported as such
        print(f"interop run broke: {type(e).__name__}: {e}")
        cases.append(Case("setup"))
        cases[-1].checks.append(("setup", False, str(e)))
    finally:
        teardown_namespaces()
    passed = sum(c.ok for c in cases)
    print(f"\ninterop_xl2tpd: {passed} passed, {len(cases) - passed} failed")
    return 0 if passed == len(cases) and cases else 1


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--relay":
        relay(sys.argv[2], sys.argv[3])
    sys.exit(main())
