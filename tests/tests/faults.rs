//! Fault injection: the failures a flaky network, a throttling proxy or a half-broken server
//! produce. Each test asserts the final Authentik state is the intended one (or untouched, for
//! failures before any write), that no group is duplicated, that no foreign attribute is lost,
//! and the exit code the CLI would give.

use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tenant_sync::bindings::types::SyncError;
use tenant_sync::outcome::{Exit, exit_code};
use tenant_sync_fakes::authentik::route;
use tenant_sync_fakes::onepassword::route as op_route;
use tenant_sync_fakes::{Fault, PagingFault};
use tenant_sync_tests::*;

fn block(tenant: &str, role: &str) -> Value {
    json!({"fc:managed-by": MANAGER, "fc:tenant": tenant, "fc:role": role})
}

/// Two groups to create and one drifted group with a foreign attribute and members.
fn world() -> World {
    let world = World::with_mapping(&mapping(&[
        ("drifted", "t", "admin"),
        ("new-a", "a", "user"),
        ("new-b", "b", "user"),
    ]));
    world.ak.seed_group(
        "drifted",
        json!({"fc:managed-by": MANAGER, "fc:tenant": "t", "fc:role": "user", "keep": "me"}),
        &[1, 2],
    );
    world
}

/// The state a successful run must leave, whatever happened on the way.
fn assert_intended(world: &World) {
    let groups = world.ak.groups();
    let names: Vec<&str> = groups.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(
        names,
        ["drifted", "new-a", "new-b"],
        "exactly the intended groups, none duplicated"
    );
    let mut drifted = block("t", "admin");
    drifted["keep"] = json!("me");
    assert_eq!(
        Value::Object(groups[0].attributes.clone()),
        drifted,
        "foreign attribute kept"
    );
    assert_eq!(groups[0].users, [1, 2], "members kept");
    assert_eq!(
        Value::Object(groups[1].attributes.clone()),
        block("a", "user")
    );
    assert_eq!(
        Value::Object(groups[2].attributes.clone()),
        block("b", "user")
    );
}

fn assert_untouched(world: &World) {
    assert!(
        world.ak.writes().is_empty(),
        "nothing may be written: {:?}",
        world.ak.writes()
    );
    assert_eq!(world.ak.groups().len(), 1);
}

fn retries(run: &Run) -> Vec<Value> {
    run.events()
        .into_iter()
        .filter(|e| e["@l"] == "Warning" && e["@mt"].as_str().unwrap().starts_with("Retrying"))
        .collect()
}

fn posts_for(world: &World, name: &str) -> usize {
    world
        .ak
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.body.as_ref().is_some_and(|b| b["name"] == name))
        .count()
}

#[tokio::test]
async fn throttling_with_retry_after_is_waited_out() {
    let world = world();
    world.ak.inject(
        route::LIST,
        1,
        Fault::Status {
            status: 429,
            retry_after: Some("1".into()),
        },
    );
    let started = Instant::now();
    let run = world.run(false).await;
    assert_eq!(exit_code(&run.result), Exit::Success, "{:?}", run.result);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After: 1 was honoured"
    );
    assert_intended(&world);
    let warned = retries(&run);
    assert_eq!(warned.len(), 1);
    assert_eq!(warned[0]["Attempt"], 1);
    assert_eq!(warned[0]["Reason"], "HTTP 429");
    assert_eq!(warned[0]["DelayMs"], 1000);
}

#[tokio::test]
async fn gateway_failures_with_html_bodies_are_retried() {
    for status in [502, 503, 504] {
        let world = world();
        world.ak.inject(
            route::LIST,
            2,
            Fault::Status {
                status,
                retry_after: None,
            },
        );
        world.ak.inject(
            route::CREATE,
            1,
            Fault::Status {
                status,
                retry_after: None,
            },
        );
        world.ak.inject(
            route::READ,
            1,
            Fault::Status {
                status,
                retry_after: None,
            },
        );
        world.ak.inject(
            route::PATCH,
            1,
            Fault::Status {
                status,
                retry_after: None,
            },
        );
        let run = world.run(false).await;
        assert_eq!(
            exit_code(&run.result),
            Exit::Success,
            "{status}: {:?}",
            run.result
        );
        assert_intended(&world);
        assert_eq!(retries(&run).len(), 5, "{status}");
    }
}

