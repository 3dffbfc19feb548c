//! Imports run one way: no module of the guest's core, the guest's edge or the host uses a
//! module that uses it back, directly or through others. A cycle means two files share a job
//! that belongs in a third (ARCHITECTURE.md, "where a new decision goes").

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A source file without its test module.
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    text.split("#[cfg(test)]").next().unwrap().to_owned()
}

/// Each module of `dir` (a file, or a directory whose files together are one module) and the
/// sibling modules it names through `prefixes` (e.g. `super::`, `crate::`), test modules left
/// out.
fn imports(dir: &Path, prefixes: &[&str]) -> BTreeMap<String, BTreeSet<String>> {
    let sources: BTreeMap<String, String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter_map(|path| {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            if path.is_dir() {
                let files = std::fs::read_dir(&path).unwrap();
                let text = files.map(|f| code(&f.unwrap().path())).collect();
                Some((name, text))
            } else {
                let rust = path.extension().is_some_and(|e| e == "rs");
                rust.then(|| (name, code(&path)))
            }
        })
        .collect();
    let named = |code: &str, module: &str| {
        prefixes.iter().any(|prefix| {
            code.contains(&format!("{prefix}{module}::"))
                || code.contains(&format!("{prefix}{module};"))
                || code.contains(&format!("{prefix}{module},"))
                || code.match_indices(&format!("{prefix}{{")).any(|(at, _)| {
                    let group = &code[at..];
                    let group = &group[..group.find('}').unwrap_or(group.len())];
                    group
                        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                        .any(|word| word == module)
                })
        })
    };
    sources
        .iter()
        .map(|(module, code)| {
            let uses = sources
                .keys()
                .filter(|other| *other != module && named(code, other))
                .cloned()
                .collect();
            (module.clone(), uses)
        })
        .collect()
}

/// A cycle through `start`, if there is one: the modules in order.
fn cycle_through(graph: &BTreeMap<String, BTreeSet<String>>, start: &str) -> Option<Vec<String>> {
    let mut stack = vec![(start.to_owned(), vec![start.to_owned()])];
    let mut seen = BTreeSet::new();
    while let Some((module, path)) = stack.pop() {
        for next in &graph[&module] {
            if next == start {
                return Some([path.clone(), vec![start.to_owned()]].concat());
            }
            if seen.insert(next.clone()) {
                stack.push((next.clone(), [path.clone(), vec![next.clone()]].concat()));
            }
        }
    }
    None
}

fn assert_one_way(dir: &str, prefixes: &[&str]) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(dir);
    let graph = imports(&dir, prefixes);
    assert!(graph.len() > 3, "{}: too few modules found", dir.display());
    let cycles: Vec<String> = graph
        .keys()
        .filter_map(|module| cycle_through(&graph, module))
        .map(|cycle| cycle.join(" → "))
        .collect();
    assert!(
        cycles.is_empty(),
        "{}: import cycles: {cycles:#?}",
        dir.display()
    );
}

#[test]
fn the_cores_modules_import_one_way() {
    assert_one_way("guest/core/src", &["super::", "crate::"]);
}

/// The crate graph (ARCHITECTURE.md): each crate of this workspace and the only ones of them
/// it may depend on (normal dependencies). The core depends on none; the host sees the core,
/// never the component's crate.
const LAYERS: &[(&str, &[&str])] = &[
    ("tenant-sync-core", &[]),
    ("tenant-sync-guest", &["tenant-sync-core"]),
    ("tenant-sync-fakes", &["tenant-sync-core"]),
    ("tenant-sync", &["tenant-sync-core", "tenant-sync-fakes"]),
    ("tenant-sync-peer", &[]),
    ("tenant-sync-probe", &[]),
    (
        "tenant-sync-test-support",
        &["tenant-sync-core", "tenant-sync-fakes", "tenant-sync-peer"],
    ),
    (
        "tenant-sync-tests",
        &[
            "tenant-sync",
            "tenant-sync-core",
            "tenant-sync-fakes",
            "tenant-sync-test-support",
        ],
    ),
];

#[test]
fn the_crates_depend_as_the_layer_table_says() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = std::process::Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("running cargo metadata");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let mut found = BTreeMap::new();
    for package in metadata["packages"].as_array().unwrap() {
        let name = package["name"].as_str().unwrap();
        let ours: BTreeSet<&str> = package["dependencies"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["kind"].is_null() && d["path"].is_string())
            .map(|d| d["name"].as_str().unwrap())
            .collect();
        found.insert(name, ours);
    }
    let expected: BTreeMap<&str, BTreeSet<&str>> = LAYERS
        .iter()
        .map(|(name, deps)| (*name, deps.iter().copied().collect()))
        .collect();
    assert_eq!(
        found, expected,
        "update LAYERS and ARCHITECTURE.md together"
    );
}

#[test]
fn the_guests_edge_imports_one_way() {
    assert_one_way("guest/src/component", &["super::", "crate::component::"]);
}

#[test]
fn the_host_imports_one_way() {
    assert_one_way("host/src", &["crate::"]);
}

#[test]
fn the_command_line_imports_one_way() {
    assert_one_way("host/src/cli", &["super::", "crate::cli::"]);
}

#[test]
fn a_cycle_is_found() {
    let graph = BTreeMap::from([
        ("a".to_owned(), BTreeSet::from(["b".to_owned()])),
        ("b".to_owned(), BTreeSet::from(["c".to_owned()])),
        ("c".to_owned(), BTreeSet::from(["a".to_owned()])),
        ("d".to_owned(), BTreeSet::from(["a".to_owned()])),
    ]);
    assert_eq!(
        cycle_through(&graph, "a").unwrap(),
        ["a", "b", "c", "a"].map(String::from)
    );
    assert_eq!(cycle_through(&graph, "d"), None);
}
