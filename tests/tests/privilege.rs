//! What the job's least-privilege token (`deploy/authentik/tenant-sync-blueprint.yaml`) can do
//! on a real Authentik, and what the sandbox leaves of it. On the wire the token is
//! admin-equivalent: `change_group` lets it put itself into "authentik Admins", or make its own
//! group a child of it (Authentik has no narrower permission that still lets the job write,
//! measured on 2026.2.2). Under the host's grants, a tampered component holding that
//! token cannot send either write, and the end state read back from the server shows nothing
//! happened.

use serde_json::{Value, json};
use tenant_sync::grants::{Allowlist, ServiceGrant};
use tenant_sync::logging::LogSink;
use tenant_sync::sandbox::Grants;
use tenant_sync_peer::admin::encode;
use tenant_sync_peer::{Framing, Peer, Scratch, authentik, wire};
use tenant_sync_tests::probe::REFUSED;

const ADMINS: &str = "authentik Admins";
const SERVICE_GROUP: &str = "tenant-sync service account";

fn blueprint() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../deploy/authentik/tenant-sync-blueprint.yaml"
    );
    std::fs::read_to_string(path).unwrap()
}

/// The group as the server stores it (members as pks), read with the admin token.
fn stored(peer: &Peer, name: &str) -> Value {
    let answer = peer.get(&format!(
        "/api/v3/core/groups/?include_users=false&name={}",
        encode(name)
    ));
    answer.json()["results"][0].clone()
}

/// Whether the server now treats `token`'s user as a superuser.
fn is_superuser(peer: &Peer, token: &str) -> bool {
    let me = wire::send(
        &peer.url,
        "GET",
        "/api/v3/core/users/me/",
        Some(token),
        None,
    );
    assert_eq!(
        me.status,
        200,
        "users/me: {}",
        String::from_utf8_lossy(&me.body)
    );
    me.json()["user"]["is_superuser"] == true
}

/// Puts the members and parents of Admins and of the service account's group back as they were,
/// also when the test fails half way: the peer is shared with the other tests.
struct Restore<'p> {
    peer: &'p Peer,
    groups: Vec<Value>,
}

impl Drop for Restore<'_> {
    fn drop(&mut self) {
        for group in &self.groups {
            let pk = group["pk"].as_str().unwrap();
            self.peer.write(
                "PATCH",
                &format!("/api/v3/core/groups/{pk}/"),
                &json!({"users": group["users"], "parents": group["parents"], "roles": group["roles"]}),
            );
        }
    }
}

