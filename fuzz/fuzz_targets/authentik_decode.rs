//! The Authentik response decoders on arbitrary bytes: never a panic, and an accepted page is
//! usable (non-empty pks, object attributes, a bounded next page).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tenant_sync_guest::sync_core::authentik::{MAX_PAGES, decode_group, decode_page, error_message, is_duplicate_name};

fuzz_target!(|data: &[u8]| {
    if let Ok(page) = decode_page(data) {
        assert!(page.groups.iter().all(|g| !g.pk.is_empty()));
        assert!(page.next.is_none_or(|n| n > 0 && n <= MAX_PAGES));
    }
    if let Ok(group) = decode_group(data) {
        assert!(!group.pk.is_empty());
    }
    if let Some(message) = error_message(data) {
        assert!(message.chars().count() <= 301);
        assert!(!message.chars().any(char::is_control));
    }
    let _ = is_duplicate_name(data);
});
