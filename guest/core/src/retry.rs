//! The retry policy both service clients share: which answers are a server's fault rather than
//! the API's answer (`server_fault`), which failures are worth another attempt, and how long to
//! wait (exponential backoff with full jitter, `Retry-After` honoured up to a cap). Retrying is
//! bounded by a time budget per outage, shared by every request in flight (`Outage`), so an
//! outage costs the run one wait, not one per request. Pure: the caller supplies time and
//! randomness.

use super::defaults;
use std::fmt;
use std::time::{Duration, SystemTime};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// How long an outage may last, from its first failure, before a request gives up.
    pub budget: Duration,
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// A server's `Retry-After` is honoured up to this.
    pub max_retry_after: Duration,
    /// Attempts of one request in all, the first included: a bound for a server that fails
    /// and answers by turns, so no outage ever starts its budget.
    pub max_attempts: u32,
}

impl Policy {
    /// The default policy with a budget of `secs` (0: the default).
    pub fn with_budget_secs(secs: u32) -> Policy {
        let secs = match secs {
            0 => defaults::RETRY_BUDGET_SECS,
            n => n.min(defaults::MAX_RETRY_BUDGET_SECS),
        };
        Policy {
            budget: Duration::from_secs(secs.into()),
            ..Policy::default()
        }
    }
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            budget: Duration::from_secs(defaults::RETRY_BUDGET_SECS.into()),
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(30),
            max_attempts: 32,
        }
    }
}

/// An HTTP answer that is a fault of the server, not the API's answer to a granted request:
/// worth retrying like a lost connection. What the real Authentik answered during its own
/// faults is in `../shared/api/OBSERVED.md` ("Faults").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerFault {
    /// 429: not processed; come back later.
    Throttled,
    /// 500 to 599.
    Error(u16),
    /// 405 for a method the grant table allows on that path, which the API never answers.
    /// Authentik answers it (with an HTML content type and no body) while its database
    /// restarts, and may have applied a create it answered so.
    MethodNotAllowed,
    /// A success or a 400 whose body is not JSON (an HTML page) where the API answers JSON.
    NotJson(u16),
    /// A success or a 400 with no body, where the API always sends one.
    Empty(u16),
}

impl fmt::Display for ServerFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerFault::Throttled => write!(f, "HTTP 429"),
            ServerFault::Error(status) => write!(f, "HTTP {status}"),
            ServerFault::MethodNotAllowed => write!(
                f,
                "HTTP 405 to a request the API allows (Authentik answers so while its database restarts)"
            ),
            ServerFault::NotJson(status) => {
                write!(f, "HTTP {status} whose answer is not JSON")
            }
            ServerFault::Empty(status) => write!(f, "HTTP {status} with an empty answer"),
        }
    }
}

/// The fault an answer is, if it is one. `expects_json`: the request is to the JSON API (a
/// file's content from 1Password Connect is not). Redirects, 401, 403, 404 and the other 4xx
/// are answers: retrying cannot change them.
pub fn server_fault(
    status: u16,
    content_type: Option<&str>,
    body: &[u8],
    expects_json: bool,
) -> Option<ServerFault> {
    match status {
        429 => Some(ServerFault::Throttled),
        500..=599 => Some(ServerFault::Error(status)),
        405 => Some(ServerFault::MethodNotAllowed),
        200..=299 | 400 if expects_json => {
            if body.is_empty() {
                Some(ServerFault::Empty(status))
            } else if !is_json(content_type) {
                Some(ServerFault::NotJson(status))
            } else {
                None
            }
        }
        _ => None,
    }
}

/// The content type says JSON (`application/json`, `application/problem+json`, ...).
pub fn is_json(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|t| t.to_ascii_lowercase().contains("json"))
}

/// What went wrong with one attempt, as far as retrying cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trouble {
    /// No answer: refused or dropped connection, timeout. Worth retrying.
    Transport,
    /// A problem retrying cannot heal (a local error, an untrusted certificate, too big an
    /// answer).
    Denied,
    /// The host refused to send the request (`HttpRequestDenied`): it is not granted, or the
    /// run is being stopped. Nothing of it left the component; retrying cannot help.
    Refused,
    /// The server answered with a fault (and maybe `Retry-After`). Worth retrying.
    Fault {
        fault: ServerFault,
        retry_after: Option<Duration>,
    },
}

impl Trouble {
    pub fn is_retryable(&self) -> bool {
        match self {
            Trouble::Transport | Trouble::Fault { .. } => true,
            Trouble::Denied | Trouble::Refused => false,
        }
    }
}

