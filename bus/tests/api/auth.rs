//! The bearer token: every route but /healthz, /readyz and /metrics requires it, compared
//! whole (a wrong token of the right length is refused), with the scheme in any case; a
//! token too short or holding whitespace stops the start.

use crate::helpers::{assert_error, json_of, spawn_app_with, TestApp};
use bus::daemon::BusConfig;
use reqwest::{Method, StatusCode};
use serde_json::json;

const TOKEN: &str = "s3cret-token-0123456789";
/// [`TOKEN`] with its last character changed: the same length.
const SAME_LENGTH: &str = "s3cret-token-012345678X";

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
        Some(format!("Bearer {SAME_LENGTH}")),
        Some(format!("Bearer X{}", &TOKEN[1..])),
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

#[tokio::test]
async fn every_route_but_the_probes_and_metrics_refuses_a_missing_or_wrong_token() {
    let app = with_token().await;
    let head = app.head().await;
    let (status, document) = app.get_json("/openapi.json").await;
    assert_eq!(status, StatusCode::OK, "{document}");
    let routes: Vec<(String, String)> = document["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, item)| {
            let methods = item.as_object().expect("a path item").keys();
            methods.map(|method| (method.to_uppercase(), path.clone()))
        })
        .collect();
    assert!(
        routes.iter().any(|(_, p)| p == "/openapi.json")
            && routes.iter().any(|(_, p)| p.starts_with("/subscriptions")),
        "{routes:?}"
    );
    for (method, path) in routes {
        if ["/healthz", "/readyz", "/metrics"].contains(&path.as_str()) {
            continue;
        }
        let path = path.replace("{name}", "s").replace("{seq}", "1");
        let method = Method::from_bytes(method.as_bytes()).expect("a method");
        for authorization in [None, Some(format!("Bearer {SAME_LENGTH}"))] {
            let case = format!("{method} {path} with {authorization:?}");
            let (status, body) = call(&app, method.clone(), &path, authorization.as_deref()).await;
            assert_error(
                status,
                &body,
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                &case,
            );
        }
    }
    app.assert_unchanged(head, "unauthorized calls").await;
}

#[tokio::test]
async fn the_scheme_is_taken_in_any_case() {
    let app = with_token().await;
    for scheme in ["bearer", "BEARER", "bEaReR"] {
        let authorization = format!("{scheme} {TOKEN}");
        let (status, body) = call(&app, Method::GET, "/info", Some(&authorization)).await;
        assert_eq!(status, StatusCode::OK, "{scheme}: {body}");
        let (status, body) = call(&app, Method::GET, "/openapi.json", Some(&authorization)).await;
        assert_eq!(status, StatusCode::OK, "{scheme}: {body}");
    }
}

#[test]
fn a_short_token_or_one_with_whitespace_is_refused_at_start() {
    let loopback = BusConfig::DEFAULT_LISTEN;
    let check = |token: &str| {
        let mut config = BusConfig::new(loopback, "unused".into());
        config.token = Some(token.into());
        config.check(loopback)
    };
    for token in [
        "",
        "short",
        "fifteen-chars-x",
        "sixteen chars xx",
        "sixteen-chars-x\t",
        "\u{a0}sixteen-chars-xx",
    ] {
        let refused = check(token).expect_err(token);
        assert!(refused.contains("--token"), "{token:?}: {refused}");
    }
    assert!(check("fifteen-chars-x")
        .unwrap_err()
        .contains("16 characters"));
    assert!(check("sixteen chars xx")
        .unwrap_err()
        .contains("whitespace"));
    assert_eq!(check("sixteen-chars-xx"), Ok(()));
    assert_eq!(check(&"é".repeat(16)), Ok(()), "16 characters, not bytes");
}
