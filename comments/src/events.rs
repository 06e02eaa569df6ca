//! The events comments reads and writes, as DESIGN gives their `data`.

use bus::{Envelope, NewEvent};
use serde::{Deserialize, Serialize};

/// Published when a comment is written.
pub const COMMENT_CREATED: &str = "CommentCreated";
/// Published when a verdict changed a comment's status.
pub const COMMENT_UPDATED: &str = "CommentUpdated";
/// Read: a post exists (the replica of post ids).
pub const POST_CREATED: &str = "PostCreated";
/// Read: moderation's verdict on a comment.
pub const COMMENT_MODERATED: &str = "CommentModerated";

/// A comment's status before its verdict.
pub(crate) const PENDING: &str = "pending";

/// `PostCreated`'s data: what comments needs of it (any id a publisher chose).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct PostCreated {
    /// The post's id.
    pub(crate) id: String,
}

/// `CommentModerated`'s data: what comments needs of it.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct CommentModerated {
    /// The comment's id.
    pub(crate) id: String,
    /// The verdict: `approved` or `rejected`.
    pub(crate) status: String,
}

/// `CommentCreated`'s and `CommentUpdated`'s data: the comment and its post (and, for an
/// update, its version).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct CommentData<'a> {
    /// The comment's id.
    pub(crate) id: &'a str,
    /// Its text.
    pub(crate) content: &'a str,
    /// The post it is on.
    #[serde(rename = "postId")]
    pub(crate) post_id: &'a str,
    /// Its status.
    pub(crate) status: &'a str,
    /// `CommentUpdated` only: 1 + the number of earlier updates of the comment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) version: Option<u64>,
}

/// The stream of a comment's events.
pub(crate) fn stream_of(comment_id: &str) -> String {
    format!("comment-{comment_id}")
}

/// `CommentCreated` for a new comment (`version` must be `None`).
pub(crate) fn comment_created(data: &CommentData<'_>) -> serde_json::Result<NewEvent> {
    let mut event = NewEvent::new(COMMENT_CREATED, data)?;
    event.stream = Some(stream_of(data.id));
    Ok(event)
}

/// `CommentUpdated` caused by the verdict `moderated`: its id `updated-<commentId>-<version>`
/// is the same however often it is published, so the bus keeps one per update.
pub(crate) fn comment_updated(
    data: &CommentData<'_>,
    moderated: &Envelope,
) -> serde_json::Result<NewEvent> {
    let version = data.version.unwrap_or(1);
    let mut event = NewEvent::new(COMMENT_UPDATED, data)?;
    event.id = Some(format!("updated-{}-{version}", data.id));
    event.stream = Some(stream_of(data.id));
    event.causation_id = Some(moderated.id.clone());
    event.correlation_id = Some(
        moderated
            .correlation_id
            .clone()
            .unwrap_or_else(|| moderated.id.clone()),
    );
    Ok(event)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_is_the_courses_shape_in_its_order() {
        let mut data = CommentData {
            id: "c1",
            content: "hi",
            post_id: "p1",
            status: PENDING,
            version: None,
        };
        let created = comment_created(&data).expect("serialises");
        assert_eq!(created.stream.as_deref(), Some("comment-c1"));
        assert_eq!(
            created.data.as_ref().map(|d| d.get()),
            Some(r#"{"id":"c1","content":"hi","postId":"p1","status":"pending"}"#)
        );
        data.status = "approved";
        data.version = Some(2);
        let moderated: Envelope = serde_json::from_value(serde_json::json!({
            "seq": 7, "id": "moderated-c1", "type": COMMENT_MODERATED, "data": {},
            "time": "2026-11-30T00:00:00Z"
        }))
        .expect("an envelope");
        let updated = comment_updated(&data, &moderated).expect("serialises");
        assert_eq!(updated.id.as_deref(), Some("updated-c1-2"));
        assert_eq!(updated.causation_id.as_deref(), Some("moderated-c1"));
        assert_eq!(
            updated.data.as_ref().map(|d| d.get()),
            Some(r#"{"id":"c1","content":"hi","postId":"p1","status":"approved","version":2}"#)
        );
    }
}
