//! Standard Webhooks both ways: the deliveries of a subscription with a `secret` (single
//! events, batches, CloudEvents binary mode) verify with the official `standardwebhooks`
//! packages, and fail once their body changes or under another secret; signatures those
//! packages make verify with `bus::signature` (what the SDK Subscriber checks).

use super::delivery;
use super::script::{self, Sdk};
use crate::helpers::{spawn_app, spec};
use bus::signature::Signer;
use bus::testkit::{FakeSubscriber, Received};
use serde_json::{json, Value};

/// What `sdk`'s `Webhook(secret).verify(body, headers)` says of each delivery.
async fn verify_with(sdk: Sdk, secret: &str, deliveries: &[Value]) -> Vec<Value> {
    let job = json!({"secret": secret, "verify": deliveries});
    let answer = script::run(sdk, "webhook", job).await;
    let verified = answer["verified"].as_array().expect("verified").clone();
    assert_eq!(verified.len(), deliveries.len(), "{sdk:?}");
    verified
}

/// `received` with one byte of its body changed (the last digit of the first seq).
fn tampered(received: &Received) -> Value {
    let mut changed = delivery(received);
    let body = changed["body"].as_str().expect("a body").to_owned();
    let at = body.rfind(|c: char| c.is_ascii_digit()).expect("a digit");
    let digit = if &body[at..=at] == "1" { "2" } else { "1" };
    changed["body"] = Value::from(format!("{}{digit}{}", &body[..at], &body[at + 1..]));
    changed
}

/// Ids of the events delivered: one the bus assigns (`null`), and ids that a header cannot
/// hold as they are (a space, `%`, text beyond ASCII: a CloudEvent's id may be anything).
const IDS: [Option<&str>; 4] = [None, Some("c-2"), Some("comment 3 ✓"), Some("100% \"c4\"")];

/// Publishes four events and delivers them under `secret` one by one, in batches of
/// three and as binary-mode CloudEvents; every request the subscriber got.
async fn signed_deliveries(secret: &str) -> Vec<Received> {
    let app = spawn_app().await;
    for (n, id) in (1..).zip(IDS) {
        let data = json!({"id": format!("c{n}"), "text": "héllo ✓ \"quoted\"", "n": n});
        let mut event = json!({"type": "CommentCreated", "source": "comments", "data": data});
        if let Some(id) = id {
            event["id"] = Value::from(id);
        }
        app.publish_ok(event).await;
    }
    let subscriber = FakeSubscriber::start().await;
    let settings = [
        ("single", json!({"secret": secret})),
        ("batch", json!({"secret": secret, "batch": 3})),
        (
            "binary-ce",
            json!({"secret": secret, "format": "cloudevents"}),
        ),
    ];
    for (name, extra) in settings {
        app.create_sub(name, spec(&subscriber.url, extra)).await;
        app.until_cursor(name, 4).await;
    }
    let received = subscriber.received();
    assert_eq!(
        received.len(),
        4 + 2 + 4,
        "4 single, 2 batches, 4 CloudEvents"
    );
    received
}

#[tokio::test]
async fn signed_deliveries_verify_with_the_official_packages_and_tampered_ones_do_not() {
    let secret = Signer::random_secret();
    let received = signed_deliveries(&secret).await;
    let genuine: Vec<Value> = received.iter().map(delivery).collect();
    let changed: Vec<Value> = received.iter().map(tampered).collect();
    let other_secret = Signer::random_secret();

    for sdk in Sdk::ALL {
        for (verdict, sent) in verify_with(sdk, &secret, &genuine)
            .await
            .iter()
            .zip(&genuine)
        {
            assert_eq!(verdict["ok"], true, "{sdk:?}: {verdict} for {sent}");
            let body = sent["body"].as_str().expect("a body");
            let body: Value = serde_json::from_str(body).expect("a JSON body");
            assert_eq!(verdict["payload"], body, "{sdk:?}: the payload it returns");
        }
        for (verdict, sent) in verify_with(sdk, &secret, &changed)
            .await
            .iter()
            .zip(&changed)
        {
            assert_eq!(
                verdict["ok"], false,
                "{sdk:?}: a changed body verifies: {sent}"
            );
        }
        for verdict in verify_with(sdk, &other_secret, &genuine).await {
            assert_eq!(
                verdict["ok"], false,
                "{sdk:?}: verifies under another secret"
            );
        }
    }
}

#[tokio::test]
async fn signatures_made_by_the_official_packages_verify_with_ours() {
    let secret = Signer::random_secret();
    let signer = Signer::from_secret(&secret).expect("a valid secret");
    let messages = [
        (
            "0193a1c2-7e3f-7000-8000-000000000001",
            r#"{"seq":1,"data":{"text":"héllo ✓"}}"#,
        ),
        ("batch-2-4", r#"[{"seq":2},{"seq":3},{"seq":4}]"#),
    ];
    let timestamp = 1_764_460_800_i64;
    let sign: Vec<Value> = messages
        .iter()
        .map(|(id, body)| json!({"id": id, "timestamp": timestamp, "body": body}))
        .collect();
    for sdk in Sdk::ALL {
        let answer = script::run(sdk, "webhook", json!({"secret": secret, "sign": sign})).await;
        let signatures = answer["signatures"].as_array().expect("signatures");
        assert_eq!(signatures.len(), messages.len(), "{sdk:?}");
        for ((id, body), signature) in messages.iter().zip(signatures) {
            let signature = signature.as_str().expect("a signature");
            assert!(
                signer.verify(id, timestamp, body.as_bytes(), signature),
                "{sdk:?}: {signature} does not verify with ours"
            );
            assert_eq!(
                signer.sign(id, timestamp, body.as_bytes()),
                signature,
                "{sdk:?}"
            );
            let changed = body.replacen("seq", "seQ", 1);
            assert!(
                !signer.verify(id, timestamp, changed.as_bytes(), signature),
                "{sdk:?}: ours verifies a changed body"
            );
        }
    }
}
