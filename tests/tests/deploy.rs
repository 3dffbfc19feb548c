//! The Kubernetes manifests in deploy/ keep the original job's safety design: the CronJob is
//! suspended, secrets are only referenced, the pod is hardened, and the env names are the ones
//! the host reads. (Schema validation against the Kubernetes API is a separate CI step:
//! `kubernetes-validate`, installed by .ci/run.)

use serde::Deserialize;
use serde_json::Value;
use std::path::PathBuf;

fn deploy_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy")
}

/// Every document of every manifest, as JSON values.
fn manifests() -> Vec<(String, Value)> {
    let mut docs = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(deploy_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for path in files
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
    {
        let text = std::fs::read_to_string(&path).unwrap();
        for doc in serde_yaml_ng::Deserializer::from_str(&text) {
            let value =
                Value::deserialize(doc).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            if !value.is_null() {
                docs.push((
                    path.file_name().unwrap().to_string_lossy().into_owned(),
                    value,
                ));
            }
        }
    }
    docs
}

fn cronjob() -> Value {
    manifests()
        .into_iter()
        .map(|(_, v)| v)
        .find(|v| v["kind"] == "CronJob")
        .expect("deploy/ has a CronJob")
}

/// A container's arguments.
fn args(container: &Value) -> Vec<&str> {
    container["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect()
}

/// The argument after `flag`.
fn flag_value<'a>(args: &[&'a str], flag: &str) -> &'a str {
    let at = args
        .iter()
        .position(|a| *a == flag)
        .unwrap_or_else(|| panic!("no {flag}"));
    args[at + 1]
}

