#!/usr/bin/env bash
# Refreshes wit/deps from the WASI WIT files that ship inside the pinned crates in the cargo
# registry, so the vendored copy always matches what wasmtime-wasi-http (host) and wasip2 (guest)
# were built against. No download beyond `cargo fetch`.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fetch --quiet
registry="${CARGO_HOME:-$HOME/.cargo}/registry/src"
host_wit=$(ls -d "$registry"/*/wasmtime-wasi-http-48.0.8/wit/deps | head -n1)
guest_wit=$(ls -d "$registry"/*/wasip2-1.0.4+wasi-0.2.12/wit/deps | head -n1)
for pkg in cli clocks filesystem http io random sockets; do
  cmp -s "$host_wit/$pkg.wit" "$guest_wit/$pkg.wit" || {
    echo "wasi:$pkg differs between wasmtime-wasi-http and wasip2; pin matching versions first" >&2
    exit 1
  }
  cp "$host_wit/$pkg.wit" "wit/deps/$pkg.wit"
done
echo "wit/deps synced from $host_wit"
