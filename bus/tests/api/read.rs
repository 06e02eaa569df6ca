//! Reads: the whole log, pages, filters, one event, streams, /info, /metrics, the head header.

use crate::helpers::{assert_error, seqs, spawn_app, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// Publishes `n` events cycling through types A, B, C and streams s0, s1 (every other one).
async fn fill(app: &TestApp, n: usize) -> Vec<Value> {
    let events: Vec<Value> = (0..n)
        .map(|i| {
            let ty = ["A", "B", "C"][i % 3];
            let mut e = json!({"id": format!("e{i}"), "type": ty, "data": i});
            if i % 2 == 0 {
                e["stream"] = json!(format!("s{}", i % 4 / 2));
            }
            e
        })
        .collect();
    for chunk in events.chunks(7) {
        app.publish_ok(json!(chunk)).await;
    }
    events
}

#[tokio::test]
async fn an_empty_log_reads_as_empty() {
    let app = spawn_app().await;
    assert!(app.events().await.is_empty());
    assert_eq!(app.get_text("/events").await, "[]");
    assert!(app.get_array("/events?after=0").await.is_empty());
    let info = app.info().await;
    assert_eq!(info["head_seq"], 0);
    assert_eq!(info["events"], 0);
}

#[tokio::test]
async fn get_events_returns_every_event_in_seq_order() {
    let app = spawn_app().await;
    let sent = fill(&app, 40).await;
    let events = app.events().await;
    assert_eq!(seqs(&events), (1..=40).collect::<Vec<_>>());
    let mut last_time = String::new();
    for (event, sent) in events.iter().zip(&sent) {
        assert_eq!(event["id"], sent["id"]);
        assert_eq!(event["type"], sent["type"]);
        assert_eq!(event["data"], sent["data"]);
        let time = event["time"].as_str().expect("a time").to_string();
        assert!(time >= last_time, "time never decreases along seq");
        last_time = time;
    }
}

#[tokio::test]
async fn paging_with_after_and_limit() {
    let app = spawn_app().await;
    fill(&app, 25).await;
    let page = |q: &'static str| {
        let app = &app;
        async move { seqs(&app.get_array(&format!("/events?{q}")).await) }
    };
    assert_eq!(page("after=0&limit=10").await, (1..=10).collect::<Vec<_>>());
    assert_eq!(
        page("after=10&limit=10").await,
        (11..=20).collect::<Vec<_>>()
    );
    assert_eq!(
        page("after=20&limit=10").await,
        (21..=25).collect::<Vec<_>>()
    );
    assert_eq!(page("after=25&limit=10").await, Vec::<u64>::new());
    assert_eq!(page("after=1000").await, Vec::<u64>::new());
    assert_eq!(page("limit=3").await, [1, 2, 3]);
    assert_eq!(page("after=24").await, [25]);

    // Following pages to the end yields the whole log once.
    let mut after = 0;
    let mut all = Vec::new();
    loop {
        let page = seqs(
            &app.get_array(&format!("/events?after={after}&limit=4"))
                .await,
        );
        let Some(&last) = page.last() else { break };
        after = last;
        all.extend(page);
    }
    assert_eq!(all, (1..=25).collect::<Vec<_>>());
}

#[tokio::test]
async fn the_default_page_is_1000_events() {
    let app = spawn_app().await;
    let array: Vec<Value> = (0..1000).map(|_| json!({"type": "A"})).collect();
    app.publish_ok(json!(array)).await;
    app.publish_ok(json!({"type": "A"})).await;
    assert_eq!(
        seqs(&app.get_array("/events?after=0").await),
        (1..=1000).collect::<Vec<_>>()
    );
    assert_eq!(seqs(&app.get_array("/events?after=1000").await), [1001]);
    assert_eq!(app.get_array("/events?limit=10000").await.len(), 1001);
}

#[tokio::test]
async fn type_and_stream_filters() {
    let app = spawn_app().await;
    let sent = fill(&app, 30).await;
    let expect = |keep: &dyn Fn(&Value) -> bool| -> Vec<u64> {
        (1..=30u64)
            .filter(|s| keep(&sent[*s as usize - 1]))
            .collect()
    };

    let a_or_b = seqs(&app.get_array("/events?type=A&type=B").await);
    assert_eq!(a_or_b, expect(&|e| e["type"] == "A" || e["type"] == "B"));
    let c = seqs(&app.get_array("/events?type=C").await);
    assert_eq!(c, expect(&|e| e["type"] == "C"));
    assert!(app.get_array("/events?type=Nope").await.is_empty());

    // The limit counts matching events; after is a seq.
    let page = seqs(&app.get_array("/events?type=A&after=4&limit=3").await);
    assert_eq!(
        page,
        expect(&|e| e["type"] == "A")
            .into_iter()
            .filter(|s| *s > 4)
            .take(3)
            .collect::<Vec<_>>()
    );

    let s0 = seqs(&app.get_array("/events?stream=s0").await);
    assert_eq!(s0, expect(&|e| e["stream"] == "s0"));
    let s1_a = seqs(&app.get_array("/events?stream=s1&type=A").await);
    assert_eq!(s1_a, expect(&|e| e["stream"] == "s1" && e["type"] == "A"));
    assert!(app.get_array("/events?stream=unknown").await.is_empty());
}

