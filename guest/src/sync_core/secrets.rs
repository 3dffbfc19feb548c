//! Keeps tokens out of everything this component says: messages that quote server answers are
//! scrubbed of the tokens before they reach a log, an error or the report.

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
        use crate::sync_core::untrusted::{MAX_EXCERPT_CHARS, excerpt};
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
    fn scrubs_every_occurrence() {
        let r = Redactor::new(["s3cr3t-token".to_owned(), "x".to_owned()]);
        assert_eq!(
            r.scrub("a s3cr3t-token b s3cr3t-token x"),
            "a [redacted] b [redacted] x"
        );
    }
}
