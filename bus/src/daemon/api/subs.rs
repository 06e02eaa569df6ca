//! `/subscriptions/…`: create, read, update, delete, pause, resume, rewind, skip, dead letters.

use super::query::parse_seq;
use super::{ApiError, AppState};
use crate::daemon::subs::{SubError, Subscriptions};
use crate::kit::{BodyBytes, Json};
use crate::wire::{DeadLetter, RewindReply, RewindRequest, SubscriptionSpec, SubscriptionStatus};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

impl From<SubError> for ApiError {
    fn from(e: SubError) -> Self {
        match e {
            SubError::NotFound(_) | SubError::NoDeadLetter(..) => {
                ApiError::not_found(e.to_string())
            }
            SubError::Invalid(message) => ApiError::bad_request("invalid_subscription", message),
            SubError::CursorBeyondHead { after, head } => {
                ApiError::conflict("cursor_beyond_head", e.to_string())
                    .with("after", after)
                    .with("head_seq", head)
            }
            SubError::Paused(_) => ApiError::conflict("paused", e.to_string()),
            SubError::NothingToSkip(_) => ApiError::conflict("nothing_to_skip", e.to_string()),
            SubError::Store(_) | SubError::Log(_) | SubError::Thread(_) | SubError::Task(_) => {
                ApiError::internal(e)
            }
        }
    }
}

/// The answer to a retry of dead letters.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct Queued {
    /// The seqs queued for redelivery, ahead of the next event.
    queued: Vec<u64>,
}

/// `body` as JSON of `T`; a body that is not one is `400 invalid_subscription` (the
/// subscriptions take any `Content-Type`, as `curl -d` sends them).
fn parse<T: serde::de::DeserializeOwned>(body: &[u8], what: &str) -> Result<T, ApiError> {
    serde_json::from_slice(body)
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
        .map_err(ApiError::internal)?;
    Ok(result?)
}

/// Every subscription's status (a `url`'s password shown as `***`).
#[utoipa::path(get, path = "/subscriptions", operation_id = "list_subscriptions", tag = "subscriptions", responses(
    (status = OK, description = "every subscription's status, by name", body = [SubscriptionStatus])))]
pub(super) async fn list(
    State(app): State<AppState>,
) -> Result<Json<Vec<SubscriptionStatus>>, ApiError> {
    Ok(Json(blocking(&app, |subs| subs.list()).await?))
}

/// A subscription's status (its `url`'s password shown as `***`).
#[utoipa::path(get, path = "/subscriptions/{name}", operation_id = "get_subscription", tag = "subscriptions",
    params(("name" = String, Path, pattern = "^[A-Za-z0-9._:-]{1,200}$",
        description = "the subscription")),
    responses(
        (status = OK, description = "its status", body = SubscriptionStatus),
        (status = NOT_FOUND, description = "no such subscription", body = ApiError)))]
pub(super) async fn get(
    State(app): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<SubscriptionStatus>, ApiError> {
    Ok(Json(blocking(&app, move |subs| subs.status(&name)).await?))
}

/// Creates a subscription, or replaces its settings; the cursor moves only with `reset`. A
/// `url` whose password is `***`, as statuses show it, keeps the stored password.
#[utoipa::path(put, path = "/subscriptions/{name}", operation_id = "put_subscription", tag = "subscriptions",
    params(("name" = String, Path, pattern = "^[A-Za-z0-9._:-]{1,200}$",
        description = "the subscription")),
    request_body = SubscriptionSpec,
    responses(
        (status = CREATED, description = "created: its status", body = SubscriptionStatus),
        (status = OK, description = "updated: its status", body = SubscriptionStatus),
        (status = BAD_REQUEST, description = "`invalid_subscription`: a setting or the name \
            is refused, the body is not a subscription, or the `url`'s password is `***` but \
            the rest is not the stored URL; `unreadable_body`", body = ApiError),
        (status = CONFLICT, description = "`cursor_beyond_head` (with `after`, `head_seq`): \
            `start` is after the durable head", body = ApiError),
        (status = PAYLOAD_TOO_LARGE, description = "`body_too_large` (--max-body-bytes)",
            body = ApiError)))]
