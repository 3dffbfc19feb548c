//! What the sandbox grants the component: which requests it may send to which service, and
//! which environment variables it may read. Pure rules, each one unit-tested; `sandbox` enforces
//! them.

use anyhow::{Context, bail};
use http::Uri;
use std::ffi::OsString;
use std::fmt;

/// The secrets a run may need; only these (and the config variables) reach the component.
pub const SECRET_VARS: [&str; 3] = ["OP_TOKEN", "OP_CONNECT_TOKEN", "AUTHENTIK_TOKEN"];

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
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        Some(Origin { https, host, port })
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.https { "https" } else { "http" };
        write!(f, "{scheme}://{}:{}", self.host, self.port)
    }
}

/// One kind of request a service is granted: a method and a path template under the service's
/// base path (`{uuid}` is one UUID segment, `**` one or more further segments), with the query
/// parameters it may carry.
#[derive(Debug)]
pub struct Operation {
    pub method: &'static str,
    pub path: &'static str,
    pub query: &'static [&'static str],
}

/// What the sync needs from Authentik: list and look up groups, create one, change one. Not
/// delete, not users, not tokens, whatever the token itself would allow.
pub const AUTHENTIK_OPERATIONS: &[Operation] = &[
    Operation {
        method: "GET",
        path: "/api/v3/core/groups/",
        query: &["include_users", "ordering", "page", "page_size", "name"],
    },
    Operation {
        method: "GET",
        path: "/api/v3/core/groups/{uuid}/",
        query: &["include_users"],
    },
    Operation {
        method: "POST",
        path: "/api/v3/core/groups/",
        query: &[],
    },
    Operation {
        method: "PATCH",
        path: "/api/v3/core/groups/{uuid}/",
        query: &[],
    },
];

