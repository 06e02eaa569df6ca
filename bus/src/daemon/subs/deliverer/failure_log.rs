//! `FailureLog`: which delivery failures a loop logs at WARN, so that a subscriber that
//! keeps failing shows in the log without flooding it.
//!
//! The first failure after a success warns; while failures go on, at most one WARN per
//! [`WARN_EVERY`] (saying how many were not logged); the first success after failures logs
//! one INFO. State changes (parked, blocked, paused by a 410) are logged where they happen.

use std::time::{Duration, Instant};

/// Fewest time between two WARNs of one subscription while it keeps failing.
pub(crate) const WARN_EVERY: Duration = Duration::from_secs(10);

/// What to log for a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FailureNotice {
    /// Log at WARN; `unlogged` failures since the previous WARN were not.
    Warn {
        /// Failures since the previous WARN that were logged at DEBUG only.
        unlogged: u32,
    },
    /// Within [`WARN_EVERY`] of the previous WARN: DEBUG only.
    Quiet,
}

/// The failures of one subscription's deliveries since its last success.
#[derive(Debug, Default)]
pub(crate) struct FailureLog {
    /// When the last WARN was logged; `None` while delivering fine.
    last_warn: Option<Instant>,
    /// Failures since the last WARN.
    unlogged: u32,
    /// Failures since the last success.
    failures: u32,
}

impl FailureLog {
    /// A failed delivery at `now`: what to log for it.
    pub(crate) fn failed(&mut self, now: Instant) -> FailureNotice {
        self.failures += 1;
        let due = self
            .last_warn
            .is_none_or(|last| now.saturating_duration_since(last) >= WARN_EVERY);
        if !due {
            self.unlogged += 1;
            return FailureNotice::Quiet;
        }
        self.last_warn = Some(now);
        FailureNotice::Warn {
            unlogged: std::mem::take(&mut self.unlogged),
        }
    }

    /// A successful delivery: the failures before it, if there were any (log one INFO).
    pub(crate) fn recovered(&mut self) -> Option<u32> {
        let failures = std::mem::take(self).failures;
        (failures > 0).then_some(failures)
    }

    /// Starts over after a state change (parked, blocked): the next failure warns.
    pub(crate) fn reset(&mut self) {
        *self = Self::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_failure_warns_then_one_warn_per_window_then_one_recovery() {
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        let mut log = FailureLog::default();
        assert_eq!(log.recovered(), None, "nothing failed");
        assert_eq!(log.failed(at(0)), FailureNotice::Warn { unlogged: 0 });
        assert_eq!(log.failed(at(100)), FailureNotice::Quiet);
        assert_eq!(log.failed(at(9_999)), FailureNotice::Quiet);
        assert_eq!(log.failed(at(10_000)), FailureNotice::Warn { unlogged: 2 });
        assert_eq!(log.failed(at(15_000)), FailureNotice::Quiet);
        assert_eq!(log.failed(at(25_000)), FailureNotice::Warn { unlogged: 1 });
        assert_eq!(log.recovered(), Some(6));
        assert_eq!(log.recovered(), None, "one INFO per recovery");
        // Failing again right after recovering warns at once.
        assert_eq!(log.failed(at(25_001)), FailureNotice::Warn { unlogged: 0 });
    }

    #[test]
    fn a_reset_makes_the_next_failure_warn() {
        let now = Instant::now();
        let mut log = FailureLog::default();
        assert_eq!(log.failed(now), FailureNotice::Warn { unlogged: 0 });
        assert_eq!(log.failed(now), FailureNotice::Quiet);
        log.reset();
        assert_eq!(log.failed(now), FailureNotice::Warn { unlogged: 0 });
        assert_eq!(log.recovered(), Some(1));
    }
}
