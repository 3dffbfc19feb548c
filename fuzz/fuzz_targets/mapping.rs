//! The mapping parser/validator on arbitrary text: it must never panic, and what it accepts must
//! be a well-formed desired state.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tenant_sync_core::mapping::{MAX_VALUE_CHARS, WILDCARD_TENANT, validate};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match validate(text) {
        Ok(state) => {
            assert!(state.groups.windows(2).all(|w| w[0].name < w[1].name), "sorted and unique");
            for group in &state.groups {
                for value in [&group.name, &group.tenant, &group.role] {
                    assert!(!value.is_empty() && value.chars().count() <= MAX_VALUE_CHARS);
                    assert!(!value.chars().any(char::is_control));
                }
                assert_ne!(group.tenant, WILDCARD_TENANT);
            }
        }
        Err(issues) => assert!(!issues.is_empty()),
    }
});