/// The real Authentik answers 500 to everything while its database is down: a fault, waited
/// out like a 503 (`../shared/api/OBSERVED.md`, "Faults").
#[tokio::test]
async fn a_500_is_waited_out_and_one_that_lasts_fails_the_run_before_any_write() {
    let world = world();
    let fault = || Fault::Status {
        status: 500,
        retry_after: None,
    };
    world.ak.inject(route::LIST, 1, fault());
    let run = world.run(false).await;
    assert_eq!(exit_code(&run.result), Exit::Success, "{:?}", run.result);
    assert_intended(&world);
    assert_eq!(retries(&run)[0]["Reason"], "HTTP 500");

    let lasting = self::world();
    lasting.ak.inject(route::LIST, 1_000, fault());
    let run = lasting.run(false).await;
    assert_eq!(exit_code(&run.result), Exit::Upstream);
    assert_untouched(&lasting);
    assert!(
        lasting.ak.requests().len() >= 2,
        "retried within the budget"
    );
}

#[tokio::test]
async fn a_500_on_create_fails_that_group_only() {
    let world = world();
    // By name: the two creates run concurrently, so "the first create" is either of them.
    world.ak.fail_writes_to("new-a", 500);
    let run = world.run(false).await;
    assert_eq!(exit_code(&run.result), Exit::NotInSync);
    let SyncError::PartialApply(report) = run.error() else {
        panic!()
    };
    let failed: Vec<&str> = report
        .groups
        .iter()
        .filter(|g| g.error.is_some())
        .map(|g| g.group.as_str())
        .collect();
    assert_eq!(failed, ["new-a"]);
    let names: Vec<String> = world.ak.groups().into_iter().map(|g| g.name).collect();
    assert_eq!(names, ["drifted", "new-b"]);
}

#[tokio::test]
async fn connections_dropped_before_the_request_are_retried() {
    let world = world();
    world.ak.inject(route::LIST, 1, Fault::DropBefore);
    world.ak.inject(route::CREATE, 1, Fault::DropBefore);
    world.ak.inject(route::PATCH, 1, Fault::DropBefore);
    let run = world.run(false).await;
    assert_eq!(exit_code(&run.result), Exit::Success, "{:?}", run.result);
    assert_intended(&world);
    // The two creates run concurrently: either may be the dropped one.
    assert_eq!(
        posts_for(&world, "new-a") + posts_for(&world, "new-b"),
        3,
        "the dropped POST is retried once the lookup shows nothing"
    );
}

#[tokio::test]
async fn a_create_whose_response_is_lost_is_not_duplicated() {
    let world = world();
    world.ak.inject(route::CREATE, 1, Fault::DropAfter);
    let run = world.run(false).await;
    assert_eq!(exit_code(&run.result), Exit::Success, "{:?}", run.result);
    assert_intended(&world);
    // The two creates run concurrently: either may be the one whose answer was lost.
    assert_eq!(
        (posts_for(&world, "new-a"), posts_for(&world, "new-b")),
        (1, 1),
        "found by name, not posted again"
    );
    let lookups = world
        .ak
        .requests()
        .iter()
        .filter(|r| r.query.contains_key("name"))
        .count();
    assert_eq!(lookups, 1);
}

/// The real Authentik committed some creates it answered 405 (empty, HTML) while its database
/// restarted: such a create is looked up, found, and applied, never posted twice.
#[tokio::test]
async fn a_create_committed_but_answered_405_is_found_and_applied() {
    let world = world();
    world.ak.inject(route::CREATE, 2, Fault::CommittedThen405);
    let run = world.run(false).await;
    assert_eq!(exit_code(&run.result), Exit::Success, "{:?}", run.result);
    assert_intended(&world);
    assert_eq!(
        (posts_for(&world, "new-a"), posts_for(&world, "new-b")),
        (1, 1),
        "found by name, not posted again"
    );
}

