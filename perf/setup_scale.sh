#!/usr/bin/env bash
# Session setup rate and sessions held: the gateway on af_packet ports in
# namespaces, perf/l2tp_load.py connecting N clients (one address each,
# behind a next hop, as a carrier's clients arrive) at a set rate; each
# holds its session with a ping every PING_INTERVAL seconds until all are up and HOLD seconds
# have passed. Reports the load generator's summary, the control plane's
# CPU time per setup (its own cost, whatever the client side's speed), and
# the peak memory of both processes.
#
#   perf/setup_scale.sh [-b BUILD] [-n CLIENTS] [-r RATE] [-i IN_FLIGHT] [-t HOLD] [-m MPPE]
#                       [-p PING_INTERVAL] [-k IKE_PROPOSALS] [-B HANGUP_BATCH] [-o OUT.json]
#
# The load generator sets up IN_FLIGHT clients at a time and holds every
# session that is up in one loop (perf/hold_loop.py). -o keeps its whole
# summary (with the timeline of sessions held, memory and CPU time of the
# load generator, control plane and data plane every 5 s).
#
# Without -k the clients speak L2TP in plain UDP (trusted by address);
# with -k each negotiates IKEv1 first (PSK, Windows' profile with the
# phase-1 offer given, e.g. aes256-sha1-modp2048) and runs over ESP.
# Needs root, hugepages (scripts/setup.sh) and lcores 0 and 1.
# The load generator holds one socket per client: RLIMIT_NOFILE's hard
# limit bounds the clients of one run.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=$root/build
clients=100
rate=50
in_flight=16
hold=10
ping_interval=10
mppe=none
ike=
hangup_batch=100
out=
py=/usr/bin/python3
while getopts "b:n:r:i:t:m:p:k:B:o:h" opt; do
  case $opt in
    b) build=$(cd "$OPTARG" && pwd) ;;
    n) clients=$OPTARG ;;
    r) rate=$OPTARG ;;
    i) in_flight=$OPTARG ;;
    t) hold=$OPTARG ;;
    m) mppe=$OPTARG ;;
    p) ping_interval=$OPTARG ;;
    k) ike=$OPTARG ;;
    B) hangup_batch=$OPTARG ;;
    o) out=$OPTARG ;;
    *) sed -n '2,25p' "$0"; exit 2 ;;
  esac
done
dp=$build/dataplane/core/l2tpgw-dataplane
cp=$build/controlplane/l2tpgw-controlplane
ctl=$build/controlplane/l2tpgwctl
for b in "$dp" "$cp" "$ctl"; do
  [[ -x $b ]] || { echo "setup_scale: $b not built" >&2; exit 1; }
done

