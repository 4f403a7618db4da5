#!/usr/bin/env bash
# Throughput of the whole data-plane pipeline on one worker lcore, fed by
# net_pcap replaying a generated pcap in a loop (infinite_rx) into the
# outside port (decap) or the inside port (encap); the other port is a
# net_null sink. Prints a Markdown table: Mpps, Gbit/s on the ESP frames and
# TSC cycles per packet of the worker, with the command lines used.
#
#   perf/esp_bench.sh [-b BUILD] [-n PACKETS] [-t SECONDS] [-s SAS] [-k SESSIONS_PER_SA]
#                     [-p ONE_PASS_PACKETS] [-H HUGEPAGES] [-P PROFILE_DIR] [CASE...]
#
# CASE is direction:cipher:integrity:size[:sessions[:mppe]], e.g.
# decap:aes-gcm-128:none:512 (ESP only, perf/gen_esp_pcap.py); directions
# sdecap and sencap carry L2TP/PPP sessions (perf/gen_session_pcap.py, every
# session its own client and SA pair unless -k), and need a session count:
# sdecap:aes-cbc-128:hmac-sha1-96:imix:1000. MPPE is BITS, s for stateless:
# sencap:aes-cbc-128:hmac-sha1-96:imix:1:128s.
# Directions tdecap and tencap are ESP tunnel mode (RFC 4301 §4.1): whole
# packets between each SA's peer network and the inside host, decapsulated
# and forwarded out of the inside port, or routed from it into the SA by
# longest prefix: tencap:aes-gcm-128:none:512.
#
# MPPE decap cannot loop a capture (its key changes with every frame or every
# 256 and never returns): an sdecap case with MPPE is measured in one pass
# over a capture of -p packets (default 300 000), against the same capture
# without MPPE in one pass and in a loop, and reported as
#   loop without MPPE + (one pass with MPPE - one pass without MPPE),
# i.e. the one-pass reading cost of net_pcap cancels out (docs/PERFORMANCE.md).
#
# -H N raises the 2 MB hugepage reservation to N pages for the run (100 000
# sessions need more than scripts/setup.sh's 512) and restores it after.
# -P DIR records a profile of the data plane during each loop sample
# (perf record -e cpu-clock -F 2000) into DIR/CASE.data; the sample interval
# then includes perf's own overhead, so take figures from a run without -P.
# The default cases are decap|encap x aes-cbc-128/hmac-sha1-96|aes-gcm-128 x
# 64/512/1400 bytes of inner UDP/1701 payload. Needs root, 2 MB hugepages
# mounted on /dev/hugepages (scripts/setup.sh) and lcores 0 and 1.
#
# Decap (ESP only): the decrypted packets are UDP/1701 and are punted to the
# control plane, which rate-limits punts; most end as the punt_rate drop
# after full decapsulation, which is what is measured. Decap SAs have
# replay_window = 0 because the looping capture repeats its sequence numbers.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=$root/build
packets=4096
interval=3
nsas=1
per_sa=1
onepass=300000
hugepages=
profile_dir=
py=/usr/bin/python3

while getopts "b:n:t:s:k:p:H:P:h" opt; do
  case $opt in
    b) build=$(cd "$OPTARG" && pwd) ;;
    n) packets=$OPTARG ;;
    t) interval=$OPTARG ;;
    s) nsas=$OPTARG ;;
    k) per_sa=$OPTARG ;;
    p) onepass=$OPTARG ;;
    H) hugepages=$OPTARG ;;
    P) profile_dir=$(mkdir -p "$OPTARG" && cd "$OPTARG" && pwd) ;;
    *) sed -n '2,40p' "$0"; exit 2 ;;
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
nr_pages=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
pages_before=$(cat "$nr_pages")

# stop, cleanup_run
source "$(dirname "$0")/gw_procs.sh"

finish() {
  cleanup_run
  rm -rf "$work"
  if [[ -n $hugepages ]]; then
    echo "$pages_before" >"$nr_pages"
  fi
}
trap finish EXIT
trap 'exit 130' INT TERM

