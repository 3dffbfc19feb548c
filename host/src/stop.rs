//! Stopping a run on SIGTERM (Kubernetes' `activeDeadlineSeconds`, a node drain) or SIGINT
//! (Ctrl-C): from the signal on, the sandbox refuses every new request, so the component starts
//! no further write and reports those groups as not attempted; requests already in flight get
//! [`GRACE`] to finish, then the component is stopped outright.

use crate::logging::{Level, LogSink};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::time::Duration;
use tokio::sync::Notify;

/// How long requests in flight may take to finish once a stop signal arrived. Kubernetes waits
/// 30 s (terminationGracePeriodSeconds) before it kills the container.
pub const GRACE: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Term,
    Int,
}

impl Signal {
    pub fn name(self) -> &'static str {
        match self {
            Signal::Term => "SIGTERM",
            Signal::Int => "SIGINT",
        }
    }

    /// The shell's convention for a process ended by a signal: 128 + its number.
    pub fn exit_code(self) -> u8 {
        match self {
            Signal::Term => 128 + 15,
            Signal::Int => 128 + 2,
        }
    }
}

/// Whether, and how far, this run is being stopped. Clones share the state.
#[derive(Clone, Default)]
pub struct Stop(Arc<State>);

#[derive(Default)]
struct State {
    /// 0: running; otherwise the `Signal` (1 = Term, 2 = Int).
    signal: AtomicU8,
    forced: AtomicBool,
    forced_now: Notify,
    requested_now: Notify,
}

impl Stop {
    /// From now on no new request leaves the sandbox.
    pub fn request(&self, signal: Signal) {
        let code = match signal {
            Signal::Term => 1,
            Signal::Int => 2,
        };
        let _ = self
            .0
            .signal
            .compare_exchange(0, code, Ordering::SeqCst, Ordering::SeqCst);
        self.0.requested_now.notify_waiters();
    }

    /// Resolves once a stop was requested.
    pub async fn stopping(&self) -> Signal {
        loop {
            let notified = self.0.requested_now.notified();
            if let Some(signal) = self.requested() {
                return signal;
            }
            notified.await;
        }
    }

    /// The signal that asked the run to stop, if one did.
    pub fn requested(&self) -> Option<Signal> {
        match self.0.signal.load(Ordering::SeqCst) {
            1 => Some(Signal::Term),
            2 => Some(Signal::Int),
            _ => None,
        }
    }

    /// The grace period is over: the component is to be stopped outright.
    pub fn force(&self) {
        self.0.forced.store(true, Ordering::SeqCst);
        self.0.forced_now.notify_waiters();
    }

    /// Resolves once [`Stop::force`] was called.
    pub async fn forced(&self) {
        loop {
            let notified = self.0.forced_now.notified();
            if self.0.forced.load(Ordering::SeqCst) {
                return;
            }
            notified.await;
        }
    }

    /// Listens for SIGTERM and SIGINT for as long as the returned task lives: the first one
    /// requests the stop (with a Warning saying so), and [`GRACE`] later forces it.
    pub fn on_signals(&self, log: &LogSink) -> std::io::Result<tokio::task::JoinHandle<()>> {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        let (stop, log) = (self.clone(), log.clone());
        Ok(tokio::spawn(async move {
            let received = tokio::select! {
                _ = term.recv() => Signal::Term,
                _ = int.recv() => Signal::Int,
            };
            stop.request(received);
            log.event(
                Level::Warning,
                "Received {Signal}: stopping. No new request is sent; requests in flight get {GraceSecs} s to finish, then the report is printed",
                &[
                    ("Signal", json!(received.name())),
                    ("GraceSecs", json!(GRACE.as_secs())),
                ],
            );
            tokio::time::sleep(GRACE).await;
            stop.force();
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_signal_wins_and_maps_to_the_shell_exit_code() {
        let stop = Stop::default();
        assert_eq!(stop.requested(), None);
        stop.request(Signal::Int);
        stop.request(Signal::Term);
        assert_eq!(stop.requested(), Some(Signal::Int));
        assert_eq!(
            (Signal::Term.exit_code(), Signal::Int.exit_code()),
            (143, 130)
        );
    }

    #[tokio::test]
    async fn forcing_wakes_whoever_waits_and_anyone_later() {
        let stop = Stop::default();
        let waiter = tokio::spawn({
            let stop = stop.clone();
            async move { stop.forced().await }
        });
        tokio::task::yield_now().await;
        stop.force();
        waiter.await.unwrap();
        stop.forced().await;
    }

    #[tokio::test]
    async fn a_request_wakes_whoever_waits_for_it() {
        let stop = Stop::default();
        let waiter = tokio::spawn({
            let stop = stop.clone();
            async move { stop.stopping().await }
        });
        tokio::task::yield_now().await;
        stop.request(Signal::Term);
        assert_eq!(waiter.await.unwrap(), Signal::Term);
        assert_eq!(stop.stopping().await, Signal::Term);
    }
}
