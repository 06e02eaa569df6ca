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
        match e {
            SubError::NotFound(_) | SubError::NoDeadLetter(..) => {
                ApiError::not_found(e.to_string())
            }
            SubError::Invalid(message) => ApiError::bad_request("invalid_subscription", message),
            SubError::CursorBeyondHead { after, head } => {
                ApiError::new(StatusCode::CONFLICT, "cursor_beyond_head", e.to_string())
                    .with("after", after)
                    .with("head_seq", head)
            }
            SubError::Paused(_) => ApiError::new(StatusCode::CONFLICT, "paused", e.to_string()),
            SubError::NothingToSkip(_) => {
                ApiError::new(StatusCode::CONFLICT, "nothing_to_skip", e.to_string())
            }
            SubError::Store(_) | SubError::Log(_) | SubError::Thread(_) | SubError::Task(_) => {
                ApiError::internal(&e)
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

/// Runs an operation of the registry on a blocking thread: every one reads or writes sled,
/// and some scan the log (a rewind counts what it redelivers, a skip finds the next match).
async fn blocking<T: Send + 'static>(
    app: &AppState,
    op: impl FnOnce(&Subscriptions) -> Result<T, SubError> + Send + 'static,
) -> Result<T, ApiError> {
    let subs = app.subscriptions().clone();
    let result = tokio::task::spawn_blocking(move || op(&subs))
        .await
        .map_err(|e| ApiError::internal(&e))?;
    Ok(result?)
}

/// `GET /subscriptions`.
pub async fn list(State(app): State<AppState>) -> Result<Json<Vec<SubscriptionStatus>>, ApiError> {
    Ok(Json(blocking(&app, |subs| subs.list()).await?))
}

/// `GET /subscriptions/NAME`.
pub async fn get(
    State(app): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<SubscriptionStatus>, ApiError> {
    Ok(Json(blocking(&app, move |subs| subs.status(&name)).await?))
}

/// `PUT /subscriptions/NAME`: `201` created, `200` updated; the body is the status.
pub async fn put(
    State(app): State<AppState>,
    Path(name): Path<String>,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let spec: SubscriptionSpec = body(raw, "the subscription")?;
    let (status, created) = blocking(&app, move |subs| subs.put(&name, spec)).await?;
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
    blocking(&app, move |subs| subs.delete(&name)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST …/pause`.
pub async fn pause(
    State(app): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<SubscriptionStatus>, ApiError> {
    let reason = Some("paused by an operator".to_string());
    let status = blocking(&app, move |subs| subs.set_paused(&name, reason)).await?;
    Ok(Json(status))
}

/// `POST …/resume`.
pub async fn resume(
    State(app): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<SubscriptionStatus>, ApiError> {
    Ok(Json(
        blocking(&app, move |subs| subs.set_paused(&name, None)).await?,
    ))
}

/// `POST …/rewind {"after": SEQ}` or `{"time": "…"}`, optionally `"dry_run": true`.
pub async fn rewind(
    State(app): State<AppState>,
    Path(name): Path<String>,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let request: RewindRequest = body(raw, "the rewind")?;
    let reply = blocking(&app, move |subs| subs.rewind(&name, &request)).await?;
    Ok(Json(reply).into_response())
}

/// `POST …/skip`: parks the event at the cursor; answers the dead letter.
pub async fn skip(
    State(app): State<AppState>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let letter = blocking(&app, move |subs| subs.skip(&name)).await?;
    Ok(Json(letter).into_response())
}

/// `GET …/dead-letters`.
pub async fn dead_letters(
    State(app): State<AppState>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let letters = blocking(&app, move |subs| subs.dead_letters(&name)).await?;
    Ok(Json(letters).into_response())
}

/// `POST …/dead-letters/retry`: `202`.
pub async fn retry_all(
    State(app): State<AppState>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let queued = blocking(&app, move |subs| subs.retry_dead_letters(&name, None)).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "queued": queued }))).into_response())
}

/// `POST …/dead-letters/SEQ/retry`: `202`.
pub async fn retry_one(
    State(app): State<AppState>,
    Path((name, seq)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let seq = parse_seq("seq", &seq)?;
    let queued = blocking(&app, move |subs| subs.retry_dead_letters(&name, Some(seq))).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "queued": queued }))).into_response())
}

/// `DELETE …/dead-letters/SEQ`: `204`.
pub async fn delete_dead_letter(
    State(app): State<AppState>,
    Path((name, seq)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let seq = parse_seq("seq", &seq)?;
    blocking(&app, move |subs| subs.delete_dead_letter(&name, seq)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::daemon::store::StoreError;
    use crate::daemon::subs::SubStoreError;

    /// The status and body of the answer to `error`.
    async fn answer(error: SubError) -> (StatusCode, serde_json::Value) {
        let response = ApiError::from(error).into_response();
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        (status, serde_json::from_slice(&body).expect("JSON body"))
    }

    #[tokio::test]
    async fn a_store_failure_is_a_500_internal_that_keeps_its_cause_out_of_the_answer() {
        let disk = || sled::Error::Io(std::io::Error::other("disk on fire"));
        for error in [
            SubError::Store(SubStoreError::Engine(disk())),
            SubError::Store(SubStoreError::Unreadable("cursor of s".into())),
            SubError::Log(StoreError::Engine(disk())),
            SubError::Log(StoreError::Corrupt(
                "event 7 is not a readable record".into(),
            )),
        ] {
            let what = format!("{error:?}");
            let (status, body) = answer(error).await;
            assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{what}");
            assert_eq!(body["error"], "internal", "{what}");
            let message = body["message"].as_str().unwrap_or_default();
            for leak in ["fire", "damaged", "cursor", "readable"] {
                assert!(!message.contains(leak), "{what}: {message}");
            }
        }
    }

    #[tokio::test]
    async fn refused_settings_are_a_400_invalid_subscription() {
        let (status, body) = answer(SubError::Invalid("`batch` must be…".into())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"], "invalid_subscription");
    }
}
