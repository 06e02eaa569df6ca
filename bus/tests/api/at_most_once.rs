//! `delivery: "at_most_once"`: a failed delivery (5xx, timeout, 422) is parked at once and
//! never sent again on its own, a failed batch parks each of its events, a 410 pauses and
//! puts the events back, and an event in flight when the bus stopped is parked
//! `outcome_unknown` at the next start instead of being sent again.

use crate::helpers::{assert_error, publish_n, seqs, spawn_app, spec, TestApp};
use bus::testkit::{Answer, FakeSubscriber};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// Waits until `name` has `delivered` events acknowledged and `parked` dead letters (with
/// at_most_once the cursor moves before the request is sent, so it says nothing of the
/// answer); its status.
async fn until_settled(app: &TestApp, name: &str, delivered: u64, parked: u64) -> Value {
    let what = format!("{delivered} delivered and {parked} parked");
    app.until_sub(name, &what, |s| {
        s["delivered"] == delivered && s["dead_letters"] == parked
    })
    .await
}

/// The dead letter of `seq` in `letters`.
fn letter(letters: &[Value], seq: u64) -> &Value {
    letters
        .iter()
        .find(|l| l["seq"] == seq)
        .unwrap_or_else(|| panic!("no dead letter {seq} in {letters:?}"))
}