#[tokio::test]
async fn one_event_by_seq_and_404_outside_the_log() {
    let app = spawn_app().await;
    fill(&app, 5).await;
    let (status, event) = app.get_json("/events/3").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(event["seq"], 3);
    assert_eq!(event["id"], "e2");
    for seq in ["0", "6", "1000", "18446744073709551615"] {
        let (status, body) = app.get_json(&format!("/events/{seq}")).await;
        assert_error(status, &body, StatusCode::NOT_FOUND, "not_found", seq);
    }
}

#[tokio::test]
async fn a_stream_reads_in_version_order_and_an_unknown_one_is_404() {
    let app = spawn_app().await;
    for i in 0..5 {
        app.publish_ok(json!({"type": "A", "stream": "post-p1", "data": i}))
            .await;
        app.publish_ok(json!({"type": "B", "stream": "post-p2"}))
            .await;
        app.publish_ok(json!({"type": "C"})).await;
    }
    let events = app.get_array("/streams/post-p1").await;
    let versions: Vec<_> = events.iter().map(|e| e["version"].as_u64()).collect();
    assert_eq!(versions, (1..=5).map(Some).collect::<Vec<_>>());
    assert_eq!(seqs(&events), [1, 4, 7, 10, 13]);
    assert!(events.iter().enumerate().all(|(i, e)| e["data"] == i));
    let (status, body) = app.get_json("/streams/post-p3").await;
    assert_error(
        status,
        &body,
        StatusCode::NOT_FOUND,
        "not_found",
        "unknown stream",
    );
}

#[tokio::test]
async fn info_has_the_head_the_count_a_log_id_and_the_version() {
    let app = spawn_app().await;
    fill(&app, 9).await;
    let info = app.info().await;
    assert_eq!(info["head_seq"], 9);
    assert_eq!(info["events"], 9);
    let log_id = info["log_id"].as_str().expect("a log_id");
    uuid::Uuid::parse_str(log_id).expect("log_id is a UUID");
    assert!(info["version"].as_str().is_some_and(|v| !v.is_empty()));
    // Another store has another log_id.
    let other = spawn_app().await;
    assert_ne!(other.info().await["log_id"], log_id);
}

/// The value of an unlabelled sample in Prometheus text.
fn sample(metrics: &str, name: &str) -> Option<f64> {
    metrics.lines().find_map(|line| {
        let (key, value) = line.split_once(' ')?;
        (key == name).then(|| value.trim().parse().ok())?
    })
}

#[tokio::test]
async fn metrics_count_appended_events_and_the_head() {
    let app = spawn_app().await;
    fill(&app, 12).await;
    let text = app.get_text("/metrics").await;
    assert_eq!(
        sample(&text, "minibus_events_appended_total"),
        Some(12.0),
        "{text}"
    );
    assert_eq!(sample(&text, "minibus_head_seq"), Some(12.0), "{text}");
    assert!(text.contains("minibus_publish_duration_seconds"), "{text}");
}

#[tokio::test]
async fn reads_carry_the_durable_head_in_minibus_head_seq() {
    let app = spawn_app().await;
    fill(&app, 6).await;
    for path in [
        "/events",
        "/events?after=2",
        "/events?type=A",
        "/events/1",
        "/streams/s0",
    ] {
        let answer = app.request(Method::GET, path).send().await.expect("a read");
        assert_eq!(answer.status(), StatusCode::OK, "{path}");
        let head = answer
            .headers()
            .get("minibus-head-seq")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        assert_eq!(head.as_deref(), Some("6"), "{path}");
        let content_type = answer.headers().get("content-type").cloned();
        assert_eq!(
            content_type.as_ref().and_then(|v| v.to_str().ok()),
            Some("application/json"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn health_and_readiness_answer() {
    let app = spawn_app().await;
    let (status, _) = app.get_json("/healthz").await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = app.get_json("/readyz").await;
    assert_eq!(status, StatusCode::OK, "{body}");
}
