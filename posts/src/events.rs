//! The one event posts publishes.

use crate::post::Post;
use bus::NewEvent;

/// The type of the event a new post publishes.
pub const POST_CREATED: &str = "PostCreated";

/// `PostCreated {id, title}` on the stream `post-<id>`: the course's shape, which comments
/// and query read.
pub fn post_created(post: &Post) -> Result<NewEvent, serde_json::Error> {
    let mut event = NewEvent::new(POST_CREATED, post)?;
    event.stream = Some(stream_of(&post.id));
    Ok(event)
}

/// The stream of a post's events.
pub fn stream_of(id: &str) -> String {
    format!("post-{id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_post_publishes_post_created_with_its_id_and_title_on_its_stream() {
        let post = Post {
            id: "0123456789abcdef".into(),
            title: "Hello".into(),
        };
        let event = post_created(&post).expect("serialisable");
        assert_eq!(event.ty, "PostCreated");
        assert_eq!(event.stream.as_deref(), Some("post-0123456789abcdef"));
        let data = event.data.expect("data");
        assert_eq!(data.get(), r#"{"id":"0123456789abcdef","title":"Hello"}"#);
        assert_eq!(
            event.id, None,
            "the outbox fixes the id when it stores the event"
        );
    }
}