/// A create refused with an answer that is not a fault is still looked up before it is
/// reported: a refusal does not prove that nothing was written.
#[tokio::test]
async fn a_refused_create_is_reported_failed_only_when_the_group_is_not_there() {
    let world = world();
    world.ak.inject(
        route::CREATE,
        1_000,
        Fault::Answer {
            status: 403,
            body: json!({"detail": "You do not have permission to perform this action."})
                .to_string(),
        },
    );
    let run = world.run(false).await;
    assert_eq!(exit_code(&run.result), Exit::NotInSync);
    let SyncError::PartialApply(report) = run.error() else {
        panic!()
    };
    assert_eq!(report.summary.failed, 2);
    let lookups = world
        .ak
        .requests()
        .iter()
        .filter(|r| r.query.contains_key("name"))
        .count();
    assert_eq!(lookups, 2, "each refused create was looked up once");
    assert_eq!(posts_for(&world, "new-a"), 1, "a refusal is not retried");
}

/// An update answered with a fault after it took effect is settled by reading the group, and
/// sent again only on the group as read again.
#[tokio::test]
async fn a_patch_answered_with_a_fault_is_read_again_before_it_is_resent() {
    let world = world();
    world.ak.inject(
        route::PATCH,
        1,
        Fault::Status {
            status: 503,
            retry_after: None,
        },
    );
    let run = world.run(false).await;
    assert_eq!(exit_code(&run.result), Exit::Success, "{:?}", run.result);
    assert_intended(&world);
    let requests = world.ak.requests();
    let patches: Vec<usize> = (0..requests.len())
        .filter(|&i| requests[i].method == "PATCH")
        .collect();
    assert_eq!(patches.len(), 2, "the faulted PATCH and the one sent again");
    let path = &requests[patches[0]].path;
    assert!(
        requests[patches[0]..patches[1]]
            .iter()
            .any(|r| r.method == "GET" && &r.path == path),
        "the group is read again before the update is sent again"
    );
}

#[tokio::test]
async fn a_patch_whose_response_is_lost_is_repeated_harmlessly() {
    let world = world();
    world.ak.inject(route::PATCH, 1, Fault::DropAfter);
    let run = world.run(false).await;
    assert_eq!(exit_code(&run.result), Exit::Success, "{:?}", run.result);
    assert_intended(&world);
}

#[tokio::test]
async fn a_slow_first_byte_times_out_and_is_retried() {
    let world = world();
    world
        .ak
        .inject(route::LIST, 1, Fault::Delay(Duration::from_secs(30)));
    let mut grants = world.grants();
    grants.limits.first_byte_timeout = Duration::from_millis(500);
    let started = Instant::now();
    let run = world.run_with(&world.options(false), &grants).await;
    assert_eq!(exit_code(&run.result), Exit::Success, "{:?}", run.result);
    // Far below the 30 s answer, far above the 0.5 s timeout: a loaded machine passes.
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "did not wait for the slow answer"
    );
    assert_intended(&world);
    assert!(
        retries(&run)[0]["Reason"]
            .as_str()
            .unwrap()
            .contains("timed out")
    );
}

#[tokio::test]
async fn truncated_json_fails_before_any_write() {
    let world = world();
    world.ak.inject(route::LIST, 1, Fault::Truncate);
    let run = world.run(false).await;
    assert_eq!(exit_code(&run.result), Exit::Upstream);
    assert_untouched(&world);
}

#[tokio::test]
async fn a_wrong_content_type_fails_before_any_write() {
    let world = world();
    // A fault, retried: only one that lasts past the retry budget fails the run.
    world
        .ak
        .inject(route::LIST, 1_000, Fault::ContentType("text/html"));
    let run = world.run(false).await;
    assert_eq!(exit_code(&run.result), Exit::Upstream);
    let SyncError::Upstream(failure) = run.error() else {
        panic!()
    };
    assert!(
        failure
            .message
            .contains("expected a JSON answer, got text/html"),
        "{}",
        failure.message
    );
    assert_untouched(&world);
}

