//! Compact Log Event Format (Serilog's CLEF): one JSON object per line with `@t`, `@mt`, `@l`.
//! Pure formatting; the component and the host each write the lines to their stderr.

use super::untrusted::json_terminal_safe;
use serde_json::Value;
use std::time::{Duration, SystemTime};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Debug,
    Information,
    Warning,
    Error,
}

impl Level {
    /// CLEF omits `@l` for Information, so this is `None` there.
    fn clef_name(self) -> Option<&'static str> {
        match self {
            Level::Debug => Some("Debug"),
            Level::Information => None,
            Level::Warning => Some("Warning"),
            Level::Error => Some("Error"),
        }
    }
}

/// The `@t` of an event that happened `since_epoch` after 1970-01-01T00:00:00Z.
pub fn timestamp(since_epoch: Duration) -> String {
    humantime::format_rfc3339_millis(SystemTime::UNIX_EPOCH + since_epoch).to_string()
}

/// One event line (no trailing newline). `timestamp` is RFC 3339 UTC; `template` uses
/// `{Name}` holes that the properties fill.
pub fn render(
    timestamp: &str,
    level: Level,
    template: &str,
    properties: &[(&str, Value)],
) -> String {
    let mut line = String::with_capacity(96 + template.len());
    line.push_str("{\"@t\":");
    push_json_string(&mut line, timestamp);
    line.push_str(",\"@mt\":");
    push_json_string(&mut line, template);
    if let Some(level) = level.clef_name() {
        line.push_str(",\"@l\":\"");
        line.push_str(level);
        line.push('"');
    }
    for (name, value) in properties {
        line.push(',');
        // CLEF reserves names starting with `@`; user properties escape it by doubling.
        if name.starts_with('@') {
            push_json_string(&mut line, &format!("@{name}"));
        } else {
            push_json_string(&mut line, name);
        }
        line.push(':');
        line.push_str(&value.to_string());
    }
    line.push('}');
    // A server's string may carry U+2028 (a line break to some log viewers) or bidi controls.
    json_terminal_safe(line)
}

fn push_json_string(out: &mut String, text: &str) {
    out.push_str(&Value::from(text).to_string());
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_a_clef_event() {
        let line = render(
            "2026-11-28T00:00:00.000Z",
            Level::Information,
            "Created {Group}",
            &[("Group", json!("a\"b")), ("@odd", json!(1))],
        );
        let parsed: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            parsed,
            json!({"@t": "2026-11-28T00:00:00.000Z", "@mt": "Created {Group}", "Group": "a\"b", "@@odd": 1})
        );
        assert!(line.starts_with("{\"@t\":"));
        let hostile = render(
            "t",
            Level::Warning,
            "x",
            &[("Name", json!("a\u{2028}\u{202e}b"))],
        );
        assert_eq!(
            hostile,
            r#"{"@t":"t","@mt":"x","@l":"Warning","Name":"a\u2028\u202eb"}"#
        );
        let warning = render("t", Level::Warning, "x", &[]);
        assert_eq!(warning, r#"{"@t":"t","@mt":"x","@l":"Warning"}"#);
    }
}
