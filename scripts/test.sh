#!/usr/bin/env bash
# Every test of l2tpgw, on a fresh Debian 12 machine as root:
#   1. scripts/setup.sh (packages, hugepages);
#   2. the normal build: unit tests and pipeline tests;
#   3. the ASan+UBSan build: the same tests again.
# Ends with one line "N passed, M failed" over both builds; exits non-zero on
# any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

jobs=$(nproc)
total_pass=0
total_fail=0

run_suite() {  # build-dir, meson options...
  local dir=$1
  shift
  if [ ! -f "$dir/build.ninja" ]; then
    local log
    log=$(mktemp)
    meson setup "$dir" "$@" >"$log" 2>&1 || { cat "$log"; rm -f "$log"; return 1; }
    rm -f "$log"
  fi
  ninja -C "$dir" -j"$jobs" >"$dir/ninja.log" 2>&1 || { tail -50 "$dir/ninja.log"; return 1; }
  # Pipeline tests start DPDK processes that each want the two cores: run
  # them one at a time after the unit tests.
  local rc=0
  meson test -C "$dir" --suite unit --num-processes "$jobs" --print-errorlogs --logbase unit || rc=1
  meson test -C "$dir" --suite pipeline --num-processes 1 --print-errorlogs --logbase pipeline || rc=1
  meson test -C "$dir" --suite system --num-processes 1 --print-errorlogs --logbase system || rc=1
  # The client's tests use nothing of the build: once is enough.
  if [ "$dir" = build ]; then
    meson test -C "$dir" --suite client --num-processes 1 --print-errorlogs --logbase client || rc=1
  fi
  return $rc
}

count() {  # build-dir: adds its results to the totals
  local log p f
  for log in "$1"/meson-logs/{unit,pipeline,system,client}.json; do
    [ -f "$log" ] || continue
    p=$(grep -c '"result": "OK"' "$log")
    f=$(grep -vc '"result": "OK"' "$log")
    total_pass=$((total_pass + p))
    total_fail=$((total_fail + f))
  done
}

status=0
for spec in "build" "build-asan -Dsanitize=true -Dbuildtype=debug"; do
  read -r -a args <<<"$spec"
  dir=${args[0]}
  rm -f "$dir"/meson-logs/{unit,pipeline,system,client}.json
  echo "== tests in $dir"
  if ! run_suite "${args[@]}"; then
    status=1
  fi
done
for dir in build build-asan; do
  count "$dir"
done
echo "tests: $total_pass passed, $total_fail failed"
[ "$status" -eq 0 ] && [ "$total_fail" -eq 0 ]