#[tokio::test]
async fn pagination_that_repeats_or_never_ends_fails_before_any_write() {
    for fault in [PagingFault::RepeatFirstPage, PagingFault::Endless] {
        let world = world();
        for i in 0..250 {
            world
                .ak
                .seed_group(&format!("other-{i:03}"), json!({}), &[]);
        }
        world.ak.set_paging_fault(fault);
        let run = world.run(false).await;
        assert_eq!(exit_code(&run.result), Exit::Upstream, "{fault:?}");
        assert!(world.ak.writes().is_empty(), "{fault:?}");
        assert!(world.ak.requests().len() <= 4, "{fault:?}: stopped early");
    }
}

#[tokio::test]
async fn a_group_created_by_someone_else_meanwhile_is_adopted_not_duplicated() {
    let world = world();
    world
        .ak
        .create_before_next_post("new-a", json!({"theirs": true}));
    let run = world.run(false).await;
    assert_eq!(exit_code(&run.result), Exit::Success, "{:?}", run.result);
    let mut expected = block("a", "user");
    expected["theirs"] = json!(true);
    assert_eq!(
        Value::Object(world.ak.group("new-a").unwrap().attributes),
        expected
    );
    assert_eq!(world.ak.groups().len(), 3);
}

#[tokio::test]
async fn a_foreign_key_added_between_listing_and_patch_survives() {
    let world = world();
    world
        .ak
        .edit_before_next_read("drifted", "added-meanwhile", json!({"by": "someone"}));
    let run = world.run(false).await;
    assert_eq!(exit_code(&run.result), Exit::Success, "{:?}", run.result);
    let attributes = world.ak.group("drifted").unwrap().attributes;
    assert_eq!(attributes["added-meanwhile"], json!({"by": "someone"}));
    assert_eq!(attributes["keep"], "me");
    assert_eq!(attributes["fc:role"], "admin");
}

#[tokio::test]
async fn a_group_claimed_by_another_manager_meanwhile_is_left_alone() {
    let world = world();
    world
        .ak
        .edit_before_next_read("drifted", "fc:managed-by", json!("other-tool"));
    let run = world.run(false).await;
    assert_eq!(exit_code(&run.result), Exit::NotInSync);
    let attributes = world.ak.group("drifted").unwrap().attributes;
    assert_eq!(attributes["fc:role"], "user", "not written");
    assert_eq!(attributes["fc:managed-by"], "other-tool");
}

#[tokio::test]
async fn exhausted_retries_fail_that_group_and_the_others_complete() {
    let world = world();
    world.ak.inject(
        route::CREATE,
        1_000,
        Fault::Status {
            status: 503,
            retry_after: Some("0".into()),
        },
    );
    let run = world.run(false).await;
    assert_eq!(exit_code(&run.result), Exit::NotInSync);
    // The 3 s budget ends it (`Retry-After: 0` cannot shorten the backoff), within the bound
    // on attempts.
    let posts = posts_for(&world, "new-a");
    assert!((2..=32).contains(&posts), "{posts} attempts");
    let SyncError::PartialApply(report) = run.error() else {
        panic!()
    };
    assert_eq!(report.summary.failed, 2);
    assert!(
        report.groups[1]
            .error
            .as_deref()
            .unwrap()
            .contains(&format!("after {posts} attempts"))
    );
    assert_eq!(
        world.ak.group("drifted").unwrap().attributes["fc:role"],
        "admin",
        "the update still happened"
    );
}

#[tokio::test]
async fn one_password_uses_the_same_retry_policy() {
    let world = world();
    world.op.inject(
        op_route::VAULTS,
        1,
        Fault::Status {
            status: 503,
            retry_after: None,
        },
    );
    world.op.inject(op_route::ITEM, 1, Fault::DropBefore);
    let run = world.run(false).await;
    assert_eq!(exit_code(&run.result), Exit::Success, "{:?}", run.result);
    assert_intended(&world);
    assert_eq!(retries(&run).len(), 2);
}

#[tokio::test]
async fn an_unreachable_1password_fails_before_authentik_is_read() {
    let world = world();
    world.op.inject(op_route::VAULTS, 100, Fault::DropBefore);
    let run = world.run(false).await;
    assert_eq!(exit_code(&run.result), Exit::Upstream);
    assert!(world.ak.requests().is_empty());
    let tried = world.op.requests().len();
    assert!(
        (2..100).contains(&tried),
        "retried within the budget: {tried}"
    );
}

