//! The sandbox's bound on requests in flight. The sync itself never has more than its
//! concurrency cap of writes (plus the one that lists) out at once; a tampered component could
//! open thousands, each holding a checked body (up to 1 MiB), a recorded answer (up to 4 MiB)
//! and a connection. Beyond the bound, a request waits until an earlier one's answer is read to
//! its end or dropped: the sync is never refused, a flood only slows itself down.

use crate::watched::Watch;
use std::sync::Arc;
use tenant_sync_core::defaults;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// At most this many requests of one run are in flight, from the check of their body to the
/// end of their answer: the most the sync sends at once.
pub const MAX_IN_FLIGHT: usize = defaults::MAX_CONCURRENCY as usize + 1;

/// One run's requests in flight. Cloning shares the count.
#[derive(Debug, Clone)]
pub struct InFlight(Arc<Semaphore>);

impl Default for InFlight {
    fn default() -> InFlight {
        InFlight(Arc::new(Semaphore::new(MAX_IN_FLIGHT)))
    }
}

impl InFlight {
    /// A place for one more request, once there is one.
    pub async fn enter(&self) -> OwnedSemaphorePermit {
        Arc::clone(&self.0)
            .acquire_owned()
            .await
            .expect("the semaphore is never closed")
    }
}

/// Watches an answer's body (`watched::Watched`), keeping its request's place until the body
/// ends or is dropped.
pub struct Place(Option<OwnedSemaphorePermit>);

impl Place {
    pub fn new(permit: OwnedSemaphorePermit) -> Place {
        Place(Some(permit))
    }
}

impl Watch for Place {
    fn end(&mut self, _complete: bool) {
        self.0 = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::watched::Watched;
    use bytes::Bytes;
    use http_body_util::{BodyExt, Full};
    use std::time::Duration;

    #[tokio::test]
    async fn past_the_bound_a_request_waits_until_an_answer_is_read_or_dropped() {
        let in_flight = InFlight::default();
        let mut held = Vec::new();
        for _ in 0..MAX_IN_FLIGHT {
            held.push(in_flight.enter().await);
        }
        let waiting = tokio::time::timeout(Duration::from_millis(50), in_flight.enter()).await;
        assert!(waiting.is_err(), "one more than the bound waits");

        // An answer read to its end gives its place back.
        let answer = Watched::new(
            Full::new(Bytes::from_static(b"{}")),
            Place::new(held.pop().unwrap()),
        );
        answer.collect().await.unwrap();
        let next = tokio::time::timeout(Duration::from_secs(5), in_flight.enter()).await;
        assert!(next.is_ok(), "a read answer frees its place");

        // So does one dropped unread.
        let unread = Watched::new(
            Full::new(Bytes::from_static(b"{}")),
            Place::new(next.unwrap()),
        );
        assert!(
            tokio::time::timeout(Duration::from_millis(50), in_flight.enter())
                .await
                .is_err()
        );
        drop(unread);
        assert!(
            tokio::time::timeout(Duration::from_secs(5), in_flight.enter())
                .await
                .is_ok()
        );
    }
}
