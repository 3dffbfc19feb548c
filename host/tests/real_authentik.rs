//! The released behaviour against a real Authentik (`../shared/authentik/`, started on demand,
//! never skipped): the `tenant-sync` binary reads its mapping from the fake 1Password and
//! reconciles into the real server, and every end state is read back from Authentik, not taken
//! from the report. Writes on the wire are counted from the host's own per-request events.
//!
//! Each test works under its own group-name prefix and its own manager id, and deletes only
//! its own groups.

use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use support::Ran;
use support::job::*;
use support::mcp::call;
use tenant_sync_peer::{Relay, Scratch, authentik};

mod support;

const THREE: &[(&str, &str, &str)] = &[
    ("acme-admins", "acme", "admin"),
    ("acme-users", "acme", "user"),
    ("globex-users", "globex", "user"),
];

#[test]
fn a_fresh_create_then_a_rerun_that_writes_nothing() {
    let job = Job::new("fresh", THREE);
    let first = job.run(&[]);
    assert_exit(&first, 0);
    assert!(
        decisions(&first)
            .iter()
            .all(|(_, action, status)| action == "create" && status == "applied"),
        "{:?}",
        decisions(&first)
    );
    assert_eq!(writes(&first, &job.peer().url).len(), 3);
    let stored = job.stored();
    assert_eq!(
        stored.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        ["acme-admins", "acme-users", "globex-users"]
    );
    for ((_, group), (_, tenant, role)) in stored.iter().zip(THREE) {
        assert_eq!(group["attributes"], job.block(tenant, role));
    }

    let second = job.run(&[]);
    assert_exit(&second, 0);
    assert!(
        decisions(&second)
            .iter()
            .all(|(_, action, _)| action == "unchanged")
    );
    assert_eq!(writes(&second, &job.peer().url), Vec::<String>::new());
    assert_eq!(job.stored(), stored, "a no-op run changed Authentik");
}

#[test]
fn drift_is_corrected_keeping_foreign_attributes_and_members() {
    let job = Job::new("drift", &[("acme-admins", "acme", "admin")]);
    let peer = job.peer();
    let admin = peer.admin_user_pk();
    let mut drifted = job.block("acme", "user");
    drifted["fc:label"] = json!("stale");
    drifted["notes"] = json!({"owner": "ops", "tags": ["a", "b"]});
    peer.create_group(&job.name("acme-admins"), drifted, &[admin]);

    let ran = job.run(&[]);
    assert_exit(&ran, 0);
    assert_eq!(
        decisions(&ran),
        [(job.name("acme-admins"), "update".into(), "applied".into())]
    );
    assert_eq!(writes(&ran, &peer.url).len(), 1);
    let stored = job.stored_group("acme-admins");
    let mut expected = job.block("acme", "admin");
    expected["notes"] = json!({"owner": "ops", "tags": ["a", "b"]});
    assert_eq!(stored["attributes"], expected);
    assert_eq!(stored["users"], json!([admin]), "members must be kept");

    let again = job.run(&[]);
    assert_exit(&again, 0);
    assert_eq!(writes(&again, &peer.url), Vec::<String>::new());
}

#[test]
fn an_unclaimed_group_is_adopted() {
    let job = Job::new("adopt", &[("plain", "acme", "user")]);
    job.peer()
        .create_group(&job.name("plain"), json!({"team": "a"}), &[]);
    let ran = job.run(&[]);
    assert_exit(&ran, 0);
    assert_eq!(
        decisions(&ran),
        [(job.name("plain"), "adopt".into(), "applied".into())]
    );
    let mut expected = job.block("acme", "user");
    expected["team"] = json!("a");
    assert_eq!(job.stored_group("plain")["attributes"], expected);
}

#[test]
fn a_conflict_is_left_untouched() {
    let job = Job::new("conflict", &[("theirs", "acme", "user")]);
    let theirs = json!({"fc:managed-by": "someone-else", "fc:role": "x"});
    job.peer()
        .create_group(&job.name("theirs"), theirs.clone(), &[]);
    let before = job.stored();
    let ran = job.run(&[]);
    assert_exit(&ran, 5);
    assert_eq!(
        decisions(&ran),
        [(job.name("theirs"), "conflict".into(), "skipped".into())]
    );
    assert_eq!(writes(&ran, &job.peer().url), Vec::<String>::new());
    assert_eq!(job.stored(), before);
    assert_eq!(job.stored_group("theirs")["attributes"], theirs);
}

