#!/usr/bin/env bash
# The test suite: unit tests, then integration tests against a real Temporal dev server (started per test file).
set -euo pipefail
cd "$(dirname "$0")/.."
# Obtain the Temporal CLI, kube-apiserver + etcd and promtool first (cold builds take minutes, kube-apiserver ~9 once per
# machine), so no test file times out waiting for them.
bash scripts/ensure-temporal-cli.sh >/dev/null
bash scripts/ensure-kube.sh >/dev/null
bash scripts/ensure-promtool.sh >/dev/null
bash scripts/ensure-yarn.sh >/dev/null
bash scripts/ensure-sshd.sh
# The workflow code bundled once for every `kappa worker` process the tests start (each would bundle it again).
bundle_dir="$(mktemp -d)"
trap 'rm -rf "$bundle_dir"' EXIT
npx tsx scripts/bundle-workflows.ts "$bundle_dir/workflow-bundle.js" >/dev/null
export KAPPA_WORKFLOW_BUNDLE="$bundle_dir/workflow-bundle.js"
files=("$@")
if [ ${#files[@]} -eq 0 ]; then
  # The whole suite also holds the code to its checks: types, lint rules (workflow sandbox), formatting.
  npx tsc -p tsconfig.json --noEmit
  npx eslint .
  npx prettier --check . >/dev/null
  files=(test/unit/*.test.ts test/integration/*.test.ts)
fi
node --import tsx --test --test-concurrency=2 --test-timeout=600000 --test-reporter=spec "${files[@]}"
