//! What the binary runs as code: the compiled-code cache is read and written only where no one
//! else could have put code, and `--component` runs only the file its SHA-256 names.

use serde_json::{Value, json};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use support::{Ran, temp_file};
use tenant_sync_fakes::FakeAuthentik;

mod support;

fn mapping_file(name: &str) -> PathBuf {
    let document = json!({"version": 1, "mappings": [
        {"authentikGroup": "a", "fcTenantId": "t", "fcRole": "u"}]});
    temp_file(name, document.to_string().as_bytes())
}

/// `validate` with `extra` arguments: the cheapest command that loads the component.
fn validate(mapping: &Path, extra: &[&str]) -> Ran {
    let mut args = vec!["validate", mapping.to_str().unwrap()];
    args.extend_from_slice(extra);
    support::tenant_sync(&args, &[], &[])
}

const AUTHENTIK_TOKEN: &str = "ak-canary-code-loading-5d1e";

/// A verbose dry run with its own cache directory: it says how it obtained the component.
fn dry_run_with_cache(mapping: &Path, cache: &Path) -> Ran {
    let authentik = FakeAuthentik::start(AUTHENTIK_TOKEN);
    let args = [
        "run",
        "--dry-run",
        "--verbose",
        "--mapping-file",
        mapping.to_str().unwrap(),
        "--cache-dir",
        cache.to_str().unwrap(),
    ];
    let env = [
        ("AUTHENTIK_URL", authentik.url()),
        ("AUTHENTIK_TOKEN", AUTHENTIK_TOKEN.to_owned()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    support::tenant_sync(&args, &env, &[AUTHENTIK_TOKEN])
}

/// How the `Component ready` Debug event says the component was obtained.
fn how(ran: &Ran) -> String {
    ran.events()
        .into_iter()
        .find(|e| e["@mt"].as_str().unwrap().starts_with("Component ready"))
        .map(|e| e["How"].as_str().unwrap().to_owned())
        .unwrap_or_else(|| panic!("a Component ready event in:\n{}", ran.stderr))
}

fn cache_warning(ran: &Ran) -> Option<String> {
    ran.events()
        .into_iter()
        .find(|e| e["@l"] == "Warning")
        .map(|e| e["Message"].as_str().unwrap().to_owned())
}

/// A cache directory of its own, holding one artifact put there by a first (cold) run.
fn warm_cache(label: &str, mapping: &Path) -> (PathBuf, PathBuf) {
    let dir =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{label}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let cold = dry_run_with_cache(mapping, &dir);
    assert_eq!(cold.code, 0, "{}", cold.stderr);
    assert!(how(&cold).starts_with("compiled"), "{}", how(&cold));
    let entries: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(
        entries.len(),
        1,
        "one artifact, no partial file: {entries:?}"
    );
    (dir, entries[0].clone())
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn a_warm_start_loads_compiled_code_instead_of_compiling() {
    let mapping = mapping_file("warm.json");
    let (dir, artifact) = warm_cache("warm", &mapping);
    assert_eq!(
        (mode(&dir), mode(&artifact)),
        (0o700, 0o600),
        "private to this user"
    );
    let warm = dry_run_with_cache(&mapping, &dir);
    assert!(
        how(&warm).starts_with("loaded from cache"),
        "{}",
        how(&warm)
    );
    assert_eq!(cache_warning(&warm), None);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn cached_code_someone_else_owns_is_not_loaded() {
    let mapping = mapping_file("planted.json");
    let (dir, artifact) = warm_cache("planted", &mapping);
    // As if another user had planted it: the tests run as root, so hand it to `nobody`.
    std::os::unix::fs::chown(&artifact, Some(65534), None).unwrap();
    let ran = dry_run_with_cache(&mapping, &dir);
    assert_eq!(ran.code, 0, "the run goes on: {}", ran.stderr);
    assert_eq!(how(&ran), "compiled, no cache");
    let warning = cache_warning(&ran).expect("a Warning says why the cache was not used");
    assert!(warning.contains("owned by uid 65534"), "{warning}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_cache_directory_its_group_can_write_is_not_used() {
    let mapping = mapping_file("shared-dir.json");
    let (dir, artifact) = warm_cache("shared-dir", &mapping);
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o770)).unwrap();
    let before = std::fs::read(&artifact).unwrap();
    let ran = dry_run_with_cache(&mapping, &dir);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(how(&ran), "compiled, no cache");
    let warning = cache_warning(&ran).expect("a Warning says why the cache was not used");
    assert!(warning.contains("writable by its group"), "{warning}");
    assert!(warning.contains("chmod go-w"), "says what to do: {warning}");
    assert_eq!(std::fs::read(&artifact).unwrap(), before, "nor written");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_read_only_cache_the_image_ships_is_loaded() {
    // The image's cache: root-owned, readable by the job's user, writable by no one.
    let mapping = mapping_file("image.json");
    let (dir, artifact) = warm_cache("image", &mapping);
    std::fs::set_permissions(&artifact, std::fs::Permissions::from_mode(0o444)).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o555)).unwrap();
    let ran = dry_run_with_cache(&mapping, &dir);
    assert!(how(&ran).starts_with("loaded from cache"), "{}", how(&ran));
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn usage_error(ran: &Ran) -> String {
    assert_eq!(ran.code, 2, "{}\n{}", ran.stdout, ran.stderr);
    let events = ran.events();
    let error: &Value = events
        .iter()
        .find(|e| e["@l"] == "Error")
        .expect("an Error event");
    error["Message"].as_str().unwrap().to_owned()
}

#[test]
fn a_component_file_runs_only_with_its_sha256() {
    let mapping = mapping_file("component.json");
    let bytes = tenant_sync::runtime::EMBEDDED_COMPONENT;
    let component = temp_file("component.wasm", bytes);
    let path = component.to_str().unwrap();

    let without = usage_error(&validate(&mapping, &["--component", path]));
    assert!(without.contains("--component-sha256"), "{without}");

    let mut other = bytes.to_vec();
    *other.last_mut().unwrap() ^= 1;
    let wrong = sha256_hex(&other);
    let refused = usage_error(&validate(
        &mapping,
        &["--component", path, "--component-sha256", &wrong],
    ));
    assert!(refused.starts_with("refusing to run"), "{refused}");
    assert!(
        refused.contains(&sha256_hex(bytes)) && refused.contains(&wrong),
        "{refused}"
    );

    let malformed = usage_error(&validate(
        &mapping,
        &["--component", path, "--component-sha256", "abc"],
    ));
    assert!(malformed.contains("64 hexadecimal digits"), "{malformed}");

    let right = sha256_hex(bytes).to_uppercase();
    let ran = validate(
        &mapping,
        &["--component", path, "--component-sha256", &right],
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(ran.stdout.contains("valid: 1 groups"), "{}", ran.stdout);
}
