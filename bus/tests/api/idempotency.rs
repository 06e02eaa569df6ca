//! Idempotency: an `id` already stored is answered with its original seq, never appended again.

use crate::helpers::spawn_app;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn republishing_returns_the_original_seq_even_with_a_stale_expected_version() {
    let app = spawn_app().await;
    let event = json!({
        "id": "post-p1-created",
        "type": "PostCreated",
        "stream": "post-p1",
        "source": "posts",
        "expected_version": 0,
        "data": {"id": "p1"},
    });
    let first = app.publish_ok(event.clone()).await;
    assert_eq!(
        first,
        json!({"seq": 1, "id": "post-p1-created", "version": 1})
    );
    app.publish_ok(json!({"type": "PostRenamed", "stream": "post-p1"}))
        .await;
    app.publish_ok(json!({"type": "Other"})).await;

    // expected_version 0 is now stale (the stream is at 2): still the original answer.
    let (status, again) = app.publish(event.clone()).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again, first);
    // Another data does not matter either: the id is the key.
    let mut changed = event.clone();
    changed["data"] = json!({"id": "p1", "title": "changed"});
    changed["expected_version"] = json!(17);
    let (status, again) = app.publish(changed).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again, first);
    // Nothing was appended, and the first event is untouched.
    app.assert_unchanged(3, "republishes").await;
    let (_, stored) = app.get_json("/events/1").await;
    assert_eq!(stored["data"], json!({"id": "p1"}));
}

#[tokio::test]
async fn republishing_an_event_without_stream_returns_200_without_version() {
    let app = spawn_app().await;
    let first = app.publish_ok(json!({"id": "e1", "type": "A"})).await;
    let (status, again) = app.publish(json!({"id": "e1", "type": "A"})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again, first);
    assert!(again.get("version").is_none());
}

#[tokio::test]
async fn the_same_id_with_another_type_stream_or_source_is_409_id_conflict() {
    let app = spawn_app().await;
    app.publish_ok(json!({"id": "e1", "type": "A", "stream": "s", "source": "svc"}))
        .await;
    for (case, event) in [
        (
            "another type",
            json!({"id": "e1", "type": "B", "stream": "s", "source": "svc"}),
        ),
        (
            "another stream",
            json!({"id": "e1", "type": "A", "stream": "t", "source": "svc"}),
        ),
        (
            "no stream",
            json!({"id": "e1", "type": "A", "source": "svc"}),
        ),
        (
            "another source",
            json!({"id": "e1", "type": "A", "stream": "s", "source": "other"}),
        ),
        ("no source", json!({"id": "e1", "type": "A", "stream": "s"})),
    ] {
        let (status, reply) = app.publish(event).await;
        assert_eq!(status, StatusCode::CONFLICT, "{case}: {reply}");
        assert_eq!(reply["error"], "id_conflict", "{case}");
        assert!(reply["message"].is_string());
    }
    // Inside an array, a conflict refuses the whole array.
    let (status, reply) = app
        .publish(json!([{"id": "new", "type": "A"}, {"id": "e1", "type": "B"}]))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{reply}");
    assert_eq!(reply["error"], "id_conflict");
    app.assert_unchanged(1, "id conflicts").await;
}

#[tokio::test]
async fn an_array_all_stored_returns_200_with_the_originals() {
    let app = spawn_app().await;
    let array = json!([
        {"id": "a", "type": "A", "stream": "s"},
        {"id": "b", "type": "B"},
        {"id": "c", "type": "C", "stream": "s"},
    ]);
    let first = app.publish_ok(array.clone()).await;
    assert_eq!(
        first,
        json!([
            {"seq": 1, "id": "a", "version": 1},
            {"seq": 2, "id": "b"},
            {"seq": 3, "id": "c", "version": 2},
        ])
    );
    let (status, again) = app.publish(array).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again, first);
    // In another order, the originals come back in the order asked.
    let (status, reordered) = app
        .publish(json!([{"id": "c", "type": "C", "stream": "s"}, {"id": "a", "type": "A", "stream": "s"}]))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        reordered,
        json!([{"seq": 3, "id": "c", "version": 2}, {"seq": 1, "id": "a", "version": 1}])
    );
    // Events of an array are each idempotent alone too.
    let (status, one) = app.publish(json!({"id": "b", "type": "B"})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one, json!({"seq": 2, "id": "b"}));
    app.assert_unchanged(3, "repeated arrays").await;
}

#[tokio::test]
async fn an_array_partly_stored_is_409_partial_duplicate_and_appends_nothing() {
    let app = spawn_app().await;
    app.publish_ok(json!([{"id": "a", "type": "A"}, {"id": "b", "type": "A"}]))
        .await;
    let (status, reply) = app
        .publish(json!([
            {"id": "a", "type": "A"},
            {"id": "fresh", "type": "A"},
            {"id": "b", "type": "A"},
        ]))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{reply}");
    assert_eq!(reply["error"], "partial_duplicate");
    app.assert_unchanged(2, "a partial duplicate").await;
    // "fresh" was not stored.
    let reply = app.publish_ok(json!({"id": "fresh", "type": "A"})).await;
    assert_eq!(reply["seq"], 4);
}

#[tokio::test]
async fn concurrent_republishes_of_one_id_all_get_the_same_seq() {
    let app = spawn_app().await;
    let event = json!({"id": "once", "type": "A", "stream": "s"});
    let replies = futures_util::future::join_all((0..20).map(|_| app.publish(event.clone()))).await;
    let created = replies
        .iter()
        .filter(|(s, _)| *s == StatusCode::CREATED)
        .count();
    assert_eq!(created, 1, "exactly one append: {replies:?}");
    for (status, reply) in &replies {
        assert!(
            *status == StatusCode::CREATED || *status == StatusCode::OK,
            "{status}"
        );
        assert_eq!(reply, &json!({"seq": 1, "id": "once", "version": 1}));
    }
    assert_eq!(app.head().await, 1);
}