#[tokio::test]
async fn invalid_utf8_in_an_answer_fails_before_any_write() {
    let world = world();
    world.ak.inject(route::LIST, 1, Fault::InvalidUtf8);
    let run = world.run(false).await;
    assert_eq!(exit_code(&run.result), Exit::Upstream);
    let SyncError::Upstream(failure) = run.error() else {
        panic!()
    };
    assert!(
        failure.message.contains("not the expected JSON"),
        "{}",
        failure.message
    );
    assert_untouched(&world);
}

#[tokio::test]
async fn an_answer_over_the_size_cap_is_refused_before_any_write() {
    let world = world();
    for i in 0..50 {
        world.ak.seed_group(
            &format!("filler-{i:02}"),
            json!({"padding": "x".repeat(100)}),
            &[],
        );
    }
    let mut options = world.options(false);
    options.max_response_bytes = 4096;
    let run = world.run_with(&options, &world.grants()).await;
    assert_eq!(exit_code(&run.result), Exit::Upstream);
    let SyncError::Upstream(failure) = run.error() else {
        panic!()
    };
    assert!(
        failure.message.contains("larger than the 4096-byte limit"),
        "{}",
        failure.message
    );
    assert!(world.ak.writes().is_empty());
    assert_eq!(
        world.ak.requests().len(),
        1,
        "an oversized answer is not retried"
    );
}

/// A redirect (an ingress sending http to https) is never followed: the run stops before any
/// write and says where it points and which URL to configure, for either service.
#[tokio::test]
async fn a_redirect_is_not_followed_and_names_the_url_to_configure() {
    let world = world();
    world.ak.inject(
        route::LIST,
        1,
        Fault::Redirect {
            status: 308,
            location: "https://auth.example.com/api/v3/core/groups/?page=1".into(),
        },
    );
    let run = world.run(false).await;
    assert_eq!(exit_code(&run.result), Exit::Upstream);
    assert_untouched(&world);
    let SyncError::Upstream(failure) = run.error() else {
        panic!("{:?}", run.error())
    };
    assert!(
        failure.message.contains(
            "HTTP 308: the server redirects to https://auth.example.com/api/v3/core/groups/?page=1; set AUTHENTIK_URL to https://auth.example.com instead of http://127.0.0.1:"
        ),
        "{}",
        failure.message
    );

    let world = self::world();
    world.op.inject(
        op_route::VAULTS,
        1,
        Fault::Redirect {
            status: 301,
            location: "https://connect.example.com/v1/vaults".into(),
        },
    );
    let run = world.run(false).await;
    assert_eq!(exit_code(&run.result), Exit::Upstream);
    let SyncError::Upstream(failure) = run.error() else {
        panic!("{:?}", run.error())
    };
    assert!(
        failure
            .message
            .contains("set OP_CONNECT_HOST to https://connect.example.com instead of"),
        "{}",
        failure.message
    );
    assert!(world.ak.requests().is_empty());
}

/// A server message quoting the token where the 300-character excerpt cuts it: not even the
/// start of the token may reach the report or the logs.
#[tokio::test]
async fn a_token_cut_short_in_a_quoted_server_message_is_still_scrubbed() {
    let world = world();
    let kept = 12;
    let detail = format!(
        "{}Bearer {AUTHENTIK_TOKEN} was rejected",
        "y".repeat(300 - "Bearer ".len() - kept)
    );
    world.ak.inject(
        route::LIST,
        // Lasting: a 500 is a fault, retried within the budget.
        1_000,
        Fault::Answer {
            status: 500,
            body: json!({ "detail": detail }).to_string(),
        },
    );
    let run = world.run(false).await;
    assert_eq!(exit_code(&run.result), Exit::Upstream);
    let everything = format!("{}\n{:?}", run.logs, run.result);
    assert!(
        !everything.contains(&AUTHENTIK_TOKEN[..8]),
        "the start of the token leaked:\n{everything}"
    );
    assert!(everything.contains("Bearer [redacted]…"), "{everything}");
}