#[test]
fn a_superuser_group_is_a_conflict_unless_allowed() {
    let job = Job::new("superuser", &[("root", "acme", "admin")]);
    let created = job
        .peer()
        .create_group(&job.name("root"), json!({"team": "ops"}), &[]);
    let pk = created["pk"].as_str().unwrap();
    let made = job.peer().write(
        "PATCH",
        &format!("/api/v3/core/groups/{pk}/"),
        &json!({"is_superuser": true}),
    );
    assert_eq!(made.status, 200, "{}", String::from_utf8_lossy(&made.body));
    assert_eq!(job.stored_group("root")["is_superuser"], true);

    let ran = job.run(&[]);
    assert_exit(&ran, 5);
    assert_eq!(
        decisions(&ran),
        [(job.name("root"), "conflict".into(), "skipped".into())]
    );
    assert_eq!(writes(&ran, &job.peer().url), Vec::<String>::new());
    assert_eq!(
        job.stored_group("root")["attributes"],
        json!({"team": "ops"})
    );

    let ran = job.run(&["--allow-superuser-groups"]);
    assert_exit(&ran, 0);
    assert_eq!(
        decisions(&ran),
        [(job.name("root"), "adopt".into(), "applied".into())]
    );
    let stored = job.stored_group("root");
    assert_eq!(stored["is_superuser"], true, "only attributes are written");
    let mut expected = job.block("acme", "admin");
    expected["team"] = json!("ops");
    assert_eq!(stored["attributes"], expected);
}

#[test]
fn the_least_privilege_service_account_syncs_and_can_do_nothing_else() {
    let blueprint = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../deploy/authentik/tenant-sync-blueprint.yaml"
    ))
    .unwrap();
    let job = Job::new(
        "least-privilege",
        &[("users", "acme", "user"), ("admins", "acme", "admin")],
    );
    let peer = job.peer();
    peer.import_blueprint(&blueprint);
    let token = peer.token_key("tenant-sync");
    assert_ne!(token, peer.token);

    // The whole job works with it: creates, an adoption that keeps a foreign key, a no-op rerun.
    peer.create_group(&job.name("admins"), json!({"team": "ops"}), &[]);
    let ran = job.run_against(&peer.url, &token, &[]);
    assert_exit(&ran, 0);
    assert_eq!(
        decisions(&ran),
        [
            (job.name("admins"), "adopt".into(), "applied".into()),
            (job.name("users"), "create".into(), "applied".into()),
        ]
    );
    let mut adopted = job.block("acme", "admin");
    adopted["team"] = json!("ops");
    assert_eq!(job.stored_group("admins")["attributes"], adopted);
    let rerun = job.run_against(&peer.url, &token, &[]);
    assert_exit(&rerun, 0);
    assert_eq!(writes(&rerun, &peer.url), Vec::<String>::new());

    // Everything else is refused to this token by Authentik itself.
    let as_job = |method: &str, target: &str| {
        tenant_sync_peer::wire::send(&peer.url, method, target, Some(&token), None)
    };
    let pk = job.stored_group("users")["pk"].as_str().unwrap().to_owned();
    let delete = as_job("DELETE", &format!("/api/v3/core/groups/{pk}/"));
    assert_eq!(
        delete.status,
        403,
        "{}",
        String::from_utf8_lossy(&delete.body)
    );
    assert!(peer.group(&job.name("users")).is_some(), "still there");
    let bootstrap = as_job(
        "GET",
        "/api/v3/core/tokens/authentik-bootstrap-token/view_key/",
    );
    assert!(
        [403, 404].contains(&bootstrap.status),
        "reading the admin token's key: HTTP {}",
        bootstrap.status
    );
    let tokens = as_job("GET", "/api/v3/core/tokens/");
    assert!(
        tokens.status == 403
            || tokens.json()["results"]
                .as_array()
                .is_some_and(|all| all.iter().all(|t| t["identifier"] == "tenant-sync")),
        "listing tokens shows no one else's: HTTP {} {}",
        tokens.status,
        tokens.json()
    );
    let users = as_job("GET", "/api/v3/core/users/");
    assert!(
        users.status == 403
            || users.json()["results"]
                .as_array()
                .is_some_and(|all| all.iter().all(|u| u["username"] == "tenant-sync")),
        "listing users: HTTP {} {}",
        users.status,
        users.json()
    );
}