if [[ -n $hugepages ]] && (($(cat "$nr_pages") < hugepages)); then
  echo "$hugepages" >"$nr_pages"
  echo "esp_bench: 2 MB hugepages reserved: $(cat "$nr_pages") (were $pages_before)" >&2
fi

# By socket: --config would read the whole configuration on every sample.
workers_json() {
  "$ctl" --socket "$(dirname "$1")/ctl.sock" workers --json
}

rx_of() {
  "$py" -c 'import json,sys; print(sum(w["rx_packets"] for w in json.load(sys.stdin)["workers"]))'
}

# run_case NAME DIR CIPHER AUTH SIZE NSESS MPPE MODE: generates the capture
# and configuration, runs both planes and leaves in $run/s0.json and
# $run/s1.json two samples of the worker counters (MODE loop: $interval s
# apart in steady state; MODE onepass: zero and after the whole capture) and
# in $run/t the seconds between them. Returns non-zero when the data plane
# did not run.
run_case() {
  local name=$1 dir=$2 cipher=$3 auth=$4 size=$5 nsess=$6 mppe=$7 mode=$8
  n=$((n + 1))
  run=$work/$n
  mkdir -p "$run"
  prefix=l2tpgwbench$$_$n
  channel=bench$$_$n
  local dst_mac npkts
  case $dir in decap | sdecap | tdecap) dst_mac=$OUT_MAC ;; *) dst_mac=$IN_MAC ;; esac
  if [[ $mode == onepass ]]; then
    npkts=$onepass
  else
    # Every session at least once per pass of the capture.
    npkts=$((packets > ${nsess:-0} ? packets : ${nsess:-0}))
  fi
  if [[ $dir == s* ]]; then
    gen=("$py" "$here/gen_session_pcap.py" --direction "${dir#s}" --cipher "$cipher" --integrity "$auth"
         --size "$size" --sessions "$nsess" --sessions-per-sa "$per_sa" --packets "$npkts"
         --mppe "${mppe:-none}" --gw-mac "$dst_mac" --out "$run/traffic.pcap" --conf-out "$run/sas.conf"
         --check 16)
  else
    gen=("$py" "$here/gen_esp_pcap.py" --direction "${dir#t}" --cipher "$cipher" --integrity "$auth"
         --size "$size" --sas "$nsas" --packets "$npkts" --gw-mac "$dst_mac"
         --out "$run/traffic.pcap" --sas-out "$run/sas.conf")
    [[ $dir == t* ]] && gen+=(--mode tunnel)
    # The capture loops, so its sequence numbers repeat: anti-replay would
    # drop every packet after the first pass. Decap SAs switch it off
    # (static SAs only; docs/PERFORMANCE.md).
    [[ $dir == decap || $dir == tdecap ]] && gen+=(--replay-window 0)
  fi
  local genout
  genout=$("${gen[@]}") || { echo "esp_bench: $name: generator failed" >&2; return 1; }
  echo "$genout" | head -2 >&2
  frame=$(sed -n 's/^esp_frame_mean=//p' <<<"$genout")
  local max_sas max_sessions mbufs rx_opt
  max_sas=$(sed -n 's/^max_sas=//p' <<<"$genout")
  max_sessions=$(sed -n 's/^max_sessions=//p' <<<"$genout")
  if [[ $mode == onepass ]]; then
    # One pass reads the file as it goes: the pool only fills the rings.
    mbufs=32767
    rx_opt=
    cat "$run/traffic.pcap" >/dev/null  # into the page cache before the clock starts
  else
    # net_pcap holds the whole capture in mbufs: room for it plus the rings.
    mbufs=$((npkts + 16384))
    rx_opt=,infinite_rx=1
  fi
  local limits="max_sas = ${max_sas:-4096}; max_sessions = ${max_sessions:-1024}; mbufs = $mbufs;"
  local out_dev in_dev
  if [[ $dir == decap || $dir == sdecap || $dir == tdecap ]]; then
    out_dev="vdev = \"net_pcap0,rx_pcap=$run/traffic.pcap$rx_opt\";"
    in_dev="vdev = \"net_null1,no-rx=1\";"
  else
    out_dev="vdev = \"net_null0,no-rx=1\";"
    in_dev="vdev = \"net_pcap1,rx_pcap=$run/traffic.pcap$rx_opt\";"
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
  # Up to 5 minutes: 100 000 sessions with one SA pair each take a while
  # to read (docs/PERFORMANCE.md, "Configuration read time").
  for _ in $(seq 6000); do
    [[ -e /dev/shm/l2tpgw-$channel ]] && break
    kill -0 "$dp_pid" 2>/dev/null || break
    sleep 0.05
  done
  if ! [[ -e /dev/shm/l2tpgw-$channel ]]; then
    echo "esp_bench: $name: the data plane did not start:" >&2
    cat "$run/dataplane.log" >&2
    cleanup_run
    return 1
  fi
  "$cp" --config "$run/l2tpgw.conf" --punt-pcap "$run/punt.pcap" >"$run/controlplane.log" 2>&1 &
  cp_pid=$!
  local ok= s t0 t1 last=-1 rx same=0
  if [[ $mode == onepass ]]; then
    # Until the capture is consumed: the counters stop moving. Only busy
    # loops count cycles, so waiting longer charges nothing.
    for _ in $(seq 2400); do
      sleep 0.25
      s=$(workers_json "$run/l2tpgw.conf" 2>/dev/null) || continue
      rx=$(rx_of <<<"$s")
      if ((rx == npkts)) || { ((rx > 0 && rx == last)) && ((++same >= 8)); }; then
        ok=1
        break
      fi
      if ((rx != last)); then
        same=0
      fi
      last=$rx
    done
    echo '{"workers": []}' >"$run/s0.json"
    echo "$s" >"$run/s1.json"
    echo 1 >"$run/t"
  else
    # Steady state: the workers have been busy for a second.
    for _ in $(seq 3000); do
      if s=$(workers_json "$run/l2tpgw.conf" 2>/dev/null) && (($(rx_of <<<"$s") > 0)); then
        ok=1
        break
      fi
      sleep 0.1
    done
    if [[ -n $ok ]]; then
      sleep 1
      t0=$(date +%s.%N); workers_json "$run/l2tpgw.conf" >"$run/s0.json"
      if [[ -n $profile_dir ]]; then
        perf record -q -e cpu-clock -F 2000 -p "$dp_pid" -o "$profile_dir/${name//[:\/]/_}.data" \
          -- sleep "$interval" >/dev/null 2>&1
      else
        sleep "$interval"
      fi
      t1=$(date +%s.%N); workers_json "$run/l2tpgw.conf" >"$run/s1.json"
      "$py" -c "print($t1 - $t0)" >"$run/t"
    fi
  fi
  if [[ -z $ok ]]; then
    echo "esp_bench: $name: no packets received" >&2
    cat "$run/dataplane.log" "$run/controlplane.log" >&2
    cleanup_run
    return 1
  fi
  cleanup_run
  cmds+=("${gen[*]}" "${dp_cmd[*]}")
}

