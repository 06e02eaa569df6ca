//! `Applier`: the handler of comments' subscription. It keeps the replica of post ids from
//! `PostCreated`, and applies `CommentModerated` to its comment, publishing
//! `CommentUpdated`; the changes of a whole delivery (up to 100 events), the events they
//! cause and the last seq as the checkpoint commit in one transaction (one flush), so that
//! a crash at any point neither loses nor repeats an update.

use crate::events::{
    comment_updated, CommentData, CommentModerated, PostCreated, COMMENT_MODERATED, POST_CREATED,
};
use crate::store::{advance_checkpoint, parse_stored, CommentStore, StoreError};
use bus::sdk::{BatchError, Handler, HandlerError};
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

    /// Applies `changes` (each with its event's seq, in seq order) and the last seq as the
    /// checkpoint, in one transaction: one flush for a whole delivery, with no `fdatasync`
    /// (a power cut takes the checkpoint back with the changes, and the bus redelivers).
    async fn commit(&self, changes: Vec<(u64, Change)>) -> Result<(), StoreError> {
        let store = &self.store;
        let trees = [&store.posts, &store.comments, &store.checkpoint];
        store
            .outbox()
            .write_replayable(trees, move |tx| {
                let [posts, comments, checkpoint] = tx.trees();
                for (_, change) in &changes {
                    match change {
                        Change::Post(id) => {
                            posts.insert(id.as_bytes(), &[])?;
                        }
                        Change::Verdict {
                            comment_id,
                            status,
                            verdict,
                        } => {
                            if let Some(updated) =
                                apply_verdict(comments, comment_id, status, verdict)?
                            {
                                tx.enqueue(&updated)?;
                            }
                        }
                        Change::Nothing => {}
                    }
                }
                let last = changes.last().map_or(0, |(seq, _)| *seq);
                advance_checkpoint(checkpoint, last)
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
        self.handle_batch(vec![event]).await.map_err(|e| e.error)
    }

    /// Applies the events of a delivery up to the first one comments can never apply, in
    /// one transaction; then refuses that one (the bus parks it).
    async fn handle_batch(&self, events: Vec<Envelope>) -> Result<(), BatchError> {
        let mut changes = Vec::with_capacity(events.len());
        let mut refused = None;
        for (index, event) in events.into_iter().enumerate() {
            match change_of(event) {
                Ok(change) => changes.push(change),
                Err(error) => {
                    refused = Some(BatchError {
                        applied: index,
                        error,
                    });
                    break;
                }
            }
        }
        if let Some(&(seq, _)) = changes.last() {
            self.commit(changes).await.map_err(|e| {
                // The whole chain, in the log and in the 503 the bus keeps as `last_error`.
                let error = bus::kit::error_chain(&e);
                tracing::error!(seq, %error, "cannot apply events");
                BatchError {
                    applied: 0,
                    error: HandlerError::Retry(error),
                }
            })?;
        }
        refused.map_or(Ok(()), Err)
    }

    async fn on_rewind(&self, after: u64) {
        if let Err(e) = self.store.rewind(after).await {
            tracing::error!(after, error = %bus::kit::error_chain(&e), "cannot rewind the store");
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use serde_json::{json, Value};

    async fn open_store() -> (tempfile::TempDir, CommentStore) {
        let dir = tempfile::tempdir().expect("a temp dir");
        let store = CommentStore::open(dir.path(), 8).await.expect("opens");
        (dir, store)
    }

    fn envelope(seq: u64, id: &str, ty: &str, data: Value) -> Envelope {
        serde_json::from_value(json!({"seq": seq, "id": id, "type": ty, "data": data,
            "time": "2026-11-30T00:00:00Z"}))
        .expect("an envelope")
    }

    /// The `CommentModerated` `id` giving `status` to comment `comment_id` ("hi" on p1).
    fn verdict_on(comment_id: &str, seq: u64, id: &str, status: &str) -> Envelope {
        let data = json!({"id": comment_id, "content": "hi", "postId": "p1", "status": status});
        envelope(seq, id, COMMENT_MODERATED, data)
    }

    /// The events waiting in the outbox (no relay runs here), in order.
    fn pending(store: &CommentStore) -> Vec<Value> {
        let tree = store
            .db
            .open_tree(bus::sdk::PENDING_TREE)
            .expect("the outbox");
        let values = tree.iter().values().map(|v| v.expect("an entry"));
        values
            .map(|v| serde_json::from_slice(&v).expect("JSON"))
            .collect()
    }

    #[tokio::test]
    async fn given_a_comment_each_new_verdict_is_one_update_with_the_next_version() {
        let (_dir, store) = open_store().await;
        let applier = Applier::new(store.clone());
        let (comment, _) = store.create("p1", "hi").await.expect("created");
        let verdict = |seq, id: &str, status| verdict_on(&comment.id, seq, id, status);

        applier
            .handle(verdict(5, "m1", "rejected"))
            .await
            .expect("applied");
        let events = pending(&store);
        assert_eq!(events.len(), 2, "CommentCreated, then CommentUpdated");
        assert_eq!(events[1]["id"], format!("updated-{}-1", comment.id));
        assert_eq!(events[1]["data"]["status"], "rejected");
        assert_eq!(events[1]["data"]["version"], 1);
        assert_eq!(
            store.list("p1").await.expect("listed")[0].status,
            "rejected"
        );
        assert_eq!(store.checkpoint().await.expect("read").0, Some(5));

        // The same verdict again (an operator's redelivery of a parked event): nothing new,
        // and the checkpoint does not go back.
        applier
            .handle(verdict(3, "m1", "rejected"))
            .await
            .expect("applied");
        assert_eq!(pending(&store).len(), 2);
        assert_eq!(store.checkpoint().await.expect("read").0, Some(5));

        applier
            .handle(verdict(6, "m2", "approved"))
            .await
            .expect("applied");
        let events = pending(&store);
        assert_eq!(events[2]["id"], format!("updated-{}-2", comment.id));
        assert_eq!(events[2]["data"]["version"], 2);
        assert_eq!(events[2]["causation_id"], "m2");
        assert_eq!(
            store.list("p1").await.expect("listed")[0].status,
            "approved"
        );
    }

    #[tokio::test]
    async fn given_posts_the_replica_knows_them_until_a_rewind_to_the_beginning() {
        let (_dir, store) = open_store().await;
        let applier = Applier::new(store.clone());
        let post = envelope(
            1,
            "e1",
            POST_CREATED,
            json!({"id": "1a2b3c4d", "title": "t"}),
        );
        applier.handle(post).await.expect("applied");
        let other = envelope(2, "e2", "Unrelated", json!(null));
        applier.handle(other).await.expect("applied");
        assert!(store.knows_post("1a2b3c4d").await.expect("read"));
        assert_eq!(store.checkpoint().await.expect("read").0, Some(2));

        applier.on_rewind(0).await;
        assert!(!store.knows_post("1a2b3c4d").await.expect("read"));
        assert_eq!(store.checkpoint().await.expect("read").0, Some(0));
        assert!(pending(&store).is_empty(), "nothing published");
    }

    #[tokio::test]
    async fn given_a_comment_a_batch_applies_every_verdict_and_ends_at_its_last_seq() {
        let (_dir, store) = open_store().await;
        let applier = Applier::new(store.clone());
        let (comment, _) = store.create("p1", "hi").await.expect("created");
        let verdict = |seq, id: &str, status| verdict_on(&comment.id, seq, id, status);
        let post = envelope(7, "e7", POST_CREATED, json!({"id": "p2", "title": "t"}));
        let batch = vec![
            post,
            verdict(8, "m1", "rejected"),
            verdict(9, "m2", "approved"),
            envelope(10, "e10", "Unrelated", json!(null)),
        ];

        applier.handle_batch(batch).await.expect("applied");

        let events = pending(&store);
        assert_eq!(events.len(), 3, "CommentCreated, then two CommentUpdated");
        assert_eq!(events[1]["data"]["version"], 1);
        assert_eq!(events[2]["data"]["version"], 2);
        assert_eq!(events[2]["data"]["status"], "approved");
        assert!(store.knows_post("p2").await.expect("read"));
        assert_eq!(store.checkpoint().await.expect("read").0, Some(10));
    }

    #[tokio::test]
    async fn a_batch_applies_what_comes_before_an_event_that_can_never_apply() {
        let (_dir, store) = open_store().await;
        let applier = Applier::new(store.clone());
        let batch = vec![
            envelope(4, "e4", POST_CREATED, json!({"id": "p1", "title": "t"})),
            envelope(5, "e5", POST_CREATED, json!({"title": "no id"})),
            envelope(6, "e6", POST_CREATED, json!({"id": "p2", "title": "t"})),
        ];

        let refused = applier.handle_batch(batch).await.expect_err("refused");

        assert_eq!(refused.applied, 1);
        assert!(matches!(refused.error, HandlerError::Reject(_)));
        assert!(store.knows_post("p1").await.expect("read"));
        assert!(!store.knows_post("p2").await.expect("read"));
        assert_eq!(store.checkpoint().await.expect("read").0, Some(4));
    }

    #[tokio::test]
    async fn an_event_that_can_never_apply_is_rejected() {
        let (_dir, store) = open_store().await;
        let applier = Applier::new(store.clone());
        for (ty, data) in [
            (POST_CREATED, json!({"title": "no id"})),
            (COMMENT_MODERATED, json!({"id": "c1", "status": "maybe"})),
            (COMMENT_MODERATED, json!("not an object")),
        ] {
            let refused = applier.handle(envelope(1, "e1", ty, data.clone())).await;
            assert!(
                matches!(refused, Err(HandlerError::Reject(_))),
                "{ty} {data}"
            );
        }
        assert_eq!(store.checkpoint().await.expect("read").0, None);
    }
}
