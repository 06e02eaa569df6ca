//! `GET /healthz` (the process answers) and `GET /readyz` (the service is ready for
//! traffic), as Kubernetes probes them.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Whether the service is ready for traffic: a cheap handle shared by the service (which
/// raises it once started: registered with the bus, caught up…) and `/readyz` (which
/// answers `503` until then). Clones share one flag.
///
/// A failure the service cannot recover from while it runs (the bus's store can no longer
/// be written) is a token: once it is cancelled `/readyz` answers `503` with the failure's
/// code for good ([`Readiness::failed_when`]).
#[derive(Debug, Clone, Default)]
pub struct Readiness {
    ready: Arc<AtomicBool>,
    failure: Option<Failure>,
}

/// A failure that ends readiness for good: cancelled `token`, answered as `code`.
#[derive(Debug, Clone)]
struct Failure {
    token: CancellationToken,
    code: &'static str,
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

    /// The same readiness, which from the moment `failure` is cancelled answers `503
    /// {"status": code}` for good, whatever the flag says.
    pub fn failed_when(self, failure: CancellationToken, code: &'static str) -> Self {
        Self {
            failure: Some(Failure {
                token: failure,
                code,
            }),
            ..self
        }
    }

    /// Whether `/readyz` answers `200`.
    pub fn is_ready(&self) -> bool {
        self.status().is_ok()
    }

    /// `Ok` when ready, or the code `/readyz` answers with its `503`.
    fn status(&self) -> Result<(), &'static str> {
        match &self.failure {
            Some(failure) if failure.token.is_cancelled() => Err(failure.code),
            _ if self.ready.load(Ordering::Acquire) => Ok(()),
            _ => Err("not_ready"),
        }
    }
}

/// The body of `/healthz` and `/readyz`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct ProbeStatus {
    /// `ok` (`/healthz`); `ready`, `not_ready`, or the code of a failure (the bus:
    /// `storage_unavailable`) (`/readyz`).
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
    (status = SERVICE_UNAVAILABLE, description = "not ready: starting, lost what it needs, or failed (the bus: its log can no longer be written)", body = ProbeStatus)))]
async fn readyz(State(readiness): State<Readiness>) -> (StatusCode, super::Json<ProbeStatus>) {
    match readiness.status() {
        Ok(()) => (StatusCode::OK, super::Json(ProbeStatus { status: "ready" })),
        Err(status) => (
            StatusCode::SERVICE_UNAVAILABLE,
            super::Json(ProbeStatus { status }),
        ),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_ends_readiness_for_good_with_its_code() {
        let failure = CancellationToken::new();
        let readiness = Readiness::new().failed_when(failure.clone(), "storage_unavailable");
        assert_eq!(readiness.status(), Err("not_ready"));
        readiness.set_ready();
        assert!(readiness.is_ready());
        failure.cancel();
        assert_eq!(readiness.status(), Err("storage_unavailable"));
        readiness.set_ready();
        assert!(!readiness.clone().is_ready(), "clones share the failure");
    }
}
