//! Tokens on a workstation: with AUTHENTIK_TOKEN / OP_TOKEN unset, `run` reads them from their
//! Kubernetes Secrets through the kubectl on PATH (here a fake one), or the 1Password token from
//! the operator's credential helper; every way that can fail says which command failed and how,
//! with exit code 2 and nothing sent. No token shows in any output (support checks every run).

use base64::Engine as _;
use serde_json::{Value, json};
use std::path::PathBuf;
use support::Ran;
use tenant_sync_core::defaults;
use tenant_sync_fakes::{FakeAuthentik, FakeOnePassword};

mod support;

const OP_TOKEN: &str = "op-canary-credentials-81d2c4";
const AUTHENTIK_TOKEN: &str = "ak-canary-credentials-3f9a0e";

/// A `kubectl` that knows one context and the Secrets written as `NAMESPACE_NAME.json`.
struct FakeKubectl {
    dir: PathBuf,
}

impl FakeKubectl {
    fn new(label: &str) -> FakeKubectl {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("kubectl-{label}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let script = r#"#!/bin/sh
here=$(dirname "$0")
case "$1 $2" in
  "config current-context")
    if [ -f "$here/no-context" ]; then echo "error: current-context is not set" >&2; exit 1; fi
    echo test-cluster ;;
  "get secret")
    if [ -f "$here/forbidden" ]; then
      echo "Error from server (Forbidden): secrets \"$3\" is forbidden: User \"dev\" cannot get resource \"secrets\" in the namespace \"$5\"" >&2; exit 1
    fi
    file="$here/$5_$3.json"
    if [ ! -f "$file" ]; then echo "Error from server (NotFound): secrets \"$3\" not found" >&2; exit 1; fi
    cat "$file" ;;
  *) echo "unexpected: $*" >&2; exit 2 ;;
esac
"#;
        let path = dir.join("kubectl");
        std::fs::write(&path, script).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        FakeKubectl { dir }
    }

    fn secret(&self, namespace: &str, name: &str, data: &[(&str, &str)]) -> &FakeKubectl {
        let encoded: serde_json::Map<String, Value> = data
            .iter()
            .map(|(k, v)| {
                let value = base64::engine::general_purpose::STANDARD.encode(format!("{v}\n"));
                ((*k).to_owned(), json!(value))
            })
            .collect();
        let secret = json!({"apiVersion": "v1", "kind": "Secret", "data": encoded});
        std::fs::write(
            self.dir.join(format!("{namespace}_{name}.json")),
            secret.to_string(),
        )
        .unwrap();
        self
    }

    fn flag(&self, name: &str) {
        std::fs::write(self.dir.join(name), "").unwrap();
    }

    /// PATH with this kubectl first, and the system's sh for it and the helper commands.
    fn path(&self) -> String {
        format!("{}:/usr/bin:/bin", self.dir.display())
    }
}

struct Services {
    op: FakeOnePassword,
    ak: FakeAuthentik,
}

fn services() -> Services {
    let op = FakeOnePassword::start(OP_TOKEN);
    let document = json!({"version": 1, "mappings": [
        {"authentikGroup": "a", "fcTenantId": "t", "fcRole": "user"}]});
    op.seed_mapping_field(
        defaults::VAULT,
        defaults::ITEM,
        defaults::FIELD,
        &document.to_string(),
    );
    Services {
        op,
        ak: FakeAuthentik::start(AUTHENTIK_TOKEN),
    }
}

fn dry_run(services: &Services, path: &str, extra: &[&str], env: &[(&str, &str)]) -> Ran {
    let (op, ak) = (services.op.url(), services.ak.url());
    let mut args = vec![
        "run",
        "--dry-run",
        "--op-connect-url",
        &op,
        "--authentik-url",
        &ak,
    ];
    args.extend_from_slice(extra);
    let mut all_env = vec![("PATH", path)];
    all_env.extend_from_slice(env);
    support::tenant_sync(&args, &all_env, &[OP_TOKEN, AUTHENTIK_TOKEN])
}

