#!/usr/bin/env bash
# The whole test suite: setup, type check, then every jest suite (unit specs and the multi-process
# suites under test/). Ends with jest's totals on one line: `N passed, N failed`.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
bash deploy/setup.sh --tests || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }
if ! npx tsc -p tsconfig.json --noEmit; then
  echo "type check failed"
  echo "0 passed, 1 failed"
  exit 1
fi
log=$(mktemp)
npx jest --ci "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
totals=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
rm -f "$log"
echo "${totals:-0 passed, 1 failed}"
exit "$status"
