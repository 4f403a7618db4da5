# Sourced by the perf runners: stopping the gateway's processes of one run
# and removing what they leave behind (hugepage files, DPDK runtime
# directory, the channel's segment). The caller sets dp_pid, cp_pid,
# prefix (the EAL --file-prefix) and channel.

# TERM, up to 30 s to exit (a million sessions take a while to free), then KILL.
stop() {
  local pid=$1
  [[ -n $pid ]] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 300); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

cleanup_run() {
  stop "$cp_pid"; cp_pid=
  stop "$dp_pid"; dp_pid=
  if [[ -n $prefix ]]; then
    rm -f /dev/hugepages/"$prefix"*
    rm -rf /var/run/dpdk/"$prefix"
  fi
  [[ -n $channel ]] && rm -f /dev/shm/l2tpgw-"$channel"
  return 0
}
