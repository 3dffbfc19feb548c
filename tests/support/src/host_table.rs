//! One table of expectations for every host that runs the component (`tests/vectors/hosts.json`):
//! each host's test implements [`Host`] (how it is called, what it printed) and hands it to
//! [`holds_against_fakes`] and [`holds_against_real_authentik`], which play every scenario of the
//! table and check the exit code, the printed document, the run's closing event, the writes
//! Authentik received (or that it was not contacted at all) and what it holds afterwards. A host
//! whose behaviour drifts from the others' fails its own test.

use crate::assert_clef_and_clean;
use serde_json::{Map, Value, json};
use std::sync::atomic::Ordering;
use tenant_sync_core::defaults::{FIELD, ITEM, MANAGER, VAULT};
use tenant_sync_fakes::{FakeAuthentik, FakeOnePassword};
use tenant_sync_peer::{Relay, Scratch, authentik};

/// The table, read by each host's test.
pub const TABLE: &str = include_str!("../../vectors/hosts.json");

const OP_TOKEN: &str = "op-canary-hosts-0c6e1d93a7";
const AK_TOKEN: &str = "ak-canary-hosts-9b2f47e015";
/// What a run is given instead of Authentik's token in a `wrongToken` run.
const WRONG_TOKEN: &str = "ak-canary-wrong-3e8a5c70d2";

/// A host under test: how one run is called, and what it printed.
pub trait Host {
    /// Its key in the table's `exit` objects.
    fn name(&self) -> &'static str;
    fn run(&self, call: &Call) -> Printed;
}

/// One run's inputs, in the terms every host understands; each host passes them its own way
/// (flags, environment variables).
pub struct Call<'a> {
    pub op_connect_host: &'a str,
    pub op_token: &'a str,
    pub authentik_url: &'a str,
    pub authentik_token: &'a str,
    /// None: the default manager id.
    pub manager_id: Option<&'a str>,
    pub dry_run: bool,
}

pub struct Printed {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<std::process::Output> for Printed {
    fn from(output: std::process::Output) -> Printed {
        Printed {
            code: output.status.code().expect("exited, not killed"),
            stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
        }
    }
}

/// Every scenario under `host`, against the in-process fakes.
pub fn holds_against_fakes(host: &dyn Host) {
    for scenario in scenarios() {
        let ak = FakeAuthentik::start(AK_TOKEN);
        let target = Fakes { ak: &ak };
        play(host, &scenario, &target, AK_TOKEN);
    }
}

/// Every scenario under `host`, against the real Authentik (`../shared/authentik`), each under
/// its own group prefix and manager id; writes are counted on the wire by a relay.
pub fn holds_against_real_authentik(host: &dyn Host) {
    for (n, scenario) in scenarios().iter().enumerate() {
        let scratch = Scratch::new(authentik(), &format!("{}-{n}", host.name()));
        let target = Real {
            manager: format!("{}sync", scratch.prefix),
            scratch,
        };
        play(host, scenario, &target, &target.scratch.peer.token);
    }
}

fn scenarios() -> Vec<Value> {
    let table: Value = serde_json::from_str(TABLE).expect("tests/vectors/hosts.json is JSON");
    table["scenarios"].as_array().unwrap().clone()
}

/// Where a scenario runs: the fake or the real Authentik.
trait Target {
    fn url(&self) -> String;
    /// The group's name on this server.
    fn name(&self, group: &str) -> String;
    fn manager(&self) -> Option<&str>;
    fn seed(&self, name: &str, attributes: Value, with_member: bool);
    /// Every group of the scenario as (name in the table, attributes, members), sorted by name.
    fn stored(&self) -> Vec<(String, Value, Value)>;
    /// The members a seeded group with `members: true` has.
    fn member(&self) -> Value;
    /// Runs `run`, handing it the Authentik URL to give the host, and what reached Authentik.
    fn watching(&self, run: &mut dyn FnMut(&str)) -> Traffic;
}

/// What one run sent Authentik.
struct Traffic {
    writes: usize,
    /// Whether it sent anything at all.
    contacted: bool,
}

struct Fakes<'a> {
    ak: &'a FakeAuthentik,
}

