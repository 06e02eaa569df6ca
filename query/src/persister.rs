//! `Persister`: with `--persist`, writes the projection's changes to its store in groups,
//! each one atomic batch with the seq of its last change as the checkpoint.
//!
//! One sled batch per event cost ~160 µs on our VM (the hop to the blocking pool and the
//! batch itself): a rebuild of 1,000,000 events took minutes. Grouping is safe because the
//! checkpoint, not the bus's cursor, says where delivery resumes: changes acknowledged to
//! the bus but not yet written are simply delivered again after a crash (the service
//! registers after its stored checkpoint), and the projection applies them as new. A
//! group is written once it holds [`GROUP_ENTRIES`] changes, every [`WRITE_EVERY`]
//! otherwise, and at shutdown.

use crate::projection::Change;
use crate::store::{entry, Entry, ProjectionStore, StoreError};
use bus::kit::error_chain;
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::sync::Mutex;

/// Changes in a group written at once.
pub const GROUP_ENTRIES: usize = 1_000;
/// How long a change may wait to be written (what a crash of an idle query can lose, to be
/// delivered again).
pub const WRITE_EVERY: Duration = Duration::from_millis(100);

/// Changes applied in memory, not yet written.
#[derive(Debug, Default)]
struct Group {
    entries: Vec<Entry>,
    /// The seq of the last change (the checkpoint to write with them).
    last: Option<u64>,
}

/// Writes changes to a [`ProjectionStore`] in groups.
#[derive(Debug)]
pub struct Persister {
    store: ProjectionStore,
    pending: Mutex<Group>,
}

impl Persister {
    /// A persister over `store`, writing its pending group every [`WRITE_EVERY`] for as
    /// long as it lives.
    pub fn start(store: ProjectionStore) -> Arc<Self> {
        let persister = Arc::new(Self {
            store,
            pending: Mutex::new(Group::default()),
        });
        keep_writing(Arc::downgrade(&persister));
        persister
    }

    /// Adds `change`, the change of the event at `seq`, to the group (writing the group if
    /// it is full).
    pub async fn record(&self, change: &Change, seq: u64) -> Result<(), StoreError> {
        let mut group = self.pending.lock().await;
        group.entries.extend(entry(change));
        group.last = Some(seq);
        if group.entries.len() >= GROUP_ENTRIES {
            self.write(&mut group).await?;
        }
        Ok(())
    }

    /// Writes what is pending and makes the store durable (at shutdown).
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.write(&mut *self.pending.lock().await).await?;
        let store = self.store.clone();
        blocking(move || store.flush()).await
    }

    /// Drops the pending group and everything stored.
    pub async fn clear(&self) -> Result<(), StoreError> {
        let mut group = self.pending.lock().await;
        *group = Group::default();
        let store = self.store.clone();
        blocking(move || store.clear()).await
    }

    /// Remembers the bus log the checkpoint belongs to.
    pub async fn set_log_id(&self, log_id: &str) -> Result<(), StoreError> {
        let (store, log_id) = (self.store.clone(), log_id.to_string());
        blocking(move || store.set_log_id(&log_id)).await
    }

    /// Writes `group` as one batch; it stays pending if that fails (the next write retries).
    async fn write(&self, group: &mut Group) -> Result<(), StoreError> {
        let Some(seq) = group.last else {
            return Ok(());
        };
        let (store, entries) = (self.store.clone(), group.entries.clone());
        blocking(move || store.write(entries, seq)).await?;
        *group = Group::default();
        Ok(())
    }
}

/// Writes the pending group of the persister every [`WRITE_EVERY`], until it is dropped.
fn keep_writing(persister: Weak<Persister>) {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(WRITE_EVERY).await;
            let Some(persister) = persister.upgrade() else {
                return;
            };
            let written = persister.write(&mut *persister.pending.lock().await).await;
            if let Err(e) = written {
                tracing::error!(error = %error_chain(&e), "cannot store the projection");
            }
        }
    });
}

/// Runs a store call on tokio's blocking pool (sled may wait for the disk).
async fn blocking(
    call: impl FnOnce() -> Result<(), StoreError> + Send + 'static,
) -> Result<(), StoreError> {
    tokio::task::spawn_blocking(call)
        .await
        .map_err(|e| StoreError::Interrupted(e.to_string()))?
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{BlogEvent, PostCreated};
    use crate::projection::Projection;

    /// Records `count` new posts from seq `from` on, as the read model does.
    async fn record_posts(
        persister: &Persister,
        projection: &mut Projection,
        from: u64,
        count: u64,
    ) {
        for seq in from..from + count {
            let event = BlogEvent::PostCreated(PostCreated {
                id: format!("p{seq}"),
                title: "t".into(),
            });
            let change = projection.plan(seq, &event).expect("a new post");
            persister.record(&change, seq).await.expect("recorded");
            projection.commit(change);
        }
    }

    #[tokio::test]
    async fn a_full_group_is_written_at_once_and_the_rest_at_flush_with_its_checkpoint() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let store = ProjectionStore::open(dir.path(), 8).expect("open");
        let persister = Persister::start(store.clone());
        let mut projection = Projection::default();
        let full = GROUP_ENTRIES as u64;
        record_posts(&persister, &mut projection, 1, full + 10).await;
        let saved = store.load().expect("load");
        assert_eq!(
            saved.applied,
            Some(full),
            "the full group, with its checkpoint"
        );
        assert_eq!(saved.projection.len(), GROUP_ENTRIES);

        persister.flush().await.expect("flush");
        let saved = store.load().expect("load");
        assert_eq!(saved.applied, Some(full + 10));
        assert_eq!(saved.projection.len(), GROUP_ENTRIES + 10);
    }

    #[tokio::test]
    async fn a_group_short_of_full_is_written_within_write_every() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let store = ProjectionStore::open(dir.path(), 8).expect("open");
        let persister = Persister::start(store.clone());
        record_posts(&persister, &mut Projection::default(), 1, 3).await;
        bus::testkit::eventually("the group to be written", || async {
            (store.load().expect("load").applied == Some(3)).then_some(())
        })
        .await;
    }
}
