//! How group names are compared: in their Unicode NFC spelling, and by what they look like
//! (UTS #39 confusable skeletons). `аcme-admins` with a Cyrillic `а`
//! and `acme-admins` are two groups to Authentik and one to whoever reads them, so a mapping
//! may not hold both, and a run never creates one beside the other.

use super::untrusted::excerpt;
use std::borrow::Cow;
use std::sync::OnceLock;
use unicode_normalization::char::canonical_combining_class;
use unicode_normalization::{IsNormalized, UnicodeNormalization};

/// The UTS #39 skeleton of `name`: two names with one skeleton are confusable. Two spellings of
/// one name (NFC and not) have one skeleton too.
pub fn skeleton(name: &str) -> String {
    // Nearly every name is ASCII; its skeleton is then its characters' skeletons side by side
    // (see `ascii_skeletons`), a table lookup each instead of normalizing the name twice.
    if name.is_ascii()
        && let Some(joined) = name
            .bytes()
            .map(|b| ascii_skeletons()[usize::from(b)].as_deref())
            .collect()
    {
        return joined;
    }
    unicode_security::skeleton(name).collect()
}

/// Each ASCII character's skeleton, where the skeleton of a string of such characters is the
/// skeletons of its characters side by side: an ASCII string is its own NFD, each character
/// maps to its prototype alone, and the final NFD reorders nothing when every character of
/// every prototype is a starter (canonical combining class 0). `None`: not such a character.
fn ascii_skeletons() -> &'static [Option<Box<str>>; 128] {
    static TABLE: OnceLock<[Option<Box<str>>; 128]> = OnceLock::new();
    TABLE.get_or_init(|| {
        std::array::from_fn(|b| {
            let c = char::from(u8::try_from(b).expect("an ASCII byte"));
            let alone: String = unicode_security::skeleton(c.encode_utf8(&mut [0; 4])).collect();
            alone
                .chars()
                .all(|c| canonical_combining_class(c) == 0)
                .then(|| alone.into_boxed_str())
        })
    })
}

/// A name (bounded) with every non-ASCII character as its code point, so two names that look
/// the same read differently: `"\u{0430}cme"`.
pub fn spelled(name: &str) -> String {
    let shown: String = excerpt(name)
        .chars()
        .map(|c| match c.is_ascii() && !c.is_ascii_control() {
            true => c.to_string(),
            false => format!("\\u{{{:04x}}}", c as u32),
        })
        .collect();
    format!("\"{shown}\"")
}

/// `name` in Unicode NFC, borrowed when it already is (the common case, found without
/// normalizing). Group names are compared in this spelling, here and by the plan.
pub fn nfc(name: &str) -> Cow<'_, str> {
    if name.is_ascii() {
        return Cow::Borrowed(name);
    }
    match unicode_normalization::is_nfc_quick(name.chars()) {
        IsNormalized::Yes => Cow::Borrowed(name),
        _ => Cow::Owned(name.nfc().collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn look_alikes_share_a_skeleton_and_different_names_do_not() {
        let latin = "acme-admins";
        for alike in [
            "\u{0430}cme-admins",  // Cyrillic a
            "acme-adm\u{0456}ns",  // Cyrillic i
            "acme\u{2010}admins",  // hyphen
            "acme-admins\u{200b}", // zero-width space
            "a\u{0063}me-admins",  // the same name
            "acme-admi\u{0578}s",  // Armenian vo
        ] {
            assert_eq!(skeleton(alike), skeleton(latin), "{}", spelled(alike));
        }
        for other in ["acme-admin", "acme-users", "ACME-ADMINS", "acme_admins"] {
            assert_ne!(skeleton(other), skeleton(latin), "{other}");
        }
        // Two Unicode spellings of one name (NFC and NFD) read the same.
        assert_eq!(skeleton("\u{00fc}ber"), skeleton("u\u{0308}ber"));
    }

    proptest::proptest! {
        /// The ASCII table gives what the UTS #39 algorithm gives, for any ASCII name.
        #[test]
        fn an_ascii_name_has_the_skeleton_the_algorithm_gives(name in "[\\x00-\\x7f]{0,40}") {
            let by_algorithm: String = unicode_security::skeleton(&name).collect();
            proptest::prop_assert_eq!(skeleton(&name), by_algorithm);
        }
    }

    #[test]
    fn every_pair_of_ascii_characters_has_the_skeleton_the_algorithm_gives() {
        for a in 0..128u8 {
            for b in 0..128u8 {
                let name = String::from_utf8(vec![a, b, a]).unwrap();
                let by_algorithm: String = unicode_security::skeleton(&name).collect();
                assert_eq!(skeleton(&name), by_algorithm, "{name:?}");
            }
        }
    }

    #[test]
    fn a_spelling_shows_every_character_that_is_not_plain_ascii() {
        assert_eq!(spelled("\u{0430}cme"), r#""\u{0430}cme""#);
        assert_eq!(spelled("a\u{202e}b"), r#""a\u{202e}b""#);
    }
}