impl Target for Fakes<'_> {
    fn url(&self) -> String {
        self.ak.url()
    }
    fn name(&self, group: &str) -> String {
        group.to_owned()
    }
    fn manager(&self) -> Option<&str> {
        None
    }
    fn seed(&self, name: &str, attributes: Value, with_member: bool) {
        let users: &[u64] = if with_member { &[7] } else { &[] };
        self.ak.seed_group(name, attributes, users);
    }
    fn stored(&self) -> Vec<(String, Value, Value)> {
        let mut groups: Vec<_> = self
            .ak
            .groups()
            .into_iter()
            .map(|g| (g.name, Value::Object(g.attributes), json!(g.users)))
            .collect();
        groups.sort_by(|a, b| a.0.cmp(&b.0));
        groups
    }
    fn member(&self) -> Value {
        json!([7])
    }
    fn watching(&self, run: &mut dyn FnMut(&str)) -> Traffic {
        let (requests, writes) = (self.ak.requests().len(), self.ak.writes().len());
        run(&self.ak.url());
        Traffic {
            writes: self.ak.writes().len() - writes,
            contacted: self.ak.requests().len() > requests,
        }
    }
}

struct Real {
    scratch: Scratch,
    manager: String,
}

impl Target for Real {
    fn url(&self) -> String {
        self.scratch.peer.url.clone()
    }
    fn name(&self, group: &str) -> String {
        self.scratch.name(group)
    }
    fn manager(&self) -> Option<&str> {
        Some(&self.manager)
    }
    fn seed(&self, name: &str, attributes: Value, with_member: bool) {
        let peer = self.scratch.peer;
        let users = if with_member {
            vec![peer.admin_user_pk()]
        } else {
            vec![]
        };
        peer.create_group(name, attributes, &users);
    }
    fn stored(&self) -> Vec<(String, Value, Value)> {
        self.scratch
            .groups()
            .into_iter()
            .map(|g| {
                let name = g["name"].as_str().unwrap();
                let relative = name.strip_prefix(&self.scratch.prefix).unwrap().to_owned();
                (relative, g["attributes"].clone(), g["users"].clone())
            })
            .collect()
    }
    fn member(&self) -> Value {
        json!([self.scratch.peer.admin_user_pk()])
    }
    fn watching(&self, run: &mut dyn FnMut(&str)) -> Traffic {
        let (relay, traffic) = Relay::counting(&self.url());
        run(relay.url());
        Traffic {
            writes: traffic.writes.load(Ordering::SeqCst),
            contacted: traffic.bytes.load(Ordering::SeqCst) > 0,
        }
    }
}

fn play(host: &dyn Host, scenario: &Value, target: &dyn Target, token: &str) {
    let name = scenario["name"].as_str().unwrap();
    let manager = target.manager().unwrap_or(MANAGER);
    let op = FakeOnePassword::start(OP_TOKEN);
    let document = match scenario.get("document") {
        Some(document) => document.as_str().unwrap().to_owned(),
        None => {
            let entries: Vec<Value> = scenario["mapping"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| json!({"authentikGroup": target.name(e[0].as_str().unwrap()), "fcTenantId": e[1], "fcRole": e[2]}))
                .collect();
            json!({"version": 1, "mappings": entries}).to_string()
        }
    };
    op.seed_mapping_field(VAULT, ITEM, FIELD, &document);
    for group in scenario["existing"].as_array().unwrap() {
        target.seed(
            &target.name(group["group"].as_str().unwrap()),
            attributes(group, manager),
            group["members"] == true,
        );
    }

    for (n, expected) in scenario["runs"].as_array().unwrap().iter().enumerate() {
        let context = format!("{}: scenario {name:?}, run {}", host.name(), n + 1);
        let wrong_token = expected["wrongToken"] == true;
        let mut printed = None;
        let traffic = target.watching(&mut |authentik_url| {
            printed = Some(host.run(&Call {
                op_connect_host: &op.url(),
                op_token: OP_TOKEN,
                authentik_url,
                authentik_token: if wrong_token { WRONG_TOKEN } else { token },
                manager_id: target.manager(),
                dry_run: expected["dryRun"] == true,
            }));
        });
        let printed = printed.unwrap();
        assert_clef_and_clean(
            &printed.stderr,
            &[&printed.stdout],
            &[OP_TOKEN, token, WRONG_TOKEN],
        );
        let stdout: Value = serde_json::from_str(&printed.stdout).unwrap_or_else(|e| {
            panic!(
                "{context}: stdout is not one JSON document ({e}):\n{}\nstderr:\n{}",
                printed.stdout, printed.stderr
            )
        });
        let exit = &expected["exit"][host.name()];
        assert_eq!(
            Some(i64::from(printed.code)),
            exit.as_i64(),
            "{context}: exit code\nstdout: {stdout}\nstderr:\n{}",
            printed.stderr
        );
        if let Err(difference) = contains(&expected["printed"], &stdout, "") {
            panic!("{context}: printed {difference}\nstdout: {stdout}");
        }
        assert_eq!(
            traffic.writes, expected["writes"],
            "{context}: writes to Authentik\nstdout: {stdout}"
        );
        if let Some(contacted) = expected.get("authentikContacted") {
            assert_eq!(
                &json!(traffic.contacted),
                contacted,
                "{context}: whether Authentik was contacted at all"
            );
        }
        let closing = closing_event(&printed.stderr);
        let template = closing["@mt"].as_str().unwrap_or_default();
        match stdout.get("error") {
            None => assert!(
                template.starts_with("Reconcile finished"),
                "{context}: the last event is not the closing summary: {closing}"
            ),
            Some(_) => assert_eq!(
                closing["@l"], "Error",
                "{context}: a failed run ends with an Error event: {closing}"
            ),
        }
        let stored: Vec<(String, Value, Value)> = expected["stored"]
            .as_array()
            .unwrap()
            .iter()
            .map(|group| {
                let members = match group["members"] == true {
                    true => target.member(),
                    false => json!([]),
                };
                (
                    group["group"].as_str().unwrap().to_owned(),
                    attributes(group, manager),
                    members,
                )
            })
            .collect();
        assert_eq!(
            target.stored(),
            stored,
            "{context}: what Authentik holds afterwards"
        );
    }
}

