//! A fake Authentik groups API (`/api/v3/core/groups/`) that behaves like the real server as
//! documented in `shared/api/authentik-schema.yml` and measured in `shared/api/OBSERVED.md`:
//! 403 `{"detail"}` auth errors, page-size cap, name-sorted pages, `next` as a page number,
//! `404 Invalid page.`, exact `?name=`, PATCH replacing `attributes` whole, PUT without `users`
//! dropping members, 400 `{"name": [...]}` on duplicate names, and a request body read only
//! when it has a `Content-Length` (Django REST framework reads a chunked body as empty, so a
//! chunked POST is a 400 and a chunked PATCH a `200` that changes nothing).

use crate::server::{Fake, Fault, Faults, Reply, Request, Response, Server, with_fault};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

const DEFAULT_PAGE_SIZE: usize = 20;
const MAX_PAGE_SIZE: usize = 100;
const GROUPS_PATH: &str = "/api/v3/core/groups/";

/// A group as the fake stores it.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub pk: String,
    pub num_pk: u64,
    pub name: String,
    pub is_superuser: bool,
    pub parents: Vec<String>,
    pub users: Vec<u64>,
    pub roles: Vec<String>,
    pub attributes: Map<String, Value>,
}

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: BTreeMap<String, String>,
    /// The body as the server read it: `None` when it was not JSON, or not read at all because
    /// it came without a `Content-Length`.
    pub body: Option<Value>,
    /// The request's `Content-Length` header, if it had one.
    pub content_length: Option<String>,
    pub authorized: bool,
}

impl Recorded {
    pub fn is_write(&self) -> bool {
        self.method != "GET"
    }
}

#[derive(Default)]
struct State {
    token: String,
    groups: BTreeMap<String, Group>,
    /// Name → pk, kept in step with `groups`: listings are sorted by name and names are unique.
    by_name: BTreeMap<String, String>,
    requests: Vec<Recorded>,
    created: u64,
    /// Group names whose writes fail with this status and an HTML error page, as a broken
    /// proxy or server would answer.
    failing_writes: BTreeMap<String, u16>,
    faults: Faults,
    paging: Option<PagingFault>,
    /// Attribute edits made by "someone else" right before the next read of that group.
    edits_before_read: Vec<(String, String, Value)>,
    /// A group "someone else" creates right before the next POST arrives.
    created_before_next_post: Option<(String, Map<String, Value>)>,
    /// Answer `411 Length Required` to a chunked request body, as strict front proxies do.
    length_required: bool,
}

/// Listings that a broken server or proxy (or a database changing under it) could produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PagingFault {
    /// Every page after the first repeats the first page's groups.
    RepeatFirstPage,
    /// `next` never becomes 0: pages past the end repeat the last one.
    Endless,
}

/// The routes faults can target.
pub mod route {
    /// `GET /groups/` (a listing page).
    pub const LIST: &str = "list";
    /// `GET /groups/?name=` (lookup by exact name).
    pub const LOOKUP: &str = "lookup";
    /// `POST /groups/`.
    pub const CREATE: &str = "create";
    /// `GET /groups/{pk}/`.
    pub const READ: &str = "read";
    /// `PATCH /groups/{pk}/`.
    pub const PATCH: &str = "patch";
}

/// Dereferences to its server (`url`, `addr`, `connections`, `peak_in_flight`, `set_latency`).
pub struct FakeAuthentik(Fake<State>);

impl std::ops::Deref for FakeAuthentik {
    type Target = Server;

    fn deref(&self) -> &Server {
        &self.0
    }
}

impl FakeAuthentik {
    /// Starts a fake that accepts `token` (as `Authorization: Bearer <token>`).
    pub fn start(token: &str) -> FakeAuthentik {
        FakeAuthentik(Fake::start(State::accepting(token), handle))
    }

    /// The same over TLS with `config`, at `https://localhost:<port>`.
    #[cfg(feature = "tls")]
    pub fn start_tls(
        token: &str,
        config: std::sync::Arc<tokio_rustls::rustls::ServerConfig>,
    ) -> FakeAuthentik {
        FakeAuthentik(Fake::start_tls(State::accepting(token), handle, config))
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.0.state()
    }

