//! The compiled component under wasmtime against the fakes: every reconcile scenario, asserting
//! the report, the final Authentik state and the exact requests sent.

use serde_json::{Value, json};
use tenant_sync::bindings::types::{Action, MappingSource, Service, Status, SyncError};
use tenant_sync::outcome::{Exit, exit_code};
use tenant_sync_tests::*;

fn block(tenant: &str, role: &str) -> Value {
    json!({"fc:managed-by": MANAGER, "fc:tenant": tenant, "fc:role": role})
}

fn actions(report: &tenant_sync::bindings::types::Report) -> Vec<(String, Action, Status)> {
    report
        .groups
        .iter()
        .map(|g| (g.group.clone(), g.action, g.status))
        .collect()
}

const THREE: &[(&str, &str, &str)] = &[
    ("acme-admins", "acme", "admin"),
    ("acme-users", "acme", "user"),
    ("globex-users", "globex", "user"),
];

#[tokio::test]
async fn fresh_create_then_an_idempotent_second_run() {
    let world = World::with_mapping(&mapping(THREE));
    let run = world.run(false).await;
    let report = run.report();
    assert_eq!(report.summary.create, 3);
    assert_eq!(report.summary.failed, 0);
    assert!(
        report
            .groups
            .iter()
            .all(|g| g.action == Action::Create && g.status == Status::Applied)
    );

    let groups = world.ak.groups();
    assert_eq!(groups.len(), 3);
    assert_eq!(
        Value::Object(groups[0].attributes.clone()),
        block("acme", "admin")
    );
    // A create sends the name and the block, nothing else.
    let writes = world.ak.writes();
    assert_eq!(writes.len(), 3);
    for write in &writes {
        assert_eq!(write.method, "POST");
        assert_eq!(write.path, "/api/v3/core/groups/");
        let body = write.body.as_ref().unwrap().as_object().unwrap();
        let keys: Vec<&String> = body.keys().collect();
        assert_eq!(keys, ["attributes", "name"]);
    }
    // 1Password: vault list, item lookup by title, full item.
    let op: Vec<String> = world.op.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(op.len(), 3, "{op:?}");
    assert_eq!(op[0], "/v1/vaults");
    assert!(world.op.requests()[1].query["filter"] == format!("title eq \"{ITEM}\""));
    assert_eq!(report.requests.onepassword, 3);
    assert_eq!(report.requests.authentik, 1 + 3);

    world.ak.clear_requests();
    let again = world.run(false).await;
    let report = again.report();
    assert_eq!(report.summary.unchanged, 3);
    assert_eq!(
        report.summary.create + report.summary.update + report.summary.adopt,
        0
    );
    assert!(world.ak.writes().is_empty(), "a no-op run must not write");
    assert_eq!(world.ak.requests().len(), 1, "one list page, nothing else");
}

#[tokio::test]
async fn a_no_op_logs_only_its_summary_unless_verbose() {
    let world = World::with_mapping(&mapping(THREE));
    world.run(false).await;
    let events = |verbose: bool| {
        let grants = world.grants();
        grants.log.set_debug(verbose);
        let world = &world;
        async move {
            let run = world.run_with(&world.options(false), &grants).await;
            assert_eq!(run.report().summary.unchanged, 3);
            run.logs
                .lines()
                .map(|line| serde_json::from_str::<Value>(line).unwrap())
                .collect::<Vec<_>>()
        }
    };
    let quiet = events(false).await;
    let templates: Vec<&str> = quiet.iter().map(|e| e["@mt"].as_str().unwrap()).collect();
    assert_eq!(
        templates,
        [
            "Reconciling {Source} into Authentik {Authentik} as {Manager}{DryRunNote}",
            "Mapping has {Groups} groups and {Skipped} wildcard entries",
            "Authentik has {Existing} groups",
            "Reconcile finished: {Summary}"
        ],
        "a nightly no-op says what it did once, not once per group"
    );
    let verbose = events(true).await;
    let unchanged: Vec<&Value> = verbose
        .iter()
        .filter(|e| e["Action"] == "unchanged")
        .collect();
    assert_eq!(unchanged.len(), 3);
    assert!(
        unchanged.iter().all(|e| e["@l"] == "Debug"),
        "{unchanged:?}"
    );
}

