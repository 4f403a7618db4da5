#!/usr/bin/env bash
# Memory per static session: starts the data plane and the control plane
# with N sessions (K per client SA pair, perf/gen_session_pcap.py) and
# capacity for them, waits until the control plane has installed every
# session, and reports hugepage memory, resident heap (VmRSS) of both
# processes and the shared segment, against a baseline run with capacity for
# 1024 sessions and 64 SAs and none configured. Also times the configuration
# read (perf/config_load_time), the data plane's start and the install.
#
#   perf/session_memory.sh [-b BUILD] [-n SESSIONS] [-k SESSIONS_PER_SA] [-a MAX_SAS] [-H HUGEPAGES]
#
# Needs root, /dev/hugepages mounted (scripts/setup.sh) and lcores 0 and 1.
# -H raises the 2 MB hugepage reservation for the run (restored after).
# MAX_SAS defaults to the SAs the sessions need (2 per client); each SA slot
# of capacity has its own cost, measured by a run with -n 0 -a N.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=$root/build
nsess=1000000
per_sa=1000
max_sas=
hugepages=2048
py=/usr/bin/python3
while getopts "b:n:k:a:H:h" opt; do
  case $opt in
    b) build=$(cd "$OPTARG" && pwd) ;;
    n) nsess=$OPTARG ;;
    k) per_sa=$OPTARG ;;
    a) max_sas=$OPTARG ;;
    H) hugepages=$OPTARG ;;
    *) sed -n '2,13p' "$0"; exit 2 ;;
  esac
done
dp=$build/dataplane/core/l2tpgw-dataplane
cp=$build/controlplane/l2tpgw-controlplane
ctl=$build/controlplane/l2tpgwctl
loadtime=$build/perf/config_load_time
for b in "$dp" "$cp" "$ctl" "$loadtime"; do
  [[ -x $b ]] || { echo "session_memory: $b not built" >&2; exit 1; }
done

nr_pages=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
pages_before=$(cat "$nr_pages")
work=$(mktemp -d /tmp/l2tpgw-mem.XXXXXX)
dp_pid= cp_pid= prefix= channel=

# stop, cleanup_run
source "$(dirname "$0")/gw_procs.sh"
trap 'cleanup_run; rm -rf "$work"; echo "$pages_before" >"$nr_pages"' EXIT
trap 'exit 130' INT TERM
[[ -n $max_sas ]] || max_sas=$((2 * ((nsess + per_sa - 1) / per_sa)))
(($(cat "$nr_pages") >= hugepages)) || echo "$hugepages" >"$nr_pages"

hp_free() { awk '/^HugePages_Free/ {print $2}' /proc/meminfo; }
kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
now() { date +%s.%N; }

# run NAME SESSIONS MAX_SESSIONS MAX_SAS: prints "key=value" lines.
run() {
  local name=$1 n=$2 maxs=$3 maxa=$4 dir=$work/$1
  mkdir -p "$dir"
  prefix=l2tpgwmem$$_$name
  channel=mem$$_$name
  local snippet=$dir/empty.conf
  if ((n > 0)); then
    "$py" "$here/gen_session_pcap.py" --direction encap --size 64 --sessions "$n" --sessions-per-sa "$per_sa" \
      --packets 0 --out "$dir/none.pcap" --conf-out "$dir/sessions.conf" >&2
    snippet=$dir/sessions.conf
  else
    : >"$snippet"
  fi
  cat >"$dir/l2tpgw.conf" <<CONF
dataplane = { workers = [1]; channel = "$channel"; max_sas = $maxa; max_sessions = $maxs; mbufs = 16383; };
controlplane = { socket = "$dir/ctl.sock"; log_level = "warning"; };
ports = (
  { name = "outside"; role = "outside"; vdev = "net_null0,no-rx=1"; address = "198.51.100.1/24";
    gateway = "198.51.100.254"; neighbors = ( { address = "198.51.100.254"; mac = "02:00:00:00:00:fe"; } ); },
  { name = "inside"; role = "inside"; vdev = "net_null1,no-rx=1"; address = "10.0.0.1/24";
    neighbors = ( { address = "10.0.0.2"; mac = "02:00:00:00:02:02"; } ); }
);
CONF
  grep -v '^#' "$snippet" >>"$dir/l2tpgw.conf" || true
  "$loadtime" "$dir/l2tpgw.conf"
  local free0 t0 t1 t2
  free0=$(hp_free)
  t0=$(now)
  "$dp" --no-pci --no-telemetry --file-prefix "$prefix" -l 0,1 -- --config "$dir/l2tpgw.conf" >"$dir/dp.log" 2>&1 &
  dp_pid=$!
  until [[ -e /dev/shm/l2tpgw-$channel ]]; do
    kill -0 "$dp_pid" 2>/dev/null || { cat "$dir/dp.log" >&2; return 1; }
    sleep 0.1
  done
  t1=$(now)
  "$cp" --config "$dir/l2tpgw.conf" >"$dir/cp.log" 2>&1 &
  cp_pid=$!
  local got=-1
  for _ in $(seq 3000); do
    sleep 0.5
    got=$("$ctl" --socket "$dir/ctl.sock" status --json 2>/dev/null |
      "$py" -c 'import json,sys; d=json.load(sys.stdin); print(d["n_sessions"] if d.get("synced") else -1)' 2>/dev/null) || got=-1
    ((got == n)) && break
  done
  t2=$(now)
  ((got == n)) || { echo "session_memory: $name: $got of $n sessions installed" >&2; cat "$dir/cp.log" >&2; return 1; }
  sleep 1
  echo "sessions=$n max_sessions=$maxs max_sas=$maxa sessions_per_sa=$per_sa"
  echo "hugepage_bytes=$(((free0 - $(hp_free)) * 2097152))"
  echo "dp_rss_kb=$(kb "$dp_pid" VmRSS) dp_hwm_kb=$(kb "$dp_pid" VmHWM) dp_hugetlb_kb=$(kb "$dp_pid" HugetlbPages)"
  echo "cp_rss_kb=$(kb "$cp_pid" VmRSS) cp_hwm_kb=$(kb "$cp_pid" VmHWM)"
  echo "shm_bytes=$(stat -c %s /dev/shm/l2tpgw-"$channel")"
  "$py" -c "print(f'dp_start_s={$t1 - $t0:.1f} install_s={$t2 - $t1:.1f}')"
  cleanup_run
}

echo "# baseline: capacity for 1024 sessions and 64 SAs, none configured"
run base 0 1024 64 >"$work/base.txt"
cat "$work/base.txt"
echo "# $nsess sessions, $per_sa per client SA pair"
run full "$nsess" "$nsess" "$max_sas" >"$work/full.txt"
cat "$work/full.txt"
"$py" - "$work/base.txt" "$work/full.txt" "$nsess" <<'PY'
import sys
def kv(p):
    d = {}
    for line in open(p):
        for w in line.split():
            if "=" in w:
                k, v = w.split("=", 1)
                d[k] = v
    return d
b, f, n = kv(sys.argv[1]), kv(sys.argv[2]), int(sys.argv[3])
def per(key, scale=1):
    return (int(f[key]) - int(b[key])) * scale / n
hp = per("hugepage_bytes")
dp = per("dp_rss_kb", 1024)
cp = per("cp_rss_kb", 1024)
shm = per("shm_bytes")
print(f"per session: hugepages {hp:.0f} B, data plane RSS {dp:.0f} B, control plane RSS {cp:.0f} B, "
      f"shared segment {shm:.0f} B (part of both RSS figures where touched)")
PY
