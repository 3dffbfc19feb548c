//! The configured service origins (1Password Connect, Authentik) and the request targets built
//! from them. Parsing is strict so a typo fails before any request, with a message that says how.

use super::untrusted::excerpt;
use http::Uri;
use http::uri::{Authority, Scheme};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use std::fmt;

/// Characters left as they are in a query value (RFC 3986 unreserved).
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Where a service lives: scheme, authority and an optional path prefix (for services behind a
/// reverse proxy under a sub-path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub https: bool,
    /// `host[:port]`, as given.
    pub authority: String,
    /// Empty, or a prefix such as `/authentik` (no trailing slash).
    pub base_path: String,
}

/// A configured service URL that cannot be used: which setting (`what`) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadUrl {
    pub what: String,
    pub problem: UrlProblem,
}

/// Why a service URL cannot be used. Each carries the URL as given where the message shows it;
/// one with credentials in it is never kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlProblem {
    Empty,
    Invalid { url: String, reason: String },
    Scheme { url: String, scheme: String },
    NoScheme { url: String },
    NoHost { url: String },
    Credentials,
    Query { url: String },
}

impl fmt::Display for BadUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = &self.what;
        match &self.problem {
            UrlProblem::Empty => write!(
                f,
                "{what} is empty; set it to the service's URL, e.g. https://host:port"
            ),
            UrlProblem::Invalid { url, reason } => {
                write!(f, "{what} {url:?} is not a valid URL: {reason}")
            }
            UrlProblem::Scheme { url, scheme } => write!(
                f,
                "{what} {url:?} uses {scheme}://; only http:// and https:// are supported"
            ),
            UrlProblem::NoScheme { url } => write!(
                f,
                "{what} {url:?} has no scheme; write it as http://{url} or https://{url}"
            ),
            UrlProblem::NoHost { url } => write!(f, "{what} {url:?} has no host"),
            UrlProblem::Credentials => write!(
                f,
                "{what} must not carry credentials in the URL; tokens come from the environment"
            ),
            UrlProblem::Query { url } => write!(f, "{what} {url:?} must not have a query string"),
        }
    }
}

impl Endpoint {
    /// Parses a service URL such as `https://authentik.example.com` or
    /// `http://onepassword-connect:8080`. `what` names the setting in error messages.
    pub fn parse(url: &str, what: &str) -> Result<Endpoint, BadUrl> {
        let bad = |problem| BadUrl {
            what: what.to_owned(),
            problem,
        };
        let trimmed = url.trim();
        if trimmed.is_empty() {
            return Err(bad(UrlProblem::Empty));
        }
        let url = trimmed.to_owned();
        let uri: Uri = trimmed.parse().map_err(|e: http::uri::InvalidUri| {
            bad(UrlProblem::Invalid {
                url: url.clone(),
                reason: e.to_string(),
            })
        })?;
        let https = match uri.scheme() {
            Some(s) if *s == Scheme::HTTPS => true,
            Some(s) if *s == Scheme::HTTP => false,
            Some(other) => {
                let scheme = other.to_string();
                return Err(bad(UrlProblem::Scheme { url, scheme }));
            }
            None => return Err(bad(UrlProblem::NoScheme { url })),
        };
        let Some(authority) = uri.authority() else {
            return Err(bad(UrlProblem::NoHost { url }));
        };
        if authority.as_str().contains('@') {
            return Err(bad(UrlProblem::Credentials));
        }
        if uri.query().is_some() {
            return Err(bad(UrlProblem::Query { url }));
        }
        Ok(Endpoint {
            https,
            authority: authority.as_str().to_owned(),
            base_path: uri.path().trim_end_matches('/').to_owned(),
        })
    }

