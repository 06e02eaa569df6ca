//! A service's router and its OpenAPI document from one source: each handler is annotated
//! with `#[utoipa::path]` and registered with `utoipa_axum::routes!`, which adds the route
//! to the router and the operation to the document at once, so that `/openapi.json` cannot
//! drift from the code.

use super::error::{no_route, wrong_method};
use super::{health, Json, Readiness};
use axum::routing::get;
use axum::Router;
use std::sync::Arc;
use tower_http::trace::TraceLayer;
use utoipa::openapi::{Info, OpenApi, OpenApiBuilder};
use utoipa_axum::router::OpenApiRouter;

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
    let (router, document) = routes.merge(health::routes(readiness)).split_for_parts();
    router
        .route("/openapi.json", get(serve_document(document)))
        .fallback(no_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(TraceLayer::new_for_http())
}

/// A handler answering `document` as JSON.
fn serve_document(
    document: OpenApi,
) -> impl Fn() -> std::future::Ready<Json<OpenApi>> + Clone + Send + Sync + 'static {
    let document = Arc::new(document);
    move || std::future::ready(Json(document.as_ref().clone()))
}
