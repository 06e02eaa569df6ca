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
//! - `admin_off.mjs`: a gateway without `--admin-actions`: the first refused action hides
//!   the panel's buttons, with a note.
//! - `restart.mjs`: the bus killed and started again under the open page: the event log
//!   follows it again, from where it was, and comments change state live again.
//!
//! Plain HTTP checks of how the page's assets are served sit beside them.

mod driver;
mod stack;

use bus::testkit::eventually_within;
use driver::{run_script, spawn_script};
use serde_json::{json, Value};
use stack::{Processes, Up};
use std::path::Path;
use std::time::Duration;
use tokio::task::JoinHandle;

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

#[tokio::test]
async fn page_hides_the_admin_actions_once_the_gateway_refuses_them() {
    let dir = tempfile::tempdir().unwrap();
    let stack = Processes::start_without_admin_actions(dir.path()).await;
    let summary = run_script("admin_off", stack.client_url()).await;
    assert_eq!(summary["ok"], true, "{summary}");
}

#[tokio::test]
async fn page_follows_the_bus_again_after_it_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let mut stack = Processes::start(dir.path()).await;
    let signals = tempfile::tempdir().unwrap();
    let script = spawn_script(
        "restart",
        stack.client_url(),
        &[("SIGNALS_DIR", signals.path())],
    );
    if until_signal(signals.path(), "live", &script).await {
        stack.stop_bus();
        if until_signal(signals.path(), "bus-down-seen", &script).await {
            stack.start_bus().await;
        }
    }
    let summary = script.await.expect("run the restart script");
    assert_eq!(summary["ok"], true, "{summary}");
}

/// How long a browser script may take to reach one of its signals on a loaded machine.
const SIGNAL_PATIENCE: Duration = Duration::from_secs(120);

/// Waits (bounded) until the script writes the file `dir/name`: true; false if the script
/// ended first (its own error says why).
async fn until_signal(dir: &Path, name: &str, script: &JoinHandle<Value>) -> bool {
    let signal = dir.join(name);
    let what = format!("the browser script signals {name}");
    eventually_within(&what, SIGNAL_PATIENCE, || async {
        match (signal.exists(), script.is_finished()) {
            (true, _) => Some(true),
            (false, true) => Some(false),
            (false, false) => None,
        }
    })
    .await
}
