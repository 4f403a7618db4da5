"""The data plane's shared segment (/dev/shm/l2tpgw-<channel>) read from
Python, without the control plane: the header, the per-worker counters, the
SA and session directories and their per-worker counters. The layouts follow
dataplane/channel/segment.h, counters.h and messages.h (x86-64, little
endian); the drop reasons are read from the X-macro list in counters.h and the
channel version from messages.h, so neither can drift from the data plane's.

Counters have one writer each and are read here without locks: an aligned
8-byte value copied by mmap slicing is read whole on x86-64, and a counter
that moves while a snapshot is taken is only ever seen at an older value."""

import mmap
import os
import re
import socket
import struct
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CHANNEL = os.path.join(HERE, "..", "..", "dataplane", "channel")
COUNTERS_H = os.path.join(CHANNEL, "counters.h")
MESSAGES_H = os.path.join(CHANNEL, "messages.h")

SEGMENT_MAGIC = 0x6C3274706777_0001
MAX_PORTS = 4


def channel_version():
    """channel::version, which the data plane writes into the header."""
    with open(MESSAGES_H) as f:
        return int(re.search(r"constexpr std::uint16_t version = (\d+);", f.read()).group(1))


VERSION = channel_version()

# struct SegmentHeader
HEADER = struct.Struct("<QIIIIIIQQQiI10Q128sQIiI")
HEADER_FIELDS = ("magic", "version", "n_workers", "n_ports", "max_sas", "max_sessions", "reserved0", "total_size",
                 "generation", "tsc_hz", "dp_pid", "reserved", "off_cmd_ring", "off_tx_ring", "off_event_ring",
                 "off_punt_ring", "off_port_counters", "off_worker_counters", "off_sa_counters", "off_sa_dir",
                 "off_session_counters", "off_session_dir", "port_names", "dp_heartbeat_ns", "ready", "cp_pid",
                 "cp_synced")
assert HEADER.size == 292  # sizeof(SegmentHeader) is 296 with its tail padding

# struct WorkerCounters: these, then one per drop reason; alignas(64).
WORKER_FIELDS = ("loops", "busy_loops", "busy_cycles", "rx_packets", "tx_packets", "punted", "esp_decapped",
                 "esp_encapped", "arp_replies", "icmp_replies", "icmp_too_big_sent", "inner_fragmented", "inner_fragments",
                 "nd_advertisements", "tunnel_in", "tunnel_out")
# struct SaCounters (64 bytes, two reserved words).
SA_COUNTER_FIELDS = ("packets", "bytes", "auth_failures", "replay_drops", "decrypt_errors", "expired_drops")
SA_COUNTERS = struct.Struct("<8Q")
# struct SaDirEntry: seq, in_use, installed_unix_ns, then SaParams (144
# bytes: ..., key lengths, mode, keys, lifetime, then the tunnel-mode
# peer_net and local_net as address and length).
DIR_ENTRY = struct.Struct("<IIQ")
SA_PARAMS = struct.Struct("<IBBBBIIHHIBBBx36s32s4QIB3xIB3x")
DIR_ENTRY_SIZE = DIR_ENTRY.size + SA_PARAMS.size
assert SA_PARAMS.size == 144 and DIR_ENTRY_SIZE == 160

# struct SessionCounters (64 bytes, one reserved word).
SESSION_COUNTER_FIELDS = ("rx_packets", "rx_bytes", "tx_packets", "tx_bytes", "spoofed", "punted", "other_drops")
SESSION_COUNTERS = struct.Struct("<8Q")
# struct SessionDirEntry: seq, in_use, installed_unix_ns, then SessionParams
# (84 bytes: ids, addresses, SPIs, PPP/L2TP flags, MPPE bits and mode, the
# IPv6 flag, 2 reserved bytes, the two 16-byte MPPE start keys, the IPv6 /64
# and interface identifier), padded to the entry's 8-byte alignment.
SESSION_PARAMS = struct.Struct("<HHHHIHHIIIBBBBBB2x16s16s8s8s")
SESSION_DIR_ENTRY_SIZE = (DIR_ENTRY.size + SESSION_PARAMS.size + 7) // 8 * 8
assert SESSION_PARAMS.size == 84 and SESSION_DIR_ENTRY_SIZE == 104