/// The container's mount that holds `path`, and the pod's volume behind it.
fn volume_holding<'a>(pod: &'a Value, container: &'a Value, path: &str) -> (&'a Value, &'a Value) {
    let mount = container["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| path.starts_with(m["mountPath"].as_str().unwrap()))
        .unwrap_or_else(|| panic!("{path} lies in no mounted volume"));
    let volume = pod["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == mount["name"])
        .unwrap_or_else(|| panic!("no volume for the mount of {path}"));
    (mount, volume)
}

fn container(cronjob: &Value) -> &Value {
    &cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
}

#[test]
fn the_cronjob_is_gated_and_bounded() {
    let cj = cronjob();
    assert_eq!(cj["metadata"]["name"], "authentik-tenant-mapping-sync");
    assert_eq!(cj["metadata"]["namespace"], "authentik");
    let spec = &cj["spec"];
    assert_eq!(
        spec["suspend"], true,
        "lock 1: the CronJob must stay suspended until activation"
    );
    assert_eq!(spec["concurrencyPolicy"], "Forbid");
    for key in [
        "startingDeadlineSeconds",
        "successfulJobsHistoryLimit",
        "failedJobsHistoryLimit",
    ] {
        assert!(spec[key].is_u64(), "{key}");
    }
    let job = &spec["jobTemplate"]["spec"];
    for key in [
        "backoffLimit",
        "activeDeadlineSeconds",
        "ttlSecondsAfterFinished",
    ] {
        assert!(job[key].is_u64(), "{key}");
    }
    assert!(
        job["activeDeadlineSeconds"].as_u64().unwrap() > 600,
        "longer than the host's own deadline"
    );
}

#[test]
fn the_manifests_live_outside_any_argocd_apps_path() {
    let dir = deploy_dir().canonicalize().unwrap();
    assert!(
        !dir.components().any(|c| c.as_os_str() == "apps"),
        "lock 2: {}",
        dir.display()
    );
}

#[test]
fn the_pod_is_hardened() {
    let cj = cronjob();
    let pod = &cj["spec"]["jobTemplate"]["spec"]["template"]["spec"];
    assert_eq!(pod["automountServiceAccountToken"], false);
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    let security = &container(&cj)["securityContext"];
    assert_eq!(security["readOnlyRootFilesystem"], true);
    assert_eq!(security["allowPrivilegeEscalation"], false);
    assert_eq!(security["capabilities"]["drop"], serde_json::json!(["ALL"]));
    let limit = container(&cj)["resources"]["limits"]["memory"]
        .as_str()
        .expect("a memory limit");
    let mib: u64 = limit.strip_suffix("Mi").expect("in Mi").parse().unwrap();
    assert!(
        mib >= 256 + 64,
        "room for the component's 256 MiB cap plus the host: {limit}"
    );
}

#[test]
fn secrets_are_referenced_never_inlined() {
    for (file, doc) in manifests() {
        assert_ne!(
            doc["kind"], "Secret",
            "{file}: no Secret objects with values in deploy/"
        );
        let text = doc.to_string();
        for canary in ["BEGIN PRIVATE KEY", "eyJ"] {
            assert!(!text.contains(canary), "{file} seems to inline a secret");
        }
    }
    let cj = cronjob();
    let env = container(&cj)["env"].as_array().unwrap();
    for var in env {
        let name = var["name"].as_str().unwrap();
        if ["TOKEN", "SECRET", "PASSWORD"]
            .iter()
            .any(|s| name.contains(s))
        {
            assert!(
                var.get("value").is_none(),
                "{name} must come from a secretKeyRef"
            );
            assert!(var["valueFrom"]["secretKeyRef"].is_object(), "{name}");
        }
    }
    let secret = |name: &str| {
        let var = env
            .iter()
            .find(|v| v["name"] == name)
            .unwrap_or_else(|| panic!("{name} missing"));
        let r = &var["valueFrom"]["secretKeyRef"];
        (
            r["name"].as_str().unwrap().to_owned(),
            r["key"].as_str().unwrap().to_owned(),
        )
    };
    assert_eq!(
        secret("AUTHENTIK_TOKEN"),
        (
            "authentik-credentials".into(),
            "BOOTSTRAP_ADMIN_TOKEN".into()
        )
    );
    assert_eq!(
        secret("OP_TOKEN"),
        ("tenant-mapping-sync-op-token".into(), "token".into())
    );
}

#[test]
fn the_env_names_are_the_ones_the_host_reads() {
    let cj = cronjob();
    let names: Vec<String> = container(&cj)["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap().to_owned())
        .collect();
    let host_reads = ["OP_CONNECT_HOST", "AUTHENTIK_URL", "TENANT_SYNC_CACHE_DIR"];
    for name in &names {
        assert!(
            host_reads.contains(&name.as_str())
                || tenant_sync::grants::SECRET_VARS.contains(&name.as_str()),
            "{name} is not read by tenant-sync"
        );
    }
    for required in [
        "OP_CONNECT_HOST",
        "AUTHENTIK_URL",
        "AUTHENTIK_TOKEN",
        "OP_TOKEN",
    ] {
        assert!(names.iter().any(|n| n == required), "{required} missing");
    }
}

/// Authentik's token does not cross the pod network in clear text: https, verified against the
/// cluster's CA, mounted read-only from a ConfigMap.
#[test]
fn authentik_is_reached_over_https_trusting_the_mounted_cluster_ca() {
    let cj = cronjob();
    let container = container(&cj);
    let url = container["env"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "AUTHENTIK_URL")
        .unwrap()["value"]
        .as_str()
        .unwrap();
    assert!(url.starts_with("https://"), "{url}");
    let ca_file = flag_value(&args(container), "--ca-file");
    let pod = &cj["spec"]["jobTemplate"]["spec"]["template"]["spec"];
    let (mount, volume) = volume_holding(pod, container, ca_file);
    assert_eq!(mount["readOnly"], true);
    assert_eq!(volume["configMap"]["name"], "tenant-sync-cluster-ca");
}

#[test]
fn the_network_policy_allows_only_dns_connect_and_authentik() {
    let policy = manifests()
        .into_iter()
        .map(|(_, v)| v)
        .find(|v| {
            v["kind"] == "NetworkPolicy" && v["metadata"]["name"] == "authentik-tenant-mapping-sync"
        })
        .expect("the CronJob's NetworkPolicy");
    assert_eq!(policy["spec"]["ingress"], serde_json::json!([]));
    let egress = policy["spec"]["egress"].as_array().unwrap();
    assert_eq!(egress.len(), 3, "DNS, 1Password Connect, Authentik");
    assert_eq!(
        policy["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"],
        cronjob()["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"]
    );
}

/// Metrics are off until an operator turns them on: the CronJob's push is commented out, and the
/// one destination it needs is opened by a policy of its own in deploy/metrics/, applied with it.
#[test]
fn the_pushgateway_is_reachable_only_with_metrics_turned_on() {
    let cronjob_text = std::fs::read_to_string(deploy_dir().join("cronjob.yaml")).unwrap();
    assert!(
        cronjob_text.contains("# - name: TENANT_SYNC_METRICS_PUSH"),
        "the CronJob shows how to turn metrics on"
    );
    let cj = cronjob();
    let container = container(&cj);
    assert!(
        !container["env"]
            .to_string()
            .contains("TENANT_SYNC_METRICS_PUSH"),
        "metrics are off by default"
    );
    assert!(
        !args(container).contains(&"--metrics-push"),
        "metrics are off by default"
    );
    let text = std::fs::read_to_string(deploy_dir().join("metrics/networkpolicy.yaml")).unwrap();
    let policy = Value::deserialize(serde_yaml_ng::Deserializer::from_str(&text)).unwrap();
    assert_eq!(policy["kind"], "NetworkPolicy");
    assert_eq!(policy["spec"]["policyTypes"], serde_json::json!(["Egress"]));
    assert!(policy["spec"].get("ingress").is_none());
    let egress = policy["spec"]["egress"].as_array().unwrap();
    assert_eq!(egress.len(), 1, "the Pushgateway only");
    assert_eq!(
        egress[0]["ports"],
        serde_json::json!([{"protocol": "TCP", "port": 9091}])
    );
    assert_eq!(
        policy["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"],
        cronjob()["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"]
    );
    // The port the commented URL names is the one the policy opens.
    assert!(cronjob_text.contains(".svc.cluster.local:9091\""));
}

#[test]
fn the_onepassword_item_mints_the_referenced_secret() {
    let item = manifests()
        .into_iter()
        .map(|(_, v)| v)
        .find(|v| v["kind"] == "OnePasswordItem")
        .expect("a OnePasswordItem");
    assert_eq!(item["apiVersion"], "onepassword.com/v1");
    assert_eq!(item["metadata"]["name"], "tenant-mapping-sync-op-token");
    assert_eq!(item["metadata"]["namespace"], "authentik");
    let path = item["spec"]["itemPath"].as_str().unwrap();
    assert!(
        path.starts_with("vaults/") && path.contains("/items/"),
        "{path}"
    );
}

/// The defaults are the original runbook's names (`../shared/seed`, or `TENANT_SYNC_SEED_DIR`):
/// where the mapping is kept, and the job's name as the marker of the groups it owns.
#[test]
fn the_defaults_are_the_runbooks_names() {
    use tenant_sync_core::defaults;
    let dir = std::env::var_os("TENANT_SYNC_SEED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/seed"));
    let path = dir.join("original-cronjob-README.txt");
    let runbook = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "the original runbook is missing from {} ({e}): check out ../shared beside the repository or set TENANT_SYNC_SEED_DIR",
            path.display()
        )
    });
    let location = format!(
        "{} (vault {}, field {})",
        defaults::ITEM,
        defaults::VAULT,
        defaults::FIELD
    );
    assert!(
        runbook.contains(&location),
        "{location:?} not in the runbook"
    );
    assert!(
        runbook.starts_with(&format!("{} — ", defaults::MANAGER)),
        "the runbook's job is not {:?}",
        defaults::MANAGER
    );
}