#[tokio::test]
async fn a_server_message_of_megabytes_reaches_the_report_and_logs_as_an_excerpt() {
    // Authentik's field errors, 4 MB of them, in a failed create; then a 4 MB detail that
    // stops the listing. Each reaches the report, the error and the logs cut short.
    let world = World::with_mapping(&mapping(&[("a", "t", "user"), ("b", "t", "user")]));
    let huge = "n".repeat(4 * 1024 * 1024);
    world.ak.inject(
        route::CREATE,
        2,
        Fault::Answer {
            status: 400,
            body: json!({ "name": [huge.clone()], "attributes": [huge.clone()] }).to_string(),
        },
    );
    let run = world.run(false).await;
    let Ok(Err(SyncError::PartialApply(report))) = &run.result else {
        panic!("{:?}", run.result)
    };
    for group in &report.groups {
        let error = group.error.as_deref().unwrap();
        assert!(error.len() < 2_000, "{} bytes of error", error.len());
    }
    assert!(
        run.logs.len() < 64 * 1024,
        "{} bytes of logs",
        run.logs.len()
    );

    world.ak.inject(
        route::LIST,
        1_000,
        Fault::Answer {
            status: 500,
            body: json!({ "detail": huge }).to_string(),
        },
    );
    let run = world.run(false).await;
    assert_eq!(exit_code(&run.result), Exit::Upstream);
    let failure = format!("{:?}", run.result);
    assert!(failure.len() < 2_000, "{} bytes of failure", failure.len());
    assert!(
        run.logs.len() < 64 * 1024,
        "{} bytes of logs",
        run.logs.len()
    );
}

#[tokio::test]
async fn a_group_made_superuser_during_the_run_is_not_written() {
    // Listed as an ordinary group, read again right before the PATCH as a superuser group.
    let world = World::with_mapping(&mapping(&[("plain", "t", "user")]));
    let pk = world.ak.seed_group("plain", json!({"team": "a"}), &[]);
    world.ak.inject(
        route::READ,
        1,
        Fault::Answer {
            status: 200,
            body: json!({"pk": pk, "num_pk": 1, "name": "plain", "is_superuser": true,
                         "attributes": {"team": "a"}, "parents": [], "users": []})
            .to_string(),
        },
    );
    let run = world.run(false).await;
    let Ok(Err(SyncError::PartialApply(report))) = &run.result else {
        panic!("{:?}", run.result)
    };
    let error = report.groups[0].error.as_deref().unwrap();
    assert!(
        error.starts_with("it is a superuser group") && error.contains("changed during this run"),
        "{error}"
    );
    assert!(world.ak.writes().is_empty(), "{:?}", world.ak.writes());
}