#[tokio::test]
async fn the_jobs_token_could_make_itself_superuser_and_the_sandbox_refuses_every_such_write() {
    let peer = authentik();
    let scratch = Scratch::new(peer, "privilege");
    peer.import_blueprint(&blueprint());
    let token = peer.token_key("tenant-sync");
    let admins = stored(peer, ADMINS);
    let service_group = stored(peer, SERVICE_GROUP);
    let _restore = Restore {
        peer,
        groups: vec![admins.clone(), service_group.clone()],
    };
    assert!(
        !is_superuser(peer, &token),
        "the job's user starts as no superuser"
    );
    let me = wire::send(
        &peer.url,
        "GET",
        "/api/v3/core/users/me/",
        Some(&token),
        None,
    )
    .json()["user"]["pk"]
        .as_u64()
        .unwrap();
    let target = peer.create_group(&scratch.name("target"), json!({"notes": "kept"}), &[]);
    let target_pk = target["pk"].as_str().unwrap().to_owned();
    let admins_pk = admins["pk"].as_str().unwrap().to_owned();
    let service_pk = service_group["pk"].as_str().unwrap().to_owned();
    let mut members = admins["users"].as_array().unwrap().clone();
    members.push(json!(me));

    // Under the sandbox: a tampered component with this token tries each escalation, then one
    // write the sync does make.
    let base = &peer.url;
    let attempts = [
        format!(
            "PATCH {base}/api/v3/core/groups/{admins_pk}/?include_users=false {{\"attributes\": {}, \"users\": {}}}",
            admins["attributes"],
            Value::Array(members.clone())
        ),
        format!(
            "PATCH {base}/api/v3/core/groups/{service_pk}/?include_users=false {{\"attributes\": {{}}, \"parents\": [\"{admins_pk}\"]}}"
        ),
        format!(
            "POST {base}/api/v3/core/groups/?include_users=false {{\"name\": \"{}\", \"attributes\": {{}}, \"parents\": [\"{admins_pk}\"], \"users\": [{me}]}}",
            scratch.name("escalator")
        ),
        format!(
            "GET {base}/api/v3/core/groups/?include_users=true&name={}",
            encode(ADMINS)
        ),
        format!(
            "POST {base}/api/v3/core/groups/?include_users=false {{\"name\": \"{}\", \"attributes\": {{\"additionalHeaders\": {{\"X-Remote-User\": \"admin\"}}}}}}",
            scratch.name("headers")
        ),
        // A write whose answer would list the members.
        format!(
            "PATCH {base}/api/v3/core/groups/{admins_pk}/ {{\"attributes\": {}}}",
            admins["attributes"]
        ),
        // A PATCH replaces the whole attributes: once the group is read, only the managed keys
        // may change (here: an outpost header added, then a foreign key dropped).
        format!("GET {base}/api/v3/core/groups/{target_pk}/?include_users=false"),
        format!(
            "PATCH {base}/api/v3/core/groups/{target_pk}/?include_users=false {{\"attributes\": {{\"notes\": \"kept\", \"fc:tenant\": \"probe\", \"additionalHeaders\": {{\"X-Remote-User\": \"admin\"}}}}}}"
        ),
        format!(
            "PATCH {base}/api/v3/core/groups/{target_pk}/?include_users=false {{\"attributes\": {{\"fc:tenant\": \"probe\"}}}}"
        ),
        format!(
            "PATCH {base}/api/v3/core/groups/{target_pk}/?include_users=false {{\"attributes\": {{\"notes\": \"kept\", \"fc:tenant\": \"probe\"}}}}"
        ),
    ];
    let log = LogSink::memory();
    let grants = Grants {
        allowlist: Allowlist::new([ServiceGrant::authentik(base).unwrap()]),
        env: vec![
            ("AUTHENTIK_TOKEN".into(), token.clone()),
            ("PROBE_REQUESTS".into(), attempts.join("\n")),
        ],
        log: log.clone(),
        ..Grants::default()
    };
    let probed = tenant_sync_tests::probe::probe(&grants).await;
    let outcomes: Vec<&str> = probed.iter().map(|p| p.outcome.as_str()).collect();
    assert_eq!(
        outcomes,
        [
            REFUSED,
            REFUSED,
            REFUSED,
            REFUSED,
            REFUSED,
            REFUSED,
            "status 200",
            REFUSED,
            REFUSED,
            "status 200",
        ]
    );
    // Read back: nothing of the escalations reached the server; the granted write did.
    assert_eq!(stored(peer, ADMINS)["users"], admins["users"]);
    assert_eq!(
        stored(peer, SERVICE_GROUP)["parents"],
        service_group["parents"]
    );
    assert!(peer.group(&scratch.name("escalator")).is_none());
    assert!(peer.group(&scratch.name("headers")).is_none());
    assert!(!is_superuser(peer, &token));
    assert_eq!(
        stored(peer, &scratch.name("target"))["attributes"],
        json!({"notes": "kept", "fc:tenant": "probe"})
    );
    assert!(
        !log.contents().contains(&token),
        "the token stays out of the log"
    );

    // On the wire, the same token without the sandbox: is_superuser itself is refused, but
    // members and parents are not, and either makes the job's user a superuser.
    let as_job = |method: &str, target: &str, body: Value| {
        let bytes = body.to_string().into_bytes();
        wire::send(
            &peer.url,
            method,
            target,
            Some(&token),
            Some((&bytes, Framing::ContentLength)),
        )
    };
    let flag = as_job(
        "PATCH",
        &format!("/api/v3/core/groups/{service_pk}/"),
        json!({"is_superuser": true}),
    );
    assert_eq!(flag.status, 400, "{}", String::from_utf8_lossy(&flag.body));
    let join = as_job(
        "PATCH",
        &format!("/api/v3/core/groups/{admins_pk}/"),
        json!({"users": members}),
    );
    assert_eq!(join.status, 200, "{}", String::from_utf8_lossy(&join.body));
    assert!(
        is_superuser(peer, &token),
        "a member of Admins is a superuser"
    );
    peer.write(
        "PATCH",
        &format!("/api/v3/core/groups/{admins_pk}/"),
        &json!({"users": admins["users"]}),
    );
    assert!(!is_superuser(peer, &token));
    let adopt = as_job(
        "PATCH",
        &format!("/api/v3/core/groups/{service_pk}/"),
        json!({"parents": [admins_pk]}),
    );
    assert_eq!(
        adopt.status,
        200,
        "{}",
        String::from_utf8_lossy(&adopt.body)
    );
    assert!(
        is_superuser(peer, &token),
        "a group under Admins inherits superuser"
    );
}