    /// Adds a group directly (not a recorded request); returns its pk.
    pub fn seed_group(&self, name: &str, attributes: Value, users: &[u64]) -> String {
        let mut state = self.state();
        let mut group = new_group(&mut state, name);
        group.attributes = attributes
            .as_object()
            .cloned()
            .expect("attributes must be an object");
        group.users = users.to_vec();
        let pk = group.pk.clone();
        state.insert_group(group);
        pk
    }

    /// Makes a group a superuser group (or not), as an admin would in the UI.
    pub fn set_superuser(&self, name: &str, is_superuser: bool) {
        let mut state = self.state();
        let pk = state.by_name.get(name).cloned().expect("a seeded group");
        state.groups.get_mut(&pk).unwrap().is_superuser = is_superuser;
    }

    pub fn groups(&self) -> Vec<Group> {
        let mut groups: Vec<Group> = self.state().groups.values().cloned().collect();
        groups.sort_by(|a, b| a.name.cmp(&b.name));
        groups
    }

    pub fn group(&self, name: &str) -> Option<Group> {
        let state = self.state();
        let pk = state.by_name.get(name)?;
        state.groups.get(pk).cloned()
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state().requests.clone()
    }

    pub fn writes(&self) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(Recorded::is_write)
            .collect()
    }

    /// The next `times` requests to `route` (see [`route`]) suffer `fault`.
    pub fn inject(&self, route: &str, times: usize, fault: Fault) {
        self.state().faults.add(route, times, fault);
    }

    pub fn set_paging_fault(&self, fault: PagingFault) {
        self.state().paging = Some(fault);
    }

    /// Someone else sets `key` on `group` between this tool's listing and its next read of it.
    pub fn edit_before_next_read(&self, group: &str, key: &str, value: Value) {
        self.state()
            .edits_before_read
            .push((group.to_owned(), key.to_owned(), value));
    }

    /// Someone else creates `group` between this tool's listing and its next POST.
    pub fn create_before_next_post(&self, group: &str, attributes: Value) {
        let attributes = attributes
            .as_object()
            .cloned()
            .expect("attributes must be an object");
        self.state().created_before_next_post = Some((group.to_owned(), attributes));
    }

    /// Every POST/PATCH/PUT for `group` answers `status` with an HTML page, writing nothing.
    pub fn fail_writes_to(&self, group: &str, status: u16) {
        self.state().failing_writes.insert(group.to_owned(), status);
    }

    /// From now on a request body without `Content-Length` is refused with `411 Length
    /// Required`, as a strict front proxy (nginx, an API gateway) answers, instead of reaching
    /// Authentik, which would read it as empty.
    pub fn require_content_length(&self) {
        self.state().length_required = true;
    }

    pub fn clear_requests(&self) {
        self.state().requests.clear();
    }
}

impl State {
    fn accepting(token: &str) -> State {
        State {
            token: token.to_owned(),
            ..State::default()
        }
    }

    fn insert_group(&mut self, group: Group) {
        self.by_name.insert(group.name.clone(), group.pk.clone());
        self.groups.insert(group.pk.clone(), group);
    }
}

fn new_group(state: &mut State, name: &str) -> Group {
    state.created += 1;
    let n = state.created;
    Group {
        pk: fake_uuid(n),
        // Real num_pks are not sequential; neither are these.
        num_pk: 1000 + (n * 7919) % 90_000,
        name: name.to_owned(),
        is_superuser: false,
        parents: Vec::new(),
        users: Vec::new(),
        roles: Vec::new(),
        attributes: Map::new(),
    }
}

fn fake_uuid(n: u64) -> String {
    let mixed = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        (mixed >> 32) as u32,
        (mixed >> 16) as u16,
        (mixed & 0xfff) as u16,
        (n & 0xfff) as u16,
        n
    )
}

fn detail(status: u16, text: &str) -> Response {
    Response::json(status, &json!({"detail": text}))
}