#[test]
fn one_tenant_is_reconciled_by_name_lookups_alone() {
    let job = Job::new(
        "one-tenant",
        &[
            ("acme-admins", "acme", "admin"),
            ("acme-users", "acme", "user"),
            ("globex-users", "globex", "user"),
        ],
    );
    let peer = job.peer();
    peer.create_group(&job.name("acme-users"), job.block("acme", "admin"), &[]);
    let ran = job.run(&["--tenant", "acme"]);
    assert_exit(&ran, 0);
    assert_eq!(
        decisions(&ran),
        [
            (job.name("acme-admins"), "create".into(), "applied".into()),
            (job.name("acme-users"), "update".into(), "applied".into()),
        ]
    );
    let requests = authentik_requests(&ran, &peer.url);
    assert_eq!(
        requests.len(),
        2 * 2,
        "a lookup and a write per group, no listing: {requests:?}"
    );
    // Two lookups of the collection (`?name=`), and no re-read of one group before the PATCH:
    // the lookup was fresh enough. A listing of one page plus a re-read would also be 4.
    let collection_reads = requests
        .iter()
        .filter(|r| *r == "GET /api/v3/core/groups/")
        .count();
    assert_eq!(collection_reads, 2, "{requests:?}");
    assert!(looked_up_by_name(&ran), "{}", ran.stderr);
    assert_eq!(
        job.stored_group("acme-users")["attributes"],
        job.block("acme", "user")
    );
    assert_eq!(
        job.stored_group("acme-admins")["attributes"],
        job.block("acme", "admin")
    );
    assert!(
        peer.group(&job.name("globex-users")).is_none(),
        "not selected"
    );

    let again = job.run(&["--group", &job.name("acme-users")]);
    assert_exit(&again, 0);
    assert_eq!(authentik_requests(&again, &peer.url).len(), 1, "one lookup");
    assert!(looked_up_by_name(&again), "{}", again.stderr);
}

/// The run looked its groups up by name instead of listing them all (its own event says so).
fn looked_up_by_name(ran: &Ran) -> bool {
    let said = |start: &str| {
        ran.events()
            .iter()
            .any(|e| e["@mt"].as_str().is_some_and(|t| t.starts_with(start)))
    };
    said("Looked up {Selected} selected groups by name") && !said("Authentik has {Existing} groups")
}

#[test]
fn a_group_in_another_unicode_spelling_is_never_doubled() {
    // One scratch turn at a time: the first job ends before the second starts.
    {
        // The mapping spells the name decomposed (u + U+0308); Authentik has it precomposed.
        let scratch = Scratch::new(authentik(), "nfc");
        let precomposed = scratch.name("ümlaut");
        let decomposed = scratch.name("u\u{308}mlaut");
        let document = json!({"version": 1, "mappings": [
            {"authentikGroup": decomposed, "fcTenantId": "acme", "fcRole": "user"}]});
        let job = Job::with_document(scratch, &document);
        job.peer().create_group(&precomposed, json!({}), &[]);
        let ran = job.run(&[]);
        assert_exit(&ran, 0);
        assert_eq!(
            decisions(&ran),
            [(precomposed.clone(), "adopt".into(), "applied".into())],
            "one group, adopted under its NFC name"
        );
        assert_eq!(job.stored().len(), 1, "{:?}", job.stored());
    }

    // The other way round: Authentik holds the decomposed spelling, the mapping the NFC one.
    let scratch = Scratch::new(authentik(), "nfc-twin");
    let precomposed = scratch.name("ümlaut");
    let decomposed = scratch.name("u\u{308}mlaut");
    let document = json!({"version": 1, "mappings": [
        {"authentikGroup": precomposed, "fcTenantId": "acme", "fcRole": "user"}]});
    let job = Job::with_document(scratch, &document);
    job.peer().create_group(&decomposed, json!({}), &[]);
    let ran = job.run(&[]);
    assert_exit(&ran, 5);
    assert_eq!(
        decisions(&ran),
        [(precomposed.clone(), "conflict".into(), "skipped".into())]
    );
    assert_eq!(writes(&ran, &job.peer().url), Vec::<String>::new());
    assert_eq!(job.stored().len(), 1, "no lookalike next to it");
}

