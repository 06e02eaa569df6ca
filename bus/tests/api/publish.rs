//! Publishing: one event, arrays, concurrency, `data` byte for byte, CloudEvents.

use crate::helpers::{seqs, spawn_app};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::sync::Arc;

#[tokio::test]
async fn a_plain_course_event_is_stored_as_an_envelope() {
    let app = spawn_app().await;
    let (status, reply) = app
        .publish(json!({"type": "PostCreated", "data": {"id": "p1", "title": "hi"}}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{reply}");
    assert_eq!(reply["seq"], 1);
    assert!(reply.get("version").is_none(), "no stream, no version");
    // No id was given: the bus assigned a UUID.
    let id = reply["id"].as_str().expect("an id");
    uuid::Uuid::parse_str(id).expect("the assigned id is a UUID");

    let events = app.events().await;
    assert_eq!(events.len(), 1);
    let event = &events[0];
    assert_eq!(event["seq"], 1);
    assert_eq!(event["id"], id);
    assert_eq!(event["type"], "PostCreated");
    assert_eq!(event["data"], json!({"id": "p1", "title": "hi"}));
    let time = event["time"].as_str().expect("a time");
    assert!(
        time.ends_with('Z') && time.len() == "2026-11-23T17:00:00.123Z".len(),
        "RFC 3339 UTC: {time}"
    );
    for absent in ["stream", "version", "source", "correlation_id"] {
        assert!(event.get(absent).is_none(), "{absent} in {event}");
    }
}

#[tokio::test]
async fn every_field_of_an_event_is_kept() {
    let app = spawn_app().await;
    let reply = app
        .publish_ok(json!({
            "id": "c1-created",
            "type": "CommentCreated",
            "stream": "comment-c1",
            "source": "comments",
            "correlation_id": "corr-1",
            "causation_id": "cause-1",
            "data": {"id": "c1"},
        }))
        .await;
    assert_eq!(reply, json!({"seq": 1, "id": "c1-created", "version": 1}));
    let (status, event) = app.get_json("/events/1").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(event["id"], "c1-created");
    assert_eq!(event["type"], "CommentCreated");
    assert_eq!(event["stream"], "comment-c1");
    assert_eq!(event["version"], 1);
    assert_eq!(event["source"], "comments");
    assert_eq!(event["correlation_id"], "corr-1");
    assert_eq!(event["causation_id"], "cause-1");
    assert_eq!(event["data"], json!({"id": "c1"}));
    assert!(event.get("expected_version").is_none());
}

#[tokio::test]
async fn a_field_the_bus_does_not_know_is_refused_by_name() {
    let app = spawn_app().await;
    app.publish_ok(json!({"type": "A", "stream": "s"})).await;
    // A misspelt expected_version must not pass as an unconditional append.
    let misspelt = json!({"type": "A", "stream": "s", "expectedVersion": 0});
    for body in [misspelt.clone(), json!([{"type": "B"}, misspelt])] {
        let (status, reply) = app.publish(body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{reply}");
        let message = reply["message"].as_str().expect("a message");
        assert!(
            message.contains("unknown field `expectedVersion`"),
            "{reply}"
        );
    }
    app.assert_unchanged(1, "events with a field the bus does not know")
        .await;
}

#[tokio::test]
async fn a_missing_data_is_null() {
    let app = spawn_app().await;
    app.publish_ok(json!({"type": "A"})).await;
    app.publish_ok(json!({"type": "B", "data": null})).await;
    let events = app.events().await;
    assert_eq!(events[0]["data"], Value::Null);
    assert!(events[0].get("data").is_some());
    assert_eq!(events[1]["data"], Value::Null);
}

#[tokio::test]
async fn an_array_is_appended_in_order_with_consecutive_seqs() {
    let app = spawn_app().await;
    app.publish_ok(json!({"type": "First"})).await;
    let array: Vec<Value> = (0..10)
        .map(|i| json!({"id": format!("a{i}"), "type": format!("T{i}"), "data": i}))
        .collect();
    let (status, replies) = app.publish(json!(array)).await;
    assert_eq!(status, StatusCode::CREATED, "{replies}");
    let replies = replies.as_array().expect("an array of replies").clone();
    assert_eq!(replies.len(), 10);
    for (i, reply) in replies.iter().enumerate() {
        assert_eq!(reply["id"], format!("a{i}"), "reply order = array order");
        assert_eq!(reply["seq"].as_u64(), Some(2 + i as u64));
    }
    let events = app.events().await;
    assert_eq!(seqs(&events), (1..=11).collect::<Vec<_>>());
    for (i, event) in events[1..].iter().enumerate() {
        assert_eq!(event["id"], format!("a{i}"));
        assert_eq!(event["data"], i);
    }
    // An array of one is still answered with an array.
    let (status, one) = app.publish(json!([{"type": "Solo"}])).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(one.as_array().map(Vec::len), Some(1));
    assert_eq!(one[0]["seq"], 12);
}

#[tokio::test]
async fn an_array_is_all_or_nothing() {
    let app = spawn_app().await;
    app.publish_ok(json!({"type": "A", "stream": "s"})).await;
    // The third event fails its expected_version: none of the array is appended.
    let (status, reply) = app
        .publish(json!([
            {"id": "x1", "type": "A"},
            {"id": "x2", "type": "A", "stream": "t"},
            {"id": "x3", "type": "A", "stream": "s", "expected_version": 0},
            {"id": "x4", "type": "A"},
        ]))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{reply}");
    assert_eq!(reply["error"], "wrong_expected_version");
    app.assert_unchanged(1, "a refused array").await;
    let (status, _) = app.get_json("/streams/t").await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "nothing of stream t was kept"
    );
    // The same ids are free: publishing them now appends them.
    let (status, replies) = app
        .publish(json!([{"id": "x1", "type": "A"}, {"id": "x4", "type": "A"}]))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{replies}");
    assert_eq!(replies[0]["seq"], 3);
    assert_eq!(replies[1]["seq"], 4);
}

/// 64 publishers × 200 single-event publishes, all at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_publishers_get_distinct_gapless_seqs() {
    const PUBLISHERS: usize = 64;
    const EACH: usize = 200;
    let app = Arc::new(spawn_app().await);
    let mut tasks = Vec::new();
    for p in 0..PUBLISHERS {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            let mut acks = Vec::with_capacity(EACH);
            for i in 0..EACH {
                let id = format!("p{p}-{i}");
                let (status, reply) = app
                    .publish(json!({"id": id, "type": "Load", "data": {"p": p, "i": i}}))
                    .await;
                assert_eq!(status, StatusCode::CREATED, "{id}: {reply}");
                assert_eq!(reply["id"], id.as_str());
                acks.push((id, reply["seq"].as_u64().expect("a seq")));
            }
            acks
        }));
    }
    let mut acked = Vec::with_capacity(PUBLISHERS * EACH);
    for task in tasks {
        acked.extend(task.await.expect("a publisher finished"));
    }
    let total = (PUBLISHERS * EACH) as u64;
    let distinct: HashSet<u64> = acked.iter().map(|(_, seq)| *seq).collect();
    assert_eq!(
        distinct.len() as u64,
        total,
        "every reply has a distinct seq"
    );

    let events = app.events().await;
    assert_eq!(seqs(&events), (1..=total).collect::<Vec<_>>(), "gapless");
    let ids: HashSet<&str> = events
        .iter()
        .map(|e| e["id"].as_str().expect("an id"))
        .collect();
    assert_eq!(ids.len() as u64, total, "each id exactly once");
    for (id, seq) in &acked {
        let event = &events[usize::try_from(*seq).expect("small") - 1];
        assert_eq!(
            event["id"],
            id.as_str(),
            "{id} is at the seq its reply gave"
        );
    }
    assert_eq!(app.head().await, total);
}

