//! `Projection`: the read model, posts in the order they were created, each with its
//! comments in theirs, as `GET /posts` answers them. Pure data: applying an event is
//! [`Projection::plan`] (what would change, or why it never can) then
//! [`Projection::commit`], so that the persistent store can write the same [`Change`]
//! before memory sees it.

use crate::events::{BlogEvent, CommentCreated, CommentUpdated, PostCreated};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use std::collections::HashMap;

/// A comment as `GET /posts` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Comment {
    /// Its id.
    pub id: String,
    /// Its text.
    pub content: String,
    /// `pending`, `approved` or `rejected`.
    pub status: String,
    /// The seq of its `CommentCreated`: its place among its post's comments.
    #[serde(skip)]
    pub seq: u64,
    /// The `version` of the last `CommentUpdated` applied (0: none).
    #[serde(skip)]
    pub version: u64,
}

/// A post with its comments, as `GET /posts` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Post {
    /// Its id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Its comments, oldest first.
    pub comments: Vec<Comment>,
    /// The seq of its `PostCreated`: its place among the posts.
    #[serde(skip)]
    pub seq: u64,
}

/// What applying one event changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Nothing: a duplicate, an update no newer than what is shown, another type.
    Nothing,
    /// A new post (with no comments).
    AddPost(Post),
    /// A new comment at the end of the post at index `post` (created at `post_seq`).
    AddComment {
        /// The post's index.
        post: usize,
        /// The post's seq.
        post_seq: u64,
        /// The comment.
        comment: Comment,
    },
    /// The comment at `index` of the post at `post` becomes `comment`.
    UpdateComment {
        /// The post's index.
        post: usize,
        /// The post's seq.
        post_seq: u64,
        /// The comment's index in the post.
        index: usize,
        /// The comment as it becomes.
        comment: Comment,
    },
}

/// Why an event can never be applied here (the bus parks it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unapplicable {
    /// A comment, or an update of one, on a post query does not know.
    #[error("no post {0}")]
    UnknownPost(String),
    /// An update of a comment query does not know.
    #[error("no comment {0}")]
    UnknownComment(String),
    /// `data` does not have the shape of its type.
    #[error("malformed event: {0}")]
    Malformed(String),
}

/// Posts in creation order, with indexes by post id and by comment id.
#[derive(Debug, Default)]
pub struct Projection {
    posts: Vec<Post>,
    post_index: HashMap<String, usize>,
    /// Comment id → (post index, comment index).
    comment_index: HashMap<String, (usize, usize)>,
}

impl Projection {
    /// Rebuilds a projection from stored posts, each with its comments, in creation order.
    pub fn from_posts(posts: Vec<Post>) -> Self {
        let comments = posts.iter().map(|p| p.comments.len()).sum();
        let mut projection = Self {
            posts: Vec::with_capacity(posts.len()),
            post_index: HashMap::with_capacity(posts.len()),
            comment_index: HashMap::with_capacity(comments),
        };
        for mut post in posts {
            let comments = std::mem::take(&mut post.comments);
            let at = projection.posts.len();
            projection.commit(Change::AddPost(post));
            for comment in comments {
                projection.add_comment(at, comment);
            }
        }
        projection
    }

    /// The post with this id.
    pub fn post(&self, id: &str) -> Option<&Post> {
        self.post_index.get(id).map(|&at| &self.posts[at])
    }

    /// How many posts there are.
    pub fn len(&self) -> usize {
        self.posts.len()
    }

    /// Whether there is no post.
    pub fn is_empty(&self) -> bool {
        self.posts.is_empty()
    }

    /// What applying `event`, the event at `seq`, would change; or why it never can.
    pub fn plan(&self, seq: u64, event: &BlogEvent) -> Result<Change, Unapplicable> {
        match event {
            BlogEvent::PostCreated(created) => Ok(self.plan_post(seq, created)),
            BlogEvent::CommentCreated(created) => self.plan_comment(seq, created),
            BlogEvent::CommentUpdated(updated) => self.plan_update(updated),
            BlogEvent::Other => Ok(Change::Nothing),
        }
    }

    /// Applies a change [`Self::plan`] made on this very state.
    pub fn commit(&mut self, change: Change) {
        match change {
            Change::Nothing => {}
            Change::AddPost(post) => {
                self.post_index.insert(post.id.clone(), self.posts.len());
                self.posts.push(post);
            }
            Change::AddComment { post, comment, .. } => self.add_comment(post, comment),
            Change::UpdateComment {
                post,
                index,
                comment,
                ..
            } => self.posts[post].comments[index] = comment,
        }
    }

    /// [`Self::plan`] then [`Self::commit`].
    pub fn apply(&mut self, seq: u64, event: &BlogEvent) -> Result<(), Unapplicable> {
        let change = self.plan(seq, event)?;
        self.commit(change);
        Ok(())
    }

    /// A post id seen before keeps its first post (and its comments).
    fn plan_post(&self, seq: u64, created: &PostCreated) -> Change {
        if self.post_index.contains_key(&created.id) {
            return Change::Nothing;
        }
        Change::AddPost(Post {
            id: created.id.clone(),
            title: created.title.clone(),
            comments: Vec::new(),
            seq,
        })
    }

    fn plan_comment(&self, seq: u64, created: &CommentCreated) -> Result<Change, Unapplicable> {
        let &post = self
            .post_index
            .get(&created.post_id)
            .ok_or_else(|| Unapplicable::UnknownPost(created.post_id.clone()))?;
        if self.comment_index.contains_key(&created.id) {
            return Ok(Change::Nothing);
        }
        let comment = Comment {
            id: created.id.clone(),
            content: created.content.clone(),
            status: created.status.clone(),
            seq,
            version: 0,
        };
        let post_seq = self.posts[post].seq;
        Ok(Change::AddComment {
            post,
            post_seq,
            comment,
        })
    }

    /// An update applies if its version is newer than the last applied (or it has none).
    fn plan_update(&self, updated: &CommentUpdated) -> Result<Change, Unapplicable> {
        let Some(&(post, index)) = self.comment_index.get(&updated.id) else {
            return Err(match self.post_index.contains_key(&updated.post_id) {
                true => Unapplicable::UnknownComment(updated.id.clone()),
                false => Unapplicable::UnknownPost(updated.post_id.clone()),
            });
        };
        let current = &self.posts[post].comments[index];
        let version = match updated.version {
            Some(version) if version <= current.version => return Ok(Change::Nothing),
            Some(version) => version,
            None => current.version,
        };
        let comment = Comment {
            content: updated
                .content
                .clone()
                .unwrap_or_else(|| current.content.clone()),
            status: updated.status.clone(),
            version,
            ..current.clone()
        };
        Ok(Change::UpdateComment {
            post,
            post_seq: self.posts[post].seq,
            index,
            comment,
        })
    }

    fn add_comment(&mut self, post: usize, comment: Comment) {
        let comments = &mut self.posts[post].comments;
        self.comment_index
            .insert(comment.id.clone(), (post, comments.len()));
        comments.push(comment);
    }
}

/// `{"<id>": {"id", "title", "comments": […]}, …}` in creation order.
impl Serialize for Projection {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.posts.len()))?;
        for post in &self.posts {
            map.serialize_entry(&post.id, post)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests;
