#!/usr/bin/env bash
# Prints the directory holding a real `kube-apiserver` and `kube-controller-manager` v1.34.2 and the `etcd`
# v3.6.4 they are tested with, building them once into $KAPPA_CACHE/kube-v1.34.2 (default ~/.cache/kappa)
# from the Go module proxy:
#   kube-apiserver,          the wrapper module scripts/kube/apiserver (k8s.io/kubernetes with its staging
#   kube-controller-manager: modules replaced by their published v0.34.2 releases; see its go.mod)
#   etcd:                    scripts/kube/etcd, a small main around go.etcd.io/etcd/server/v3/embed
# A cold build takes about 9 minutes on 2 cores for kube-apiserver (and ~2.4 GB of Go module cache), then
# about 6 more for kube-controller-manager (most of its packages are in the Go build cache by then); later
# calls take seconds.
# Progress goes to stderr; stdout is only the directory.
set -euo pipefail

KUBE_VERSION=v1.34.2
src="$(cd "$(dirname "$0")/kube" && pwd)"
cache="${KAPPA_CACHE:-$HOME/.cache/kappa}"
dir="$cache/kube-$KUBE_VERSION"

ready() { [ -x "$dir/kube-apiserver" ] && [ -x "$dir/kube-controller-manager" ] && [ -x "$dir/etcd" ]; }
if ready; then echo "$dir"; exit 0; fi

command -v go >/dev/null 2>&1 || { echo "kappa: building kube-apiserver and kube-controller-manager need a Go toolchain (go on PATH)" >&2; exit 1; }
mkdir -p "$dir"
# One build at a time, even when several test files ask at once.
exec 9>"$cache/kube-$KUBE_VERSION.lock"
flock 9
if ready; then echo "$dir"; exit 0; fi

# -p=2: these machines have 2 cores, and more parallel compiles of Kubernetes only cost memory.
export GOFLAGS="${GOFLAGS:-} -p=2 -buildvcs=false -trimpath"
build() { # name, module dir, package, extra -ldflags
  local start=$SECONDS
  echo "kappa: building $1 (once)..." >&2
  # go build is silent while it compiles: say every minute that it is still at work.
  (while sleep 60; do echo "kappa: still building $1 ($((SECONDS - start)) s)" >&3; done) 3>&2 >/dev/null 2>&1 &
  local heartbeat=$!
  local rc=0
  (cd "$2" && go build -ldflags "-s -w $4" -o "$dir/$1.tmp" "$3") >&2 || rc=$?
  # Ending its sleep ends the loop (no stray sleep keeps our stderr open); then the loop itself, in case.
  pkill -P "$heartbeat" 2>/dev/null || true
  kill "$heartbeat" 2>/dev/null || true
  wait "$heartbeat" 2>/dev/null || true
  if [ "$rc" -ne 0 ]; then
    rm -f "$dir/$1.tmp"
    echo "kappa: building $1 failed" >&2
    exit "$rc"
  fi
  mv "$dir/$1.tmp" "$dir/$1"
  echo "kappa: built $dir/$1 in $((SECONDS - start)) s" >&2
}
[ -x "$dir/etcd" ] || build etcd "$src/etcd" . ""
# Without these the binaries report v0.0.0 (and the controller manager's clients say so in their user agent).
version_flags="-X k8s.io/component-base/version.gitVersion=$KUBE_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=34"
if [ ! -x "$dir/kube-apiserver" ]; then
  echo "kappa: kube-apiserver $KUBE_VERSION is a cold build of about 9 minutes on 2 cores" >&2
  build kube-apiserver "$src/apiserver" k8s.io/kubernetes/cmd/kube-apiserver "$version_flags"
fi
if [ ! -x "$dir/kube-controller-manager" ]; then
  echo "kappa: kube-controller-manager $KUBE_VERSION builds in about 6 minutes on 2 cores once kube-apiserver has (they share most packages)" >&2
  build kube-controller-manager "$src/apiserver" k8s.io/kubernetes/cmd/kube-controller-manager "$version_flags"
fi
echo "$dir"
