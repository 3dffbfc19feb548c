//! Round trips are the cost of a reconcile: request counts at their lower bound, and writes
//! that really overlap up to `concurrency` while each group's own requests stay in order.

use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tenant_sync::bindings::types::{Action, SyncOptions};
use tenant_sync_fakes::Fault;
use tenant_sync_fakes::authentik::route;
use tenant_sync_tests::*;

fn block(tenant: &str) -> Value {
    json!({"fc:managed-by": MANAGER, "fc:tenant": tenant, "fc:role": "user"})
}

fn names(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("group-{i:05}")).collect()
}

fn mapping_of(names: &[String]) -> String {
    let entries: Vec<(&str, &str, &str)> =
        names.iter().map(|n| (n.as_str(), "t", "user")).collect();
    mapping(&entries)
}

#[tokio::test]
async fn a_no_op_run_makes_only_the_reads_it_must() {
    let groups = names(1000);
    let world = World::with_mapping(&mapping_of(&groups));
    for name in &groups {
        world.ak.seed_group(name, block("t"), &[]);
    }
    let run = world.run(false).await;
    let report = run.report();
    assert_eq!(report.summary.unchanged, 1000);
    assert_eq!(
        world.op.requests().len(),
        3,
        "vault list, item lookup, item"
    );
    assert_eq!(
        world.ak.requests().len(),
        10,
        "⌈1000/100⌉ list pages, no per-group request"
    );
    assert_eq!(report.requests.onepassword, 3);
    assert_eq!(report.requests.authentik, 10);
}

#[tokio::test]
async fn writes_cost_one_request_per_create_and_two_per_update() {
    let groups = names(150);
    let world = World::with_mapping(&mapping_of(&groups));
    // The first 50 exist and drifted; 100 are missing.
    for name in &groups[..50] {
        world.ak.seed_group(name, block("old"), &[]);
    }
    let run = world.run(false).await;
    let report = run.report();
    assert_eq!((report.summary.create, report.summary.update), (100, 50));
    let requests = world.ak.requests();
    let count = |method: &str| requests.iter().filter(|r| r.method == method).count();
    assert_eq!(count("POST"), 100);
    assert_eq!(count("PATCH"), 50);
    // 1 list page (50 groups) + a re-read before each PATCH.
    assert_eq!(count("GET"), 1 + 50);
    assert_eq!(report.requests.authentik, 1 + 100 + 50 * 2);
}

#[tokio::test]
async fn writes_overlap_up_to_the_concurrency_limit() {
    let groups = names(12);
    for (concurrency, expected_peak) in [(1, 1), (4, 4)] {
        let world = World::with_mapping(&mapping_of(&groups));
        world
            .ak
            .inject(route::CREATE, 12, Fault::Delay(Duration::from_millis(150)));
        let mut options = world.options(false);
        options.concurrency = concurrency;
        let started = Instant::now();
        let run = world.run_with(&options, &world.grants()).await;
        let elapsed = started.elapsed();
        assert_eq!(run.report().summary.create, 12);
        assert_eq!(
            world.ak.peak_in_flight(),
            expected_peak,
            "concurrency {concurrency}"
        );
        let sequential = Duration::from_millis(150 * 12);
        if concurrency == 1 {
            assert!(elapsed >= sequential, "{elapsed:?}");
        } else {
            assert!(
                elapsed < sequential / 2,
                "12 creates at 4 in flight took {elapsed:?}"
            );
        }
        assert_eq!(world.ak.groups().len(), 12);
    }
}

