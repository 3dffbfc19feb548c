//! What the sandbox grants the component: which origins it may call and which environment
//! variables it may read. Pure rules, each one unit-tested; `sandbox` enforces them.

use anyhow::{Context, bail};
use http::Uri;
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

/// The origins the component may reach; everything else is refused.
#[derive(Debug, Clone, Default)]
pub struct Allowlist {
    origins: Vec<Origin>,
}

impl Allowlist {
    pub fn new(origins: impl IntoIterator<Item = Origin>) -> Allowlist {
        let mut origins: Vec<Origin> = origins.into_iter().collect();
        origins.dedup();
        Allowlist { origins }
    }

    /// Whether a request to `uri` may go out. `Err` carries what to name in the refusal.
    pub fn check(&self, uri: &Uri) -> Result<Origin, String> {
        match Origin::of(uri) {
            Some(origin) if self.origins.contains(&origin) => Ok(origin),
            Some(origin) => Err(origin.to_string()),
            None => Err(uri.to_string()),
        }
    }

    pub fn origins(&self) -> &[Origin] {
        &self.origins
    }
}

/// The environment the component sees: the named variables that are set on the host, nothing
/// else. `names` lists secrets and configuration the run needs.
pub fn granted_env<'a>(
    host_env: impl IntoIterator<Item = (String, String)>,
    names: impl IntoIterator<Item = &'a str>,
) -> Vec<(String, String)> {
    let names: Vec<&str> = names.into_iter().collect();
    let mut env: Vec<(String, String)> = host_env
        .into_iter()
        .filter(|(k, _)| names.contains(&k.as_str()))
        .collect();
    env.sort();
    env
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

    #[test]
    fn only_exact_origins_are_allowed() {
        let list = Allowlist::new([Origin::parse("http://127.0.0.1:8080").unwrap()]);
        assert!(
            list.check(&uri("http://127.0.0.1:8080/api/v3/core/groups/"))
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
                list.check(&uri(refused)).is_err(),
                "{refused} must be refused"
            );
        }
        assert_eq!(
            list.check(&uri("http://evil.example:1/x")).unwrap_err(),
            "http://evil.example:1"
        );
    }

    #[test]
    fn the_environment_is_reduced_to_the_named_variables() {
        let host = vec![
            ("AUTHENTIK_TOKEN".to_owned(), "a".to_owned()),
            ("HOME".to_owned(), "/root".to_owned()),
            ("AWS_SECRET_ACCESS_KEY".to_owned(), "x".to_owned()),
        ];
        let env = granted_env(host, SECRET_VARS);
        assert_eq!(env, [("AUTHENTIK_TOKEN".to_owned(), "a".to_owned())]);
    }
}
