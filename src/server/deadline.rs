//! Waiting for a lookup task at most until a deadline: client triage, the
//! client's reverse DNS and the link-domain lookups all start work early
//! and take whatever has come when their budget runs out. The task itself
//! goes on (its answers still fill the cache); only the wait ends.

use std::future::Future;
use std::time::Instant;

use futures_lite::FutureExt;
use glommio::timer::Timer;

/// The task's output, or `None` when it has not finished by `deadline` (or
/// was cancelled).
pub async fn within<T>(
    deadline: Instant,
    task: impl Future<Output = Option<T>> + Unpin,
) -> Option<T> {
    let left = deadline.saturating_duration_since(Instant::now());
    let late = async {
        Timer::new(left).await;
        None
    };
    task.or(late).await
}
