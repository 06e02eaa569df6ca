//! Subscriptions: filters, headers, delete, counts and metrics, restart, static ones.

use crate::helpers::{publish_n, publish_types, spawn_app, spawn_app_with, spec};
use bus::testkit::{Answer, FakeSubscriber};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn three_subscribers_get_exactly_their_types_in_seq_order_and_reach_the_head() {
    let app = spawn_app().await;
    let (a, bc, all) = (
        FakeSubscriber::start().await,
        FakeSubscriber::start().await,
        FakeSubscriber::start().await,
    );
    app.create_sub("only-a", spec(&a.url, json!({"types": ["A"]})))
        .await;
    app.create_sub("b-and-c", spec(&bc.url, json!({"types": ["B", "C"]})))
        .await;
    let created = app.create_sub("all", spec(&all.url, json!({}))).await;
    assert_eq!(created["types"], json!([]));
    assert_eq!(created["generation"], 1);

    // Arrays and single events, interleaved; the log ends with a type only `all` wants,
    // so the others' cursors must move past events they do not get.
    let mut published = Vec::new();
    for _ in 0..4 {
        let types = ["A", "B", "C", "D", "A", "C"];
        let seqs = publish_types(&app, &types).await;
        published.extend(seqs.into_iter().zip(types));
        let seq = app.publish_ok(json!({"type": "B"})).await["seq"]
            .as_u64()
            .expect("a seq");
        published.push((seq, "B"));
    }
    let seq = app.publish_ok(json!({"type": "D"})).await["seq"]
        .as_u64()
        .expect("a seq");
    published.push((seq, "D"));
    let head = app.head().await;

    for (sub, name, wanted) in [
        (&a, "only-a", vec!["A"]),
        (&bc, "b-and-c", vec!["B", "C"]),
        (&all, "all", vec![]),
    ] {
        let expected: Vec<u64> = published
            .iter()
            .filter(|(_, ty)| wanted.is_empty() || wanted.contains(ty))
            .map(|(seq, _)| *seq)
            .collect();
        let status = app.until_cursor(name, head).await;
        assert_eq!(status["lag"], 0, "{name}: {status}");
        assert_eq!(status["lag_seconds"], 0.0, "{name}: {status}");
        assert_eq!(status["head_seq"], head, "{name}");
        assert_eq!(status["state"], "active", "{name}");
        assert_eq!(status["delivered"], expected.len(), "{name}");
        // Everything was acknowledged at once: each seq exactly once, in order.
        assert_eq!(sub.seqs(), expected, "{name}");
        for request in sub.received() {
            let ty = request.json()["type"].as_str().expect("a type").to_string();
            assert!(
                wanted.is_empty() || wanted.contains(&ty.as_str()),
                "{name} got a {ty}"
            );
            assert_eq!(request.method, "POST");
            assert_eq!(request.path, "/events");
        }
    }
}

#[tokio::test]
async fn every_delivery_carries_the_minibus_headers() {
    let app = spawn_app().await;
    let log_id = app.info().await["log_id"]
        .as_str()
        .expect("a log_id")
        .to_string();
    let (single, batched) = (FakeSubscriber::start().await, FakeSubscriber::start().await);
    app.create_sub("single", spec(&single.url, json!({}))).await;
    app.create_sub("batched", spec(&batched.url, json!({"batch": 3})))
        .await;
    publish_n(&app, "A", 7).await;
    app.until_cursor("single", 7).await;
    app.until_cursor("batched", 7).await;

    for (sub, name) in [(&single, "single"), (&batched, "batched")] {
        let received = sub.received();
        assert!(!received.is_empty());
        for r in &received {
            assert_eq!(r.header("content-type"), Some("application/json"), "{name}");
            assert_eq!(r.number("minibus-first-seq"), r.seqs[0], "{name}");
            assert_eq!(
                r.number("minibus-seq"),
                *r.seqs.last().expect("a seq"),
                "{name}"
            );
            assert_eq!(r.header("minibus-subscription"), Some(name));
            assert_eq!(r.generation(), 1, "{name}");
            assert_eq!(r.header("minibus-log-id"), Some(log_id.as_str()), "{name}");
            assert_eq!(r.header("minibus-redelivery"), None, "{name}");
            assert_eq!(r.header("webhook-signature"), None, "{name}: no secret");
        }
    }
    assert_eq!(single.seqs(), (1..=7).collect::<Vec<_>>());
    assert_eq!(batched.seqs(), (1..=7).collect::<Vec<_>>());
}

