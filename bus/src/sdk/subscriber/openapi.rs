//! `POST /events` in a service's `/openapi.json`: the route [`super::Subscriber::router`]
//! serves, described once for every service that mounts it.

use crate::kit::ApiError;
use utoipa::openapi::path::HttpMethod;
use utoipa::openapi::{ComponentsBuilder, OpenApi};
use utoipa::{PartialSchema, Path, ToSchema};

/// One delivery from the bus: signed with the subscription's secret.
#[utoipa::path(post, path = "/events", tag = "deliveries",
    params(
        ("webhook-id" = String, Header, description = "Standard Webhooks: the event id (`batch-<first>-<last>` for an array)"),
        ("webhook-timestamp" = i64, Header, description = "Standard Webhooks: seconds since the epoch, within 5 minutes of the service's clock"),
        ("webhook-signature" = String, Header, description = "Standard Webhooks: `v1,<base64 HMAC-SHA256 of \"id.timestamp.body\">` with the subscription's secret"),
    ),
    request_body(content = serde_json::Value, description = "one event envelope, or a JSON array of them, in seq order"),
    responses(
        (status = NO_CONTENT, description = "applied (or applied before): the bus moves the cursor on"),
        (status = BAD_REQUEST, description = "signed, but no event envelope in the body", body = ApiError),
        (status = UNAUTHORIZED, description = "the signature is missing, stale or does not verify: not from the bus", body = ApiError),
        (status = CONFLICT, description = "`stale_generation`: a delivery from before the subscription was rewound", body = ApiError),
        (status = UNPROCESSABLE_ENTITY, description = "`rejected`: the event can never be applied here; the bus parks it", body = ApiError),
        (status = SERVICE_UNAVAILABLE, description = "`not_registered` yet, or `retry`: the bus delivers it again later", body = ApiError)))]
#[allow(dead_code)] // Only its document is used: the route is `Subscriber::router`'s.
fn deliver() {}

/// Adds `POST /events` (and the `ApiError` schema it names) to `document`: pass it to
/// `kit::service_router_with` in a service that merges [`super::Subscriber::router`] into
/// its routes.
pub fn document_deliveries(document: &mut OpenApi) {
    document.paths.add_path_operation(
        __path_deliver::path(),
        vec![HttpMethod::Post],
        __path_deliver::operation(),
    );
    let components = document
        .components
        .get_or_insert_with(|| ComponentsBuilder::new().build());
    components
        .schemas
        .insert(ApiError::name().into_owned(), ApiError::schema());
}
