//! The sandbox's grants, observed from outside: refused origins never see a request, the
//! component sees only the granted environment, and `wasi:cli/run` works from env vars alone.

use serde_json::Value;
use tenant_sync::bindings::types::SyncError;
use tenant_sync::grants::{Allowlist, ServiceGrant};
use tenant_sync::logging::LogSink;
use tenant_sync::sandbox::Grants;
use tenant_sync_tests::probe::REFUSED;
use tenant_sync_tests::*;

#[tokio::test]
async fn a_request_to_an_origin_not_granted_is_refused_and_never_arrives() {
    let world = World::with_mapping(&mapping(&[("a", "t", "user")]));
    let elsewhere = FakeAuthentik::start(AUTHENTIK_TOKEN);
    let mut options = world.options(false);
    // The component is pointed at a second server, but only the first is granted.
    options.authentik_url = elsewhere.url();
    let run = world.run_with(&options, &world.grants()).await;
    let SyncError::Upstream(failure) = run.error() else {
        panic!("{:?}", run.error())
    };
    assert!(
        failure.message.contains("HttpRequestDenied"),
        "{}",
        failure.message
    );
    assert!(
        elsewhere.requests().is_empty(),
        "the refused origin must see nothing"
    );
    assert!(world.ak.requests().is_empty());
    let refused = run
        .events()
        .into_iter()
        .find(|e| {
            e["@l"] == "Warning" && e["@mt"].as_str().unwrap().starts_with("Refused a request")
        })
        .expect("a warning names the refused origin");
    assert_eq!(refused["Origin"], Value::from(elsewhere.url()));
}

#[tokio::test]
async fn the_component_sees_only_the_granted_environment() {
    // AUTHENTIK_TOKEN exists in this process but is not granted: the component must not see it.
    // SAFETY: set before any thread of this test reads the environment; nothing else reads it.
    unsafe { std::env::set_var("AUTHENTIK_TOKEN", AUTHENTIK_TOKEN) };
    let world = World::with_mapping(&mapping(&[("a", "t", "user")]));
    let mut grants = world.grants();
    grants.env = tenant_sync::grants::granted_env(std::env::vars_os(), ["OP_TOKEN"]).unwrap();
    grants.env.push(("OP_TOKEN".into(), OP_TOKEN.into()));
    let run = world.run_with(&world.options(false), &grants).await;
    let SyncError::InvalidConfig(message) = run.error() else {
        panic!("{:?}", run.error())
    };
    assert!(message.contains("AUTHENTIK_TOKEN is not set"), "{message}");
}

#[tokio::test]
async fn wasi_cli_run_reads_its_options_from_the_environment() {
    let world = World::with_mapping(&mapping(&[("a", "t", "user"), ("b", "*", "SuperAdmin")]));
    let log = LogSink::memory();
    let grants = Grants {
        allowlist: Allowlist::new([
            ServiceGrant::onepassword(&world.op.url()).unwrap(),
            ServiceGrant::authentik(&world.ak.url()).unwrap(),
        ]),
        env: vec![
            ("OP_CONNECT_HOST".into(), world.op.url()),
            ("AUTHENTIK_URL".into(), world.ak.url()),
            ("OP_CONNECT_TOKEN".into(), OP_TOKEN.into()),
            ("AUTHENTIK_TOKEN".into(), AUTHENTIK_TOKEN.into()),
            ("TENANT_SYNC_DRY_RUN".into(), "true".into()),
        ],
        log: log.clone(),
        ..Grants::default()
    };
    let (result, stdout) = runtime().cli_run(&grants).await.unwrap();
    assert_eq!(result, Ok(()));
    let stdout = String::from_utf8(stdout).unwrap();
    assert_clean(&log.contents(), &stdout);
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["dryRun"], true);
    assert_eq!(report["summary"]["create"], 1);
    assert_eq!(report["summary"]["skipped"], 1);
    assert_eq!(report["changes"][0]["group"], "a");
    assert_eq!(report["changes"][0]["status"], "planned");
    assert_eq!(
        report["changes"][0]["changes"]["fc:tenant"],
        serde_json::json!({"from": null, "to": "t"})
    );
    assert!(world.ak.writes().is_empty());
}

