#!/usr/bin/env bash
# `make test`: runs each suite (a make target) in order, stops at the first that fails, and
# prints how long each took (the per-suite times the README and bench/results.md quote).
set -uo pipefail
make_cmd="${MAKE:-make}"
rows=()
summary() {
  echo "== make test: seconds per suite"
  for r in "${rows[@]}"; do echo "  $r"; done
}
for suite in "$@"; do
  start=$(date +%s)
  "$make_cmd" --no-print-directory "$suite"
  rc=$?
  rows+=("$suite: $(( $(date +%s) - start )) s$([ $rc -eq 0 ] || echo ' (FAILED)')")
  if [ $rc -ne 0 ]; then
    summary
    exit $rc
  fi
done
summary
