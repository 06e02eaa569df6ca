//! The subscriber's answer as a verdict, and the backoff before the next attempt.

use super::request::Delivery;
use crate::wire::RetryPolicy;
use reqwest::StatusCode;
use std::time::{Duration, SystemTime};

/// Most bytes of a subscriber's answer read (the rest is dropped).
const MAX_ANSWER_BYTES: usize = 64 * 1024;
/// Most characters of an answer kept in `last_error`.
const ERROR_SNIPPET_CHARS: usize = 200;

/// What the subscriber's answer means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
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

/// POSTs one delivery and reads the verdict (redirects are never followed).
pub async fn call(
    http: &reqwest::Client,
    url: reqwest::Url,
    delivery: Delivery,
    timeout: Duration,
) -> Answer {
    let sent = http
        .post(url)
        .headers(delivery.headers)
        .body(delivery.body)
        .timeout(timeout)
        .send()
        .await;
    let mut response = match sent {
        Ok(response) => response,
        Err(e) => return transport_failure(&e, timeout),
    };
    let status = response.status();
    let retry_after = matches!(
        status,
        StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
    )
    .then(|| response.headers().get(reqwest::header::RETRY_AFTER))
    .flatten()
    .and_then(|v| v.to_str().ok())
    .and_then(parse_retry_after);
    let mut answer = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        answer.extend_from_slice(&chunk);
        if answer.len() >= MAX_ANSWER_BYTES {
            break;
        }
    }
    match status.as_u16() {
        200..=299 => Answer::Ok,
        422 => Answer::Reject,
        410 => Answer::Gone,
        code => {
            let text: String = String::from_utf8_lossy(&answer)
                .chars()
                .take(ERROR_SNIPPET_CHARS)
                .collect();
            let error = if text.trim().is_empty() {
                format!("HTTP {code}")
            } else {
                format!("HTTP {code}: {}", text.trim())
            };
            Answer::Failed {
                status: Some(code),
                error,
                retry_after,
            }
        }
    }
}

fn transport_failure(e: &reqwest::Error, timeout: Duration) -> Answer {
    let error = if e.is_timeout() {
        format!("timed out after {} ms", timeout.as_millis())
    } else if e.is_connect() {
        format!("cannot connect: {}", root_cause(e))
    } else {
        format!("request failed: {}", root_cause(e))
    };
    Answer::Failed {
        status: None,
        error,
        retry_after: None,
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// `Retry-After`: seconds, or an HTTP date.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    if let Ok(seconds) = value.trim().parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value.trim()).ok()?;
    Some(at.duration_since(SystemTime::now()).unwrap_or_default())
}

/// The wait before attempt `attempts + 1`: exponential from `initial_ms`, capped at
/// `max_ms`, with jitter (a random half of it); a `Retry-After` instead, capped at `max_ms`.
pub fn backoff(policy: &RetryPolicy, attempts: u32, retry_after: Option<Duration>) -> Duration {
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
