//! The events query reads, as typed payloads: the `data` of `PostCreated`, `CommentCreated`
//! and `CommentUpdated` as posts and comments publish them (and as the course's services do).

use serde::Deserialize;
use serde_json::value::RawValue;

/// The types query subscribes to.
pub const SUBSCRIBED_TYPES: [&str; 3] = ["PostCreated", "CommentCreated", "CommentUpdated"];

/// A post was written.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PostCreated {
    /// The post's id (16 hex characters from our posts; any string from another publisher).
    pub id: String,
    /// Its title.
    pub title: String,
}

/// A comment was written on a post, awaiting moderation.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommentCreated {
    /// The comment's id.
    pub id: String,
    /// Its text.
    pub content: String,
    /// The post it belongs to.
    pub post_id: String,
    /// `pending` (the default when absent).
    #[serde(default = "pending")]
    pub status: String,
}

/// A comment changed (its moderation verdict).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommentUpdated {
    /// The comment's id.
    pub id: String,
    /// Its text; kept as it was when absent.
    #[serde(default)]
    pub content: Option<String>,
    /// The post it belongs to.
    pub post_id: String,
    /// `approved`, `rejected`…
    pub status: String,
    /// 1 + the number of earlier updates of the comment. The course's comments send none:
    /// such an update always applies (the log's order decides).
    #[serde(default)]
    pub version: Option<u64>,
}

/// One event as query understands it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlogEvent {
    /// See [`PostCreated`].
    PostCreated(PostCreated),
    /// See [`CommentCreated`].
    CommentCreated(CommentCreated),
    /// See [`CommentUpdated`].
    CommentUpdated(CommentUpdated),
    /// Any other type: nothing to do.
    Other,
}

impl BlogEvent {
    /// Reads the event of type `ty` from its `data`; an error when `data` does not have
    /// that type's shape (such an event can never be applied).
    pub fn decode(ty: &str, data: &RawValue) -> Result<Self, serde_json::Error> {
        let json = data.get();
        Ok(match ty {
            "PostCreated" => Self::PostCreated(serde_json::from_str(json)?),
            "CommentCreated" => Self::CommentCreated(serde_json::from_str(json)?),
            "CommentUpdated" => Self::CommentUpdated(serde_json::from_str(json)?),
            _ => Self::Other,
        })
    }
}

fn pending() -> String {
    "pending".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(ty: &str, data: &str) -> Result<BlogEvent, serde_json::Error> {
        let raw = RawValue::from_string(data.into()).expect("JSON");
        BlogEvent::decode(ty, &raw)
    }

    #[test]
    fn the_courses_shapes_decode() {
        let post = decode("PostCreated", r#"{"id":"1a2b3c4d","title":"Hi"}"#);
        assert_eq!(
            post.expect("a post"),
            BlogEvent::PostCreated(PostCreated {
                id: "1a2b3c4d".into(),
                title: "Hi".into()
            })
        );
        let comment = decode(
            "CommentCreated",
            r#"{"id":"c1","content":"yes","postId":"1a2b3c4d"}"#,
        );
        let BlogEvent::CommentCreated(comment) = comment.expect("a comment") else {
            panic!("not a comment")
        };
        assert_eq!(comment.status, "pending");
        let update = decode(
            "CommentUpdated",
            r#"{"id":"c1","content":"yes","postId":"p","status":"approved"}"#,
        );
        let BlogEvent::CommentUpdated(update) = update.expect("an update") else {
            panic!("not an update")
        };
        assert_eq!(update.version, None);
    }

    #[test]
    fn a_wrong_shape_is_an_error_and_other_types_are_nothing() {
        assert!(decode("PostCreated", r#"{"id":1}"#).is_err());
        assert!(decode("CommentCreated", "null").is_err());
        assert_eq!(decode("Unrelated", "null").expect("any"), BlogEvent::Other);
    }
}
