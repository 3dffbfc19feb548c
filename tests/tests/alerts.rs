//! The PrometheusRule in deploy/metrics/ is valid Prometheus rules (`promtool check rules`) and
//! each alert fires when it should and not before (`promtool test rules` with
//! deploy/metrics/alerts.test.yaml). promtool is Debian's `prometheus` package's; the test fails,
//! never skips, without it.

use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn metrics_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy/metrics")
}

fn yaml(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap();
    Value::deserialize(serde_yaml_ng::Deserializer::from_str(&text))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn promtool() -> String {
    let path = std::env::var("TENANT_SYNC_PROMTOOL").unwrap_or_else(|_| "/usr/bin/promtool".into());
    assert!(
        Path::new(&path).is_file(),
        "no promtool at {path}: install Debian's prometheus package (apt-get install prometheus; .ci/run does) or set TENANT_SYNC_PROMTOOL"
    );
    path
}

/// `promtool ARGS` in `dir`; its output, or the test fails with it.
fn run(dir: &Path, args: &[&str]) -> String {
    let output = Command::new(promtool())
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "promtool {args:?}:\n{said}");
    said
}

fn alert_names(rules: &Value) -> BTreeSet<String> {
    rules["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_array().unwrap())
        .filter_map(|r| r["alert"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn the_alerts_are_valid_rules_and_each_fires_when_it_should() {
    let rule = yaml(&metrics_dir().join("prometheusrule.yaml"));
    assert_eq!(rule["kind"], "PrometheusRule");
    let spec = &rule["spec"];
    // promtool reads a plain rule file: the PrometheusRule's spec, as the Operator hands it on.
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("alerts");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("rules.yaml"),
        serde_yaml_ng::to_string(spec).unwrap(),
    )
    .unwrap();
    std::fs::copy(
        metrics_dir().join("alerts.test.yaml"),
        dir.join("alerts.test.yaml"),
    )
    .unwrap();
    let checked = run(&dir, &["check", "rules", "rules.yaml"]);
    let alerts = alert_names(spec);
    assert!(
        checked.contains(&format!("SUCCESS: {} rules found", alerts.len())),
        "{checked}"
    );
    run(&dir, &["test", "rules", "alerts.test.yaml"]);

    // Each alert is tested firing, and tested quiet.
    let tests = yaml(&metrics_dir().join("alerts.test.yaml"));
    let cases: Vec<&Value> = tests["tests"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| t["alert_rule_test"].as_array().unwrap())
        .collect();
    for alert in &alerts {
        let of_alert = cases.iter().filter(|c| c["alertname"] == alert.as_str());
        let (firing, quiet): (Vec<&&Value>, Vec<&&Value>) =
            of_alert.partition(|c| c["exp_alerts"].as_array().is_some_and(|a| !a.is_empty()));
        assert!(
            !firing.is_empty() && !quiet.is_empty(),
            "{alert}: firing {} quiet {}",
            firing.len(),
            quiet.len()
        );
    }
    // The operator's three needs: no recent success, a conflict or failed write, not running.
    for needed in [
        "TenantSyncNoRecentSuccess",
        "TenantSyncNeverSucceeded",
        "TenantSyncConflict",
        "TenantSyncWriteFailed",
        "TenantSyncNotRunning",
        "TenantSyncNeverRun",
    ] {
        assert!(alerts.contains(needed), "{needed}");
    }
}

/// The alerts read the metrics the product pushes, by their names.
#[test]
fn the_alerts_read_metrics_the_product_pushes() {
    let rule = yaml(&metrics_dir().join("prometheusrule.yaml"));
    let report = tenant_sync_core::report::Report {
        dry_run: false,
        summary: Default::default(),
        groups: Vec::new(),
        requests: Default::default(),
        warnings: Vec::new(),
        source_item: None,
    };
    let facts = tenant_sync_core::metrics::RunFacts {
        finished_at_secs: 1.0,
        duration_secs: 1.0,
        exit: tenant_sync_core::outcome::Exit::Success,
        dry_run: false,
    };
    let pushed = tenant_sync_core::metrics::push(Some(&report), &facts).body;
    assert!(
        pushed.contains("tenant_sync_last_report_groups{"),
        "{pushed}"
    );
    let exprs: Vec<&str> = rule["spec"]["groups"][0]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["expr"].as_str().unwrap())
        .collect();
    for expr in exprs {
        for name in expr
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|word| word.starts_with("tenant_sync_"))
        {
            assert!(
                pushed.contains(&format!("# TYPE {name} gauge")),
                "{name} in {expr:?} is not pushed"
            );
        }
    }
}
