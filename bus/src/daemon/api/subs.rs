//! `/subscriptions/…`: create, read, update, delete, pause, resume, rewind, skip, dead letters.

use super::query::parse_seq;
use super::{ApiError, AppState};
use crate::daemon::subs::{SubError, Subscriptions};
use crate::wire::{RewindRequest, SubscriptionSpec, SubscriptionStatus};
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use serde_json::json;

impl From<SubError> for ApiError {
    fn from(e: SubError) -> Self {
        let message = e.to_string();
        match e {
            SubError::NotFound(_) | SubError::NoDeadLetter(..) => ApiError::not_found(message),
            SubError::Invalid(_) => ApiError::bad_request("invalid_subscription", message),
            SubError::CursorBeyondHead { after, head } => {
                ApiError::new(StatusCode::CONFLICT, "cursor_beyond_head", message)
                    .with("after", after)
                    .with("head_seq", head)
            }
            SubError::Paused(_) => ApiError::new(StatusCode::CONFLICT, "paused", message),
            SubError::NothingToSkip(_) => {
                ApiError::new(StatusCode::CONFLICT, "nothing_to_skip", message)
            }
            SubError::Store(_) | SubError::Log(_) => {
                tracing::error!(error = %message, "subscription store failed");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "the subscription store failed",
                )
            }
        }
    }
}

fn body<T: serde::de::DeserializeOwned>(
    body: Result<Bytes, BytesRejection>,
    what: &str,
) -> Result<T, ApiError> {
    let body = body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::too_large("body_too_large", "the body is larger than --max-body-bytes")
        } else {
            ApiError::bad_request("unreadable_body", r.body_text())
        }
    })?;
    serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request("invalid_subscription", format!("{what}: {e}")))
}

/// Runs an operation that may scan the log on a blocking thread, off the async workers.
async fn off_workers<T: Send + 'static>(
    app: &AppState,
    op: impl FnOnce(&Subscriptions) -> Result<T, SubError> + Send + 'static,
) -> Result<T, ApiError> {
    let subs = app.subscriptions().clone();
    let result = tokio::task::spawn_blocking(move || op(&subs))
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?;
    Ok(result?)
}

/// `GET /subscriptions`.
pub async fn list(State(app): State<AppState>) -> Result<Json<Vec<SubscriptionStatus>>, ApiError> {
    Ok(Json(app.subscriptions().list()?))
}

/// `GET /subscriptions/NAME`.
pub async fn get(
    State(app): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<SubscriptionStatus>, ApiError> {
    Ok(Json(app.subscriptions().status(&name)?))
}

/// `PUT /subscriptions/NAME`: `201` created, `200` updated; the body is the status.
pub async fn put(
    State(app): State<AppState>,
    Path(name): Path<String>,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let spec: SubscriptionSpec = body(raw, "the subscription")?;
    let (status, created) = app.subscriptions().put(&name, spec)?;
    let code = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((code, Json(status)).into_response())
}

/// `DELETE /subscriptions/NAME`: `204`.
pub async fn delete(
    State(app): State<AppState>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    app.subscriptions().delete(&name)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST …/pause`.
pub async fn pause(
    State(app): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<SubscriptionStatus>, ApiError> {
    Ok(Json(
        app.subscriptions()
            .set_paused(&name, Some("paused by an operator".into()))?,
    ))
}

/// `POST …/resume`.
pub async fn resume(
    State(app): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<SubscriptionStatus>, ApiError> {
    Ok(Json(app.subscriptions().set_paused(&name, None)?))
}

/// `POST …/rewind {"after": SEQ}` or `{"time": "…"}`, optionally `"dry_run": true`.
pub async fn rewind(
    State(app): State<AppState>,
    Path(name): Path<String>,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let request: RewindRequest = body(raw, "the rewind")?;
    // Counting what a rewind redelivers may scan the whole log.
    let reply = off_workers(&app, move |subs| subs.rewind(&name, &request)).await?;
    Ok(Json(reply).into_response())
}

/// `POST …/skip`: parks the event at the cursor; answers the dead letter.
pub async fn skip(
    State(app): State<AppState>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    // Finding the next matching event may scan far.
    let letter = off_workers(&app, move |subs| subs.skip(&name)).await?;
    Ok(Json(letter).into_response())
}

/// `GET …/dead-letters`.
pub async fn dead_letters(
    State(app): State<AppState>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(app.subscriptions().dead_letters(&name)?).into_response())
}

/// `POST …/dead-letters/retry`: `202`.
pub async fn retry_all(
    State(app): State<AppState>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let queued = app.subscriptions().retry_dead_letters(&name, None)?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "queued": queued }))).into_response())
}

/// `POST …/dead-letters/SEQ/retry`: `202`.
pub async fn retry_one(
    State(app): State<AppState>,
    Path((name, seq)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let seq = parse_seq("seq", &seq)?;
    let queued = app.subscriptions().retry_dead_letters(&name, Some(seq))?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "queued": queued }))).into_response())
}

/// `DELETE …/dead-letters/SEQ`: `204`.
pub async fn delete_dead_letter(
    State(app): State<AppState>,
    Path((name, seq)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let seq = parse_seq("seq", &seq)?;
    app.subscriptions().delete_dead_letter(&name, seq)?;
    Ok(StatusCode::NO_CONTENT)
}