/// A body whose `data` has unusual key order, number formats, escapes and whitespace.
const RAW_DATA: &str = "{\"z\" : 1.50, \"a\":[1e3, -0, 12345678901234567890123, 1E-7, 0.0e+0],\n   \
     \"\\u00e9\\ud83d\\ude00\" :\t\"tab\\tq\\\"uote\\u0000 \\/ \u{e9}\",\n \"nested\" : { \"b\" : { } , \"a\" : [ ] } ,\"m\":-12.3400}";

#[tokio::test]
async fn data_comes_back_byte_for_byte() {
    let app = spawn_app().await;
    serde_json::from_str::<Value>(RAW_DATA).expect("the test data is JSON");
    let body = format!("{{\"type\": \"Raw\", \"id\": \"raw-1\",  \"data\":  {RAW_DATA} }}");
    let (status, reply) = app.publish_raw(body, "application/json").await;
    assert_eq!(status, StatusCode::CREATED, "{reply}");
    let seq = reply["seq"].as_u64().expect("a seq");

    let one = app.get_text(&format!("/events/{seq}")).await;
    assert!(
        one.contains(&format!("\"data\":{RAW_DATA}")),
        "GET /events/{seq} re-serialised data: {one}"
    );
    let all = app.get_text("/events").await;
    assert!(all.contains(RAW_DATA), "GET /events re-serialised data");
    let page = app.get_text("/events?after=0&type=Raw").await;
    assert!(page.contains(RAW_DATA), "GET /events?… re-serialised data");

    // And inside an array, each event's data is its own exact text.
    let array = format!(
        "[{{\"type\":\"Raw\",\"data\":{RAW_DATA}}},{{\"type\":\"Raw\",\"data\":[1.0,  2]}}]"
    );
    let (status, replies) = app.publish_raw(array, "application/json").await;
    assert_eq!(status, StatusCode::CREATED, "{replies}");
    let second = app
        .get_text(&format!(
            "/events/{}",
            replies[1]["seq"].as_u64().expect("seq")
        ))
        .await;
    assert!(second.contains("\"data\":[1.0,  2]"), "{second}");
}

