//! `CommentStore`: the comments, the replica of post ids and the subscription's checkpoint
//! in the service's own sled directory; every change commits with its events (the SDK's
//! outbox) and, when an event caused it, with the event's seq as the checkpoint.
//!
//! Trees:
//! - `comments`: comment id → [`StoredComment`] JSON;
//! - `comments.by_post`: post id (length-prefixed) + creation number (big-endian `u64`) →
//!   comment id, so that a post's comments list in creation order;
//! - `posts`: post id → empty, the replica of `PostCreated`;
//! - `checkpoint`: `applied` (the last seq applied, big-endian `u64`) and `log_id` (the
//!   bus log it belongs to);
//! - the SDK's outbox trees.

use crate::comment::Comment;
use crate::events::{comment_created, CommentData, PENDING};
use bus::sdk::{Outbox, Written};
use serde::{Deserialize, Serialize};
use sled::transaction::{abort, ConflictableTransactionError, TransactionError, TransactionalTree};
use std::path::Path;

const COMMENTS_TREE: &str = "comments";
const BY_POST_TREE: &str = "comments.by_post";
const POSTS_TREE: &str = "posts";
const CHECKPOINT_TREE: &str = "checkpoint";
/// The key of the last applied seq in the checkpoint tree.
const APPLIED: &[u8] = b"applied";
/// The key of the bus's log id in the checkpoint tree.
const LOG_ID: &[u8] = b"log_id";

/// Why the store could not do what was asked: a failure of the service (answered `500`,
/// or `503` to a delivery so that the bus retries), never of the request.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// sled failed (the disk, a flush…).
    #[error("the comments store failed")]
    Sled(#[from] sled::Error),
    /// A comment or an event that does not serialise, or a stored one that does not parse.
    #[error("a comment's JSON")]
    Json(#[from] serde_json::Error),
    /// A blocking task of the store panicked or was cancelled.
    #[error("a store task ended")]
    Task(#[from] tokio::task::JoinError),
}

impl From<TransactionError<StoreError>> for StoreError {
    fn from(error: TransactionError<StoreError>) -> Self {
        match error {
            TransactionError::Abort(e) => e,
            TransactionError::Storage(e) => Self::Sled(e),
        }
    }
}

/// A comment as stored: what is answered, its post, and the verdicts applied to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredComment {
    /// The comment as answered.
    #[serde(flatten)]
    pub comment: Comment,
    /// The post it is on.
    pub post_id: String,
    /// The ids of the `CommentModerated` events applied, in order: its version is their
    /// number, and one delivered again is recognised.
    pub verdicts: Vec<String>,
}

/// The state that comments keeps. Cheap to clone.
#[derive(Debug, Clone)]
pub struct CommentStore {
    pub(crate) db: bus::sled_store::DurableDb,
    pub(crate) comments: sled::Tree,
    pub(crate) by_post: sled::Tree,
    pub(crate) posts: sled::Tree,
    pub(crate) checkpoint: sled::Tree,
    outbox: Outbox,
}

impl CommentStore {
    /// Opens (or creates) the store in `dir`, with a page cache of `cache_mb` MiB.
    pub async fn open(dir: &Path, cache_mb: u64) -> Result<Self, StoreError> {
        let dir = dir.to_owned();
        tokio::task::spawn_blocking(move || {
            let db = bus::sled_store::DurableDb::open(&dir, cache_mb)?;
            Ok(Self {
                comments: db.open_tree(COMMENTS_TREE)?,
                by_post: db.open_tree(BY_POST_TREE)?,
                posts: db.open_tree(POSTS_TREE)?,
                checkpoint: db.open_tree(CHECKPOINT_TREE)?,
                outbox: Outbox::open(&db)?.with_source("comments"),
                db,
            })
        })
        .await?
    }

    /// The outbox, for its relay and for waiting on a write's publication.
    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    /// Whether the replica knows the post `post_id`.
    pub async fn knows_post(&self, post_id: &str) -> Result<bool, StoreError> {
        let (posts, post_id) = (self.posts.clone(), post_id.to_owned());
        Ok(tokio::task::spawn_blocking(move || posts.contains_key(post_id)).await??)
    }

    /// The last seq applied and the log it belongs to; `None` for a store that never
    /// applied anything (its subscription starts from the beginning).
    pub async fn checkpoint(&self) -> Result<(Option<u64>, Option<String>), StoreError> {
        let checkpoint = self.checkpoint.clone();
        tokio::task::spawn_blocking(move || {
            let applied = checkpoint.get(APPLIED)?.map(|v| seq_of(&v));
            let log_id = checkpoint.get(LOG_ID)?;
            let log_id = log_id.map(|v| String::from_utf8_lossy(&v).into_owned());
            Ok((applied, log_id))
        })
        .await?
    }

    /// Remembers the bus log the checkpoint belongs to.
    pub async fn save_log_id(&self, log_id: &str) -> Result<(), StoreError> {
        let (checkpoint, log_id) = (self.checkpoint.clone(), log_id.to_owned());
        tokio::task::spawn_blocking(move || checkpoint.insert(LOG_ID, log_id.as_bytes())).await??;
        Ok(())
    }

    /// Stores a new pending comment on `post_id` after the post's others, with its
    /// `CommentCreated` in the outbox, in one transaction; returns once both are flushed.
    pub async fn create(
        &self,
        post_id: &str,
        content: &str,
    ) -> Result<(Comment, Written<()>), StoreError> {
        let comment = Comment {
            id: bus::kit::new_hex_id(),
            content: content.into(),
            status: PENDING.into(),
        };
        let data = CommentData {
            id: &comment.id,
            content: &comment.content,
            post_id,
            status: PENDING,
            version: None,
        };
        let event = comment_created(&data)?;
        let stored = StoredComment {
            comment: comment.clone(),
            post_id: post_id.into(),
            verdicts: Vec::new(),
        };
        let json = serde_json::to_vec(&stored)?;
        let index = by_post_key(post_id, self.db.generate_id()?);
        let id = comment.id.clone();
        let written = self
            .outbox
            .write([&self.comments, &self.by_post], move |tx| {
                let [comments, by_post] = tx.trees();
                comments.insert(id.as_bytes(), json.as_slice())?;
                by_post.insert(index.as_slice(), id.as_bytes())?;
                tx.enqueue(&event)?;
                Ok::<_, ConflictableTransactionError<StoreError>>(())
            })
            .await?;
        Ok((comment, written))
    }

    /// The comments on `post_id`, in creation order (none for an unknown post).
    pub async fn list(&self, post_id: &str) -> Result<Vec<Comment>, StoreError> {
        let store = self.clone();
        let prefix = by_post_prefix(post_id);
        tokio::task::spawn_blocking(move || {
            let mut listed = Vec::new();
            for entry in store.by_post.scan_prefix(prefix) {
                let (_, id) = entry?;
                if let Some(json) = store.comments.get(&id)? {
                    let stored: StoredComment = serde_json::from_slice(&json)?;
                    listed.push(stored.comment);
                }
            }
            Ok(listed)
        })
        .await?
    }

    /// Forgets what the events applied after `after` (an operator's rewind, or `0`: the
    /// log was replaced): the checkpoint goes back to `after` first (so that a crash
    /// in between replays), then, from 0, the replica of post ids is dropped. Comments
    /// stay: they are comments' own writes; the verdicts applied are recognised when
    /// delivered again.
    pub async fn rewind(&self, after: u64) -> Result<(), StoreError> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || {
            store.checkpoint.insert(APPLIED, &after.to_be_bytes())?;
            store.db.flush()?;
            if after == 0 {
                store.posts.clear()?;
            }
            Ok(())
        })
        .await?
    }
}