/// When the outage the requests of one kind (reads or writes) to one service are in began: set
/// by the first failure, ended by any answer of that kind that is not a fault. A request that
/// fails during an outage counts its budget from that first failure, or from its own first
/// failure if that is earlier (`lasted`), so requests in flight together wait it out together
/// and no request outlives its budget because others were answered meanwhile.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Outage {
    /// A monotonic time, as the caller's clock gives it.
    since: Option<Duration>,
}

impl Outage {
    /// A request failed at `now`: how long the outage has lasted.
    pub fn failed(&mut self, now: Duration) -> Duration {
        now.saturating_sub(*self.since.get_or_insert(now))
    }

    /// The server answered: the outage, if any, is over.
    pub fn answered(&mut self) {
        self.since = None;
    }
}

/// How long the outage has lasted for a request that first failed at `own_first_failure` and
/// fails again at `now`: the longer of its own wait and the shared outage's.
pub fn lasted(outage: &mut Outage, own_first_failure: Duration, now: Duration) -> Duration {
    outage
        .failed(now)
        .max(now.saturating_sub(own_first_failure))
}

/// How long to wait before attempt `failed_attempt + 1`, or `None` to give up. `outage` is how
/// long the outage has lasted (`Outage::failed`); `jitter` is a uniform random number in
/// `[0, 1)`.
pub fn next_delay(
    policy: &Policy,
    trouble: &Trouble,
    failed_attempt: u32,
    outage: Duration,
    jitter: f64,
) -> Option<Duration> {
    if !trouble.is_retryable() || failed_attempt >= policy.max_attempts {
        return None;
    }
    let exponent = failed_attempt.saturating_sub(1).min(16);
    let ceiling = policy
        .base_delay
        .saturating_mul(1 << exponent)
        .min(policy.max_delay);
    let backoff = ceiling.mul_f64(jitter.clamp(0.0, 1.0));
    // A server's `Retry-After` may lengthen the wait, never shorten it: `0` from a failing
    // server would otherwise turn the backoff into a flood.
    let delay = match trouble {
        Trouble::Fault {
            retry_after: Some(after),
            ..
        } => (*after).min(policy.max_retry_after).max(backoff),
        _ => backoff,
    };
    (outage + delay <= policy.budget).then_some(delay)
}

