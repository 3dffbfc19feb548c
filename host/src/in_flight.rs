//! The sandbox's bound on requests in flight. The sync itself never has more than its
//! concurrency cap of writes (plus the one that lists) out at once; a tampered component could
//! open thousands, each holding a checked body (up to 1 MiB), a recorded answer (up to 4 MiB)
//! and a connection. Beyond the bound, a request waits until an earlier one's answer is read to
//! its end or dropped: the sync is never refused, a flood only slows itself down.

use bytes::Bytes;
use http_body::{Body, Frame};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
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

/// An answer's body that keeps its request's place until it ends or is dropped.
pub struct Permitted<B> {
    body: B,
    permit: Option<OwnedSemaphorePermit>,
}

impl<B> Permitted<B> {
    pub fn new(body: B, permit: OwnedSemaphorePermit) -> Permitted<B> {
        Permitted {
            body,
            permit: Some(permit),
        }
    }
}

impl<B: Body<Data = Bytes> + Unpin> Body for Permitted<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let polled = Pin::new(&mut self.body).poll_frame(cx);
        let ended = match &polled {
            Poll::Ready(None) | Poll::Ready(Some(Err(_))) => true,
            Poll::Ready(Some(Ok(_))) => self.body.is_end_stream(),
            Poll::Pending => false,
        };
        if ended {
            self.permit = None;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
        let answer = Permitted::new(Full::new(Bytes::from_static(b"{}")), held.pop().unwrap());
        answer.collect().await.unwrap();
        let next = tokio::time::timeout(Duration::from_secs(5), in_flight.enter()).await;
        assert!(next.is_ok(), "a read answer frees its place");

        // So does one dropped unread.
        let unread = Permitted::new(Full::new(Bytes::from_static(b"{}")), next.unwrap());
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
