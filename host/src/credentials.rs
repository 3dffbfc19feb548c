//! Where the tokens come from on a workstation, before anything runs: the environment first
//! (the CronJob's Secret references), then what the operator's runbook reads them from — the
//! Kubernetes Secrets through the `kubectl` on PATH, or the operator's own credential helper
//! for the 1Password token. The component still sees only the granted variables; this only
//! fills them in. No token value is ever logged or quoted: the commands run without the token
//! variables, and what they print is scrubbed of every token already known.

use crate::grants::{SECRET_VARS, Tokens};
use crate::logging::{Level, LogSink};
use base64::Engine as _;
use serde_json::{Value, json};
use std::process::{Command, Stdio};
use tenant_sync_core::defaults;
use tenant_sync_core::secrets::Redactor;
use tenant_sync_core::untrusted::excerpt;

/// `NAMESPACE/NAME:KEY` of a Kubernetes Secret entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretRef {
    pub namespace: String,
    pub name: String,
    pub key: String,
}

impl std::str::FromStr for SecretRef {
    type Err = String;

    fn from_str(text: &str) -> Result<SecretRef, String> {
        let parsed = text.split_once('/').and_then(|(namespace, rest)| {
            let (name, key) = rest.split_once(':')?;
            [namespace, name, key]
                .iter()
                .all(|part| !part.is_empty() && !part.contains(['/', ':', ' ']))
                .then(|| SecretRef {
                    namespace: namespace.to_owned(),
                    name: name.to_owned(),
                    key: key.to_owned(),
                })
        });
        parsed.ok_or_else(|| format!("{text:?} is not NAMESPACE/NAME:KEY, e.g. authentik/authentik-credentials:BOOTSTRAP_ADMIN_TOKEN"))
    }
}

impl std::fmt::Display for SecretRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Secret {}/{} key {}",
            self.namespace, self.name, self.key
        )
    }
}

/// Where a token is looked for when its variables are unset.
#[derive(Debug, Clone)]
pub enum Fallback {
    Secret(SecretRef),
    /// A shell command whose trimmed stdout is the token (`OP_TOKEN_COMMAND`).
    Command(String),
}

/// Makes sure `env` holds a non-empty value for one of `service`'s token variables
/// (`defaults::token_vars`); if none is set, reads `fallback` into the first. Logs where the
/// token came from either way.
pub fn complete(
    env: &mut Vec<(String, String)>,
    service: &str,
    fallback: &Fallback,
    log: &LogSink,
) -> Result<(), String> {
    let names: Vec<&str> = defaults::token_vars(service).collect();
    let set = names
        .iter()
        .find(|name| env.iter().any(|(k, v)| k == *name && !v.trim().is_empty()));
    let source = match set {
        Some(name) => format!("the environment ({name})"),
        None => {
            // A command's message may quote what it printed, or the command line itself.
            let known = Redactor::new(Tokens::of(env).values());
            let (token, source) =
                from_fallback(&names, fallback).map_err(|message| known.scrub(&message))?;
            env.retain(|(k, _)| !names.contains(&k.as_str()));
            env.push((names[0].to_owned(), token));
            source
        }
    };
    log.event(
        Level::Information,
        "{Token} comes from {Source}",
        &[("Token", json!(names[0])), ("Source", json!(source))],
    );
    Ok(())
}

/// The token `fallback` gives for `names`, none of which is set, and where it came from.
fn from_fallback(names: &[&str], fallback: &Fallback) -> Result<(String, String), String> {
    let unset = match names {
        [one] => format!("{one} is not set"),
        _ => format!("{} are not set", names.join(" and ")),
    };
    match fallback {
        Fallback::Secret(secret) => {
            let (token, context) = read_secret(secret)
                .map_err(|why| format!("{unset}, and reading it from {secret} failed: {why}"))?;
            Ok((token, format!("{secret} (kubectl, context {context})")))
        }
        Fallback::Command(command) => Ok((
            run_helper(command)
                .map_err(|why| format!("{unset}, and the token command failed: {why}"))?,
            "the token command (--op-token-command / OP_TOKEN_COMMAND)".to_owned(),
        )),
    }
}

/// The entry of `secret` and the kubectl context it was read through.
fn read_secret(secret: &SecretRef) -> Result<(String, String), String> {
    let context = kubectl(&["config", "current-context"])?;
    let json = kubectl(&[
        "get",
        "secret",
        &secret.name,
        "--namespace",
        &secret.namespace,
        "--output",
        "json",
    ])?;
    Ok((secret_value(&json, &secret.key)?, context.trim().to_owned()))
}

/// Runs kubectl and returns its stdout; `Err` says what went wrong in words.
fn kubectl(args: &[&str]) -> Result<String, String> {
    let output = without_tokens(Command::new("kubectl").args(args))
        .stdin(Stdio::null())
        .output()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                "kubectl is not on PATH; install it, or set the variable yourself".to_owned()
            }
            _ => format!("kubectl could not be started: {e}"),
        })?;
    if output.status.success() {
        return String::from_utf8(output.stdout)
            .map_err(|_| "kubectl printed something that is not text".to_owned());
    }
    Err(kubectl_failure(
        &format!("kubectl {}", args.join(" ")),
        output.status.code(),
        &String::from_utf8_lossy(&output.stderr),
    ))
}

/// `command` without the token variables in its environment: kubectl and a credential helper
/// need none of them, and a helper that prints its environment must not find one.
fn without_tokens(command: &mut Command) -> &mut Command {
    SECRET_VARS
        .iter()
        .fold(command, |command, name| command.env_remove(name))
}