#[tokio::test]
async fn drift_is_updated_keeping_foreign_attributes_and_members() {
    let world = World::with_mapping(&json!({"version": 1, "mappings": [
        {"authentikGroup": "acme-admins", "fcTenantId": "acme", "fcRole": "admin", "regulated": true}
    ]}).to_string());
    world.ak.seed_group(
        "acme-admins",
        json!({"fc:managed-by": MANAGER, "fc:tenant": "acme", "fc:role": "user",
               "fc:label": "stale", "notes": {"owner": "ops"}, "fc:custom": 1}),
        &[7, 9],
    );
    let run = world.run(false).await;
    let report = run.report();
    assert_eq!(
        actions(report),
        [("acme-admins".into(), Action::Update, Status::Applied)]
    );
    let changed: Vec<&str> = report.groups[0]
        .changes
        .iter()
        .map(|c| c.key.as_str())
        .collect();
    assert_eq!(changed, ["fc:role", "fc:label", "fc:regulated"]);

    let group = world.ak.group("acme-admins").unwrap();
    assert_eq!(
        Value::Object(group.attributes),
        json!({"fc:managed-by": MANAGER, "fc:tenant": "acme", "fc:role": "admin", "fc:regulated": true,
               "notes": {"owner": "ops"}, "fc:custom": 1})
    );
    assert_eq!(group.users, [7, 9], "members must survive");
    let writes = world.ak.writes();
    assert_eq!(writes.len(), 1);
    assert_eq!(writes[0].method, "PATCH");
    assert_eq!(writes[0].path, format!("/api/v3/core/groups/{}/", group.pk));
    let sent: Vec<&String> = writes[0]
        .body
        .as_ref()
        .unwrap()
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(sent, ["attributes"], "PATCH sends only attributes");
}

#[tokio::test]
async fn an_unclaimed_group_is_adopted_and_a_foreign_one_is_a_conflict() {
    let world = World::with_mapping(&mapping(&[
        ("plain", "t1", "user"),
        ("theirs", "t2", "user"),
    ]));
    world.ak.seed_group("plain", json!({"color": "blue"}), &[1]);
    world.ak.seed_group(
        "theirs",
        json!({"fc:managed-by": "someone-else", "fc:tenant": "x"}),
        &[],
    );
    let run = world.run(false).await;
    let report = run.report();
    assert_eq!(
        actions(report),
        [
            ("plain".into(), Action::Adopt, Status::Applied),
            ("theirs".into(), Action::Conflict, Status::Skipped)
        ]
    );
    assert!(
        report.groups[1]
            .reason
            .as_deref()
            .unwrap()
            .contains("someone-else")
    );
    let mut adopted = block("t1", "user");
    adopted["color"] = json!("blue");
    assert_eq!(
        Value::Object(world.ak.group("plain").unwrap().attributes),
        adopted
    );
    assert_eq!(
        Value::Object(world.ak.group("theirs").unwrap().attributes),
        json!({"fc:managed-by": "someone-else", "fc:tenant": "x"}),
        "a conflicting group is never touched"
    );
    assert_eq!(world.ak.writes().len(), 1);
    assert!(
        run.events()
            .iter()
            .any(|e| e["@l"] == "Warning" && e["Action"] == "conflict"),
        "conflicts are logged as warnings"
    );
}

