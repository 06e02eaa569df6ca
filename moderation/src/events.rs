//! The events moderation reads and writes, as DESIGN gives their `data`.

use crate::verdict::Verdict;
use serde::{Deserialize, Serialize};

/// The type moderation subscribes to.
pub const COMMENT_CREATED: &str = "CommentCreated";
/// The type moderation publishes.
pub const COMMENT_MODERATED: &str = "CommentModerated";

/// `CommentCreated`'s data (published by comments): what moderation needs of it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CommentCreated {
    /// The comment's id.
    pub id: String,
    /// Its text.
    pub content: String,
    /// The post it is on.
    #[serde(rename = "postId")]
    pub post_id: String,
}

/// `CommentModerated`'s data: the comment with its verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommentModerated {
    /// The comment's id.
    pub id: String,
    /// Its text, as created.
    pub content: String,
    /// The post it is on.
    #[serde(rename = "postId")]
    pub post_id: String,
    /// The verdict.
    pub status: Verdict,
}

impl CommentModerated {
    /// The comment's `verdict`.
    pub fn of(comment: CommentCreated, verdict: Verdict) -> Self {
        Self {
            id: comment.id,
            content: comment.content,
            post_id: comment.post_id,
            status: verdict,
        }
    }

    /// The event id: one per comment, so that the bus keeps one `CommentModerated` per
    /// comment however often it is published (a retry, a redelivery, a restart).
    pub fn event_id(&self) -> String {
        format!("moderated-{}", self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_is_the_courses_shape_in_its_order() {
        let created: CommentCreated =
            serde_json::from_str(r#"{"id":"c1","content":"hi","postId":"p1","status":"pending"}"#)
                .expect("parses");
        let moderated = CommentModerated::of(created, Verdict::Approved);
        assert_eq!(moderated.event_id(), "moderated-c1");
        assert_eq!(
            serde_json::to_string(&moderated).expect("serialises"),
            r#"{"id":"c1","content":"hi","postId":"p1","status":"approved"}"#
        );
    }
}
