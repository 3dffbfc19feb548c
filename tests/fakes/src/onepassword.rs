//! A fake 1Password Connect server (`/v1`) as documented in
//! `shared/api/1password-connect-spec.yaml`: bearer-token auth with 401
//! `{"status","message"}`, vault and item lists with SCIM `eq` filters, full items with fields
//! and files, file content as octet-stream, and the unauthenticated `/heartbeat` and `/health`.

use crate::server::{Fake, Fault, Faults, Reply, Request, Response, Server, with_fault};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

#[derive(Debug, Clone)]
pub struct Vault {
    pub id: String,
    pub name: String,
}

/// Where an item keeps text: a field or an attached file.
#[derive(Debug, Clone)]
pub enum Content {
    Field { label: String, value: String },
    File { name: String, content: Vec<u8> },
}

#[derive(Debug, Clone)]
pub struct Item {
    pub id: String,
    pub vault_id: String,
    pub title: String,
    pub category: &'static str,
    pub contents: Vec<Content>,
}

#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: BTreeMap<String, String>,
    pub authorized: bool,
}

#[derive(Default)]
struct State {
    token: String,
    vaults: Vec<Vault>,
    items: Vec<Item>,
    requests: Vec<Recorded>,
    next_id: u64,
    faults: Faults,
}

impl State {
    fn accepting(token: &str) -> State {
        State {
            token: token.to_owned(),
            ..State::default()
        }
    }
}

/// The routes faults can target.
pub mod route {
    /// `GET /v1/vaults`.
    pub const VAULTS: &str = "vaults";
    /// `GET /v1/vaults/{id}/items`.
    pub const ITEMS: &str = "items";
    /// `GET /v1/vaults/{id}/items/{id}`.
    pub const ITEM: &str = "item";
    /// `GET .../files/{id}/content`.
    pub const CONTENT: &str = "content";
}

/// Dereferences to its server (`url`, `addr`, `connections`, `set_latency`).
pub struct FakeOnePassword(Fake<State>);

impl std::ops::Deref for FakeOnePassword {
    type Target = Server;

    fn deref(&self) -> &Server {
        &self.0
    }
}

impl FakeOnePassword {
    /// Starts a fake that accepts `token` (as `Authorization: Bearer <token>`).
    pub fn start(token: &str) -> FakeOnePassword {
        FakeOnePassword(Fake::start(State::accepting(token), handle))
    }

    /// The same over TLS with `config`, at `https://localhost:<port>`.
    #[cfg(feature = "tls")]
    pub fn start_tls(
        token: &str,
        config: std::sync::Arc<tokio_rustls::rustls::ServerConfig>,
    ) -> FakeOnePassword {
        FakeOnePassword(Fake::start_tls(State::accepting(token), handle, config))
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.0.state()
    }

    /// Adds a vault; returns its id.
    pub fn add_vault(&self, name: &str) -> String {
        let mut state = self.state();
        let id = op_id(&mut state);
        state.vaults.push(Vault {
            id: id.clone(),
            name: name.to_owned(),
        });
        id
    }

    pub fn add_item(&self, vault_id: &str, title: &str, contents: Vec<Content>) -> String {
        let mut state = self.state();
        let id = op_id(&mut state);
        let category = if contents.iter().any(|c| matches!(c, Content::File { .. })) {
            "DOCUMENT"
        } else {
            "SECURE_NOTE"
        };
        state.items.push(Item {
            id: id.clone(),
            vault_id: vault_id.to_owned(),
            title: title.to_owned(),
            category,
            contents,
        });
        id
    }

    /// A vault named `vault` holding an item `item` whose field `label` is `document`.
    pub fn seed_mapping_field(&self, vault: &str, item: &str, label: &str, document: &str) {
        let vault_id = self.add_vault(vault);
        self.add_item(
            &vault_id,
            item,
            vec![Content::Field {
                label: label.to_owned(),
                value: document.to_owned(),
            }],
        );
    }

    /// The next `times` requests to `route` (see [`route`]) suffer `fault`.
    pub fn inject(&self, route: &str, times: usize, fault: Fault) {
        self.state().faults.add(route, times, fault);
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state().requests.clone()
    }
}

/// Connect ids are 26 lower-case alphanumerics.
fn op_id(state: &mut State) -> String {
    state.next_id += 1;
    let mut n = state.next_id.wrapping_mul(0x2545_F491_4F6C_DD1D);
    (0..26)
        .map(|_| {
            let c = b"abcdefghijklmnopqrstuvwxyz0123456789"[(n % 36) as usize] as char;
            n = n / 36 + 0x9E37_79B9;
            c
        })
        .collect()
}

fn error(status: u16, message: &str) -> Response {
    Response::json(status, &json!({"status": status, "message": message}))
}

fn handle(state: &Mutex<State>, request: Request) -> Reply {
    let mut state = state.lock().unwrap();
    let authorized = request.header("authorization") == Some(&format!("Bearer {}", state.token));

    state.requests.push(Recorded {
        method: request.method.clone(),
        path: request.path.clone(),
        query: request.query.clone(),
        authorized,
    });
    let segments = request.path.trim_start_matches('/').split('/').count();
    let route = match segments {
        2 => route::VAULTS,
        4 => route::ITEMS,
        5 => route::ITEM,
        _ => route::CONTENT,
    };
    let fault = if request.path.starts_with("/v1/") {
        state.faults.take(route)
    } else {
        None
    };
    with_fault(fault, || respond(&mut state, &request))
}

