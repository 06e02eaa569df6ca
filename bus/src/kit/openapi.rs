//! A service's router and its OpenAPI document from one source: each handler is annotated
//! with `#[utoipa::path]` and registered with `utoipa_axum::routes!`, which adds the route
//! to the router and the operation to the document at once, so that `/openapi.json` cannot
//! drift from the code.

use super::error::{no_route, wrong_method};
use super::{health, Json, Readiness};
use axum::routing::get;
use axum::Router;
use std::sync::Arc;
use tower_http::trace::{DefaultOnFailure, TraceLayer};
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::path::{HttpMethod, OperationBuilder};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::ObjectBuilder;
use utoipa::openapi::{Info, OpenApi, OpenApiBuilder};
use utoipa_axum::router::OpenApiRouter;

/// Where every service serves its document.
const DOCUMENT_PATH: &str = "/openapi.json";

/// An empty router for a service's annotated routes, its document titled `title` (the
/// service's name) at `version` (its crate's, `env!("CARGO_PKG_VERSION")`).
pub fn api_router<S>(title: &str, version: &str) -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
{
    let document = OpenApiBuilder::new()
        .info(Info::new(title, version))
        .build();
    OpenApiRouter::with_openapi(document)
}

/// A service's whole router: its annotated `routes`, `GET /healthz` and `GET /readyz` (over
/// `readiness`), `GET /openapi.json` (the document of all of them), JSON `404` and `405`
/// for anything else, and a request trace on every request.
pub fn service_router<S>(routes: OpenApiRouter<S>, readiness: Readiness) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    service_router_with(routes, readiness, |_| {})
}

/// [`service_router`], with `edit` applied to the finished document (every operation in
/// it) before it is served: what the annotations cannot say for each route, such as a
/// security scheme that covers all but a few (the bus's, a `utoipa::Modify`).
pub fn service_router_with<S>(
    routes: OpenApiRouter<S>,
    readiness: Readiness,
    edit: impl FnOnce(&mut OpenApi),
) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let (router, mut document) = routes.merge(health::routes(readiness)).split_for_parts();
    describe_the_document(&mut document);
    edit(&mut document);
    router
        .route(DOCUMENT_PATH, get(serve_document(document)))
        .fallback(no_route)
        .method_not_allowed_fallback(wrong_method)
        // A 5xx is said where it is made, at the level it deserves (a 500 at ERROR by
        // `ApiError::internal`; a 503 from /readyz while starting, or a gateway's 502, is
        // expected): tower-http's own line for it would be a second, louder one.
        .layer(
            TraceLayer::new_for_http()
                .on_failure(DefaultOnFailure::new().level(tracing::Level::DEBUG)),
        )
}

/// Adds `GET /openapi.json` itself to `document`.
fn describe_the_document(document: &mut OpenApi) {
    let json = ContentBuilder::new()
        .schema(Some(ObjectBuilder::new()))
        .build();
    let answer = ResponseBuilder::new()
        .description("this document, OpenAPI 3.1")
        .content("application/json", json);
    let operation = OperationBuilder::new()
        .tag("openapi")
        .summary(Some("The service's API, generated from its code"))
        .operation_id(Some("openapi"))
        .response("200", answer);
    document
        .paths
        .add_path_operation(DOCUMENT_PATH, vec![HttpMethod::Get], operation);
}

/// A handler answering `document` as JSON.
fn serve_document(
    document: OpenApi,
) -> impl Fn() -> std::future::Ready<Json<OpenApi>> + Clone + Send + Sync + 'static {
    let document = Arc::new(document);
    move || std::future::ready(Json(document.as_ref().clone()))
}