fn handle(state: &Mutex<State>, mut request: Request) -> Reply {
    let mut state = state.lock().unwrap();
    let content_length = request.header("content-length").map(str::to_owned);
    let chunked = request
        .header("transfer-encoding")
        .is_some_and(|te| te.to_ascii_lowercase().contains("chunked"));
    if chunked && state.length_required {
        return Reply::Respond(Response::bytes(
            411,
            "text/html",
            b"<html><head><title>411 Length Required</title></head><body><center><h1>411 Length Required</h1></center></body></html>".to_vec(),
        ));
    }
    // Django REST framework parses a body only when CONTENT_LENGTH is set; anything else
    // reads as no body at all.
    if content_length.is_none() {
        request.body.clear();
    }
    let authorization = request.header("authorization").map(str::to_owned);
    let authorized = authorization.as_deref() == Some(&format!("Bearer {}", state.token));
    state.requests.push(Recorded {
        method: request.method.clone(),
        path: request.path.clone(),
        query: request.query.clone(),
        body: request.json(),
        content_length,
        authorized,
    });
    match authorization {
        None => {
            return Reply::Respond(detail(403, "Authentication credentials were not provided."));
        }
        Some(_) if !authorized => return Reply::Respond(detail(403, "Token invalid/expired")),
        Some(_) => {}
    }
    if let Some(status) = injected_failure(&state, &request) {
        return with_fault(
            Some(Fault::Status {
                status,
                retry_after: None,
            }),
            || unreachable!(),
        );
    }
    let fault = route_of(&request).and_then(|route| state.faults.take(route));
    if fault == Some(Fault::BodyUnread) {
        request.body.clear();
    }
    with_fault(fault, || dispatch(&mut state, &request))
}

fn route_of(request: &Request) -> Option<&'static str> {
    let on_collection = request.path == GROUPS_PATH;
    match request.method.as_str() {
        "GET" if on_collection && request.query.contains_key("name") => Some(route::LOOKUP),
        "GET" if on_collection => Some(route::LIST),
        "POST" if on_collection => Some(route::CREATE),
        "GET" => Some(route::READ),
        "PATCH" => Some(route::PATCH),
        _ => None,
    }
}

fn dispatch(state: &mut State, request: &Request) -> Response {
    if request.path == GROUPS_PATH {
        return match request.method.as_str() {
            "GET" => list(state, request),
            "POST" => create(state, request),
            _ => detail(405, &format!("Method \"{}\" not allowed.", request.method)),
        };
    }
    let Some(pk) = request
        .path
        .strip_prefix(GROUPS_PATH)
        .and_then(|rest| rest.strip_suffix('/'))
        .filter(|pk| !pk.is_empty() && !pk.contains('/'))
    else {
        return detail(404, "Not found.");
    };
    let pk = pk.to_owned();
    if !state.groups.contains_key(&pk) {
        return detail(404, "No Group matches the given query.");
    }
    match request.method.as_str() {
        "GET" => {
            let group = state.groups.get_mut(&pk).unwrap();
            let (edits, kept) = std::mem::take(&mut state.edits_before_read)
                .into_iter()
                .partition(|(name, _, _)| *name == group.name);
            state.edits_before_read = kept;
            for (_, key, value) in edits {
                group.attributes.insert(key, value);
            }
            let include_users = flag(request, "include_users", true);
            Response::json(200, &serialize(group, include_users))
        }
        "PATCH" => update(state, &pk, request, false),
        "PUT" => update(state, &pk, request, true),
        "DELETE" => {
            if let Some(group) = state.groups.remove(&pk) {
                state.by_name.remove(&group.name);
            }
            Response::bytes(204, "application/json", Vec::new())
        }
        _ => detail(405, &format!("Method \"{}\" not allowed.", request.method)),
    }
}

fn injected_failure(state: &State, request: &Request) -> Option<u16> {
    if request.method == "GET" || state.failing_writes.is_empty() {
        return None;
    }
    let named = request
        .json()
        .and_then(|b| b.get("name").and_then(Value::as_str).map(str::to_owned));
    let by_pk = request
        .path
        .strip_prefix(GROUPS_PATH)
        .and_then(|rest| rest.strip_suffix('/'))
        .and_then(|pk| state.groups.get(pk))
        .map(|g| g.name.clone());
    named
        .or(by_pk)
        .and_then(|name| state.failing_writes.get(&name).copied())
}

fn flag(request: &Request, name: &str, default: bool) -> bool {
    match request.query.get(name).map(String::as_str) {
        Some("true" | "True" | "1") => true,
        Some("false" | "False" | "0") => false,
        _ => default,
    }
}

fn positive(request: &Request, name: &str) -> Option<usize> {
    request
        .query
        .get(name)?
        .parse::<usize>()
        .ok()
        .filter(|n| *n > 0)
}