#[test]
fn an_orphan_is_reported_and_kept() {
    let job = Job::new("orphan", &[("kept", "acme", "user")]);
    let orphan = job.block("gone", "user");
    job.peer()
        .create_group(&job.name("gone"), orphan.clone(), &[]);
    let ran = job.run(&[]);
    assert_exit(&ran, 0);
    assert_eq!(
        decisions(&ran),
        [
            (job.name("gone"), "orphan".into(), "skipped".into()),
            (job.name("kept"), "create".into(), "applied".into()),
        ]
    );
    assert_eq!(job.stored_group("gone")["attributes"], orphan);
}

#[test]
fn more_groups_than_one_page_are_all_created_then_left_alone() {
    let names: Vec<String> = (0..105).map(|i| format!("tenant-{i:03}-users")).collect();
    let entries: Vec<(&str, &str, &str)> =
        names.iter().map(|n| (n.as_str(), "many", "user")).collect();
    let job = Job::new("pages", &entries);
    let first = job.run(&["--concurrency", "8"]);
    assert_exit(&first, 0);
    assert_eq!(first.json()["summary"]["create"], 105);
    let stored = job.stored();
    assert_eq!(stored.len(), 105);
    assert!(
        stored
            .iter()
            .all(|(_, g)| g["attributes"] == job.block("many", "user"))
    );

    let second = job.run(&[]);
    assert_exit(&second, 0);
    assert_eq!(second.json()["summary"]["unchanged"], 105);
    let requests = authentik_requests(&second, &job.peer().url);
    assert!(
        requests.len() >= 2 && requests.iter().all(|r| r.starts_with("GET ")),
        "a no-op over more than a page lists every page and writes nothing: {requests:?}"
    );
}

#[test]
fn a_dry_run_writes_nothing() {
    let job = Job::new(
        "dry",
        &[("new", "acme", "user"), ("drifted", "acme", "admin")],
    );
    job.peer()
        .create_group(&job.name("drifted"), job.block("acme", "user"), &[]);
    let before = job.stored();
    let ran = job.run(&["--dry-run"]);
    assert_exit(&ran, 0);
    assert_eq!(
        decisions(&ran),
        [
            (job.name("drifted"), "update".into(), "planned".into()),
            (job.name("new"), "create".into(), "planned".into()),
        ]
    );
    assert_eq!(writes(&ran, &job.peer().url), Vec::<String>::new());
    assert_eq!(job.stored(), before);
}

#[test]
fn a_bad_token_fails_before_any_write() {
    let job = Job::new("token", &[("new", "acme", "user")]);
    let ran = job.run_against(&job.peer().url, "not-a-valid-token", &[]);
    assert_exit(&ran, 4);
    let error = &ran.json()["error"];
    assert_eq!(error["kind"], "upstream");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("HTTP 403") && message.contains("Token invalid/expired"),
        "{message}"
    );
    assert_eq!(writes(&ran, &job.peer().url), Vec::<String>::new());
    assert!(job.stored().is_empty());
}

#[test]
fn names_that_need_url_encoding_round_trip() {
    const NAMES: [&str; 5] = ["R&D admins", "a+b", "ümlaut", "50% off?", "x=y#z"];
    let entries: Vec<(&str, &str, &str)> = NAMES.iter().map(|n| (*n, "enc", "user")).collect();
    let job = Job::new("encoding", &entries);
    // One of them exists already with drift, so a PATCH by pk and a read-back happen too.
    job.peer()
        .create_group(&job.name("a+b"), job.block("enc", "admin"), &[]);
    let first = job.run(&[]);
    assert_exit(&first, 0);
    let stored = job.stored();
    let mut expected: Vec<&str> = NAMES.to_vec();
    expected.sort();
    assert_eq!(
        stored.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        expected
    );
    assert!(
        stored
            .iter()
            .all(|(_, g)| g["attributes"] == job.block("enc", "user"))
    );
    let second = job.run(&[]);
    assert_exit(&second, 0);
    assert_eq!(writes(&second, &job.peer().url), Vec::<String>::new());
}

