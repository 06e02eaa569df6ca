//! `Applier`: the handler of comments' subscription. It keeps the replica of post ids from
//! `PostCreated`, and applies `CommentModerated` to its comment, publishing
//! `CommentUpdated`; each event's change, the events it causes and its seq as the
//! checkpoint commit in one transaction, so that a crash at any point neither loses nor
//! repeats an update.

use crate::events::{
    comment_updated, CommentData, CommentModerated, PostCreated, COMMENT_MODERATED, POST_CREATED,
};
use crate::store::{advance_checkpoint, parse_stored, CommentStore, StoreError};
use bus::sdk::{Handler, HandlerError};
use bus::{Envelope, NewEvent};
use sled::transaction::{ConflictableTransactionError, TransactionalTree};

/// What an event asks of the store.
#[derive(Debug)]
enum Change {
    /// The post `0` exists.
    Post(String),
    /// The verdict `status` on the comment `comment_id`, from the event `verdict`.
    Verdict {
        comment_id: String,
        status: String,
        verdict: Box<Envelope>,
    },
    /// Nothing but the checkpoint.
    Nothing,
}

/// Applies the subscription's events to the [`CommentStore`].
#[derive(Debug, Clone)]
pub struct Applier {
    store: CommentStore,
}

impl Applier {
    /// An applier writing to `store`.
    pub fn new(store: CommentStore) -> Self {
        Self { store }
    }

    /// Applies `change` with `seq` as the checkpoint, in one transaction.
    async fn commit(&self, seq: u64, change: Change) -> Result<(), StoreError> {
        let store = &self.store;
        let trees = [&store.posts, &store.comments, &store.checkpoint];
        store
            .outbox()
            .write(trees, move |tx| {
                let [posts, comments, checkpoint] = tx.trees();
                match &change {
                    Change::Post(id) => {
                        posts.insert(id.as_bytes(), &[])?;
                    }
                    Change::Verdict {
                        comment_id,
                        status,
                        verdict,
                    } => {
                        if let Some(updated) = apply_verdict(comments, comment_id, status, verdict)?
                        {
                            tx.enqueue(&updated)?;
                        }
                    }
                    Change::Nothing => {}
                }
                advance_checkpoint(checkpoint, seq)
            })
            .await?;
        Ok(())
    }
}

/// Applies the verdict `status` to the stored comment `comment_id`: the `CommentUpdated` to
/// publish, or `None` when the comment is not ours or this verdict was applied before.
fn apply_verdict(
    comments: &TransactionalTree,
    comment_id: &str,
    status: &str,
    verdict: &Envelope,
) -> Result<Option<NewEvent>, ConflictableTransactionError<StoreError>> {
    let Some(json) = comments.get(comment_id.as_bytes())? else {
        tracing::warn!(comment = %comment_id, event = %verdict.id, "a verdict on a comment not written here: ignored");
        return Ok(None);
    };
    let mut stored = parse_stored(&json)?;
    if stored.verdicts.contains(&verdict.id) {
        return Ok(None);
    }
    stored.verdicts.push(verdict.id.clone());
    stored.comment.status = status.into();
    let data = CommentData {
        id: &stored.comment.id,
        content: &stored.comment.content,
        post_id: &stored.post_id,
        status,
        version: Some(stored.verdicts.len() as u64),
    };
    let updated = comment_updated(&data, verdict).map_err(store_abort)?;
    let json = serde_json::to_vec(&stored).map_err(store_abort)?;
    comments.insert(comment_id.as_bytes(), json)?;
    Ok(Some(updated))
}

fn store_abort(error: serde_json::Error) -> ConflictableTransactionError<StoreError> {
    ConflictableTransactionError::Abort(StoreError::Json(error))
}

/// What `event` asks of the store; an event comments can never apply is rejected (the bus
/// parks it).
fn change_of(event: Envelope) -> Result<(u64, Change), HandlerError> {
    let seq = event.seq;
    let change = match event.ty.as_str() {
        POST_CREATED => {
            let post: PostCreated = parse(&event)?;
            Change::Post(post.id)
        }
        COMMENT_MODERATED => {
            let moderated: CommentModerated = parse(&event)?;
            if !matches!(moderated.status.as_str(), "approved" | "rejected") {
                let message = format!("status {:?} is not approved or rejected", moderated.status);
                return Err(HandlerError::Reject(message));
            }
            Change::Verdict {
                comment_id: moderated.id,
                status: moderated.status,
                verdict: Box::new(event),
            }
        }
        _ => Change::Nothing,
    };
    Ok((seq, change))
}

fn parse<T: serde::de::DeserializeOwned>(event: &Envelope) -> Result<T, HandlerError> {
    serde_json::from_str(event.data.get())
        .map_err(|e| HandlerError::Reject(format!("not a {}: {e}", event.ty)))
}

impl Handler for Applier {
    async fn handle(&self, event: Envelope) -> Result<(), HandlerError> {
        let (seq, change) = change_of(event)?;
        self.commit(seq, change).await.map_err(|e| {
            tracing::error!(seq, error = %e, "cannot apply an event");
            HandlerError::Retry(e.to_string())
        })
    }

    async fn on_rewind(&self, after: u64) {
        if let Err(e) = self.store.rewind(after).await {
            tracing::error!(after, error = %e, "cannot rewind the store");
        }
    }
}
