"""Two network namespaces joined by a veth pair, for the interoperability
runs: the LNS side and the LAC side, each with one address in a /24 and
its loopback, nothing else (no route out: whatever a peer under test tries
to reach beyond the pair fails inside the namespace).

teardown() ends the processes left in the namespaces (ours: nothing else
runs there) before deleting them, so that a failed run leaves nothing.
"""

import os
import signal
import subprocess
import time


def sh(*cmd, check=True):
    return subprocess.run(cmd, check=check, capture_output=True, text=True)


class Pair:
    def __init__(self, prefix, subnet):
        self.lns, self.lac = f"{prefix}-lns", f"{prefix}-lac"
        self.lns_addr, self.lac_addr = f"{subnet}.1", f"{subnet}.2"
        self._veth = (f"{prefix}-v0", f"{prefix}-v1")

    def setup(self):
        self.teardown()
        sh("ip", "netns", "add", self.lns)
        sh("ip", "netns", "add", self.lac)
        sh("ip", "link", "add", self._veth[0], "netns", self.lns, "type", "veth", "peer", "name", self._veth[1],
           "netns", self.lac)
        for ns, dev, addr in ((self.lns, self._veth[0], self.lns_addr), (self.lac, self._veth[1], self.lac_addr)):
            sh("ip", "-n", ns, "addr", "add", f"{addr}/24", "dev", dev)
            sh("ip", "-n", ns, "link", "set", dev, "up")
            sh("ip", "-n", ns, "link", "set", "lo", "up")

    def pids(self, ns):
        out = sh("ip", "netns", "pids", ns, check=False).stdout.split()
        return [int(p) for p in out if p.isdigit()]

    def teardown(self):
        for ns in (self.lns, self.lac):
            for sig in (signal.SIGTERM, signal.SIGKILL):
                pids = self.pids(ns)
                for p in pids:
                    try:
                        os.kill(p, sig)
                    except ProcessLookupError:
                        pass
                for _ in range(30):
                    if not self.pids(ns):
                        break
                    time.sleep(0.1)
            sh("ip", "netns", "del", ns, check=False)

    def exec(self, ns):
        return ["ip", "netns", "exec", ns]
