//! `/openapi.json`, generated from the handlers and the wire types: it lists what the
//! hand-written document listed, every route it lists is served, and what it says of
//! security, statuses and limits is what the bus does.

use crate::helpers::{spawn_app, spawn_app_with, TestApp};
use bus::testkit::{assert_documented_routes_are_served, documented_operations};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// The operations of the hand-written `bus/src/daemon/api/openapi.json` the generated
/// document replaced, sorted as [`documented_operations`] sorts them.
const HAND_WRITTEN: [(&str, &str); 22] = [
    ("DELETE", "/subscriptions/{name}"),
    ("DELETE", "/subscriptions/{name}/dead-letters/{seq}"),
    ("GET", "/events"),
    ("GET", "/events/stream"),
    ("GET", "/events/{seq}"),
    ("GET", "/healthz"),
    ("GET", "/info"),
    ("GET", "/metrics"),
    ("GET", "/openapi.json"),
    ("GET", "/readyz"),
    ("GET", "/streams/{name}"),
    ("GET", "/subscriptions"),
    ("GET", "/subscriptions/{name}"),
    ("GET", "/subscriptions/{name}/dead-letters"),
    ("POST", "/events"),
    ("POST", "/subscriptions/{name}/dead-letters/retry"),
    ("POST", "/subscriptions/{name}/dead-letters/{seq}/retry"),
    ("POST", "/subscriptions/{name}/pause"),
    ("POST", "/subscriptions/{name}/resume"),
    ("POST", "/subscriptions/{name}/rewind"),
    ("POST", "/subscriptions/{name}/skip"),
    ("PUT", "/subscriptions/{name}"),
];

/// The paths that answer without the token.
const OPEN: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

async fn document_of(app: &TestApp) -> Value {
    let (status, document) = app.get_json("/openapi.json").await;
    assert_eq!(status, StatusCode::OK, "{document}");
    document
}

/// Every operation of `document`: `(METHOD, path, operation)`.
fn operations(document: &Value) -> Vec<(String, String, Value)> {
    let paths = document["paths"].as_object().expect("paths");
    let mut all = Vec::new();
    for (path, item) in paths {
        for (method, operation) in item.as_object().expect("a path item") {
            all.push((method.to_uppercase(), path.clone(), operation.clone()));
        }
    }
    all
}

/// The statuses `method path` is documented to answer.
fn statuses(document: &Value, method: &str, path: &str) -> Vec<String> {
    let responses = &document["paths"][path][method.to_lowercase()]["responses"];
    let mut codes: Vec<String> = responses
        .as_object()
        .unwrap_or_else(|| panic!("{method} {path} has no responses"))
        .keys()
        .cloned()
        .collect();
    codes.sort();
    codes
}

#[tokio::test]
async fn the_document_keeps_every_operation_of_the_hand_written_one() {
    let app = spawn_app().await;
    let expected: Vec<(String, String)> = HAND_WRITTEN
        .iter()
        .map(|(method, path)| (method.to_string(), path.to_string()))
        .collect();
    assert_eq!(documented_operations(&app.url).await, expected);
}

/// Every documented route is served, with its methods: none answers 405 or the router's
/// own 404.
#[tokio::test]
async fn every_documented_route_is_served() {
    let app = spawn_app().await;
    assert_documented_routes_are_served(&app.url).await;
}

#[tokio::test]
async fn every_route_but_the_probes_and_metrics_takes_the_bearer_token() {
    let app = spawn_app_with(|c| c.token = Some("s3cret-token-0123456789".into())).await;
    let document = document_of(&app).await;
    assert_eq!(document["openapi"], "3.1.0");
    assert_eq!(document["info"]["title"], "minibus bus");
    let scheme = &document["components"]["securitySchemes"]["bearer"];
    assert_eq!(
        (&scheme["type"], &scheme["scheme"]),
        (&json!("http"), &json!("bearer"))
    );
    for (method, path, operation) in operations(&document) {
        let case = format!("{method} {path}");
        if OPEN.contains(&path.as_str()) {
            assert!(operation.get("security").is_none(), "{case}: {operation}");
            assert!(operation["responses"].get("401").is_none(), "{case}");
        } else {
            assert_eq!(operation["security"], json!([{"bearer": []}]), "{case}");
            assert!(operation["responses"]["401"].is_object(), "{case}");
        }
    }

    // Without a token the bus ignores `Authorization`, and never answers 401.
    let app = spawn_app().await;
    let document = document_of(&app).await;
    for (method, path, operation) in operations(&document) {
        if !OPEN.contains(&path.as_str()) {
            let optional = json!([{}, {"bearer": []}]);
            assert_eq!(operation["security"], optional, "{method} {path}");
        }
        assert!(
            operation["responses"].get("401").is_none(),
            "{method} {path}"
        );
    }
}

