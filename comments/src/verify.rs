//! Whether a post exists, for a comment on it: the replica of post ids knows, or, for a
//! post it does not know, it is given up to [`CATCH_UP_WAIT`] to catch up with the bus's
//! head first (the post may have been published just before the comment).
//!
//! "Caught up" is read from the bus: the subscription's cursor, which the bus moves once
//! comments acknowledged a delivery (after its transaction committed) and past the events
//! it does not want, has reached the head the bus had when the check began.

use crate::store::{CommentStore, StoreError};
use bus::wire::SubscriptionStatus;
use std::time::Duration;
use tokio::time::Instant;

/// How long a comment on an unknown post waits for the replica to catch up.
pub const CATCH_UP_WAIT: Duration = Duration::from_secs(2);
/// How often the bus's cursor is read meanwhile.
const POLL: Duration = Duration::from_millis(20);
/// How long one question to the bus may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(1);

/// What the check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostCheck {
    /// The replica knows the post.
    Known,
    /// The replica caught up with the bus (or the wait ran out) without it: `404`.
    Unknown,
    /// The bus cannot be reached (or comments is not registered with it yet): `503`.
    Unverified,
}

/// Checks posts against the replica, asking the bus how far it is.
#[derive(Debug, Clone)]
pub struct PostVerifier {
    store: CommentStore,
    http: reqwest::Client,
    subscription_url: String,
    token: Option<String>,
}

impl PostVerifier {
    /// A verifier of `store`'s replica, fed by the subscription `name` at `bus_url`.
    pub fn new(store: CommentStore, bus_url: &str, name: &str, token: Option<String>) -> Self {
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .unwrap_or_default();
        let subscription_url = format!("{}/subscriptions/{name}", bus_url.trim_end_matches('/'));
        Self {
            store,
            http,
            subscription_url,
            token,
        }
    }

    /// Whether the post `post_id` exists (see the module doc).
    pub async fn check(&self, post_id: &str) -> Result<PostCheck, StoreError> {
        if self.store.knows_post(post_id).await? {
            return Ok(PostCheck::Known);
        }
        let deadline = Instant::now() + CATCH_UP_WAIT;
        let Some(head) = self.subscription().await.map(|s| s.head_seq) else {
            return Ok(PostCheck::Unverified);
        };
        loop {
            let Some(status) = self.subscription().await else {
                return Ok(PostCheck::Unverified);
            };
            if self.store.knows_post(post_id).await? {
                return Ok(PostCheck::Known);
            }
            if status.cursor >= head || Instant::now() >= deadline {
                return Ok(PostCheck::Unknown);
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The subscription's status at the bus; `None` when the bus cannot be reached or
    /// does not know the subscription yet.
    async fn subscription(&self) -> Option<SubscriptionStatus> {
        let mut request = self.http.get(&self.subscription_url);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let answer = request.send().await.ok()?;
        if !answer.status().is_success() {
            tracing::debug!(status = %answer.status(), "the bus cannot tell the subscription's cursor");
            return None;
        }
        answer.json().await.ok()
    }
}
