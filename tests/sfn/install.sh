#!/usr/bin/env bash
# Installs the Step Functions harness dependencies exactly from package-lock.json (including a
# local Node 22, which aws-local-stepfunctions needs) and prints the path of that Node binary.
# Idempotent: `npm ci` wipes node_modules, so it only runs when the lockfile or package.json
# changed since the last install here, or the Node binary is missing.
#   NODE="$(bash tests/sfn/install.sh)" && "$NODE" tests/sfn/run-execution.mjs ...
set -euo pipefail
dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
node="$dir/node_modules/node/bin/node"
stamp="$dir/node_modules/.install-stamp"
want="$(cat "$dir/package.json" "$dir/package-lock.json" | sha256sum | cut -d' ' -f1)"

if [ ! -x "$node" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  # Quiet on success; npm's output is shown (on stderr) only if it fails. stdout is just the path.
  if ! out="$(npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error 2>&1)"; then
    echo "$out" >&2
    exit 1
  fi
  echo "$want" > "$stamp"
fi
"$node" -e 'if (+process.versions.node.split(".")[0] < 22) process.exit(1)' \
  || { echo "install.sh: $node is not Node >= 22" >&2; exit 1; }
echo "$node"
