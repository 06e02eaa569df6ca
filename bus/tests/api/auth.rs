//! The bearer token: every route but /healthz, /readyz and /metrics requires it.

use crate::helpers::{assert_error, json_of, spawn_app_with, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::json;

const TOKEN: &str = "s3cret-token";

async fn with_token() -> TestApp {
    spawn_app_with(|c| c.token = Some(TOKEN.into())).await
}

/// Sends `method path` with this `Authorization` header (or none) and a valid event body.
async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    authorization: Option<&str>,
) -> (StatusCode, serde_json::Value) {
    let mut request = app
        .client
        .request(method, app.at(path))
        .header("content-type", "application/json");
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    if path == "/events" {
        request = request.body(r#"{"type": "Sneaky"}"#);
    }
    let answer = request.send().await.expect("a request");
    json_of(answer).await
}

#[tokio::test]
async fn a_missing_or_wrong_token_is_401_and_appends_nothing() {
    let app = with_token().await;
    let head = app.head().await;
    let wrong = [
        None,
        Some("Bearer nope".to_string()),
        Some(format!("Bearer {TOKEN}x")),
        Some(format!("Bearer {}", &TOKEN[..TOKEN.len() - 1])),
        Some(format!("Basic {TOKEN}")),
        Some(TOKEN.to_string()),
        Some("Bearer ".to_string()),
    ];
    for authorization in &wrong {
        for (method, path) in [
            (Method::POST, "/events"),
            (Method::GET, "/events"),
            (Method::GET, "/events?after=0"),
            (Method::GET, "/events/1"),
            (Method::GET, "/events/stream"),
            (Method::GET, "/streams/s"),
            (Method::GET, "/info"),
        ] {
            let case = format!("{method} {path} with {authorization:?}");
            let (status, body) = call(&app, method, path, authorization.as_deref()).await;
            assert_error(
                status,
                &body,
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                &case,
            );
        }
    }
    app.assert_unchanged(head, "unauthorized publishes").await;
}

#[tokio::test]
async fn the_right_token_works() {
    let app = with_token().await;
    let bearer = format!("Bearer {TOKEN}");
    let (status, reply) = call(&app, Method::POST, "/events", Some(&bearer)).await;
    assert_eq!(status, StatusCode::CREATED, "{reply}");
    assert_eq!(reply["seq"], 1);
    let (status, events) = call(&app, Method::GET, "/events", Some(&bearer)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(events[0]["type"], "Sneaky");
    let (status, event) = call(&app, Method::GET, "/events/1", Some(&bearer)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(event["seq"], 1);
    // The harness's own calls carry the token too.
    assert_eq!(app.head().await, 1);
    app.publish_ok(json!({"type": "A"})).await;
    assert_eq!(app.events().await.len(), 2);
}

#[tokio::test]
async fn health_readiness_and_metrics_are_open_without_a_token() {
    let app = with_token().await;
    for path in ["/healthz", "/readyz", "/metrics"] {
        let answer = app
            .client
            .get(app.at(path))
            .send()
            .await
            .expect("a request");
        assert_eq!(answer.status(), StatusCode::OK, "GET {path}");
    }
}
