//! The compiled component's world: only standard WASI 0.2 imports, and the documented exports.

use tenant_sync_tests::runtime;

#[test]
fn imports_only_the_standard_wasi_interfaces_it_needs() {
    let mut imports = runtime().imports();
    imports.sort();
    println!("{imports:#?}");
    // Rust's std (through the wasip1 adapter) adds the terminal, stdin and exit interfaces;
    // `types` is our own package's type-only interface.
    let allowed = [
        "flowercore:tenant-sync/types@0.1.0",
        "wasi:cli/environment@0.2.12",
        "wasi:cli/exit@0.2.12",
        "wasi:cli/stderr@0.2.12",
        "wasi:cli/stdin@0.2.12",
        "wasi:cli/stdout@0.2.12",
        "wasi:cli/terminal-input@0.2.12",
        "wasi:cli/terminal-output@0.2.12",
        "wasi:cli/terminal-stderr@0.2.12",
        "wasi:cli/terminal-stdin@0.2.12",
        "wasi:cli/terminal-stdout@0.2.12",
        "wasi:clocks/monotonic-clock@0.2.12",
        "wasi:clocks/wall-clock@0.2.12",
        "wasi:http/outgoing-handler@0.2.12",
        "wasi:http/types@0.2.12",
        "wasi:io/error@0.2.12",
        "wasi:io/poll@0.2.12",
        "wasi:io/streams@0.2.12",
        "wasi:random/insecure@0.2.12",
        // wstd's event loop seeds its hasher from it.
        "wasi:random/insecure-seed@0.2.12",
    ];
    for import in &imports {
        assert!(
            allowed.contains(&import.as_str()),
            "unexpected import {import}"
        );
    }
    assert!(imports.contains(&"wasi:http/outgoing-handler@0.2.12".to_owned()));
    assert!(
        !imports
            .iter()
            .any(|i| i.starts_with("wasi:sockets") || i.starts_with("wasi:filesystem"))
    );
}

#[test]
fn exports_sync_mapping_render_and_the_cli_run() {
    let mut exports = runtime().exports();
    exports.sort();
    assert_eq!(
        exports,
        [
            "flowercore:tenant-sync/mapping@0.1.0",
            "flowercore:tenant-sync/render@0.1.0",
            "flowercore:tenant-sync/sync@0.1.0",
            "wasi:cli/run@0.2.12",
        ]
    );
}

/// The component ships in a ConfigMap (`deploy/component-configmap.yaml`), which holds at most
/// 1 MiB of data (Kubernetes counts binaryData decoded). The budget keeps 128 KiB of that free
/// for the key and for growth noticed in review rather than at deploy (README, "The component").
#[test]
fn the_component_fits_its_configmap_budget() {
    let size = tenant_sync::runtime::EMBEDDED_COMPONENT.len();
    let budget = 896 * 1024;
    assert!(
        size <= budget,
        "the component is {size} bytes, over its {budget}-byte budget: find what grew (just size; twiggy top)"
    );
    // The budget itself, plus the key, fits the ConfigMap limit.
    assert!(budget + "tenant_sync.wasm".len() < 1024 * 1024);
}
