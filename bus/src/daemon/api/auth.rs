//! The bearer token (`--token`): its check on every route but `/healthz`, `/readyz` and
//! `/metrics`, and the same rule in the document.

use super::{ApiError, AppState};
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{OpenApi, Ref};
use utoipa::{Modify, ToSchema};

/// The routes that answer without the token: probes and metrics.
const OPEN_PATHS: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

/// The name of the scheme in the document.
const SCHEME: &str = "bearer";

/// Answers `401` unless the request carries `Authorization: Bearer <token>`. The token is
/// compared in constant time (`subtle`), so timing tells nothing of how much of it matched;
/// its length may show, which `BusConfig::check`'s 16-character floor makes harmless.
pub(super) async fn require_token(
    State(app): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let Some(token) = app.config().token.as_deref() else {
        return next.run(request).await;
    };
    if OPEN_PATHS.contains(&request.uri().path()) {
        return next.run(request).await;
    }
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_credentials);
    match given {
        Some(given) if bool::from(given.as_bytes().ct_eq(token.as_bytes())) => {
            next.run(request).await
        }
        Some(_) => ApiError::unauthorized("wrong bearer token").into_response(),
        None => ApiError::unauthorized("this bus requires `Authorization: Bearer <token>`")
            .into_response(),
    }
}

/// The credentials of `Authorization: Bearer <credentials>`, the scheme's name in any case
/// (RFC 9110 §11.1), e.g. `bearer` or `BEARER`.
fn bearer_credentials(authorization: &str) -> Option<&str> {
    let (scheme, credentials) = authorization.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| credentials.trim_start_matches(' '))
}

/// The bearer scheme in the document, on every operation but those of [`OPEN_PATHS`]:
/// required, with its `401`, when the bus runs with a token; optional (`{}` or bearer)
/// when it runs without one, as it then ignores `Authorization`.
pub(super) struct BearerSecurity {
    /// The bus runs with `--token`.
    pub(super) required: bool,
}

impl Modify for BearerSecurity {
    fn modify(&self, document: &mut OpenApi) {
        let scheme = Http::builder()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some(
                "the bus's --token, on every route but /healthz, /readyz and /metrics",
            ))
            .build();
        document
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme(SCHEME, SecurityScheme::Http(scheme));
        let bearer = SecurityRequirement::new(SCHEME, Vec::<String>::new());
        let security = if self.required {
            vec![bearer]
        } else {
            vec![SecurityRequirement::default(), bearer]
        };
        let guarded = document
            .paths
            .paths
            .iter_mut()
            .filter(|(path, _)| !OPEN_PATHS.contains(&path.as_str()));
        for (_, item) in guarded {
            for operation in operations(item) {
                operation.security = Some(security.clone());
                if self.required {
                    operation
                        .responses
                        .responses
                        .insert("401".into(), unauthorized().into());
                }
            }
        }
    }
}

/// Every operation of `item`.
fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    let PathItem {
        get,
        put,
        post,
        delete,
        options,
        head,
        patch,
        trace,
        query,
        ..
    } = item;
    [get, put, post, delete, options, head, patch, trace, query]
        .into_iter()
        .filter_map(Option::as_mut)
}

/// The documented `401`.
fn unauthorized() -> utoipa::openapi::Response {
    let error = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name(ApiError::name())))
        .build();
    ResponseBuilder::new()
        .description("unauthorized: no `Authorization: Bearer <token>`, or a wrong token")
        .content("application/json", error)
        .build()
}
