//! The rules an event and a name follow (DESIGN "The event"), each written once: the
//! constants state them in messages, the functions check them.

use super::NewEvent;

/// Longest `type`, `id`, `stream`, `source`, `correlation_id` and `causation_id`, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// Deepest nesting of arrays and objects in `data`: subscribers parse it, and common JSON
/// parsers (serde_json among them) refuse documents nested deeper than 128.
pub const MAX_DATA_DEPTH: usize = 64;
/// The rule of an event's `type` (and of `id`, `source`, `correlation_id` and
/// `causation_id`), as error messages state it. See [`is_valid_event_type`].
pub const EVENT_TYPE_RULE: &str = "1–200 characters, no control characters";
/// [`NAME_RULE`] as a literal, for `concat!`.
macro_rules! name_rule {
    () => {
        "[A-Za-z0-9._:-]{1,200}"
    };
}

/// The rule of stream and subscription names, as error messages state it. See
/// [`is_valid_stream_name`].
pub const NAME_RULE: &str = name_rule!();

/// An event's type as `/openapi.json` states [`EVENT_TYPE_RULE`] (its `pattern` refuses the
/// control characters, Unicode's `Cc`, that `char::is_control` finds), for the lists of
/// types in a subscription and a read's query. A single field states the same rule with
/// the same attributes.
#[cfg(feature = "openapi")]
#[derive(utoipa::ToSchema)]
#[schema(
    min_length = 1,
    max_length = 200,
    pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$"
)]
#[allow(
    dead_code,
    reason = "it describes the rule in the document; the rule is checked by hand"
)]
pub(crate) struct EventType(String);

impl NewEvent {
    /// Checks every field rule of DESIGN; the error names the field.
    pub fn validate(&self) -> Result<(), InvalidEvent> {
        check_text(&self.ty).map_err(|reason| InvalidEvent::new("type", reason))?;
        check_optional_text("id", self.id.as_deref())?;
        match &self.stream {
            Some(stream) if !is_valid_stream_name(stream) => {
                return Err(InvalidEvent::new(
                    "stream",
                    concat!("must match ", name_rule!()),
                ));
            }
            None if self.expected_version.is_some() => {
                return Err(InvalidEvent::new(
                    "expected_version",
                    "needs a `stream` to check against",
                ));
            }
            _ => {}
        }
        if let Some(data) = &self.data {
            super::data::check(data.get()).map_err(|reason| InvalidEvent::new("data", reason))?;
        }
        check_optional_text("source", self.source.as_deref())?;
        check_optional_text("correlation_id", self.correlation_id.as_deref())?;
        check_optional_text("causation_id", self.causation_id.as_deref())
    }
}

/// Why an event was refused; maps to `400 invalid_event`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidEvent {
    /// The field that breaks a rule, as named in JSON (`type`, `stream`…).
    pub field: &'static str,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl InvalidEvent {
    fn new(field: &'static str, reason: &'static str) -> Self {
        Self { field, reason }
    }
}

impl std::fmt::Display for InvalidEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}` {}", self.field, self.reason)
    }
}

impl std::error::Error for InvalidEvent {}

/// Whether `ty` may be an event's type: [`EVENT_TYPE_RULE`].
pub fn is_valid_event_type(ty: &str) -> bool {
    check_text(ty).is_ok()
}

/// Checks [`EVENT_TYPE_RULE`], which `id`, `source`, `correlation_id` and `causation_id`
/// follow too; the error says what is wrong.
fn check_text(value: &str) -> Result<(), &'static str> {
    if value.is_empty() {
        return Err("must not be empty");
    }
    if value.chars().count() > MAX_NAME_CHARS {
        return Err("must be at most 200 characters");
    }
    if value.chars().any(char::is_control) {
        return Err("must not contain control characters");
    }
    Ok(())
}

fn check_optional_text(field: &'static str, value: Option<&str>) -> Result<(), InvalidEvent> {
    value.map_or(Ok(()), |v| {
        check_text(v).map_err(|reason| InvalidEvent::new(field, reason))
    })
}

/// Whether `name` may name a stream or a subscription: [`NAME_RULE`].
pub fn is_valid_stream_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_CHARS
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(json: &str) -> NewEvent {
        serde_json::from_str(json).expect("test event parses")
    }

    #[test]
    fn a_plain_course_event_is_valid() {
        assert!(event(r#"{"type":"PostCreated","data":{"id":"p1"}}"#)
            .validate()
            .is_ok());
    }

    #[test]
    fn type_rules() {
        assert_eq!(
            event(r#"{"type":""}"#).validate().unwrap_err().field,
            "type"
        );
        let long = format!(r#"{{"type":"{}"}}"#, "é".repeat(201));
        assert_eq!(event(&long).validate().unwrap_err().field, "type");
        let ok = format!(r#"{{"type":"{}"}}"#, "é".repeat(200));
        assert!(event(&ok).validate().is_ok());
        assert!(event(r#"{"type":"a\u0007b"}"#).validate().is_err());
    }

    #[test]
    fn stream_and_expected_version_rules() {
        assert!(event(r#"{"type":"T","stream":"post-p1:x.y_z"}"#)
            .validate()
            .is_ok());
        assert_eq!(
            event(r#"{"type":"T","stream":"a b"}"#)
                .validate()
                .unwrap_err()
                .field,
            "stream"
        );
        assert_eq!(
            event(r#"{"type":"T","expected_version":0}"#)
                .validate()
                .unwrap_err()
                .field,
            "expected_version"
        );
    }

    #[test]
    fn data_is_checked() {
        let deep = format!(
            r#"{{"type":"T","data":{}{}}}"#,
            "[".repeat(65),
            "]".repeat(65)
        );
        assert_eq!(event(&deep).validate().unwrap_err().field, "data");
        let huge = event(r#"{"type":"T","data":{"n":1e999}}"#);
        assert_eq!(huge.validate().unwrap_err().field, "data");
        assert!(event(r#"{"type":"T","data":{"n":1e9}}"#).validate().is_ok());
    }

    #[test]
    fn control_characters_in_id_are_refused() {
        assert_eq!(
            event(r#"{"type":"T","id":"a\nb"}"#)
                .validate()
                .unwrap_err()
                .field,
            "id"
        );
    }

    #[test]
    fn the_type_rule() {
        assert!(is_valid_event_type("PostCreated"));
        assert!(is_valid_event_type(&"é".repeat(200)));
        assert!(!is_valid_event_type(&"é".repeat(201)));
        assert!(!is_valid_event_type(""));
        assert!(!is_valid_event_type("a\u{7}b"));
    }
}
