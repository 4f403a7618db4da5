#!/usr/bin/env bash
# ESP throughput of the whole data-plane pipeline on one worker lcore, fed by
# net_pcap replaying a generated pcap in a loop (infinite_rx) into the
# outside port (decap) or the inside port (encap); the other port is a
# net_null sink. Prints a Markdown table: Mpps, Gbit/s on the ESP frames and
# TSC cycles per packet of the worker, with the command lines used.
#
#   perf/esp_bench.sh [-b BUILD_DIR] [-n PACKETS] [-t SECONDS] [-s SAS] [CASE...]
#
# CASE is direction:cipher:integrity:size[:sessions], e.g. decap:aes-gcm-128:none:512;
# directions sdecap and sencap carry L2TP/PPP sessions (perf/gen_session_pcap.py):
# sdecap:aes-cbc-128:hmac-sha1-96:imix:1000 — a session count is then required —
# and, for sencap, an optional MPPE mode: sencap:aes-cbc-128:hmac-sha1-96:imix:1:128s
# (BITS, s for stateless). MPPE decap cannot loop a capture: its key changes
# with every frame (stateless) or every 256 (stateful) and never returns, so a
# second pass decrypts to noise;
# the default is decap|encap x aes-cbc-128/hmac-sha1-96|aes-gcm-128 x
# 64/512/1400 bytes of inner UDP/1701 payload. Needs root, 2 MB hugepages
# mounted on /dev/hugepages (scripts/setup.sh) and lcores 0 and 1.
#
# Decap: the decrypted packets are UDP/1701 and are punted to the control
# plane, which rate-limits punts; most end as the punt_rate drop after full
# decapsulation, which is what is measured. Decap SAs have replay_window = 0
# because the looping capture repeats its sequence numbers.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=$root/build
packets=4096
interval=3
nsas=1
py=/usr/bin/python3

while getopts "b:n:t:s:h" opt; do
  case $opt in
    b) build=$(cd "$OPTARG" && pwd) ;;
    n) packets=$OPTARG ;;
    t) interval=$OPTARG ;;
    s) nsas=$OPTARG ;;
    *) sed -n '2,18p' "$0"; exit 2 ;;
  esac
done
shift $((OPTIND - 1))

dp=$build/dataplane/core/l2tpgw-dataplane
cp=$build/controlplane/l2tpgw-controlplane
ctl=$build/controlplane/l2tpgwctl
for b in "$dp" "$cp" "$ctl"; do
  [[ -x $b ]] || { echo "esp_bench: $b not built" >&2; exit 1; }
done
mountpoint -q /dev/hugepages || { echo "esp_bench: /dev/hugepages not mounted (run scripts/setup.sh)" >&2; exit 1; }

