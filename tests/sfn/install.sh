#!/usr/bin/env bash
# Installs asl-validator (for `make asl`) exactly from package-lock.json into tests/sfn/node_modules,
# with the system Node and npm (asl-validator needs Node >= 18). Idempotent: `npm ci` wipes
# node_modules, so it only runs when package.json or the lockfile changed since the last install.
set -euo pipefail
dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
stamp="$dir/node_modules/.install-stamp"
node="${NODE:-node}"
command -v "$node" >/dev/null || { echo "install.sh: no Node found; make asl needs Node >= 18 and npm" >&2; exit 1; }
"$node" -e 'if (+process.versions.node.split(".")[0] < 18) process.exit(1)' \
  || { echo "install.sh: $("$node" --version) is too old; asl-validator needs Node >= 18" >&2; exit 1; }
want="$(cat "$dir/package.json" "$dir/package-lock.json" | sha256sum | cut -d' ' -f1)"
if [ ! -x "$dir/node_modules/.bin/asl-validator" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  # Quiet on success; npm's output is shown (on stderr) only if it fails.
  if ! out="$(npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error 2>&1)"; then
    echo "$out" >&2
    exit 1
  fi
  echo "$want" > "$stamp"
fi
touch "$stamp"
