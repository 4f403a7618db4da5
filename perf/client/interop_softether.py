#!/usr/bin/python3
"""Interoperability of the whole client — L2TP, LCP, PAP / MS-CHAPv2,
IPCP, IPv4 — with a real LNS that runs PPP in userspace: SoftEther VPN
Server (Debian softether-vpnserver + softether-vpncmd) in its "raw L2TP"
mode (L2TP without IPsec), a virtual hub with one user and SecureNAT,
whose virtual host 192.168.30.1 answers the pings and whose DHCP gives the
address IPCP hands out.

SoftEther runs in the namespace l2c-se-lns (10.251.2.1) with its state
directories on tmpfs in a private mount namespace; the client runs the CLI
from l2c-se-lac (10.251.2.2). Cases:

  mschapv2      up, the server's authenticator response checked, 5 pings
  pap           up, 3 pings
  sequencing    MS-CHAPv2 with Sequencing Required (RFC 2661 §5.4), 3 pings
  echo          10 s up: SoftEther's LCP Echo-Requests answered
  chap          SoftEther has no CHAP-MD5: a refusal whose cause names
                what the server offered
  bad-password  MS-CHAPv2 failure with the server's error code
  mppe          SoftEther has no CCP: refused with that cause

Exit 0 when every case behaved as stated, 1 otherwise, 77 when SoftEther
is not installed (nothing was tested).
"""

import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENT = os.path.join(os.path.dirname(HERE), "l2tp_client.py")
sys.path.insert(0, os.path.dirname(HERE))
from client.netns import Pair, sh  # noqa: E402

VPNSERVER = "/usr/libexec/softether/vpnserver/vpnserver"
PAIR = Pair("l2c-se", "10.251.2")
HUB, USER, PASSWORD = "L2C", "alice", "alice-pass-1"
VIRTUAL_HOST = "192.168.30.1"  # SecureNAT's defaults
STATE_DIRS = ("/var/lib/softether", "/var/log/softether", "/run/softether")


