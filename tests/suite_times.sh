#!/usr/bin/env bash
# `make test`: runs suites (make targets) and prints how long each took (the per-suite times
# the README and bench/results.md quote).
#
#   tests/suite_times.sh [SUITE | --beside A,B,... | --join]...
#
# SUITE runs in the foreground. --beside starts a lane at that point: its suites in order, in the
# background, output kept in a file and printed when the lane is joined. For suites that leave
# the CPU idle or fill what another leaves idle (venv and npm installs, the infra lint; clippy
# beside the end-to-end suite, which waits on polls a quarter of the time). --join waits for
# every lane started (the end-to-end suite needs the venv a lane installs); the end joins too.
# The first suite that fails stops every lane and the run; its output is printed, and the exit
# status is its own.
set -uo pipefail
make_cmd="${MAKE:-make}"
dir="$(mktemp -d)"
rows=()
pids=()
lanes=()

stop_lanes() {
  for pid in "${pids[@]}"; do kill -- -"$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
  pids=()
}
trap 'stop_lanes; rm -rf "$dir"' EXIT

summary() {
  echo "== make test: seconds per suite (wall clock; a lane's suites ran beside the others)"
  for r in "${rows[@]}"; do echo "  $r"; done
  for i in "${!lanes[@]}"; do
    [ ! -s "$dir/times.$i" ] || sed "s/^/  beside, lane $((i + 1)): /" "$dir/times.$i"
  done
}

run_lane() { # $1: lane number; then its suites, in order
  local n=$1
  shift
  for suite in "$@"; do
    start=$(date +%s)
    "$make_cmd" --no-print-directory "$suite"
    rc=$?
    echo "$suite: $(( $(date +%s) - start )) s$([ $rc -eq 0 ] || echo ' (FAILED)')" >> "$dir/times.$n"
    [ $rc -eq 0 ] || return $rc
  done
}

join_lanes() {
  local failed=0
  for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || failed=$?
  done
  for i in "${!lanes[@]}"; do
    [ -e "$dir/log.$i" ] || continue
    echo "== lane $((i + 1)), beside: ${lanes[$i]}"
    cat "$dir/log.$i"
    rm -f "$dir/log.$i"
  done
  pids=()
  return $failed
}

fail() {
  stop_lanes
  for i in "${!lanes[@]}"; do
    [ -e "$dir/log.$i" ] && { echo "== lane $((i + 1)), beside: ${lanes[$i]} (stopped)"; cat "$dir/log.$i"; }
  done
  summary
  exit "$1"
}

while [ $# -gt 0 ]; do
  case "$1" in
    --beside)
      IFS=, read -r -a suites <<< "$2"
      n=${#lanes[@]}
      lanes+=("${suites[*]}")
      # A process group of its own, so a failure elsewhere stops it whole.
      set -m
      run_lane "$n" "${suites[@]}" > "$dir/log.$n" 2>&1 &
      pids+=($!)
      set +m
      shift 2
      ;;
    --join)
      join_lanes || fail $?
      shift
      ;;
    *)
      start=$(date +%s)
      "$make_cmd" --no-print-directory "$1"
      rc=$?
      rows+=("$1: $(( $(date +%s) - start )) s$([ $rc -eq 0 ] || echo ' (FAILED)')")
      [ $rc -eq 0 ] || fail $rc
      shift
      ;;
  esac
done
join_lanes || fail $?
summary
