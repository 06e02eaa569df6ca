//! Dead letters: `422` parks at once, `max_attempts` with `dead_letter` or `block`, skip,
//! resume, retry (one, all), delete.

use crate::helpers::{assert_error, publish_n, seqs, spawn_app, spec};
use bus::testkit::{Answer, FakeSubscriber};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn a_422_parks_the_event_at_once_and_dead_letters_can_be_retried_and_deleted() {
    let app = spawn_app().await;
    let sub = FakeSubscriber::start().await;
    for seq in [2, 3, 4] {
        sub.answer_for_seq(seq, Some(Answer::Status(422)));
    }
    app.create_sub("dl", spec(&sub.url, json!({}))).await;
    publish_n(&app, "A", 6).await;

    let status = app.until_cursor("dl", 6).await;
    assert_eq!(status["dead_letters"], 3, "{status}");
    assert_eq!(status["delivered"], 3, "{status}");
    assert_eq!(status["state"], "active");
    assert_eq!(
        sub.seqs(),
        [1, 2, 3, 4, 5, 6],
        "each sent once: parked at once"
    );
    assert_eq!(sub.acked(), [1, 5, 6]);
    let letters = app.dead_letters("dl").await;
    assert_eq!(seqs(&letters), [2, 3, 4]);
    for letter in &letters {
        assert_eq!(letter["attempts"], 1, "{letter}");
        assert_eq!(letter["last_status"], 422, "{letter}");
        assert!(
            letter["reason"].as_str().is_some_and(|r| r.contains("422")),
            "{letter}"
        );
        assert!(letter["time"].is_string(), "{letter}");
    }

    // Retry one that the subscriber now takes: delivered again, marked, removed.
    sub.answer_for_seq(2, None);
    let (code, body) = app.sub_action("dl", "dead-letters/2/retry", None).await;
    assert_eq!(code, StatusCode::ACCEPTED, "{body}");
    let redelivered = sub
        .until("2 redelivered", |r| r.len() == 7)
        .await
        .pop()
        .expect("a request");
    assert_eq!(redelivered.seqs, [2]);
    assert_eq!(
        redelivered.header("minibus-redelivery"),
        Some("dead-letter")
    );
    assert!(redelivered.acked());
    let status = app
        .until_sub("dl", "2 no longer parked", |s| s["dead_letters"] == 2)
        .await;
    assert_eq!(status["cursor"], 6, "a retry does not move the cursor");
    assert_eq!(seqs(&app.dead_letters("dl").await), [3, 4]);

    // Retry all: 3 is refused again (kept, with one more attempt), 4 is taken (removed).
    sub.answer_for_seq(4, None);
    let (code, body) = app.sub_action("dl", "dead-letters/retry", None).await;
    assert_eq!(code, StatusCode::ACCEPTED, "{body}");
    let received = sub.until("3 and 4 redelivered", |r| r.len() == 9).await;
    assert!(received[7..]
        .iter()
        .all(|r| r.header("minibus-redelivery") == Some("dead-letter")));
    app.until_sub("dl", "4 no longer parked", |s| s["dead_letters"] == 1)
        .await;
    let letters = app.dead_letters("dl").await;
    assert_eq!(seqs(&letters), [3]);
    assert_eq!(letters[0]["attempts"], 2, "{}", letters[0]);
    assert_eq!(letters[0]["last_status"], 422);
    // Later deliveries are not marked as redeliveries.
    publish_n(&app, "A", 1).await;
    app.until_cursor("dl", 7).await;
    let last = sub.received().pop().expect("a request");
    assert_eq!(
        (last.seqs.clone(), last.header("minibus-redelivery")),
        (vec![7], None)
    );

    // Not while paused.
    app.sub_action("dl", "pause", None).await;
    for action in ["dead-letters/3/retry", "dead-letters/retry"] {
        let (code, body) = app.sub_action("dl", action, None).await;
        assert_error(code, &body, StatusCode::CONFLICT, "paused", action);
    }
    app.sub_action("dl", "resume", None).await;

    // Delete one; then it is gone for good.
    let path = "/subscriptions/dl/dead-letters/3";
    let (code, body) = app.call(Method::DELETE, path, None).await;
    assert_eq!(code, StatusCode::NO_CONTENT, "{body}");
    assert!(app.dead_letters("dl").await.is_empty());
    assert_eq!(app.sub("dl").await["dead_letters"], 0);
    let (code, body) = app.call(Method::DELETE, path, None).await;
    assert_error(
        code,
        &body,
        StatusCode::NOT_FOUND,
        "not_found",
        "deleted twice",
    );
    let (code, body) = app.sub_action("dl", "dead-letters/3/retry", None).await;
    assert_error(
        code,
        &body,
        StatusCode::NOT_FOUND,
        "not_found",
        "retry of none",
    );
}

