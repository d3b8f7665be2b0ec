#!/usr/bin/env bash
# Runs every test of every module in this repository (the core module and
# each nested module with its own go.mod), with the race detector.
# Extra arguments are passed to `go test` (e.g. ./test.sh -count=1 -v).
set -euo pipefail
cd "$(dirname "$0")"
status=0
for mod in $(git ls-files --cached --others --exclude-standard 'go.mod' '*/go.mod' | sort); do
  dir=$(dirname "$mod")
  echo "== go test -race ./... in $dir"
  (cd "$dir" && go test -race "$@" ./...) || status=1
done
exit $status
