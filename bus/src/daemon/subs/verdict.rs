//! The subscriber's answer as a verdict, and the backoff before the next attempt.

use super::client::{CallError, Connection, Destination, Response};
use super::request::Delivery;
use crate::wire::RetryPolicy;
use http::StatusCode;
use std::time::{Duration, SystemTime};

/// Most characters of an answer kept in `last_error`.
const ERROR_SNIPPET_CHARS: usize = 200;

/// What the subscriber's answer means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Any 2xx: acknowledged.
    Ok,
    /// 422: this event can never be processed there: park it.
    Reject,
    /// 410: the endpoint is gone: pause.
    Gone,
    /// Anything else: retry.
    Failed {
        /// The HTTP status, if the subscriber answered.
        status: Option<u16>,
        /// What happened, for `last_error`.
        error: String,
        /// `Retry-After` of a 429 or 503.
        retry_after: Option<Duration>,
    },
}

/// POSTs one delivery over `connection` and reads the verdict (redirects are never
/// followed), within `timeout` for the whole exchange.
pub(crate) async fn call(
    connection: &mut Connection,
    destination: &Destination,
    delivery: Delivery,
    timeout: Duration,
) -> Verdict {
    let exchange = connection.post(destination, delivery.headers, delivery.body);
    let answer = match tokio::time::timeout(timeout, exchange).await {
        Ok(Ok(answer)) => answer,
        Ok(Err(CallError::Connect(e))) => return failure(format!("cannot connect: {e}")),
        Ok(Err(CallError::Request(e))) => return failure(format!("request failed: {e}")),
        Err(_) => return failure(format!("timed out after {} ms", timeout.as_millis())),
    };
    verdict_of(&answer)
}

/// What `answer` means.
fn verdict_of(answer: &Response) -> Verdict {
    let status = answer.status;
    let retry_after = matches!(
        status,
        StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
    )
    .then_some(answer.retry_after.as_ref())
    .flatten()
    .and_then(|v| v.to_str().ok())
    .and_then(parse_retry_after);
    match status.as_u16() {
        200..=299 => Verdict::Ok,
        422 => Verdict::Reject,
        410 => Verdict::Gone,
        code => {
            let text: String = String::from_utf8_lossy(&answer.body)
                .chars()
                .take(ERROR_SNIPPET_CHARS)
                .collect();
            let error = if text.trim().is_empty() {
                format!("HTTP {code}")
            } else {
                format!("HTTP {code}: {}", text.trim())
            };
            Verdict::Failed {
                status: Some(code),
                error,
                retry_after,
            }
        }
    }
}

/// A failure without an answer (no connection, a timeout, a URL this build cannot reach).
pub(crate) fn failure(error: String) -> Verdict {
    Verdict::Failed {
        status: None,
        error,
        retry_after: None,
    }
}

/// `Retry-After`: seconds, or an HTTP date.
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    if let Ok(seconds) = value.trim().parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value.trim()).ok()?;
    Some(at.duration_since(SystemTime::now()).unwrap_or_default())
}

/// The wait before attempt `attempts + 1`: exponential from `initial_ms`, capped at
/// `max_ms`, with jitter (a random half of it); a `Retry-After` instead, capped at `max_ms`.
pub(crate) fn backoff(
    policy: &RetryPolicy,
    attempts: u32,
    retry_after: Option<Duration>,
) -> Duration {
    let max = Duration::from_millis(policy.max_ms);
    if let Some(wait) = retry_after {
        return wait.min(max);
    }
    let exponent = attempts.saturating_sub(1).min(32);
    let base = policy
        .initial_ms
        .saturating_mul(1u64 << exponent)
        .min(policy.max_ms);
    let jittered = base / 2 + fastrand::u64(0..=base / 2);
    Duration::from_millis(jittered)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let policy = RetryPolicy {
            initial_ms: 100,
            max_ms: 1_000,
            ..Default::default()
        };
        for (attempts, base) in [
            (1, 100),
            (2, 200),
            (3, 400),
            (4, 800),
            (5, 1_000),
            (40, 1_000),
        ] {
            let d = backoff(&policy, attempts, None).as_millis() as u64;
            assert!((base / 2..=base).contains(&d), "attempt {attempts}: {d} ms");
        }
    }

    #[test]
    fn backoff_jitter_varies_within_half_to_the_whole_delay() {
        let policy = RetryPolicy {
            initial_ms: 1_000,
            max_ms: 60_000,
            ..Default::default()
        };
        for (attempts, base) in [(1u32, 1_000u64), (3, 4_000), (10, 60_000)] {
            let draws: Vec<u64> = (0..500)
                .map(|_| backoff(&policy, attempts, None).as_millis() as u64)
                .collect();
            assert!(
                draws.iter().all(|d| (base / 2..=base).contains(d)),
                "attempt {attempts}: a draw outside {}..={base}",
                base / 2
            );
            let distinct: std::collections::HashSet<_> = draws.iter().collect();
            assert!(
                distinct.len() > 100,
                "attempt {attempts}: only {} distinct delays",
                distinct.len()
            );
            let (min, max) = (draws.iter().min(), draws.iter().max());
            let spread = max.zip(min).map_or(0, |(max, min)| max - min);
            assert!(
                spread > base / 4,
                "attempt {attempts}: the delays span {spread} ms of {base}"
            );
        }
    }

    #[test]
    fn retry_after_is_honoured_and_capped() {
        let policy = RetryPolicy {
            initial_ms: 100,
            max_ms: 5_000,
            ..Default::default()
        };
        assert_eq!(
            backoff(&policy, 1, Some(Duration::from_secs(2))),
            Duration::from_secs(2)
        );
        assert_eq!(
            backoff(&policy, 1, Some(Duration::from_secs(60))),
            Duration::from_secs(5)
        );
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }
}