/// The last event of a run's stderr (every host passes the component's events on).
fn closing_event(stderr: &str) -> Value {
    stderr
        .lines()
        .last()
        .map(|line| serde_json::from_str(line).unwrap())
        .unwrap_or(Value::Null)
}

/// A table group's attributes: the managed block (unless `unmanaged`; by `managedBy` if
/// another manager's) and its `extra` ones.
fn attributes(group: &Value, manager: &str) -> Value {
    let mut attributes = Map::new();
    if group["unmanaged"] != true {
        let manager = group.get("managedBy").cloned().unwrap_or(json!(manager));
        attributes.insert("fc:managed-by".into(), manager);
        attributes.insert("fc:tenant".into(), group["tenant"].clone());
        attributes.insert("fc:role".into(), group["role"].clone());
    }
    if let Some(extra) = group.get("extra").and_then(Value::as_object) {
        attributes.extend(extra.clone());
    }
    Value::Object(attributes)
}

/// Whether `actual` holds `expected`: objects by key, arrays element by element (same length),
/// a string ending in `...` as a prefix, anything else equal. The error names the path.
fn contains(expected: &Value, actual: &Value, path: &str) -> Result<(), String> {
    match (expected, actual) {
        (Value::Object(expected), Value::Object(actual)) => {
            expected.iter().try_for_each(|(key, value)| {
                let path = format!("{path}.{key}");
                let actual = actual.get(key).ok_or(format!("{path} is missing"))?;
                contains(value, actual, &path)
            })
        }
        (Value::Array(expected), Value::Array(actual)) if expected.len() == actual.len() => {
            expected
                .iter()
                .zip(actual)
                .enumerate()
                .try_for_each(|(n, (e, a))| contains(e, a, &format!("{path}[{n}]")))
        }
        (Value::String(expected), Value::String(actual))
            if expected
                .strip_suffix("...")
                .is_some_and(|prefix| actual.starts_with(prefix)) =>
        {
            Ok(())
        }
        _ if expected == actual => Ok(()),
        _ => Err(format!("{path}: expected {expected}, got {actual}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containment_reports_the_path_of_the_first_difference() {
        let actual =
            json!({"summary": {"create": 3}, "error": {"issues": [{"text": "mappings[0]: x"}]}});
        assert_eq!(
            contains(&json!({"summary": {"create": 3}}), &actual, ""),
            Ok(())
        );
        assert_eq!(
            contains(&json!({"summary": {"create": 2}}), &actual, ""),
            Err(".summary.create: expected 2, got 3".into())
        );
        assert_eq!(
            contains(
                &json!({"error": {"issues": [{"text": "mappings[0]..."}]}}),
                &actual,
                ""
            ),
            Ok(())
        );
        assert!(contains(&json!({"error": {"issues": []}}), &actual, "").is_err());
        assert_eq!(
            contains(&json!({"dryRun": true}), &actual, ""),
            Err(".dryRun is missing".into())
        );
    }

    #[test]
    fn every_scenario_names_an_exit_code_for_every_host() {
        let table: Value = serde_json::from_str(TABLE).unwrap();
        let hosts = table["hosts"].as_array().unwrap();
        for scenario in table["scenarios"].as_array().unwrap() {
            for run in scenario["runs"].as_array().unwrap() {
                for host in hosts {
                    assert!(
                        run["exit"][host.as_str().unwrap()].is_i64(),
                        "{}: no exit code for {host}",
                        scenario["name"]
                    );
                }
            }
        }
    }
}
