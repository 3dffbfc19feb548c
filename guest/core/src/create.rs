//! What the answer to a group create means. Creating is the one write that is not idempotent:
//! a POST whose outcome is unknown, sent again, could make a second group. So an answer that
//! may hide an applied create is looked up by name before anything is sent again, and a name
//! Authentik says is taken is continued from, never created twice.

use super::authentik::is_duplicate_name;
use super::retry::Trouble;

/// What the run does next about a create.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateStep {
    /// Created (201): check that the answer is the group as sent.
    Verify,
    /// The name is taken (someone created the group during this run): look it up and write
    /// the block onto it.
    ContinueFromExisting,
    /// The create may have been applied (5xx after the body went out, or no answer): look the
    /// name up; continue from the group if it is there, else try again.
    LookUpThenRetry,
    /// Not processed (429): try again.
    Retry,
    /// Refused by the host before anything of this create was sent (the run is being stopped):
    /// the group is reported as not attempted.
    NotSent,
    /// Failed: report the answer.
    Fail,
}

/// The step after an HTTP answer to the POST.
pub fn after_answer(status: u16, body: &[u8]) -> CreateStep {
    match status {
        201 => CreateStep::Verify,
        400 if is_duplicate_name(body) => CreateStep::ContinueFromExisting,
        429 => CreateStep::Retry,
        500.. => CreateStep::LookUpThenRetry,
        _ => CreateStep::Fail,
    }
}

/// The step after a POST that got no HTTP answer, on its `attempt`th try (from 1).
pub fn after_no_answer(trouble: &Trouble, attempt: u32) -> CreateStep {
    match trouble {
        // Only a first attempt the host refused sent nothing at all.
        Trouble::Refused if attempt == 1 => CreateStep::NotSent,
        Trouble::Denied | Trouble::Refused => CreateStep::Fail,
        Trouble::Transport | Trouble::Status { .. } => CreateStep::LookUpThenRetry,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TAKEN: &[u8] = br#"{"name": ["Group with this name already exists."]}"#;

    #[test]
    fn answers_mean_what_authentik_says() {
        assert_eq!(after_answer(201, b"{}"), CreateStep::Verify);
        assert_eq!(after_answer(400, TAKEN), CreateStep::ContinueFromExisting);
        assert_eq!(
            after_answer(400, br#"{"name": ["This field is required."]}"#),
            CreateStep::Fail
        );
        assert_eq!(after_answer(429, b""), CreateStep::Retry);
        for status in [500, 502, 503, 504, 599] {
            assert_eq!(
                after_answer(status, b""),
                CreateStep::LookUpThenRetry,
                "{status}"
            );
        }
        for status in [200, 204, 301, 401, 403, 404, 409, 413] {
            assert_eq!(after_answer(status, TAKEN), CreateStep::Fail, "{status}");
        }
    }

    #[test]
    fn no_answer_is_looked_up_unless_nothing_could_have_been_sent() {
        assert_eq!(after_no_answer(&Trouble::Refused, 1), CreateStep::NotSent);
        // A retry the host refused follows an attempt that went out.
        assert_eq!(after_no_answer(&Trouble::Refused, 2), CreateStep::Fail);
        assert_eq!(after_no_answer(&Trouble::Denied, 1), CreateStep::Fail);
        assert_eq!(
            after_no_answer(&Trouble::Transport, 1),
            CreateStep::LookUpThenRetry
        );
        assert_eq!(
            after_no_answer(&Trouble::Transport, 3),
            CreateStep::LookUpThenRetry
        );
    }
}