#[test]
fn a_create_whose_name_was_taken_meanwhile_continues_from_the_group() {
    let job = Job::new("taken", &[("late", "acme", "user")]);
    let peer = job.peer();
    let name = job.name("late");
    // Someone else creates the group after the listing, just before this tool's POST arrives.
    let fired = Arc::new(AtomicBool::new(false));
    let relay = {
        let (fired, name) = (fired.clone(), name.clone());
        Relay::watching(&peer.url, move |bytes| {
            let post = bytes.starts_with(b"POST /api/v3/core/groups/?include_users=false ");
            if post && !fired.swap(true, Ordering::SeqCst) {
                peer.create_group(&name, json!({"team": "b"}), &[]);
            }
        })
    };
    let ran = job.run_against(relay.url(), &peer.token, &[]);
    assert_exit(&ran, 0);
    assert!(fired.load(Ordering::SeqCst), "the POST never went out");
    assert_eq!(
        decisions(&ran),
        [(name.clone(), "create".into(), "applied".into())]
    );
    // The listing (as many pages as the server holds groups), the refused POST, the lookup by
    // name, the PATCH of the block.
    let methods: Vec<String> = authentik_requests(&ran, relay.url())
        .into_iter()
        .map(|r| r.split(' ').next().unwrap().to_owned())
        .collect();
    let listed = methods.iter().take_while(|m| *m == "GET").count();
    assert!(listed >= 1, "{methods:?}");
    assert_eq!(methods[listed..], ["POST", "GET", "PATCH"], "{methods:?}");
    let stored = job.stored();
    assert_eq!(stored.len(), 1, "exactly one group by that name");
    let mut expected = job.block("acme", "user");
    expected["team"] = json!("b");
    assert_eq!(stored[0].1["attributes"], expected);
}

/// Behind a proxy that drops request bodies, the real Authentik answers a PATCH with 200 and
/// changes nothing, and a POST with 400: neither write may be reported as applied.
#[test]
fn writes_the_server_did_not_apply_are_failures() {
    let job = Job::new(
        "unapplied",
        &[("drifted", "acme", "admin"), ("new", "acme", "user")],
    );
    let peer = job.peer();
    let drifted = job.block("acme", "user");
    peer.create_group(&job.name("drifted"), drifted.clone(), &[]);
    let relay = Relay::dropping_bodies(&peer.url);
    let ran = job.run_against(relay.url(), &peer.token, &[]);
    assert_exit(&ran, 5);
    assert_eq!(
        decisions(&ran),
        [
            (job.name("drifted"), "update".into(), "failed".into()),
            (job.name("new"), "create".into(), "failed".into()),
        ]
    );
    let errors: Vec<String> = ran.json()["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["error"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        errors[0].contains("Authentik accepted the request (HTTP 200) but did not apply it"),
        "{}",
        errors[0]
    );
    assert!(
        errors[1].contains("HTTP 400 (name: This field is required.)"),
        "{}",
        errors[1]
    );
    assert_eq!(job.stored_group("drifted")["attributes"], drifted);
    assert!(peer.group(&job.name("new")).is_none());
}

#[test]
fn a_token_stored_in_a_managed_attribute_never_reaches_the_output() {
    // Someone pasted the job's token into a managed group's label. The run replaces the label
    // and reports the change, without ever showing the old value.
    let scratch = Scratch::new(authentik(), "token-label");
    let document = json!({"version": 1, "mappings": [{
        "authentikGroup": scratch.name("acme-admins"), "fcTenantId": "acme", "fcRole": "admin",
        "label": "Acme admins",
    }]});
    let job = Job::with_document(scratch, &document);
    let peer = job.peer();
    let mut pasted = job.block("acme", "admin");
    pasted["fc:label"] = json!(format!("Bearer {}", peer.token));
    peer.create_group(&job.name("acme-admins"), pasted, &[]);

    // `support::checked` fails the test if the token shows in stdout or stderr.
    let ran = job.run(&[]);
    assert_exit(&ran, 0);
    assert_eq!(
        decisions(&ran),
        [(job.name("acme-admins"), "update".into(), "applied".into())]
    );
    assert!(ran.stdout.contains("[redacted]"), "{}", ran.stdout);
    let mut expected = job.block("acme", "admin");
    expected["fc:label"] = json!("Acme admins");
    assert_eq!(job.stored_group("acme-admins")["attributes"], expected);
}

