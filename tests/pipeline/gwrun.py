"""Runs the real data plane and control plane on net_pcap ports: writes the
configuration and the input pcaps, starts both processes, waits until every
input frame has been received, stops them and hands back what came out (the
transmit pcaps, the control plane's punt pcap and the last counters)."""

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

from pcapfile import LINKTYPE_ETHERNET, LINKTYPE_IPV4, read_pcap, write_pcap
from segment import Segment

OUTSIDE_ADDR = "198.51.100.1"
OUTSIDE_MAC = "02:00:00:00:01:01"
INSIDE_ADDR = "10.0.0.1"
INSIDE_MAC = "02:00:00:00:02:01"
INSIDE_HOST_MAC = "02:00:00:00:0a:02"
# The ports' MACs are set in the configuration (key "mac"). With
# L2TPGW_PIPE_PCAP_MACS=1 the key is left out and the tests address the MACs
# net_pcap gives its ports in creation order (02:70:63:61:70:<n>).
SET_PORT_MAC = os.environ.get("L2TPGW_PIPE_PCAP_MACS") != "1"
if not SET_PORT_MAC:
    OUTSIDE_MAC = "02:70:63:61:70:00"
    INSIDE_MAC = "02:70:63:61:70:01"

EAL_ARGS = ["--no-pci", "--no-huge", "-m", "256", "--no-shconf", "--no-telemetry", "-l", "0,1"]


class GatewayError(Exception):
    pass


class Binaries:
    def __init__(self, build_dir):
        self.dataplane = os.path.join(build_dir, "dataplane/core/l2tpgw-dataplane")
        self.controlplane = os.path.join(build_dir, "controlplane/l2tpgw-controlplane")
        self.ctl = os.path.join(build_dir, "controlplane/l2tpgwctl")

    def missing(self):
        return [p for p in (self.dataplane, self.controlplane, self.ctl) if not os.access(p, os.X_OK)]


class Stats:
    """The JSON of `l2tpgwctl stats --json`, summed over workers where it
    makes sense."""

    def __init__(self, doc):
        self.doc = doc
        self.workers = doc.get("workers", [])

    def total(self, name):
        return sum(int(w.get(name, 0)) for w in self.workers)

    def drops(self):
        out = {}
        for w in self.workers:
            for k, v in w.get("drops", {}).items():
                out[k] = out.get(k, 0) + int(v)
        return out

    def nonzero_drops(self):
        return {k: v for k, v in self.drops().items() if v}

    def sa(self, direction, spi):
        for s in self.doc.get("sas", []):
            if s.get("direction", s.get("dir")) == direction and _int(s.get("spi")) == spi:
                return s
        return None

    def session(self, tunnel_id, session_id):
        """The entry of the session with these local ids in "sessions", or None."""
        return find_session(self.doc.get("sessions", []), tunnel_id, session_id)

    def sa_counter(self, direction, spi, name):
        s = self.sa(direction, spi)
        if s is None:
            return None
        c = s.get("counters", s)
        return int(c.get(name, 0))


def find_session(entries, tunnel_id, session_id):
    """The entry with these local ids in a list of sessions as l2tpgwctl
    gives them (the ids under their plain or local_ names)."""
    if isinstance(entries, dict):
        entries = entries.get("sessions", [])
    for e in entries or []:
        tid = e.get("tunnel_id", e.get("local_tunnel_id"))
        sid = e.get("session_id", e.get("local_session_id"))
        if tid is not None and sid is not None and (_int(tid), _int(sid)) == (tunnel_id, session_id):
            return e
    return None


def _int(v):
    if isinstance(v, str):
        return int(v, 0)
    return v


class Result:
    def __init__(self, outside_out, inside_out, punts, stats, log):
        self.outside_out = outside_out
        self.inside_out = inside_out
        self.punts = punts
        self.stats = stats
        self.log = log


