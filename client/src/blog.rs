//! The blog's routes, as the course's ingress routes them: writes of posts to posts, reads
//! of posts to query, a post's comments to comments. Each passes the upstream's answer on
//! unchanged.

use crate::gateway::{Gateway, Incoming};
use crate::schemas::{NewComment, NewPost};
use crate::upstream::Service;
use axum::extract::State;
use axum::response::Response;
use bus::kit::ApiError;

/// Creates a post (posts' `POST /posts`).
#[utoipa::path(post, path = "/posts", tag = "posts",
    request_body = NewPost,
    responses(
        (status = CREATED, description = "posts' answer: the post, `Minibus-Seq` once its event is on the bus"),
        (status = BAD_REQUEST, description = "posts refused the title or the body", body = ApiError),
        (status = PAYLOAD_TOO_LARGE, description = "a body over the gateway's or posts' limit", body = ApiError),
        (status = UNSUPPORTED_MEDIA_TYPE, description = "not `Content-Type: application/json`", body = ApiError),
        (status = BAD_GATEWAY, description = "posts is unavailable", body = ApiError),
        (status = GATEWAY_TIMEOUT, description = "posts did not answer in time", body = ApiError)))]
pub(crate) async fn create_post(State(gateway): State<Gateway>, incoming: Incoming) -> Response {
    gateway.call(Service::Posts, incoming).await
}

/// Creates a post: the course's route (posts' `POST /posts/create`).
#[utoipa::path(post, path = "/posts/create", tag = "posts",
    request_body = NewPost,
    responses(
        (status = CREATED, description = "posts' answer: the post, `Minibus-Seq` once its event is on the bus"),
        (status = BAD_REQUEST, description = "posts refused the title or the body", body = ApiError),
        (status = PAYLOAD_TOO_LARGE, description = "a body over the gateway's or posts' limit", body = ApiError),
        (status = UNSUPPORTED_MEDIA_TYPE, description = "not `Content-Type: application/json`", body = ApiError),
        (status = BAD_GATEWAY, description = "posts is unavailable", body = ApiError),
        (status = GATEWAY_TIMEOUT, description = "posts did not answer in time", body = ApiError)))]
pub(crate) async fn create_post_at_create(
    State(gateway): State<Gateway>,
    incoming: Incoming,
) -> Response {
    gateway.call(Service::Posts, incoming).await
}

/// Every post with its comments (query's `GET /posts`; `min_seq` and `wait_ms` pass
/// through).
#[utoipa::path(get, path = "/posts", tag = "query",
    params(
        ("min_seq" = Option<u64>, Query, minimum = 0, maximum = 9_223_372_036_854_775_807_u64,
            description = "answer once this seq is applied (e.g. a write's `Minibus-Seq`)"),
        ("wait_ms" = Option<u64>, Query, minimum = 0, maximum = 10000,
            description = "how long to wait for `min_seq`, in ms (default 2000)")),
    responses(
        (status = OK, description = "query's answer, with `Minibus-Applied-Seq`"),
        (status = BAD_REQUEST, description = "query refused the query string", body = ApiError),
        (status = BAD_GATEWAY, description = "query is unavailable", body = ApiError),
        (status = GATEWAY_TIMEOUT, description = "query did not answer in time", body = ApiError)))]
pub(crate) async fn list_posts(State(gateway): State<Gateway>, incoming: Incoming) -> Response {
    gateway.call(Service::Query, incoming).await
}

/// One post with its comments (query's `GET /posts/{id}`).
#[utoipa::path(get, path = "/posts/{id}", tag = "query",
    params(
        ("id" = String, Path, description = "the post's id"),
        ("min_seq" = Option<u64>, Query, minimum = 0, maximum = 9_223_372_036_854_775_807_u64,
            description = "answer once this seq is applied (e.g. a write's `Minibus-Seq`)"),
        ("wait_ms" = Option<u64>, Query, minimum = 0, maximum = 10000,
            description = "how long to wait for `min_seq`, in ms (default 2000)")),
    responses(
        (status = OK, description = "query's answer, with `Minibus-Applied-Seq`"),
        (status = BAD_REQUEST, description = "query refused the query string", body = ApiError),
        (status = NOT_FOUND, description = "no such post", body = ApiError),
        (status = BAD_GATEWAY, description = "query is unavailable", body = ApiError),
        (status = GATEWAY_TIMEOUT, description = "query did not answer in time", body = ApiError)))]
pub(crate) async fn one_post(State(gateway): State<Gateway>, incoming: Incoming) -> Response {
    gateway.call(Service::Query, incoming).await
}

/// Adds a comment to a post (comments' `POST /posts/{id}/comments`).
#[utoipa::path(post, path = "/posts/{id}/comments", tag = "comments",
    params(("id" = String, Path, description = "the post's id")),
    request_body = NewComment,
    responses(
        (status = CREATED, description = "comments' answer: the post's comments, `Minibus-Seq` once its event is on the bus"),
        (status = BAD_REQUEST, description = "comments refused the content or the body", body = ApiError),
        (status = NOT_FOUND, description = "no such post", body = ApiError),
        (status = PAYLOAD_TOO_LARGE, description = "a body over the gateway's or comments' limit", body = ApiError),
        (status = UNSUPPORTED_MEDIA_TYPE, description = "not `Content-Type: application/json`", body = ApiError),
        (status = BAD_GATEWAY, description = "comments is unavailable", body = ApiError),
        (status = SERVICE_UNAVAILABLE, description = "comments cannot check the post now", body = ApiError),
        (status = GATEWAY_TIMEOUT, description = "comments did not answer in time", body = ApiError)))]
pub(crate) async fn add_comment(State(gateway): State<Gateway>, incoming: Incoming) -> Response {
    gateway.call(Service::Comments, incoming).await
}

/// A post's comments (comments' `GET /posts/{id}/comments`).
#[utoipa::path(get, path = "/posts/{id}/comments", tag = "comments",
    params(("id" = String, Path, description = "the post's id")),
    responses(
        (status = OK, description = "comments' answer: the post's comments"),
        (status = NOT_FOUND, description = "a `.` or `..` id", body = ApiError),
        (status = BAD_GATEWAY, description = "comments is unavailable", body = ApiError),
        (status = GATEWAY_TIMEOUT, description = "comments did not answer in time", body = ApiError)))]
pub(crate) async fn list_comments(State(gateway): State<Gateway>, incoming: Incoming) -> Response {
    gateway.call(Service::Comments, incoming).await
}