#[tokio::test]
async fn delete_stops_delivery_and_info_and_metrics_count_subscriptions() {
    let app = spawn_app().await;
    let (gone, stays) = (FakeSubscriber::start().await, FakeSubscriber::start().await);
    assert_eq!(app.info().await["subscriptions"], 0);
    app.create_sub("gone", spec(&gone.url, json!({}))).await;
    app.create_sub("stays", spec(&stays.url, json!({}))).await;
    assert_eq!(app.info().await["subscriptions"], 2);
    let list = app.get_array("/subscriptions").await;
    let names: Vec<_> = list.iter().map(|s| s["name"].clone()).collect();
    assert_eq!(names, [json!("gone"), json!("stays")]);

    publish_n(&app, "A", 3).await;
    app.until_cursor("gone", 3).await;
    app.until_cursor("stays", 3).await;
    let metrics = app.get_text("/metrics").await;
    for line in [
        r#"minibus_subscription_delivered_total{subscription="gone"} 3"#,
        r#"minibus_subscription_delivered_total{subscription="stays"} 3"#,
        r#"minibus_subscription_lag{subscription="gone"} 0"#,
        r#"minibus_subscription_lag{subscription="stays"} 0"#,
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "no {line} in\n{metrics}"
        );
    }

    let (status, body) = app.call(Method::DELETE, "/subscriptions/gone", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) = app.get_json("/subscriptions/gone").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["error"], "not_found");
    let (status, _) = app.call(Method::DELETE, "/subscriptions/gone", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(app.info().await["subscriptions"], 1);
    assert_eq!(app.get_array("/subscriptions").await.len(), 1);

    // Publish after the delete, and wait until the other subscriber has it: the deleted
    // one's loop, had it still run, would have sent it too.
    let before = gone.received().len();
    publish_n(&app, "A", 2).await;
    app.until_cursor("stays", 5).await;
    assert_eq!(stays.acked(), (1..=5).collect::<Vec<_>>());
    assert_eq!(
        gone.received().len(),
        before,
        "a deleted subscription delivered"
    );
    let metrics = app.get_text("/metrics").await;
    assert!(
        !metrics.contains(r#"subscription="gone""#),
        "a deleted subscription keeps its metrics:\n{metrics}"
    );

    // The name can be used again: a new subscription, from the beginning, in a generation
    // above the deleted one's (so that no late verdict of the old one can match it).
    app.create_sub("gone", spec(&gone.url, json!({}))).await;
    app.until_cursor("gone", 5).await;
    assert_eq!(app.sub("gone").await["generation"], 2);
}

#[tokio::test]
async fn put_replaces_the_settings_without_moving_the_cursor() {
    let app = spawn_app().await;
    let (first, second) = (FakeSubscriber::start().await, FakeSubscriber::start().await);
    app.create_sub("s", spec(&first.url, json!({"types": ["A"]})))
        .await;
    publish_types(&app, &["A", "B", "A"]).await;
    app.until_cursor("s", 3).await;

    // New URL and types: no replay (no `reset`), the same generation, the next events
    // go to the new URL with the new filter.
    let (status, body) = app
        .put_sub(
            "s",
            spec(&second.url, json!({"types": ["B"], "start": "beginning"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["cursor"], 3);
    assert_eq!(body["generation"], 1);
    assert_eq!(body["delivered"], 2);
    assert_eq!(body["url"], second.url);
    assert_eq!(body["types"], json!(["B"]));
    publish_types(&app, &["A", "B"]).await;
    app.until_cursor("s", 5).await;
    assert_eq!(first.seqs(), [1, 3]);
    assert_eq!(second.seqs(), [5]);
}

#[tokio::test]
async fn subscriptions_survive_a_restart_and_static_ones_are_upserted_at_each_start() {
    let (st1, st2) = (FakeSubscriber::start().await, FakeSubscriber::start().await);
    let dynamic = FakeSubscriber::start().await;
    let first_url = st1.url.clone();
    let app = spawn_app_with(|c| c.subscribe = vec![format!("static={first_url}")]).await;
    // Created at start: all types, from the beginning.
    let status = app.sub("static").await;
    assert_eq!(status["url"], st1.url);
    assert_eq!(status["types"], json!([]));
    assert_eq!(app.info().await["subscriptions"], 1);

    app.create_sub("dyn", spec(&dynamic.url, json!({"types": ["A"]})))
        .await;
    publish_types(&app, &["A", "B", "A"]).await;
    app.until_cursor("dyn", 3).await;
    let (status, body) = app
        .sub_action("dyn", "rewind", Some(json!({"after": 1})))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["generation"], 2);
    app.until_sub("dyn", "redelivered after the rewind", |s| {
        s["cursor"] == 3 && s["delivered"] == 3
    })
    .await;

    // `dyn` now fails, so its cursor stays at 3 while more events come.
    dynamic.answer_default(Answer::Status(500));
    publish_types(&app, &["A", "A", "C"]).await;
    app.until_sub("dyn", "retrying", |s| s["state"] == "retrying")
        .await;
    app.until_cursor("static", 6).await;
    assert_eq!(st1.acked(), (1..=6).collect::<Vec<_>>());

    // Restart with the static subscription pointing elsewhere.
    let second_url = st2.url.clone();
    let app = app
        .restart_with(|c| c.subscribe = vec![format!("static={second_url}")])
        .await;
    let status = app.sub("dyn").await;
    assert_eq!(status["cursor"], 3, "{status}");
    assert_eq!(status["generation"], 2, "{status}");
    assert_eq!(status["delivered"], 3, "{status}");
    assert_eq!(status["types"], json!(["A"]));
    let status = app.sub("static").await;
    assert_eq!(status["url"], st2.url, "updated at start");
    assert_eq!(status["cursor"], 6, "the update keeps the cursor: {status}");
    assert_eq!(status["generation"], 1);
    assert_eq!(app.info().await["subscriptions"], 2);

    // Delivery resumes from the stored cursor.
    let before = dynamic.received().len();
    dynamic.answer_default(Answer::Status(200));
    app.until_cursor("dyn", 6).await;
    let after: Vec<_> = dynamic.received()[before..].to_vec();
    let acked: Vec<u64> = after
        .iter()
        .filter(|r| r.acked())
        .flat_map(|r| r.seqs.clone())
        .collect();
    assert_eq!(acked, [4, 5]);
    assert!(after.iter().all(|r| r.generation() == 2));

    publish_n(&app, "A", 1).await;
    app.until_cursor("static", 7).await;
    app.until_cursor("dyn", 7).await;
    assert_eq!(st2.seqs(), [7], "only what came after the update");
    assert_eq!(st1.seqs(), (1..=6).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_verdict_arriving_after_delete_does_not_bring_the_subscription_back() {
    let app = spawn_app().await;
    let sub = FakeSubscriber::start().await;
    sub.answer_next([Answer::Hold(410)]);
    app.create_sub("doomed", spec(&sub.url, json!({}))).await;
    publish_n(&app, "A", 1).await;
    sub.until("the delivery in flight", |r| r.len() == 1).await;
    let (status, _) = app
        .call(Method::DELETE, "/subscriptions/doomed", None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    // The old delivery's "410 Gone" arrives after the delete: thrown away.
    sub.release();
    let (status, _) = app.get_json("/subscriptions/doomed").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let app = app.restart().await;
    let (status, body) = app.get_json("/subscriptions/doomed").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(app.info().await["subscriptions"], 0);
}

#[tokio::test]
async fn a_delivery_in_flight_at_shutdown_is_abandoned_and_sent_again_after_restart() {
    let app = spawn_app().await;
    let sub = FakeSubscriber::start().await;
    sub.answer_once_for_seq(2, Answer::Hang);
    app.create_sub("s", spec(&sub.url, json!({"timeout_ms": 60_000})))
        .await;
    publish_n(&app, "A", 3).await;
    sub.until("seq 2 in flight", |r| r.iter().any(|r| r.seqs == [2]))
        .await;
    // `restart` fails the test if the stop waits for the hung delivery.
    let app = app.restart().await;
    app.until_cursor("s", 3).await;
    assert_eq!(sub.seqs(), [1, 2, 2, 3]);
    assert_eq!(sub.acked(), [1, 2, 3]);
}

#[tokio::test]
async fn concurrent_puts_creating_one_subscription_start_one_loop() {
    let app = spawn_app().await;
    let sub = FakeSubscriber::start().await;
    let body = spec(&sub.url, json!({}));
    let puts = (0..8).map(|_| app.put_sub("racy", body.clone()));
    let statuses: Vec<StatusCode> = futures_util::future::join_all(puts)
        .await
        .into_iter()
        .map(|(status, _)| status)
        .collect();
    let created = statuses
        .iter()
        .filter(|s| **s == StatusCode::CREATED)
        .count();
    assert_eq!(created, 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| s.is_success()), "{statuses:?}");
    publish_n(&app, "A", 20).await;
    app.until_cursor("racy", 20).await;
    assert_eq!(
        sub.seqs(),
        (1..=20).collect::<Vec<_>>(),
        "one loop: each seq once, in order"
    );
}

#[tokio::test]
async fn a_subscription_created_again_after_delete_starts_above_the_old_generation() {
    let app = spawn_app().await;
    let sub = FakeSubscriber::start().await;
    let first = app.create_sub("again", spec(&sub.url, json!({}))).await;
    assert_eq!(first["generation"], 1);
    let (code, _) = app
        .sub_action("again", "rewind", Some(json!({"after": 0})))
        .await;
    assert_eq!(code, StatusCode::OK);
    let (code, _) = app.call(Method::DELETE, "/subscriptions/again", None).await;
    assert_eq!(code, StatusCode::NO_CONTENT);
    let second = app.create_sub("again", spec(&sub.url, json!({}))).await;
    assert_eq!(second["generation"], 3, "{second}");
}

/// `url` with its host `127.0.0.1` written `localhost` (the same fake subscriber).
fn via_localhost(url: &str) -> String {
    url.replacen("127.0.0.1", "localhost", 1)
}

#[tokio::test]
async fn the_allowlist_refuses_other_hosts_on_put_and_delivers_to_its_own() {
    let app = spawn_app_with(|c| c.allow_subscriber_hosts = vec!["localhost".into()]).await;
    let sub = FakeSubscriber::start().await;
    let (status, body) = app.put_sub("other", spec(&sub.url, json!({}))).await;
    crate::helpers::assert_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        "invalid_subscription",
        "a host not in the allowlist",
    );
    let message = body["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("127.0.0.1") && message.contains("--allow-subscriber-hosts"),
        "{message}"
    );
    app.create_sub("allowed", spec(&via_localhost(&sub.url), json!({})))
        .await;
    publish_n(&app, "A", 2).await;
    app.until_cursor("allowed", 2).await;
    assert_eq!(sub.acked(), [1, 2]);
}

#[tokio::test]
async fn a_stored_subscription_to_a_host_the_allowlist_no_longer_allows_is_blocked() {
    let app = spawn_app().await;
    let (sub, clock) = (FakeSubscriber::start().await, FakeSubscriber::start().await);
    app.create_sub("refused", spec(&sub.url, json!({}))).await;
    app.create_sub("clock", spec(&via_localhost(&clock.url), json!({})))
        .await;
    publish_n(&app, "A", 1).await;
    app.until_cursor("refused", 1).await;

    let app = app
        .restart_with(|c| c.allow_subscriber_hosts = vec!["localhost".into()])
        .await;
    // Blocked from the start, before any event is due.
    let status = app.sub("refused").await;
    assert_eq!(status["state"], "blocked", "{status}");
    let error = status["last_error"].as_str().unwrap_or_default();
    assert!(
        error.contains("127.0.0.1") && error.contains("--allow-subscriber-hosts"),
        "{error}"
    );
    publish_n(&app, "A", 1).await;
    // By the time the allowed subscription has the new event, the refused loop has had
    // every chance to send it.
    app.until_cursor("clock", 2).await;
    let status = app.sub("refused").await;
    assert_eq!(status["state"], "blocked", "{status}");
    assert_eq!(status["cursor"], 1, "{status}");
    assert_eq!(sub.seqs(), [1], "nothing delivered to a refused host");
    // A resume does not get round the allowlist.
    let (code, body) = app.sub_action("refused", "resume", None).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    publish_n(&app, "A", 1).await;
    app.until_cursor("clock", 3).await;
    assert_eq!(app.sub("refused").await["state"], "blocked");
    assert_eq!(sub.seqs(), [1], "nothing delivered after a resume");

    // Back to no allowlist: it delivers what it held back.
    let app = app.restart_with(|c| c.allow_subscriber_hosts.clear()).await;
    let status = app.until_cursor("refused", 3).await;
    assert_eq!(status["state"], "active", "{status}");
    assert_eq!(sub.acked(), [1, 2, 3]);
}
