//! query's HTTP API: `GET /posts` and `GET /posts/{id}`, each able to wait for a seq
//! (`min_seq`, `wait_ms`) and each answered with `Minibus-Applied-Seq`; the SDK's
//! `POST /events`; health and `/openapi.json` from the kit; CORS for the course's page.

use crate::projection::Post;
use crate::read_model::ReadModel;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use axum::Router;
use bus::kit::Readiness;
use bus::kit::{
    api_router, quote, service_router_with, ApiError, ConfigError, CorsArgs, CorsLayer,
};
use bus::sdk::document_deliveries;
use std::time::Duration;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The header every `GET` answer carries: everything up to this seq is in the answer.
pub const APPLIED_SEQ: &str = "minibus-applied-seq";
/// How long `min_seq` waits unless `wait_ms` says otherwise.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(2);
/// The longest `wait_ms`.
pub const MAX_WAIT_MS: u64 = 10_000;

/// The largest `min_seq`: the document's integers are `int64`.
const MAX_SEQ: u64 = i64::MAX as u64;

/// `?min_seq=N&wait_ms=W`: answer once seq N is applied, waiting at most W ms.
#[derive(Debug, Default, PartialEq, Eq, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Wait {
    /// Answer once the event at this seq is applied (e.g. a write's `Minibus-Seq`).
    #[param(maximum = 9223372036854775807_u64)]
    min_seq: Option<u64>,
    /// How long to wait for `min_seq`, in ms (default 2000); past it the answer is what is
    /// applied then, still `200`.
    #[param(maximum = 10000)]
    wait_ms: Option<u64>,
}

/// query's router: its routes, `deliveries` (the SDK subscriber's router, `POST /events`),
/// health, and the document of all of them; CORS.
pub fn router(
    model: ReadModel,
    deliveries: Router,
    readiness: Readiness,
    cors: CorsLayer,
) -> Router {
    let routes = api_router("query", env!("CARGO_PKG_VERSION"))
        .routes(routes!(all_posts))
        .routes(routes!(one_post))
        .with_state(model.clone())
        .merge(OpenApiRouter::from(deliveries));
    service_router_with(routes, readiness, document_deliveries)
        .layer(axum::middleware::map_response_with_state(
            model,
            every_answer_says_applied,
        ))
        .layer(cors)
}

/// `Minibus-Applied-Seq` on every answer (health, errors, the document) that has none: the
/// routes of posts set their own, read before the projection.
async fn every_answer_says_applied(State(model): State<ReadModel>, response: Response) -> Response {
    match response.headers().contains_key(APPLIED_SEQ) {
        true => response,
        false => with_applied(response, model.applied()),
    }
}

/// The CORS layer of `--cors-origin`: `GET`; the page may read `Minibus-Applied-Seq`.
pub fn cors(args: &CorsArgs) -> Result<CorsLayer, ConfigError> {
    args.layer(&[Method::GET], &[APPLIED_SEQ])
}

/// Every post with its comments, in creation order.
#[utoipa::path(get, path = "/posts", tag = "query", params(Wait), responses(
    (status = OK, description = "`{\"<post id>\": post}` in creation order; everything up to `Minibus-Applied-Seq` is in it",
        body = std::collections::HashMap<String, Post>, headers(("Minibus-Applied-Seq" = u64, description = "the last seq applied"))),
    (status = BAD_REQUEST, description = "a `min_seq` or `wait_ms` that is not a number in range", body = ApiError)))]
async fn all_posts(State(model): State<ReadModel>, RawQuery(raw): RawQuery) -> Response {
    let wait = match parse_wait(raw.as_deref()) {
        Ok(wait) => wait,
        Err(e) => return with_applied(e.into_response(), model.applied()),
    };
    let applied = wait_for(&model, &wait).await;
    let body = model.read(serde_json::to_vec);
    with_applied(json_bytes(body), applied)
}

