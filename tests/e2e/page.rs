//! The blog page, in a real headless Chromium (Debian's, driven by playwright-core from
//! `tests/tools`; `scripts/install-test-tools.sh` installs both), against a real stack
//! (`minibus up --any-ports` as a process, the page at the client's URL from its banner).
//! The browser side of each test is a script beside this file (`page/<name>.mjs`); each
//! script also checks that no request left the client's origin and that the console had
//! no errors, and writes a screenshot of each state into `target/page-screenshots/`.
//! - `moderation.mjs`: a post and its comments, awaiting moderation, then approved or
//!   rejected, live; the event log's seqs, filter and causal chain; form validation;
//!   keyboard use, labels, contrast, phone width.
//! - `lag.mjs`: query paused from the panel: lag 1, the post not listed; resumed: listed,
//!   lag 0; rewound: the projection rebuilt.
//! - `outage.mjs`: the comments service stopped: a comment says so, in words.
//!
//! Plain HTTP checks of how the page's assets are served sit beside them.

mod driver;
mod stack;

use driver::run_script;
use serde_json::json;
use stack::{Processes, Up};

#[tokio::test]
async fn page_shows_a_comment_awaiting_moderation_then_moderated_live() {
    let dir = tempfile::tempdir().unwrap();
    let up = Up::start(dir.path()).await;
    let summary = run_script("moderation", up.url("client")).await;
    assert_eq!(summary["ok"], true, "{summary}");
    assert_eq!(summary["console_errors"], json!([]), "{summary}");
}

#[tokio::test]
async fn page_shows_query_lagging_while_paused_and_catching_up_on_resume() {
    let dir = tempfile::tempdir().unwrap();
    let up = Up::start(dir.path()).await;
    let summary = run_script("lag", up.url("client")).await;
    assert_eq!(summary["ok"], true, "{summary}");
}

#[tokio::test]
async fn page_says_the_comments_service_is_unavailable_and_the_comment_not_saved() {
    let dir = tempfile::tempdir().unwrap();
    let mut stack = Processes::start(dir.path()).await;
    let created = reqwest::Client::new()
        .post(format!("{}/posts", stack.client_url()))
        .json(&json!({"title": "Comments are about to stop"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let seq = created.headers()["minibus-seq"]
        .to_str()
        .unwrap()
        .to_string();
    let listed = reqwest::get(format!("{}/posts?min_seq={seq}", stack.client_url()))
        .await
        .unwrap();
    assert_eq!(listed.status(), 200);
    stack.stop("comments");
    let summary = run_script("outage", stack.client_url()).await;
    assert_eq!(summary["ok"], true, "{summary}");
}
