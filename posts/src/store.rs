//! `PostStore`: the posts in the service's own sled directory, each written with its
//! `PostCreated` in the outbox in one transaction.
//!
//! Trees: `posts` (key: the post's creation number, big-endian `u64`; value: the post's
//! JSON), `posts.meta` (`next`: the next creation number), and the SDK's outbox trees.

use crate::events::post_created;
use crate::post::Post;
use bus::sdk::{Outbox, Written};
use sled::transaction::{abort, ConflictableTransactionResult, TransactionError};
use std::path::Path;

/// The tree of posts, in creation order.
const POSTS_TREE: &str = "posts";
/// The tree holding the next creation number.
const META_TREE: &str = "posts.meta";
/// The key of the next creation number in [`META_TREE`].
const NEXT: &[u8] = b"next";

/// Why the store could not do what was asked: every case is a failure of the service
/// (answered `500`), never of the request.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// sled failed (the disk, a flush…).
    #[error("the posts store failed")]
    Sled(#[from] sled::Error),
    /// A post that does not serialise, or a stored one that does not parse.
    #[error("a post's JSON")]
    Json(#[from] serde_json::Error),
    /// The stored next creation number is not 8 bytes.
    #[error("the posts store's creation counter is damaged")]
    DamagedCounter,
    /// A blocking task of the store panicked or was cancelled.
    #[error("a store task ended")]
    Task(#[from] tokio::task::JoinError),
}

/// The posts and the outbox over one `sled::Db`. Cheap to clone.
#[derive(Debug, Clone)]
pub struct PostStore {
    posts: sled::Tree,
    meta: sled::Tree,
    outbox: Outbox,
}

impl PostStore {
    /// Opens (or creates) the store in `dir`, with a page cache of `cache_mb` MiB.
    pub async fn open(dir: &Path, cache_mb: u64) -> Result<Self, StoreError> {
        let dir = dir.to_owned();
        tokio::task::spawn_blocking(move || {
            let db = bus::sled_store::DurableDb::open(&dir, cache_mb)?;
            Ok(Self {
                posts: db.open_tree(POSTS_TREE)?,
                meta: db.open_tree(META_TREE)?,
                outbox: Outbox::open(&db)?.with_source("posts"),
            })
        })
        .await?
    }

    /// The outbox, for its relay and for waiting on a write's publication.
    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    /// Stores `post` after every post before it, with its `PostCreated` in the outbox, in
    /// one transaction; returns once both are flushed.
    pub async fn create(&self, post: &Post) -> Result<Written<()>, StoreError> {
        let event = post_created(post)?;
        let json = serde_json::to_vec(post)?;
        let written = self
            .outbox
            .write(
                [&self.posts, &self.meta],
                move |tx| -> ConflictableTransactionResult<(), StoreError> {
                    let [posts, meta] = tx.trees();
                    let number = match meta.get(NEXT)? {
                        None => 1,
                        Some(bytes) => match <[u8; 8]>::try_from(bytes.as_ref()) {
                            Ok(bytes) => u64::from_be_bytes(bytes),
                            Err(_) => return abort(StoreError::DamagedCounter),
                        },
                    };
                    meta.insert(NEXT, &(number + 1).to_be_bytes())?;
                    posts.insert(&number.to_be_bytes(), json.as_slice())?;
                    tx.enqueue(&event)?;
                    Ok(())
                },
            )
            .await;
        written.map_err(|e| match e {
            TransactionError::Storage(e) => StoreError::Sled(e),
            TransactionError::Abort(e) => e,
        })
    }

    /// Every post, in creation order.
    pub async fn all(&self) -> Result<Vec<Post>, StoreError> {
        let posts = self.posts.clone();
        tokio::task::spawn_blocking(move || {
            posts
                .iter()
                .values()
                .map(|value| Ok(serde_json::from_slice(&value?)?))
                .collect()
        })
        .await?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_store_that_does_not_open_says_its_cause_once() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let file = dir.path().join("a-file");
        std::fs::write(&file, "not a dir").expect("write");
        let error = PostStore::open(&file, 8)
            .await
            .expect_err("a file is no store");
        let printed = bus::testkit::assert_each_cause_said_once(&error);
        assert!(printed.starts_with("the posts store failed: "), "{printed}");
    }
}