CIPHERS = ("aes-cbc-128", "aes-cbc-256", "aes-gcm-128", "aes-gcm-256", "3des-cbc")  # enum EspCipher
AUTHS = ("none", "hmac-sha1-96", "hmac-sha256-128", "hmac-sha256-96")  # enum EspAuth


def drop_reasons():
    with open(COUNTERS_H) as f:
        text = f.read()
    body = text[text.index("#define L2TPGW_DROP_REASONS(X)"):text.index("enum class Drop")]
    return re.findall(r"\bX\((\w+),", body)


DROPS = drop_reasons()
WORKER = struct.Struct(f"<{len(WORKER_FIELDS) + len(DROPS)}Q")
WORKER_SIZE = (WORKER.size + 63) // 64 * 64


def ipv4(a):
    return ".".join(str((a >> s) & 0xFF) for s in (24, 16, 8, 0))


class SegmentError(Exception):
    pass


class Segment:
    @classmethod
    def attach(cls, channel, timeout=10.0):
        """Waits for the data plane to have filled the segment in (it
        creates the file before writing the header) and maps it."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                seg = cls(channel)
                if seg.header()["ready"]:
                    return seg
                seg.close()
            except (OSError, ValueError, SegmentError):
                if time.monotonic() > deadline:
                    raise
            if time.monotonic() > deadline:
                raise SegmentError(f"/dev/shm/l2tpgw-{channel}: not ready after {timeout} s")
            time.sleep(0.01)

    def __init__(self, channel):
        self.path = f"/dev/shm/l2tpgw-{channel}"
        fd = os.open(self.path, os.O_RDONLY)
        try:
            self.map = mmap.mmap(fd, 0, mmap.MAP_SHARED, mmap.PROT_READ)
        finally:
            os.close(fd)
        h = self.header()
        if h["magic"] != SEGMENT_MAGIC or h["version"] != VERSION:
            raise SegmentError(f"{self.path}: magic {h['magic']:#x} version {h['version']}")
        if h["total_size"] != len(self.map):
            raise SegmentError(f"{self.path}: size {len(self.map)}, header says {h['total_size']}")
        # The worker counters fill their region, rounded to 64 bytes: a
        # WorkerCounters of another size means counters.h and this file
        # disagree.
        region = h["off_sa_counters"] - h["off_worker_counters"]
        if not h["n_workers"] * WORKER_SIZE <= region < h["n_workers"] * WORKER_SIZE + 64:
            raise SegmentError(f"worker counters region of {region} bytes for {h['n_workers']} workers"
                               f" of {WORKER_SIZE} bytes")
        self.h = h

    def close(self):
        self.map.close()

    def header(self):
        h = dict(zip(HEADER_FIELDS, HEADER.unpack_from(self.map, 0)))
        names = h["port_names"]
        h["port_names"] = [names[i * 32:(i + 1) * 32].split(b"\0")[0].decode() for i in range(MAX_PORTS)]
        return h

    def worker(self, w):
        """One worker's counters: the named ones and `drops` by reason."""
        vals = WORKER.unpack_from(self.map, self.h["off_worker_counters"] + w * WORKER_SIZE)
        out = dict(zip(WORKER_FIELDS, vals))
        out["drops"] = dict(zip(DROPS, vals[len(WORKER_FIELDS):]))
        return out

    def totals(self):
        """Every worker counter summed; drops as drop_<reason>."""
        tot = {}
        for w in range(self.h["n_workers"]):
            c = self.worker(w)
            for k, v in c.items():
                if k == "drops":
                    for r, n in v.items():
                        tot["drop_" + r] = tot.get("drop_" + r, 0) + n
                else:
                    tot[k] = tot.get(k, 0) + v
        return tot

    def dir_entry(self, slot, tries=1000):
        """The directory entry of a slot under its sequence lock, or None
        when the slot is free."""
        off = self.h["off_sa_dir"] + slot * DIR_ENTRY_SIZE
        for _ in range(tries):
            s1, in_use, installed = DIR_ENTRY.unpack_from(self.map, off)
            raw = SA_PARAMS.unpack_from(self.map, off + DIR_ENTRY.size)
            (s2,) = struct.unpack_from("<I", self.map, off)
            if s1 % 2 == 0 and s1 == s2:
                if not in_use:
                    return None
                spi, d, encap, cipher, auth, local, peer, lport, pport, window = raw[:10]
                mode = raw[12]
                return {"slot": slot, "installed_unix_ns": installed, "spi": spi,
                        "direction": "in" if d == 0 else "out", "encap": "udp" if encap == 1 else "none",
                        "cipher": CIPHERS[cipher], "integrity": AUTHS[auth], "local": ipv4(local),
                        "peer": ipv4(peer), "local_port": lport, "peer_port": pport, "replay_window": window,
                        "lifetime": raw[15:19], "mode": "tunnel" if mode == 1 else "transport",
                        "peer_net": f"{ipv4(raw[19])}/{raw[20]}", "local_net": f"{ipv4(raw[21])}/{raw[22]}"}
            time.sleep(0.0001)
        raise SegmentError(f"SA directory slot {slot} kept changing")

    def sas(self):
        return [e for e in (self.dir_entry(s) for s in range(self.h["max_sas"])) if e is not None]

    def find_sa(self, direction, spi, peer):
        for e in self.sas():
            if (e["direction"], e["spi"], e["peer"]) == (direction, spi, peer):
                return e
        return None

    def sa_counters(self, slot):
        """A slot's counters summed over workers."""
        tot = dict.fromkeys(SA_COUNTER_FIELDS, 0)
        for w in range(self.h["n_workers"]):
            off = self.h["off_sa_counters"] + (w * self.h["max_sas"] + slot) * SA_COUNTERS.size
            for k, v in zip(SA_COUNTER_FIELDS, SA_COUNTERS.unpack_from(self.map, off)):
                tot[k] += v
        return tot

    def session_dir_entry(self, slot, tries=1000):
        """A session directory slot under its sequence lock, or None when free."""
        off = self.h["off_session_dir"] + slot * SESSION_DIR_ENTRY_SIZE
        for _ in range(tries):
            s1, in_use, installed = DIR_ENTRY.unpack_from(self.map, off)
            raw = SESSION_PARAMS.unpack_from(self.map, off + DIR_ENTRY.size)
            (s2,) = struct.unpack_from("<I", self.map, off)
            if s1 % 2 == 0 and s1 == s2:
                if not in_use:
                    return None
                (tid, sid, ptid, psid, peer, pport, lport, sa_in, sa_out, inner, acfc, pfc, seq, mppe_bits,
                 mppe_stateless, ipv6, send_key, recv_key, prefix6, ifid6) = raw
                return {"slot": slot, "installed_unix_ns": installed, "tunnel_id": tid, "session_id": sid,
                        "peer_tunnel_id": ptid, "peer_session_id": psid, "peer": ipv4(peer), "peer_port": pport,
                        "local_port": lport, "sa_in": sa_in, "sa_out": sa_out, "address": ipv4(inner),
                        "acfc": bool(acfc), "pfc": bool(pfc), "sequencing": bool(seq), "mppe_bits": mppe_bits,
                        "mppe_stateless": bool(mppe_stateless), "mppe_send_key": send_key,
                        "mppe_recv_key": recv_key, "ipv6": bool(ipv6),
                        "ipv6_prefix": socket.inet_ntop(socket.AF_INET6, prefix6 + bytes(8)) + "/64" if ipv6 else None,
                        "ipv6_interface_id": ifid6.hex() if ipv6 else None}
            time.sleep(0.0001)
        raise SegmentError(f"session directory slot {slot} kept changing")

    def sessions(self):
        return [e for e in (self.session_dir_entry(s) for s in range(self.h["max_sessions"])) if e is not None]

    def session_counters(self, slot):
        """A session slot's counters summed over workers."""
        tot = dict.fromkeys(SESSION_COUNTER_FIELDS, 0)
        for w in range(self.h["n_workers"]):
            off = self.h["off_session_counters"] + (w * self.h["max_sessions"] + slot) * SESSION_COUNTERS.size
            for k, v in zip(SESSION_COUNTER_FIELDS, SESSION_COUNTERS.unpack_from(self.map, off)):
                tot[k] += v
        return tot