#[tokio::test]
async fn each_route_documents_the_statuses_it_answers() {
    let app = spawn_app().await;
    let document = document_of(&app).await;
    let s = |method, path| statuses(&document, method, path);
    let codes = |list: &[&str]| list.iter().map(|c| c.to_string()).collect::<Vec<_>>();
    let publish = codes(&["200", "201", "400", "409", "413", "415", "503"]);
    assert_eq!(s("POST", "/events"), publish);
    assert_eq!(s("GET", "/events"), codes(&["200", "400"]));
    assert_eq!(s("GET", "/events/{seq}"), codes(&["200", "400", "404"]));
    assert_eq!(s("GET", "/readyz"), codes(&["200", "503"]));
    let put = codes(&["200", "201", "400", "409", "413"]);
    assert_eq!(s("PUT", "/subscriptions/{name}"), put);
    let rewind = codes(&["200", "400", "404", "409", "413"]);
    assert_eq!(s("POST", "/subscriptions/{name}/rewind"), rewind);
    assert_eq!(
        s("POST", "/subscriptions/{name}/dead-letters/{seq}/retry"),
        codes(&["202", "400", "404", "409"])
    );
    for (method, path, operation) in operations(&document) {
        for (status, response) in operation["responses"].as_object().expect("responses") {
            let described = response["description"]
                .as_str()
                .is_some_and(|d| !d.is_empty());
            assert!(described, "{method} {path} {status} has no description");
            if (status.starts_with('4') || status.starts_with('5')) && path != "/readyz" {
                let schema = &response["content"]["application/json"]["schema"]["$ref"];
                assert_eq!(
                    schema, "#/components/schemas/ApiError",
                    "{method} {path} {status}"
                );
            }
        }
    }
    let mut ids: Vec<String> = operations(&document)
        .iter()
        .map(|(_, _, operation)| operation["operationId"].as_str().unwrap_or("").into())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(
        ids.len(),
        HAND_WRITTEN.len(),
        "operation ids are unique: {ids:?}"
    );
    let events = &document["paths"]["/events/stream"]["get"]["responses"]["200"]["content"];
    assert!(events["text/event-stream"].is_object(), "{events}");
    let metrics = &document["paths"]["/metrics"]["get"]["responses"]["200"]["content"];
    assert!(
        metrics["application/openmetrics-text"].is_object(),
        "{metrics}"
    );
}

/// The limits the document states on the wire types are the ones the bus enforces: each
/// documented maximum is accepted, and one more is refused.
#[tokio::test]
async fn the_documented_limits_are_the_enforced_limits() {
    let app = spawn_app().await;
    let document = document_of(&app).await;
    let schemas = &document["components"]["schemas"];
    let maximum = |schema: &str, field: &str, limit: &str| {
        let property = &schemas[schema]["properties"][field];
        property[limit]
            .as_u64()
            .unwrap_or_else(|| panic!("{schema}.{field} has no {limit}: {property}"))
    };

    let longest = maximum("NewEvent", "type", "maxLength") as usize;
    let (status, _) = app.publish(json!({"type": "T".repeat(longest)})).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = app.publish(json!({"type": "T".repeat(longest + 1)})).await;
    assert_eq!(
        (status, &body["error"]),
        (StatusCode::BAD_REQUEST, &json!("invalid_event"))
    );

    for (field, limit) in [
        ("batch", maximum("SubscriptionSpec", "batch", "maximum")),
        (
            "batch_max_bytes",
            maximum("SubscriptionSpec", "batch_max_bytes", "maximum"),
        ),
        (
            "timeout_ms",
            maximum("SubscriptionSpec", "timeout_ms", "maximum"),
        ),
    ] {
        for (value, want) in [
            (limit, StatusCode::CREATED),
            (limit + 1, StatusCode::BAD_REQUEST),
        ] {
            let spec = json!({"url": "http://127.0.0.1:9/", "start": "end", field: value});
            let path = format!("/subscriptions/{field}-{value}");
            let (status, body) = app.call(Method::PUT, &path, Some(spec)).await;
            assert_eq!(status, want, "{field} = {value}: {body}");
        }
    }
    let max_ms = maximum("RetryPolicy", "max_ms", "maximum");
    for (value, want) in [
        (max_ms, StatusCode::CREATED),
        (max_ms + 1, StatusCode::BAD_REQUEST),
    ] {
        let spec = json!({"url": "http://127.0.0.1:9/", "retry": {"max_ms": value}});
        let path = format!("/subscriptions/max-ms-{value}");
        let (status, body) = app.call(Method::PUT, &path, Some(spec)).await;
        assert_eq!(status, want, "retry.max_ms = {value}: {body}");
    }

    let limit = &document["paths"]["/events"]["get"]["parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .find(|p| p["name"] == "limit")
        .expect("a limit parameter")["schema"];
    let largest = limit["maximum"].as_u64().expect("a maximum");
    let (status, _) = app.get_json(&format!("/events?limit={largest}")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .get_json(&format!("/events?limit={}", largest + 1))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
