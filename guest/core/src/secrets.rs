//! Keeps tokens out of everything this component says. The component scrubs once, where its
//! output leaves it (events, the report, failures: `component/redact.rs`), so no call site
//! that quotes a server's answer can forget to.

use serde_json::Value;

/// Tokens shorter than this cannot be told apart from ordinary words, so they are not scrubbed
/// (and a real token is never this short).
const MIN_SCRUBBED_LEN: usize = 8;

#[derive(Debug, Clone, Default)]
pub struct Redactor {
    secrets: Vec<String>,
}

impl Redactor {
    pub fn new(secrets: impl IntoIterator<Item = String>) -> Redactor {
        Redactor {
            secrets: secrets
                .into_iter()
                .filter(|s| s.len() >= MIN_SCRUBBED_LEN)
                .collect(),
        }
    }

    /// `text` without any token, also where quoting cut one short: server text is cut to a
    /// readable length (`untrusted::excerpt`, which ends a cut with `…`) before it reaches here,
    /// so the start of a token (8 or more of its characters) right before a cut is removed too.
    pub fn scrub(&self, text: &str) -> String {
        self.secrets.iter().fold(text.to_owned(), |text, secret| {
            // Each piece ends at a cut, or where the text ends (which may be a cut too).
            text.replace(secret.as_str(), "[redacted]")
                .split(CUT)
                .map(|piece| without_cut_token(piece, secret))
                .collect::<Vec<_>>()
                .join(CUT)
        })
    }
}

impl Redactor {
    /// Whether there is anything to scrub at all.
    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// `text` scrubbed where it is.
    pub fn scrub_in_place(&self, text: &mut String) {
        if !self.is_empty() {
            *text = self.scrub(text);
        }
    }

    /// Every string in `value`, object keys included, scrubbed.
    pub fn scrub_value(&self, value: &mut Value) {
        if self.is_empty() {
            return;
        }
        match value {
            Value::String(text) => self.scrub_in_place(text),
            Value::Array(items) => items.iter_mut().for_each(|item| self.scrub_value(item)),
            Value::Object(object) => {
                let entries = std::mem::take(object);
                for (mut key, mut item) in entries {
                    self.scrub_in_place(&mut key);
                    self.scrub_value(&mut item);
                    object.insert(key, item);
                }
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }
}

/// What `untrusted::excerpt` appends where it cut text short.
const CUT: &str = "…";

/// `piece` with a trailing start of `secret` (at least `MIN_SCRUBBED_LEN` bytes) redacted.
fn without_cut_token(piece: &str, secret: &str) -> String {
    let longest = (MIN_SCRUBBED_LEN..secret.len())
        .rev()
        .filter(|n| secret.is_char_boundary(*n))
        .find(|n| piece.ends_with(&secret[..*n]));
    match longest {
        Some(n) => format!("{}[redacted]", &piece[..piece.len() - n]),
        None => piece.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_cut_short_by_an_excerpt_is_scrubbed() {
        use crate::untrusted::{MAX_EXCERPT_CHARS, excerpt};
        let token = "ak-secret-0123456789-SHOULD-NOT-LEAK";
        let r = Redactor::new([token.to_owned()]);
        // The token straddles the cut at every offset that keeps 8 or more of its characters.
        for kept in 8..token.len() {
            let server = format!(
                "{}Bearer {token} and more",
                "y".repeat(MAX_EXCERPT_CHARS - "Bearer ".len() - kept)
            );
            let message = format!("HTTP 500 ({}); check its logs", excerpt(&server));
            let scrubbed = r.scrub(&message);
            assert!(!scrubbed.contains(&token[..8]), "{kept}: {scrubbed}");
            assert!(
                scrubbed.contains("Bearer [redacted]…"),
                "{kept}: {scrubbed}"
            );
        }
    }

    #[test]
    fn text_that_merely_ends_like_a_token_start_is_kept_when_shorter_than_8() {
        let r = Redactor::new(["ak-secret-token".to_owned()]);
        assert_eq!(r.scrub("say ak-sec…"), "say ak-sec…");
    }

    #[test]
    fn every_string_of_a_json_value_is_scrubbed_keys_too() {
        let r = Redactor::new(["s3cr3t-token".to_owned()]);
        let mut value = serde_json::json!({
            "a": ["x s3cr3t-token", {"s3cr3t-token": "Bearer s3cr3t-token"}],
            "n": 1,
        });
        r.scrub_value(&mut value);
        assert_eq!(
            value,
            serde_json::json!({"a": ["x [redacted]", {"[redacted]": "Bearer [redacted]"}], "n": 1})
        );
    }

    #[test]
    fn scrubs_every_occurrence() {
        let r = Redactor::new(["s3cr3t-token".to_owned(), "x".to_owned()]);
        assert_eq!(
            r.scrub("a s3cr3t-token b s3cr3t-token x"),
            "a [redacted] b [redacted] x"
        );
    }
}
