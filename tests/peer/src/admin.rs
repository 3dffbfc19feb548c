//! What a test does to the real Authentik directly, outside the product: seed groups, read the
//! end state back, and remove only what the test made (every test works under its own name
//! prefix, so tests never touch each other's groups).

use crate::server::Peer;
use crate::wire::{self, Answer, Framing};
use serde_json::{Value, json};
use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

const GROUPS: &str = "/api/v3/core/groups/";

impl Peer {
    pub fn get(&self, target: &str) -> Answer {
        wire::send(&self.url, "GET", target, Some(&self.token), None)
    }

    /// A write with a `Content-Length`, as every correct client sends it.
    pub fn write(&self, method: &str, target: &str, body: &Value) -> Answer {
        let bytes = body.to_string().into_bytes();
        wire::send(
            &self.url,
            method,
            target,
            Some(&self.token),
            Some((&bytes, Framing::ContentLength)),
        )
    }

    /// Creates a group; `users` are user pks.
    pub fn create_group(&self, name: &str, attributes: Value, users: &[u64]) -> Value {
        let answer = self.write(
            "POST",
            GROUPS,
            &json!({"name": name, "attributes": attributes, "users": users}),
        );
        assert_eq!(
            answer.status,
            201,
            "creating {name:?} on the real Authentik: {}",
            String::from_utf8_lossy(&answer.body)
        );
        answer.json()
    }

    /// The group named exactly `name`, as Authentik stores it now.
    pub fn group(&self, name: &str) -> Option<Value> {
        let answer = self.get(&format!("{GROUPS}?name={}", encode(name)));
        assert_eq!(answer.status, 200, "looking up {name:?}");
        let page = answer.json();
        page["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["name"] == name)
            .cloned()
    }

    /// Every group whose name starts with `prefix`, sorted by name.
    pub fn groups_with_prefix(&self, prefix: &str) -> Vec<Value> {
        let mut found = Vec::new();
        let mut page = 1;
        loop {
            let answer = self.get(&format!(
                "{GROUPS}?search={}&ordering=name&include_users=true&page_size=100&page={page}",
                encode(prefix)
            ));
            assert_eq!(answer.status, 200, "listing groups under {prefix:?}");
            let body = answer.json();
            found.extend(
                body["results"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|g| g["name"].as_str().unwrap().starts_with(prefix))
                    .cloned(),
            );
            match body["pagination"]["next"].as_u64() {
                Some(next) if next > 0 => page = next,
                _ => break,
            }
        }
        found.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
        found
    }

    /// How many groups' names contain `text` (one small request: for watching a run's progress).
    pub fn count_matching(&self, text: &str) -> u64 {
        let answer = self.get(&format!(
            "{GROUPS}?search={}&include_users=false&page_size=1",
            encode(text)
        ));
        assert_eq!(answer.status, 200, "counting groups matching {text:?}");
        answer.json()["pagination"]["count"].as_u64().unwrap_or(0)
    }

    pub fn delete_group(&self, pk: &str) {
        let answer = wire::send(
            &self.url,
            "DELETE",
            &format!("{GROUPS}{pk}/"),
            Some(&self.token),
            None,
        );
        assert!(
            [204, 404].contains(&answer.status),
            "deleting group {pk}: HTTP {}",
            answer.status
        );
    }

    /// The pk of the superuser `akadmin`, a member to put into groups.
    pub fn admin_user_pk(&self) -> u64 {
        let answer = self.get("/api/v3/core/users/?username=akadmin");
        answer.json()["results"][0]["pk"]
            .as_u64()
            .expect("the peer has the akadmin user")
    }

    /// Applies a blueprint the way an admin's "Flows → Import" does (synchronously: this server
    /// has no worker to apply blueprint instances). Panics with the server's logs unless it
    /// applied.
    pub fn import_blueprint(&self, yaml: &str) {
        let boundary = "tenant-sync-blueprint-boundary";
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"blueprint.yaml\"\r\nContent-Type: application/yaml\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(yaml.as_bytes());
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let answer = wire::send_typed(
            &self.url,
            "POST",
            "/api/v3/flows/instances/import/",
            Some(&self.token),
            Some((&body, Framing::ContentLength)),
            &format!("multipart/form-data; boundary={boundary}"),
        );
        let result = answer.json();
        assert!(
            answer.status == 200 && result["success"] == true,
            "importing the blueprint: HTTP {} {result}",
            answer.status
        );
    }

    /// The key of the API token `identifier` (an admin may read any token's key).
    pub fn token_key(&self, identifier: &str) -> String {
        let answer = self.get(&format!(
            "/api/v3/core/tokens/{}/view_key/",
            encode(identifier)
        ));
        assert_eq!(
            answer.status, 200,
            "reading the key of token {identifier:?}"
        );
        answer.json()["key"]
            .as_str()
            .expect("a token key")
            .to_owned()
    }

    /// The server's version, e.g. `2026.2.2`.
    pub fn version(&self) -> String {
        self.get("/api/v3/admin/version/").json()["version_current"]
            .as_str()
            .unwrap_or("unknown")
            .to_owned()
    }
}

/// Percent-encodes a query value.
pub fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// A test's own corner of the peer: a unique name prefix, and on drop (also when the test
/// fails) every group under it is deleted.
pub struct Scratch {
    pub peer: &'static Peer,
    pub prefix: String,
    /// Tests that list every group (orphans, pagination) must not see another test's writes
    /// half done, so they take turns.
    _turn: MutexGuard<'static, ()>,
}

impl Scratch {
    pub fn new(peer: &'static Peer, test: &str) -> Scratch {
        static TURN: Mutex<()> = Mutex::new(());
        let turn = TURN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let prefix = format!("ts-{test}-{}-{nanos:08x}-", std::process::id());
        Scratch {
            peer,
            prefix,
            _turn: turn,
        }
    }

    /// `prefix` + `name`.
    pub fn name(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// The test's groups as Authentik stores them, sorted by name.
    pub fn groups(&self) -> Vec<Value> {
        self.peer.groups_with_prefix(&self.prefix)
    }

    fn clean(&self) {
        for group in self.groups() {
            self.peer.delete_group(group["pk"].as_str().unwrap());
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        self.clean();
    }
}