pub(super) async fn put(
    State(app): State<AppState>,
    Path(name): Path<String>,
    BodyBytes(body): BodyBytes,
) -> Result<Response, ApiError> {
    let spec: SubscriptionSpec = parse(&body, "the subscription")?;
    let (status, created) = blocking(&app, move |subs| subs.put(&name, spec)).await?;
    let code = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((code, Json(status)).into_response())
}

/// Deletes a subscription, with its dead letters.
#[utoipa::path(delete, path = "/subscriptions/{name}", operation_id = "delete_subscription", tag = "subscriptions",
    params(("name" = String, Path, pattern = "^[A-Za-z0-9._:-]{1,200}$",
        description = "the subscription")),
    responses(
        (status = NO_CONTENT, description = "deleted"),
        (status = NOT_FOUND, description = "no such subscription", body = ApiError)))]
pub(super) async fn delete(
    State(app): State<AppState>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    blocking(&app, move |subs| subs.delete(&name)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Pauses delivery (the delivery in flight finishes).
#[utoipa::path(post, path = "/subscriptions/{name}/pause", operation_id = "pause_subscription", tag = "subscriptions",
    params(("name" = String, Path, pattern = "^[A-Za-z0-9._:-]{1,200}$",
        description = "the subscription")),
    responses(
        (status = OK, description = "its status", body = SubscriptionStatus),
        (status = NOT_FOUND, description = "no such subscription", body = ApiError)))]
pub(super) async fn pause(
    State(app): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<SubscriptionStatus>, ApiError> {
    let reason = Some("paused by an operator".to_string());
    let status = blocking(&app, move |subs| subs.set_paused(&name, reason)).await?;
    Ok(Json(status))
}

/// Resumes delivery, also from `blocked`.
#[utoipa::path(post, path = "/subscriptions/{name}/resume", operation_id = "resume_subscription", tag = "subscriptions",
    params(("name" = String, Path, pattern = "^[A-Za-z0-9._:-]{1,200}$",
        description = "the subscription")),
    responses(
        (status = OK, description = "its status", body = SubscriptionStatus),
        (status = NOT_FOUND, description = "no such subscription", body = ApiError)))]
pub(super) async fn resume(
    State(app): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<SubscriptionStatus>, ApiError> {
    Ok(Json(
        blocking(&app, move |subs| subs.set_paused(&name, None)).await?,
    ))
}

/// Redelivers after a seq, or from a time, in a new generation; `dry_run` only counts.
#[utoipa::path(post, path = "/subscriptions/{name}/rewind", operation_id = "rewind_subscription", tag = "subscriptions",
    params(("name" = String, Path, pattern = "^[A-Za-z0-9._:-]{1,200}$",
        description = "the subscription")),
    request_body = RewindRequest,
    responses(
        (status = OK, description = "where delivery resumes", body = RewindReply),
        (status = BAD_REQUEST, description = "`invalid_subscription`: neither or both of \
            `after` and `time`, a `time` that is not RFC 3339, or not a rewind; \
            `unreadable_body`", body = ApiError),
        (status = NOT_FOUND, description = "no such subscription", body = ApiError),
        (status = CONFLICT, description = "`cursor_beyond_head` (with `after`, `head_seq`)",
            body = ApiError),
        (status = PAYLOAD_TOO_LARGE, description = "`body_too_large` (--max-body-bytes)",
            body = ApiError)))]
pub(super) async fn rewind(
    State(app): State<AppState>,
    Path(name): Path<String>,
    BodyBytes(body): BodyBytes,
) -> Result<Json<RewindReply>, ApiError> {
    let request: RewindRequest = parse(&body, "the rewind")?;
    let reply = blocking(&app, move |subs| subs.rewind(&name, &request)).await?;
    Ok(Json(reply))
}

/// Parks the next matching event in the dead letters and goes on.
#[utoipa::path(post, path = "/subscriptions/{name}/skip", operation_id = "skip_event", tag = "subscriptions",
    params(("name" = String, Path, pattern = "^[A-Za-z0-9._:-]{1,200}$",
        description = "the subscription")),
    responses(
        (status = OK, description = "the parked event", body = DeadLetter),
        (status = NOT_FOUND, description = "no such subscription", body = ApiError),
        (status = CONFLICT, description = "`nothing_to_skip`: no matching event after the \
            cursor", body = ApiError)))]
