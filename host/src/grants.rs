//! What the sandbox grants the component: which origins it may call and which environment
//! variables it may read. Pure rules, each one unit-tested; `sandbox` enforces them.

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
