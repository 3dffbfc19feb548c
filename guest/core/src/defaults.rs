//! The run's defaults and limits, written once. The component applies them; the hosts' flags,
//! help texts and the Node host's contract file (`hosts/node/src/contract.json`, generated and
//! checked by a test) take them from here.

/// The 1Password vault holding the mapping item (exact name).
pub const VAULT: &str = "IAmWorkin";
/// The mapping item's title (exact).
pub const ITEM: &str = "flowercore-tenant-mapping";
/// The label of the item's field that holds the JSON.
pub const FIELD: &str = "mapping";
/// The `fc:managed-by` value that marks the groups a run owns.
pub const MANAGER: &str = "authentik-tenant-mapping-sync";
/// The environment variables that hold tokens: what a run's component may see of its secrets,
/// and what nothing it says may contain.
pub const TOKEN_VARS: [&str; 3] = ["OP_TOKEN", "OP_CONNECT_TOKEN", "AUTHENTIK_TOKEN"];
/// The services, as messages, events and the grant table name them.
pub const AUTHENTIK: &str = "Authentik";
pub const ONEPASSWORD: &str = "1Password Connect";
/// Which service each token variable is for: a token goes only to its own.
pub const TOKEN_SERVICES: [(&str, &str); 3] = [
    ("OP_TOKEN", ONEPASSWORD),
    ("OP_CONNECT_TOKEN", ONEPASSWORD),
    ("AUTHENTIK_TOKEN", AUTHENTIK),
];

/// The token variables of one service (`AUTHENTIK`, `ONEPASSWORD`).
pub fn token_vars(service: &str) -> impl Iterator<Item = &'static str> + '_ {
    TOKEN_SERVICES
        .iter()
        .filter(move |(_, s)| *s == service)
        .map(|(var, _)| *var)
}
/// Authentik requests in flight at once when none is asked for.
pub const CONCURRENCY: u32 = 4;
/// More parallel writes than this only queue up at Authentik's workers.
pub const MAX_CONCURRENCY: u32 = 64;
/// How long a run waits out a service's outage (refused connections, 5xx, the faults of
/// `retry::server_fault`) before a request fails: longer than an Authentik restart or rolling
/// update (about 60 s), shorter than the run's deadline.
pub const RETRY_BUDGET_SECS: u32 = 90;
/// The longest budget `--retry-budget-secs` takes: the default deadline is 10 minutes.
pub const MAX_RETRY_BUDGET_SECS: u32 = 540;
/// Cap on one response body: the biggest legitimate answer is a page of 100 groups, or the
/// mapping item (itself at most `mapping::MAX_DOCUMENT_BYTES`).
pub const MAX_RESPONSE_BYTES: u64 = 16 * 1024 * 1024;
/// The largest response cap a run may ask for (`--max-response-mib`).
pub const LARGEST_RESPONSE_CAP_MIB: u64 = 1024;

/// Requests in flight at once for a requested `concurrency`: 0 asks for the default, and no
/// request exceeds the cap.
pub fn concurrency(requested: u32) -> usize {
    match requested {
        0 => CONCURRENCY as usize,
        n => n.min(MAX_CONCURRENCY) as usize,
    }
}

/// The response cap for a requested one: 0 asks for the default.
pub fn max_response_bytes(requested: u64) -> usize {
    match requested {
        0 => MAX_RESPONSE_BYTES as usize,
        n => usize::try_from(n).unwrap_or(usize::MAX),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_asks_for_the_default_and_the_cap_holds() {
        assert_eq!(concurrency(0), 4);
        assert_eq!(concurrency(1), 1);
        assert_eq!(concurrency(64), 64);
        assert_eq!(concurrency(u32::MAX), 64);
        assert_eq!(max_response_bytes(0), 16 * 1024 * 1024);
        assert_eq!(max_response_bytes(1024), 1024);
    }

    /// Other hosts read the defaults in the WIT's documentation: it must say these.
    #[test]
    fn the_wit_documents_these_defaults() {
        let wit = include_str!("../../../wit/tenant-sync.wit");
        for said in [
            format!("Default `{VAULT}`."),
            format!("Default `{ITEM}`."),
            format!("Default `{FIELD}`."),
            format!("Default `{MANAGER}`."),
            format!("0 means the default ({CONCURRENCY})"),
            format!(
                "0 means the default ({} MiB)",
                MAX_RESPONSE_BYTES / 1024 / 1024
            ),
        ] {
            assert!(
                wit.contains(&said),
                "wit/tenant-sync.wit does not say {said:?}"
            );
        }
    }
}