# measure RUN: "pps cycles_per_packet esp_done_share drops" of a run's samples.
measure() {
  "$py" - "$1/s0.json" "$1/s1.json" "$(cat "$1/t")" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
dt = float(sys.argv[3])
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
# One pass (no first sample): the rate the busy cycles allow, since the wall
# clock would include start-up and the wait for the end.
pps = rx / dt if a["workers"] else (b["tsc_hz"] * rx / cyc if cyc else 0)
da, db = drops(a), drops(b)
dd = {k: db[k] - da.get(k, 0) for k in db if db[k] - da.get(k, 0)}
work = tot(b, "esp_decapped") - tot(a, "esp_decapped") + tot(b, "esp_encapped") - tot(a, "esp_encapped")
top = ", ".join(f"{k} {v / rx:.1%}" for k, v in sorted(dd.items(), key=lambda kv: -kv[1])[:3]) if rx else ""
print(f"{pps:.0f} {cyc / rx if rx else float('nan'):.1f} {work / rx if rx else 0:.0%} {b['tsc_hz']} {rx} {top}")
PY
}

row() {  # row DIR XF PAYLOAD FRAME PPS CYC DONE DROPS METHOD
  "$py" -c 'import sys; d, xf, pl, fr, pps, cyc, done, drops, how = sys.argv[1:]
fr, pps = float(fr), float(pps)
print(f"| {d} | {xf} | {pl} | {fr:.0f} | {pps / 1e6:.3f} | {fr * 8 * pps / 1e9:.2f} | {float(cyc):.0f} | {done} | {drops} | {how} |")' "$@"
}