class SoftEther:
    def __init__(self):
        for d in STATE_DIRS:
            os.makedirs(d, exist_ok=True)  # mount points; the server's files go to tmpfs over them
        script = "; ".join(f"mount -t tmpfs l2c-se {d}" for d in STATE_DIRS) + f"; exec {VPNSERVER} execsvc"
        self.log = open("/tmp/l2c-softether.log", "w")
        self.proc = subprocess.Popen(PAIR.exec(PAIR.lns) + ["unshare", "-m", "--propagation", "private",
                                                            "sh", "-c", script],
                                     stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        for _ in range(100):
            if self.cmd("ServerInfoGet", check=False).returncode == 0:
                break
            time.sleep(0.2)
        else:
            raise RuntimeError("SoftEther's admin port did not answer")
        self.cmd("HubCreate", HUB, "/PASSWORD:hub-admin-pass")
        self.cmd("UserCreate", USER, "/GROUP:none", "/REALNAME:none", "/NOTE:none", hub=HUB)
        self.cmd("UserPasswordSet", USER, f"/PASSWORD:{PASSWORD}", hub=HUB)
        self.cmd("SecureNatEnable", hub=HUB)
        self.cmd("VpnAzureSetEnable", "no")
        self.cmd("IPsecEnable", "/L2TP:no", "/L2TPRAW:yes", "/ETHERIP:no", "/PSK:unused-psk", f"/DEFAULTHUB:{HUB}")
        for _ in range(50):
            if ":1701 " in sh(*PAIR.exec(PAIR.lns), "ss", "-uln", check=False).stdout:
                return
            time.sleep(0.1)
        raise RuntimeError("SoftEther does not listen on UDP 1701")

    def cmd(self, *args, hub=None, check=True):
        argv = PAIR.exec(PAIR.lns) + ["vpncmd", "localhost:5555", "/SERVER"]
        if hub:
            argv.append(f"/ADMINHUB:{hub}")
        argv += ["/CMD"] + list(args)
        p = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        if check and p.returncode != 0:
            raise RuntimeError(f"vpncmd {' '.join(args)}: {p.stdout[-300:]}")
        return p

    def stop(self):
        PAIR.teardown()  # ends vpnserver (it forks a watchdog and a worker) with the namespaces
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            pass
        self.log.close()


def run_client(*extra):
    cmd = PAIR.exec(PAIR.lac) + [sys.executable, CLIENT, "--server", PAIR.lns_addr, "--local", PAIR.lac_addr,
                                 "--user", USER, "--timeout", "20", "--trace"] + list(extra)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    lines = p.stdout.rstrip().splitlines()
    try:
        summary = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        summary = None
    for ln in lines[:-1]:
        print("   | " + ln)
    if p.stderr.strip():
        print("   | stderr: " + p.stderr.strip().replace("\n", "\n   | stderr: "))
    return p.returncode, lines, summary


RESULTS = []


def check(case, what, ok, detail=""):
    RESULTS.append(bool(ok))
    print(f"  [{'PASS' if ok else 'FAIL'}] {case}: {what}{'' if ok or not detail else ': ' + str(detail)}")


def main():
    if not (os.path.exists(VPNSERVER) and subprocess.run(["which", "vpncmd"], capture_output=True).returncode == 0):
        print("interop_softether: softether-vpnserver and softether-vpncmd are not installed: nothing tested")
        return 77
    try:
        PAIR.setup()
        server = SoftEther()
        try:
            print("\n== mschapv2")
            rc, lines, s = run_client("--password", PASSWORD, "--auth", "mschapv2", "--ping", VIRTUAL_HOST,
                                      "--count", "5")
            check("mschapv2", "exit 0 and a summary", rc == 0 and s is not None, s)
            if s:
                check("mschapv2", "authenticated, SoftEther's authenticator response verified",
                      s["auth"] == "mschapv2" and any(ln == "authenticated with MS-CHAPv2" for ln in lines))
                check("mschapv2", "IPCP address from SecureNAT's DHCP",
                      (s["address"] or "").startswith("192.168.30."), s["address"])
                check("mschapv2", "5 of 5 pings answered through the tunnel",
                      s["pings_sent"] == 5 and s["pings_received"] == 5, s)
                check("mschapv2", "clean hang-up (Terminate, CDN, StopCCN)", s["clean_disconnect"] and
                      any("Terminate-Ack" in ln for ln in lines), s)

            print("\n== pap")
            rc, lines, s = run_client("--password", PASSWORD, "--auth", "pap", "--ping", VIRTUAL_HOST, "--count", "3")
            check("pap", "up, 3 of 3 pings, clean hang-up", rc == 0 and s and s["auth"] == "pap" and
                  s["pings_received"] == 3 and s["clean_disconnect"], s)

            print("\n== sequencing")
            rc, lines, s = run_client("--password", PASSWORD, "--auth", "mschapv2", "--sequencing", "--ping",
                                      VIRTUAL_HOST, "--count", "3")
            check("sequencing", "Sequencing Required in ICCN: up, 3 of 3 pings, clean hang-up", rc == 0 and s and
                  s["pings_received"] == 3 and s["clean_disconnect"] and
                  any("sent ICCN" in ln and "Sequencing Required" in ln for ln in lines), s)

            print("\n== echo")
            # SoftEther sends an LCP Echo-Request every few seconds once the
            # link is up, with Magic-Number rejected: replies carry magic 0.
            rc, lines, s = run_client("--password", PASSWORD, "--auth", "mschapv2", "--hold", "10")
            opened = next((i for i, ln in enumerate(lines) if ln.startswith("PPP LCP opened")), len(lines))
            requests = sum("received LCP Echo-Request" in ln for ln in lines[opened:])
            replies = sum("sent LCP Echo-Reply" in ln for ln in lines[opened:])
            check("echo", "held 10 s: every Echo-Request after LCP opened answered, link stayed up",
                  rc == 0 and s and s["clean_disconnect"] and requests > 0 and replies == requests,
                  f"requests {requests} replies {replies} summary {s}")

            print("\n== chap")
            rc, lines, s = run_client("--password", PASSWORD, "--auth", "chap")
            check("chap", "refused, the cause names what the server offered", rc == 1 and s and
                  "MS-CHAPv2" in (s["failure"] or "") and "CHAP-MD5" in (s["failure"] or ""), s and s["failure"])

            print("\n== bad-password")
            rc, lines, s = run_client("--password", "wrong-password", "--auth", "mschapv2")
            check("bad-password", "refused with the server's MS-CHAPv2 failure", rc == 1 and s and
                  "MS-CHAPv2" in (s["failure"] or "") and "refused" in (s["failure"] or ""), s and s["failure"])

            print("\n== mppe")
            rc, lines, s = run_client("--password", PASSWORD, "--auth", "mschapv2", "--mppe", "128")
            check("mppe", "refused: no CCP at the server", rc == 1 and s and "CCP" in (s["failure"] or ""),
                  s and s["failure"])
        finally:
            server.stop()
    except Exception as e:  # a broken set-up is a failed run, reported as such
        print(f"interop run broke: {type(e).__name__}: {e}")
        RESULTS.append(False)
    finally:
        PAIR.teardown()
    passed = sum(RESULTS)
    print(f"\ninterop_softether: {passed} passed, {len(RESULTS) - passed} failed")
    return 0 if RESULTS and all(RESULTS) else 1


if __name__ == "__main__":
    sys.exit(main())
