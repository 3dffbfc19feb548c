//! Text quoted from a server's answer goes into logs and reports; it is cut to a readable size
//! and stripped of control characters first, so a broken or hostile server cannot flood or
//! forge log lines.

use serde_json::Value;
use std::borrow::Cow;

/// Longest excerpt of server text kept in a message.
pub const MAX_EXCERPT_CHARS: usize = 300;

pub fn excerpt(text: &str) -> String {
    let mut out: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_EXCERPT_CHARS)
        .collect();
    if text.chars().count() > MAX_EXCERPT_CHARS {
        out.push('…');
    }
    out
}

/// `text` safe to show on a terminal: every [`is_invisible`] character becomes a `\u{…}` escape,
/// so a name cannot move the cursor, reorder what is shown, forge a line of a table or pass for
/// another name.
pub fn terminal_safe(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_invisible) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| match is_invisible(c) {
                true => format!("\\u{{{:04x}}}", c as u32),
                false => c.to_string(),
            })
            .collect(),
    )
}

/// A JSON document safe to show on a terminal, meaning the same: every [`is_invisible`]
/// character becomes a `\uXXXX` escape (a surrogate pair past U+FFFF). serde_json writes
/// U+202E or U+2028 inside strings as they are; outside strings JSON has only ASCII
/// whitespace, which stays.
pub fn json_terminal_safe(json: String) -> String {
    if !json
        .chars()
        .any(|c| is_invisible(c) && !matches!(c, '\n' | '\r' | '\t'))
    {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if is_invisible(c) && !matches!(c, '\n' | '\r' | '\t') {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A value from a server or the mapping, bounded for a report or a log: a string is cut like
/// any excerpt, and any other value whose JSON is longer than an excerpt becomes an excerpt of
/// that JSON.
pub fn shown_value(value: &Value) -> Value {
    match value {
        Value::String(text) => Value::String(excerpt(text)),
        other => {
            let text = other.to_string();
            match text.chars().count() > MAX_EXCERPT_CHARS {
                true => Value::String(excerpt(&text)),
                false => other.clone(),
            }
        }
    }
}

/// Whether `c` shows as nothing, or as something it is not: see [`INVISIBLE`].
pub fn is_invisible(c: char) -> bool {
    // The table's ASCII ranges, without scanning it: most text is ASCII.
    if c.is_ascii() {
        return c.is_ascii_control();
    }
    INVISIBLE
        .iter()
        .any(|&(first, last)| (first..=last).contains(&c))
}

/// The characters that show as nothing, or as something they are not, as inclusive ranges:
/// control characters (Cc), Unicode format characters (Cf: zero-width, bidirectional and other
/// controls), the line and paragraph separators, every Default_Ignorable_Code_Point (variation
/// selectors, fillers, tags), and spaces other than U+0020. Unicode 16.0
/// (DerivedGeneralCategory.txt, DerivedCoreProperties.txt, PropList.txt White_Space); data, so
/// the mapping's JSON Schema is generated from the same table. A general-category crate would
/// cost the component tens of KiB for these few lines.
pub const INVISIBLE: &[(char, char)] = &[
    ('\u{0000}', '\u{001f}'),
    ('\u{007f}', '\u{00a0}'),
    ('\u{00ad}', '\u{00ad}'),
    ('\u{034f}', '\u{034f}'),
    ('\u{0600}', '\u{0605}'),
    ('\u{061c}', '\u{061c}'),
    ('\u{06dd}', '\u{06dd}'),
    ('\u{070f}', '\u{070f}'),
    ('\u{0890}', '\u{0891}'),
    ('\u{08e2}', '\u{08e2}'),
    ('\u{115f}', '\u{1160}'),
    ('\u{1680}', '\u{1680}'),
    ('\u{17b4}', '\u{17b5}'),
    ('\u{180b}', '\u{180f}'),
    ('\u{2000}', '\u{200f}'),
    // Line and paragraph separators (Zl, Zp), the embedding and override controls, U+202F.
    ('\u{2028}', '\u{202f}'),
    ('\u{205f}', '\u{206f}'),
    ('\u{2800}', '\u{2800}'),
    ('\u{3000}', '\u{3000}'),
    ('\u{3164}', '\u{3164}'),
    ('\u{fe00}', '\u{fe0f}'),
    ('\u{feff}', '\u{feff}'),
    ('\u{ffa0}', '\u{ffa0}'),
    ('\u{fff0}', '\u{fffb}'),
    ('\u{110bd}', '\u{110bd}'),
    ('\u{110cd}', '\u{110cd}'),
    ('\u{13430}', '\u{1343f}'),
    ('\u{1bca0}', '\u{1bca3}'),
    ('\u{1d173}', '\u{1d17a}'),
    ('\u{e0000}', '\u{e0fff}'),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_safe_escapes_what_could_forge_or_hide_text() {
        assert_eq!(terminal_safe("plain-ümlaut R&D"), "plain-ümlaut R&D");
        assert_eq!(
            terminal_safe("evil\u{1b}[2K\r\nforged"),
            "evil\\u{001b}[2K\\u{000d}\\u{000a}forged"
        );
        assert_eq!(
            terminal_safe("a\u{202e}b\u{200b}c\u{2028}"),
            "a\\u{202e}b\\u{200b}c\\u{2028}"
        );
        assert_eq!(terminal_safe("R&D\u{a0}admins"), "R&D\\u{00a0}admins");
    }

    #[test]
    fn invisible_characters_are_the_ones_that_hide_or_pass_for_others() {
        for c in [
            '\u{0}',
            '\u{1b}',
            '\u{7f}',
            '\u{85}',
            '\u{ad}',
            '\u{a0}',
            '\u{61c}',
            '\u{180e}',
            '\u{200b}',
            '\u{200d}',
            '\u{200e}',
            '\u{2028}',
            '\u{2029}',
            '\u{202e}',
            '\u{2066}',
            '\u{2069}',
            '\u{2060}',
            '\u{3000}',
            '\u{3164}',
            '\u{fe0f}',
            '\u{feff}',
            '\u{fff9}',
            '\u{e0001}',
            '\u{e0041}',
            '\u{e0100}',
        ] {
            assert!(is_invisible(c), "U+{:04X}", c as u32);
        }
        for c in [
            'a', ' ', 'ü', '&', '%', '-', '_', '한', 'Ж', 'ا', '\u{301}', '😀', '\u{fffd}',
        ] {
            assert!(!is_invisible(c), "U+{:04X}", c as u32);
        }
    }

    #[test]
    fn ascii_is_judged_by_the_table_too() {
        for c in (0..128u8).map(char::from) {
            let in_table = INVISIBLE
                .iter()
                .any(|&(first, last)| (first..=last).contains(&c));
            assert_eq!(is_invisible(c), in_table, "U+{:04X}", c as u32);
        }
    }

    #[test]
    fn json_is_made_terminal_safe_without_changing_its_meaning() {
        let value = serde_json::json!({"a\u{202e}b": "x\u{2028}y\u{e0041}z\nq", "n": [1, 2]});
        let pretty = serde_json::to_string_pretty(&value).unwrap();
        let safe = json_terminal_safe(pretty.clone());
        assert!(
            !safe.chars().any(|c| is_invisible(c) && c != '\n'),
            "{safe}"
        );
        assert!(
            safe.contains("a\\u202eb") && safe.contains("\\udb40\\udc41"),
            "{safe}"
        );
        assert_eq!(serde_json::from_str::<Value>(&safe).unwrap(), value);
        assert_eq!(safe.lines().count(), pretty.lines().count());
        let plain = r#"{"a":"b"}"#.to_owned();
        assert_eq!(json_terminal_safe(plain.clone()), plain);
    }

    #[test]
    fn a_shown_value_is_bounded_whatever_its_type() {
        let huge = "l".repeat(3_000_000);
        let shown = shown_value(&Value::String(huge.clone()));
        assert_eq!(
            shown.as_str().unwrap().chars().count(),
            MAX_EXCERPT_CHARS + 1
        );
        let nested = serde_json::json!({"deep": [huge]});
        assert!(shown_value(&nested).to_string().len() < 2_000);
        assert_eq!(
            shown_value(&serde_json::json!(true)),
            serde_json::json!(true)
        );
        assert_eq!(
            shown_value(&serde_json::json!("ok")),
            serde_json::json!("ok")
        );
    }

    #[test]
    fn cuts_long_text_and_blanks_control_characters() {
        assert_eq!(excerpt("a\nb\u{1b}[31m"), "a b [31m");
        let long = "x".repeat(1000);
        assert_eq!(excerpt(&long).chars().count(), MAX_EXCERPT_CHARS + 1);
    }
}