/// The optional MCP server (deploy/mcp-server.yaml) is gated like the CronJob: no replicas and
/// no writes until activated, callers need the bearer token from a Secret and the client label.
#[test]
fn the_mcp_server_is_gated_and_only_labelled_clients_with_the_token_reach_it() {
    let docs: Vec<Value> = manifests()
        .into_iter()
        .filter(|(file, _)| file == "mcp-server.yaml")
        .map(|(_, v)| v)
        .collect();
    let kind = |k: &str| {
        docs.iter()
            .find(|d| d["kind"] == k)
            .unwrap_or_else(|| panic!("no {k}"))
    };
    let deployment = kind("Deployment");
    assert_eq!(
        deployment["spec"]["replicas"], 0,
        "lock 1: no replicas until activated"
    );
    let pod = &deployment["spec"]["template"]["spec"];
    assert_eq!(pod["automountServiceAccountToken"], false);
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    let container = &pod["containers"][0];
    assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], true);
    let args = args(container);
    assert_eq!(args[0], "mcp");
    assert!(
        !args.contains(&"--allow-writes"),
        "lock 1: no writes until activated"
    );
    let token = flag_value(&args, "--bearer-token-file");
    let (_, volume) = volume_holding(pod, container, token);
    assert_eq!(volume["secret"]["secretName"], "tenant-sync-mcp-token");
    for env in container["env"].as_array().unwrap() {
        let name = env["name"].as_str().unwrap();
        assert!(
            ["OP_CONNECT_HOST", "AUTHENTIK_URL", "TENANT_SYNC_CACHE_DIR"].contains(&name)
                || tenant_sync::grants::SECRET_VARS.contains(&name),
            "{name} is not read by tenant-sync"
        );
    }
    let component =
        &deployment["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"];
    assert_eq!(
        &kind("Service")["spec"]["selector"]["app.kubernetes.io/component"],
        component
    );
    let policy = kind("NetworkPolicy");
    assert_eq!(
        &policy["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"],
        component
    );
    let ingress = policy["spec"]["ingress"].as_array().unwrap();
    assert_eq!(ingress.len(), 1);
    assert_eq!(
        ingress[0]["from"][0]["podSelector"]["matchLabels"]["tenant-sync-mcp-client"],
        "true"
    );
    assert_eq!(
        policy["spec"]["egress"].as_array().unwrap().len(),
        3,
        "DNS, Connect, Authentik"
    );
}
