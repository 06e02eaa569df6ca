//! What `/openapi.json` says that the wire types' derived schemas cannot: the structured
//! CloudEvent `POST /events` reads, and the rules between fields (JSON Schema's `if`/`then`
//! and `oneOf`), added to the derived schemas by [`FieldRules`]. The handlers check the
//! same rules by hand; schemathesis (`bus/tests/api/schemathesis.rs`) holds the two
//! together.

use serde_json::{json, Value};
use utoipa::openapi::schema::Schema;
use utoipa::openapi::{OpenApi, RefOr};
use utoipa::Modify;

/// A CloudEvent in structured mode (JSON format, `Content-Type: application/cloudevents+json`):
/// what the bus reads of it; other attributes are allowed and not kept.
#[derive(utoipa::ToSchema)]
#[allow(
    dead_code,
    reason = "it describes the body; the handler parses it by hand, for speed"
)]
pub(super) struct CloudEvent {
    /// The CloudEvents version: `1.0`, the one the bus reads.
    specversion: SpecVersion,
    /// The event's id (the idempotency key), as a minibus event's `id`.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$"
    )]
    id: String,
    /// The event's type, as a minibus event's `type`.
    #[serde(rename = "type")]
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$"
    )]
    ty: String,
    /// Who published it, as a minibus event's `source`.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$"
    )]
    source: String,
    /// Any JSON, stored as the event's `data`.
    #[schema(value_type = Option<Value>)]
    data: Option<Value>,
}

/// The one CloudEvents version the bus reads.
#[derive(utoipa::ToSchema)]
#[allow(dead_code, reason = "it describes the body")]
enum SpecVersion {
    /// CloudEvents 1.0.
    #[serde(rename = "1.0")]
    V1,
}

/// The body of a structured-mode publish: one CloudEvent, or an array of 1 to 1,000
/// appended all or none.
#[derive(utoipa::ToSchema)]
#[serde(untagged)]
#[allow(dead_code, reason = "it describes the body")]
pub(super) enum CloudEventOrArray {
    /// One CloudEvent.
    One(CloudEvent),
    /// CloudEvents appended in order, all or none.
    Array(CloudEventArray),
}

/// 1 to 1,000 CloudEvents.
#[derive(utoipa::ToSchema)]
#[schema(min_items = 1, max_items = 1000)]
#[allow(dead_code, reason = "it describes the body")]
pub(super) struct CloudEventArray(Vec<CloudEvent>);

/// Adds the rules between fields to the derived schemas.
pub(super) struct FieldRules;

impl Modify for FieldRules {
    fn modify(&self, document: &mut OpenApi) {
        // `expected_version` is checked against `stream`, so it needs one.
        add_keywords(
            document,
            "NewEvent",
            json!({
                "if": {
                    "required": ["expected_version"],
                    "properties": {"expected_version": {"type": "integer"}},
                },
                "then": {
                    "required": ["stream"],
                    "properties": {"stream": {"type": "string"}},
                },
            }),
        );
        add_keywords(
            document,
            "SubscriptionSpec",
            json!({"allOf": [
                // Binary mode carries one event per request.
                {
                    "if": {
                        "required": ["format"],
                        "properties": {"format": {"const": "cloudevents"}},
                    },
                    "then": {"properties": {"batch": {"maximum": 1}}},
                },
                // At most once never retries on its own.
                {
                    "if": {
                        "required": ["delivery"],
                        "properties": {"delivery": {"const": "at_most_once"}},
                    },
                    "then": {"properties": {"retry": {
                        "properties": {"max_attempts": {"maximum": 1}},
                    }}},
                },
            ]}),
        );
        // A rewind goes back to a seq or to a time: exactly one of them.
        add_keywords(
            document,
            "RewindRequest",
            json!({
                "oneOf": [
                    {"required": ["after"], "properties": {"after": {"type": "integer"}}},
                    {"required": ["time"], "properties": {"time": {"type": "string"}}},
                ],
            }),
        );
    }
}

/// Adds `keywords` (a JSON object) to the object schema `name`. utoipa has no field for
/// them, so they go in with its extensions, which are written beside the schema's own
/// keywords.
fn add_keywords(document: &mut OpenApi, name: &str, keywords: Value) {
    let schema = document
        .components
        .as_mut()
        .and_then(|components| components.schemas.get_mut(name));
    let (Some(RefOr::T(Schema::Object(object))), Value::Object(keywords)) = (schema, keywords)
    else {
        debug_assert!(false, "no object schema {name} in the document");
        return;
    };
    object
        .extensions
        .get_or_insert_with(Default::default)
        .extend(keywords);
}