fn list(state: &State, request: &Request) -> Response {
    let include_users = flag(request, "include_users", true);
    // Sorted by name whatever `ordering` says (the fake does not need other orders); the name
    // index keeps a page of a large installation from costing a sort of every group.
    // Only the page's groups are looked up; the rest are counted by pk.
    let matching: Vec<&String> = match request.query.get("name") {
        Some(name) => state.by_name.get(name).into_iter().collect(),
        None => state
            .by_name
            .iter()
            .filter(|(name, _)| {
                request
                    .query
                    .get("search")
                    .is_none_or(|s| name.contains(s.as_str()))
            })
            .map(|(_, pk)| pk)
            .collect(),
    };
    let page_size = positive(request, "page_size")
        .unwrap_or(DEFAULT_PAGE_SIZE)
        .min(MAX_PAGE_SIZE);
    let count = matching.len();
    let total_pages = count.div_ceil(page_size).max(1);
    let current = match request.query.get("page") {
        None => 1,
        Some(text) => match text.parse::<usize>() {
            Ok(n) if (1..=total_pages).contains(&n) => n,
            Ok(n) if n >= 1 && state.paging == Some(PagingFault::Endless) => n,
            _ => return detail(404, "Invalid page."),
        },
    };
    let shown_page = match state.paging {
        Some(PagingFault::RepeatFirstPage) => 1,
        Some(PagingFault::Endless) => current.min(total_pages),
        None => current,
    };
    let start = (shown_page - 1) * page_size;
    let results: Vec<Value> = matching
        .iter()
        .skip(start)
        .take(page_size)
        .map(|pk| serialize(&state.groups[*pk], include_users))
        .collect();
    let shown = results.len();
    Response::json(
        200,
        &json!({
            "pagination": {
                "next": if current < total_pages || state.paging == Some(PagingFault::Endless) { current + 1 } else { 0 },
                "previous": current.saturating_sub(1),
                "count": count,
                "current": current,
                "total_pages": total_pages,
                "start_index": if shown == 0 { 0 } else { start + 1 },
                "end_index": start + shown,
            },
            "results": results,
            "autocomplete": autocomplete(),
        }),
    )
}

/// The query-language hints the real server attaches to every listing (2026.2.2).
fn autocomplete() -> Value {
    json!({
        "models": {
            "authentik_core.group": {
                "attributes": {"nullable": false, "options": null,
                               "relation": "authentik_core.group_attributes", "type": "relation"},
                "is_superuser": {"nullable": true, "options": null, "type": "bool"},
                "name": {"nullable": false, "options": null, "type": "str"},
            }
        },
        "current_model": "authentik_core.group",
    })
}

fn serialize(group: &Group, include_users: bool) -> Value {
    let users_obj = if include_users {
        Value::Array(
            group
                .users
                .iter()
                .map(|pk| {
                    json!({
                        "pk": pk, "username": format!("user{pk}"), "name": format!("User {pk}"),
                        "is_active": true, "last_login": null, "email": format!("user{pk}@example.com"),
                        "attributes": {}, "uid": format!("uid-{pk}")
                    })
                })
                .collect(),
        )
    } else {
        Value::Null
    };
    json!({
        "pk": group.pk,
        "num_pk": group.num_pk,
        "name": group.name,
        "is_superuser": group.is_superuser,
        "parents": group.parents,
        "parents_obj": null,
        "users": group.users,
        "users_obj": users_obj,
        "attributes": group.attributes,
        "roles": group.roles,
        "roles_obj": [],
        "inherited_roles_obj": null,
        "children": [],
        "children_obj": null,
    })
}

