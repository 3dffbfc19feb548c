//! Text quoted from a server's answer goes into logs and reports; it is cut to a readable size
//! and stripped of control characters first, so a broken or hostile server cannot flood or
//! forge log lines.

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_long_text_and_blanks_control_characters() {
        assert_eq!(excerpt("a\nb\u{1b}[31m"), "a b [31m");
        let long = "x".repeat(1000);
        assert_eq!(excerpt(&long).chars().count(), MAX_EXCERPT_CHARS + 1);
    }
}
