//! https to a service whose certificate comes from a private CA made at test time: trusted
//! through `--ca-file` or `SSL_CERT_FILE`, refused without them (exit 4, one attempt, no
//! request reaches the server), and the refusal says which host, why and what to pass.

use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use support::Ran;
use tenant_sync_fakes::FakeAuthentik;
use tenant_sync_fakes::tls::{Leaf, TestCa};

mod support;

const AUTHENTIK_TOKEN: &str = "ak-canary-tls-7d2e90c4f1";

/// A new file for each call: the tests run in parallel, and one rewriting a shared mapping file
/// while another run read it made that run see an empty document.
fn file(name: &str, contents: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("tls");
    std::fs::create_dir_all(&dir).unwrap();
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let path = dir.join(format!("{}-{n}-{name}", std::process::id()));
    std::fs::write(&path, contents).unwrap();
    path
}

fn mapping() -> PathBuf {
    let document = json!({"version": 1, "mappings": [
        {"authentikGroup": "acme-users", "fcTenantId": "acme", "fcRole": "user"}
    ]});
    file("mapping.json", &document.to_string())
}

/// `tenant-sync run` against `ak` with `extra` arguments and environment.
fn run(ak: &FakeAuthentik, extra: &[&str], env: &[(&str, &str)]) -> Ran {
    let mapping = mapping();
    let mut args = vec![
        "run",
        "--output",
        "json",
        "--mapping-file",
        mapping.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let url = ak.url();
    let mut vars = vec![
        ("AUTHENTIK_URL", url.as_str()),
        ("AUTHENTIK_TOKEN", AUTHENTIK_TOKEN),
    ];
    vars.extend_from_slice(env);
    support::tenant_sync(&args, &vars, &[AUTHENTIK_TOKEN])
}

fn created(ran: &Ran, ak: &FakeAuthentik) {
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    assert_eq!(ran.json()["summary"]["create"], 1);
    assert!(ak.group("acme-users").is_some());
}

#[test]
fn a_private_ca_is_trusted_through_ca_file() {
    let ca = TestCa::new();
    let ak = FakeAuthentik::start_tls(AUTHENTIK_TOKEN, ca.server_config(Leaf::Sound));
    let ca_file = file("ca.pem", ca.pem());
    created(
        &run(&ak, &["--ca-file", ca_file.to_str().unwrap()], &[]),
        &ak,
    );
}

#[test]
fn a_private_ca_is_trusted_through_ssl_cert_file() {
    let ca = TestCa::new();
    let ak = FakeAuthentik::start_tls(AUTHENTIK_TOKEN, ca.server_config(Leaf::Sound));
    let ca_file = file("bundle.pem", ca.pem());
    created(
        &run(&ak, &[], &[("SSL_CERT_FILE", ca_file.to_str().unwrap())]),
        &ak,
    );
}

/// Refused, not retried, nothing sent, and the event and the message say what to do. With
/// `trust_the_ca`, the CA is passed with --ca-file, so only the certificate itself is at fault.
fn refused(leaf: Leaf, trust_the_ca: bool, reason: &str) {
    let ca = TestCa::new();
    let ak = FakeAuthentik::start_tls(AUTHENTIK_TOKEN, ca.server_config(leaf));
    let ca_file = file(&format!("ca-{leaf:?}.pem"), ca.pem());
    let extra = match trust_the_ca {
        true => vec!["--ca-file", ca_file.to_str().unwrap()],
        false => vec![],
    };
    let ran = run(&ak, &extra, &[]);
    assert_eq!(ran.code, 4, "{}\n{}", ran.stdout, ran.stderr);
    assert!(
        ak.requests().is_empty(),
        "nothing may reach a server that is not trusted"
    );
    let at = ak.url().trim_start_matches("https://").to_owned();
    let message = ran.json()["error"]["message"].as_str().unwrap().to_owned();
    assert!(
        message.contains(&format!("the TLS certificate of {at} is not trusted"))
            && message.contains("--ca-file"),
        "{message}"
    );
    let events = ran.events();
    assert!(
        !events
            .iter()
            .any(|e| e["@mt"].as_str().unwrap().starts_with("Retrying")),
        "a certificate problem is not retried:\n{}",
        ran.stderr
    );
    let tls: Vec<&Value> = events
        .iter()
        .filter(|e| {
            e["@mt"]
                .as_str()
                .unwrap()
                .starts_with("The TLS certificate of")
        })
        .collect();
    assert_eq!(tls.len(), 1, "{}", ran.stderr);
    assert_eq!(tls[0]["@l"], "Error");
    assert_eq!(tls[0]["Authority"], at);
    assert!(
        tls[0]["Reason"].as_str().unwrap().starts_with(reason),
        "{}",
        tls[0]
    );
    assert!(tls[0]["Advice"].as_str().unwrap().contains("--ca-file"));
}

#[test]
fn an_untrusted_ca_is_refused_as_unknown_issuer() {
    refused(Leaf::Sound, false, "unknown issuer");
}

#[test]
fn a_certificate_for_another_name_is_refused_even_from_a_trusted_ca() {
    refused(Leaf::WrongName, true, "wrong name");
}

#[test]
fn an_expired_certificate_is_refused_even_from_a_trusted_ca() {
    refused(Leaf::Expired, true, "it has expired");
}

#[test]
fn a_ca_file_that_is_not_a_certificate_is_a_usage_error() {
    let ak = FakeAuthentik::start(AUTHENTIK_TOKEN);
    let bogus = file("bogus.pem", "hello\n");
    let ran = run(&ak, &["--ca-file", bogus.to_str().unwrap()], &[]);
    assert_eq!(ran.code, 2, "{}", ran.stdout);
    assert!(
        ran.stderr.contains("holds no PEM certificate"),
        "{}",
        ran.stderr
    );
    assert!(ak.requests().is_empty());
}