# The namespaces have fixed names: one run at a time.
exec 9>/run/l2tpgw-setup-scale.lock
flock -n 9 || { echo "setup_scale: another run is active" >&2; exit 1; }
work=$(mktemp -d /tmp/l2tpgw-scale.XXXXXX)
dp_pid= cp_pid= prefix=l2tpgwscale$$ channel=scale$$
namespaces="lsc-gw lsc-cl lsc-in"
# stop, cleanup_run
source "$here/gw_procs.sh"
cleanup() {
  cleanup_run
  for ns in $namespaces; do ip netns del "$ns" 2>/dev/null || true; done
  if [ -n "${L2TPGW_KEEP:-}" ]; then
    echo "setup_scale: logs kept in $work" >&2
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for ns in $namespaces; do
  ip netns del "$ns" 2>/dev/null || true
  ip netns add "$ns"
  ip -n "$ns" link set lo up
done
ip link add gw-out netns lsc-gw type veth peer name cl0 netns lsc-cl
ip link add gw-in netns lsc-gw type veth peer name in0 netns lsc-in
ip -n lsc-gw link set gw-out up
ip -n lsc-gw link set gw-in up
# The clients' namespace is also their next hop (.254): the data plane
# resolves one neighbour, not one per client.
ip -n lsc-cl addr add 198.51.100.254/24 dev cl0
ip -n lsc-cl link set cl0 up
ip netns exec lsc-cl ethtool -K cl0 tx off >/dev/null
ip -n lsc-in link set in0 address 02:00:00:00:02:02
ip -n lsc-in addr add 10.0.0.2/24 dev in0
ip -n lsc-in link set in0 up
ip -n lsc-in route add 100.64.0.0/10 via 10.0.0.1
ip netns exec lsc-in ethtool -K in0 tx off >/dev/null

password=$(openssl rand -hex 12)
psk=$(openssl rand -hex 16)
ike_conf=
ike_args=()
plain='plain_from = [ "10.252.0.0/16" ];'
if [[ -n $ike ]]; then
  ike_conf="ike = { psk = \"$psk\"; };"
  plain=
  ike_args=(--ike psk --psk "$psk" --profile windows --ike-proposals "$ike")
fi
printf 'users = ( { name = "load"; password = "%s"; } );\n' "$password" >"$work/users.conf"
max_sessions=$((clients + 1024))
cat >"$work/l2tpgw.conf" <<CONF
dataplane = { workers = [1]; channel = "$channel"; max_sas = $((2 * clients + 64)); max_sessions = $max_sessions;
              punt_rate = 100000; punt_burst = 10000; };
controlplane = { socket = "$work/ctl.sock"; log_level = "warning"; };
ports = (
  { name = "outside"; role = "outside"; vdev = "net_af_packet0,iface=gw-out";
    address = "198.51.100.1/24"; gateway = "198.51.100.254"; },
  { name = "inside"; role = "inside"; vdev = "net_af_packet1,iface=gw-in";
    address = "10.0.0.1/24"; neighbors = ( { address = "10.0.0.2"; mac = "02:00:00:00:02:02"; } ); }
);
l2tp = { host_name = "l2tpgw-scale"; $plain
         max_tunnels = $max_sessions; max_tunnels_per_peer = 4; };
ppp = { auth = [ "mschapv2" ]; local_address = "100.64.0.1"; pool = "100.64.0.10-100.64.255.250";
        mppe = "allow"; users = "users.conf"; };
$ike_conf
CONF

ip netns exec lsc-gw "$dp" --no-pci --no-telemetry --file-prefix "$prefix" -l 0,1 -- \
  --config "$work/l2tpgw.conf" --wait-cp >"$work/dp.log" 2>&1 &
dp_pid=$!
"$cp" --config "$work/l2tpgw.conf" >"$work/cp.log" 2>&1 &
cp_pid=$!
for _ in $(seq 300); do
  "$ctl" --socket "$work/ctl.sock" status 2>/dev/null | grep -q 'attached, synced' && break
  sleep 0.1
done
"$ctl" --socket "$work/ctl.sock" status | grep -q 'attached, synced' || {
  echo "setup_scale: the gateway did not come up" >&2; cat "$work/dp.log" "$work/cp.log" >&2; exit 1; }

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
ticks0=$(cpu_ticks "$cp_pid")
rc=0
ip netns exec lsc-cl "$py" "$here/l2tp_load.py" --server 198.51.100.1 --first 10.252.0.10 \
  --clients "$clients" --rate "$rate" --in-flight "$in_flight" --hold "$hold" --ping 10.0.0.2 \
  --ping-interval "$ping_interval" --hangup-batch "$hangup_batch" --watch "cp=$cp_pid" --watch "dp=$dp_pid" \
  --user load --password "$password" --mppe "$mppe" --add-addresses cl0 "${ike_args[@]}" \
  >"$work/load.json" || rc=$?
ticks1=$(cpu_ticks "$cp_pid")
hz=$(getconf CLK_TCK)
[[ -z $out ]] || tail -1 "$work/load.json" >"$out"
echo "# load generator"
"$py" - "$work/load.json" "$ticks0" "$ticks1" "$hz" <<'PY'
import json, sys
s = json.loads(open(sys.argv[1]).read().splitlines()[-1])
timeline = s.pop("timeline")
print(json.dumps(s))
print("# timeline: t s, connected, held, pings sent/answered, LCP echoes and HELLOs answered,"
      " hold loop busy, RSS MB and CPU s of load generator / control plane / data plane")
for r in timeline:
    mb = lambda k: f"{(r.get(k) or 0) / 1024:.0f}"  # noqa: E731
    print(f"{r['t']:7.1f} {r['connected']:6d} {r['held']:6d} {r['pings_received']}/{r['pings_sent']} "
          f"{r['lcp_echoes']} {r['hellos']} {r['loop_busy']:.0%} "
          f"load {mb('load_rss_kb')} MB {r['load_cpu_s']} s, cp {mb('cp_rss_kb')} MB {r['cp_cpu_s']} s, "
          f"dp {mb('dp_rss_kb')} MB")
print("# gateway")
cpu_s = (int(sys.argv[3]) - int(sys.argv[2])) / int(sys.argv[4])
n = s["connected"]
print(f"control plane cpu {cpu_s:.2f} s for {n} setups, holds and teardowns"
      + (f": {1000 * cpu_s / n:.2f} ms each, {n / cpu_s:.0f} per control-plane core second" if n and cpu_s else ""))
# Setup alone: the control plane's CPU from the start to the sample where
# every client had connected (or failed), per client connected by then.
done = next((r for r in timeline if r["connected"] + r["failed"] >= s["clients"]), None)
if done and done["connected"] and timeline[0].get("cp_cpu_s") is not None:
    setup_cpu = done["cp_cpu_s"] - timeline[0]["cp_cpu_s"]
    print(f"control plane cpu during the ramp: {setup_cpu:.2f} s for {done['connected']} setups: "
          f"{1000 * setup_cpu / done['connected']:.2f} ms each (holding the earlier ones included)")
held = [r for r in timeline if r["held"] == s["held_peak"] and r.get("cp_cpu_s") is not None]
if len(held) >= 2 and held[-1]["t"] > held[0]["t"]:
    dt = held[-1]["t"] - held[0]["t"]
    print(f"while {s['held_peak']} sessions were held: control plane {100 * (held[-1]['cp_cpu_s'] - held[0]['cp_cpu_s']) / dt:.1f}% "
          f"of a core, load generator {100 * (held[-1]['load_cpu_s'] - held[0]['load_cpu_s']) / dt:.1f}% "
          f"over {dt:.0f} s")
PY
echo "dp_hwm_kb=$(kb "$dp_pid" VmHWM) dp_hugetlb_kb=$(kb "$dp_pid" HugetlbPages) cp_hwm_kb=$(kb "$cp_pid" VmHWM)"
# What the hang-ups left behind on the gateway (its own timers end the rest).
sleep 2
echo "left on the gateway: tunnels by state: $("$ctl" --socket "$work/ctl.sock" tunnels |
  awk 'NR > 1 && NF >= 5 {n[$(NF - 1)]++} END {for (s in n) printf "%s %d ", s, n[s]; if (!length(n)) printf "none"}')"
for what in sessions ike sa; do
  "$ctl" --socket "$work/ctl.sock" "$what" --json 2>/dev/null | "$py" -c '
import json, sys
d = json.load(sys.stdin)
if isinstance(d, dict):
    d = next((v for v in d.values() if isinstance(v, list)), [])
print(f"left on the gateway: {len(d)} {sys.argv[1]}")' "$what" 2>/dev/null || true
done
"$ctl" --socket "$work/ctl.sock" drops | head -8
"$ctl" --socket "$work/ctl.sock" ports
"$ctl" --socket "$work/ctl.sock" workers | head -2
echo "# clients' side (lsc-cl): cl0 and the raw sockets' drops"
ip -n lsc-cl -s link show cl0 | sed -n '3,6p'
ip netns exec lsc-cl awk 'NR > 1 {d += $NF} END {print "raw socket drops", d + 0}' /proc/net/raw
exit $rc
