//! `ProjectionStore`: the projection in sled under `--data-dir` (with `--persist`), with its
//! checkpoint. Changes are written in atomic batches, each with the seq of its last change
//! as the checkpoint, so that after a crash the state and the checkpoint always agree
//! (sled keeps a prefix of its writes; a batch survives whole or not at all).
//!
//! One tree, keys by kind: `p` + the post's seq (big-endian) → `{id, title}`; `c` + the
//! post's seq + the comment's seq → `{id, content, status, version}` (so a scan gives each
//! post's comments in order); `m:applied` → the checkpoint; `m:log_id` → the log it belongs
//! to.

use crate::projection::{Change, Comment, Post, Projection};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;

const TREE: &str = "projection";
const APPLIED: &[u8] = b"m:applied";
const LOG_ID: &[u8] = b"m:log_id";
const POST: u8 = b'p';
const COMMENT: u8 = b'c';

/// A failure of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// sled failed (I/O, or a damaged file).
    #[error("sled failed")]
    Sled(#[from] sled::Error),
    /// A stored value or key that query did not write.
    #[error("damaged store: {0}")]
    Damaged(String),
    /// A store call on the blocking pool panicked or was cancelled.
    #[error("a store call did not finish: {0}")]
    Interrupted(String),
}

/// What the store held at start.
#[derive(Debug, Default)]
pub struct Saved {
    /// The posts and comments.
    pub projection: Projection,
    /// The last seq applied, `None` without state.
    pub applied: Option<u64>,
    /// The bus log the checkpoint belongs to.
    pub log_id: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct StoredPost {
    id: String,
    title: String,
}

#[derive(Serialize, Deserialize)]
struct StoredComment {
    id: String,
    content: String,
    status: String,
    version: u64,
}

/// The projection's sled tree. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ProjectionStore {
    db: sled::Db,
    tree: sled::Tree,
}

impl ProjectionStore {
    /// Opens (or creates) the store in `dir`, with a page cache of `cache_mb` MiB.
    pub fn open(dir: &Path, cache_mb: u64) -> Result<Self, StoreError> {
        let db = bus::sled_store::open_dir(dir, cache_mb)?;
        let tree = db.open_tree(TREE)?;
        Ok(Self { db, tree })
    }

    /// Reads everything back. State without a checkpoint (a clear cut short by a crash)
    /// is dropped: without a checkpoint there is no state.
    pub fn load(&self) -> Result<Saved, StoreError> {
        let Some(applied) = self.tree.get(APPLIED)? else {
            self.tree.clear()?;
            return Ok(Saved::default());
        };
        let log_id = self.tree.get(LOG_ID)?;
        Ok(Saved {
            projection: Projection::from_posts(self.posts()?),
            applied: Some(be_u64(&applied)?),
            log_id: log_id.map(|id| String::from_utf8_lossy(&id).into_owned()),
        })
    }

    /// Writes `entries` (each from [`entry`]) and the checkpoint `seq` as one batch.
    pub fn write(&self, entries: Vec<Entry>, seq: u64) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for (key, value) in entries {
            batch.insert(key, value);
        }
        batch.insert(APPLIED, &seq.to_be_bytes());
        Ok(self.tree.apply_batch(batch)?)
    }

    /// Remembers the bus log the checkpoint belongs to.
    pub fn set_log_id(&self, log_id: &str) -> Result<(), StoreError> {
        self.tree.insert(LOG_ID, log_id.as_bytes())?;
        Ok(())
    }

    /// Drops all state: the checkpoint first, so that a crash midway leaves no checkpoint
    /// (and [`Self::load`] drops the rest).
    pub fn clear(&self) -> Result<(), StoreError> {
        self.tree.remove(APPLIED)?;
        self.tree.clear()?;
        Ok(())
    }

    /// Makes everything written so far durable (blocking: call it off the async workers).
    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }

    /// The stored posts in creation order, each with its comments.
    fn posts(&self) -> Result<Vec<Post>, StoreError> {
        let mut posts = Vec::new();
        let mut index: HashMap<u64, usize> = HashMap::new();
        for entry in self.tree.scan_prefix([POST]) {
            let (key, value) = entry?;
            let stored: StoredPost = decode(&value)?;
            let seq = be_u64(&key[1..])?;
            index.insert(seq, posts.len());
            posts.push(Post {
                id: stored.id,
                title: stored.title,
                comments: Vec::new(),
                seq,
            });
        }
        for entry in self.tree.scan_prefix([COMMENT]) {
            let (key, value) = entry?;
            let (post_seq, seq) = (be_u64(&key[1..9])?, be_u64(&key[9..])?);
            let &at = index
                .get(&post_seq)
                .ok_or_else(|| StoreError::Damaged(format!("a comment of no post {post_seq}")))?;
            let stored: StoredComment = decode(&value)?;
            posts[at].comments.push(Comment {
                id: stored.id,
                content: stored.content,
                status: stored.status,
                seq,
                version: stored.version,
            });
        }
        Ok(posts)
    }
}

/// A key and its value, as [`ProjectionStore::write`] stores them.
pub type Entry = (sled::IVec, Vec<u8>);

/// What `change` stores, if anything.
pub fn entry(change: &Change) -> Option<Entry> {
    match change {
        Change::Nothing => None,
        Change::AddPost(post) => Some((post_key(post.seq)[..].into(), stored_post(post))),
        Change::AddComment {
            post_seq, comment, ..
        }
        | Change::UpdateComment {
            post_seq, comment, ..
        } => Some((
            comment_key(*post_seq, comment.seq)[..].into(),
            stored_comment(comment),
        )),
    }
}

fn post_key(seq: u64) -> [u8; 9] {
    let mut key = [POST; 9];
    key[1..].copy_from_slice(&seq.to_be_bytes());
    key
}

fn comment_key(post_seq: u64, seq: u64) -> [u8; 17] {
    let mut key = [COMMENT; 17];
    key[1..9].copy_from_slice(&post_seq.to_be_bytes());
    key[9..].copy_from_slice(&seq.to_be_bytes());
    key
}

fn stored_post(post: &Post) -> Vec<u8> {
    let stored = StoredPost {
        id: post.id.clone(),
        title: post.title.clone(),
    };
    serde_json::to_vec(&stored).unwrap_or_default()
}

fn stored_comment(comment: &Comment) -> Vec<u8> {
    let stored = StoredComment {
        id: comment.id.clone(),
        content: comment.content.clone(),
        status: comment.status.clone(),
        version: comment.version,
    };
    serde_json::to_vec(&stored).unwrap_or_default()
}

fn decode<'a, T: Deserialize<'a>>(value: &'a [u8]) -> Result<T, StoreError> {
    serde_json::from_slice(value).map_err(|e| StoreError::Damaged(e.to_string()))
}

fn be_u64(bytes: &[u8]) -> Result<u64, StoreError> {
    let bytes: [u8; 8] = bytes
        .try_into()
        .map_err(|_| StoreError::Damaged(format!("{} bytes for a seq", bytes.len())))?;
    Ok(u64::from_be_bytes(bytes))
}

#[cfg(test)]
mod tests;
