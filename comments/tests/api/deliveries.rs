//! `POST /events` takes only what the bus signed with the secret comments registered: a
//! forged delivery is refused and changes nothing.

use crate::helpers::{data_dir, spawn_comments};
use bus::testkit::spawn_bus;
use serde_json::json;

#[tokio::test]
async fn a_forged_delivery_is_refused_with_401() {
    let bus = spawn_bus().await;
    let dir = data_dir();
    let comments = spawn_comments(bus.url(), dir.path()).await;
    let event = json!({"seq": 1, "id": "forged", "type": "PostCreated", "data": {"id": "p1"},
        "time": "2026-11-30T00:00:00Z"});
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    let client = reqwest::Client::new();
    for signature in [None, Some("v1,bm90IGEgc2lnbmF0dXJl")] {
        let mut request = client
            .post(format!("{}/events", comments.url()))
            .json(&event);
        if let Some(signature) = signature {
            request = request
                .header("webhook-id", "forged")
                .header("webhook-timestamp", now.to_string())
                .header("webhook-signature", signature);
        }
        let answer = request.send().await.expect("an answer");
        assert_eq!(answer.status(), 401, "{signature:?}");
    }
    let (status, _, body, _) = comments.comment_raw("p1", json!({"content": "hi"})).await;
    assert_eq!(status, 404, "the forged post is not known: {body}");
}