#[tokio::test]
async fn a_422_inside_a_batch_parks_only_that_event() {
    let app = spawn_app().await;
    publish_n(&app, "A", 8).await;
    let sub = FakeSubscriber::start().await;
    sub.answer_for_seq(3, Some(Answer::Status(422)));
    app.create_sub("batched", spec(&sub.url, json!({"batch": 4})))
        .await;
    app.until_cursor("batched", 8).await;
    assert_eq!(seqs(&app.dead_letters("batched").await), [3]);
    assert_eq!(sub.acked(), [1, 2, 4, 5, 6, 7, 8]);
    let bodies: Vec<Vec<u64>> = sub.received().iter().map(|r| r.seqs.clone()).collect();
    assert_eq!(bodies[..4], [vec![1, 2, 3, 4], vec![1], vec![2], vec![3]]);
}

#[tokio::test]
async fn max_attempts_with_dead_letter_parks_after_exactly_that_many_attempts() {
    let app = spawn_app().await;
    let sub = FakeSubscriber::start().await;
    sub.answer_for_seq(2, Some(Answer::Status(500)));
    let retry =
        json!({"initial_ms": 10, "max_ms": 50, "max_attempts": 3, "on_exhausted": "dead_letter"});
    app.create_sub("dl", spec(&sub.url, json!({"retry": retry})))
        .await;
    publish_n(&app, "A", 4).await;

    let status = app.until_cursor("dl", 4).await;
    assert_eq!(status["dead_letters"], 1);
    assert_eq!(status["state"], "active");
    assert_eq!(sub.seqs(), [1, 2, 2, 2, 3, 4]);
    assert_eq!(sub.acked(), [1, 3, 4]);
    let letters = app.dead_letters("dl").await;
    assert_eq!(seqs(&letters), [2]);
    assert_eq!(letters[0]["attempts"], 3);
    assert_eq!(letters[0]["last_status"], 500);
}

#[tokio::test]
async fn max_attempts_with_block_stops_until_skip_or_resume() {
    let app = spawn_app().await;
    let sub = FakeSubscriber::start().await;
    sub.answer_for_seq(2, Some(Answer::Status(500)));
    let retry = json!({"initial_ms": 10, "max_ms": 50, "max_attempts": 2, "on_exhausted": "block"});
    app.create_sub("blocked", spec(&sub.url, json!({"retry": retry})))
        .await;
    publish_n(&app, "A", 4).await;

    let status = app
        .until_sub("blocked", "blocked", |s| s["state"] == "blocked")
        .await;
    assert_eq!(status["cursor"], 1, "{status}");
    assert_eq!(status["attempts"], 2, "{status}");
    assert!(status["last_error"].is_string(), "{status}");
    assert_eq!(sub.seqs(), [1, 2, 2]);

    // Skip: parks 2 and goes on.
    let (code, letter) = app.sub_action("blocked", "skip", None).await;
    assert_eq!(code, StatusCode::OK, "{letter}");
    assert_eq!(letter["seq"], 2);
    assert_eq!(
        (&letter["attempts"], &letter["last_status"]),
        (&json!(2), &json!(500))
    );
    let status = app.until_cursor("blocked", 4).await;
    assert_eq!(status["state"], "active");
    assert_eq!(status["dead_letters"], 1);
    assert_eq!(sub.seqs(), [1, 2, 2, 3, 4], "2 was not tried again");
    assert_eq!(seqs(&app.dead_letters("blocked").await), [2]);
    let (code, body) = app.sub_action("blocked", "skip", None).await;
    assert_error(
        code,
        &body,
        StatusCode::CONFLICT,
        "nothing_to_skip",
        "caught up",
    );

    // Blocked again on 5; resume once the subscriber takes it.
    sub.answer_for_seq(5, Some(Answer::Status(500)));
    publish_n(&app, "A", 2).await;
    app.until_sub("blocked", "blocked on 5", |s| s["state"] == "blocked")
        .await;
    assert_eq!(app.sub("blocked").await["cursor"], 4);
    let before = sub.seqs().len();
    // A dead-letter retry goes through even while blocked; the subscription stays blocked.
    sub.answer_for_seq(2, None);
    let (code, body) = app
        .sub_action("blocked", "dead-letters/2/retry", None)
        .await;
    assert_eq!(code, StatusCode::ACCEPTED, "{body}");
    crate::helpers::eventually("dead letter 2 retried while blocked", || {
        let letters = app.dead_letters("blocked");
        async move { letters.await.is_empty().then_some(()) }
    })
    .await;
    assert_eq!(sub.seqs()[before..], [2]);
    assert_eq!(app.sub("blocked").await["state"], "blocked");
    sub.answer_for_seq(5, None);
    let (code, status) = app.sub_action("blocked", "resume", None).await;
    assert_eq!(code, StatusCode::OK, "{status}");
    assert_eq!(status["attempts"], 0);
    app.until_cursor("blocked", 6).await;
    assert_eq!(sub.seqs(), [1, 2, 2, 3, 4, 5, 5, 2, 5, 6]);
    assert_eq!(app.sub("blocked").await["state"], "active");
}

