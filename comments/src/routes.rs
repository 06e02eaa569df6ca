//! comments' HTTP API: `POST /posts/{id}/comments`, `GET /posts/{id}/comments`, the SDK
//! subscriber's `POST /events`, with health, `/openapi.json`, JSON errors and CORS.

use crate::comment::{Comment, NewComment, CONTENT};
use crate::store::CommentStore;
use crate::verify::{PostCheck, PostVerifier};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::Method;
use axum::Router;
use bus::kit::{api_router, service_router_with, ApiError, ConfigError, CorsArgs, CorsLayer};
use bus::kit::{Created, Json, Readiness};
use bus::sdk::{document_deliveries, PUBLISH_WAIT};
use bus::wire::headers::MINIBUS_SEQ;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The largest request body taken (larger: `413`): 2,000 characters of at most 12 bytes
/// each when escaped in JSON (`\uD83D\uDE00`), with room to spare.
const MAX_BODY_BYTES: usize = 32 * 1024;

/// What the handlers share.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The comments and the replica.
    pub store: CommentStore,
    /// Whether a post exists.
    pub verifier: PostVerifier,
}

/// comments' router: its routes, `deliveries` (the SDK subscriber's `POST /events`),
/// health, `/openapi.json`, CORS and the body limit.
pub fn router(
    state: AppState,
    deliveries: Router,
    readiness: Readiness,
    cors: CorsLayer,
) -> Router {
    let routes = api_router("comments", env!("CARGO_PKG_VERSION"))
        .routes(routes!(create, list))
        .with_state(state)
        .merge(OpenApiRouter::from(deliveries));
    service_router_with(routes, readiness, document_deliveries)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(cors)
}

/// The CORS layer of `--cors-origin`: `GET` and `POST`; the page may read `Minibus-Seq`.
pub fn cors(args: &CorsArgs) -> Result<CorsLayer, ConfigError> {
    args.layer(&[Method::GET, Method::POST], &[MINIBUS_SEQ])
}

/// Comments on a post: stores a pending comment and publishes `CommentCreated` (through
/// the outbox: stored even while the bus is down); answers all the post's comments.
#[utoipa::path(post, path = "/posts/{id}/comments", tag = "comments",
    params(("id" = String, Path, description = "the post's id")),
    request_body = NewComment, responses(
    (status = CREATED, description = "stored; all the post's comments, in creation order; `Minibus-Seq` once its event is on the bus (within 1 s)",
        body = Vec<Comment>, headers(("minibus-seq" = u64, description = "the seq of its CommentCreated, when published within 1 s"))),
    (status = BAD_REQUEST, description = "a content that is empty or over 2000 characters once trimmed, or a body that is not `{\"content\"}`", body = ApiError),
    (status = NOT_FOUND, description = "no such post (after waiting up to 2 s for comments to catch up with the bus)", body = ApiError),
    (status = PAYLOAD_TOO_LARGE, description = "a body over 32 KiB", body = ApiError),
    (status = UNSUPPORTED_MEDIA_TYPE, description = "not `Content-Type: application/json`", body = ApiError),
    (status = SERVICE_UNAVAILABLE, description = "`post_unverified`: the post is unknown here and the bus cannot be reached to check; retry after `Retry-After`", body = ApiError,
        headers(("retry-after" = u64, description = "seconds")))))]
async fn create(
    State(state): State<AppState>,
    Path(post_id): Path<String>,
    Json(new): Json<NewComment>,
) -> Result<Created<Vec<Comment>>, ApiError> {
    let content = CONTENT.check(&new.content)?;
    match state
        .verifier
        .check(&post_id)
        .await
        .map_err(ApiError::internal)?
    {
        PostCheck::Known => {}
        PostCheck::Unknown => {
            return Err(ApiError::not_found(format!(
                "no post {}",
                bus::kit::quote(&post_id)
            )))
        }
        PostCheck::Unverified => return Err(post_unverified()),
    }
    let store = &state.store;
    let (comment, written) = store
        .create(&post_id, content)
        .await
        .map_err(ApiError::internal)?;
    let seq = store.outbox().wait_for(&written, PUBLISH_WAIT).await;
    let comments = store.list(&post_id).await.map_err(ApiError::internal)?;
    tracing::debug!(id = %comment.id, post = %post_id, seq, "comment created");
    Ok(Created {
        seq,
        body: comments,
    })
}

/// A post's comments, in creation order (`[]` for an unknown post).
#[utoipa::path(get, path = "/posts/{id}/comments", tag = "comments",
    params(("id" = String, Path, description = "the post's id")),
    responses((status = OK, description = "the post's comments, in creation order", body = Vec<Comment>)))]
async fn list(
    State(state): State<AppState>,
    Path(post_id): Path<String>,
) -> Result<Json<Vec<Comment>>, ApiError> {
    let comments = state
        .store
        .list(&post_id)
        .await
        .map_err(ApiError::internal)?;
    Ok(Json(comments))
}

/// `503 post_unverified` (with `Retry-After: 1`, as the kit's `unavailable` sets).
fn post_unverified() -> ApiError {
    ApiError::unavailable(
        "post_unverified",
        "the post is unknown here and the bus cannot be reached to check it",
    )
}
