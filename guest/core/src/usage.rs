//! Usage errors that every command-line host (the tenant-sync binary, the Node host) words the
//! same way, since they take the same flags.

pub const NO_AUTHENTIK_URL: &str = "no Authentik URL: pass --authentik-url or set AUTHENTIK_URL";

pub const NO_MAPPING_SOURCE: &str = "no mapping source: pass --op-connect-url (or set OP_CONNECT_HOST) to read it from 1Password, or --mapping-file";

/// The variable that stands in for `--authentik-url`, read by every host and by `wasi:cli/run`.
pub const AUTHENTIK_URL_VAR: &str = "AUTHENTIK_URL";
/// The variable that stands in for `--op-connect-url` (1Password's own name for it).
pub const OP_CONNECT_VAR: &str = "OP_CONNECT_HOST";

/// The flags of a run that both command-line hosts take, each with the environment variable
/// that stands in for it. The binary's clap definitions and the Node host's parser are tested
/// against this table; the Node host reads the variables from it (through the contract).
pub const RUN_FLAGS: &[(&str, Option<&str>)] = &[
    ("authentik-url", Some(AUTHENTIK_URL_VAR)),
    ("op-connect-url", Some(OP_CONNECT_VAR)),
    ("mapping-file", None),
    ("op-vault", None),
    ("op-item", None),
    ("op-field", None),
    ("dry-run", None),
    ("concurrency", None),
    ("manager-id", None),
    ("allow-superuser-groups", None),
    ("group", None),
    ("tenant", None),
    ("deadline-secs", None),
    ("retry-budget-secs", None),
    ("verbose", None),
];

/// Why a run stopped at its deadline, with the flag that moves it; `{secs}` is the deadline.
pub const DEADLINE_EXCEEDED: &str = "the run did not finish within its {secs} s deadline; raise --deadline-secs or check for a stuck service";

pub fn deadline_exceeded(secs: u64) -> String {
    DEADLINE_EXCEEDED.replace("{secs}", &secs.to_string())
}

/// A retry budget the deadline would cut short: the run would end without its report.
pub const BUDGET_PAST_DEADLINE: &str = "--retry-budget-secs {budget} is not shorter than --deadline-secs {deadline}: an outage that long would end the run without its report; lower the budget or raise the deadline";

/// Whether a retry budget fits in the run's deadline (both in seconds).
pub fn check_budget(budget: u64, deadline: u64) -> Result<(), String> {
    match budget < deadline {
        true => Ok(()),
        false => Err(BUDGET_PAST_DEADLINE
            .replace("{budget}", &budget.to_string())
            .replace("{deadline}", &deadline.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_usage_errors_name_the_variables_and_flags_of_the_table() {
        assert!(NO_AUTHENTIK_URL.contains(AUTHENTIK_URL_VAR));
        assert!(NO_MAPPING_SOURCE.contains(OP_CONNECT_VAR));
        for flag in ["authentik-url", "op-connect-url", "mapping-file"] {
            assert!(RUN_FLAGS.iter().any(|(name, _)| *name == flag));
            assert!(
                format!("{NO_AUTHENTIK_URL} {NO_MAPPING_SOURCE}").contains(&format!("--{flag}"))
            );
        }
        assert!(
            deadline_exceeded(7).starts_with("the run did not finish within its 7 s deadline;")
        );
        assert_eq!(check_budget(89, 90), Ok(()));
        assert!(
            check_budget(90, 90)
                .unwrap_err()
                .starts_with("--retry-budget-secs 90 is not shorter than --deadline-secs 90:")
        );
    }
}