/// A skipped event's dead letter keeps what its last attempt got: the subscriber's status
/// as well as the error (`last_status` is null only when no answer came).
#[tokio::test]
async fn a_skipped_dead_letter_keeps_the_last_status() {
    let app = spawn_app().await;
    let sub = FakeSubscriber::start().await;
    sub.answer_for_seq(1, Some(Answer::Status(503)));
    app.create_sub("s1", spec(&sub.url, json!({}))).await;
    publish_n(&app, "A", 2).await;
    app.until_sub("s1", "retrying", |s| s["attempts"].as_u64() >= Some(2))
        .await;
    let (code, letter) = app.sub_action("s1", "skip", None).await;
    assert_eq!(code, StatusCode::OK, "{letter}");
    let listed = app.dead_letters("s1").await;
    for letter in [&letter, &listed[0]] {
        assert_eq!(letter["seq"], 1, "{letter}");
        assert_eq!(letter["last_status"], 503, "{letter}");
        assert!(letter["attempts"].as_u64() >= Some(2), "{letter}");
        assert!(
            letter["last_error"]
                .as_str()
                .is_some_and(|e| e.starts_with("HTTP 503")),
            "{letter}"
        );
    }
    app.until_cursor("s1", 2).await;
}

#[tokio::test]
async fn a_rewind_unblocks_a_blocked_subscription() {
    let app = spawn_app().await;
    let sub = FakeSubscriber::start().await;
    sub.answer_for_seq(2, Some(Answer::Status(500)));
    let retry = json!({"initial_ms": 10, "max_ms": 50, "max_attempts": 1});
    app.create_sub("b", spec(&sub.url, json!({"retry": retry})))
        .await;
    publish_n(&app, "A", 3).await;
    app.until_sub("b", "blocked", |s| s["state"] == "blocked")
        .await;
    sub.answer_for_seq(2, None);
    let (code, reply) = app
        .sub_action("b", "rewind", Some(json!({"after": 0})))
        .await;
    assert_eq!(code, StatusCode::OK, "{reply}");
    let status = app.until_cursor("b", 3).await;
    assert_eq!(status["state"], "active");
    assert_eq!(status["generation"], 2);
    assert_eq!(sub.seqs(), [1, 2, 1, 2, 3]);
}

#[tokio::test]
async fn a_410_to_a_dead_letter_retry_pauses_the_subscription() {
    let app = spawn_app().await;
    let sub = FakeSubscriber::start().await;
    sub.answer_for_seq(2, Some(Answer::Status(422)));
    app.create_sub("gone-on-retry", spec(&sub.url, json!({})))
        .await;
    publish_n(&app, "A", 3).await;
    app.until_cursor("gone-on-retry", 3).await;
    sub.answer_for_seq(2, Some(Answer::Status(410)));
    let (code, body) = app
        .sub_action("gone-on-retry", "dead-letters/2/retry", None)
        .await;
    assert_eq!(code, StatusCode::ACCEPTED, "{body}");
    let status = app
        .until_sub("gone-on-retry", "paused by the 410", |s| {
            s["state"] == "paused"
        })
        .await;
    assert_eq!(status["dead_letters"], 1, "{status}");
    assert_eq!(
        app.dead_letters("gone-on-retry").await[0]["last_status"],
        410
    );
}

