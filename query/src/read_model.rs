//! `ReadModel`: the projection as the service shares it between its event handler (which
//! applies) and its routes (which read and wait), with the last seq applied and, with
//! `--persist`, the [`Persister`] every change is recorded with first.

use crate::events::BlogEvent;
use crate::persister::Persister;
use crate::projection::{Change, Projection, Unapplicable};
use crate::store::{ProjectionStore, Saved, StoreError};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;
use tokio::sync::watch;

/// Why an event was not applied.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// It never can be (the bus parks it).
    #[error(transparent)]
    Unapplicable(#[from] Unapplicable),
    /// The store failed (the bus retries).
    #[error("cannot store the change")]
    Store(#[from] StoreError),
}

/// The shared read model. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ReadModel {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    projection: RwLock<Projection>,
    /// The highest seq applied (or examined and refused) so far.
    applied: watch::Sender<u64>,
    persister: Option<Arc<Persister>>,
}

impl ReadModel {
    /// A read model over what `store` held at start (`Saved::default()` and no store: in
    /// memory, empty). With a store, it must be called within the tokio runtime (its
    /// [`Persister`] writes in the background).
    pub fn new(saved: Saved, store: Option<ProjectionStore>) -> Self {
        Self {
            inner: Arc::new(Inner {
                projection: RwLock::new(saved.projection),
                applied: watch::channel(saved.applied.unwrap_or(0)).0,
                persister: store.map(Persister::start),
            }),
        }
    }

    /// The highest seq applied: everything up to it is in the projection.
    pub fn applied(&self) -> u64 {
        *self.inner.applied.borrow()
    }

    /// Waits until seq `seq` is applied, for at most `timeout`; the seq applied then.
    pub async fn wait_for(&self, seq: u64, timeout: Duration) -> u64 {
        let mut applied = self.inner.applied.subscribe();
        let _ = tokio::time::timeout(timeout, applied.wait_for(|a| *a >= seq)).await;
        self.applied()
    }

    /// Runs `read` on the projection.
    pub fn read<T>(&self, read: impl FnOnce(&Projection) -> T) -> T {
        read(
            &self
                .inner
                .projection
                .read()
                .unwrap_or_else(PoisonError::into_inner),
        )
    }

    /// Applies `event`, the event at `seq`: recorded for the store first (with the
    /// checkpoint), then in memory. One caller at a time (the subscriber applies in seq
    /// order).
    pub async fn apply(&self, seq: u64, event: &BlogEvent) -> Result<(), ApplyError> {
        let change = self.read(|projection| projection.plan(seq, event))?;
        self.record(&change, seq).await?;
        self.inner
            .projection
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .commit(change);
        self.mark_applied(seq);
        Ok(())
    }

    /// An event at `seq` that can never be applied was examined: the checkpoint moves past
    /// it, so that it is not asked again after a restart.
    pub async fn pass(&self, seq: u64) -> Result<(), StoreError> {
        self.record(&Change::Nothing, seq).await?;
        self.mark_applied(seq);
        Ok(())
    }

    /// Drops everything (the log was replaced, or the checkpoint is beyond its head).
    pub async fn reset(&self) -> Result<(), StoreError> {
        if let Some(persister) = &self.inner.persister {
            persister.clear().await?;
        }
        *self
            .inner
            .projection
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Projection::default();
        self.inner.applied.send_replace(0);
        Ok(())
    }

    /// Remembers, with `--persist`, the bus log the checkpoint belongs to.
    pub async fn remember_log_id(&self, log_id: &str) -> Result<(), StoreError> {
        match &self.inner.persister {
            Some(persister) => persister.set_log_id(log_id).await,
            None => Ok(()),
        }
    }

    /// Writes what is pending and makes the stored state durable (at shutdown).
    pub async fn flush(&self) -> Result<(), StoreError> {
        match &self.inner.persister {
            Some(persister) => persister.flush().await,
            None => Ok(()),
        }
    }

    async fn record(&self, change: &Change, seq: u64) -> Result<(), StoreError> {
        match &self.inner.persister {
            Some(persister) => persister.record(change, seq).await,
            None => Ok(()),
        }
    }

    fn mark_applied(&self, seq: u64) {
        self.inner.applied.send_if_modified(|applied| {
            let newer = seq > *applied;
            *applied = (*applied).max(seq);
            newer
        });
    }
}
