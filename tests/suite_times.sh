#!/usr/bin/env bash
# `make test`: runs suites (make targets) and prints how long each took (the per-suite times
# the README and bench/results.md quote).
#
#   tests/suite_times.sh [--beside A,B,...] SUITE... [--join] SUITE...
#
# --beside: a second lane started at once, its suites in order, its output kept in a file and
# printed when it is joined: for suites that barely use the CPU the Rust builds saturate
# (Python venvs, npm, the infra lint). --join: wait for that lane before the suites after it
# (the end-to-end suite needs the venv the lane installs). The first suite that fails stops
# its lane and the run; its output is printed, and the exit status is its own.
set -uo pipefail
make_cmd="${MAKE:-make}"
rows=()
side=()
side_pid=""
side_dir="$(mktemp -d)"
trap 'rm -rf "$side_dir"; [ -z "$side_pid" ] || kill -- -"$side_pid" 2>/dev/null' EXIT

summary() {
  echo "== make test: seconds per suite (wall clock; the lane beside ran at the same time)"
  for r in "${rows[@]}"; do echo "  $r"; done
  [ ! -s "$side_dir/times" ] || sed 's/^/  beside: /' "$side_dir/times"
}

run_lane() { # the lane beside: each suite in order, times to $side_dir/times
  for suite in "$@"; do
    start=$(date +%s)
    "$make_cmd" --no-print-directory "$suite"
    rc=$?
    echo "$suite: $(( $(date +%s) - start )) s$([ $rc -eq 0 ] || echo ' (FAILED)')" >> "$side_dir/times"
    [ $rc -eq 0 ] || return $rc
  done
}

join() {
  [ -n "$side_pid" ] || return 0
  wait "$side_pid"
  local rc=$?
  side_pid=""
  echo "== the suites run beside: ${side[*]}"
  cat "$side_dir/log"
  return $rc
}

if [ "${1:-}" = "--beside" ]; then
  IFS=, read -r -a side <<< "$2"
  shift 2
  # A process group of its own, so a failure elsewhere stops it whole.
  set -m
  run_lane "${side[@]}" > "$side_dir/log" 2>&1 &
  side_pid=$!
  set +m
fi

for suite in "$@"; do
  if [ "$suite" = "--join" ]; then
    join || { rc=$?; summary; exit $rc; }
    continue
  fi
  start=$(date +%s)
  "$make_cmd" --no-print-directory "$suite"
  rc=$?
  rows+=("$suite: $(( $(date +%s) - start )) s$([ $rc -eq 0 ] || echo ' (FAILED)')")
  if [ $rc -ne 0 ]; then
    [ -z "$side_pid" ] || { kill -- -"$side_pid" 2>/dev/null; wait "$side_pid" 2>/dev/null; side_pid=""; }
    summary
    exit $rc
  fi
done
join || { rc=$?; summary; exit $rc; }
summary
