//! Delivery: retries, isolation from a hung or dead subscriber, batches, redirects,
//! pause and `410`, reset and rewind (also while a delivery is in flight), late
//! subscriptions over a long log.

use crate::helpers::{eventually, publish_n, publish_types, spawn_app, spawn_app_with, spec};
use bus::testkit::{Answer, FakeSubscriber, Received};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// The seqs of the acknowledged requests among `received` sent in `generation`.
fn acked_in(received: &[Received], generation: u64) -> Vec<u64> {
    received
        .iter()
        .filter(|r| r.acked() && r.generation() == generation)
        .flat_map(|r| r.seqs.clone())
        .collect()
}

#[tokio::test]
async fn a_subscriber_failing_five_times_gets_everything_in_order_and_shows_retrying() {
    let app = spawn_app().await;
    let sub = FakeSubscriber::start().await;
    // Four quick failures, then a fifth held, so that the status can be read while the
    // subscription is certainly retrying.
    sub.answer_next(vec![Answer::Status(500); 4]);
    sub.answer_next([Answer::Hold(500)]);
    app.create_sub("flaky", spec(&sub.url, json!({}))).await;
    publish_n(&app, "A", 5).await;

    sub.until("the fifth attempt", |r| r.len() == 5).await;
    let status = app.sub("flaky").await;
    assert_eq!(status["state"], "retrying", "{status}");
    assert_eq!(status["attempts"], 4, "{status}");
    assert!(
        status["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("500")),
        "{status}"
    );
    assert_eq!(status["cursor"], 0);
    assert_eq!(status["lag"], 5);
    sub.release();

    let status = app.until_cursor("flaky", 5).await;
    assert_eq!(status["state"], "active");
    assert_eq!(status["attempts"], 0);
    assert_eq!(status["last_error"], Value::Null);
    assert!(status["last_delivered_at"].is_string(), "{status}");
    assert_eq!(sub.acked(), [1, 2, 3, 4, 5]);
    assert_eq!(sub.seqs(), [1, 1, 1, 1, 1, 1, 2, 3, 4, 5]);
    let metrics = app.get_text("/metrics").await;
    let line = r#"minibus_subscription_failures_total{subscription="flaky"} 5"#;
    assert!(metrics.lines().any(|l| l == line), "{metrics}");

    publish_n(&app, "A", 2).await;
    app.until_cursor("flaky", 7).await;
    assert_eq!(sub.acked(), (1..=7).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_subscriber_that_closes_every_connection_gets_each_event_once_in_order() {
    // Each answer ends its connection, so every delivery needs a new one: none may fail
    // or be sent twice because the kept-alive connection went away.
    let app = spawn_app().await;
    let sub = FakeSubscriber::start().await;
    sub.answer_default(Answer::WithHeaders(
        200,
        vec![("connection", "close".into())],
    ));
    app.create_sub("closer", spec(&sub.url, json!({}))).await;
    let seqs = publish_n(&app, "A", 20).await;
    sub.until("all 20", |r| r.len() >= 20).await;
    let status = app
        .until_sub("closer", "caught up", |s| s["lag"] == 0)
        .await;
    assert_eq!(sub.seqs(), seqs, "each event once, in order");
    assert_eq!(status["attempts"], 0, "{status}");
    let metrics = app.get_text("/metrics").await;
    let line = r#"minibus_subscription_failures_total{subscription="closer"} 0"#;
    assert!(
        metrics.lines().any(|l| l == line),
        "no attempt failed: {metrics}"
    );
}

#[tokio::test]
async fn credentials_in_a_subscription_url_are_sent_as_basic_auth() {
    let app = spawn_app().await;
    let sub = FakeSubscriber::start().await;
    let url = sub.url.replacen("http://", "http://reader:s%3Acret@", 1);
    app.create_sub("basic", spec(&url, json!({}))).await;
    publish_n(&app, "A", 1).await;
    let received = sub.until("one delivery", |r| !r.is_empty()).await;
    // base64("reader:s:cret")
    assert_eq!(
        received[0].header("authorization"),
        Some("Basic cmVhZGVyOnM6Y3JldA==")
    );
    assert_eq!(
        received[0].header("host"),
        sub.url
            .strip_prefix("http://")
            .and_then(|r| r.split('/').next())
    );
}

#[tokio::test]
async fn without_answer_polling_every_event_still_arrives_once_in_order_with_retries() {
    // `--delivery-spin-us 0`: the loop sleeps until every answer wakes it.
    let app = spawn_app_with(|c| c.delivery_spin_us = 0).await;
    let sub = FakeSubscriber::start().await;
    sub.answer_next([Answer::Status(500)]);
    let retry = json!({"initial_ms": 5, "max_ms": 20});
    app.create_sub("sleepy", spec(&sub.url, json!({"retry": retry})))
        .await;
    let seqs = publish_n(&app, "A", 20).await;
    app.until_cursor("sleepy", 20).await;
    assert_eq!(sub.acked(), seqs);
    assert_eq!(sub.seqs()[..2], [1, 1], "the first was retried");
}

#[tokio::test]
async fn an_answer_over_64_kib_is_cut_and_delivery_goes_on() {
    let app = spawn_app().await;
    let sub = FakeSubscriber::start().await;
    // 100 KiB: past what the bus reads of an answer, so that connection is not reused. The
    // retry is held, so that the status still shows the first error.
    sub.answer_next([
        Answer::WithBody(500, "x".repeat(100 * 1024)),
        Answer::Hold(200),
    ]);
    app.create_sub(
        "chatty",
        spec(&sub.url, json!({"retry": {"initial_ms": 5}})),
    )
    .await;
    let seqs = publish_n(&app, "A", 3).await;
    let status = app
        .until_sub("chatty", "the 500 recorded", |s| {
            s["last_error"].is_string()
        })
        .await;
    let error = status["last_error"].as_str().unwrap_or_default();
    assert!(error.starts_with("HTTP 500: xxx"), "{error}");
    assert!(
        error.chars().count() <= "HTTP 500: ".len() + 200,
        "at most 200 characters of the answer: {error}"
    );
    sub.release();
    app.until_cursor("chatty", 3).await;
    assert_eq!(sub.acked(), seqs);
    assert_eq!(sub.seqs()[..2], [1, 1]);
}

#[tokio::test]
async fn a_hung_subscriber_delays_neither_publishing_nor_another_subscription() {
    let app = spawn_app().await;
    let (hung, fine) = (FakeSubscriber::start().await, FakeSubscriber::start().await);
    hung.answer_default(Answer::Hang);
    app.create_sub("hung", spec(&hung.url, json!({"timeout_ms": 60_000})))
        .await;
    app.create_sub("fine", spec(&fine.url, json!({}))).await;
    publish_n(&app, "A", 5).await;
    hung.until("the first delivery", |r| !r.is_empty()).await;
    app.until_cursor("fine", 5).await;

    // Publishing goes on (`publish_ok` asserts 201), and so does the other subscription.
    for i in 0..20 {
        app.publish_ok(json!({"type": "B", "data": i})).await;
    }
    publish_n(&app, "C", 100).await;
    app.until_cursor("fine", 125).await;
    assert_eq!(fine.acked(), (1..=125).collect::<Vec<_>>());

    let status = app.sub("hung").await;
    assert_eq!(status["cursor"], 0, "{status}");
    assert_eq!(status["lag"], 125);
    assert_eq!(hung.seqs(), [1], "one request, still waiting");
}

#[tokio::test]
async fn a_subscriber_that_was_down_gets_everything_it_missed_when_it_comes_back() {
    let app = spawn_app().await;
    let mut sub = FakeSubscriber::down();
    app.create_sub("late", spec(&sub.url, json!({}))).await;
    publish_n(&app, "A", 5).await;
    let status = app
        .until_sub("late", "retrying on connection refused", |s| {
            s["state"] == "retrying" && s["attempts"].as_u64() > Some(1)
        })
        .await;
    assert!(
        status["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("connect")),
        "{status}"
    );
    publish_n(&app, "A", 3).await;

    sub.come_up();
    let status = app.until_cursor("late", 8).await;
    assert_eq!(status["state"], "active");
    assert_eq!(sub.seqs(), (1..=8).collect::<Vec<_>>());
    publish_n(&app, "A", 2).await;
    app.until_cursor("late", 10).await;
    assert_eq!(sub.acked(), (1..=10).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_timeout_is_a_failure_and_the_event_is_sent_again() {
    let app = spawn_app().await;
    let sub = FakeSubscriber::start().await;
    sub.answer_next([Answer::Hang]);
    app.create_sub("slow", spec(&sub.url, json!({"timeout_ms": 200})))
        .await;
    publish_n(&app, "A", 2).await;
    app.until_cursor("slow", 2).await;
    assert_eq!(sub.seqs(), [1, 1, 2]);
    assert_eq!(sub.acked(), [1, 2]);
}

#[tokio::test]
async fn redirects_are_never_followed_a_302_is_retried() {
    let app = spawn_app().await;
    let sub = FakeSubscriber::start().await;
    let elsewhere = format!("http://{}/elsewhere", sub.addr);
    sub.answer_next([Answer::WithHeaders(302, vec![("location", elsewhere)])]);
    app.create_sub("redirected", spec(&sub.url, json!({})))
        .await;
    publish_n(&app, "A", 1).await;
    app.until_cursor("redirected", 1).await;
    let received = sub.received();
    let paths: Vec<_> = received.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(paths, ["/events", "/events"], "never to /elsewhere");
    assert_eq!(received[0].answer, Some(302));
    assert_eq!(received[1].answer, Some(200));
}

#[tokio::test]
async fn retry_after_on_429_and_503_is_capped_at_max_ms() {
    let app = spawn_app().await;
    let sub = FakeSubscriber::start().await;
    // An hour, and a date far away: honoured but capped at `max_ms` (50 ms here), so the
    // delivery goes through within the patience bound.
    sub.answer_next([
        Answer::WithHeaders(503, vec![("retry-after", "3600".into())]),
        Answer::WithHeaders(
            429,
            vec![("retry-after", "Fri, 31 Dec 2099 23:59:59 GMT".into())],
        ),
    ]);
    app.create_sub("throttled", spec(&sub.url, json!({}))).await;
    publish_n(&app, "A", 1).await;
    app.until_cursor("throttled", 1).await;
    assert_eq!(sub.seqs(), [1, 1, 1]);
}

#[tokio::test]
async fn retry_after_replaces_the_backoff() {
    let app = spawn_app().await;
    let sub = FakeSubscriber::start().await;
    // The backoff would wait about a millisecond; `Retry-After: 1` waits a second.
    sub.answer_next([Answer::WithHeaders(503, vec![("retry-after", "1".into())])]);
    let retry = json!({"initial_ms": 1, "max_ms": 3_000});
    app.create_sub("throttled", spec(&sub.url, json!({"retry": retry})))
        .await;
    publish_n(&app, "A", 1).await;
    let first = sub.next_request().await;
    let answered = std::time::Instant::now();
    assert_eq!(first.answer, Some(503));
    let second = sub.next_request().await;
    let waited = answered.elapsed();
    assert_eq!(second.seqs, [1]);
    assert!(
        waited >= std::time::Duration::from_millis(900),
        "the retry came {waited:?} after a Retry-After of 1 s"
    );
    app.until_cursor("throttled", 1).await;
}

/// A body's seqs, per request.
fn bodies(received: &[Received]) -> Vec<Vec<u64>> {
    received.iter().map(|r| r.seqs.clone()).collect()
}

#[tokio::test]
async fn batches_are_arrays_in_order_cut_at_batch_and_batch_max_bytes() {
    let app = spawn_app().await;
    let padding = "x".repeat(300);
    let events: Vec<Value> = (0..10)
        .map(|i| json!({"type": "A", "data": {"i": i, "pad": padding}}))
        .collect();
    app.publish_ok(json!(events)).await;
    let one_size = app.get_text("/events/1").await.len() as u64;

    let (by_count, by_bytes, tiny) = (
        FakeSubscriber::start().await,
        FakeSubscriber::start().await,
        FakeSubscriber::start().await,
    );
    app.create_sub("by-count", spec(&by_count.url, json!({"batch": 4})))
        .await;
    let max_bytes = one_size * 5 / 2 + 10;
    app.create_sub(
        "by-bytes",
        spec(
            &by_bytes.url,
            json!({"batch": 10, "batch_max_bytes": max_bytes}),
        ),
    )
    .await;
    app.create_sub(
        "tiny",
        spec(&tiny.url, json!({"batch": 10, "batch_max_bytes": 10})),
    )
    .await;
    for name in ["by-count", "by-bytes", "tiny"] {
        app.until_cursor(name, 10).await;
    }

    // All ten were there at once: bodies of 4, 4, 2.
    assert_eq!(
        bodies(&by_count.received()),
        [vec![1, 2, 3, 4], vec![5, 6, 7, 8], vec![9, 10]]
    );
    // Cut before `batch_max_bytes`: two events per body.
    let received = by_bytes.received();
    assert_eq!(
        bodies(&received),
        [vec![1, 2], vec![3, 4], vec![5, 6], vec![7, 8], vec![9, 10]]
    );
    for r in &received {
        assert!(r.body.len() as u64 <= max_bytes, "{} bytes", r.body.len());
    }
    // Always at least one event, even over the limit.
    assert_eq!(
        bodies(&tiny.received()),
        (1..=10).map(|s| vec![s]).collect::<Vec<_>>()
    );

    for sub in [&by_count, &by_bytes, &tiny] {
        for r in sub.received() {
            let body = r.json();
            let items = body.as_array().expect("a batch body is an array");
            let seqs: Vec<u64> = items
                .iter()
                .map(|e| e["seq"].as_u64().expect("seq"))
                .collect();
            assert_eq!(seqs, r.seqs);
            assert_eq!(r.number("minibus-first-seq"), seqs[0]);
            assert_eq!(r.number("minibus-seq"), *seqs.last().expect("one"));
            // Each item is the stored envelope, byte for byte.
            let first = app.get_text(&format!("/events/{}", seqs[0])).await;
            assert!(r.body.starts_with(format!("[{first}").as_bytes()));
        }
    }

    // With `batch` > 1, one available event still comes as an array of one.
    publish_n(&app, "A", 1).await;
    app.until_cursor("by-count", 11).await;
    let last = by_count.received().pop().expect("a request");
    assert_eq!(last.seqs, [11]);
    assert!(last.json().is_array(), "{:?}", last.body);
}

#[tokio::test]
async fn after_a_failed_batch_events_are_sent_one_per_request_until_past_the_failing_one() {
    let app = spawn_app().await;
    publish_n(&app, "A", 10).await;
    let sub = FakeSubscriber::start().await;
    // Seq 3 fails twice: in the batch, then alone.
    sub.answer_once_for_seq(3, Answer::Status(500));
    sub.answer_once_for_seq(3, Answer::Status(500));
    app.create_sub("batched", spec(&sub.url, json!({"batch": 5})))
        .await;
    app.until_cursor("batched", 10).await;

    let received = sub.received();
    let all = bodies(&received);
    assert_eq!(
        all[..5],
        [vec![1, 2, 3, 4, 5], vec![1], vec![2], vec![3], vec![3]]
    );
    assert_eq!(received[0].answer, Some(500));
    assert_eq!(received[3].answer, Some(500));
    assert!(received[4].acked());
    // Then everything after 3, in order, each once, in bodies of at most 5.
    let rest: Vec<u64> = all[5..].iter().flatten().copied().collect();
    assert_eq!(rest, (4..=10).collect::<Vec<_>>());
    assert!(all.iter().all(|b| b.len() <= 5));
    assert_eq!(sub.acked(), (1..=10).collect::<Vec<_>>());
    assert_eq!(app.sub("batched").await["delivered"], 10);
}

#[tokio::test]
async fn a_410_pauses_and_resume_resumes() {
    let app = spawn_app().await;
    let sub = FakeSubscriber::start().await;
    sub.answer_next([Answer::Status(410)]);
    app.create_sub("gone", spec(&sub.url, json!({}))).await;
    publish_n(&app, "A", 3).await;
    let status = app
        .until_sub("gone", "paused", |s| s["state"] == "paused")
        .await;
    assert_eq!(status["cursor"], 0);
    assert!(status["paused_reason"].is_string(), "{status}");
    assert_eq!(sub.seqs(), [1]);

    let (code, status) = app.sub_action("gone", "resume", None).await;
    assert_eq!(code, StatusCode::OK, "{status}");
    assert_eq!(status["state"], "active");
    app.until_cursor("gone", 3).await;
    assert_eq!(sub.acked(), [1, 2, 3]);
}

#[tokio::test]
async fn pause_lets_the_delivery_in_flight_finish_and_stops_further_ones() {
    let app = spawn_app().await;
    let (sub, witness) = (FakeSubscriber::start().await, FakeSubscriber::start().await);
    sub.answer_next([Answer::Hold(200)]);
    app.create_sub("paused", spec(&sub.url, json!({}))).await;
    app.create_sub("witness", spec(&witness.url, json!({})))
        .await;
    publish_n(&app, "A", 3).await;
    sub.until("the first delivery", |r| r.len() == 1).await;

    let (code, status) = app.sub_action("paused", "pause", None).await;
    assert_eq!(code, StatusCode::OK, "{status}");
    assert_eq!(status["state"], "paused");
    sub.release();
    // The delivery in flight counts.
    let status = app.until_cursor("paused", 1).await;
    assert_eq!(status["state"], "paused");
    assert_eq!(status["delivered"], 1);
    // Nothing more: the witness gets the next events, the paused one does not.
    publish_n(&app, "A", 2).await;
    app.until_cursor("witness", 5).await;
    assert_eq!(sub.seqs(), [1]);
    assert_eq!(app.sub("paused").await["cursor"], 1);

    // Rewind and reset while paused move the cursor and stay paused.
    let (code, reply) = app
        .sub_action("paused", "rewind", Some(json!({"after": 0})))
        .await;
    assert_eq!(code, StatusCode::OK, "{reply}");
    assert_eq!(reply["generation"], 2);
    let status = app.sub("paused").await;
    assert_eq!(
        (status["cursor"].clone(), status["state"].clone()),
        (json!(0), json!("paused"))
    );
    let (code, status) = app
        .put_sub(
            "paused",
            spec(&sub.url, json!({"reset": true, "start": "end"})),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{status}");
    assert_eq!(status["cursor"], 5);
    assert_eq!(status["generation"], 3);
    assert_eq!(status["state"], "paused");
    let (code, reply) = app
        .sub_action("paused", "rewind", Some(json!({"after": 3})))
        .await;
    assert_eq!(code, StatusCode::OK, "{reply}");
    assert_eq!(reply["generation"], 4);
    assert_eq!(app.sub("paused").await["state"], "paused");
    assert_eq!(sub.seqs(), [1]);

    let (code, _) = app.sub_action("paused", "resume", None).await;
    assert_eq!(code, StatusCode::OK);
    app.until_cursor("paused", 5).await;
    let received = sub.received();
    assert_eq!(acked_in(&received, 4), [4, 5]);
    assert_eq!(sub.seqs(), [1, 4, 5]);
}

#[tokio::test]
async fn reset_and_rewind_redeliver_in_a_new_generation() {
    let app = spawn_app().await;
    let sub = FakeSubscriber::start().await;
    app.create_sub("r", spec(&sub.url, json!({"types": ["A"]})))
        .await;
    publish_types(&app, &["A", "C", "A", "A", "C"]).await;
    app.until_cursor("r", 5).await;
    assert_eq!(acked_in(&sub.received(), 1), [1, 3, 4]);

    // `reset` from the beginning: the whole history again.
    let (code, status) = app
        .put_sub(
            "r",
            spec(
                &sub.url,
                json!({"types": ["A"], "reset": true, "start": "beginning"}),
            ),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{status}");
    assert_eq!(status["generation"], 2);
    sub.until("the history again", |r| acked_in(r, 2).len() == 3)
        .await;
    app.until_cursor("r", 5).await;
    assert_eq!(acked_in(&sub.received(), 2), [1, 3, 4]);

    // Rewind after 3: from 4.
    let (code, reply) = app
        .sub_action("r", "rewind", Some(json!({"after": 3})))
        .await;
    assert_eq!(code, StatusCode::OK, "{reply}");
    assert_eq!(
        reply,
        json!({"after": 3, "redeliver": 1, "dry_run": false, "generation": 3})
    );
    sub.until("4 again", |r| acked_in(r, 3).len() == 1).await;
    app.until_cursor("r", 5).await;
    assert_eq!(acked_in(&sub.received(), 3), [4]);

    // A dry run counts the matching events and moves nothing.
    let (code, reply) = app
        .sub_action("r", "rewind", Some(json!({"after": 1, "dry_run": true})))
        .await;
    assert_eq!(code, StatusCode::OK, "{reply}");
    assert_eq!(
        reply,
        json!({"after": 1, "redeliver": 2, "dry_run": true, "generation": 3})
    );
    let status = app.sub("r").await;
    assert_eq!(
        (status["cursor"].clone(), status["generation"].clone()),
        (json!(5), json!(3))
    );

    // Rewind by time: the first event with time ≥ T. Let the clock pass event 5's time,
    // so that the next events have a later one.
    let time_of = |event: &Value| {
        chrono::DateTime::parse_from_rfc3339(event["time"].as_str().expect("a time"))
            .expect("RFC 3339")
            .timestamp_millis()
    };
    let (_, fifth) = app.get_json("/events/5").await;
    eventually("the clock to pass event 5's time", || async {
        (chrono::Utc::now().timestamp_millis() > time_of(&fifth)).then_some(())
    })
    .await;
    publish_types(&app, &["A", "C", "A"]).await;
    app.until_cursor("r", 8).await;
    let (_, sixth) = app.get_json("/events/6").await;
    assert!(time_of(&sixth) > time_of(&fifth));
    let (code, reply) = app
        .sub_action("r", "rewind", Some(json!({"time": sixth["time"]})))
        .await;
    assert_eq!(code, StatusCode::OK, "{reply}");
    assert_eq!(
        reply,
        json!({"after": 5, "redeliver": 2, "dry_run": false, "generation": 4})
    );
    sub.until("6 and 8 again", |r| acked_in(r, 4).len() == 2)
        .await;
    assert_eq!(acked_in(&sub.received(), 4), [6, 8]);
    assert_eq!(
        acked_in(&sub.received(), 3),
        [4, 6, 8],
        "the dry run redelivered nothing"
    );

    // Before everything, after everything (dry runs).
    for (time, after, redeliver) in [
        ("2000-01-01T00:00:00Z", 0, 5),
        ("2999-01-01T00:00:00.000Z", 8, 0),
    ] {
        let (code, reply) = app
            .sub_action("r", "rewind", Some(json!({"time": time, "dry_run": true})))
            .await;
        assert_eq!(code, StatusCode::OK, "{reply}");
        assert_eq!(reply["after"], after, "{time}");
        assert_eq!(reply["redeliver"], redeliver, "{time}");
    }
    // Every request carries its generation; generations never go back.
    let generations: Vec<u64> = sub.received().iter().map(Received::generation).collect();
    assert!(
        generations.windows(2).all(|w| w[0] <= w[1]),
        "{generations:?}"
    );
}

#[tokio::test]
async fn a_rewind_while_a_delivery_is_in_flight_is_not_undone_by_its_answer() {
    let app = spawn_app().await;
    let sub = FakeSubscriber::start().await;
    app.create_sub("r", spec(&sub.url, json!({}))).await;
    publish_n(&app, "A", 3).await;
    app.until_cursor("r", 3).await;

    sub.answer_once_for_seq(4, Answer::Hold(200));
    publish_n(&app, "A", 2).await;
    let held = sub
        .until("seq 4 in flight", |r| r.iter().any(|r| r.seqs == [4]))
        .await;
    assert_eq!(held.last().expect("a request").generation(), 1);
    let (code, reply) = app
        .sub_action("r", "rewind", Some(json!({"after": 1})))
        .await;
    assert_eq!(code, StatusCode::OK, "{reply}");
    assert_eq!(reply["generation"], 2);
    // The answer to the delivery from generation 1 arrives now: thrown away.
    sub.release();

    sub.until("2 to 5 in generation 2", |r| acked_in(r, 2).len() == 4)
        .await;
    let status = app.until_cursor("r", 5).await;
    assert_eq!(status["generation"], 2);
    assert_eq!(acked_in(&sub.received(), 2), [2, 3, 4, 5]);
    assert_eq!(acked_in(&sub.received(), 1), [1, 2, 3, 4]);
}

#[tokio::test]
async fn a_subscription_added_after_10_000_events_starts_where_it_is_told() {
    let app = spawn_app().await;
    for _ in 0..10 {
        publish_n(&app, "Bulk", 1_000).await;
    }
    assert_eq!(app.head().await, 10_000);
    let (beginning, end, after) = (
        FakeSubscriber::start().await,
        FakeSubscriber::start().await,
        FakeSubscriber::start().await,
    );
    // Their first deliveries wait, so that no delivery moves a cursor before the PUT's
    // answer (the loop starts before the status is read).
    beginning.answer_next([Answer::Hold(200)]);
    after.answer_next([Answer::Hold(200)]);
    let status = app
        .create_sub(
            "beginning",
            spec(&beginning.url, json!({"batch": 100, "start": "beginning"})),
        )
        .await;
    assert_eq!(status["lag"], 10_000);
    let status = app
        .create_sub("end", spec(&end.url, json!({"start": "end"})))
        .await;
    assert_eq!(status["cursor"], 10_000);
    let status = app
        .create_sub(
            "after",
            spec(&after.url, json!({"batch": 100, "start": {"after": 9_990}})),
        )
        .await;
    assert_eq!(status["cursor"], 9_990);
    let (code, body) = app
        .put_sub(
            "too-far",
            spec(&after.url, json!({"start": {"after": 10_001}})),
        )
        .await;
    crate::helpers::assert_error(
        code,
        &body,
        StatusCode::CONFLICT,
        "cursor_beyond_head",
        "after beyond head",
    );
    let (code, _) = app.get_json("/subscriptions/too-far").await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    beginning.release();
    after.release();

    app.until_cursor("beginning", 10_000).await;
    assert_eq!(beginning.seqs(), (1..=10_000).collect::<Vec<_>>());
    assert!(beginning.received().iter().all(|r| r.seqs.len() <= 100));

    publish_n(&app, "Live", 5).await;
    for name in ["beginning", "end", "after"] {
        app.until_cursor(name, 10_005).await;
    }
    assert_eq!(beginning.acked(), (1..=10_005).collect::<Vec<_>>());
    assert_eq!(end.acked(), (10_001..=10_005).collect::<Vec<_>>());
    assert_eq!(after.acked(), (9_991..=10_005).collect::<Vec<_>>());
}