/// Field validation shared by create and update, in Django REST framework's error shape.
fn validate_fields(
    state: &State,
    body: &Map<String, Value>,
    own_pk: Option<&str>,
    require_name: bool,
) -> Option<Response> {
    let mut errors = Map::new();
    match body.get("name") {
        None if require_name => {
            errors.insert("name".into(), json!(["This field is required."]));
        }
        None => {}
        Some(Value::String(name)) if name.trim().is_empty() => {
            errors.insert("name".into(), json!(["This field may not be blank."]));
        }
        Some(Value::String(name)) if name.contains('\0') => {
            errors.insert("name".into(), json!(["Null characters are not allowed."]));
        }
        Some(Value::String(name))
            if state
                .by_name
                .get(name)
                .is_some_and(|pk| Some(pk.as_str()) != own_pk) =>
        {
            errors.insert(
                "name".into(),
                json!(["Group with this name already exists."]),
            );
        }
        Some(Value::String(_)) => {}
        Some(_) => {
            errors.insert("name".into(), json!(["Not a valid string."]));
        }
    }
    if let Some(attributes) = body.get("attributes")
        && !attributes.is_object()
    {
        errors.insert(
            "attributes".into(),
            json!(["Value must be a dictionary, and not have any duplicate keys."]),
        );
    }
    (!errors.is_empty()).then(|| Response::json(400, &Value::Object(errors)))
}

/// The body as Django REST framework reads it: no body is no data, so a create lacks its name
/// and an update changes nothing; only a body labelled JSON is parsed (anything else, an absent
/// label too, is 415); a string `name` is trimmed, as its `CharField` does.
fn parse_body(request: &Request) -> Result<Map<String, Value>, Response> {
    if request.body.is_empty() {
        return Ok(Map::new());
    }
    let content_type = request.header("content-type").unwrap_or("");
    if !content_type
        .to_ascii_lowercase()
        .starts_with("application/json")
    {
        return Err(detail(
            415,
            &format!("Unsupported media type \"{content_type}\" in request."),
        ));
    }
    match serde_json::from_slice::<Value>(&request.body) {
        Ok(Value::Object(mut map)) => {
            if let Some(Value::String(name)) = map.get_mut("name") {
                *name = name.trim().to_owned();
            }
            Ok(map)
        }
        Ok(_) => Err(Response::json(
            400,
            &json!({"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}),
        )),
        Err(e) => Err(detail(400, &format!("JSON parse error - {e}"))),
    }
}

fn create(state: &mut State, request: &Request) -> Response {
    if let Some((name, attributes)) = state.created_before_next_post.take() {
        let mut group = new_group(state, &name);
        group.attributes = attributes;
        state.insert_group(group);
    }
    let body = match parse_body(request) {
        Ok(body) => body,
        Err(response) => return response,
    };
    if let Some(rejected) = validate_fields(state, &body, None, true) {
        return rejected;
    }
    let mut group = new_group(state, body["name"].as_str().unwrap());
    apply_fields(&mut group, &body, true);
    let response = serialize(&group, true);
    state.insert_group(group);
    Response::json(201, &response)
}

/// PATCH changes the fields it names (`attributes` replaced whole); PUT is a full update, so
/// what it leaves out is reset, and members vanish unless `users` is resent.
fn update(state: &mut State, pk: &str, request: &Request, full: bool) -> Response {
    let body = match parse_body(request) {
        Ok(body) => body,
        Err(response) => return response,
    };
    if let Some(rejected) = validate_fields(state, &body, Some(pk), full) {
        return rejected;
    }
    let group = state.groups.get_mut(pk).unwrap();
    let old_name = group.name.clone();
    apply_fields(group, &body, full);
    let (new_name, response) = (group.name.clone(), serialize(group, true));
    if new_name != old_name {
        state.by_name.remove(&old_name);
        state.by_name.insert(new_name, pk.to_owned());
    }
    Response::json(200, &response)
}

fn apply_fields(group: &mut Group, body: &Map<String, Value>, reset_missing: bool) {
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    if let Some(Value::String(name)) = body.get("name") {
        group.name = name.clone();
    }
    match body.get("attributes") {
        Some(Value::Object(attributes)) => group.attributes = attributes.clone(),
        _ if reset_missing => group.attributes = Map::new(),
        _ => {}
    }
    match body.get("users") {
        Some(users) => {
            group.users = users
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_u64).collect())
                .unwrap_or_default()
        }
        None if reset_missing => group.users.clear(),
        None => {}
    }
    match body.get("parents") {
        Some(parents) => group.parents = strings(parents),
        None if reset_missing => group.parents.clear(),
        None => {}
    }
    match body.get("roles") {
        Some(roles) => group.roles = strings(roles),
        None if reset_missing => group.roles.clear(),
        None => {}
    }
    match body.get("is_superuser") {
        Some(Value::Bool(flag)) => group.is_superuser = *flag,
        _ if reset_missing => group.is_superuser = false,
        _ => {}
    }
}