/// A plain WASI host (`wasmtime run`) prints what `tenant-sync` prints: a failure is the same
/// JSON document on stdout, not silence.
#[tokio::test]
async fn wasi_cli_run_prints_the_failure_document_of_a_failed_run() {
    let world = World::with_mapping(r#"{"version": 1, "mappings": [{"authentikGroup": "x"}]}"#);
    let env = |extra: &[(&str, String)]| {
        let mut env = vec![
            ("OP_CONNECT_HOST".to_owned(), world.op.url()),
            ("OP_CONNECT_TOKEN".to_owned(), OP_TOKEN.to_owned()),
            ("AUTHENTIK_TOKEN".to_owned(), AUTHENTIK_TOKEN.to_owned()),
        ];
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.clone())));
        env
    };
    let run = async |env: Vec<(String, String)>| {
        let grants = Grants {
            allowlist: Allowlist::new([
                ServiceGrant::onepassword(&world.op.url()).unwrap(),
                ServiceGrant::authentik(&world.ak.url()).unwrap(),
            ]),
            env,
            log: LogSink::memory(),
            ..Grants::default()
        };
        let (result, stdout) = runtime().cli_run(&grants).await.unwrap();
        let stdout = String::from_utf8(stdout).unwrap();
        assert_clean(&grants.log.contents(), &stdout);
        (result, serde_json::from_str::<Value>(&stdout).unwrap())
    };

    let (result, printed) = run(env(&[("AUTHENTIK_URL", world.ak.url())])).await;
    assert_eq!(result, Err(()));
    assert_eq!(printed["error"]["kind"], "invalid-mapping", "{printed}");
    assert!(
        printed["error"]["issues"][0]["text"]
            .as_str()
            .unwrap()
            .starts_with("mappings[0] (group \"x\"): "),
        "{printed}"
    );

    let (result, printed) = run(env(&[])).await;
    assert_eq!(result, Err(()));
    assert_eq!(printed["error"]["kind"], "invalid-config", "{printed}");
    assert!(
        printed["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("AUTHENTIK_URL is not set"),
        "{printed}"
    );
    assert!(world.ak.requests().is_empty());
}

/// A setting the run refuses is quoted in its error scrubbed of every token the environment
/// holds: the redactor is in place before the settings are read, not once they all passed.
#[tokio::test]
async fn a_token_in_a_refused_setting_is_not_quoted() {
    let world = World::with_mapping(&mapping(&[("a", "t", "user")]));
    let mut options = world.options(false);
    options.manager_id = Some(format!("{AUTHENTIK_TOKEN}\u{1}"));
    // run_with fails the test if the token shows in the result or the log.
    let run = world.run_with(&options, &world.grants()).await;
    let SyncError::InvalidConfig(message) = run.error() else {
        panic!("{:?}", run.error())
    };
    assert!(
        message.starts_with("the manager id \"[redacted]"),
        "{message}"
    );
    assert!(world.ak.requests().is_empty());
}

