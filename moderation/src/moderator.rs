//! `Moderator`: the handler of `CommentCreated`. It judges every comment of a delivery,
//! publishes their `CommentModerated` verdicts as one array (each with the id
//! `moderated-<commentId>`), and only then acknowledges the delivery: verdicts the bus has
//! not stored are answered `503`, so the bus delivers the comments again, and the bus's
//! deduplication by id keeps one verdict per comment whatever is retried.

use crate::events::{CommentCreated, CommentModerated, COMMENT_CREATED, COMMENT_MODERATED};
use crate::verdict::BlockedWords;
use bus::sdk::{BatchError, Error as BusError, Handler, HandlerError, Publisher};
use bus::{Envelope, NewEvent};
use std::collections::HashSet;
use std::time::Duration;

/// Judges each new comment and publishes its verdict.
pub struct Moderator {
    words: BlockedWords,
    publisher: Publisher,
    /// Waited before judging a delivery (`--delay-ms`), once however many comments it holds.
    delay: Duration,
    /// The longest a publish may take: what is left of the delivery's timeout.
    publish_timeout: Duration,
}

impl Moderator {
    /// A moderator publishing with `publisher`, waiting `delay` before the verdicts of each
    /// delivery, and giving their publish at most `publish_timeout`.
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

    /// The verdicts on the comments of `events`, in order (other types are skipped), up to
    /// the first `CommentCreated` that cannot be judged; that one's index and why, if any.
    fn verdicts_on(&self, events: &[Envelope]) -> (Vec<NewEvent>, Option<(usize, HandlerError)>) {
        let mut verdicts = Vec::with_capacity(events.len());
        for (index, event) in events.iter().enumerate() {
            if event.ty != COMMENT_CREATED {
                continue;
            }
            match self.verdict_on(event) {
                Ok(verdict) => verdicts.push(verdict),
                Err(error) => return (verdicts, Some((index, error))),
            }
        }
        (verdicts, None)
    }

    /// Publishes `verdicts` as one array: `Ok` once the bus has stored them all (now or
    /// before), within the publish timeout.
    async fn publish(&self, verdicts: Vec<NewEvent>) -> Result<(), HandlerError> {
        let published = tokio::time::timeout(self.publish_timeout, self.publish_new(verdicts));
        published.await.unwrap_or_else(|_| {
            Err(HandlerError::Retry(format!(
                "the bus did not acknowledge the verdicts within {:?}",
                self.publish_timeout
            )))
        })
    }

    /// Publishes `verdicts` as one array; when the bus answers that some of their ids are
    /// stored already (`409 partial_duplicate`: a delivery cut otherwise than one that
    /// was published before), publishes the others again without them.
    async fn publish_new(&self, mut verdicts: Vec<NewEvent>) -> Result<(), HandlerError> {
        loop {
            let count = verdicts.len();
            let first = verdicts
                .first()
                .and_then(|v| v.id.clone())
                .unwrap_or_default();
            match self.publisher.publish_all(verdicts.clone()).await {
                Ok(replies) => {
                    let seq = replies.last().map(|r| r.seq);
                    tracing::info!(count, first = %first, seq, "verdicts published");
                    return Ok(());
                }
                Err(error) => {
                    let stored = stored_ids(&error).ok_or_else(|| refusal(error))?;
                    verdicts.retain(|v| !v.id.as_ref().is_some_and(|id| stored.contains(id)));
                    if verdicts.is_empty() {
                        return Ok(());
                    }
                    if verdicts.len() == count {
                        let message = "the bus named none of these verdicts as stored";
                        return Err(HandlerError::Retry(message.into()));
                    }
                }
            }
        }
    }
}

/// The ids a `409 partial_duplicate` names as stored already.
fn stored_ids(error: &BusError) -> Option<HashSet<String>> {
    let BusError::Rejected { status: 409, body } = error else {
        return None;
    };
    if body.error != "partial_duplicate" {
        return None;
    }
    let ids = body.extra.get("ids")?.as_array()?;
    Some(
        ids.iter()
            .filter_map(|id| id.as_str().map(str::to_owned))
            .collect(),
    )
}

/// What the bus's refusal of the verdicts asks of the delivery: when they can never be
/// published as they are (bad input, an id taken by another kind of event, too large),
/// `422`, so the bus sends the comments again one per request and parks only the culprit;
/// anything else (unreachable, `503`, a wrong token) may pass later: `503`.
fn refusal(error: BusError) -> HandlerError {
    if matches!(
        error,
        BusError::Rejected {
            status: 400 | 409 | 413,
            ..
        }
    ) {
        tracing::warn!(error = %error, "the bus refuses these verdicts");
        return HandlerError::Reject(error.to_string());
    }
    HandlerError::Retry(format!("verdicts not published: {error}"))
}

impl Handler for Moderator {
    async fn handle(&self, event: Envelope) -> Result<(), HandlerError> {
        self.handle_batch(vec![event]).await.map_err(|e| e.error)
    }

    /// Judges the comments of the delivery, waits `--delay-ms` once, publishes their
    /// verdicts as one array (events of other types are skipped). A `CommentCreated` that
    /// cannot be judged stops it there: the verdicts before it are published, and it is
    /// refused (`422`), so the bus parks only it.
    async fn handle_batch(&self, events: Vec<Envelope>) -> Result<(), BatchError> {
        let (verdicts, broken) = self.verdicts_on(&events);
        if !verdicts.is_empty() {
            tokio::time::sleep(self.delay).await;
            self.publish(verdicts)
                .await
                .map_err(|error| BatchError { applied: 0, error })?;
        }
        match broken {
            Some((applied, error)) => Err(BatchError { applied, error }),
            None => Ok(()),
        }
    }
}