#[tokio::test]
async fn a_token_in_any_answer_of_the_write_path_never_leaves_the_component() {
    // A hostile or broken server echoes the token where the component quotes its answers: in a
    // re-read's field, a write's answer, a content type, the pks of a listing. None of it may
    // reach the report, the events or the failure.
    let drifted = |world: &World| world.ak.group("drifted").unwrap();
    let charset: &'static str =
        Box::leak(format!("text/html; charset={AUTHENTIK_TOKEN}").into_boxed_str());
    let duplicates = json!({
        "pagination": {"next": 0, "previous": 0, "count": 2, "current": 1, "total_pages": 1,
                       "start_index": 1, "end_index": 2},
        "results": [
            {"pk": format!("{AUTHENTIK_TOKEN}-1"), "name": "drifted", "is_superuser": false, "attributes": {}},
            {"pk": format!("{AUTHENTIK_TOKEN}-2"), "name": "drifted", "is_superuser": false, "attributes": {}},
        ],
    });
    type Scenario = (&'static str, Box<dyn Fn(&World) -> Fault>);
    let scenarios: [Scenario; 5] = [
        (
            route::READ,
            Box::new(move |world| Fault::Answer {
                status: 200,
                body: json!({"pk": drifted(world).pk, "name": "drifted",
                             "is_superuser": AUTHENTIK_TOKEN, "attributes": {}})
                .to_string(),
            }),
        ),
        (
            route::PATCH,
            Box::new(|_| Fault::Answer {
                status: 200,
                body: json!({"detail": format!("Bearer {AUTHENTIK_TOKEN}")}).to_string(),
            }),
        ),
        (
            route::PATCH,
            Box::new(move |world| Fault::Answer {
                status: 200,
                body: json!({"pk": drifted(world).pk, "name": "drifted", "is_superuser": false,
                             "attributes": {"fc:managed-by": AUTHENTIK_TOKEN}})
                .to_string(),
            }),
        ),
        // A fault now, retried: the write then succeeds, and the token is still never quoted.
        (route::PATCH, Box::new(move |_| Fault::ContentType(charset))),
        (
            route::LIST,
            Box::new(move |_| Fault::Answer {
                status: 200,
                body: duplicates.to_string(),
            }),
        ),
    ];
    for (route, fault) in &scenarios {
        let world = world();
        world.ak.inject(route, 1, fault(&world));
        let run = world.run(false).await;
        let everything = format!("{}\n{:?}", run.logs, run.result);
        assert!(
            !everything.contains(&AUTHENTIK_TOKEN[..8]),
            "{route}: the token leaked:\n{everything}"
        );
        let answered_with_a_fault =
            *route == route::PATCH && matches!(fault(&world), Fault::ContentType(_));
        assert_eq!(
            exit_code(&run.result) == Exit::Success,
            answered_with_a_fault,
            "{route}: {everything}"
        );
    }
}

/// The item read directly by the ids an earlier run found (the MCP server's warm path): still
/// the mapping item but not in Connect's shape is an error naming it, from that one request; an
/// item that is no longer the mapping item (here: renamed) sends the run back to the lookup by
/// name, which finds the mapping item where it now is.
#[tokio::test]
async fn a_known_item_gone_wrong_is_reported_and_a_renamed_one_is_looked_up_again() {
    let world = world();
    let first = world.run(true).await;
    let known = first.report().source_item.clone().expect("the item's ids");
    let mut options = world.options(true);
    let tenant_sync::bindings::types::MappingSource::Onepassword(location) = &mut options.source
    else {
        unreachable!()
    };
    location.known = Some(known.clone());
    let item_path = format!("/v1/vaults/{}/items/{}", known.vault_id, known.item_id);
    // The paths of the requests 1Password received from `run` on.
    let run_with_item = async |title: &str, rest: &str| {
        world.op.inject(
            op_route::ITEM,
            1,
            Fault::Answer {
                status: 200,
                body: format!(
                    r#"{{"id": "{}", "title": "{title}", "vault": {{"id": "{}"}}, {rest}}}"#,
                    known.item_id, known.vault_id
                ),
            },
        );
        let before = world.op.requests().len();
        let run = world.run_with(&options, &world.grants()).await;
        let paths: Vec<String> = world.op.requests()[before..]
            .iter()
            .map(|r| r.path.clone())
            .collect();
        (run, paths)
    };

    let authentik_before = world.ak.requests().len();
    let (run, paths) = run_with_item(ITEM, r#""fields": null"#).await;
    let SyncError::Upstream(failure) = run.error() else {
        panic!("{:?}", run.error())
    };
    assert_eq!(
        failure.service,
        tenant_sync::bindings::types::Service::Onepassword
    );
    assert!(
        failure
            .message
            .starts_with(&format!("item \"{ITEM}\" is not the expected JSON")),
        "{}",
        failure.message
    );
    assert_eq!(
        paths,
        [item_path.as_str()],
        "one request, no lookup by name"
    );
    assert_eq!(world.ak.requests().len(), authentik_before);

    let (run, paths) = run_with_item("renamed", r#""fields": []"#).await;
    assert_eq!(run.report().summary.create, 2, "{:?}", run.report());
    assert_eq!(
        paths.len(),
        4,
        "the item, then vaults, items, the item: {paths:?}"
    );
    assert_eq!((&paths[0], paths[1].as_str()), (&item_path, "/v1/vaults"));
}