/// What the sync needs from 1Password Connect: read vaults, items and item files.
pub const ONEPASSWORD_OPERATIONS: &[Operation] = &[
    Operation {
        method: "GET",
        path: "/v1/vaults",
        query: &["filter"],
    },
    Operation {
        method: "GET",
        path: "/v1/vaults/**",
        query: &["filter"],
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
        ServiceGrant::new("Authentik", url, AUTHENTIK_OPERATIONS)
    }

    /// 1Password Connect at its configured URL.
    pub fn onepassword(url: &str) -> anyhow::Result<ServiceGrant> {
        ServiceGrant::new("1Password Connect", url, ONEPASSWORD_OPERATIONS)
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

    /// Whether `method` on `uri` (already known to be at this origin) is one of the operations.
    fn permits(&self, method: &str, uri: &Uri) -> bool {
        let Some(path) = uri
            .path()
            .strip_prefix(self.base_path.as_str())
            .filter(|rest| rest.starts_with('/'))
        else {
            return false;
        };
        let keys: Vec<&str> = uri
            .query()
            .into_iter()
            .flat_map(|query| query.split('&'))
            .map(|pair| pair.split_once('=').map_or(pair, |(key, _)| key))
            .collect();
        self.operations.iter().any(|operation| {
            operation.method == method
                && path_matches(operation.path, path)
                && keys.iter().all(|key| operation.query.contains(key))
        })
    }
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

    /// Whether `method` on `uri` may go out, and to which service.
    pub fn check(&self, method: &str, uri: &Uri) -> Result<&ServiceGrant, Refusal> {
        let Some(origin) = Origin::of(uri) else {
            return Err(Refusal::Origin(uri.to_string()));
        };
        let mut at_origin = self
            .services
            .iter()
            .filter(|s| s.origin == origin)
            .peekable();
        let Some(first) = at_origin.peek().copied() else {
            return Err(Refusal::Origin(origin.to_string()));
        };
        at_origin
            .find(|service| service.permits(method, uri))
            .ok_or_else(|| Refusal::Operation {
                service: first.service,
                origin: origin.to_string(),
                method: method.to_owned(),
                path: uri.path().to_owned(),
            })
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
    }

    fn local_authentik() -> Allowlist {
        Allowlist::new([ServiceGrant::authentik("http://127.0.0.1:8080").unwrap()])
    }

    #[test]
    fn only_exact_origins_are_allowed() {
        let list = local_authentik();
        assert!(
            list.check("GET", &uri("http://127.0.0.1:8080/api/v3/core/groups/"))
                .is_ok()
        );
        for refused in [
            "http://127.0.0.1:8081/",
            "https://127.0.0.1:8080/",
            "http://127.0.0.2:8080/",
            "http://localhost:8080/",
            "http://127.0.0.1/",
        ] {
            assert!(
                matches!(list.check("GET", &uri(refused)), Err(Refusal::Origin(_))),
                "{refused} must be refused"
            );
        }
        assert_eq!(
            list.check("GET", &uri("http://evil.example:1/x"))
                .unwrap_err(),
            Refusal::Origin("http://evil.example:1".into())
        );
    }

    const GROUP: &str = "3f2a9c1e-7b4d-4e8f-9a0b-1c2d3e4f5a6b";

    #[test]
    fn authentik_grants_only_what_the_sync_does_with_groups() {
        let list = local_authentik();
        let base = "http://127.0.0.1:8080";
        for (method, target) in [
            (
                "GET",
                "/api/v3/core/groups/?include_users=false&ordering=name&page=2&page_size=100"
                    .to_owned(),
            ),
            (
                "GET",
                "/api/v3/core/groups/?include_users=false&name=a%20b".to_owned(),
            ),
            ("GET", format!("/api/v3/core/groups/{GROUP}/")),
            ("POST", "/api/v3/core/groups/".to_owned()),
            ("PATCH", format!("/api/v3/core/groups/{GROUP}/")),
        ] {
            let checked = list.check(method, &uri(&format!("{base}{target}")));
            assert_eq!(
                checked.map(|s| s.service),
                Ok("Authentik"),
                "{method} {target}"
            );
        }
        for (method, target) in [
            ("GET", "/api/v3/core/tokens/".to_owned()),
            ("GET", "/api/v3/core/users/".to_owned()),
            ("DELETE", format!("/api/v3/core/groups/{GROUP}/")),
            ("PUT", format!("/api/v3/core/groups/{GROUP}/")),
            ("POST", format!("/api/v3/core/groups/{GROUP}/add_user/")),
            ("PATCH", "/api/v3/core/groups/".to_owned()),
            ("POST", "/api/v3/core/groups/?next=x".to_owned()),
            ("GET", "/api/v3/core/groups/?search=x".to_owned()),
            ("GET", "/api/v3/core/groups/not-a-uuid/".to_owned()),
            ("GET", "/api/v3/core/groups".to_owned()),
            ("GET", "/api/v3/core/groups/../tokens/".to_owned()),
            ("GET", "/api/v3/core/groups/%2e%2E/tokens/".to_owned()),
            ("GET", "/v1/vaults".to_owned()),
        ] {
            let refused = list
                .check(method, &uri(&format!("{base}{target}")))
                .unwrap_err();
            let Refusal::Operation {
                service, method: m, ..
            } = &refused
            else {
                panic!("{method} {target}: {refused:?}")
            };
            assert_eq!((*service, m.as_str()), ("Authentik", method));
        }
    }

    #[test]
    fn onepassword_grants_reads_under_vaults_only() {
        let list = Allowlist::new([ServiceGrant::onepassword("http://127.0.0.1:9000").unwrap()]);
        let check = |method: &str, target: &str| {
            list.check(method, &uri(&format!("http://127.0.0.1:9000{target}")))
                .is_ok()
        };
        assert!(check("GET", "/v1/vaults"));
        assert!(check("GET", "/v1/vaults?filter=name%20eq%20%22x%22"));
        assert!(check(
            "GET",
            "/v1/vaults/abc/items?filter=title%20eq%20%22m%22"
        ));
        assert!(check("GET", "/v1/vaults/abc/items/def/files/ghi/content"));
        assert!(!check("PUT", "/v1/vaults/abc/items/def"));
        assert!(!check("DELETE", "/v1/vaults/abc/items/def"));
        assert!(!check("GET", "/v1/activity"));
        assert!(!check("GET", "/v1/vaults/../activity"));
        assert!(!check("GET", "/v1/vaults/abc/%2E%2e/%2e%2e/activity"));
        assert!(!check("GET", "/v1/vaults/"));
        assert!(!check("GET", "/v1/vaults/abc?inline_files=true"));
    }

    #[test]
    fn operations_are_granted_under_the_configured_base_path() {
        let list = Allowlist::new([
            ServiceGrant::authentik("https://edge.example/authentik/").unwrap(),
            ServiceGrant::onepassword("https://edge.example/op").unwrap(),
        ]);
        let check = |method: &str, path: &str| {
            list.check(method, &uri(&format!("https://edge.example{path}")))
                .map(|s| s.service)
        };
        assert_eq!(
            check("POST", "/authentik/api/v3/core/groups/"),
            Ok("Authentik")
        );
        assert_eq!(check("GET", "/op/v1/vaults"), Ok("1Password Connect"));
        assert!(
            check("POST", "/api/v3/core/groups/").is_err(),
            "outside the base path"
        );
        assert!(check("GET", "/authentikx/api/v3/core/groups/").is_err());
        assert!(
            check("GET", "/authentik/v1/vaults").is_err(),
            "another service's operation"
        );
        assert_eq!(list.origins().len(), 1, "one origin, shared");
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