#[tokio::test]
async fn a_tampered_component_can_send_only_the_group_requests_the_sync_needs() {
    let ak = FakeAuthentik::start(AUTHENTIK_TOKEN);
    let group = ak.seed_group("tenant-a", serde_json::json!({"k": 1}), &[]);
    let base = ak.url();
    let admins = "5e1b3c2a-0d4f-4a6b-8c9d-0e1f2a3b4c5d";
    let forbidden = [
        format!("GET {base}/api/v3/core/tokens/"),
        format!("GET {base}/api/v3/core/users/"),
        format!("DELETE {base}/api/v3/core/groups/{group}/"),
        format!("PUT {base}/api/v3/core/groups/{group}/"),
        format!("POST {base}/api/v3/core/groups/{group}/add_user/"),
        format!("GET {base}/api/v3/core/groups/../tokens/"),
        // What makes a token that may change groups admin-equivalent: members, parents, roles;
        // and attributes that Authentik or an outpost act on, on a new group.
        format!(
            r#"PATCH {base}/api/v3/core/groups/{group}/?include_users=false {{"attributes": {{}}, "users": [1]}}"#
        ),
        format!(
            r#"PATCH {base}/api/v3/core/groups/{group}/?include_users=false {{"attributes": {{}}, "parents": ["{admins}"]}}"#
        ),
        format!(
            r#"POST {base}/api/v3/core/groups/?include_users=false {{"name": "x", "attributes": {{}}, "roles": ["r"]}}"#
        ),
        format!(
            r#"POST {base}/api/v3/core/groups/?include_users=false {{"name": "x", "attributes": {{"additionalHeaders": {{"X-Remote-User": "admin"}}}}}}"#
        ),
        // A write answered with the members' details.
        format!(r#"PATCH {base}/api/v3/core/groups/{group}/ {{"attributes": {{"k": 1}}}}"#),
        format!("GET {base}/api/v3/core/groups/?include_users=true"),
        format!("GET {base}/api/v3/core/groups/{group}/"),
        format!("GET {base}/api/v3/core/groups/?include_users=false x-http-method-override:DELETE"),
    ];
    let allowed = [
        format!("GET {base}/api/v3/core/groups/?include_users=false&name=tenant-a"),
        format!("GET {base}/api/v3/core/groups/{group}/?include_users=false"),
        format!(
            r#"PATCH {base}/api/v3/core/groups/{group}/?include_users=false {{"attributes": {{"fc:tenant": "a", "k": 1}}}}"#
        ),
        format!("GET {base}/api/v3/core/groups/{group}/?include_users=false"),
    ];
    // A PATCH replaces the group's whole attributes: once the group is read, only the managed
    // keys may differ from what it holds; a group never read cannot be patched at all.
    let after_reading = [
        format!(
            r#"PATCH {base}/api/v3/core/groups/{group}/?include_users=false {{"attributes": {{"fc:tenant": "a", "k": 1, "additionalHeaders": {{"X-Remote-User": "admin"}}}}}}"#
        ),
        format!(
            r#"PATCH {base}/api/v3/core/groups/{group}/?include_users=false {{"attributes": {{"fc:tenant": "a"}}}}"#
        ),
        format!(
            r#"PATCH {base}/api/v3/core/groups/{group}/?include_users=false {{"attributes": {{"fc:tenant": "a", "k": 2}}}}"#
        ),
        format!(
            r#"PATCH {base}/api/v3/core/groups/{admins}/?include_users=false {{"attributes": {{"fc:tenant": "a"}}}}"#
        ),
    ];
    let log = LogSink::memory();
    let grants = Grants {
        allowlist: Allowlist::new([ServiceGrant::authentik(&base).unwrap()]),
        env: vec![
            ("AUTHENTIK_TOKEN".into(), AUTHENTIK_TOKEN.into()),
            (
                "PROBE_REQUESTS".into(),
                forbidden
                    .iter()
                    .chain(&allowed)
                    .chain(&after_reading)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("\n"),
            ),
        ],
        log: log.clone(),
        ..Grants::default()
    };
    let probed = tenant_sync_tests::probe::probe(&grants).await;
    assert_eq!(
        probed.len(),
        forbidden.len() + allowed.len() + after_reading.len(),
        "{probed:?}"
    );
    let refused = forbidden.iter().chain(&after_reading);
    let (sent_forbidden, rest) = probed.split_at(forbidden.len());
    let (sent_allowed, sent_after) = rest.split_at(allowed.len());
    for (sent, request) in sent_forbidden.iter().chain(sent_after).zip(refused) {
        assert_eq!(&sent.request, request);
        assert_eq!(sent.outcome, REFUSED, "{request}");
    }
    for sent in sent_allowed {
        assert_eq!(sent.outcome, "status 200", "{}", sent.request);
    }
    let arrived: Vec<(String, String)> = ak
        .requests()
        .into_iter()
        .map(|r| (r.method, r.path))
        .collect();
    assert_eq!(
        arrived.len(),
        allowed.len(),
        "only granted requests arrive: {arrived:?}"
    );
    assert_eq!(
        arrived.iter().map(|(m, _)| m.as_str()).collect::<Vec<_>>(),
        ["GET", "GET", "PATCH", "GET"]
    );
    let stored = ak.group("tenant-a").unwrap();
    assert_eq!(
        Value::Object(stored.attributes),
        serde_json::json!({"fc:tenant": "a", "k": 1})
    );
    assert!(stored.users.is_empty() && stored.parents.is_empty() && stored.roles.is_empty());
    let warnings: Vec<Value> = log
        .contents()
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .filter(|e| e["@l"] == "Warning")
        .collect();
    assert_eq!(warnings.len(), forbidden.len() + after_reading.len());
    assert_eq!(warnings[0]["Method"], "GET");
    assert_eq!(warnings[0]["Path"], "/api/v3/core/tokens/");
    assert_eq!(warnings[2]["Method"], "DELETE");
    assert_eq!(warnings[2]["Service"], "Authentik");
    let keys: Vec<&Value> = warnings[6..].iter().map(|w| &w["Key"]).collect();
    assert_eq!(
        keys,
        [
            "users",
            "parents",
            "roles",
            "additionalHeaders",
            "include_users",
            "include_users",
            "include_users",
            "x-http-method-override",
            "additionalHeaders",
            "k",
            "k",
            "attributes",
        ]
    );
    assert!(!log.contents().contains(AUTHENTIK_TOKEN));
}

#[tokio::test]
async fn what_a_tampered_component_prints_reaches_the_log_as_whole_scrubbed_lines() {
    // A fake event carrying the token, then an unterminated line meant to swallow the host's
    // next event (the refusal), then a refused request.
    let ak = FakeAuthentik::start(AUTHENTIK_TOKEN);
    let base = ak.url();
    let log = LogSink::memory();
    let grants = Grants {
        allowlist: Allowlist::new([ServiceGrant::authentik(&base).unwrap()]),
        env: vec![
            ("AUTHENTIK_TOKEN".into(), AUTHENTIK_TOKEN.into()),
            (
                "PROBE_STDERR".into(),
                "{\"@mt\":\"Reconcile finished\",\"Token\":\"{token}\"}\nplain {token}\n{\"@mt\":\"x\",\"J\":\"".into(),
            ),
            ("PROBE_REQUESTS".into(), format!("GET {base}/api/v3/core/tokens/")),
        ],
        log: log.clone(),
        ..Grants::default()
    };
    // The probe's own report line is glued to its unterminated fragment: its line, its loss.
    tenant_sync_tests::probe::probe(&grants).await;
    let contents = log.contents();
    assert!(!contents.contains(AUTHENTIK_TOKEN), "{contents}");
    let events: Vec<Value> = contents
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    assert!(
        events
            .iter()
            .any(|e| e["@l"] == "Warning" && e["Path"] == "/api/v3/core/tokens/"),
        "the refusal is a line of its own: {contents}"
    );
    let quoted: Vec<&Value> = events
        .iter()
        .filter(|e| e["@mt"] == "The component wrote a line that is not a log event: {Line}")
        .map(|e| &e["Line"])
        .collect();
    assert_eq!(quoted.len(), 2, "{contents}");
    assert_eq!(quoted[0], "plain [redacted]");
}

#[tokio::test]
async fn a_token_goes_only_to_its_own_service_and_only_as_its_authorization() {
    // The probe sends the Authentik token with every request: to 1Password too, and it tries
    // to store the 1Password token in a group's attributes or put it in a lookup's query.
    let ak = FakeAuthentik::start(AUTHENTIK_TOKEN);
    let op = FakeOnePassword::start(OP_TOKEN);
    let group = ak.seed_group("tenant-a", serde_json::json!({}), &[]);
    let (base, vaults) = (ak.url(), op.url());
    let requests = [
        format!("GET {vaults}/v1/vaults"),
        format!(
            r#"PATCH {base}/api/v3/core/groups/{group}/?include_users=false {{"attributes": {{"stolen": "{OP_TOKEN}"}}}}"#
        ),
        format!("GET {base}/api/v3/core/groups/?include_users=false&name={OP_TOKEN}"),
        format!("GET {base}/api/v3/core/groups/?include_users=false&name=tenant-a"),
    ];
    let log = LogSink::memory();
    let grants = Grants {
        allowlist: Allowlist::new([
            ServiceGrant::authentik(&base).unwrap(),
            ServiceGrant::onepassword(&vaults).unwrap(),
        ]),
        env: vec![
            ("AUTHENTIK_TOKEN".into(), AUTHENTIK_TOKEN.into()),
            ("OP_TOKEN".into(), OP_TOKEN.into()),
            ("PROBE_REQUESTS".into(), requests.join("\n")),
        ],
        log: log.clone(),
        ..Grants::default()
    };
    let probed = tenant_sync_tests::probe::probe(&grants).await;
    let outcomes: Vec<&str> = probed.iter().map(|p| p.outcome.as_str()).collect();
    assert_eq!(outcomes, [REFUSED, REFUSED, REFUSED, "status 200"]);
    assert!(
        op.requests().is_empty(),
        "1Password never saw the Authentik token"
    );
    assert_eq!(ak.requests().len(), 1);
    let contents = log.contents();
    assert!(!contents.contains(OP_TOKEN) && !contents.contains(AUTHENTIK_TOKEN));
}
