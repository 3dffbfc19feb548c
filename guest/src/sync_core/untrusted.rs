//! Text quoted from a server's answer goes into logs and reports; it is cut to a readable size
//! and stripped of control characters first, so a broken or hostile server cannot flood or
//! forge log lines.

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

/// `text` safe to show on a terminal: control characters, bidirectional controls, line and
/// paragraph separators and other invisible format characters become `\u{…}` escapes, so a
/// name cannot move the cursor, reorder what is shown or forge a line of a table.
pub fn terminal_safe(text: &str) -> Cow<'_, str> {
    if !text.chars().any(invisible) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| match invisible(c) {
                true => format!("\\u{{{:04x}}}", c as u32),
                false => c.to_string(),
            })
            .collect(),
    )
}

fn invisible(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00ad}'
                | '\u{061c}'
                | '\u{180e}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{2069}'
                | '\u{feff}'
        )
}

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
    }

    #[test]
    fn cuts_long_text_and_blanks_control_characters() {
        assert_eq!(excerpt("a\nb\u{1b}[31m"), "a b [31m");
        let long = "x".repeat(1000);
        assert_eq!(excerpt(&long).chars().count(), MAX_EXCERPT_CHARS + 1);
    }
}
