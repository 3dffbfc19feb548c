//! What the sandbox grants the component: which requests it may send to which service, and
//! which environment variables it may read. Pure rules, each one unit-tested; `sandbox` enforces
//! them.

use crate::held::{Answer, Held, NotHeld};
use anyhow::{Context, bail};
use http::Uri;
use std::ffi::OsString;
use std::fmt;
use tenant_sync_core::defaults;
use tenant_sync_core::managed::MANAGED_KEYS;
use tenant_sync_core::untrusted::{excerpt, terminal_safe};

/// The secrets a run may need; only these (and the config variables) reach the component.
pub const SECRET_VARS: [&str; 3] = defaults::TOKEN_VARS;

/// Scheme, host and port: what a request is allowed or refused by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    pub https: bool,
    /// Lower-cased; IPv6 literals keep their brackets.
    pub host: String,
    pub port: u16,
}

impl Origin {
    /// The origin of a configured service URL such as `https://auth.example.com/`.
    pub fn parse(url: &str) -> anyhow::Result<Origin> {
        let uri: Uri = url
            .trim()
            .parse()
            .with_context(|| format!("{url:?} is not a valid URL"))?;
        match Origin::of(&uri) {
            Some(origin) => Ok(origin),
            None => bail!("{url:?} needs an http:// or https:// scheme and a host"),
        }
    }

    /// The origin a request targets; `None` for anything but http(s) with a host.
    pub fn of(uri: &Uri) -> Option<Origin> {
        let https = match uri.scheme_str()? {
            "https" => true,
            "http" => false,
            _ => return None,
        };
        let host = uri.host()?.to_ascii_lowercase();
        if host.is_empty() {
            return None;
        }
        // A port that is not one (`:99999`, which `http` reads as no port) is no origin, not
        // the scheme's default port.
        let port = match uri.port_u16() {
            Some(port) => port,
            None if names_a_port(uri.authority()?.as_str()) => return None,
            None if https => 443,
            None => 80,
        };
        Some(Origin { https, host, port })
    }
}

/// Whether an authority (`user@host:port`, `[::1]:port`) has a port part, valid or not.
fn names_a_port(authority: &str) -> bool {
    let host_port = authority.rsplit('@').next().unwrap_or(authority);
    match host_port.rfind(']') {
        Some(end) => host_port[end..].contains(':'),
        None => host_port.contains(':'),
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.https { "https" } else { "http" };
        write!(f, "{scheme}://{}:{}", self.host, self.port)
    }
}

/// One kind of request a service is granted: a method and a path template under the service's
/// base path (`{uuid}` is one UUID segment, `**` one or more further segments), the query
/// parameters it may carry, those it must carry with one value, and the body it must have.
#[derive(Debug)]
pub struct Operation {
    pub method: &'static str,
    pub path: &'static str,
    /// The query keys the request may carry (the pinned ones included).
    pub query: &'static [&'static str],
    /// Query keys the request must carry exactly once, with exactly this value.
    pub pinned: &'static [(&'static str, &'static str)],
    /// `None`: the request has no body. Otherwise a JSON object with exactly these keys.
    pub body: Option<&'static [(&'static str, JsonKind)]>,
    /// What its success answer holds that the host records (`held`).
    pub answer: Answer,
}

/// The JSON type a body key's value must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonKind {
    String,
    /// An object whose keys are all among these.
    ObjectOf(&'static [&'static str]),
    /// An object equal to the attributes the group in the path held when the run last read it
    /// (`held`), except in these keys.
    HeldExcept(&'static [&'static str]),
}

impl JsonKind {
    pub fn name(self) -> &'static str {
        match self {
            JsonKind::String => "string",
            JsonKind::ObjectOf(_) | JsonKind::HeldExcept(_) => "object",
        }
    }

    /// The keys an object may have, if they are limited.
    pub fn keys(self) -> Option<&'static [&'static str]> {
        match self {
            JsonKind::ObjectOf(keys) => Some(keys),
            _ => None,
        }
    }

    /// The only keys in which an object may differ from what the group held, if it is held.
    pub fn held_except(self) -> Option<&'static [&'static str]> {
        match self {
            JsonKind::HeldExcept(keys) => Some(keys),
            _ => None,
        }
    }

    fn holds(self, value: &serde_json::Value) -> bool {
        match self {
            JsonKind::String => value.is_string(),
            JsonKind::ObjectOf(_) | JsonKind::HeldExcept(_) => value.is_object(),
        }
    }
}

