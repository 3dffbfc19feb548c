//! The contract a host written in another language reads instead of restating it:
//! `hosts/node/src/contract.json`, generated from the tables here and kept equal by a test
//! (`TENANT_SYNC_BLESS=1 cargo test -p tenant-sync --lib contract_file` regenerates it). What is
//! printed comes from the component itself (`sync.run-printed`, `render`); this file carries
//! the data: the requests each service is granted (query, headers, body), the variables a run
//! may see, the defaults and limits, and the exit codes.

use crate::grants::{self, AUTHENTIK_OPERATIONS, ONEPASSWORD_OPERATIONS, Operation};
use crate::held;
use crate::sandbox::Limits;
use crate::stop;
use serde_json::{Value, json};
use tenant_sync_core::certificate;
use tenant_sync_core::defaults;
use tenant_sync_core::outcome::Exit;

pub fn contract() -> Value {
    let table = |operations: &[Operation]| {
        operations
            .iter()
            .map(|o| {
                json!({
                    "method": o.method,
                    "path": o.path,
                    "query": o.query,
                    "pinned": o.pinned.iter().map(|(key, value)| json!({"key": key, "value": value})).collect::<Vec<_>>(),
                    "body": o.body.map(|shape| {
                        shape
                            .iter()
                            .map(|(key, kind)| json!({"key": key, "type": kind.name(), "keys": kind.keys(), "heldExcept": kind.held_except()}))
                            .collect::<Vec<_>>()
                    }),
                    "answer": o.answer.name(),
                })
            })
            .collect::<Vec<_>>()
    };
    let limits = Limits::DEFAULT;
    json!({
        "operations": {
            "authentik": table(AUTHENTIK_OPERATIONS),
            "onepassword": table(ONEPASSWORD_OPERATIONS),
        },
        "requests": {
            "headers": grants::REQUEST_HEADERS,
            "bodyContentType": grants::BODY_CONTENT_TYPE,
            "maxBodyBytes": grants::MAX_BODY_BYTES,
            "maxRecordedBytes": held::MAX_RECORDED_BYTES,
            "maxInFlight": crate::in_flight::MAX_IN_FLIGHT,
        },
        "secretVars": grants::SECRET_VARS,
        "authentikTokenVars": defaults::token_vars(defaults::AUTHENTIK).collect::<Vec<_>>(),
        "managedKeys": tenant_sync_core::managed::MANAGED_KEYS,
        // Escaped wherever a terminal may show untrusted text (code point ranges, inclusive).
        "invisible": tenant_sync_core::untrusted::INVISIBLE
            .iter()
            .map(|&(first, last)| [u32::from(first), u32::from(last)])
            .collect::<Vec<_>>(),
        "services": {
            "authentik": defaults::AUTHENTIK,
            "onepassword": defaults::ONEPASSWORD,
        },
        "tokenServices": defaults::TOKEN_SERVICES
            .iter()
            .map(|(var, service)| (var.to_string(), json!(service)))
            .collect::<serde_json::Map<_, _>>(),
        "defaults": {
            "vault": defaults::VAULT,
            "item": defaults::ITEM,
            "field": defaults::FIELD,
            "manager": defaults::MANAGER,
            "concurrency": defaults::CONCURRENCY,
            "maxConcurrency": defaults::MAX_CONCURRENCY,
            "retryBudgetSecs": defaults::RETRY_BUDGET_SECS,
            "maxRetryBudgetSecs": defaults::MAX_RETRY_BUDGET_SECS,
        },
        "limits": {
            "deadlineSecs": limits.deadline.as_secs(),
            "connectTimeoutSecs": limits.connect_timeout.as_secs(),
            "firstByteTimeoutSecs": limits.first_byte_timeout.as_secs(),
            "betweenBytesTimeoutSecs": limits.between_bytes_timeout.as_secs(),
            "requestTimeoutSecs": limits.request_timeout.as_secs(),
            "stopGraceSecs": stop::GRACE.as_secs(),
            "maxComponentLineBytes": crate::logging::MAX_COMPONENT_LINE,
        },
        "exitCodesHelp": tenant_sync_core::outcome::exit_codes_help(),
        "usage": {
            "noAuthentikUrl": tenant_sync_core::usage::NO_AUTHENTIK_URL,
            "noMappingSource": tenant_sync_core::usage::NO_MAPPING_SOURCE,
            "deadlineExceeded": tenant_sync_core::usage::DEADLINE_EXCEEDED,
            "budgetPastDeadline": tenant_sync_core::usage::BUDGET_PAST_DEADLINE,
        },
        "runFlags": tenant_sync_core::usage::RUN_FLAGS
            .iter()
            .map(|(flag, var)| (flag.to_string(), json!(var)))
            .collect::<serde_json::Map<_, _>>(),
        "certificate": {
            "event": certificate::EVENT,
            "advice": certificate::advice(certificate::Host::Node),
            "reasons": certificate::Problem::ALL
                .iter()
                .map(|(name, problem)| (name.to_string(), json!(problem.reason())))
                .collect::<serde_json::Map<_, _>>(),
        },
        "exitCodes": Exit::ALL
            .iter()
            .map(|(name, exit)| (name.to_string(), json!(exit.code())))
            .collect::<serde_json::Map<_, _>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_node_hosts_contract_file_is_this_contract() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../hosts/node/src/contract.json"
        );
        let expected = format!("{}\n", serde_json::to_string_pretty(&contract()).unwrap());
        if std::env::var_os("TENANT_SYNC_BLESS").is_some() {
            std::fs::write(path, &expected).unwrap();
        }
        let actual = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            actual == expected,
            "{path} differs from the Rust contract; regenerate it: TENANT_SYNC_BLESS=1 cargo test -p tenant-sync --lib contract_file"
        );
    }
}