#[tokio::test]
async fn a_failed_delivery_is_parked_at_once_and_later_events_flow() {
    let app = spawn_app().await;
    let sub = FakeSubscriber::start().await;
    sub.answer_for_seq(2, Some(Answer::WithBody(500, "boom".into())));
    sub.answer_for_seq(4, Some(Answer::Status(422)));
    sub.answer_for_seq(5, Some(Answer::Hang));
    let extra = json!({"delivery": "at_most_once", "timeout_ms": 300});
    let created = app.create_sub("q", spec(&sub.url, extra)).await;
    assert_eq!(created["delivery"], "at_most_once", "{created}");
    publish_n(&app, "A", 6).await;

    let status = until_settled(&app, "q", 3, 3).await;
    assert_eq!(status["cursor"], 6, "{status}");
    assert_eq!(status["state"], "active", "{status}");
    assert_eq!(status["delivery"], "at_most_once", "{status}");
    assert_eq!(
        sub.seqs(),
        [1, 2, 3, 4, 5, 6],
        "each sent once, never retried"
    );
    assert_eq!(sub.acked(), [1, 3, 6]);

    let letters = app.dead_letters("q").await;
    assert_eq!(seqs(&letters), [2, 4, 5]);
    let failed = letter(&letters, 2);
    assert_eq!(failed["last_status"], 500, "{failed}");
    assert_eq!(failed["attempts"], 1, "{failed}");
    let reason = failed["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("at_most_once"), "{failed}");
    let error = failed["last_error"].as_str().unwrap_or_default();
    assert!(error.contains("500") && error.contains("boom"), "{failed}");
    let rejected = letter(&letters, 4);
    assert_eq!(rejected["last_status"], 422, "{rejected}");
    assert!(rejected["reason"]
        .as_str()
        .is_some_and(|r| r.contains("422")));
    let timed_out = letter(&letters, 5);
    assert_eq!(timed_out["last_status"], Value::Null, "{timed_out}");
    let error = timed_out["last_error"].as_str().unwrap_or_default();
    assert!(error.contains("timed out"), "{timed_out}");

    // Nothing parked is tried again on its own: the next event is the next request.
    publish_n(&app, "A", 1).await;
    until_settled(&app, "q", 4, 3).await;
    assert_eq!(sub.seqs(), [1, 2, 3, 4, 5, 6, 7]);

    // An operator's retry of a dead letter stays one attempt, as with at_least_once.
    sub.answer_for_seq(2, None);
    let (code, body) = app.sub_action("q", "dead-letters/2/retry", None).await;
    assert_eq!(code, StatusCode::ACCEPTED, "{body}");
    app.until_sub("q", "2 retried and removed", |s| s["dead_letters"] == 2)
        .await;
    assert_eq!(sub.seqs(), [1, 2, 3, 4, 5, 6, 7, 2]);
}

#[tokio::test]
async fn a_failed_batch_parks_each_of_its_events() {
    let app = spawn_app().await;
    publish_n(&app, "A", 3).await;
    let sub = FakeSubscriber::start().await;
    sub.answer_next([Answer::Status(503)]);
    let extra = json!({"delivery": "at_most_once", "batch": 10});
    app.create_sub("q", spec(&sub.url, extra)).await;

    let status = until_settled(&app, "q", 0, 3).await;
    assert_eq!(status["cursor"], 3, "{status}");
    let letters = app.dead_letters("q").await;
    assert_eq!(seqs(&letters), [1, 2, 3]);
    assert!(
        letters.iter().all(|l| l["last_status"] == 503),
        "{letters:?}"
    );
    let received = sub.received();
    assert_eq!(received.len(), 1, "one request, not split or retried");
    assert_eq!(received[0].seqs, [1, 2, 3]);

    publish_n(&app, "A", 2).await;
    until_settled(&app, "q", 2, 3).await;
    assert_eq!(sub.seqs(), [1, 2, 3, 4, 5]);
}

#[tokio::test]
async fn a_refused_connection_parks_the_event_with_no_status() {
    let app = spawn_app().await;
    let mut sub = FakeSubscriber::down();
    let extra = json!({"delivery": "at_most_once"});
    app.create_sub("q", spec(&sub.url, extra)).await;
    publish_n(&app, "A", 1).await;

    until_settled(&app, "q", 0, 1).await;
    let letters = app.dead_letters("q").await;
    assert_eq!(letters[0]["last_status"], Value::Null, "{}", letters[0]);
    let error = letters[0]["last_error"].as_str().unwrap_or_default();
    assert!(error.contains("connect"), "{}", letters[0]);

    // Once it listens, it gets what comes next, not the parked event.
    sub.come_up();
    publish_n(&app, "A", 1).await;
    until_settled(&app, "q", 1, 1).await;
    assert_eq!(sub.seqs(), [2]);
}

#[tokio::test]
async fn a_410_pauses_and_puts_the_event_back() {
    let app = spawn_app().await;
    let sub = FakeSubscriber::start().await;
    sub.answer_next([Answer::Status(410)]);
    let extra = json!({"delivery": "at_most_once"});
    app.create_sub("q", spec(&sub.url, extra)).await;
    publish_n(&app, "A", 1).await;

    let status = app
        .until_sub("q", "paused by the 410", |s| s["state"] == "paused")
        .await;
    assert_eq!(status["cursor"], 0, "the subscriber took nothing: {status}");
    assert_eq!(status["dead_letters"], 0, "{status}");
    let (code, body) = app.sub_action("q", "resume", None).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    until_settled(&app, "q", 1, 0).await;
    assert_eq!(sub.acked(), [1]);
}

#[tokio::test]
async fn an_event_in_flight_when_the_bus_stopped_is_parked_outcome_unknown_at_start() {
    let app = spawn_app().await;
    let sub = FakeSubscriber::start().await;
    sub.answer_once_for_seq(2, Answer::Hang);
    let extra = json!({"delivery": "at_most_once", "timeout_ms": 60_000});
    app.create_sub("q", spec(&sub.url, extra)).await;
    publish_n(&app, "A", 3).await;
    sub.until("2 in flight", |r| r.iter().any(|r| r.seqs == [2]))
        .await;

    // The stop abandons the request after its grace: the bus never learns its outcome.
    let app = app.restart().await;
    let status = until_settled(&app, "q", 2, 1).await;
    assert_eq!(status["cursor"], 3, "{status}");
    let letters = app.dead_letters("q").await;
    assert_eq!(letters[0]["seq"], 2);
    assert_eq!(letters[0]["reason"], "outcome_unknown", "{}", letters[0]);
    assert_eq!(letters[0]["last_status"], Value::Null, "{}", letters[0]);
    assert_eq!(sub.seqs(), [1, 2, 3], "2 is never sent again");

    // Parked once: a second restart finds nothing more in flight.
    let app = app.restart().await;
    publish_n(&app, "A", 1).await;
    until_settled(&app, "q", 3, 1).await;
    assert_eq!(sub.seqs(), [1, 2, 3, 4]);
}

#[tokio::test]
async fn delivery_defaults_to_at_least_once_and_bad_values_are_refused() {
    let app = spawn_app().await;
    let url = "http://127.0.0.1:9/events";
    let created = app.create_sub("a", json!({"url": url})).await;
    assert_eq!(created["delivery"], "at_least_once", "{created}");
    let (code, updated) = app
        .put_sub("a", json!({"url": url, "delivery": "at_most_once"}))
        .await;
    assert_eq!(code, StatusCode::OK, "{updated}");
    assert_eq!(app.sub("a").await["delivery"], "at_most_once");

    for (case, body) in [
        (
            "an unknown mode",
            json!({"url": url, "delivery": "exactly_once"}),
        ),
        ("not a string", json!({"url": url, "delivery": 1})),
        (
            "retries with at_most_once",
            json!({"url": url, "delivery": "at_most_once", "retry": {"max_attempts": 3}}),
        ),
    ] {
        let (code, answer) = app.put_sub("b", body).await;
        assert_error(
            code,
            &answer,
            StatusCode::BAD_REQUEST,
            "invalid_subscription",
            case,
        );
    }
}
