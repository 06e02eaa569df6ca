//! Bounded waiting: poll a condition until it holds, and fail the test past a bound rather
//! than hang it. Never a fixed sleep.

use std::future::Future;
use std::time::{Duration, Instant};

/// How long anything awaited may take before the test fails. Not a timed assertion: only a
/// bound, so that a hang fails instead of blocking the suite.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// How long [`eventually_within`] waits between two probes.
const POLL_INTERVAL: Duration = Duration::from_millis(10);

/// Polls `probe` until it returns `Some`, for at most [`PATIENCE`]; its value. Panics
/// naming `what` past the bound.
pub async fn eventually<T, F, Fut>(what: &str, probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    eventually_within(what, PATIENCE, probe).await
}

/// Polls `probe` until it returns `Some`, for at most `timeout`; its value. Panics naming
/// `what` past the bound.
pub async fn eventually_within<T, F, Fut>(what: &str, timeout: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "gave up after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn returns_the_first_value_found() {
        let probes = AtomicU32::new(0);
        let found = eventually("the third probe", || async {
            let n = probes.fetch_add(1, Ordering::SeqCst) + 1;
            (n == 3).then_some(n)
        })
        .await;
        assert_eq!(found, 3);
    }

    #[tokio::test]
    #[should_panic(expected = "waiting for nothing")]
    async fn gives_up_at_its_bound() {
        eventually_within("nothing", Duration::from_millis(30), || async {
            None::<()>
        })
        .await;
    }
}
