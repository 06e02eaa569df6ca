//! `Moderator`: the handler of `CommentCreated`. It judges the comment, publishes
//! `CommentModerated` with the id `moderated-<commentId>`, and only then acknowledges the
//! delivery: a verdict the bus has not stored is answered `503`, so the bus delivers the
//! comment again, and the bus's deduplication by id keeps one verdict per comment
//! whatever is retried.

use crate::events::{CommentCreated, CommentModerated, COMMENT_CREATED, COMMENT_MODERATED};
use crate::verdict::BlockedWords;
use bus::sdk::{Error as BusError, Handler, HandlerError, Publisher};
use bus::{Envelope, NewEvent};
use std::time::Duration;

/// Judges each new comment and publishes its verdict.
pub struct Moderator {
    words: BlockedWords,
    publisher: Publisher,
    /// Waited before judging (`--delay-ms`).
    delay: Duration,
    /// The longest a publish may take: what is left of the delivery's timeout.
    publish_timeout: Duration,
}

impl Moderator {
    /// A moderator publishing with `publisher`, waiting `delay` before each verdict, and
    /// giving each publish at most `publish_timeout`.
    pub fn new(
        words: BlockedWords,
        publisher: Publisher,
        delay: Duration,
        publish_timeout: Duration,
    ) -> Self {
        Self {
            words,
            publisher,
            delay,
            publish_timeout,
        }
    }

    /// The verdict on `created`'s comment as the event to publish: caused by `created`,
    /// in its correlation.
    fn verdict_on(&self, created: &Envelope) -> Result<NewEvent, HandlerError> {
        let comment: CommentCreated = serde_json::from_str(created.data.get())
            .map_err(|e| HandlerError::Reject(format!("not a CommentCreated: {e}")))?;
        let verdict = self.words.judge(&comment.content);
        let moderated = CommentModerated::of(comment, verdict);
        let mut event = NewEvent::new(COMMENT_MODERATED, &moderated)
            .map_err(|e| HandlerError::Reject(format!("cannot write the verdict: {e}")))?;
        event.id = Some(moderated.event_id());
        event.causation_id = Some(created.id.clone());
        event.correlation_id = Some(
            created
                .correlation_id
                .clone()
                .unwrap_or_else(|| created.id.clone()),
        );
        tracing::debug!(comment = %moderated.id, status = ?verdict, "judged");
        Ok(event)
    }

    /// Publishes `event`: `Ok` once the bus has stored it (or had stored it before).
    async fn publish(&self, event: NewEvent) -> Result<(), HandlerError> {
        let id = event.id.clone().unwrap_or_default();
        let published = tokio::time::timeout(self.publish_timeout, self.publisher.publish(event));
        match published.await {
            Ok(Ok(reply)) => {
                tracing::info!(event = %id, seq = reply.seq, "verdict published");
                Ok(())
            }
            Ok(Err(error)) if can_never_be_published(&error) => {
                tracing::warn!(event = %id, error = %error, "the bus refuses this verdict");
                Err(HandlerError::Reject(error.to_string()))
            }
            Ok(Err(error)) => Err(HandlerError::Retry(format!(
                "verdict not published: {error}"
            ))),
            Err(_) => Err(HandlerError::Retry(format!(
                "the bus did not acknowledge the verdict within {:?}",
                self.publish_timeout
            ))),
        }
    }
}

/// Whether the bus refused the verdict for what it is (bad input, its id taken by another
/// kind of event, too large), so that no retry can change it. Anything else (unreachable,
/// `503`, a wrong token) may pass later.
fn can_never_be_published(error: &BusError) -> bool {
    matches!(
        error,
        BusError::Rejected {
            status: 400 | 409 | 413,
            ..
        }
    )
}

impl Handler for Moderator {
    async fn handle(&self, event: Envelope) -> Result<(), HandlerError> {
        if event.ty != COMMENT_CREATED {
            return Ok(());
        }
        let verdict = self.verdict_on(&event)?;
        tokio::time::sleep(self.delay).await;
        self.publish(verdict).await
    }
}