/// One post with its comments.
#[utoipa::path(get, path = "/posts/{id}", tag = "query", params(("id" = String, Path, description = "the post's id"), Wait),
    responses(
        (status = OK, description = "the post", body = Post, headers(("Minibus-Applied-Seq" = u64, description = "the last seq applied"))),
        (status = BAD_REQUEST, description = "a `min_seq` or `wait_ms` that is not a number in range", body = ApiError),
        (status = NOT_FOUND, description = "no such post (yet: see `min_seq`)", body = ApiError)))]
async fn one_post(
    State(model): State<ReadModel>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let wait = match parse_wait(raw.as_deref()) {
        Ok(wait) => wait,
        Err(e) => return with_applied(e.into_response(), model.applied()),
    };
    let applied = wait_for(&model, &wait).await;
    let body = model.read(|projection| projection.post(&id).map(serde_json::to_vec));
    let answer = match body {
        Some(body) => json_bytes(body),
        None => ApiError::not_found(format!("no post {}", quote(&id))).into_response(),
    };
    with_applied(answer, applied)
}

/// Waits for `min_seq` if asked; the seq applied, read before the projection is, so that
/// the answer holds at least everything up to it.
async fn wait_for(model: &ReadModel, wait: &Wait) -> u64 {
    let Some(seq) = wait.min_seq else {
        return model.applied();
    };
    let timeout = wait.wait_ms.map_or(DEFAULT_WAIT, Duration::from_millis);
    model.wait_for(seq, timeout).await
}

/// Reads `min_seq` and `wait_ms` (other parameters are ignored); `400 invalid_query` for a
/// value that is not a whole number, a `min_seq` over `i64::MAX`, a `wait_ms` over
/// [`MAX_WAIT_MS`], or a parameter given twice.
pub fn parse_wait(raw: Option<&str>) -> Result<Wait, ApiError> {
    let mut wait = Wait::default();
    for (key, value) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        let slot = match key.as_ref() {
            "min_seq" => &mut wait.min_seq,
            "wait_ms" => &mut wait.wait_ms,
            _ => continue,
        };
        if slot.is_some() {
            return Err(invalid(format!("`{key}` is given twice")));
        }
        let number = value.parse::<u64>().map_err(|_| {
            invalid(format!(
                "`{key}` must be a whole number, not {:?}",
                quote(&value)
            ))
        })?;
        *slot = Some(number);
    }
    if wait.min_seq.is_some_and(|seq| seq > MAX_SEQ) {
        return Err(invalid(format!("`min_seq` is at most {MAX_SEQ}")));
    }
    if wait.wait_ms.is_some_and(|ms| ms > MAX_WAIT_MS) {
        return Err(invalid(format!("`wait_ms` is at most {MAX_WAIT_MS}")));
    }
    Ok(wait)
}

fn invalid(message: String) -> ApiError {
    ApiError::bad_request("invalid_query", message)
}

/// A `200` of JSON already serialised; a `500` if it could not be.
fn json_bytes(body: Result<Vec<u8>, serde_json::Error>) -> Response {
    match body {
        Ok(body) => ([(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(e) => ApiError::internal(e).into_response(),
    }
}

fn with_applied(mut response: Response, applied: u64) -> Response {
    response
        .headers_mut()
        .insert(APPLIED_SEQ, HeaderValue::from(applied));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wait(min_seq: Option<u64>, wait_ms: Option<u64>) -> Wait {
        Wait { min_seq, wait_ms }
    }

    #[test]
    fn wait_parameters_parse_and_others_are_ignored() {
        assert_eq!(parse_wait(None).expect("none"), Wait::default());
        assert_eq!(
            parse_wait(Some("min_seq=7&wait_ms=10000&utm=x")).expect("both"),
            wait(Some(7), Some(10_000))
        );
    }

    #[test]
    fn bad_wait_parameters_are_400() {
        for raw in [
            "min_seq=x",
            "min_seq=-1",
            "min_seq=",
            "wait_ms=10001",
            "min_seq=9223372036854775808",
            "wait_ms=1.5",
            "min_seq=1&min_seq=2",
        ] {
            let error = parse_wait(Some(raw)).expect_err(raw);
            assert_eq!(
                (error.status().as_u16(), error.code()),
                (400, "invalid_query"),
                "{raw}"
            );
        }
    }
}
