#!/usr/bin/env bash
# The demo: builds l2tpgw, brings up the gateway on virtual ports (af_packet
# on veth pairs into network namespaces), connects two clients with static
# SAs (one raw ESP, one ESP-in-UDP behind NAT) and a third that negotiates
# everything (IKEv1, L2TP, PPP with MS-CHAPv2 and MPPE), an inside host,
# moves traffic and prints what happened. Cleans up after itself.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
bash scripts/setup.sh

if [ ! -f build/build.ninja ]; then
  meson setup build >/dev/null
fi
echo "== building"
ninja -C build >/dev/null

dir=$(mktemp -d /tmp/l2tpgw-demo.XXXXXX)
dp_pid=""
cp_pid=""
cleanup() {
  set +e
  [ -n "$dp_pid" ] && kill "$dp_pid" 2>/dev/null && wait "$dp_pid" 2>/dev/null
  [ -n "$cp_pid" ] && kill "$cp_pid" 2>/dev/null && wait "$cp_pid" 2>/dev/null
  for ns in l2gw-gw l2gw-client l2gw-inside; do ip netns del "$ns" 2>/dev/null; done
  rm -f /dev/shm/l2tpgw-demo
  rm -rf "$dir"
}
trap cleanup EXIT

echo "== network: namespaces l2gw-gw (gateway), l2gw-client, l2gw-inside"
for ns in l2gw-gw l2gw-client l2gw-inside; do
  ip netns del "$ns" 2>/dev/null || true
  ip netns add "$ns"
done
ip link add gw-out netns l2gw-gw type veth peer name cl0 netns l2gw-client
ip link add gw-in netns l2gw-gw type veth peer name ih0 netns l2gw-inside
ip -n l2gw-gw link set gw-out up
ip -n l2gw-gw link set gw-in up
ip -n l2gw-client link set cl0 up
# Client C speaks from a kernel socket: checksums written by the kernel, not
# left to a veth "offload" that af_packet never runs.
ip -n l2gw-client addr add 198.51.100.9/24 dev cl0
ip netns exec l2gw-client ethtool -K cl0 tx off >/dev/null
ip -n l2gw-inside link set ih0 address 02:00:00:00:02:02
ip -n l2gw-inside addr add 10.0.0.2/24 dev ih0
ip -n l2gw-inside link set ih0 up
# The clients' inner addresses are reached through the gateway.
ip -n l2gw-inside route add 100.64.0.0/10 via 10.0.0.1
for ns in l2gw-gw l2gw-client l2gw-inside; do ip -n "$ns" link set lo up; done

key() { openssl rand -hex "$1"; }
declare -A k=(
  [A_IN_ENC]=$(key 16) [A_IN_AUTH]=$(key 20) [A_OUT_ENC]=$(key 16) [A_OUT_AUTH]=$(key 20)
  [B_IN_ENC]=$(key 20) [B_OUT_ENC]=$(key 20)
  [PSK]=$(key 16)
)
password=$(key 12)
conf_file=$dir/l2tpgw.conf
sed "s|@DIR@|$dir|" conf/demo.conf.in >"$conf_file"
for name in "${!k[@]}"; do sed -i "s|@$name@|${k[$name]}|" "$conf_file"; done
printf 'users = ( { name = "demo"; password = "%s"; } );\n' "$password" >"$dir/users.conf"

echo "== starting the data plane (DPDK, af_packet ports gw-out and gw-in) and the control plane"
ip netns exec l2gw-gw build/dataplane/core/l2tpgw-dataplane --no-pci --no-huge -m 512 --no-shconf \
  --no-telemetry --file-prefix l2gw-demo -l 0,1 -- --config "$conf_file" --wait-cp \
  >"$dir/dataplane.log" 2>&1 &
dp_pid=$!
build/controlplane/l2tpgw-controlplane --config "$conf_file" >"$dir/controlplane.log" 2>&1 &
cp_pid=$!
ctl() { build/controlplane/l2tpgwctl --config "$conf_file" "$@"; }
for _ in $(seq 100); do
  ctl status 2>/dev/null | grep -q 'attached, synced' && break
  sleep 0.1
done
ctl status | sed 's/^/  /'

echo
echo "== inside host 10.0.0.2 pings the gateway's inside address"
ip netns exec l2gw-inside ping -c 3 -i 0.2 -W 1 10.0.0.1 | sed 's/^/  /'

echo
echo "== clients talk to the gateway through their SAs"
out=$(ip netns exec l2gw-client /usr/bin/python3 scripts/demo_client.py --iface cl0 --count 1000 \
  --a-in-enc "${k[A_IN_ENC]}" --a-in-auth "${k[A_IN_AUTH]}" --a-out-enc "${k[A_OUT_ENC]}" \
  --a-out-auth "${k[A_OUT_AUTH]}" --b-in-enc "${k[B_IN_ENC]}" --b-out-enc "${k[B_OUT_ENC]}")
