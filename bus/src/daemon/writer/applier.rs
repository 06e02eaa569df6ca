//! The writer thread: takes the publishes waiting as one group, admits each in turn and
//! applies the group's records to the log at once, then hands the group to the flusher.

use super::admission::{Admission, Group};
use super::flusher::AppliedGroup;
use super::{answer_unavailable, Msg, Publish, PublishOutcome, Rejection, MAX_GROUP_EVENTS};
use crate::daemon::store::{EventLog, StoreError};
use std::sync::mpsc::SyncSender;
use std::sync::Arc;
use std::thread::JoinHandle;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// The writer thread's state; see the module doc.
pub(super) struct Applier {
    log: Arc<dyn EventLog>,
    admission: Admission,
    /// Cancelled when the log cannot be written: nothing more is applied.
    fatal: CancellationToken,
    /// Cancelled when the [`super::Writer`] is dropped: stop after the group in hand.
    stopping: CancellationToken,
}

impl Applier {
    /// The writer thread's state over `log`, after its last event.
    pub(super) fn new(
        log: Arc<dyn EventLog>,
        fatal: CancellationToken,
        stopping: CancellationToken,
    ) -> Result<Self, StoreError> {
        Ok(Self {
            admission: Admission::new(log.clone())?,
            log,
            fatal,
            stopping,
        })
    }

    /// Applies groups until stopped (or the log fails), then waits for the `flusher` to
    /// answer what it was handed and flushes one last time.
    pub(super) fn run(
        mut self,
        mut rx: mpsc::Receiver<Msg>,
        applied: SyncSender<AppliedGroup>,
        flusher: JoinHandle<()>,
    ) {
        self.apply_until_stopped(&mut rx, &applied);
        // Publishes still queued, or sent from now on, are answered `503`.
        drop(rx);
        drop(applied);
        let _ = flusher.join();
        if let Err(error) = self.log.flush() {
            tracing::error!(
                error = &error as &(dyn std::error::Error + 'static),
                "final flush failed"
            );
        }
        tracing::debug!("writer stopped");
    }

    fn apply_until_stopped(
        &mut self,
        rx: &mut mpsc::Receiver<Msg>,
        applied: &SyncSender<AppliedGroup>,
    ) {
        loop {
            let Some((publishes, stop)) = take_group(rx) else {
                return;
            };
            if !publishes.is_empty() {
                let Some(group) = self.apply(publishes) else {
                    return;
                };
                // The flusher is gone only if the process is stopping on a storage failure.
                if applied.send(group).is_err() || self.fatal.is_cancelled() {
                    return;
                }
            }
            if stop || self.stopping.is_cancelled() {
                return;
            }
        }
    }

    /// Checks and applies one group, for the flusher to make durable; `None` when the log
    /// can no longer be written (its publishers are then answered `503`).
    fn apply(&mut self, publishes: Vec<Publish>) -> Option<AppliedGroup> {
        if self.fatal.is_cancelled() {
            // A flush failed meanwhile: the daemon is stopping; apply nothing more.
            answer_unavailable(publishes.into_iter().map(|p| p.answer));
            return None;
        }
        let mut group = Group::default();
        let outcomes: Vec<PublishOutcome> = publishes
            .iter()
            .map(|p| {
                self.admission
                    .admit(&p.events, &mut group)
                    .unwrap_or_else(|error| {
                        tracing::error!(
                            error = &error as &(dyn std::error::Error + 'static),
                            "reading the log failed"
                        );
                        PublishOutcome::Rejected(Rejection::StorageUnavailable)
                    })
            })
            .collect();
        let answers = publishes.into_iter().map(|p| p.answer);
        if !self.append(&group) {
            // As after a failed flush: a refusal may rest on groups never made durable.
            answer_unavailable(answers);
            return None;
        }
        Some(AppliedGroup {
            answers: answers.zip(outcomes).collect(),
            head: self.admission.head(),
            records: group.records.len(),
        })
    }

    /// Appends the group's records (if any); `false`, with `fatal` cancelled, if the log
    /// cannot be written.
    fn append(&self, group: &Group) -> bool {
        if group.records.is_empty() {
            return true;
        }
        match self.log.append(&group.records, group.has_array) {
            Ok(()) => true,
            Err(error) => {
                tracing::error!(
                    error = &error as &(dyn std::error::Error + 'static),
                    "cannot write the log: answering 503 and stopping"
                );
                self.fatal.cancel();
                false
            }
        }
    }
}

/// Waits for a publish, then takes every other one already waiting, up to
/// [`MAX_GROUP_EVENTS`] events; also says whether a `Stop` came. `None` once every handle
/// is gone.
fn take_group(rx: &mut mpsc::Receiver<Msg>) -> Option<(Vec<Publish>, bool)> {
    let mut next = Some(rx.blocking_recv()?);
    let (mut publishes, mut events, mut stop) = (Vec::new(), 0, false);
    while let Some(msg) = next.take() {
        match msg {
            Msg::Publish(p) => {
                events += p.events.len();
                publishes.push(p);
            }
            Msg::Stop => stop = true,
        }
        if events < MAX_GROUP_EVENTS {
            next = rx.try_recv().ok();
        }
    }
    Some((publishes, stop))
}
