//! Standard Webhooks signatures and CloudEvents formats of deliveries.

use crate::helpers::{publish_n, spawn_app, spec};
use bus::signature::Signer;
use bus::testkit::{FakeSubscriber, Received};
use serde_json::{json, Value};

fn verify(signer: &Signer, r: &Received) -> bool {
    let id = r.header("webhook-id").expect("webhook-id");
    let timestamp: i64 = r
        .header("webhook-timestamp")
        .expect("webhook-timestamp")
        .parse()
        .expect("a numeric timestamp");
    let signature = r.header("webhook-signature").expect("webhook-signature");
    signer.verify(id, timestamp, &r.body, signature)
}

#[tokio::test]
async fn signed_deliveries_verify_over_the_raw_body_and_the_secret_is_never_returned() {
    let app = spawn_app().await;
    publish_n(&app, "A", 5).await;
    let secret = Signer::random_secret();
    let (single, batched) = (FakeSubscriber::start().await, FakeSubscriber::start().await);
    let created = app
        .create_sub("signed", spec(&single.url, json!({"secret": secret})))
        .await;
    app.create_sub(
        "signed-batch",
        spec(&batched.url, json!({"secret": secret, "batch": 3})),
    )
    .await;
    app.until_cursor("signed", 5).await;
    app.until_cursor("signed-batch", 5).await;

    let signer = Signer::from_secret(&secret).expect("a valid secret");
    let other = Signer::from_secret(&Signer::random_secret()).expect("a valid secret");
    let events = app.events().await;
    for r in single.received() {
        let seq = r.seqs[0];
        let event = &events[usize::try_from(seq).expect("small") - 1];
        assert_eq!(r.header("webhook-id"), event["id"].as_str(), "the event id");
        assert!(verify(&signer, &r), "seq {seq} does not verify");
        assert!(!verify(&other, &r), "verifies with another secret");
        let mut tampered = r.clone();
        tampered.body = format!("{} ", String::from_utf8_lossy(&r.body)).into();
        assert!(!verify(&signer, &tampered), "verifies a changed body");
    }
    let batches = batched.received();
    let ids: Vec<_> = batches.iter().map(|r| r.header("webhook-id")).collect();
    assert_eq!(ids, [Some("batch-1-3"), Some("batch-4-5")]);
    for r in &batches {
        assert!(verify(&signer, r), "{:?} does not verify", r.seqs);
    }

    // Never returned, by any route.
    let listed = app.get_text("/subscriptions").await;
    let one = app.get_text("/subscriptions/signed").await;
    for text in [created.to_string(), listed, one] {
        assert!(!text.contains(&secret), "the secret leaks: {text}");
        assert!(!text.contains("secret"), "a secret field: {text}");
    }
}

/// Publishes an event given as raw JSON text; its envelope.
async fn publish_text(app: &crate::helpers::TestApp, text: &str) -> Value {
    let (status, reply) = app.publish_raw(text.to_string(), "application/json").await;
    assert_eq!(status, reqwest::StatusCode::CREATED, "{reply}");
    let (_, envelope) = app.get_json(&format!("/events/{}", reply["seq"])).await;
    envelope
}

