//! The test's own reading of the bus's log: what query's `GET /posts` must be, and
//! whether every comment got the verdict moderation gives its content.

use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// What query's `GET /posts` must be, folded from the bus's log in seq order: a post by
/// its first `PostCreated`, a comment by its first `CommentCreated` on a known post, and a
/// `CommentUpdated` applied when its `version` is newer than the last applied one.
pub(super) fn fold(events: &[Value]) -> Value {
    let mut posts = Map::new();
    // Comment id → (post id, index among its post's comments, last applied version).
    let mut comments: HashMap<String, (String, usize, u64)> = HashMap::new();
    let mut last_seq = 0;
    for event in events {
        let seq = event["seq"].as_u64().expect("a seq");
        assert!(
            seq > last_seq,
            "GET /events in seq order: {seq} after {last_seq}"
        );
        last_seq = seq;
        let data = &event["data"];
        let text = |field: &str| data[field].as_str().expect(field).to_string();
        match event["type"].as_str() {
            Some("PostCreated") => {
                let id = text("id");
                posts
                    .entry(id.clone())
                    .or_insert_with(|| json!({"id": id, "title": text("title"), "comments": []}));
            }
            Some("CommentCreated") => {
                let (id, post_id) = (text("id"), text("postId"));
                let Some(post) = posts.get_mut(&post_id) else {
                    continue;
                };
                if comments.contains_key(&id) {
                    continue;
                }
                let list = post["comments"].as_array_mut().expect("comments");
                comments.insert(id.clone(), (post_id, list.len(), 0));
                list.push(json!({"id": id, "content": text("content"), "status": text("status")}));
            }
            Some("CommentUpdated") => {
                let Some((post_id, index, applied)) = comments.get_mut(&text("id")) else {
                    continue;
                };
                let version = data["version"].as_u64().expect("a version");
                if version <= *applied {
                    continue;
                }
                *applied = version;
                let comment = &mut posts[post_id.as_str()]["comments"][*index];
                comment["status"] = data["status"].clone();
                comment["content"] = data["content"].clone();
            }
            _ => {}
        }
    }
    Value::Object(posts)
}

/// Every comment of `posts` (a `GET /posts` page).
pub(super) fn comments_of(posts: &Value) -> Vec<&Value> {
    let posts = posts.as_object().expect("posts by id");
    posts
        .values()
        .flat_map(|p| p["comments"].as_array().expect("comments"))
        .collect()
}

/// Each comment's status is final, and the one moderation gives its content.
pub(super) fn moderated(posts: &Value) -> bool {
    comments_of(posts).iter().all(|c| {
        let rejected = c["content"]
            .as_str()
            .is_some_and(|text| text.to_lowercase().contains("orange"));
        c["status"] == if rejected { "rejected" } else { "approved" }
    })
}
