//! The retry policy both service clients share: which failures are worth another attempt, and
//! how long to wait (exponential backoff with full jitter, `Retry-After` honoured up to a cap,
//! bounded attempts and a bounded total). Pure: the caller supplies time and randomness.

use std::time::{Duration, SystemTime};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// No retry is started that would end after this much time since the first attempt.
    pub max_total: Duration,
    /// A server's `Retry-After` is honoured up to this.
    pub max_retry_after: Duration,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            max_attempts: 4,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(8),
            max_total: Duration::from_secs(60),
            max_retry_after: Duration::from_secs(30),
        }
    }
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
    /// The server answered with this status (and maybe `Retry-After`).
    Status {
        status: u16,
        retry_after: Option<Duration>,
    },
}

impl Trouble {
    pub fn is_retryable(&self) -> bool {
        match self {
            Trouble::Transport => true,
            Trouble::Denied | Trouble::Refused => false,
            Trouble::Status { status, .. } => retryable_status(*status),
        }
    }
}

/// Throttling and gateway failures are transient; every other status is an answer.
pub fn retryable_status(status: u16) -> bool {
    matches!(status, 429 | 502 | 503 | 504)
}

/// How long to wait before attempt `failed_attempt + 1`, or `None` to give up. `jitter` is a
/// uniform random number in `[0, 1)`.
pub fn next_delay(
    policy: &Policy,
    trouble: &Trouble,
    failed_attempt: u32,
    elapsed: Duration,
    jitter: f64,
) -> Option<Duration> {
    if !trouble.is_retryable() || failed_attempt >= policy.max_attempts {
        return None;
    }
    let delay = match trouble {
        Trouble::Status {
            retry_after: Some(after),
            ..
        } => (*after).min(policy.max_retry_after),
        _ => {
            let exponent = failed_attempt.saturating_sub(1).min(16);
            let ceiling = policy
                .base_delay
                .saturating_mul(1 << exponent)
                .min(policy.max_delay);
            ceiling.mul_f64(jitter.clamp(0.0, 1.0))
        }
    };
    (elapsed + delay <= policy.max_total).then_some(delay)
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

    fn status(status: u16) -> Trouble {
        Trouble::Status {
            status,
            retry_after: None,
        }
    }

    #[test]
    fn retries_only_transient_failures() {
        let p = Policy::default();
        for retryable in [
            Trouble::Transport,
            status(429),
            status(502),
            status(503),
            status(504),
        ] {
            assert!(
                next_delay(&p, &retryable, 1, Duration::ZERO, 0.5).is_some(),
                "{retryable:?}"
            );
        }
        for final_answer in [
            Trouble::Denied,
            Trouble::Refused,
            status(400),
            status(401),
            status(403),
            status(404),
            status(409),
            status(500),
        ] {
            assert_eq!(
                next_delay(&p, &final_answer, 1, Duration::ZERO, 0.5),
                None,
                "{final_answer:?}"
            );
        }
    }

    #[test]
    fn backs_off_exponentially_with_full_jitter_and_stops() {
        let p = Policy::default();
        let full = |attempt| {
            next_delay(&p, &Trouble::Transport, attempt, Duration::ZERO, 0.999_999).unwrap()
        };
        assert!(full(1) <= Duration::from_millis(250) && full(1) > Duration::from_millis(249));
        assert!(full(2) > Duration::from_millis(499) && full(3) > Duration::from_millis(999));
        assert_eq!(
            next_delay(&p, &Trouble::Transport, 1, Duration::ZERO, 0.0),
            Some(Duration::ZERO)
        );
        assert_eq!(
            next_delay(&p, &Trouble::Transport, 4, Duration::ZERO, 0.5),
            None,
            "4 attempts in all"
        );
        let big = Policy {
            max_attempts: 40,
            ..p
        };
        assert_eq!(
            next_delay(&big, &Trouble::Transport, 30, Duration::ZERO, 0.999_999)
                .map(|d| d <= p.max_delay),
            Some(true)
        );
        assert_eq!(
            next_delay(&p, &Trouble::Transport, 1, Duration::from_secs(60), 0.5),
            None,
            "total bound"
        );
    }

    #[test]
    fn honours_retry_after_up_to_a_cap() {
        let p = Policy::default();
        let after = |secs| Trouble::Status {
            status: 429,
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