/// The largest request body the component may send. A PATCH carries the group's whole
/// `attributes` (Authentik replaces them at every level), so this bounds the attributes of a
/// group the sync can write: Authentik's own group attributes are a few hundred bytes, and a
/// group with a megabyte of them is a misuse worth a refusal. It also bounds what the host
/// holds per request while checking (at most 64 writes in flight: 64 MiB).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The only header names the component may send; anything else (`x-http-method-override`,
/// `transfer-encoding`, `proxy-authorization`, `cookie`, ...) is refused. `host` is not among
/// them: the host sets it from the granted authority.
pub const REQUEST_HEADERS: &[&str] = &[
    "authorization",
    "accept",
    "user-agent",
    "content-type",
    "content-length",
];

/// The one content type a body may be sent as.
pub const BODY_CONTENT_TYPE: &str = "application/json";

/// What the sync needs from Authentik: list and look up groups, create one, change one. Not
/// delete, not users, not tokens, whatever the token itself would allow. A token that may change
/// groups may also put users, parents and roles on them, which makes it admin-equivalent on a
/// real Authentik (README, "Security model"): the bodies are pinned to the keys the sync writes,
/// and groups are never read with their members.
pub const AUTHENTIK_OPERATIONS: &[Operation] = &[
    // The listing. Its groups are not recorded: the sync reads a group again before it
    // patches it, and a listing of every group would double what the host holds.
    Operation {
        method: "GET",
        path: "/api/v3/core/groups/",
        query: &["include_users", "ordering", "page", "page_size"],
        pinned: &[("include_users", "false")],
        body: None,
        answer: Answer::Nothing,
    },
    // A lookup by exact name, which a write may follow directly.
    Operation {
        method: "GET",
        path: "/api/v3/core/groups/",
        query: &["include_users", "name"],
        pinned: &[("include_users", "false")],
        body: None,
        answer: Answer::GroupPage,
    },
    Operation {
        method: "GET",
        path: "/api/v3/core/groups/{uuid}/",
        query: &["include_users"],
        pinned: &[("include_users", "false")],
        body: None,
        answer: Answer::Group,
    },
    // Authentik answers writes with the group's members' details too, unless told not to.
    Operation {
        method: "POST",
        path: "/api/v3/core/groups/",
        query: &["include_users"],
        pinned: &[("include_users", "false")],
        // A new group carries the managed block and nothing else: no attribute of its own that
        // Authentik or an outpost would act on (`additionalHeaders`, `goauthentik.io/...`).
        body: Some(&[
            ("name", JsonKind::String),
            ("attributes", JsonKind::ObjectOf(&MANAGED_KEYS)),
        ]),
        answer: Answer::Group,
    },
    Operation {
        method: "PATCH",
        path: "/api/v3/core/groups/{uuid}/",
        query: &["include_users"],
        pinned: &[("include_users", "false")],
        // The group's whole attributes (Authentik replaces them): what the group held, the
        // managed keys aside. Otherwise a change of the block could also add
        // `additionalHeaders` or rewrite any attribute an outpost or a policy acts on.
        body: Some(&[("attributes", JsonKind::HeldExcept(&MANAGED_KEYS))]),
        answer: Answer::Group,
    },
];

/// What the sync needs from 1Password Connect: read vaults, items and item files.
pub const ONEPASSWORD_OPERATIONS: &[Operation] = &[
    Operation {
        method: "GET",
        path: "/v1/vaults",
        query: &["filter"],
        pinned: &[],
        body: None,
        answer: Answer::Nothing,
    },
    Operation {
        method: "GET",
        path: "/v1/vaults/**",
        query: &["filter"],
        pinned: &[],
        body: None,
        answer: Answer::Nothing,
    },
];

/// A service the component may call: where it is, under which base path, and which requests.
#[derive(Debug, Clone)]
pub struct ServiceGrant {
    pub service: &'static str,
    pub origin: Origin,
    /// The configured URL's path without its trailing slash (`""` at the root).
    base_path: String,
    operations: &'static [Operation],
}

impl ServiceGrant {
    /// Authentik at its configured URL, e.g. `https://auth.example.com/`.
    pub fn authentik(url: &str) -> anyhow::Result<ServiceGrant> {
        ServiceGrant::new(defaults::AUTHENTIK, url, AUTHENTIK_OPERATIONS)
    }