rows=()
cmds=()
n=0
for c in "${cases[@]}"; do
  IFS=: read -r dir cipher auth size nsess mppe <<<"$c"
  payload="$size${nsess:+ × $nsess sessions}${mppe:+, MPPE $mppe}"
  if [[ $dir == sdecap && -n $mppe ]]; then
    # One pass with and without MPPE, and the loop without it.
    declare -A res=()
    for m in loop onepass onepass-mppe; do
      mm=; [[ $m == onepass-mppe ]] && mm=$mppe
      if ! run_case "$c/$m" "$dir" "$cipher" "$auth" "$size" "$nsess" "$mm" "${m%-mppe}"; then
        res=(); break
      fi
      res[$m]=$(measure "$run")
      [[ $m == onepass-mppe ]] && res[frame]=$frame
      echo "esp_bench: $c $m: ${res[$m]}" >&2
    done
    if ((${#res[@]} == 0)); then
      rows+=("| $dir | $cipher/$auth | $payload | | failed | | | | | |")
      continue
    fi
    read -r _ cyc_loop _ tsc _ <<<"${res[loop]}"
    read -r _ cyc_p _ _ _ _ <<<"${res[onepass]}"
    read -r _ cyc_m done_m _ rx_m drops_m <<<"${res[onepass-mppe]}"
    cyc=$("$py" -c "print($cyc_loop + $cyc_m - $cyc_p)")
    rows+=("$(row "$dir" "$cipher/$auth" "$payload" "${res[frame]}" "$("$py" -c "print($tsc / $cyc)")" "$cyc" \
      "$done_m" "${drops_m:-}" "one pass of $rx_m: ${cyc_m%.*} − ${cyc_p%.*} (without MPPE) + ${cyc_loop%.*} (loop without MPPE)")")
  else
    if ! run_case "$c" "$dir" "$cipher" "$auth" "$size" "$nsess" "$mppe" loop; then
      rows+=("| $dir | $cipher/$auth | $payload | | failed | | | | | |")
      continue
    fi
    read -r pps cyc done _ _ drops <<<"$(measure "$run")"
    rows+=("$(row "$dir" "$cipher/$auth" "$payload" "$frame" "$pps" "$cyc" "$done" "${drops:-}" loop)")
  fi
  echo "${rows[-1]}" >&2
done

echo
echo "Pipeline, 1 worker (lcore 1), ESP-only cases $nsas SA(s), $packets-packet pcap replayed (at least one"
echo "packet per session), ${interval} s sample; one-pass captures of $onepass packets; load $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| direction | transform | payload B | ESP frame B | Mpps | Gbit/s | cycles/pkt | ESP done | drops (share of rx) | method |"
echo "|---|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
echo
echo "Commands (per case: generator, data plane; the control plane ran as"
echo "\`l2tpgw-controlplane --config FILE --punt-pcap FILE\`, samples by \`l2tpgwctl --socket SOCKET workers --json\`):"
echo
printf '    %s\n' "${cmds[@]}"