pub(super) async fn skip(
    State(app): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<DeadLetter>, ApiError> {
    let letter = blocking(&app, move |subs| subs.skip(&name)).await?;
    Ok(Json(letter))
}

/// The parked events.
#[utoipa::path(get, path = "/subscriptions/{name}/dead-letters", operation_id = "list_dead_letters", tag = "subscriptions",
    params(("name" = String, Path, pattern = "^[A-Za-z0-9._:-]{1,200}$",
        description = "the subscription")),
    responses(
        (status = OK, description = "the dead letters, in seq order", body = [DeadLetter]),
        (status = NOT_FOUND, description = "no such subscription", body = ApiError)))]
pub(super) async fn dead_letters(
    State(app): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Vec<DeadLetter>>, ApiError> {
    let letters = blocking(&app, move |subs| subs.dead_letters(&name)).await?;
    Ok(Json(letters))
}

/// Retries every dead letter, ahead of the next event.
#[utoipa::path(post, path = "/subscriptions/{name}/dead-letters/retry", operation_id = "retry_dead_letters", tag = "subscriptions",
    params(("name" = String, Path, pattern = "^[A-Za-z0-9._:-]{1,200}$",
        description = "the subscription")),
    responses(
        (status = ACCEPTED, description = "queued", body = Queued),
        (status = NOT_FOUND, description = "no such subscription", body = ApiError),
        (status = CONFLICT, description = "`paused`: resume it first", body = ApiError)))]
pub(super) async fn retry_all(
    State(app): State<AppState>,
    Path(name): Path<String>,
) -> Result<(StatusCode, Json<Queued>), ApiError> {
    let queued = blocking(&app, move |subs| subs.retry_dead_letters(&name, None)).await?;
    Ok((StatusCode::ACCEPTED, Json(Queued { queued })))
}

/// Retries one dead letter, ahead of the next event.
#[utoipa::path(post, path = "/subscriptions/{name}/dead-letters/{seq}/retry", operation_id = "retry_dead_letter",
    tag = "subscriptions",
    params(("name" = String, Path, pattern = "^[A-Za-z0-9._:-]{1,200}$",
        description = "the subscription"),
        ("seq" = u64, Path, format = "uint64", maximum = 18_446_744_073_709_551_615_u64,
            description = "the dead letter's seq")),
    responses(
        (status = ACCEPTED, description = "queued", body = Queued),
        (status = BAD_REQUEST, description = "`invalid_query`: `seq` is not a whole number",
            body = ApiError),
        (status = NOT_FOUND, description = "no such subscription or dead letter",
            body = ApiError),
        (status = CONFLICT, description = "`paused`: resume it first", body = ApiError)))]
pub(super) async fn retry_one(
    State(app): State<AppState>,
    Path((name, seq)): Path<(String, String)>,
) -> Result<(StatusCode, Json<Queued>), ApiError> {
    let seq = parse_seq("seq", &seq)?;
    let queued = blocking(&app, move |subs| subs.retry_dead_letters(&name, Some(seq))).await?;
    Ok((StatusCode::ACCEPTED, Json(Queued { queued })))
}

/// Forgets one dead letter.
#[utoipa::path(delete, path = "/subscriptions/{name}/dead-letters/{seq}", operation_id = "delete_dead_letter", tag = "subscriptions",
    params(("name" = String, Path, pattern = "^[A-Za-z0-9._:-]{1,200}$",
        description = "the subscription"),
        ("seq" = u64, Path, format = "uint64", maximum = 18_446_744_073_709_551_615_u64,
            description = "the dead letter's seq")),
    responses(
        (status = NO_CONTENT, description = "deleted"),
        (status = BAD_REQUEST, description = "`invalid_query`: `seq` is not a whole number",
            body = ApiError),
        (status = NOT_FOUND, description = "no such subscription or dead letter",
            body = ApiError)))]
pub(super) async fn delete_dead_letter(
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