/// The first non-empty line of a command's stderr, bounded.
fn first_line(stderr: &str) -> String {
    excerpt(
        stderr
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim(),
    )
}

/// How a command ended, in words.
fn ended(code: Option<i32>) -> String {
    code.map_or("a signal".to_owned(), |c| format!("exit code {c}"))
}

/// Bytes that must be a token: text, trimmed, not empty. `what` names where they came from.
fn token(bytes: Vec<u8>, what: &str) -> Result<String, String> {
    let token = String::from_utf8(bytes)
        .map_err(|_| format!("{what} is not text"))?
        .trim()
        .to_owned();
    if token.is_empty() {
        return Err(format!("{what} is empty"));
    }
    Ok(token)
}

/// kubectl's failure in the words an operator acts on.
pub fn kubectl_failure(command: &str, code: Option<i32>, stderr: &str) -> String {
    let first = first_line(stderr);
    let lower = stderr.to_ascii_lowercase();
    if lower.contains("(forbidden)") {
        format!(
            "{command}: forbidden for your kubectl user ({first}); ask for get on that Secret, or set the variable yourself"
        )
    } else if lower.contains("(notfound)") {
        format!("{command}: not found ({first}); check the namespace and name")
    } else if lower.contains("current-context is not set")
        || lower.contains("no configuration has been provided")
    {
        format!(
            "{command}: kubectl has no current context; pick one with kubectl config use-context"
        )
    } else if lower.contains("unable to connect") || lower.contains("connection refused") {
        format!(
            "{command}: the cluster did not answer ({first}); check the kubectl context and your connection"
        )
    } else {
        format!("{command} failed with {}: {first}", ended(code))
    }
}

/// The decoded value of `key` in a Secret as `kubectl get secret -o json` prints it.
pub fn secret_value(json: &str, key: &str) -> Result<String, String> {
    let secret: Value =
        serde_json::from_str(json).map_err(|_| "kubectl printed no Secret JSON".to_owned())?;
    let data = secret["data"].as_object();
    let Some(encoded) = data.and_then(|d| d.get(key)).and_then(Value::as_str) else {
        let keys: Vec<String> = data
            .map(|d| d.keys().map(|k| excerpt(k)).collect())
            .unwrap_or_default();
        return Err(format!(
            "the Secret has no key {key:?} (its keys: {})",
            if keys.is_empty() {
                "none".to_owned()
            } else {
                keys.join(", ")
            }
        ));
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|_| format!("the Secret's {key:?} is not base64"))?;
    token(bytes, &format!("the Secret's {key:?}"))
}

/// Runs the operator's credential helper; its trimmed stdout is the token.
fn run_helper(command: &str) -> Result<String, String> {
    let output = without_tokens(Command::new("sh").args(["-c", command]))
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("`{command}` could not be started: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "`{command}` ended with {}: {}",
            ended(output.status.code()),
            first_line(&String::from_utf8_lossy(&output.stderr))
        ));
    }
    token(output.stdout, &format!("the output of `{command}`"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_references_read_as_namespace_name_and_key() {
        let parsed: SecretRef = "authentik/authentik-credentials:BOOTSTRAP_ADMIN_TOKEN"
            .parse()
            .unwrap();
        assert_eq!(
            parsed.to_string(),
            "Secret authentik/authentik-credentials key BOOTSTRAP_ADMIN_TOKEN"
        );
        for bad in [
            "authentik-credentials:KEY",
            "ns/name",
            "ns/:KEY",
            "/name:KEY",
            "a/b/c:KEY",
            "ns/name:",
        ] {
            let error = bad.parse::<SecretRef>().unwrap_err();
            assert!(error.contains("NAMESPACE/NAME:KEY"), "{bad}: {error}");
        }
    }

    #[test]
    fn a_secret_value_is_decoded_and_a_missing_key_names_the_others() {
        let json = r#"{"data": {"token": "b3AtdG9rZW4K", "other": "eA=="}}"#;
        assert_eq!(secret_value(json, "token").unwrap(), "op-token");
        let missing = secret_value(json, "BOOTSTRAP_ADMIN_TOKEN").unwrap_err();
        assert!(
            missing.contains("no key \"BOOTSTRAP_ADMIN_TOKEN\" (its keys: other, token)"),
            "{missing}"
        );
        assert!(
            secret_value(r#"{"data": {"t": "!!"}}"#, "t")
                .unwrap_err()
                .contains("not base64")
        );
        assert!(
            secret_value(r#"{"data": {"t": ""}}"#, "t")
                .unwrap_err()
                .contains("empty")
        );
        assert!(
            secret_value("Error", "t")
                .unwrap_err()
                .contains("no Secret JSON")
        );
    }

    #[test]
    fn kubectl_failures_say_what_to_do() {
        let cases = [
            (
                "Error from server (Forbidden): secrets \"x\" is forbidden: User \"me\" cannot get resource",
                "forbidden for your kubectl user",
            ),
            (
                "Error from server (NotFound): secrets \"x\" not found",
                "check the namespace and name",
            ),
            ("error: current-context is not set", "use-context"),
            (
                "Unable to connect to the server: dial tcp: lookup k8s: no such host",
                "the cluster did not answer",
            ),
            (
                "something else\nmore",
                "failed with exit code 1: something else",
            ),
        ];
        for (stderr, expected) in cases {
            let message = kubectl_failure("kubectl get secret x", Some(1), stderr);
            assert!(message.contains(expected), "{stderr}: {message}");
        }
    }
}
