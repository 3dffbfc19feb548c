#!/usr/bin/env bash
# Runs the component through its wasi:cli/run export under the stock wasmtime CLI, against the
# demo fakes on loopback: a dry run, an apply, and a re-run that must write nothing.
# `just run-wasmtime-cli`; needs a wasmtime 48 CLI on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v wasmtime >/dev/null 2>&1; then
  echo "wasmtime is not on PATH. Install the version this project pins:" >&2
  echo "  cargo install --locked wasmtime-cli@48.0.8" >&2
  exit 1
fi
version=$(wasmtime --version)
case "$version" in
  "wasmtime 48."*) ;;
  *) echo "warning: $version found; this project is tested with wasmtime 48 (cargo install --locked wasmtime-cli@48.0.8)" >&2 ;;
esac

cargo build --quiet --profile component --target wasm32-wasip2 -p tenant-sync-guest
cargo build --quiet -p tenant-sync-fakes --bin serve-fakes
component=target/wasm32-wasip2/component/tenant_sync_guest.wasm

# The fakes serve until their stdin closes; the coprocess's pipes give us both ends.
coproc FAKES { exec target/debug/serve-fakes; }
fakes_pid=$FAKES_PID
trap 'kill "$fakes_pid" 2>/dev/null || true' EXIT
env_args=()
while IFS= read -r line <&"${FAKES[0]}" && [ -n "$line" ]; do
  env_args+=(--env "$line")
done

run() {
  echo "== $1"
  shift
  # -S http grants wasi:http; --env passes exactly the listed variables (nothing is inherited).
  # The stock CLI has no origin allowlist: the component may call any host it is told to.
  set +e
  wasmtime run -S http "${env_args[@]}" "$@" "$component"
  echo "-> exit code $?"
  set -e
}
run "dry run (TENANT_SYNC_DRY_RUN=true): the plan, nothing written" --env TENANT_SYNC_DRY_RUN=true
run "apply"
run "again: nothing left to do"

exec {FAKES[1]}>&-
wait "$fakes_pid"
trap - EXIT