#[tokio::test]
async fn blocked_stays_blocked_across_a_restart_until_resumed() {
    let app = spawn_app().await;
    let sub = FakeSubscriber::start().await;
    let clock = FakeSubscriber::start().await;
    sub.answer_for_seq(2, Some(Answer::Status(500)));
    let retry = json!({"initial_ms": 10, "max_ms": 50, "max_attempts": 2, "on_exhausted": "block"});
    app.create_sub("blocked", spec(&sub.url, json!({"retry": retry})))
        .await;
    app.create_sub("clock", spec(&clock.url, json!({}))).await;
    publish_n(&app, "A", 4).await;
    app.until_sub("blocked", "blocked", |s| s["state"] == "blocked")
        .await;
    let error = app.sub("blocked").await["last_error"].clone();
    assert!(error.is_string(), "{error}");
    assert_eq!(app.sub("blocked").await["attempts"], 2);

    let app = app.restart().await;
    // The subscriber would take 2 now; a loop that forgot it was blocked would deliver it.
    sub.answer_for_seq(2, None);
    let before = sub.seqs();
    publish_n(&app, "A", 1).await;
    // By the time the other subscription has the new event, the blocked loop has had
    // every chance to send something.
    clock
        .until("the event published after the restart", |r| {
            r.iter().any(|r| r.seqs.contains(&5))
        })
        .await;
    let status = app.sub("blocked").await;
    assert_eq!(status["state"], "blocked", "{status}");
    assert_eq!(status["cursor"], 1, "{status}");
    assert_eq!(status["last_error"], error, "{status}");
    assert_eq!(
        status["attempts"], 2,
        "the attempts that blocked it: {status}"
    );
    assert_eq!(sub.seqs(), before, "nothing sent while blocked");

    let (code, body) = app.sub_action("blocked", "resume", None).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    let status = app.until_cursor("blocked", 5).await;
    assert_eq!(status["state"], "active", "{status}");
    assert_eq!(sub.acked(), [1, 2, 3, 4, 5]);
    // Resumed is stored too: a second restart does not block it again.
    let app = app.restart().await;
    assert_eq!(app.sub("blocked").await["state"], "active");
}

/// What blocked a subscription (attempts, the last status) is stored with `blocked`: an
/// event skipped after a restart is parked with it.
#[tokio::test]
async fn an_event_skipped_after_a_restart_keeps_what_blocked_it() {
    let app = spawn_app().await;
    let sub = FakeSubscriber::start().await;
    sub.answer_for_seq(1, Some(Answer::Status(503)));
    let retry = json!({"initial_ms": 10, "max_ms": 50, "max_attempts": 2, "on_exhausted": "block"});
    app.create_sub("b", spec(&sub.url, json!({"retry": retry})))
        .await;
    publish_n(&app, "A", 2).await;
    app.until_sub("b", "blocked", |s| s["state"] == "blocked")
        .await;
    let app = app.restart().await;
    let (code, letter) = app.sub_action("b", "skip", None).await;
    assert_eq!(code, StatusCode::OK, "{letter}");
    assert_eq!(
        (&letter["seq"], &letter["attempts"], &letter["last_status"]),
        (&json!(1), &json!(2), &json!(503)),
        "{letter}"
    );
    app.until_cursor("b", 2).await;
}

#[tokio::test]
async fn a_dead_letter_for_a_refused_connection_has_no_status() {
    let app = spawn_app().await;
    // A port nothing listens on: every attempt is refused before any answer.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/events", listener.local_addr().expect("addr"));
    drop(listener);
    let retry =
        json!({"initial_ms": 1, "max_ms": 5, "max_attempts": 2, "on_exhausted": "dead_letter"});
    app.create_sub("refused", spec(&url, json!({"retry": retry})))
        .await;
    publish_n(&app, "A", 1).await;

    app.until_cursor("refused", 1).await;
    let letters = app.dead_letters("refused").await;
    assert_eq!(seqs(&letters), [1]);
    assert_eq!(letters[0]["attempts"], 2);
    assert!(letters[0]["last_status"].is_null(), "{}", letters[0]);
    let error = letters[0]["last_error"].as_str().unwrap_or_default();
    assert!(error.contains("cannot connect"), "{error}");
}