    /// The path and query to request, under the base path.
    pub fn target(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.base_path)
    }

    /// `host:port`, the port spelled out even when the URL leaves it implicit: what a
    /// connection error names.
    pub fn host_port(&self) -> String {
        let explicit = self
            .authority
            .parse::<Authority>()
            .is_ok_and(|authority| authority.port_u16().is_some());
        match explicit {
            true => self.authority.clone(),
            false => format!("{}:{}", self.authority, if self.https { 443 } else { 80 }),
        }
    }

    /// What to say about a redirect answer (never followed: the URL should name the service
    /// itself). `location` is the untrusted `Location` header; `setting` the option to change.
    pub fn redirect_advice(&self, location: Option<&str>, setting: &str) -> String {
        let Some(location) = location.map(excerpt) else {
            return format!(
                "the server answered with a redirect but no Location; check {setting} ({self})"
            );
        };
        let target = location
            .parse::<Uri>()
            .ok()
            .and_then(|uri| Some((uri.scheme_str()?.to_owned(), uri.authority()?.to_string())));
        match target {
            Some((scheme, authority)) if format!("{scheme}://{authority}") != self.to_string() => {
                format!(
                    "the server redirects to {location}; set {setting} to {scheme}://{authority}{} instead of {self}{} (redirects are not followed)",
                    self.base_path, self.base_path
                )
            }
            _ => format!(
                "the server redirects to {location}; check the path in {setting} ({self}{}); redirects are not followed",
                self.base_path
            ),
        }
    }
}

impl fmt::Display for Endpoint {
    /// The origin, as logs and error messages show it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.https { "https" } else { "http" };
        write!(f, "{scheme}://{}", self.authority)
    }
}

/// Escapes a value for use inside a query string or path segment.
pub fn escape(value: &str) -> String {
    utf8_percent_encode(value, QUERY_VALUE).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_service_urls() {
        let e = Endpoint::parse("https://auth.example.com:8443/proxy/", "AUTHENTIK_URL").unwrap();
        assert!(e.https);
        assert_eq!(e.authority, "auth.example.com:8443");
        assert_eq!(e.target("/api/v3/x"), "/proxy/api/v3/x");
        assert_eq!(e.to_string(), "https://auth.example.com:8443");
        let e = Endpoint::parse("http://127.0.0.1:8080", "OP_CONNECT_HOST").unwrap();
        assert_eq!(e.target("/v1/vaults"), "/v1/vaults");
    }

    #[test]
    fn refuses_unusable_urls_with_advice() {
        for (url, expected) in [
            ("", "is empty"),
            ("authentik:9000", "no scheme"),
            ("ftp://x", "only http:// and https://"),
            ("https://user:pw@x", "must not carry credentials"),
            ("https://x/?a=b", "query string"),
        ] {
            let err = Endpoint::parse(url, "AUTHENTIK_URL")
                .unwrap_err()
                .to_string();
            assert!(err.contains(expected), "{url}: {err}");
            assert!(!err.contains("pw@"), "{err}");
        }
    }

    #[test]
    fn names_host_and_port() {
        let at = |url| Endpoint::parse(url, "X").unwrap().host_port();
        assert_eq!(at("https://auth.example.com"), "auth.example.com:443");
        assert_eq!(at("http://auth.example.com/x"), "auth.example.com:80");
        assert_eq!(at("http://127.0.0.1:9000"), "127.0.0.1:9000");
        assert_eq!(at("https://[::1]"), "[::1]:443");
        assert_eq!(at("https://[::1]:8443"), "[::1]:8443");
    }

    #[test]
    fn a_redirect_names_where_it_points_and_what_to_set() {
        let plain = Endpoint::parse("http://auth.example.com", "X").unwrap();
        assert_eq!(
            plain.redirect_advice(
                Some("https://auth.example.com/api/v3/core/groups/?page=1"),
                "AUTHENTIK_URL"
            ),
            "the server redirects to https://auth.example.com/api/v3/core/groups/?page=1; set AUTHENTIK_URL to https://auth.example.com instead of http://auth.example.com (redirects are not followed)"
        );
        let proxied = Endpoint::parse("http://x.example/authentik", "X").unwrap();
        assert!(
            proxied
                .redirect_advice(Some("https://x.example/authentik/api/v3/"), "AUTHENTIK_URL")
                .contains("set AUTHENTIK_URL to https://x.example/authentik instead of http://x.example/authentik")
        );
        let relative = plain.redirect_advice(Some("/if/flow/login/"), "AUTHENTIK_URL");
        assert!(
            relative.contains("check the path in AUTHENTIK_URL"),
            "{relative}"
        );
        let hostile = plain.redirect_advice(Some("https://e\u{1b}[2Kvil\n"), "AUTHENTIK_URL");
        assert!(
            !hostile.contains('\u{1b}') && !hostile.contains('\n'),
            "{hostile}"
        );
        assert!(
            plain
                .redirect_advice(None, "AUTHENTIK_URL")
                .contains("no Location")
        );
    }

    #[test]
    fn escapes_query_values() {
        assert_eq!(escape("title eq \"a b\""), "title%20eq%20%22a%20b%22");
    }
}