echo "$out" | grep -v '^SUMMARY '
summary=$(echo "$out" | sed -n 's/^SUMMARY //p')
sleep 0.5
# What the gateway itself counted, for the summary: its word, not the clients'.
ctl stats --json >"$dir/stats-ab.json"

echo
echo "== client C (Windows' offer) negotiates IKEv1, then L2TP and PPP inside its SAs, and pings the inside host"
ip netns exec l2gw-client /usr/bin/python3 perf/l2tp_client.py --server 198.51.100.1 \
  --local 198.51.100.9 --user demo --password "$password" --mppe 128 --stateless \
  --ike psk --psk "${k[PSK]}" --profile windows --ping 10.0.0.2 --count 20 --hold 4 \
  >"$dir/client-c.log" 2>&1 &
c_pid=$!
for _ in $(seq 100); do
  ctl users 2>/dev/null | grep -q running && break
  sleep 0.1
done
echo "-- l2tpgwctl ike"
ctl ike
echo "-- l2tpgwctl tunnels"
ctl tunnels
echo "-- l2tpgwctl users"
ctl users
wait "$c_pid" || true
grep -v '^{' "$dir/client-c.log" | sed 's/^/  /'
c_summary=$(tail -n 1 "$dir/client-c.log")
# After client C's hang-up: what is left of it on both planes.
sleep 0.5
ctl ike --json >"$dir/ike-after.json"
ctl stats --json >"$dir/stats-after.json"

echo
echo "== l2tpgwctl sa"
ctl sa
echo
echo "== l2tpgwctl sessions"
ctl sessions
echo
echo "== l2tpgwctl drops"
ctl drops
echo
echo "== l2tpgwctl punts"
ctl punts
echo
echo "== l2tpgwctl workers"
ctl workers
echo
echo "== control plane log (last lines)"
tail -n 12 "$dir/controlplane.log" | sed 's/^/  /'

/usr/bin/python3 - "$summary" "$c_summary" "$dir/stats-ab.json" "$dir/ike-after.json" \
  "$dir/stats-after.json" <<'PY'
import json, sys
s = json.loads(sys.argv[1])
st = json.load(open(sys.argv[3]))
ike_left = [sa for sa in json.load(open(sys.argv[4]))["ike_sas"] if sa["peer"] == "198.51.100.9"]
after = json.load(open(sys.argv[5]))
c_left = [x for x in after["sessions"] if x["peer"] == "198.51.100.9"]
c_sas_left = [x for x in after["sas"] if x["peer"] == "198.51.100.9"]
decapped = sum(sa["counters"]["packets"] for sa in st["sas"]
               if sa["direction"] == "in" and sa["spi"] in (0xa001, 0xa002))
drops = st["drops"]
try:
    c = json.loads(sys.argv[2])
except json.JSONDecodeError:
    c = {"failure": "no summary", "pings_received": 0, "pings_sent": 0}
print()
print("== summary")
print(f"  The gateway answered ARP and ping on both ports, decrypted {decapped} ESP packets "
      f"from two clients (raw ESP with AES-CBC/HMAC-SHA1, and ESP in UDP 4500 with AES-GCM; "
      f"{s['sent']} echo requests among them), and sent back "
      f"{s['replies']} encrypted echo replies that the clients decrypted with an independent ESP "
      f"implementation, in {s['seconds']} s ({s['replies_per_s']} replies/s, {s['reply_mbit_s']} Mbit/s "
      f"of ESP replies; the client, a Python program on an af_packet link, is the limit here, not "
      f"the gateway: see docs/PERFORMANCE.md). Through client A's L2TP session (ESP, UDP 1701, L2TP, "
      f"PPP) {s['session_sent']} pings reached the Linux host on the inside, and {s['session_replies']} "
      f"of its replies came back through the tunnel. L2TP and IKE control packets went to the control "
      f"plane; it dropped {drops.get('esp_auth', 0)} forged packet(s) under esp_auth and "
      f"{drops.get('esp_replay', 0)} replay(s) under esp_replay (one of each was sent).")
if c.get("ok"):
    ike = c.get("ike") or {}
    print(f"  Client C offered what Windows offers; IKEv1 Main Mode chose {ike.get('p1')} and Quick Mode "
          f"ESP {ike.get('esp')} (SPIs in {ike.get('spi_in')}, out {ike.get('spi_out')}); inside those SAs "
          f"it negotiated an L2TP tunnel and "
          f"session, LCP, MS-CHAPv2, IPCP (address {c['address']}) and CCP ({c['mppe']}); "
          f"{c['pings_received']} of {c['pings_sent']} pings to the inside host came back through "
          f"ESP, L2TP, PPP and MPPE, then it hung up (CDN, StopCCN, IKE Deletes); afterwards the "
          f"gateway held {len(c_left)} sessions, {len(c_sas_left)} ESP SAs and {len(ike_left)} IKE SAs "
          f"of client C.")
else:
    print(f"  Client C did not get its link up: {c.get('failure')} (see the control plane log above).")
PY