#[tokio::test]
async fn a_lookalike_in_another_unicode_spelling_is_a_conflict_not_a_second_group() {
    // Authentik holds "ümlaut" decomposed (u + U+0308); the mapping spells it precomposed.
    let world = World::with_mapping(&mapping(&[("ümlaut", "t", "user")]));
    world
        .ak
        .seed_group("u\u{308}mlaut", json!({"fc:managed-by": "other"}), &[]);
    let run = world.run(false).await;
    assert_eq!(
        actions(run.report()),
        [("ümlaut".into(), Action::Conflict, Status::Skipped)]
    );
    let reason = run.report().groups[0].reason.as_deref().unwrap();
    assert!(reason.contains("u\\u{0308}mlaut"), "{reason}");
    assert!(world.ak.writes().is_empty(), "no lookalike created");
    assert_eq!(world.ak.groups().len(), 1);
}

#[tokio::test]
async fn a_superuser_group_is_a_conflict_unless_superuser_groups_are_allowed() {
    let world = World::with_mapping(&mapping(&[("admins", "t1", "admin")]));
    world.ak.seed_group("admins", json!({"color": "red"}), &[7]);
    world.ak.set_superuser("admins", true);
    let run = world.run(false).await;
    let report = run.report();
    assert_eq!(
        actions(report),
        [("admins".into(), Action::Conflict, Status::Skipped)]
    );
    let reason = report.groups[0].reason.as_deref().unwrap();
    assert!(reason.contains("superuser group"), "{reason}");
    assert!(
        world.ak.writes().is_empty(),
        "a superuser group is never touched"
    );
    assert_eq!(exit_code(&run.result), Exit::NotInSync);

    let mut options = world.options(false);
    options.allow_superuser_groups = true;
    let run = world.run_with(&options, &world.grants()).await;
    assert_eq!(
        actions(run.report()),
        [("admins".into(), Action::Adopt, Status::Applied)]
    );
    let group = world.ak.group("admins").unwrap();
    assert!(group.is_superuser, "adopting changes attributes only");
    assert_eq!(group.attributes["color"], "red");
}

#[tokio::test]
async fn orphans_and_unrelated_groups_are_reported_or_ignored_never_touched() {
    let world = World::with_mapping(&mapping(&[("kept", "t", "user")]));
    world.ak.seed_group("kept", block("t", "user"), &[]);
    world
        .ak
        .seed_group("left-behind", block("old", "user"), &[3]);
    world.ak.seed_group("unrelated", json!({"a": 1}), &[4]);
    let before = world.ak.groups();
    let run = world.run(false).await;
    assert_eq!(
        actions(run.report()),
        [
            ("kept".into(), Action::Unchanged, Status::Skipped),
            ("left-behind".into(), Action::Orphan, Status::Skipped)
        ]
    );
    assert_eq!(world.ak.groups(), before);
    assert!(world.ak.writes().is_empty());
}

#[tokio::test]
async fn wildcard_entries_create_nothing_and_are_reported_as_skipped() {
    let world = World::with_mapping(&mapping(&[
        ("superadmins", "*", "SuperAdmin"),
        ("a", "t", "user"),
    ]));
    let run = world.run(false).await;
    let report = run.report();
    assert_eq!(report.summary.skipped, 1);
    assert_eq!(
        actions(report),
        [
            ("a".into(), Action::Create, Status::Applied),
            ("superadmins".into(), Action::Skipped, Status::Skipped)
        ]
    );
    assert!(world.ak.group("superadmins").is_none());
}

#[tokio::test]
async fn dry_run_plans_everything_and_writes_nothing() {
    let world = World::with_mapping(&mapping(THREE));
    world
        .ak
        .seed_group("acme-users", block("acme", "admin"), &[]);
    let run = world.run(true).await;
    let report = run.report();
    assert!(report.dry_run);
    assert_eq!(
        actions(report),
        [
            ("acme-admins".into(), Action::Create, Status::Planned),
            ("acme-users".into(), Action::Update, Status::Planned),
            ("globex-users".into(), Action::Create, Status::Planned)
        ]
    );
    assert!(world.ak.writes().is_empty());
    assert_eq!(world.ak.groups().len(), 1);
}

