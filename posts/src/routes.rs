//! posts' HTTP API: `POST /posts` (and the course's `POST /posts/create`), `GET /posts`,
//! with health, `/openapi.json` and JSON errors from the kit, and CORS for the course's
//! page.

use crate::post::{NewPost, Post};
use crate::store::PostStore;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::Method;
use axum::Router;
use bus::kit::{api_router, service_router, ApiError, ConfigError, CorsArgs, CorsLayer, Created};
use bus::kit::{Json, Readiness};
use bus::sdk::PUBLISH_WAIT;
use bus::wire::headers::MINIBUS_SEQ;
use serde::ser::{Serialize, SerializeMap, Serializer};
use utoipa_axum::routes;

/// The largest request body taken (larger: `413`): a title is at most 200 characters, at
/// most 12 bytes each when escaped in JSON (`\uD83D\uDE00`), so 2,400 bytes, with room to
/// spare for whitespace around it.
const MAX_BODY_BYTES: usize = 16 * 1024;

/// posts' router: its routes, health, `/openapi.json`, CORS and the body limit.
pub fn router(store: PostStore, readiness: Readiness, cors: CorsLayer) -> Router {
    let routes = api_router("posts", env!("CARGO_PKG_VERSION"))
        .routes(routes!(create))
        .routes(routes!(create_at_posts_create))
        .routes(routes!(list));
    service_router(routes, readiness)
        .with_state(store)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(cors)
}

/// The CORS layer of `--cors-origin`: `GET` and `POST`; the page may read `Minibus-Seq`.
pub fn cors(args: &CorsArgs) -> Result<CorsLayer, ConfigError> {
    args.layer(&[Method::GET, Method::POST], &[MINIBUS_SEQ])
}

/// Creates a post and publishes `PostCreated` (through the outbox: the post is stored even
/// while the bus is down).
#[utoipa::path(post, path = "/posts", tag = "posts", request_body = NewPost, responses(
    (status = CREATED, description = "stored; `Minibus-Seq` once its event is on the bus (within 1 s)",
        body = Post, headers(("minibus-seq" = u64, description = "the seq of its PostCreated, when published within 1 s"))),
    (status = BAD_REQUEST, description = "a title that is empty or over 200 characters once trimmed, or a body that is not `{\"title\"}`", body = ApiError),
    (status = PAYLOAD_TOO_LARGE, description = "a body over 16 KiB", body = ApiError),
    (status = UNSUPPORTED_MEDIA_TYPE, description = "not `Content-Type: application/json`", body = ApiError)))]
async fn create(
    State(store): State<PostStore>,
    Json(new): Json<NewPost>,
) -> Result<Created<Post>, ApiError> {
    create_post(store, new).await
}

/// The course's route for creating a post: the same as `POST /posts`.
#[utoipa::path(post, path = "/posts/create", tag = "posts", request_body = NewPost, responses(
    (status = CREATED, description = "stored; `Minibus-Seq` once its event is on the bus (within 1 s)",
        body = Post, headers(("minibus-seq" = u64, description = "the seq of its PostCreated, when published within 1 s"))),
    (status = BAD_REQUEST, description = "a title that is empty or over 200 characters once trimmed, or a body that is not `{\"title\"}`", body = ApiError),
    (status = PAYLOAD_TOO_LARGE, description = "a body over 16 KiB", body = ApiError),
    (status = UNSUPPORTED_MEDIA_TYPE, description = "not `Content-Type: application/json`", body = ApiError)))]
async fn create_at_posts_create(
    State(store): State<PostStore>,
    Json(new): Json<NewPost>,
) -> Result<Created<Post>, ApiError> {
    create_post(store, new).await
}

/// Every post by id, in creation order.
#[utoipa::path(get, path = "/posts", tag = "posts", responses(
    (status = OK, description = "every post by id, in creation order", body = std::collections::HashMap<String, Post>)))]
async fn list(State(store): State<PostStore>) -> Result<Json<PostsById>, ApiError> {
    let posts = store.all().await.map_err(ApiError::internal)?;
    Ok(Json(PostsById(posts)))
}

/// Validates, stores (with its event), waits up to [`PUBLISH_WAIT`] for the event's seq,
/// and answers `201` with `Minibus-Seq` when it came in time.
async fn create_post(store: PostStore, new: NewPost) -> Result<Created<Post>, ApiError> {
    let post = Post::new(&new.title)?;
    let written = store.create(&post).await.map_err(ApiError::internal)?;
    let seq = store.outbox().wait_for(&written, PUBLISH_WAIT).await;
    tracing::debug!(id = %post.id, seq, "post created");
    Ok(Created { seq, body: post })
}

/// `GET /posts`' body: `{"<id>": {"id", "title"}}` with the keys in creation order (a
/// plain map would sort them).
#[derive(Debug)]
struct PostsById(Vec<Post>);

impl Serialize for PostsById {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for post in &self.0 {
            map.serialize_entry(&post.id, post)?;
        }
        map.end()
    }
}
