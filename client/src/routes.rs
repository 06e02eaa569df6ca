//! The gateway's router: the page, the blog's routes, the bus's views and actions, with
//! health, `/openapi.json` and JSON errors from the kit, and the request body limit.

use crate::gateway::Gateway;
use crate::{admin, blog, bus_views, page};
use axum::extract::DefaultBodyLimit;
use axum::Router;
use bus::kit::{api_router, service_router, Readiness};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The largest request body the gateway takes (larger: `413 body_too_large`): more than
/// any upstream takes (comments' 32 KiB is the most), so that their own limits answer
/// first, and small enough that a browser cannot make the gateway hold much.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The gateway's router over `gateway`, ready to serve.
pub(crate) fn router(gateway: Gateway, readiness: Readiness) -> Router {
    let routes = api_router("client", env!("CARGO_PKG_VERSION"))
        .routes(routes!(blog::create_post))
        .routes(routes!(blog::create_post_at_create))
        .routes(routes!(blog::list_posts))
        .routes(routes!(blog::one_post))
        .routes(routes!(blog::add_comment, blog::list_comments))
        .routes(routes!(bus_views::events))
        .routes(routes!(bus_views::event_stream))
        .routes(routes!(bus_views::subscriptions))
        .routes(routes!(bus_views::subscription))
        .routes(routes!(bus_views::dead_letters))
        .routes(routes!(bus_views::info))
        .routes(routes!(admin::pause))
        .routes(routes!(admin::resume))
        .routes(routes!(admin::rewind))
        // Undocumented (they are not an API) but traced like the rest.
        .merge(OpenApiRouter::from(page::routes()));
    service_router(routes, readiness)
        .with_state(gateway)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
}