#[tokio::test]
async fn lists_every_page_of_a_large_installation() {
    let world = World::with_mapping(&mapping(&[
        ("g-0005", "t", "user"),
        ("g-0255", "t", "user"),
        ("zz-new", "t", "user"),
    ]));
    for i in 0..260 {
        let attributes = if i == 255 {
            block("t", "user")
        } else {
            json!({})
        };
        world.ak.seed_group(&format!("g-{i:04}"), attributes, &[]);
    }
    let run = world.run(false).await;
    let report = run.report();
    assert_eq!(
        actions(report),
        [
            ("g-0005".into(), Action::Adopt, Status::Applied),
            ("g-0255".into(), Action::Unchanged, Status::Skipped),
            ("zz-new".into(), Action::Create, Status::Applied)
        ]
    );
    let lists: Vec<_> = world
        .ak
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET" && r.query.contains_key("page"))
        .collect();
    assert_eq!(lists.len(), 3, "260 groups at 100 per page");
    // Page 1 first (it says how many there are), the rest at once, in any order.
    assert_eq!(lists[0].query["page"], "1");
    let mut pages: Vec<&str> = lists.iter().map(|l| l.query["page"].as_str()).collect();
    pages.sort();
    assert_eq!(pages, ["1", "2", "3"]);
    for list in &lists {
        assert_eq!(list.query["page_size"], "100");
        assert_eq!(list.query["include_users"], "false");
    }
    // 3 list pages, 1 create, and for the adoption a re-read right before its PATCH.
    assert_eq!(report.requests.authentik, 3 + 1 + 2);
}

#[tokio::test]
async fn reads_the_mapping_from_a_1password_document_file() {
    let world = World::new();
    let vault = world.op.add_vault(VAULT);
    world.op.add_item(
        &vault,
        ITEM,
        vec![Content::File {
            name: "tenant-mapping.json".into(),
            content: mapping(&[("from-file", "t", "user")]).into_bytes(),
        }],
    );
    let run = world.run(false).await;
    assert_eq!(
        actions(run.report()),
        [("from-file".into(), Action::Create, Status::Applied)]
    );
    let paths: Vec<String> = world.op.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(paths.len(), 4);
    assert!(paths[3].ends_with("/content"), "{paths:?}");
    assert_eq!(run.report().requests.onepassword, 4);
}

#[tokio::test]
async fn an_inline_document_needs_no_1password() {
    let world = World::new();
    let mut options = world.options(false);
    options.source = MappingSource::Inline(mapping(&[("inline", "t", "user")]));
    let run = world.run_with(&options, &world.grants()).await;
    assert_eq!(run.report().summary.create, 1);
    assert!(world.op.requests().is_empty());
}

#[tokio::test]
async fn every_validation_error_is_reported_and_nothing_is_sent_to_authentik() {
    let bad = json!({"version": 1, "mappings": [
        {"authentikGroup": "ok", "fcTenantId": "t", "fcRole": "r"},
        {"authentikGroup": "", "fcTenantId": "t", "fcRole": "r"},
        {"authentikGroup": "g", "fcTenantId": 5, "fcRole": "r", "strictMode": "yes"},
        {"authentikGroup": "ok", "fcTenantId": "other", "fcRole": "r"}
    ]});
    let world = World::with_mapping(&bad.to_string());
    let run = world.run(false).await;
    let SyncError::InvalidMapping(issues) = run.error() else {
        panic!("expected invalid-mapping, got {:?}", run.error())
    };
    let located: Vec<(Option<u32>, Option<&str>)> = issues
        .iter()
        .map(|i| (i.entry, i.field.as_deref()))
        .collect();
    assert_eq!(
        located,
        [
            (Some(1), Some("authentikGroup")),
            (Some(2), Some("fcTenantId")),
            (Some(2), Some("strictMode")),
            (Some(3), Some("fcTenantId")),
        ]
    );
    assert!(
        world.ak.requests().is_empty(),
        "invalid mapping: Authentik is not even read"
    );
    let errors = run
        .events()
        .into_iter()
        .filter(|e| e["@l"] == "Error")
        .count();
    assert_eq!(errors, 4 + 1, "one event per problem and a closing one");
}