#[tokio::test]
async fn the_report_and_group_events_stay_sorted_whatever_finishes_first() {
    let groups = names(8);
    let world = World::with_mapping(&mapping_of(&groups));
    // The first groups are the slowest to create, so they finish last.
    world
        .ak
        .inject(route::CREATE, 2, Fault::Delay(Duration::from_millis(300)));
    let mut options = world.options(false);
    options.concurrency = 8;
    let run = world.run_with(&options, &world.grants()).await;
    let reported: Vec<String> = run
        .report()
        .groups
        .iter()
        .map(|g| g.group.clone())
        .collect();
    assert_eq!(reported, groups);
    let logged: Vec<String> = run
        .events()
        .into_iter()
        .filter_map(|e| e["Group"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(logged, groups);
}

#[tokio::test]
async fn an_update_reads_before_it_patches_even_under_concurrency() {
    let groups = names(20);
    let world = World::with_mapping(&mapping_of(&groups));
    for name in &groups {
        world.ak.seed_group(name, block("old"), &[]);
    }
    let mut options = world.options(false);
    options.concurrency = 8;
    world.run_with(&options, &world.grants()).await.report();
    let requests = world.ak.requests();
    for group in world.ak.groups() {
        let path = format!("/api/v3/core/groups/{}/", group.pk);
        let order: Vec<&str> = requests
            .iter()
            .filter(|r| r.path == path)
            .map(|r| r.method.as_str())
            .collect();
        assert_eq!(order, ["GET", "PATCH"], "{}", group.name);
    }
}

/// The host keeps connections alive per origin: one request at a time needs one connection to
/// each service for the whole run, however many requests it sends.
#[tokio::test]
async fn a_sequential_run_uses_one_connection_per_service() {
    let groups = names(150);
    let world = World::with_mapping(&mapping_of(&groups));
    for name in &groups[..50] {
        world.ak.seed_group(name, block("old"), &[]);
    }
    let options = SyncOptions {
        concurrency: 1,
        ..world.options(false)
    };
    let run = world.run_with(&options, &world.grants()).await;
    let report = run.report();
    assert_eq!((report.summary.create, report.summary.update), (100, 50));
    assert_eq!(world.ak.requests().len(), 1 + 100 + 2 * 50);
    assert_eq!(
        world.op.connections(),
        1,
        "1Password: 3 requests, one connection"
    );
    assert_eq!(
        world.ak.connections(),
        1,
        "Authentik: 201 requests, one connection"
    );
}

/// Concurrent writes open a connection per write in flight at most, plus the one that listed.
#[tokio::test]
async fn concurrent_writes_open_at_most_one_connection_per_write_in_flight() {
    let groups = names(200);
    let world = World::with_mapping(&mapping_of(&groups));
    world.ak.set_latency(Duration::from_millis(5));
    let options = SyncOptions {
        concurrency: 4,
        ..world.options(false)
    };
    let run = world.run_with(&options, &world.grants()).await;
    assert_eq!(run.report().summary.create, 200);
    assert!(world.ak.peak_in_flight() > 1, "the writes did not overlap");
    let connections = world.ak.connections();
    assert!(
        (2..=4 + 1).contains(&connections),
        "{connections} connections for 201 requests at concurrency 4"
    );
}

/// Page 1 says how many pages there are, so the others are fetched at once (up to the
/// concurrency): a no-op over 1,000 groups waits for two rounds of list pages, not ten.
#[tokio::test]
async fn list_pages_after_the_first_are_fetched_concurrently() {
    let groups = names(1000);
    let world = World::with_mapping(&mapping_of(&groups));
    for name in &groups {
        world.ak.seed_group(name, block("t"), &[]);
    }
    world.ak.set_latency(Duration::from_millis(20));
    let options = SyncOptions {
        concurrency: 8,
        ..world.options(false)
    };
    let run = world.run_with(&options, &world.grants()).await;
    assert_eq!(run.report().summary.unchanged, 1000);
    assert_eq!(world.ak.requests().len(), 10, "still one request per page");
    assert!(
        world.ak.peak_in_flight() >= 2,
        "pages 2-10 were fetched one at a time"
    );
}

/// A tenant of a big mapping: the groups it selects, looked up by name, at most two requests
/// each (lookup, then the create or the update), and nothing else of Authentik is read.
#[tokio::test]
async fn one_tenant_costs_a_lookup_and_a_write_per_group() {
    let mut entries: Vec<(String, &str)> = names(300).into_iter().map(|n| (n, "t")).collect();
    entries.extend([
        ("acme-admins".to_owned(), "acme"),
        ("acme-users".to_owned(), "acme"),
        ("acme-viewers".to_owned(), "acme"),
    ]);
    let refs: Vec<(&str, &str, &str)> = entries
        .iter()
        .map(|(n, t)| (n.as_str(), *t, "user"))
        .collect();
    let world = World::with_mapping(&mapping(&refs));
    world.ak.seed_group("acme-users", block("old"), &[]); // drifted
    world.ak.seed_group("acme-viewers", block("acme"), &[]); // in sync
    world.ak.seed_group("group-00000", block("old"), &[]); // drifted, not selected
    let mut options = world.options(false);
    options.only_tenants = vec!["acme".into()];
    let run = world.run_with(&options, &world.grants()).await;
    let report = run.report();
    let decided: Vec<(&str, Action)> = report
        .groups
        .iter()
        .map(|g| (g.group.as_str(), g.action))
        .collect();
    assert_eq!(
        decided,
        [
            ("acme-admins", Action::Create),
            ("acme-users", Action::Update),
            ("acme-viewers", Action::Unchanged)
        ]
    );
    let recorded = world.ak.requests();
    let requests: Vec<String> = recorded
        .iter()
        .map(|r| format!("{} {} {:?}", r.method, r.path, r.query))
        .collect();
    let lookups = recorded
        .iter()
        .filter(|r| r.query.contains_key("name"))
        .count();
    assert_eq!(lookups, 3, "{requests:?}");
    assert_eq!(
        requests.len(),
        3 + 2,
        "a lookup per group, then a POST and a PATCH: {requests:?}"
    );
    assert!(
        !recorded.iter().any(|r| r.query.contains_key("page")),
        "no listing: {requests:?}"
    );
    assert_eq!(world.op.requests().len(), 3);
    assert_eq!(
        world.ak.group("group-00000").unwrap().attributes["fc:tenant"],
        "old"
    );
    assert_eq!(
        world.ak.group("acme-users").unwrap().attributes["fc:tenant"],
        "acme"
    );
}

#[tokio::test]
async fn a_selected_group_the_mapping_lacks_stops_the_run_before_authentik() {
    let world = World::with_mapping(&mapping(&[("acme-admins", "acme", "admin")]));
    let mut options = world.options(false);
    options.only_groups = vec!["acme-admin".into()];
    let run = world.run_with(&options, &world.grants()).await;
    let tenant_sync::bindings::types::SyncError::InvalidConfig(message) = run.error() else {
        panic!("{:?}", run.error())
    };
    assert!(
        message.contains("the group \"acme-admin\" is not in the mapping"),
        "{message}"
    );
    assert!(world.ak.requests().is_empty());
}