/// Parses `Retry-After`: delay-seconds or an HTTP-date (relative to `now`).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(fault: ServerFault) -> Trouble {
        Trouble::Fault {
            fault,
            retry_after: None,
        }
    }

    const HTML: Option<&str> = Some("text/html; charset=utf-8");
    const JSON: Option<&str> = Some("application/json");

    /// The answers the real Authentik gave during its faults (`../shared/api/OBSERVED.md`).
    #[test]
    fn the_real_servers_fault_answers_are_faults() {
        // PostgreSQL restarting: 405, `Allow: GET, HEAD, OPTIONS`, text/html, no body.
        assert_eq!(
            server_fault(405, HTML, b"", true),
            Some(ServerFault::MethodNotAllowed)
        );
        // PostgreSQL stopped: 500 to every request.
        assert_eq!(
            server_fault(500, HTML, b"<h1>Server Error (500)</h1>", true),
            Some(ServerFault::Error(500))
        );
        assert_eq!(
            server_fault(502, None, b"", true),
            Some(ServerFault::Error(502))
        );
        assert_eq!(
            server_fault(429, JSON, b"{}", true),
            Some(ServerFault::Throttled)
        );
        assert_eq!(
            server_fault(200, HTML, b"<html>", true),
            Some(ServerFault::NotJson(200))
        );
        assert_eq!(
            server_fault(201, JSON, b"", true),
            Some(ServerFault::Empty(201))
        );
        assert_eq!(
            server_fault(400, HTML, b"<html>", true),
            Some(ServerFault::NotJson(400))
        );
    }

    #[test]
    fn the_apis_answers_are_not_faults() {
        for (status, content_type, body) in [
            (200, JSON, &b"{\"results\": []}"[..]),
            (201, Some("application/json; charset=utf-8"), b"{}"),
            (
                400,
                JSON,
                br#"{"name": ["Group with this name already exists."]}"#,
            ),
            (401, HTML, b""),
            (403, JSON, br#"{"detail": "no"}"#),
            (404, HTML, b"<h1>Not Found</h1>"),
            (301, None, b""),
        ] {
            assert_eq!(
                server_fault(status, content_type, body, true),
                None,
                "{status}"
            );
        }
        // A file's content is not JSON, and may be empty.
        assert_eq!(server_fault(200, Some("text/plain"), b"{}", false), None);
        assert_eq!(server_fault(200, None, b"", false), None);
        assert_eq!(
            server_fault(503, None, b"", false),
            Some(ServerFault::Error(503))
        );
    }

    #[test]
    fn retries_transport_failures_and_faults_only() {
        let p = Policy::default();
        for retryable in [
            Trouble::Transport,
            fault(ServerFault::Throttled),
            fault(ServerFault::Error(500)),
            fault(ServerFault::MethodNotAllowed),
            fault(ServerFault::Empty(201)),
        ] {
            assert!(
                next_delay(&p, &retryable, 1, Duration::ZERO, 0.5).is_some(),
                "{retryable:?}"
            );
        }
        for final_answer in [Trouble::Denied, Trouble::Refused] {
            assert_eq!(
                next_delay(&p, &final_answer, 1, Duration::ZERO, 0.5),
                None,
                "{final_answer:?}"
            );
        }
    }

    #[test]
    fn backs_off_exponentially_with_full_jitter_within_the_budget() {
        let p = Policy::default();
        let full = |attempt| {
            next_delay(&p, &Trouble::Transport, attempt, Duration::ZERO, 0.999_999).unwrap()
        };
        assert!(full(1) <= Duration::from_millis(250) && full(1) > Duration::from_millis(249));
        assert!(full(2) > Duration::from_millis(499) && full(3) > Duration::from_millis(999));
        assert!(full(30) <= p.max_delay && full(30) > p.max_delay / 2);
        assert_eq!(
            next_delay(&p, &Trouble::Transport, 1, Duration::ZERO, 0.0),
            Some(Duration::ZERO)
        );
        assert_eq!(
            next_delay(&p, &Trouble::Transport, p.max_attempts, Duration::ZERO, 0.5),
            None,
            "a bound on attempts too"
        );
        let late = p.budget - Duration::from_millis(100);
        assert_eq!(
            next_delay(&p, &Trouble::Transport, 10, late, 0.5),
            None,
            "a wait past the budget is not started"
        );
        assert!(next_delay(&p, &Trouble::Transport, 10, late, 0.001).is_some());
    }

    /// An Authentik restart refuses connections for tens of seconds: the default budget waits
    /// out 60 s of failures with attempts to spare.
    #[test]
    fn the_default_budget_rides_through_a_minute_of_outage() {
        let p = Policy::default();
        let (mut waited, mut attempt) = (Duration::ZERO, 1);
        while waited < Duration::from_secs(60) {
            let delay = next_delay(&p, &Trouble::Transport, attempt, waited, 0.999_999)
                .unwrap_or_else(|| panic!("gave up after {waited:?}"));
            waited += delay + Duration::from_secs(1);
            attempt += 1;
        }
        assert!(attempt < p.max_attempts, "{attempt} attempts");
        assert_eq!(Policy::with_budget_secs(0), p);
        assert_eq!(Policy::with_budget_secs(5).budget, Duration::from_secs(5));
    }

    #[test]
    fn an_outage_is_counted_from_its_first_failure_by_every_request() {
        let mut outage = Outage::default();
        let at = Duration::from_secs;
        assert_eq!(outage.failed(at(10)), at(0));
        assert_eq!(outage.failed(at(25)), at(15), "another request, later");
        outage.answered();
        assert_eq!(outage.failed(at(40)), at(0), "a new outage");
    }

    #[test]
    fn a_request_never_waits_longer_than_its_own_budget_because_others_were_answered() {
        let mut outage = Outage::default();
        let at = Duration::from_secs;
        assert_eq!(lasted(&mut outage, at(0), at(0)), at(0));
        outage.answered(); // another request got through
        assert_eq!(
            lasted(&mut outage, at(0), at(50)),
            at(50),
            "its own wait counts"
        );
        assert_eq!(lasted(&mut outage, at(45), at(60)), at(15).max(at(10)));
    }

    #[test]
    fn retry_after_zero_does_not_shorten_the_backoff() {
        let p = Policy::default();
        let now = Trouble::Fault {
            fault: ServerFault::Error(503),
            retry_after: Some(Duration::ZERO),
        };
        assert_eq!(
            next_delay(&p, &now, 3, Duration::ZERO, 0.5),
            Some(Duration::from_millis(500))
        );
    }

    #[test]
    fn honours_retry_after_up_to_a_cap() {
        let p = Policy::default();
        let after = |secs| Trouble::Fault {
            fault: ServerFault::Throttled,
            retry_after: Some(Duration::from_secs(secs)),
        };
        assert_eq!(
            next_delay(&p, &after(2), 1, Duration::ZERO, 0.1),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            next_delay(&p, &after(3600), 1, Duration::ZERO, 0.1),
            Some(p.max_retry_after)
        );
    }

    #[test]
    fn parses_both_retry_after_forms() {
        let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
