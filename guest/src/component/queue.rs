//! The one bounded work queue of the edge: list pages, name lookups and writes all run through
//! it. Each of `concurrency` workers takes the next item, releasing the queue before awaiting,
//! so requests overlap on wstd's reactor while each item's own requests stay in order.

use futures_util::future::join_all;
use std::cell::{Cell, RefCell};

/// Runs `work` on every item, at most `concurrency` at once, until the items run out or a call
/// returns `false` (no further item is started then; those in flight finish).
pub async fn bounded<I, F, Fut>(items: I, concurrency: usize, work: F)
where
    I: Iterator,
    F: Fn(I::Item) -> Fut,
    Fut: Future<Output = bool>,
{
    let queue = RefCell::new(items);
    let stopped = Cell::new(false);
    let worker = || async {
        while !stopped.get() {
            let Some(item) = queue.borrow_mut().next() else {
                break;
            };
            if !work(item).await {
                stopped.set(true);
            }
        }
    };
    join_all((0..concurrency.max(1)).map(|_| worker())).await;
}

/// Runs `work` on every item like `bounded`, and returns the results in the items' order, or
/// the first error: no further item is started after it (those in flight finish).
pub async fn try_all<I, F, Fut, T, E>(items: I, concurrency: usize, work: F) -> Result<Vec<T>, E>
where
    I: Iterator,
    F: Fn(I::Item) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let done = RefCell::new(Vec::new());
    let failure = RefCell::new(None);
    bounded(
        items.enumerate(),
        concurrency,
        async |(i, item)| match work(item).await {
            Ok(value) => {
                done.borrow_mut().push((i, value));
                true
            }
            Err(e) => {
                failure.borrow_mut().get_or_insert(e);
                false
            }
        },
    )
    .await;
    if let Some(failure) = failure.into_inner() {
        return Err(failure);
    }
    let mut done = done.into_inner();
    done.sort_unstable_by_key(|(i, _)| *i);
    Ok(done.into_iter().map(|(_, value)| value).collect())
}
