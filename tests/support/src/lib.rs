//! The checks every run must pass before a test looks at anything, whichever host ran it and
//! whichever test crate asks: stderr (or a log) is CLEF only, and no token shows anywhere.

pub mod host_table;

use serde_json::Value;

/// Every line of `log` is a CLEF event (`@t`, `@mt`, a known `@l` if any), and none of
/// `secrets` appears in it or in `others` (stdout, a result, a report).
pub fn assert_clef_and_clean(log: &str, others: &[&str], secrets: &[&str]) {
    for line in log.lines() {
        let event: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(
            event["@t"].is_string() && event["@mt"].is_string(),
            "not a CLEF event: {line}"
        );
        if let Some(level) = event.get("@l") {
            assert!(
                ["Verbose", "Debug", "Warning", "Error", "Fatal"]
                    .contains(&level.as_str().unwrap_or_default()),
                "bad @l: {line}"
            );
        }
    }
    for secret in secrets {
        assert!(!log.contains(secret), "a token leaked into the log:\n{log}");
        for other in others {
            assert!(
                !other.contains(secret),
                "a token leaked into the output:\n{other}"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[should_panic(expected = "not a CLEF event")]
    fn a_line_without_a_template_is_not_clef() {
        assert_clef_and_clean(r#"{"@t":"2026-12-01T00:00:00Z"}"#, &[], &[]);
    }

    #[test]
    #[should_panic(expected = "a token leaked into the output")]
    fn a_token_in_the_output_is_caught() {
        assert_clef_and_clean("", &["Bearer tok-123"], &["tok-123"]);
    }

    #[test]
    fn clean_clef_passes() {
        assert_clef_and_clean(
            "{\"@t\":\"x\",\"@mt\":\"m\",\"@l\":\"Warning\"}\n",
            &["{}"],
            &["tok-123"],
        );
    }
}