#[tokio::test]
async fn a_structured_cloudevent_is_stored_with_its_id_type_source_and_data() {
    let app = spawn_app().await;
    let body = r#"{
        "specversion": "1.0",
        "id": "ce-1",
        "type": "com.example.order.created",
        "source": "/shop/orders",
        "datacontenttype": "application/json",
        "time": "2020-01-01T00:00:00Z",
        "data": {"order": 7, "total": 12.50}
    }"#;
    let (status, reply) = app
        .publish_raw(body, "application/cloudevents+json; charset=utf-8")
        .await;
    assert_eq!(status, StatusCode::CREATED, "{reply}");
    assert_eq!(reply["id"], "ce-1");
    let seq = reply["seq"].as_u64().expect("a seq");
    let text = app.get_text(&format!("/events/{seq}")).await;
    assert!(
        text.contains(r#""data":{"order": 7, "total": 12.50}"#),
        "{text}"
    );
    let event: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(event["id"], "ce-1");
    assert_eq!(event["type"], "com.example.order.created");
    assert_eq!(event["source"], "/shop/orders");
    assert_ne!(
        event["time"], "2020-01-01T00:00:00Z",
        "the bus sets the time"
    );

    // Republishing the same CloudEvent is idempotent.
    let (status, again) = app.publish_raw(body, "application/cloudevents+json").await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["seq"].as_u64(), Some(seq));

    // Another specversion, or a plain event sent as a CloudEvent, is refused.
    let head = app.head().await;
    for (case, bad) in [
        (
            "specversion 0.3",
            r#"{"specversion": "0.3", "id": "ce-2", "type": "t", "source": "/s"}"#,
        ),
        (
            "no specversion",
            r#"{"id": "ce-3", "type": "t", "source": "/s"}"#,
        ),
        (
            "no source",
            r#"{"specversion": "1.0", "id": "ce-4", "type": "t"}"#,
        ),
        ("a plain event", r#"{"type": "PostCreated", "data": {}}"#),
    ] {
        let (status, body) = app.publish_raw(bad, "application/cloudevents+json").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{case}: {body}");
        assert!(body["error"].is_string(), "{case}: {body}");
        assert_eq!(app.head().await, head, "{case} moved the head");
    }
}