    /// 1Password Connect at its configured URL.
    pub fn onepassword(url: &str) -> anyhow::Result<ServiceGrant> {
        ServiceGrant::new(defaults::ONEPASSWORD, url, ONEPASSWORD_OPERATIONS)
    }

    fn new(
        service: &'static str,
        url: &str,
        operations: &'static [Operation],
    ) -> anyhow::Result<ServiceGrant> {
        let origin = Origin::parse(url)?;
        let uri: Uri = url.trim().parse()?;
        Ok(ServiceGrant {
            service,
            origin,
            base_path: uri.path().trim_end_matches('/').to_owned(),
            operations,
        })
    }

    /// The operation `method` on `uri` (already known to be at this origin) is, if any: its
    /// method, path and query keys match. Pinned query values are checked by the `Permit`.
    fn operation(&self, method: &str, uri: &Uri) -> Option<&'static Operation> {
        let path = uri
            .path()
            .strip_prefix(self.base_path.as_str())
            .filter(|rest| rest.starts_with('/'))?;
        let pairs = query_pairs(uri);
        self.operations.iter().find(|operation| {
            operation.method == method
                && path_matches(operation.path, path)
                && pairs.iter().all(|(key, _)| operation.query.contains(key))
        })
    }
}

/// The query's `key=value` pairs, raw (not percent-decoded: an encoded key is not a granted
/// key, and an encoded value is not a pinned value).
fn query_pairs(uri: &Uri) -> Vec<(&str, &str)> {
    uri.query()
        .into_iter()
        .flat_map(|query| query.split('&'))
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
        .collect()
}

/// `path` against a template: literal segments, `{uuid}` for one UUID, `**` (last) for one or
/// more segments. A dot segment (also percent-encoded) never matches: a server that resolves it
/// would serve another path than the one granted.
fn path_matches(template: &str, path: &str) -> bool {
    let mut segments = path.split('/');
    let mut templates = template.split('/');
    loop {
        match (templates.next(), segments.next()) {
            (None, None) => return true,
            (Some("**"), Some(first)) => {
                return std::iter::once(first)
                    .chain(segments)
                    .all(|segment| !segment.is_empty() && !is_dot_segment(segment));
            }
            (Some("{uuid}"), Some(segment)) if is_uuid(segment) => {}
            (Some(literal), Some(segment)) if literal == segment && !is_dot_segment(segment) => {}
            _ => return false,
        }
    }
}

fn is_dot_segment(segment: &str) -> bool {
    let decoded = segment.to_ascii_lowercase().replace("%2e", ".");
    decoded == "." || decoded == ".."
}

fn is_uuid(segment: &str) -> bool {
    let groups: Vec<&str> = segment.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(group, len)| group.len() == len && group.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Why a request was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No service is granted at this origin (or the URI has none).
    Origin(String),
    /// The service is granted; this method and path are not.
    Operation {
        service: &'static str,
        origin: String,
        method: String,
        path: String,
    },
    /// The method and path are granted; what the request carries (a query value, a header, the
    /// body) is not.
    Content(Box<ContentRefusal>),
}

/// A granted method and path whose query, headers or body are not granted.
#[derive(Debug, PartialEq, Eq)]
pub struct ContentRefusal {
    pub service: &'static str,
    pub origin: String,
    pub method: String,
    pub path: String,
    /// What is wrong, in words for the operator.
    pub reason: String,
    /// The offending query key, header or body key, if one is to blame.
    pub key: Option<String>,
}

/// A request whose method, path and query keys are granted: what it carries is checked next.
#[derive(Debug)]
pub struct Permit {
    pub service: ServiceGrant,
    pub operation: &'static Operation,
    method: String,
    path: String,
}

impl Permit {
    fn refuse(&self, reason: String, key: Option<&str>) -> Refusal {
        Refusal::Content(Box::new(ContentRefusal {
            service: self.service.service,
            origin: self.service.origin.to_string(),
            method: self.method.clone(),
            path: self.path.clone(),
            reason,
            key: key.map(str::to_owned),
        }))
    }

