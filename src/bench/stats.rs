//! Latency percentiles and the per-task tallies of `bench publish`.

use std::collections::BTreeMap;
use std::time::Duration;

/// What one publishing task saw.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    /// Latency of every request, in microseconds (successful or not).
    pub(crate) latencies_us: Vec<u64>,
    /// Requests answered `201`.
    pub(crate) ok_requests: u64,
    /// Events in those requests.
    pub(crate) ok_events: u64,
    /// Failed requests by HTTP status, or by transport failure (`connect`, `timeout`, …).
    pub(crate) errors: BTreeMap<String, u64>,
}

impl Tally {
    /// Counts one request of `events` events that took `elapsed`.
    pub(crate) fn record(&mut self, elapsed: Duration, outcome: Result<u16, String>, events: u64) {
        self.latencies_us
            .push(u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX));
        match outcome {
            Ok(201) => {
                self.ok_requests += 1;
                self.ok_events += events;
            }
            Ok(status) => *self.errors.entry(status.to_string()).or_default() += 1,
            Err(kind) => *self.errors.entry(kind).or_default() += 1,
        }
    }

    /// Adds `other` into `self`.
    pub(crate) fn merge(&mut self, other: Tally) {
        self.latencies_us.extend(other.latencies_us);
        self.ok_requests += other.ok_requests;
        self.ok_events += other.ok_events;
        for (key, n) in other.errors {
            *self.errors.entry(key).or_default() += n;
        }
    }
}

/// p50, p99 and max of a set of latencies, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub(crate) struct Percentiles {
    /// Median.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Largest.
    pub(crate) max_ms: f64,
}

impl Percentiles {
    /// Nearest-rank percentiles of `us` (microseconds); sorts it.
    pub(crate) fn of(us: &mut [u64]) -> Self {
        us.sort_unstable();
        let ms = |v: u64| v as f64 / 1000.0;
        Self {
            p50_ms: ms(nearest_rank(us, 0.50)),
            p99_ms: ms(nearest_rank(us, 0.99)),
            max_ms: ms(us.last().copied().unwrap_or(0)),
        }
    }
}

/// The value at percentile `p` (0–1) of sorted `values`: the smallest with at least `p`
/// of the values at or below it.
fn nearest_rank(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let mut us: Vec<u64> = (1..=100).rev().map(|v| v * 1000).collect();
        let p = Percentiles::of(&mut us);
        assert_eq!(p.p50_ms, 50.0);
        assert_eq!(p.p99_ms, 99.0);
        assert_eq!(p.max_ms, 100.0);
        assert_eq!(Percentiles::of(&mut []), Percentiles::default());
    }

    #[test]
    fn tally_counts_errors_by_status() {
        let mut a = Tally::default();
        a.record(Duration::from_micros(5), Ok(201), 10);
        a.record(Duration::from_micros(7), Ok(503), 10);
        let mut b = Tally::default();
        b.record(Duration::from_micros(9), Err("connect".into()), 10);
        a.merge(b);
        assert_eq!((a.ok_requests, a.ok_events), (1, 10));
        assert_eq!(a.latencies_us.len(), 3);
        assert_eq!(a.errors.get("503"), Some(&1));
        assert_eq!(a.errors.get("connect"), Some(&1));
    }
}
