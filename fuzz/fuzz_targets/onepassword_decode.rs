//! The 1Password Connect response decoders on arbitrary bytes: never a panic, and an accepted
//! answer names a usable id.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tenant_sync_core::onepassword::{
    DocumentLocation, Item, ItemIds, error_message, find_item, find_vault, names_item,
};

fuzz_target!(|data: &[u8]| {
    if let Ok(id) = find_vault(data, "IAmWorkin") {
        assert!(!id.is_empty());
    }
    if let Ok(id) = find_item(data, "IAmWorkin", "flowercore-tenant-mapping") {
        assert!(!id.is_empty());
    }
    let at = ItemIds {
        vault: "v".repeat(26),
        item: "i".repeat(26),
    };
    let named = names_item(data, &at, "item");
    if let Ok(item) = Item::parse(data, "item") {
        // What the full read accepts as the item, the lenient one names as the item too.
        assert!(!item.is(&at, "item") || named);
        if let Ok(DocumentLocation::File { id, .. }) = item.into_document("item", "mapping") {
            assert!(!id.is_empty());
        }
    }
    if let Some(message) = error_message(data) {
        assert!(message.chars().count() <= 301);
    }
});