    /// Pinned query values: each pinned key exactly once, with its value.
    fn check_query(&self, uri: &Uri) -> Result<(), Refusal> {
        let pairs = query_pairs(uri);
        for (key, value) in self.operation.pinned {
            let given: Vec<&str> = pairs
                .iter()
                .filter(|(k, _)| k == key)
                .map(|(_, v)| *v)
                .collect();
            if given != [*value] {
                return Err(self.refuse(
                    format!("the query must carry {key}={value} exactly once"),
                    Some(key),
                ));
            }
        }
        Ok(())
    }

    /// The request's headers: only `REQUEST_HEADERS`, and a body's content type and length.
    /// `host`, which the host itself sets from the granted authority, is not looked at.
    pub fn check_headers<'h>(
        &self,
        headers: impl IntoIterator<Item = (&'h str, &'h [u8])>,
    ) -> Result<(), Refusal> {
        let mut content_type = Vec::new();
        let mut content_length = Vec::new();
        for (name, value) in headers {
            let name = name.to_ascii_lowercase();
            match name.as_str() {
                "host" => {}
                "content-type" => content_type.push(value),
                "content-length" => content_length.push(value),
                other if REQUEST_HEADERS.contains(&other) => {}
                other => {
                    return Err(self.refuse(
                        format!("the header {other:?} is not one the sync sends"),
                        Some(other),
                    ));
                }
            }
        }
        match self.operation.body {
            None if !content_type.is_empty() || content_length.iter().any(|v| *v != b"0") => {
                Err(self.oversized())
            }
            None => Ok(()),
            Some(_) if content_type != [BODY_CONTENT_TYPE.as_bytes()] => Err(self.refuse(
                format!("the body must be sent as Content-Type: {BODY_CONTENT_TYPE}"),
                Some("content-type"),
            )),
            // Without a length the body goes out chunked, and Authentik reads that as empty.
            Some(_) if content_length.len() != 1 => Err(self.refuse(
                "the body must be sent with one Content-Length".to_owned(),
                Some("content-length"),
            )),
            Some(_) => Ok(()),
        }
    }

    /// The refusal of a body longer than the operation allows (any body, if it has none).
    pub fn oversized(&self) -> Refusal {
        match self.operation.body {
            None => self.refuse("this request may not carry a body".to_owned(), None),
            Some(_) => self.refuse(
                format!("the body is larger than {MAX_BODY_BYTES} bytes"),
                None,
            ),
        }
    }

    /// The whole body, before any of it is sent: nothing for a request without one; otherwise
    /// JSON, at most `MAX_BODY_BYTES`, an object with exactly the operation's keys and types.
    pub fn check_body(&self, body: &[u8]) -> Result<(), Refusal> {
        self.parse_body(body).map(|_| ())
    }

    /// `check_body`, keeping the body as JSON for the checks after it (`None`: no body).
    pub fn parse_body(&self, body: &[u8]) -> Result<Option<serde_json::Value>, Refusal> {
        let Some(shape) = self.operation.body else {
            return match body.is_empty() {
                true => Ok(None),
                false => Err(self.oversized()),
            };
        };
        if body.len() > MAX_BODY_BYTES {
            return Err(self.oversized());
        }
        let Ok(value @ serde_json::Value::Object(_)) = serde_json::from_slice(body) else {
            return Err(self.refuse("the body is not a JSON object".to_owned(), None));
        };
        let object = value.as_object().expect("matched as an object");
        let allowed = || {
            shape
                .iter()
                .map(|(key, _)| format!("{key:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        if let Some(foreign) = object
            .keys()
            .find(|k| !shape.iter().any(|(key, _)| key == k))
        {
            // The component chose this key: cut and escaped before a log shows it.
            let shown = terminal_safe(&excerpt(foreign)).into_owned();
            return Err(self.refuse(
                format!("the body may not carry {shown:?} (only {})", allowed()),
                Some(&shown),
            ));
        }
        for (key, kind) in shape {
            match object.get(*key) {
                Some(value) if kind.holds(value) => {
                    let inner = value.as_object().into_iter().flat_map(|o| o.keys());
                    if let Some(allowed) = kind.keys()
                        && let Some(other) =
                            inner.into_iter().find(|k| !allowed.contains(&k.as_str()))
                    {
                        let shown = terminal_safe(&excerpt(other)).into_owned();
                        return Err(self.refuse(
                            format!(
                                "the body's {key:?} may not carry {shown:?} (only the managed keys)"
                            ),
                            Some(&shown),
                        ));
                    }
                }
                Some(_) => {
                    return Err(self.refuse(
                        format!("the body's {key:?} must be a JSON {}", kind.name()),
                        Some(key),
                    ));
                }
                None => {
                    return Err(
                        self.refuse(format!("the body must carry {}", allowed()), Some(key))
                    );
                }
            }
        }
        Ok(Some(value))
    }
}

impl Permit {
    /// A body key that must be what the group in the path held (`JsonKind::HeldExcept`) is
    /// checked against the answers this run relayed: a group never read, or a key outside the
    /// managed ones added, removed or changed, is refused. `parsed` is `parse_body`'s result.
    pub fn check_held(
        &self,
        parsed: Option<&serde_json::Value>,
        held: &Held,
    ) -> Result<(), Refusal> {
        let shape = self.operation.body.unwrap_or_default();
        for (key, kind) in shape {
            let (Some(managed), Some(sent)) = (
                kind.held_except(),
                parsed
                    .and_then(|body| body.get(*key))
                    .and_then(|v| v.as_object()),
            ) else {
                continue;
            };
            // The template's `{uuid}` is the path's last segment.
            let pk = self
                .path
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or_default();
            match held.check(pk, sent, managed) {
                Ok(()) => {}
                Err(NotHeld::Unread) => {
                    return Err(self.refuse(
                        format!("the body's {key:?} may only change the managed keys of a group this run has read, and it has not read this one"),
                        Some(key),
                    ));
                }
                Err(NotHeld::Changed(foreign)) => {
                    // The component chose this key: cut and escaped before a log shows it.
                    let shown = terminal_safe(&excerpt(&foreign)).into_owned();
                    return Err(self.refuse(
                        format!("the body's {key:?} may not change {shown:?}: only the managed keys may differ from what the group holds"),
                        Some(&shown),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// A run's tokens, by the service each one is for (`ServiceGrant::service`).
#[derive(Debug, Clone, Default)]
pub struct Tokens(Vec<(&'static str, String)>);

impl Tokens {
    /// The tokens in an environment (`SECRET_VARS`): the Authentik token, the 1Password ones.
    pub fn of(env: &[(String, String)]) -> Tokens {
        let service = |name: &str| {
            defaults::TOKEN_SERVICES
                .iter()
                .find(|(var, _)| *var == name)
                .map(|(_, service)| *service)
        };
        Tokens(
            env.iter()
                .filter(|(_, value)| !value.trim().is_empty())
                .filter_map(|(name, value)| Some((service(name)?, value.trim().to_owned())))
                .collect(),
        )
    }

    /// Every token value, whichever service it is for.
    pub fn values(&self) -> impl Iterator<Item = String> + '_ {
        self.0.iter().map(|(_, token)| token.clone())
    }
}

impl Permit {
    /// Each token goes only to its own service, and only as its `Authorization`: no token of
    /// the run in the target (raw or percent-decoded) or in the body (raw, or JSON-escaped:
    /// `parsed` is the body as `parse_body` read it), where a server would log it, store it, or
    /// hand it to whoever reads the group.
    pub fn check_tokens(
        &self,
        authorization: &[&[u8]],
        target: &str,
        body: &[u8],
        parsed: Option<&serde_json::Value>,
        tokens: &Tokens,
    ) -> Result<(), Refusal> {
        let own = |value: &[u8]| {
            tokens.0.iter().any(|(service, token)| {
                *service == self.service.service && value == format!("Bearer {token}").as_bytes()
            })
        };
        // Never the token itself in the refusal: only where it was.
        if !authorization.iter().all(|value| own(value)) || authorization.len() > 1 {
            return Err(self.refuse(
                format!(
                    "the Authorization header is not this run's {} token",
                    self.service.service
                ),
                Some("authorization"),
            ));
        }
        let decoded = percent_encoding::percent_decode_str(target).decode_utf8_lossy();
        let canonical = parsed.map(ToString::to_string).unwrap_or_default();
        let body = String::from_utf8_lossy(body);
        // Shorter than a real token, a value cannot be told from an ordinary word.
        let carried = |token: &String| {
            token.len() >= 8
                && [target, decoded.as_ref(), body.as_ref(), canonical.as_str()]
                    .iter()
                    .any(|text| text.contains(token.as_str()))
        };
        if tokens.0.iter().any(|(_, token)| carried(token)) {
            return Err(self.refuse(
                "the request carries a token outside its Authorization header".to_owned(),
                None,
            ));
        }
        Ok(())
    }
}

/// The services the component may reach; every other request is refused.
#[derive(Debug, Clone, Default)]
pub struct Allowlist {
    services: Vec<ServiceGrant>,
}

impl Allowlist {
    pub fn new(services: impl IntoIterator<Item = ServiceGrant>) -> Allowlist {
        Allowlist {
            services: services.into_iter().collect(),
        }
    }

    /// Whether `method` on `uri` may go out, to which service and as which operation. Its
    /// headers and body are checked by the `Permit`.
    pub fn check(&self, method: &str, uri: &Uri) -> Result<Permit, Refusal> {
        let Some(origin) = Origin::of(uri) else {
            // The component chose this URI: bounded before a log shows it.
            return Err(Refusal::Origin(excerpt(&uri.to_string())));
        };
        let mut at_origin = self
            .services
            .iter()
            .filter(|s| s.origin == origin)
            .peekable();
        let Some(first) = at_origin.peek().copied() else {
            // The component chose this host name: bounded before a log shows it.
            return Err(Refusal::Origin(excerpt(&origin.to_string())));
        };
        let permit = at_origin
            .find_map(|service| {
                service.operation(method, uri).map(|operation| Permit {
                    service: service.clone(),
                    operation,
                    method: method.to_owned(),
                    path: uri.path().to_owned(),
                })
            })
            .ok_or_else(|| Refusal::Operation {
                service: first.service,
                origin: origin.to_string(),
                method: method.to_owned(),
                path: uri.path().to_owned(),
            })?;
        permit.check_query(uri)?;
        Ok(permit)
    }

    /// The granted origins, each once.
    pub fn origins(&self) -> Vec<Origin> {
        let mut origins: Vec<Origin> = Vec::new();
        for service in &self.services {
            if !origins.contains(&service.origin) {
                origins.push(service.origin.clone());
            }
        }
        origins
    }
}

/// The environment the component sees: the named variables that are set on the host, nothing
/// else. `names` lists secrets and configuration the run needs. Only those are even looked at,
/// so another variable that is not text cannot stop the run; a granted one that is not UTF-8
/// is refused without its value (it may be a token).
pub fn granted_env<'a>(
    host_env: impl IntoIterator<Item = (OsString, OsString)>,
    names: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<(String, String)>, String> {
    let names: Vec<&str> = names.into_iter().collect();
    let mut env = Vec::new();
    for (name, value) in host_env {
        let Some(name) = name.to_str().filter(|name| names.contains(name)) else {
            continue;
        };
        let value = value.into_string().map_err(|_| {
            format!(
                "{name} is not valid UTF-8 text (its value is not shown); set it to the plain value"
            )
        })?;
        env.push((name.to_owned(), value));
    }
    env.sort();
    Ok(env)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(s: &str) -> Uri {
        s.parse().unwrap()
    }

    #[test]
    fn origins_normalize_scheme_host_and_default_port() {
        let o = Origin::parse("HTTPS://Auth.Example.com/some/path").unwrap();
        assert_eq!(o.to_string(), "https://auth.example.com:443");
        assert_eq!(
            Origin::parse("http://127.0.0.1:8080").unwrap().to_string(),
            "http://127.0.0.1:8080"
        );
        assert!(Origin::parse("ftp://x").is_err());
        assert!(Origin::parse("auth.example.com").is_err());
        // Not a port: no origin, rather than the scheme's default port.
        for bad in [
            "http://127.0.0.1:99999",
            "https://[::1]:70000/",
            "http://h:-1",
        ] {
            assert!(Origin::parse(bad).is_err(), "{bad}");
        }
    }

    fn local_authentik() -> Allowlist {
        Allowlist::new([ServiceGrant::authentik("http://127.0.0.1:8080").unwrap()])
    }

    const GROUP: &str = "3f2a9c1e-7b4d-4e8f-9a0b-1c2d3e4f5a6b";

    #[test]
    fn a_refused_origin_is_quoted_within_bounds() {
        let host = format!("http://{}.example:1/", "h".repeat(60_000));
        let Err(Refusal::Origin(shown)) = local_authentik().check("GET", &uri(&host)) else {
            panic!()
        };
        assert!(shown.len() < 2_000, "{}", shown.len());
    }

    #[test]
    fn services_under_base_paths_share_one_origin() {
        let list = Allowlist::new([
            ServiceGrant::authentik("https://edge.example/authentik/").unwrap(),
            ServiceGrant::onepassword("https://edge.example/op").unwrap(),
        ]);
        assert_eq!(list.origins().len(), 1);
    }

    fn permit(method: &str, target: &str) -> Permit {
        local_authentik()
            .check(method, &uri(&format!("http://127.0.0.1:8080{target}")))
            .unwrap()
    }

    fn content_key(refused: Refusal) -> Option<String> {
        match refused {
            Refusal::Content(refused) => refused.key,
            other => panic!("not a refusal of the request's content: {other:?}"),
        }
    }

    #[test]
    fn a_refusal_names_a_hostile_key_within_bounds() {
        let patch = permit(
            "PATCH",
            &format!("/api/v3/core/groups/{GROUP}/?include_users=false"),
        );
        let key = format!("users\\u202e{}", "k".repeat(100_000));
        let body = format!(r#"{{"attributes": {{}}, "{key}": 1}}"#);
        let Refusal::Content(refused) = patch.check_body(body.as_bytes()).unwrap_err() else {
            panic!()
        };
        let ContentRefusal { reason, key, .. } = *refused;
        assert!(reason.len() < 2_000, "{}", reason.len());
        assert!(key.unwrap().len() < 2_000);
        assert!(!reason.contains('\u{202e}'));
    }

    /// The cases the Node host's tests read too (`tests/vectors/grants.json`).
    fn vectors() -> serde_json::Value {
        serde_json::from_str(include_str!("../../tests/vectors/grants.json")).unwrap()
    }

    fn text<'v>(case: &'v serde_json::Value, field: &str) -> std::borrow::Cow<'v, str> {
        let group = vectors()["group"].as_str().unwrap().to_owned();
        match case[field].as_str().unwrap() {
            t if t.contains("{group}") => t.replace("{group}", &group).into(),
            t => t.into(),
        }
    }

    #[test]
    fn requests_are_granted_as_the_shared_vectors_say() {
        for config in vectors()["requests"].as_array().unwrap() {
            let grants = &config["grants"];
            let list = Allowlist::new([
                ServiceGrant::authentik(grants["authentik"].as_str().unwrap()).unwrap(),
                ServiceGrant::onepassword(grants["onepassword"].as_str().unwrap()).unwrap(),
            ]);
            for case in config["cases"].as_array().unwrap() {
                let (method, url) = (case["method"].as_str().unwrap(), text(case, "url"));
                let checked = list.check(method, &uri(&url));
                let what = format!("{method} {url}: {checked:?}");
                let service = case["service"].as_str();
                match (case["refused"].as_str(), checked) {
                    (None, Ok(permit)) => {
                        assert_eq!(Some(permit.service.service), service, "{what}")
                    }
                    (Some("origin"), Err(Refusal::Origin(shown))) => {
                        if let Some(origin) = case["origin"].as_str() {
                            assert_eq!(shown, origin, "{what}");
                        }
                    }
                    (
                        Some("operation"),
                        Err(Refusal::Operation {
                            service: s,
                            method: m,
                            ..
                        }),
                    ) => {
                        assert_eq!(m, method, "{what}");
                        assert!(service.is_none_or(|service| service == s), "{what}");
                    }
                    (Some("content"), Err(Refusal::Content(refused))) => {
                        assert_eq!(refused.key.as_deref(), case["key"].as_str(), "{what}")
                    }
                    _ => panic!("{what}: expected {case}"),
                }
            }
        }
    }

    /// `Ok(())`, or the key a content refusal named.
    fn outcome(checked: Result<(), Refusal>) -> Result<(), Option<String>> {
        checked.map_err(content_key)
    }

    fn expected(case: &serde_json::Value) -> Result<(), Option<String>> {
        match case.get("key") {
            None => Ok(()),
            Some(key) => Err(key.as_str().map(str::to_owned)),
        }
    }

    #[test]
    fn headers_are_checked_as_the_shared_vectors_say() {
        let mut wrong = Vec::new();
        for case in vectors()["headers"].as_array().unwrap() {
            let permit = permit(case["method"].as_str().unwrap(), &text(case, "target"));
            let headers: Vec<(&str, &[u8])> = case["headers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| (h[0].as_str().unwrap(), h[1].as_str().unwrap().as_bytes()))
                .collect();
            let got = outcome(permit.check_headers(headers));
            if got != expected(case) {
                wrong.push(format!("{case}: {got:?}"));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
        // This host sets `host` itself from the granted authority (wasi:http forbids a guest to);
        // the Node host's guest-set headers never carry it, and it refuses one.
        let get = permit("GET", "/api/v3/core/groups/?include_users=false");
        assert_eq!(
            get.check_headers([("host", b"127.0.0.1:8080".as_slice())]),
            Ok(())
        );
    }

    #[test]
    fn bodies_are_checked_as_the_shared_vectors_say() {
        for case in vectors()["bodies"].as_array().unwrap() {
            let permit = permit(case["method"].as_str().unwrap(), &text(case, "target"));
            let body = case["body"].as_str().unwrap().as_bytes();
            assert_eq!(outcome(permit.check_body(body)), expected(case), "{case}");
        }
        let huge = format!(
            r#"{{"attributes": {{"x": "{}"}}}}"#,
            "a".repeat(MAX_BODY_BYTES)
        );
        let patch = permit(
            "PATCH",
            &format!("/api/v3/core/groups/{GROUP}/?include_users=false"),
        );
        assert!(patch.check_body(huge.as_bytes()).is_err());
    }

    #[test]
    fn tokens_go_only_where_the_shared_vectors_say() {
        let vectors = vectors();
        let env: Vec<(String, String)> = vectors["tokens"]["env"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
            .collect();
        let tokens = Tokens::of(&env);
        let values: Vec<&str> = env
            .iter()
            .filter(|(name, _)| name.ends_with("_TOKEN"))
            .map(|(_, v)| v.as_str())
            .collect();
        for case in vectors["tokens"]["cases"].as_array().unwrap() {
            let target = text(case, "target");
            let permit = permit(case["method"].as_str().unwrap(), &target);
            let body = case["body"].as_str().unwrap().as_bytes();
            let authorization: Vec<&[u8]> = case["authorization"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().as_bytes())
                .collect();
            let parsed: Option<serde_json::Value> = serde_json::from_slice(body).ok();
            let checked =
                permit.check_tokens(&authorization, &target, body, parsed.as_ref(), &tokens);
            let refused = case["refused"].as_bool().unwrap();
            match checked {
                Ok(()) => assert!(!refused, "{case}"),
                Err(Refusal::Content(refusal)) => {
                    assert!(refused, "{case}");
                    if let Some(key) = case.get("key") {
                        assert_eq!(refusal.key.as_deref(), key.as_str(), "{case}");
                    }
                    // Not even part of one.
                    for value in &values {
                        let tail = &value[value.len() - 8..];
                        assert!(!refusal.reason.contains(tail), "{case}: {}", refusal.reason);
                    }
                }
                Err(other) => panic!("{case}: {other:?}"),
            }
        }
    }

    fn os(text: &str) -> OsString {
        OsString::from(text)
    }

    #[test]
    fn the_environment_is_reduced_to_the_named_variables() {
        use std::os::unix::ffi::OsStringExt;
        let host = vec![
            (os("AUTHENTIK_TOKEN"), os("a")),
            (os("HOME"), os("/root")),
            (os("AWS_SECRET_ACCESS_KEY"), os("x")),
            // Not text, and not granted: ignored, not a reason to stop.
            (os("LEGACY"), OsString::from_vec(b"\xff\xfe".to_vec())),
        ];
        let env = granted_env(host, SECRET_VARS).unwrap();
        assert_eq!(env, [("AUTHENTIK_TOKEN".to_owned(), "a".to_owned())]);
    }

    #[test]
    fn a_granted_variable_that_is_not_text_is_refused_without_its_value() {
        use std::os::unix::ffi::OsStringExt;
        let host = vec![(
            os("AUTHENTIK_TOKEN"),
            OsString::from_vec(b"ak-secret-\xff".to_vec()),
        )];
        let error = granted_env(host, SECRET_VARS).unwrap_err();
        assert!(
            error.starts_with("AUTHENTIK_TOKEN is not valid UTF-8"),
            "{error}"
        );
        assert!(!error.contains("ak-secret"), "{error}");
    }
}