fn sources(ran: &Ran) -> Vec<(String, String)> {
    ran.events()
        .into_iter()
        .filter(|e| e["@mt"] == "{Token} comes from {Source}")
        .map(|e| {
            (
                e["Token"].as_str().unwrap().to_owned(),
                e["Source"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn usage_error(ran: &Ran, services: &Services) -> String {
    assert_eq!(ran.code, 2, "{}\n{}", ran.stdout, ran.stderr);
    assert!(services.op.requests().is_empty() && services.ak.requests().is_empty());
    ran.events()
        .into_iter()
        .find(|e| e["@l"] == "Error")
        .map(|e| e["Message"].as_str().unwrap().to_owned())
        .expect("an Error event")
}

#[test]
fn both_tokens_come_from_their_secrets_through_kubectl() {
    let kubectl = FakeKubectl::new("both");
    kubectl
        .secret(
            "authentik",
            "authentik-credentials",
            &[("BOOTSTRAP_ADMIN_TOKEN", AUTHENTIK_TOKEN), ("other", "x")],
        )
        .secret(
            "authentik",
            "tenant-mapping-sync-op-token",
            &[("token", OP_TOKEN)],
        );
    let services = services();
    let ran = dry_run(&services, &kubectl.path(), &[], &[]);
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    assert_eq!(
        sources(&ran),
        [
            (
                "AUTHENTIK_TOKEN".to_owned(),
                "Secret authentik/authentik-credentials key BOOTSTRAP_ADMIN_TOKEN (kubectl, context test-cluster)".to_owned()
            ),
            (
                "OP_TOKEN".to_owned(),
                "Secret authentik/tenant-mapping-sync-op-token key token (kubectl, context test-cluster)".to_owned()
            ),
        ]
    );
    assert!(!services.ak.requests().is_empty(), "the run used the token");
}

#[test]
fn the_environment_wins_and_the_credential_helper_comes_before_the_secret() {
    let kubectl = FakeKubectl::new("helper");
    let services = services();
    let helper = format!("printf '  %s\\n' {OP_TOKEN}");
    let ran = dry_run(
        &services,
        &kubectl.path(),
        &["--op-token-command", &helper],
        &[("AUTHENTIK_TOKEN", AUTHENTIK_TOKEN)],
    );
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    assert_eq!(
        sources(&ran),
        [
            (
                "AUTHENTIK_TOKEN".to_owned(),
                "the environment (AUTHENTIK_TOKEN)".to_owned()
            ),
            (
                "OP_TOKEN".to_owned(),
                "the token command (--op-token-command / OP_TOKEN_COMMAND)".to_owned()
            ),
        ]
    );
    // OP_TOKEN_COMMAND works the same, and a custom Secret reference is honoured.
    kubectl.secret("ops", "ak", &[("key", AUTHENTIK_TOKEN)]);
    let ran = dry_run(
        &services,
        &kubectl.path(),
        &["--authentik-token-secret", "ops/ak:key"],
        &[("OP_TOKEN_COMMAND", &helper)],
    );
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    assert_eq!(
        sources(&ran)[0].1,
        "Secret ops/ak key key (kubectl, context test-cluster)"
    );
}

#[test]
fn every_way_of_failing_names_the_command_and_what_to_do() {
    let services = services();
    let with_op = [("OP_TOKEN", OP_TOKEN)];

    // A PATH without any kubectl (this machine may have a real one in /usr/bin).
    let empty = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("no-kubectl");
    std::fs::create_dir_all(&empty).unwrap();
    let ran = dry_run(&services, empty.to_str().unwrap(), &[], &with_op);
    let message = usage_error(&ran, &services);
    assert!(message.contains("kubectl is not on PATH"), "{message}");

    let kubectl = FakeKubectl::new("failures");
    let ran = dry_run(&services, &kubectl.path(), &[], &with_op);
    let message = usage_error(&ran, &services);
    assert!(
        message.starts_with("AUTHENTIK_TOKEN is not set, and reading it from Secret authentik/authentik-credentials key BOOTSTRAP_ADMIN_TOKEN failed: kubectl get secret authentik-credentials --namespace authentik --output json: not found"),
        "{message}"
    );

    kubectl.secret(
        "authentik",
        "authentik-credentials",
        &[("token", AUTHENTIK_TOKEN)],
    );
    let message = usage_error(
        &dry_run(&services, &kubectl.path(), &[], &with_op),
        &services,
    );
    assert!(
        message.contains("has no key \"BOOTSTRAP_ADMIN_TOKEN\" (its keys: token)"),
        "{message}"
    );

    kubectl.flag("forbidden");
    let message = usage_error(
        &dry_run(&services, &kubectl.path(), &[], &with_op),
        &services,
    );
    assert!(
        message.contains("forbidden for your kubectl user"),
        "{message}"
    );

    kubectl.flag("no-context");
    let message = usage_error(
        &dry_run(&services, &kubectl.path(), &[], &with_op),
        &services,
    );
    assert!(
        message.contains("kubectl has no current context"),
        "{message}"
    );

    let ran = dry_run(
        &services,
        &kubectl.path(),
        &["--op-token-command", "echo 'vault sealed' >&2; exit 3"],
        &[("AUTHENTIK_TOKEN", AUTHENTIK_TOKEN)],
    );
    let message = usage_error(&ran, &services);
    assert!(
        message.contains("OP_TOKEN and OP_CONNECT_TOKEN are not set, and the token command failed")
            && message.contains("ended with exit code 3: vault sealed"),
        "{message}"
    );
    let ran = dry_run(
        &services,
        &kubectl.path(),
        &["--op-token-command", "true"],
        &[("AUTHENTIK_TOKEN", AUTHENTIK_TOKEN)],
    );
    assert!(usage_error(&ran, &services).contains("the output of `true` is empty"));

    let ran = dry_run(
        &services,
        &kubectl.path(),
        &["--authentik-token-secret", "just-a-name"],
        &with_op,
    );
    assert_eq!(ran.code, 2);
    assert!(ran.stderr.contains("NAMESPACE/NAME:KEY"), "{}", ran.stderr);
}

#[test]
fn commands_never_see_the_token_variables_and_their_messages_never_quote_a_token() {
    let services = services();
    let kubectl = FakeKubectl::new("leak");
    // A helper that prints its environment's tokens, then fails.
    let ran = dry_run(
        &services,
        &kubectl.path(),
        &["--op-token-command", "env | grep TOKEN >&2; exit 1"],
        &[("AUTHENTIK_TOKEN", AUTHENTIK_TOKEN)],
    );
    let message = usage_error(&ran, &services);
    assert!(message.contains("ended with exit code 1"), "{message}");
    // A helper that knows the token anyway (here: written into the command line).
    let ran = dry_run(
        &services,
        &kubectl.path(),
        &[
            "--op-token-command",
            &format!("echo 'Bearer {AUTHENTIK_TOKEN}' >&2; exit 1"),
        ],
        &[("AUTHENTIK_TOKEN", AUTHENTIK_TOKEN)],
    );
    let message = usage_error(&ran, &services);
    assert!(message.contains("Bearer [redacted]"), "{message}");
}