class Gateway:
    """One configuration and one run of both processes. `tag` names the
    channel, socket and DPDK file prefix so parallel runs never meet."""

    def __init__(self, bins, tag, keep=False):
        self.bins = bins
        self.tag = f"{tag}{os.getpid()}"
        self.keep = keep
        self.dir = tempfile.mkdtemp(prefix=f"l2tpgw-pipe-{tag}-")
        self.channel = f"pipe{self.tag}"
        self.prefix = f"l2tpgwpipe{self.tag}"
        self.sas = []
        self.sessions = []  # objects with libconfig(): l2tp_ppp.SessionSpec
        self.neighbors = {}
        self.inside_neighbors = {}
        self.outside_gateway = None
        self.inside_gateway = None
        self.dataplane_extra = {}
        self.outside_mtu = None  # the outside port's "mtu" key when set
        self.inside_extra = ""  # more settings of the inside port, as libconfig text
        # Virtual devices of the two ports; None: net_pcap on the files of
        # run() (out_in.pcap → out_out.pcap, in_in.pcap → in_out.pcap).
        self.outside_vdev = None
        self.inside_vdev = None
        self.cfg = self.path("l2tpgw.conf")

    def add_sa(self, sa):
        self.sas.append(sa)
        if sa.peer_mac:
            self.neighbors[sa.peer] = sa.peer_mac
        return sa

    def add_session(self, session):
        self.sessions.append(session)
        return session

    def path(self, name):
        return os.path.join(self.dir, name)

    def config_text(self):
        dp = [f"workers = [1]", f'channel = "{self.channel}"']
        dp += [f"{k} = {v}" for k, v in self.dataplane_extra.items()]
        neigh = _neighbors(self.neighbors)
        out_vdev = self.outside_vdev or (
            f"net_pcap0,rx_pcap={self.path('out_in.pcap')},tx_pcap={self.path('out_out.pcap')}")
        in_vdev = self.inside_vdev or (
            f"net_pcap1,rx_pcap={self.path('in_in.pcap')},tx_pcap={self.path('in_out.pcap')}")
        gateway = f' gateway = "{self.outside_gateway}";' if self.outside_gateway else ""
        in_gateway = f' gateway = "{self.inside_gateway}";' if self.inside_gateway else ""
        if self.outside_mtu:
            gateway += f" mtu = {self.outside_mtu};"
        in_gateway += self.inside_extra
        sas = ",\n  ".join(sa.libconfig() for sa in self.sas)
        sessions = ""
        if self.sessions:
            sessions = "sessions = (\n  " + ",\n  ".join(s.libconfig() for s in self.sessions) + "\n);\n"
        return (
            f"dataplane = {{ {'; '.join(dp)}; }};\n"
            f'controlplane = {{ socket = "{self.path("ctl.sock")}"; }};\n'
            "ports = (\n"
            f'  {{ name = "outside"; role = "outside"; vdev = "{out_vdev}"; address = "{OUTSIDE_ADDR}/24";'
            f"{self._mac(OUTSIDE_MAC)}{gateway} neighbors = ( {neigh} ); }},\n"
            f'  {{ name = "inside"; role = "inside"; vdev = "{in_vdev}"; address = "{INSIDE_ADDR}/24";'
            f"{self._mac(INSIDE_MAC)}{in_gateway} neighbors = ( {_neighbors(self.inside_neighbors)} ); }}\n"
            ");\n"
            f"sas = (\n  {sas}\n);\n"
            f"{sessions}"
        )

    @staticmethod
    def _mac(mac):
        return f' mac = "{mac}";' if SET_PORT_MAC else ""

    def write_config(self):
        with open(self.cfg, "w") as f:
            f.write(self.config_text())

    def ctl(self, *args, timeout=10, cwd=None):
        """One l2tpgwctl command; the CompletedProcess (text)."""
        return subprocess.run([self.bins.ctl, "--config", self.cfg, *args],
                              capture_output=True, text=True, timeout=timeout, cwd=cwd)

    def start_dataplane(self, log_name="dataplane.log", timeout=20.0, env=None):
        """Starts the data plane with --wait-cp and waits for its segment."""
        log = open(self.path(log_name), "a")
        dp = subprocess.Popen([self.bins.dataplane, *EAL_ARGS, "--file-prefix", self.prefix,
                               "--", "--config", self.cfg, "--wait-cp"],
                              stdout=log, stderr=subprocess.STDOUT, env=dataplane_env(env))
        log.close()
        shm = f"/dev/shm/l2tpgw-{self.channel}"
        deadline = time.monotonic() + timeout
        while not os.path.exists(shm):
            if dp.poll() is not None:
                raise GatewayError(f"data plane exited with {dp.returncode}:\n{self._log(log_name)}")
            if time.monotonic() > deadline:
                dp.kill()
                dp.wait()
                raise GatewayError(f"no {shm} after {timeout} s")
            time.sleep(0.02)
        return dp

    def start_controlplane(self, cfg=None, log_name="controlplane.log", punt_pcap=None):
        log = open(self.path(log_name), "a")
        args = [self.bins.controlplane, "--config", cfg or self.cfg]
        if punt_pcap:
            args += ["--punt-pcap", punt_pcap]
        cp = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        return cp

    def _ctl_stats(self, cfg):
        doc, err = self.ctl_json("stats", cfg=cfg)
        return (Stats(doc), None) if doc is not None else (None, err)

    def ctl_json(self, *args, cfg=None):
        """(document, None) of `l2tpgwctl ARGS --json`, or (None, error)."""
        p = subprocess.run([self.bins.ctl, "--config", cfg or self.cfg, *args, "--json"],
                           capture_output=True, text=True, timeout=10)
        if p.returncode != 0:
            return None, p.stderr.strip()
        try:
            return json.loads(p.stdout), None
        except json.JSONDecodeError as e:
            return None, f"bad JSON from l2tpgwctl: {e}: {p.stdout[:200]!r}"

    def run(self, outside_in=(), inside_in=(), timeout=20.0, during=None):
        """One run over the input pcaps. `during(gw)`, when given, is called
        once the workers have received every input frame and gone idle, with
        both processes still up (to inject packets, delete SAs...); the run
        then waits for idle again before stopping them."""
        cfg = self.cfg
        self.write_config()
        write_pcap(self.path("out_in.pcap"), outside_in)
        write_pcap(self.path("in_in.pcap"), inside_in)
        expected_rx = len(outside_in) + len(inside_in)
        punt_pcap = self.path("punt.pcap")
        dp = cp = None
        ok = False
        try:
            start = time.monotonic()
            deadline = start + timeout
            dp = self.start_dataplane(timeout=timeout)
            cp = self.start_controlplane(punt_pcap=punt_pcap)
            stats = self._wait_idle(cfg, dp, cp, expected_rx, deadline)
            elapsed = time.monotonic() - start
            if during is not None:
                during(self)
                stats = self._wait_idle(cfg, dp, cp, expected_rx, time.monotonic() + timeout)
            # Every worker counter, straight from the shared segment (l2tpgwctl
            # shows a chosen set of them).
            seg = Segment.attach(self.channel)
            seg_totals = seg.totals()
            seg.close()
            self._stop(dp, "data plane")
            dp = None
            # The control plane drains what the data plane punted last.
            time.sleep(0.2)
            self._stop(cp, "control plane")
            cp = None
            result = Result(self._frames("out_out.pcap", LINKTYPE_ETHERNET),
                            self._frames("in_out.pcap", LINKTYPE_ETHERNET),
                            self._frames("punt.pcap", LINKTYPE_IPV4), stats,
                            self._log("dataplane.log") + self._log("controlplane.log"))
            result.cp_log = self._log("controlplane.log", tail=None)
            result.elapsed = elapsed
            result.seg_totals = seg_totals
            ok = True
            return result
        finally:
            for p in (dp, cp):
                if p is not None and p.poll() is None:
                    p.kill()
                    p.wait()
            self.cleanup(remove_dir=ok and not self.keep)

    def _wait_idle(self, cfg, dp, cp, expected_rx, deadline):
        """Polls the counters until the workers have received every input
        frame and nothing has moved for 300 ms."""
        last = None
        last_change = time.monotonic()
        err = None
        while True:
            for p, name in ((dp, "data plane"), (cp, "control plane")):
                if p.poll() is not None:
                    raise GatewayError(f"{name} exited with {p.returncode}:\n"
                                       f"{self._log('dataplane.log')}{self._log('controlplane.log')}")
            stats, err = self._ctl_stats(cfg)
            now = time.monotonic()
            if stats is not None:
                snap = _activity(stats)
                if snap != last:
                    last = snap
                    last_change = now
                elif stats.total("rx_packets") == expected_rx and now - last_change >= 0.3:
                    return stats
            if now > deadline:
                got = stats.total("rx_packets") if stats else None
                raise GatewayError(f"timeout: workers received {got} of {expected_rx} frames"
                                   f" (last l2tpgwctl error: {err})\n"
                                   f"{self._log('dataplane.log')}{self._log('controlplane.log')}")
            time.sleep(0.1)

    def _stop(self, p, name):
        p.send_signal(signal.SIGTERM)
        try:
            rc = p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            raise GatewayError(f"{name} did not exit within 10 s of SIGTERM")
        if rc != 0:
            raise GatewayError(f"{name} exited with {rc} after SIGTERM:\n"
                               f"{self._log('dataplane.log')}{self._log('controlplane.log')}")

    def _frames(self, name, want_linktype):
        path = self.path(name)
        if not os.path.exists(path):
            raise GatewayError(f"{name} was not written")
        linktype, frames = read_pcap(path)
        if linktype != want_linktype:
            raise GatewayError(f"{name}: link type {linktype}, expected {want_linktype}")
        return frames

    def _log(self, name, tail=4000):
        try:
            with open(self.path(name)) as f:
                text = f.read()
        except OSError:
            return ""
        if tail is None:
            return text
        return f"--- {name} ---\n{text[-tail:]}"

    def cleanup(self, remove_dir=True):
        for path in (f"/dev/shm/l2tpgw-{self.channel}",):
            if os.path.exists(path):
                os.unlink(path)
        if os.path.isdir("/dev/hugepages"):
            for n in os.listdir("/dev/hugepages"):
                if n.startswith(self.prefix):
                    os.unlink(os.path.join("/dev/hugepages", n))
        if remove_dir:
            shutil.rmtree(self.dir, ignore_errors=True)


def _neighbors(table):
    return ", ".join(f'{{ address = "{a}"; mac = "{m}"; }}' for a, m in sorted(table.items()))


def dataplane_env(extra=None):
    env = dict(os.environ)
    # With the sanitizer build (meson -Dsanitize=true): a UBSan finding
    # aborts the process (-fno-sanitize-recover) and its log then shows where.
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
    env.update(extra or {})
    return env


def _activity(stats):
    """What must stop changing: every worker counter except the loop and
    cycle counts, which run while idle."""
    snap = []
    for w in stats.workers:
        snap.append(sorted((k, json.dumps(v, sort_keys=True)) for k, v in w.items()
                           if k not in ("loops", "busy_loops", "busy_cycles", "id", "lcore")))
    snap.append(json.dumps(stats.doc.get("sas", []), sort_keys=True))
    snap.append(json.dumps(stats.doc.get("sessions", []), sort_keys=True))
    return snap
