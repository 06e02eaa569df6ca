//! A tiny service built on the kit, the shape every minibus service follows, and the tests
//! that hold the kit to its promises: the document lists exactly the annotated routes (and
//! health), every documented route is served, errors are JSON, `/readyz` follows the
//! flag, and the whole thing serves and drains over real HTTP.

use super::{api_router, serve, service_router, ApiError, Json, Readiness, TextRule};
use crate::testkit::{assert_documented_routes_are_served, documented_operations};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Router;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;
use utoipa_axum::routes;

/// A note, as stored and answered.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
struct Note {
    /// Its number, from 1.
    id: u64,
    /// Its text, trimmed.
    text: String,
}

/// A note's text: 1–20 characters once trimmed.
const TEXT: TextRule = TextRule::new("text", "invalid_text", 20);

/// `POST /notes`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
struct NewNote {
    /// 1–20 characters once trimmed.
    text: String,
}

#[derive(Clone, Default)]
struct Notes {
    notes: Arc<Mutex<Vec<Note>>>,
}

/// Writes a note.
#[utoipa::path(post, path = "/notes", request_body = NewNote, responses(
    (status = CREATED, description = "stored", body = Note),
    (status = BAD_REQUEST, description = "not 1–20 characters, or not a note", body = ApiError)))]
async fn create(
    State(notes): State<Notes>,
    Json(new): Json<NewNote>,
) -> Result<(StatusCode, Json<Note>), ApiError> {
    let text = TEXT.check(&new.text)?;
    let mut stored = notes
        .notes
        .lock()
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let note = Note {
        id: stored.len() as u64 + 1,
        text: text.into(),
    };
    stored.push(note.clone());
    Ok((StatusCode::CREATED, Json(note)))
}

/// One note.
#[utoipa::path(get, path = "/notes/{id}", params(("id" = u64, Path, description = "its number")),
    responses((status = OK, description = "the note", body = Note),
        (status = NOT_FOUND, description = "no such note", body = ApiError)))]
async fn one(State(notes): State<Notes>, Path(id): Path<u64>) -> Result<Json<Note>, ApiError> {
    let stored = notes
        .notes
        .lock()
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let note = stored.iter().find(|n| n.id == id).cloned();
    note.map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no note {id}")))
}

/// The example's router: the only place its routes are listed.
fn router(notes: Notes, readiness: Readiness) -> Router {
    let routes = api_router("notes", "0.1.0")
        .routes(routes!(create))
        .routes(routes!(one));
    service_router(routes, readiness).with_state(notes)
}

/// The example served on 127.0.0.1:0: its base URL, its readiness, and its stop.
async fn start() -> (
    String,
    Readiness,
    CancellationToken,
    tokio::task::JoinHandle<()>,
) {
    let listener = super::bind("notes", "127.0.0.1:0".parse().expect("an address"))
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let readiness = Readiness::new();
    let shutdown = CancellationToken::new();
    let app = router(Notes::default(), readiness.clone());
    let stop = shutdown.clone();
    let task = tokio::spawn(async move {
        let drain = serve(listener, app, stop).await.expect("served");
        assert_eq!(drain, super::Drain::Complete);
    });
    (url, readiness, shutdown, task)
}

async fn call(method: reqwest::Method, url: &str, body: Option<Value>) -> (u16, Value) {
    let mut request = reqwest::Client::new().request(method, url);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let answer = request.send().await.expect("an answer");
    let status = answer.status().as_u16();
    (status, answer.json().await.expect("a JSON answer"))
}

#[tokio::test]
async fn the_document_lists_exactly_the_annotated_routes_and_health() {
    let (url, _, shutdown, _) = start().await;
    let operations = documented_operations(&url).await;
    let expected = [
        ("GET", "/healthz"),
        ("GET", "/notes/{id}"),
        ("GET", "/openapi.json"),
        ("GET", "/readyz"),
        ("POST", "/notes"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(operations, expected);
    assert_documented_routes_are_served(&url).await;

    let (status, document) = call(reqwest::Method::GET, &format!("{url}/openapi.json"), None).await;
    assert_eq!(status, 200);
    assert_eq!(document["info"]["title"], "notes");
    assert!(document["openapi"]
        .as_str()
        .is_some_and(|v| v.starts_with("3.")));
    // OpenAPI requires a description on every response.
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("operations") {
            for (status, response) in operation["responses"].as_object().expect("responses") {
                let described = response["description"]
                    .as_str()
                    .is_some_and(|d| !d.is_empty());
                assert!(described, "{method} {path} {status} has no description");
            }
        }
    }
    for schema in ["Note", "NewNote", "ApiError"] {
        assert!(
            document["components"]["schemas"][schema].is_object(),
            "{schema}"
        );
    }
    shutdown.cancel();
}

#[tokio::test]
async fn handlers_and_rejections_answer_json() {
    let (url, _, shutdown, _) = start().await;
    let notes = format!("{url}/notes");
    let (status, note) = call(reqwest::Method::POST, &notes, Some(json!({"text": " hi "}))).await;
    assert_eq!((status, note), (201, json!({"id": 1, "text": "hi"})));
    let (status, _) = call(reqwest::Method::GET, &format!("{notes}/1"), None).await;
    assert_eq!(status, 200);
    for (method, path, body, want, code) in [
        (
            "POST",
            "/notes",
            Some(json!({"text": ""})),
            400,
            "invalid_text",
        ),
        (
            "POST",
            "/notes",
            Some(json!({"txt": "x"})),
            400,
            "invalid_json",
        ),
        ("GET", "/notes/9", None, 404, "not_found"),
        ("GET", "/nowhere", None, 404, "not_found"),
        ("DELETE", "/notes", None, 405, "method_not_allowed"),
    ] {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("a method");
        let (status, answer) = call(method, &format!("{url}{path}"), body).await;
        assert_eq!(
            (status, answer["error"].as_str()),
            (want, Some(code)),
            "{path}: {answer}"
        );
    }
    shutdown.cancel();
}

#[tokio::test]
async fn readyz_follows_the_flag_and_healthz_always_answers() {
    let (url, readiness, shutdown, task) = start().await;
    let readyz = format!("{url}/readyz");
    let (status, body) = call(reqwest::Method::GET, &readyz, None).await;
    assert_eq!((status, body), (503, json!({"status": "not_ready"})));
    let (status, _) = call(reqwest::Method::GET, &format!("{url}/healthz"), None).await;
    assert_eq!(status, 200);
    readiness.set_ready();
    let (status, body) = call(reqwest::Method::GET, &readyz, None).await;
    assert_eq!((status, body), (200, json!({"status": "ready"})));
    readiness.set_not_ready();
    let (status, _) = call(reqwest::Method::GET, &readyz, None).await;
    assert_eq!(status, 503);
    shutdown.cancel();
    let stopped = tokio::time::timeout(crate::testkit::PATIENCE, task).await;
    stopped.expect("stops once told").expect("did not panic");
}