#[tokio::test]
async fn a_bad_authentik_token_fails_before_any_write() {
    let world = World::with_mapping(&mapping(THREE));
    let mut grants = world.grants();
    grants.env = vec![
        ("AUTHENTIK_TOKEN".into(), "wrong-token-0000".into()),
        ("OP_TOKEN".into(), OP_TOKEN.into()),
    ];
    let run = world.run_with(&world.options(false), &grants).await;
    let SyncError::Upstream(failure) = run.error() else {
        panic!("{:?}", run.error())
    };
    assert_eq!(failure.service, Service::Authentik);
    assert_eq!(failure.status, Some(403));
    assert!(
        failure.message.contains("Token invalid/expired"),
        "{}",
        failure.message
    );
    assert!(
        failure.message.contains("AUTHENTIK_TOKEN"),
        "says what to check: {}",
        failure.message
    );
    assert!(world.ak.writes().is_empty());
}

#[tokio::test]
async fn a_bad_1password_token_fails_before_authentik_is_touched() {
    let world = World::with_mapping(&mapping(THREE));
    let mut grants = world.grants();
    grants.env = vec![
        ("AUTHENTIK_TOKEN".into(), AUTHENTIK_TOKEN.into()),
        ("OP_CONNECT_TOKEN".into(), "wrong-op-token-1111".into()),
    ];
    let run = world.run_with(&world.options(false), &grants).await;
    let SyncError::Upstream(failure) = run.error() else {
        panic!("{:?}", run.error())
    };
    assert_eq!(failure.service, Service::Onepassword);
    assert_eq!(failure.status, Some(401));
    assert!(failure.message.contains("OP_TOKEN"), "{}", failure.message);
    assert!(world.ak.requests().is_empty());
}

#[tokio::test]
async fn a_missing_token_is_a_configuration_error_before_any_request() {
    let world = World::with_mapping(&mapping(THREE));
    let mut grants = world.grants();
    grants.env = vec![("OP_TOKEN".into(), OP_TOKEN.into())];
    let run = world.run_with(&world.options(false), &grants).await;
    let SyncError::InvalidConfig(message) = run.error() else {
        panic!("{:?}", run.error())
    };
    assert!(message.contains("AUTHENTIK_TOKEN is not set"), "{message}");
    assert!(world.op.requests().is_empty() && world.ak.requests().is_empty());
}

#[tokio::test]
async fn a_missing_vault_or_item_is_named_in_the_error() {
    let world = World::new();
    world
        .op
        .seed_mapping_field("Other", ITEM, "mapping", &mapping(THREE));
    let run = world.run(false).await;
    let SyncError::Upstream(failure) = run.error() else {
        panic!("{:?}", run.error())
    };
    assert!(
        failure.message.contains("no vault named \"IAmWorkin\""),
        "{}",
        failure.message
    );
    assert!(world.ak.requests().is_empty());
}

#[tokio::test]
async fn a_failed_write_does_not_stop_the_others_and_is_a_partial_apply() {
    let world = World::with_mapping(&mapping(THREE));
    world.ak.fail_writes_to("acme-users", 500);
    let run = world.run(false).await;
    let SyncError::PartialApply(report) = run.error() else {
        panic!("{:?}", run.error())
    };
    assert_eq!(
        actions(report),
        [
            ("acme-admins".into(), Action::Create, Status::Applied),
            ("acme-users".into(), Action::Create, Status::Failed),
            ("globex-users".into(), Action::Create, Status::Applied)
        ]
    );
    assert_eq!(report.summary.failed, 1);
    let error = report.groups[1].error.as_deref().unwrap();
    assert!(error.contains("HTTP 500"), "{error}");
    let names: Vec<String> = world.ak.groups().into_iter().map(|g| g.name).collect();
    assert_eq!(names, ["acme-admins", "globex-users"]);
    assert!(
        run.events()
            .iter()
            .any(|e| e["@l"] == "Error" && e["Group"] == "acme-users")
    );
}

