//! What the gateway's document states of the requests it forwards: the same rules as the
//! upstreams' own documents (a title of 1–200 characters and a comment of 1–2000 once
//! trimmed, an event type's characters), restated here because the gateway depends on no
//! service; the tests compare them with the services' documents, so that they cannot
//! drift apart unseen.

use serde_json::json;
use utoipa::openapi::schema::{
    AdditionalProperties, KnownFormat, ObjectBuilder, Schema, SchemaFormat, SchemaType, Type,
};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

/// The whitespace Rust's `str::trim` removes, as a regex character class body.
macro_rules! whitespace {
    () => {
        r"\t\n\x0B\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000"
    };
}

/// A text of 1 to `$inner + 2` characters once trimmed, as a JSON Schema `pattern`.
macro_rules! trimmed_text_pattern {
    ($inner:literal) => {
        concat!(
            "^[",
            whitespace!(),
            "]*[^",
            whitespace!(),
            "]",
            r"(?:[\s\S]{0,",
            $inner,
            "}[^",
            whitespace!(),
            "])?[",
            whitespace!(),
            "]*$",
        )
    };
}

/// posts' title rule: 1–200 characters once trimmed.
const TITLE_PATTERN: &str = trimmed_text_pattern!("198");

/// comments' content rule: 1–2000 characters once trimmed.
const CONTENT_PATTERN: &str = trimmed_text_pattern!("1998");

/// `POST /posts`' body, `{"title"}` (only named in the document).
pub(crate) enum NewPost {}

impl PartialSchema for NewPost {
    fn schema() -> RefOr<Schema> {
        let description = "1–200 characters once leading and trailing whitespace is trimmed";
        text_object("title", TITLE_PATTERN, description)
    }
}

impl ToSchema for NewPost {}

/// `POST /posts/{id}/comments`' body, `{"content"}` (only named in the document).
pub(crate) enum NewComment {}

impl PartialSchema for NewComment {
    fn schema() -> RefOr<Schema> {
        let description = "1–2000 characters once leading and trailing whitespace is trimmed";
        text_object("content", CONTENT_PATTERN, description)
    }
}

impl ToSchema for NewComment {}

/// `{"<field>": string}` with the field required and matching `pattern`.
fn text_object(field: &str, pattern: &str, description: &str) -> RefOr<Schema> {
    let text = ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
        .description(Some(description));
    ObjectBuilder::new()
        .property(field, text)
        .required(field)
        .into()
}

/// An event type in a query string (`type=`), as the bus states it: 1–200 characters, no
/// control character (only named in the document).
pub(crate) enum EventTypeName {}

impl PartialSchema for EventTypeName {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(1))
            .max_length(Some(200))
            .pattern(Some(r"^[^\u0000-\u001F\u007F-\u009F]*$"))
            .description(Some("an event type"))
            .into()
    }
}

impl ToSchema for EventTypeName {}

/// `POST /bus/subscriptions/{name}/rewind`'s body as the bus states it: exactly one of
/// `after` (a seq) and `time` (RFC 3339), and `dry_run` (only named in the document).
pub(crate) enum RewindBody {}

impl PartialSchema for RewindBody {
    fn schema() -> RefOr<Schema> {
        let seq = ObjectBuilder::new()
            .schema_type(SchemaType::from_iter([Type::Integer, Type::Null]))
            .format(Some(SchemaFormat::Custom("uint64".into())))
            .minimum(Some(0))
            .maximum(Some(u64::MAX))
            .description(Some("redeliver from `after + 1` (0: from the start)"));
        let time = ObjectBuilder::new()
            .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
            .description(Some("redeliver from the first event with time ≥ this"));
        let dry_run = ObjectBuilder::new()
            .schema_type(Type::Boolean)
            .description(Some("only count what would be redelivered"));
        let mut object = ObjectBuilder::new()
            .property("after", seq)
            .property("time", time)
            .property("dry_run", dry_run)
            .additional_properties(Some(AdditionalProperties::FreeForm(false)))
            .build();
        let one_of = json!([
            {"required": ["after"], "properties": {"after": {"type": "integer"}}},
            {"required": ["time"], "properties": {"time": {"type": "string"}}},
        ]);
        // utoipa has no field for `oneOf` beside properties: its extensions are written
        // beside the schema's own keywords.
        let extensions = object.extensions.get_or_insert_with(Default::default);
        extensions.extend([("oneOf".to_string(), one_of)]);
        object.into()
    }
}

impl ToSchema for RewindBody {}
