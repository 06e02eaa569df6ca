//! `GET /healthz` (the process answers) and `GET /readyz` (the service is ready for
//! traffic), as Kubernetes probes them.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Whether the service is ready for traffic: a cheap handle shared by the service (which
/// raises it once started: registered with the bus, caught up…) and `/readyz` (which
/// answers `503` until then). Clones share one flag.
#[derive(Debug, Clone, Default)]
pub struct Readiness {
    ready: Arc<AtomicBool>,
}

impl Readiness {
    /// Not ready yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// From now on `/readyz` answers `200`.
    pub fn set_ready(&self) {
        self.ready.store(true, Ordering::Release);
    }

    /// From now on `/readyz` answers `503` again (lost the bus, catching up after a rewind…).
    pub fn set_not_ready(&self) {
        self.ready.store(false, Ordering::Release);
    }

    /// Whether `/readyz` answers `200`.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }
}

/// The body of `/healthz` and `/readyz`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct ProbeStatus {
    /// `ok` (`/healthz`), `ready` or `not_ready` (`/readyz`).
    status: &'static str,
}

/// The process answers.
#[utoipa::path(get, path = "/healthz", tag = "health",
    responses((status = OK, description = "the process answers", body = ProbeStatus)))]
async fn healthz() -> super::Json<ProbeStatus> {
    super::Json(ProbeStatus { status: "ok" })
}

/// The service is ready for traffic.
#[utoipa::path(get, path = "/readyz", tag = "health", responses(
    (status = OK, description = "ready", body = ProbeStatus),
    (status = SERVICE_UNAVAILABLE, description = "not ready yet (starting, or lost what it needs)", body = ProbeStatus)))]
async fn readyz(State(readiness): State<Readiness>) -> (StatusCode, super::Json<ProbeStatus>) {
    if readiness.is_ready() {
        (StatusCode::OK, super::Json(ProbeStatus { status: "ready" }))
    } else {
        let status = "not_ready";
        (
            StatusCode::SERVICE_UNAVAILABLE,
            super::Json(ProbeStatus { status }),
        )
    }
}

/// `/healthz` and `/readyz` over `readiness`, for a router of any state.
pub(crate) fn routes<S>(readiness: Readiness) -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
{
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .with_state(readiness)
}
