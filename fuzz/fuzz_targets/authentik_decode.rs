//! The Authentik response decoders and the decisions taken on them, on arbitrary bytes: never
//! a panic, an accepted page is usable (non-empty pks, object attributes, a bounded next page),
//! a page read twice is never a consistent listing, and a create's answer is only taken as a
//! success for a 201.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tenant_sync_core::authentik::{
    MAX_PAGES, assemble, decode_group, decode_page, error_message, is_duplicate_name, page_count,
};
use tenant_sync_core::create::{CreateStep, after_answer};

fuzz_target!(|data: &[u8]| {
    if let Ok(page) = decode_page(data) {
        assert!(page.groups.iter().all(|g| !g.pk.is_empty()));
        assert!(page.next.is_none_or(|n| n > 0 && n <= MAX_PAGES));
        if let Ok(total) = page_count(&page) {
            assert!((1..=MAX_PAGES).contains(&total));
        }
        if let Ok(groups) = assemble(vec![page.clone()]) {
            assert_eq!(page.total_pages, Some(1));
            let mut pks: Vec<&str> = groups.iter().map(|g| g.pk.as_str()).collect();
            pks.sort_unstable();
            pks.dedup();
            assert_eq!(pks.len(), groups.len(), "a listing holds each group once");
        }
        assert!(assemble(vec![page.clone(), page]).is_err());
    }
    if let Ok(group) = decode_group(data) {
        assert!(!group.pk.is_empty());
    }
    if let Some(message) = error_message(data) {
        assert!(message.chars().count() <= 301);
        assert!(!message.chars().any(char::is_control));
    }
    let _ = is_duplicate_name(data);
    if let [high, low, body @ ..] = data {
        let status = u16::from_be_bytes([*high, *low]);
        // Authentik's own answers are JSON; a proxy's may be anything.
        for content_type in [Some("application/json"), Some("text/html"), None] {
            let step = after_answer(status, content_type, body);
            assert_ne!(step, CreateStep::NotSent, "an answer means something was sent");
            if step == CreateStep::Verify {
                assert_eq!(status, 201);
            }
        }
    }
});
