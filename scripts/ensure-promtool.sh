#!/usr/bin/env bash
# Prints the path of a real `promtool` (Prometheus 3.16.0), building it once into
# $KAPPA_CACHE/promtool-v3.16.0 (default ~/.cache/kappa) from the Go module proxy:
#   go install github.com/prometheus/prometheus/cmd/promtool@v0.316.0
# (Prometheus v3 tags are v0.3xx.y in Go module form: v3.16.0 is v0.316.0; its go.mod has no replace directives,
# so `go install` takes it as published.) The tests check config/monitoring/ with it: the alerting rules parsed and
# unit-tested, every dashboard expression parsed. A cold build (modules fetched, nothing in the Go build cache) took
# 14 minutes here on 2 cores with other builds running (~9 CPU-minutes); later calls take milliseconds. Progress
# goes to stderr; stdout is only the path.
set -euo pipefail

PROMETHEUS_VERSION=3.16.0
MODULE_VERSION=v0.316.0
cache="${KAPPA_CACHE:-$HOME/.cache/kappa}"
dir="$cache/promtool-v$PROMETHEUS_VERSION"
bin="$dir/promtool"

if [ -x "$bin" ]; then echo "$bin"; exit 0; fi

command -v go >/dev/null 2>&1 || { echo "kappa: building promtool needs a Go toolchain (go on PATH)" >&2; exit 1; }
mkdir -p "$dir"
# One build at a time, even when several test files ask at once.
exec 9>"$cache/promtool-v$PROMETHEUS_VERSION.lock"
flock 9
if [ -x "$bin" ]; then echo "$bin"; exit 0; fi

start=$SECONDS
echo "kappa: building promtool $PROMETHEUS_VERSION (once, about 15 minutes)..." >&2
# -p=2: these machines have 2 cores. The version is what `promtool --version` prints (a release build sets it so).
GOBIN="$dir/.build" GOFLAGS="${GOFLAGS:-} -p=2 -buildvcs=false -trimpath" go install \
  -ldflags "-s -w -X github.com/prometheus/common/version.Version=$PROMETHEUS_VERSION" \
  "github.com/prometheus/prometheus/cmd/promtool@$MODULE_VERSION" >&2 &
build=$!
# go install is silent while it compiles: say every minute that it is still at work.
while kill -0 "$build" 2>/dev/null; do
  sleep 1
  if [ $(((SECONDS - start) % 60)) -eq 0 ]; then echo "kappa: still building promtool ($((SECONDS - start)) s)" >&2; fi
done
rc=0
wait "$build" || rc=$?
if [ "$rc" -ne 0 ]; then
  rm -rf "$dir/.build"
  echo "kappa: building promtool failed" >&2
  exit "$rc"
fi
mv "$dir/.build/promtool" "$bin"
rmdir "$dir/.build" 2>/dev/null || true
echo "kappa: built $bin in $((SECONDS - start)) s" >&2
echo "$bin"