#[tokio::test]
async fn cloudevents_binary_mode_sends_data_as_the_body_and_attributes_as_headers() {
    let app = spawn_app().await;
    let data_texts = [
        r#"{"title":  "héllo" , "n":[1, 2.50]}"#,
        r#""just text""#,
        "null",
    ];
    let mut envelopes = vec![
        publish_text(
            &app,
            &format!(
                r#"{{"type":"PostCreated","source":"posts","stream":"post-p1","data":{}}}"#,
                data_texts[0]
            ),
        )
        .await,
    ];
    envelopes.push(
        publish_text(
            &app,
            &format!(r#"{{"type":"Plain","data":{}}}"#, data_texts[1]),
        )
        .await,
    );
    envelopes.push(publish_text(&app, r#"{"type":"Nothing"}"#).await);
    let sub = FakeSubscriber::start().await;
    app.create_sub("ce", spec(&sub.url, json!({"format": "cloudevents"})))
        .await;
    app.until_cursor("ce", 3).await;

    let received = sub.received();
    assert_eq!(received.len(), 3);
    for ((r, envelope), data) in received.iter().zip(&envelopes).zip(data_texts) {
        assert_eq!(String::from_utf8_lossy(&r.body), data, "the data, exactly");
        assert_eq!(r.header("ce-specversion"), Some("1.0"));
        assert_eq!(r.header("ce-id"), envelope["id"].as_str());
        assert_eq!(r.header("ce-type"), envelope["type"].as_str());
        assert_eq!(r.header("ce-time"), envelope["time"].as_str());
        assert_eq!(
            r.number("ce-sequence"),
            envelope["seq"].as_u64().expect("seq")
        );
        let padded = format!("{:020}", envelope["seq"].as_u64().expect("seq"));
        assert_eq!(r.header("ce-sequence"), Some(padded.as_str()), "20 digits");
        let source = envelope["source"].as_str().unwrap_or("minibus");
        assert_eq!(r.header("ce-source"), Some(source));
        assert_eq!(
            r.number("minibus-seq"),
            envelope["seq"].as_u64().expect("seq")
        );
    }
    assert_eq!(received[0].header("ce-source"), Some("posts"));
    assert_eq!(received[1].header("ce-source"), Some("minibus"));
}

#[tokio::test]
async fn cloudevents_structured_mode_single_and_batch() {
    let app = spawn_app().await;
    let data = r#"{"b": 1,"a":[true, null]}"#;
    let mut envelopes = Vec::new();
    for i in 0..3 {
        let source = if i == 0 { r#","source":"posts""# } else { "" };
        envelopes
            .push(publish_text(&app, &format!(r#"{{"type":"T{i}"{source},"data":{data}}}"#)).await);
    }
    let (single, batched) = (FakeSubscriber::start().await, FakeSubscriber::start().await);
    app.create_sub(
        "structured",
        spec(&single.url, json!({"format": "cloudevents-structured"})),
    )
    .await;
    app.create_sub(
        "structured-batch",
        spec(
            &batched.url,
            json!({"format": "cloudevents-structured", "batch": 5}),
        ),
    )
    .await;
    app.until_cursor("structured", 3).await;
    app.until_cursor("structured-batch", 3).await;

    let check = |ce: &Value, envelope: &Value| {
        assert_eq!(ce["specversion"], "1.0", "{ce}");
        assert_eq!(ce["id"], envelope["id"], "{ce}");
        assert_eq!(ce["type"], envelope["type"], "{ce}");
        assert_eq!(ce["time"], envelope["time"], "{ce}");
        let source = envelope["source"].as_str().unwrap_or("minibus");
        assert_eq!(ce["source"], source, "{ce}");
        let seq = envelope["seq"].as_u64().expect("a seq");
        assert_eq!(ce["sequence"], format!("{seq:020}"), "{ce}");
        assert_eq!(ce["data"], envelope["data"], "{ce}");
    };
    let received = single.received();
    assert_eq!(received.len(), 3);
    for (r, envelope) in received.iter().zip(&envelopes) {
        assert_eq!(
            r.header("content-type"),
            Some("application/cloudevents+json")
        );
        check(&r.json(), envelope);
        let text = String::from_utf8_lossy(&r.body);
        assert!(text.contains(data), "data kept as sent: {text}");
    }
    let received = batched.received();
    assert_eq!(received.len(), 1);
    assert_eq!(
        received[0].header("content-type"),
        Some("application/cloudevents-batch+json")
    );
    let items = received[0].json();
    let items = items.as_array().expect("an array");
    assert_eq!(items.len(), 3);
    for (ce, envelope) in items.iter().zip(&envelopes) {
        check(ce, envelope);
    }
    assert_eq!(
        received[0].header("webhook-id"),
        None,
        "no secret, no signature"
    );
}
