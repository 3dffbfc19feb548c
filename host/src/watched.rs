//! A response body relayed unchanged to the component while something watches it pass: each
//! piece of data, then its end. The sandbox's answer-side rules (`held::Recording`,
//! `in_flight::Place`) are watchers; this file is the one place that polls a body for them.

use bytes::Bytes;
use http_body::{Body, Frame};
use std::pin::Pin;
use std::task::{Context, Poll};

/// What watches a body.
pub trait Watch {
    /// A piece of data is passing to the component.
    fn data(&mut self, _data: &Bytes) {}

    /// The body ended: `complete` when all of it passed, before the component can see that it
    /// ended; not complete when it failed or was dropped unread. Called once.
    fn end(&mut self, _complete: bool) {}
}

/// `body`, watched by `watch`.
pub struct Watched<B, W: Watch> {
    body: B,
    watch: W,
    ended: bool,
}

impl<B, W: Watch> Watched<B, W> {
    pub fn new(body: B, watch: W) -> Watched<B, W> {
        Watched {
            body,
            watch,
            ended: false,
        }
    }

    fn end(&mut self, complete: bool) {
        if !self.ended {
            self.ended = true;
            self.watch.end(complete);
        }
    }
}

impl<B: Body<Data = Bytes> + Unpin, W: Watch + Unpin> Body for Watched<B, W> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let polled = Pin::new(&mut self.body).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    self.watch.data(data);
                }
                if self.body.is_end_stream() {
                    self.end(true);
                }
            }
            Poll::Ready(None) => self.end(true),
            Poll::Ready(Some(Err(_))) => self.end(false),
            Poll::Pending => {}
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

impl<B, W: Watch> Drop for Watched<B, W> {
    fn drop(&mut self) {
        self.end(false);
    }
}
