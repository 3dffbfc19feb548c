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

    pub fn scrub(&self, text: &str) -> String {
        self.secrets.iter().fold(text.to_owned(), |text, secret| {
            text.replace(secret.as_str(), "[redacted]")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrubs_every_occurrence() {
        let r = Redactor::new(["s3cr3t-token".to_owned(), "x".to_owned()]);
        assert_eq!(
            r.scrub("a s3cr3t-token b s3cr3t-token x"),
            "a [redacted] b [redacted] x"
        );
    }
}
