"""What every system test shares: checks that are counted, shell calls,
network namespaces that are torn down with whatever runs in them, and the
gateway's two processes started on af_packet ports inside a namespace.

Each test names its own namespaces, channel and file prefix, so that two
tests never touch each other's state."""

import json
import os
import re
import subprocess
import time


class Checks:
    def __init__(self):
        self.failures = []

    def __call__(self, ok, what):
        print(f"  [{'PASS' if ok else 'FAIL'}] {what}")
        if not ok:
            self.failures.append(what)
        return ok

    def summary(self):
        print(f"{len(self.failures)} failed" if self.failures else "all passed")
        return 1 if self.failures else 0


def sh(*cmd, check_rc=True):
    return subprocess.run(cmd, check=check_rc, capture_output=True, text=True)


def wait_for(pred, seconds=10.0):
    end = time.time() + seconds
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.2)
    return pred()


def netns_teardown(*namespaces):
    """Kills what runs in the namespaces, then deletes them."""
    for ns in namespaces:
        for pid in sh("ip", "netns", "pids", ns, check_rc=False).stdout.split():
            try:
                os.kill(int(pid), 9)
            except (ProcessLookupError, ValueError):
                pass
        sh("ip", "netns", "del", ns, check_rc=False)


def netns_create(*namespaces):
    netns_teardown(*namespaces)
    for ns in namespaces:
        sh("ip", "netns", "add", ns)
        sh("ip", "-n", ns, "link", "set", "lo", "up")


def pings_answered(ns, address, count=3):
    """How many of `count` pings from namespace `ns` to `address` were
    answered. Each may take 5 s: the answer comes from a client process on
    a machine the test shares."""
    r = sh("ip", "netns", "exec", ns, "ping", "-c", str(count), "-i", "0.3", "-W", "5", address,
           check_rc=False)
    m = re.search(r"(\d+) received", r.stdout)
    return int(m.group(1)) if m else 0


def checksums_in_software(ns, dev):
    """veth leaves UDP/TCP checksums to an offload that af_packet never
    runs: the kernel must write them itself, as a real NIC's peer would see
    them."""
    sh("ip", "netns", "exec", ns, "ethtool", "-K", dev, "tx", "off")


class Gateway:
    """Both processes: the data plane in namespace `ns` (its ports are
    af_packet vdevs on veths there), the control plane beside it."""

    def __init__(self, build, d, ns, prefix):
        self.build, self.d, self.ns, self.prefix = build, d, ns, prefix
        self.conf = os.path.join(d, "l2tpgw.conf")
        self.procs = []

    def start(self):
        dp = subprocess.Popen(
            ["ip", "netns", "exec", self.ns, f"{self.build}/dataplane/core/l2tpgw-dataplane", "--no-pci",
             "--no-huge", "-m", "512", "--no-shconf", "--no-telemetry", "--file-prefix", self.prefix,
             "-l", "0,1", "--", "--config", self.conf, "--wait-cp"],
            stdout=open(os.path.join(self.d, "dataplane.log"), "w"), stderr=subprocess.STDOUT)
        self.procs = [dp, self._start_cp("w")]
        return wait_for(lambda: "attached, synced" in self.ctl("status"), 20)

    def _start_cp(self, mode):
        return subprocess.Popen([f"{self.build}/controlplane/l2tpgw-controlplane", "--config", self.conf],
                                stdout=open(os.path.join(self.d, "controlplane.log"), mode),
                                stderr=subprocess.STDOUT)

    def stop_cp(self, sig):
        """Ends the control plane alone with signal `sig`; the data plane
        runs on."""
        cp = self.procs[1]
        cp.send_signal(sig)
        cp.wait(10)

    def start_cp(self):
        """A new control plane, its log appended to the old one's."""
        self.procs[1] = self._start_cp("a")
        return wait_for(lambda: "attached, synced" in self.ctl("status"), 20)

    def ctl(self, *args):
        r = sh(f"{self.build}/controlplane/l2tpgwctl", "--config", self.conf, *args, check_rc=False)
        return r.stdout + r.stderr

    def ctl_list(self, *args):
        """`l2tpgwctl sa|sessions ... --json`: its list of objects ([] when none)."""
        out = self.ctl(*args, "--json")
        try:
            return json.JSONDecoder().raw_decode(out[out.index("["):])[0]
        except ValueError:
            return []

    def drops(self):
        out = self.ctl("drops", "--all", "--json")
        try:
            return json.loads(out[out.index("{"):])
        except ValueError:
            return {}

    def log(self):
        with open(os.path.join(self.d, "controlplane.log")) as f:
            return f.read()

    def stop(self):
        for p in reversed(self.procs):
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