#[tokio::test]
async fn every_run_logs_a_summary_event() {
    let world = World::with_mapping(&mapping(THREE));
    let run = world.run(true).await;
    let summary = run
        .events()
        .into_iter()
        .find(|e| e["@mt"].as_str().unwrap().starts_with("Reconcile finished"))
        .expect("a summary event");
    assert_eq!(summary["Create"], 3);
    assert_eq!(summary["DryRun"], true);
    assert_eq!(summary["AuthentikRequests"], 1);
}

/// Every write carries a `Content-Length`: the fake reads no other body (as Authentik's Django
/// REST framework does), and behind a strict proxy a chunked body would be a 411.
#[tokio::test]
async fn every_write_carries_its_content_length_and_passes_a_strict_proxy() {
    let world = World::with_mapping(&mapping(&[
        ("new", "t1", "user"),
        ("drifted", "t2", "admin"),
    ]));
    world.ak.seed_group("drifted", block("t2", "user"), &[]);
    world.ak.require_content_length();
    let run = world.run(false).await;
    let report = run.report();
    assert_eq!(
        actions(report),
        [
            ("drifted".into(), Action::Update, Status::Applied),
            ("new".into(), Action::Create, Status::Applied),
        ]
    );
    let writes = world.ak.writes();
    assert_eq!(writes.len(), 2);
    for write in &writes {
        let length: usize = write
            .content_length
            .as_deref()
            .unwrap_or_else(|| panic!("{} {} without Content-Length", write.method, write.path))
            .parse()
            .unwrap();
        assert_eq!(length, write.body.as_ref().unwrap().to_string().len());
    }
    assert_eq!(
        Value::Object(world.ak.group("new").unwrap().attributes),
        block("t1", "user")
    );
    assert_eq!(
        Value::Object(world.ak.group("drifted").unwrap().attributes),
        block("t2", "admin")
    );
}

/// A write the server answers with success but did not apply (its body was dropped on the way)
/// is a failed write, never `applied`; the run exits "not in sync".
#[tokio::test]
async fn an_update_answered_200_but_not_applied_is_a_failure() {
    use tenant_sync_fakes::Fault;
    use tenant_sync_fakes::authentik::route;
    let world = World::with_mapping(&mapping(&[
        ("drifted", "t2", "admin"),
        ("new", "t1", "user"),
    ]));
    world.ak.seed_group("drifted", block("t2", "user"), &[]);
    world.ak.inject(route::PATCH, 1, Fault::BodyUnread);
    world.ak.inject(route::CREATE, 1, Fault::BodyUnread);
    let run = world.run(false).await;
    let SyncError::PartialApply(report) = run.error() else {
        panic!("expected a partial apply, got {:?}", run.error());
    };
    assert_eq!(
        actions(report),
        [
            ("drifted".into(), Action::Update, Status::Failed),
            ("new".into(), Action::Create, Status::Failed),
        ]
    );
    let drifted = report.groups[0].error.as_deref().unwrap();
    assert!(
        drifted.contains("Authentik accepted the request (HTTP 200) but did not apply it")
            && drifted.contains("fc:role"),
        "{drifted}"
    );
    let new = report.groups[1].error.as_deref().unwrap();
    assert!(
        new.contains("HTTP 400 (name: This field is required.)"),
        "{new}"
    );
    assert_eq!(
        Value::Object(world.ak.group("drifted").unwrap().attributes),
        block("t2", "user")
    );
    assert!(world.ak.group("new").is_none());
}