cases=("$@")
if ((${#cases[@]} == 0)); then
  for dir in decap encap; do
    for xf in aes-cbc-128:hmac-sha1-96 aes-gcm-128:none; do
      for size in 64 512 1400; do
        cases+=("$dir:$xf:$size")
      done
    done
  done
fi

OUT_MAC=02:00:00:00:01:01
IN_MAC=02:00:00:00:02:01
# BENCH_PCAP_MACS=1: leave the ports' "mac" keys out and address the MAC
# net_pcap gives the first pcap port it creates (02:70:63:61:70:00); the
# only pcap port of a run is that one.
out_mac_cfg="mac = \"$OUT_MAC\";"
in_mac_cfg="mac = \"$IN_MAC\";"
if [[ ${BENCH_PCAP_MACS:-0} == 1 ]]; then
  OUT_MAC=02:70:63:61:70:00
  IN_MAC=02:70:63:61:70:00
  out_mac_cfg=
  in_mac_cfg=
fi
work=$(mktemp -d /tmp/l2tpgw-bench.XXXXXX)
dp_pid=
cp_pid=
prefix=
channel=

stop() {
  local pid=$1
  [[ -n $pid ]] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

cleanup_run() {
  stop "$dp_pid"; dp_pid=
  stop "$cp_pid"; cp_pid=
  if [[ -n $prefix ]]; then
    rm -f /dev/hugepages/"$prefix"*
    rm -rf /var/run/dpdk/"$prefix"
  fi
  [[ -n $channel ]] && rm -f /dev/shm/l2tpgw-"$channel"
  return 0
}

trap 'cleanup_run; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

stats() {
  "$ctl" --config "$1" stats --json
}

rows=()
cmds=()
n=0
for c in "${cases[@]}"; do
  IFS=: read -r dir cipher auth size nsess mppe <<<"$c"
  n=$((n + 1))
  run=$work/$n
  mkdir -p "$run"
  prefix=l2tpgwbench$$_$n
  channel=bench$$_$n
  case $dir in decap | sdecap) dst_mac=$OUT_MAC ;; *) dst_mac=$IN_MAC ;; esac
  if [[ $dir == s* ]]; then
    # Every session at least once per pass of the capture.
    spkts=$((packets > nsess ? packets : nsess))
    if [[ -n $mppe && $dir == sdecap ]]; then
      echo "esp_bench: $c: MPPE decap cannot be measured with a looping capture" >&2
      rows+=("| $dir | $cipher/$auth | $size × $nsess sessions, MPPE $mppe | | not measurable by looping | | | |")
      continue
    fi
    gen=("$py" "$here/gen_session_pcap.py" --direction "${dir#s}" --cipher "$cipher" --integrity "$auth"
         --size "$size" --sessions "$nsess" --packets "$spkts" --mppe "${mppe:-none}"
         --gw-mac "$dst_mac" --out "$run/traffic.pcap" --conf-out "$run/sas.conf")
  else
    gen=("$py" "$here/gen_esp_pcap.py" --direction "$dir" --cipher "$cipher" --integrity "$auth"
         --size "$size" --sas "$nsas" --packets "$packets" --gw-mac "$dst_mac"
         --out "$run/traffic.pcap" --sas-out "$run/sas.conf")
    # The capture loops, so its sequence numbers repeat: anti-replay would
    # drop every packet after the first pass. Decap SAs switch it off
    # (static SAs only; docs/PERFORMANCE.md).
    [[ $dir == decap ]] && gen+=(--replay-window 0)
  fi
  genout=$("${gen[@]}")
  frame=$(sed -n 's/^esp_frame_mean=//p' <<<"$genout")
  max_sas=$(sed -n 's/^max_sas=//p' <<<"$genout")
  max_sessions=$(sed -n 's/^max_sessions=//p' <<<"$genout")
  # net_pcap holds the whole capture in mbufs: room for it plus the rings.
  limits="max_sas = ${max_sas:-4096}; max_sessions = ${max_sessions:-1024}; mbufs = $(( (packets > ${nsess:-0} ? packets : ${nsess:-0}) + 16384 ));"
  if [[ $dir == decap || $dir == sdecap ]]; then
    out_dev="vdev = \"net_pcap0,rx_pcap=$run/traffic.pcap,infinite_rx=1\";"
    in_dev="vdev = \"net_null1,no-rx=1\";"
  else
    out_dev="vdev = \"net_null0,no-rx=1\";"
    in_dev="vdev = \"net_pcap1,rx_pcap=$run/traffic.pcap,infinite_rx=1\";"
  fi
  cat >"$run/l2tpgw.conf" <<CONF
dataplane = { workers = [1]; channel = "$channel"; $limits };
controlplane = { socket = "$run/ctl.sock"; log_level = "warning"; };
ports = (
  { name = "outside"; role = "outside"; $out_dev address = "198.51.100.1/24"; $out_mac_cfg
    gateway = "198.51.100.254"; neighbors = ( { address = "198.51.100.254"; mac = "02:00:00:00:00:fe"; } ); },
  { name = "inside"; role = "inside"; $in_dev address = "10.0.0.1/24"; $in_mac_cfg
    neighbors = ( { address = "10.0.0.2"; mac = "02:00:00:00:02:02"; } ); }
);
CONF
  grep -v '^#' "$run/sas.conf" >>"$run/l2tpgw.conf"
  dp_cmd=("$dp" --no-pci --no-telemetry --file-prefix "$prefix" -l 0,1 -- --config "$run/l2tpgw.conf" --wait-cp)
  "${dp_cmd[@]}" >"$run/dataplane.log" 2>&1 &
  dp_pid=$!
  for _ in $(seq 200); do
    [[ -e /dev/shm/l2tpgw-$channel ]] && break
    kill -0 "$dp_pid" 2>/dev/null || break
    sleep 0.05
  done
  if ! [[ -e /dev/shm/l2tpgw-$channel ]]; then
    echo "esp_bench: $c: the data plane did not start:" >&2
    cat "$run/dataplane.log" >&2
    cleanup_run
    rows+=("| $dir | $cipher/$auth | $size | $frame | failed to start | | | |")
    continue
  fi
  "$cp" --config "$run/l2tpgw.conf" --punt-pcap "$run/punt.pcap" >"$run/controlplane.log" 2>&1 &
  cp_pid=$!
  # Steady state: the workers have been busy for a second.
  ok=
  for _ in $(seq 100); do
    if s=$(stats "$run/l2tpgw.conf" 2>/dev/null) &&
       [[ $("$py" -c 'import json,sys; print(sum(w["rx_packets"] for w in json.load(sys.stdin)["workers"]))' <<<"$s") -gt 0 ]]; then
      ok=1
      break
    fi
    sleep 0.1
  done
  if [[ -z $ok ]]; then
    echo "esp_bench: $c: no packets received" >&2
    cat "$run/dataplane.log" "$run/controlplane.log" >&2
    cleanup_run
    rows+=("| $dir | $cipher/$auth | $size | $frame | no traffic | | | |")
    continue
  fi
  sleep 1
  t0=$(date +%s.%N); stats "$run/l2tpgw.conf" >"$run/s0.json"
  sleep "$interval"
  t1=$(date +%s.%N); stats "$run/l2tpgw.conf" >"$run/s1.json"
  cleanup_run
  rows+=("$("$py" - "$run/s0.json" "$run/s1.json" "$t0" "$t1" "$frame" "$dir" "$cipher/$auth" "$size${nsess:+ × $nsess sessions}${mppe:+, MPPE $mppe}" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
t0, t1, frame = float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
def tot(d, k):
    return sum(w[k] for w in d["workers"])
def drops(d):
    out = {}
    for w in d["workers"]:
        for k, v in w["drops"].items():
            out[k] = out.get(k, 0) + v
    return out
rx = tot(b, "rx_packets") - tot(a, "rx_packets")
cyc = tot(b, "busy_cycles") - tot(a, "busy_cycles")
pps = rx / (t1 - t0)
da, db = drops(a), drops(b)
dd = {k: db[k] - da.get(k, 0) for k in db if db[k] - da.get(k, 0)}
work = tot(b, "esp_decapped") - tot(a, "esp_decapped") + tot(b, "esp_encapped") - tot(a, "esp_encapped")
top = ", ".join(f"{k} {v / rx:.0%}" for k, v in sorted(dd.items(), key=lambda kv: -kv[1])[:3]) if rx else ""
print(f"| {sys.argv[6]} | {sys.argv[7]} | {sys.argv[8]} | {frame:.0f} | {pps / 1e6:.3f} | "
      f"{frame * 8 * pps / 1e9:.2f} | {cyc / rx if rx else float('nan'):.0f} | "
      f"{work / rx if rx else 0:.0%} | {top} |")
PY
)")
  cmds+=("${gen[*]}" "${dp_cmd[*]}")
  echo "${rows[-1]}" >&2
done

echo
echo "ESP pipeline, 1 worker (lcore 1), $nsas SA(s), $packets-packet pcap replayed, ${interval} s sample"
echo
echo "| direction | transform | payload B | ESP frame B | Mpps | Gbit/s | cycles/pkt | ESP done | drops (share of rx) |"
echo "|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
echo
echo "Commands (per case: generator, data plane; the control plane ran as"
echo "\`l2tpgw-controlplane --config FILE --punt-pcap FILE\`, samples by \`l2tpgwctl --config FILE stats --json\`):"
echo
printf '    %s\n' "${cmds[@]}"
