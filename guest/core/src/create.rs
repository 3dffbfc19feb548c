//! What the answer to a group create means. Creating is the one write that is not idempotent:
//! a POST whose outcome is unknown, sent again, could make a second group. So an answer that
//! may hide an applied create is looked up by name before anything is sent again, and a name
//! Authentik says is taken is continued from, never created twice.

use super::authentik::is_duplicate_name;
use super::retry::{ServerFault, Trouble, server_fault};

/// What the run does next about a create.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateStep {
    /// Created (201): check that the answer is the group as sent; if it is not, look the name
    /// up before reporting anything.
    Verify,
    /// The name is taken (someone created the group during this run): look it up and write
    /// the block onto it.
    ContinueFromExisting,
    /// The create may have been applied (a server fault after the body went out, or no
    /// answer): look the name up; continue from the group if it is there, else try again.
    LookUpThenRetry,
    /// Not processed (429): try again.
    Retry,
    /// Refused by the host before anything of this create was sent (the run is being stopped):
    /// the group is reported as not attempted.
    NotSent,
    /// A final answer or failure: a refusal does not prove that nothing was written (Authentik
    /// has committed creates it answered with an error), so the name is looked up before the
    /// failure is reported.
    LookUpThenFail,
}

/// The step after an HTTP answer to the POST.
pub fn after_answer(status: u16, content_type: Option<&str>, body: &[u8]) -> CreateStep {
    match server_fault(status, content_type, body, true) {
        Some(ServerFault::Throttled) => CreateStep::Retry,
        Some(_) => CreateStep::LookUpThenRetry,
        None if status == 201 => CreateStep::Verify,
        None if status == 400 && is_duplicate_name(body) => CreateStep::ContinueFromExisting,
        None => CreateStep::LookUpThenFail,
    }
}

/// The step after a POST that got no HTTP answer, on its `attempt`th try (from 1).
pub fn after_no_answer(trouble: &Trouble, attempt: u32) -> CreateStep {
    match trouble {
        // Only a first attempt the host refused sent nothing at all.
        Trouble::Refused if attempt == 1 => CreateStep::NotSent,
        Trouble::Denied | Trouble::Refused => CreateStep::LookUpThenFail,
        Trouble::Transport | Trouble::Fault { .. } => CreateStep::LookUpThenRetry,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TAKEN: &[u8] = br#"{"name": ["Group with this name already exists."]}"#;
    const JSON: Option<&str> = Some("application/json");
    const HTML: Option<&str> = Some("text/html; charset=utf-8");

    #[test]
    fn answers_mean_what_authentik_says() {
        assert_eq!(after_answer(201, JSON, b"{}"), CreateStep::Verify);
        assert_eq!(
            after_answer(400, JSON, TAKEN),
            CreateStep::ContinueFromExisting
        );
        assert_eq!(after_answer(429, JSON, b""), CreateStep::Retry);
        for (status, body) in [
            (200, TAKEN),
            (401, TAKEN),
            (403, TAKEN),
            (404, TAKEN),
            (409, TAKEN),
        ] {
            assert_eq!(
                after_answer(status, JSON, body),
                CreateStep::LookUpThenFail,
                "{status}"
            );
        }
        assert_eq!(
            after_answer(400, JSON, br#"{"name": ["This field is required."]}"#),
            CreateStep::LookUpThenFail
        );
    }

    /// What the real Authentik answered to creates while its database restarted, some of them
    /// committed anyway (`../shared/api/OBSERVED.md`, "Faults").
    #[test]
    fn a_fault_is_looked_up_then_retried() {
        for (status, content_type, body) in [
            (405, HTML, &b""[..]),
            (500, HTML, b"<h1>Server Error (500)</h1>"),
            (502, None, b""),
            (503, JSON, b"{}"),
            (201, HTML, b"<html>"),
            (201, JSON, b""),
            (400, HTML, b"<html>"),
        ] {
            assert_eq!(
                after_answer(status, content_type, body),
                CreateStep::LookUpThenRetry,
                "{status} {content_type:?}"
            );
        }
    }

    #[test]
    fn no_answer_is_looked_up_unless_nothing_could_have_been_sent() {
        assert_eq!(after_no_answer(&Trouble::Refused, 1), CreateStep::NotSent);
        // A retry the host refused follows an attempt that went out.
        assert_eq!(
            after_no_answer(&Trouble::Refused, 2),
            CreateStep::LookUpThenFail
        );
        assert_eq!(
            after_no_answer(&Trouble::Denied, 1),
            CreateStep::LookUpThenFail
        );
        for attempt in [1, 3] {
            assert_eq!(
                after_no_answer(&Trouble::Transport, attempt),
                CreateStep::LookUpThenRetry
            );
        }
    }
}