fn respond(state: &mut State, request: &Request) -> Response {
    let authorized = request.header("authorization") == Some(&format!("Bearer {}", state.token));
    match request.path.as_str() {
        "/heartbeat" => return Response::bytes(200, "text/plain", b".".to_vec()),
        "/health" => {
            return Response::json(
                200,
                &json!({"name": "1Password Connect API", "version": "1.7.1", "dependencies": []}),
            );
        }
        _ => {}
    }
    if !authorized {
        return error(401, "Invalid token signature");
    }
    if request.method != "GET" {
        return error(405, "method not allowed in this fake");
    }
    let segments: Vec<&str> = request.path.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        ["v1", "vaults"] => {
            let filter = match parse_filter(request, &["name", "title"]) {
                Ok(filter) => filter,
                Err(response) => return response,
            };
            let vaults: Vec<Value> = state
                .vaults
                .iter()
                .filter(|v| filter.as_ref().is_none_or(|f| &v.name == f))
                .map(vault_json)
                .collect();
            Response::json(200, &Value::Array(vaults))
        }
        ["v1", "vaults", vault_id, "items"] => {
            if !state.vaults.iter().any(|v| v.id == *vault_id) {
                return error(404, &format!("vault {vault_id} not found"));
            }
            let filter = match parse_filter(request, &["title"]) {
                Ok(filter) => filter,
                Err(response) => return response,
            };
            let items: Vec<Value> = state
                .items
                .iter()
                .filter(|i| {
                    i.vault_id == *vault_id && filter.as_ref().is_none_or(|f| &i.title == f)
                })
                .map(item_summary)
                .collect();
            Response::json(200, &Value::Array(items))
        }
        ["v1", "vaults", vault_id, "items", item_id] => match find_item(state, vault_id, item_id) {
            Ok(item) => Response::json(200, &full_item(item)),
            Err(response) => response,
        },
        [
            "v1",
            "vaults",
            vault_id,
            "items",
            item_id,
            "files",
            file_id,
            "content",
        ] => {
            let item = match find_item(state, vault_id, item_id) {
                Ok(item) => item,
                Err(response) => return response,
            };
            let file = files(item).find(|(id, _, _)| id == file_id);
            match file {
                Some((_, _, content)) => {
                    Response::bytes(200, "application/octet-stream", content.to_vec())
                }
                None => error(404, &format!("file {file_id} not found")),
            }
        }
        _ => error(404, "not found"),
    }
}

/// Reads a SCIM `filter=<attr> eq "<value>"`; the server rejects filters it cannot parse.
fn parse_filter(request: &Request, attributes: &[&str]) -> Result<Option<String>, Response> {
    let Some(filter) = request.query.get("filter") else {
        return Ok(None);
    };
    for attribute in attributes {
        if let Some(rest) = filter.strip_prefix(&format!("{attribute} eq \""))
            && let Some(value) = rest.strip_suffix('"')
        {
            return Ok(Some(value.replace("\\\"", "\"")));
        }
    }
    Err(error(400, &format!("Invalid filter: {filter}")))
}

fn find_item<'a>(state: &'a State, vault_id: &str, item_id: &str) -> Result<&'a Item, Response> {
    if !state.vaults.iter().any(|v| v.id == vault_id) {
        return Err(error(404, &format!("vault {vault_id} not found")));
    }
    state
        .items
        .iter()
        .find(|i| i.vault_id == vault_id && i.id == item_id)
        .ok_or_else(|| error(404, &format!("item {item_id} not found")))
}

fn vault_json(vault: &Vault) -> Value {
    json!({
        "id": vault.id, "name": vault.name, "description": "", "attributeVersion": 1,
        "contentVersion": 3, "items": 1, "type": "USER_CREATED",
        "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-02T00:00:00Z"
    })
}

fn item_summary(item: &Item) -> Value {
    json!({
        "id": item.id, "title": item.title, "vault": {"id": item.vault_id},
        "category": item.category, "favorite": false, "tags": [], "version": 2,
        "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-02T00:00:00Z",
        "lastEditedBy": "AAAAAAAAAAAAAAAAAAAAAAAAAA"
    })
}

fn files(item: &Item) -> impl Iterator<Item = (String, &str, &[u8])> {
    item.contents
        .iter()
        .enumerate()
        .filter_map(|(i, c)| match c {
            Content::File { name, content } => {
                Some((format!("file{i:022}"), name.as_str(), content.as_slice()))
            }
            Content::Field { .. } => None,
        })
}

fn full_item(item: &Item) -> Value {
    let mut value = item_summary(item);
    let fields: Vec<Value> = item
        .contents
        .iter()
        .enumerate()
        .filter_map(|(i, c)| match c {
            Content::Field { label, value } => Some(json!({
                "id": format!("field{i}"), "type": "STRING", "purpose": "", "label": label, "value": value
            })),
            Content::File { .. } => None,
        })
        .collect();
    let attached: Vec<Value> = files(item)
        .map(|(id, name, content)| {
            json!({
                "id": id, "name": name, "size": content.len(),
                "content_path": format!("/v1/vaults/{}/items/{}/files/{id}/content", item.vault_id, item.id)
            })
        })
        .collect();
    value["fields"] = Value::Array(fields);
    value["files"] = Value::Array(attached);
    value["sections"] = json!([]);
    value
}
