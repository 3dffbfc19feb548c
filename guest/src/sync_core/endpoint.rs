//! The configured service origins (1Password Connect, Authentik) and the request targets built
//! from them. Parsing is strict so a typo fails before any request, with a message that says how.

use http::Uri;
use http::uri::Scheme;
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

impl Endpoint {
    /// Parses a service URL such as `https://authentik.example.com` or
    /// `http://onepassword-connect:8080`. `what` names the setting in error messages.
    pub fn parse(url: &str, what: &str) -> Result<Endpoint, String> {
        let trimmed = url.trim();
        if trimmed.is_empty() {
            return Err(format!(
                "{what} is empty; set it to the service's URL, e.g. https://host:port"
            ));
        }
        let uri: Uri = trimmed
            .parse()
            .map_err(|e| format!("{what} {trimmed:?} is not a valid URL: {e}"))?;
        let https = match uri.scheme() {
            Some(s) if *s == Scheme::HTTPS => true,
            Some(s) if *s == Scheme::HTTP => false,
            Some(other) => {
                return Err(format!(
                    "{what} {trimmed:?} uses {other}://; only http:// and https:// are supported"
                ));
            }
            None => {
                return Err(format!(
                    "{what} {trimmed:?} has no scheme; write it as http://{trimmed} or https://{trimmed}"
                ));
            }
        };
        let Some(authority) = uri.authority() else {
            return Err(format!("{what} {trimmed:?} has no host"));
        };
        if authority.as_str().contains('@') {
            return Err(format!(
                "{what} must not carry credentials in the URL; tokens come from the environment"
            ));
        }
        if uri.query().is_some() {
            return Err(format!("{what} {trimmed:?} must not have a query string"));
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
            let err = Endpoint::parse(url, "AUTHENTIK_URL").unwrap_err();
            assert!(err.contains(expected), "{url}: {err}");
        }
    }

    #[test]
    fn escapes_query_values() {
        assert_eq!(escape("title eq \"a b\""), "title%20eq%20%22a%20b%22");
    }
}