/// Sets the checkpoint to `seq` in a transaction, never backwards (a parked event an
/// operator delivers again is older than the checkpoint).
pub(crate) fn advance_checkpoint(
    checkpoint: &TransactionalTree,
    seq: u64,
) -> Result<(), ConflictableTransactionError<StoreError>> {
    let applied = checkpoint.get(APPLIED)?.map_or(0, |v| seq_of(&v));
    if seq > applied {
        checkpoint.insert(APPLIED, &seq.to_be_bytes())?;
    }
    Ok(())
}

/// A stored comment's JSON parsed, or the transaction aborted.
pub(crate) fn parse_stored(
    json: &[u8],
) -> Result<StoredComment, ConflictableTransactionError<StoreError>> {
    serde_json::from_slice(json).or_else(|e| abort(StoreError::Json(e)))
}

/// A seq stored big-endian (0 for a value of another shape, which the store never writes).
fn seq_of(bytes: &[u8]) -> u64 {
    bytes.try_into().map_or(0, u64::from_be_bytes)
}

/// The key prefix of `post_id`'s comments: its length (big-endian `u32`), then its bytes,
/// so that no post's prefix is another's.
fn by_post_prefix(post_id: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(post_id.len() + 12);
    key.extend_from_slice(&(post_id.len() as u32).to_be_bytes());
    key.extend_from_slice(post_id.as_bytes());
    key
}

/// A comment's key in `comments.by_post`: its post's prefix, then its creation `number`.
fn by_post_key(post_id: &str, number: u64) -> Vec<u8> {
    let mut key = by_post_prefix(post_id);
    key.extend_from_slice(&number.to_be_bytes());
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_store_that_does_not_open_says_its_cause_once() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let file = dir.path().join("a-file");
        std::fs::write(&file, "not a dir").expect("write");
        let error = CommentStore::open(&file, 8)
            .await
            .expect_err("a file is no store");
        let printed = bus::testkit::assert_each_cause_said_once(&error);
        assert!(
            printed.starts_with("the comments store failed: "),
            "{printed}"
        );
    }
}
