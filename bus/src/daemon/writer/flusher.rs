//! The flusher thread: the second half of the group commit.
//!
//! It takes every group the writer has applied since its last flush, flushes once, raises
//! the durable head and only then answers their publishers. The writer meanwhile applies
//! the next groups, so applying and flushing overlap instead of taking turns.

use super::{answer_unavailable, PublishOutcome};
use crate::daemon::config::Durability;
use crate::daemon::metrics::Metrics;
use crate::daemon::store::EventLog;
use std::sync::mpsc::Receiver;
use std::sync::Arc;
use tokio::sync::{oneshot, watch};
use tokio_util::sync::CancellationToken;

/// A group the writer has applied, waiting for the flush that makes it durable.
pub(super) struct AppliedGroup {
    /// Each publish's answer channel and the outcome to send once durable.
    pub(super) answers: Vec<(oneshot::Sender<PublishOutcome>, PublishOutcome)>,
    /// The last seq applied once this group was in.
    pub(super) head: u64,
    /// Records the group appended (0 when every publish was refused or a duplicate).
    pub(super) records: usize,
}

/// Makes applied groups durable and answers their publishers; see the module doc.
pub(super) struct Flusher {
    log: Arc<dyn EventLog>,
    durability: Durability,
    metrics: Metrics,
    fatal: CancellationToken,
    /// The highest seq made durable so far.
    durable: u64,
    /// Set by a failed flush: nothing is acknowledged after it.
    failed: bool,
}

impl Flusher {
    pub(super) fn new(
        log: Arc<dyn EventLog>,
        durability: Durability,
        metrics: Metrics,
        fatal: CancellationToken,
    ) -> Self {
        Self {
            log,
            durability,
            metrics,
            fatal,
            durable: 0,
            failed: false,
        }
    }

    /// Runs until the writer drops its end of `applied`, publishing the durable head on
    /// `durable_head` (whose initial value is the log's head).
    pub(super) fn run(mut self, applied: Receiver<AppliedGroup>, durable_head: watch::Sender<u64>) {
        self.durable = *durable_head.borrow();
        while let Ok(first) = applied.recv() {
            let mut groups = vec![first];
            groups.extend(applied.try_iter());
            self.make_durable(&groups, &durable_head);
            let answers = groups.into_iter().flat_map(|g| g.answers);
            if self.failed {
                // Refusals too: a 409 may rest on a group applied but never made durable.
                answer_unavailable(answers.map(|(answer, _)| answer));
            } else {
                for (answer, outcome) in answers {
                    let _ = answer.send(outcome);
                }
            }
        }
    }

    /// Flushes once for `groups` (unless a flush already failed or they appended
    /// nothing), then raises the durable head; a failure cancels `fatal` instead.
    fn make_durable(&mut self, groups: &[AppliedGroup], durable_head: &watch::Sender<u64>) {
        let head = groups.last().map_or(self.durable, |g| g.head);
        if self.failed || head <= self.durable {
            return;
        }
        let flushed = match self.durability {
            Durability::Fsync => self.log.flush(),
            Durability::Os => Ok(()),
        };
        if let Err(error) = flushed {
            tracing::error!(
                error = &error as &(dyn std::error::Error + 'static),
                "cannot write the log: answering 503 and stopping"
            );
            self.fatal.cancel();
            self.failed = true;
            return;
        }
        let records: usize = groups.iter().map(|g| g.records).sum();
        self.durable = head;
        self.metrics.events_appended.inc_by(records as u64);
        self.metrics.batch_events.observe(records as f64);
        self.metrics
            .head_seq
            .set(i64::try_from(head).unwrap_or(i64::MAX));
        durable_head.send_replace(head);
    }
}