#[test]
fn a_group_under_a_superuser_group_is_a_conflict_at_any_depth_unless_allowed() {
    // "root" is a superuser group; "child" is under it, "grandchild" under "child". Their members
    // get every permission too, so neither is written: not by the full run (which decides from
    // the listing), not by --group (which reads the ancestors), until superuser groups are
    // allowed.
    let job = Job::new(
        "inherited",
        &[("child", "acme", "admin"), ("grandchild", "acme", "user")],
    );
    let peer = job.peer();
    let root = peer.create_group(&job.name("root"), json!({}), &[]);
    let root_pk = root["pk"].as_str().unwrap();
    let made = peer.write(
        "PATCH",
        &format!("/api/v3/core/groups/{root_pk}/"),
        &json!({"is_superuser": true}),
    );
    assert_eq!(made.status, 200, "{}", String::from_utf8_lossy(&made.body));
    let under = |name: &str, parent: &str| {
        let created = peer.create_group(&job.name(name), json!({"team": "ops"}), &[]);
        let pk = created["pk"].as_str().unwrap().to_owned();
        let moved = peer.write(
            "PATCH",
            &format!("/api/v3/core/groups/{pk}/"),
            &json!({"parents": [parent]}),
        );
        assert_eq!(
            moved.status,
            200,
            "{}",
            String::from_utf8_lossy(&moved.body)
        );
        pk
    };
    let child = under("child", root_pk);
    under("grandchild", &child);
    assert_eq!(job.stored_group("grandchild")["is_superuser"], false);

    let conflicts = [
        (
            job.name("child"),
            "conflict".to_owned(),
            "skipped".to_owned(),
        ),
        (job.name("grandchild"), "conflict".into(), "skipped".into()),
    ];
    let full = job.run(&[]);
    assert_exit(&full, 5);
    assert_eq!(decisions(&full), conflicts);
    assert!(
        full.stdout.contains(&format!(
            "its ancestor group \\\"{}\\\" is a superuser group",
            job.name("root")
        )),
        "{}",
        full.stdout
    );
    let one = job.run(&[
        "--group",
        &job.name("grandchild"),
        "--group",
        &job.name("child"),
    ]);
    assert_exit(&one, 5);
    assert_eq!(decisions(&one), conflicts);
    for ran in [&full, &one] {
        assert_eq!(writes(ran, &peer.url), Vec::<String>::new());
    }
    assert_eq!(
        job.stored_group("child")["attributes"],
        json!({"team": "ops"})
    );
    assert_eq!(
        job.stored_group("grandchild")["attributes"],
        json!({"team": "ops"})
    );

    let allowed = job.run(&["--allow-superuser-groups"]);
    assert_exit(&allowed, 0);
    let mut expected = job.block("acme", "user");
    expected["team"] = json!("ops");
    assert_eq!(job.stored_group("grandchild")["attributes"], expected);
}

/// The hot path: one tenant through `tenant-sync mcp`, under the official MCP client, read
/// back from Authentik; the same call again writes nothing.
#[test]
fn one_tenant_through_mcp_is_created_read_back_and_a_repeat_writes_nothing() {
    let job = Job::new("mcp", THREE);
    let sync = call(
        "authentik_sync_tenant_mapping",
        json!({"tenants": ["acme"]}),
    );
    let (driven, ran) = job.mcp(&["--allow-writes"], json!([sync, sync]));
    let [first, repeat] = &driven.results[..] else {
        panic!("{:?}", driven.results)
    };
    assert_eq!(first["isError"], false, "{first}");
    assert_eq!(
        first["structuredContent"]["summary"]["create"], 2,
        "{first}"
    );
    for (name, role) in [("acme-admins", "admin"), ("acme-users", "user")] {
        let stored = job.stored_group(name);
        assert_eq!(stored["attributes"], job.block("acme", role), "{name}");
    }
    let names: Vec<String> = job.stored().into_iter().map(|(name, _)| name).collect();
    assert!(!names.contains(&"globex-users".to_owned()), "{names:?}");
    assert_eq!(
        repeat["structuredContent"]["summary"]["unchanged"], 2,
        "{repeat}"
    );
    let written = writes(&ran, &job.peer().url);
    assert_eq!(written.len(), 2, "the repeat wrote: {written:?}");
}
