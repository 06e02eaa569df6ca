//! moderation's HTTP surface: the SDK subscriber's `POST /events`, health, `/openapi.json`.

use axum::Router;
use bus::kit::{api_router, service_router_with, Readiness};
use bus::sdk::document_deliveries;
use utoipa_axum::router::OpenApiRouter;

/// The service's router: `deliveries` (the SDK subscriber's router, `POST /events`),
/// `/healthz`, `/readyz` over `readiness`, and the document of all of them.
pub fn router(deliveries: Router, readiness: Readiness) -> Router {
    let routes =
        api_router("moderation", env!("CARGO_PKG_VERSION")).merge(OpenApiRouter::from(deliveries));
    service_router_with(routes, readiness, document_deliveries)
}
