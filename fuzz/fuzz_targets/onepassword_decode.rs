//! The 1Password Connect response decoders on arbitrary bytes: never a panic, and an accepted
//! answer names a usable id.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tenant_sync_core::onepassword::{DocumentLocation, error_message, find_item, find_vault, locate_document};

fuzz_target!(|data: &[u8]| {
    if let Ok(id) = find_vault(data, "IAmWorkin") {
        assert!(!id.is_empty());
    }
    if let Ok(id) = find_item(data, "IAmWorkin", "flowercore-tenant-mapping") {
        assert!(!id.is_empty());
    }
    if let Ok(DocumentLocation::File { id, .. }) = locate_document(data, "item", "mapping") {
        assert!(!id.is_empty());
    }
    if let Some(message) = error_message(data) {
        assert!(message.chars().count() <= 301);
    }
});
