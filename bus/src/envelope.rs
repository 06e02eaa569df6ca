//! The event envelope and the rules an event must follow (DESIGN "The event").
//!
//! `data` is carried as [`RawValue`]: the publisher's exact JSON text, never re-serialised,
//! so key order and number formats survive the round trip.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// Longest `type`, `id`, `stream`, `source`, `correlation_id` and `causation_id`, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// Deepest nesting of arrays and objects in `data`: subscribers parse it, and common JSON
/// parsers (serde_json among them) refuse documents nested deeper than 128.
pub const MAX_DATA_DEPTH: usize = 64;

/// An event as the bus stores and delivers it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Envelope {
    /// Gapless position in the log, from 1.
    pub seq: u64,
    /// Unique id; the idempotency key.
    pub id: String,
    /// The event's type, e.g. `PostCreated`.
    #[serde(rename = "type")]
    pub ty: String,
    /// The publisher's JSON, exactly as sent.
    pub data: Box<RawValue>,
    /// The aggregate the event belongs to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<String>,
    /// 1-based position in `stream`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    /// The publisher's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// When the bus appended it (RFC 3339 UTC, never decreasing along `seq`).
    pub time: String,
    /// Carried along a chain of events published in reaction to each other.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// The id of the event this one reacts to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub causation_id: Option<String>,
}

/// An event as a publisher sends it: only `type` is required.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewEvent {
    /// Idempotency key; the bus assigns a UUIDv7 when absent (then the publish is not safe to retry).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The event's type, 1–200 characters.
    #[serde(rename = "type")]
    pub ty: String,
    /// Any JSON; `null` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Box<RawValue>>,
    /// The aggregate, `[A-Za-z0-9._:-]{1,200}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<String>,
    /// Append only if `stream` is at this version (0 = the stream must not exist).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_version: Option<u64>,
    /// The publisher's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// See [`Envelope::correlation_id`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// See [`Envelope::causation_id`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub causation_id: Option<String>,
}

impl NewEvent {
    /// An event of `ty` carrying `data` (serialised now), with no id yet.
    pub fn new(ty: impl Into<String>, data: &impl Serialize) -> Result<Self, serde_json::Error> {
        Ok(Self {
            id: None,
            ty: ty.into(),
            data: Some(serde_json::value::to_raw_value(data)?),
            stream: None,
            expected_version: None,
            source: None,
            correlation_id: None,
            causation_id: None,
        })
    }

    /// Checks every field rule of DESIGN; the error names the field.
    pub fn validate(&self) -> Result<(), InvalidEvent> {
        check_name("type", &self.ty)?;
        if let Some(id) = &self.id {
            check_name("id", id)?;
        }
        if let Some(stream) = &self.stream {
            if !is_valid_stream_name(stream) {
                return Err(InvalidEvent::new(
                    "stream",
                    "must match [A-Za-z0-9._:-]{1,200}",
                ));
            }
        } else if self.expected_version.is_some() {
            return Err(InvalidEvent::new(
                "expected_version",
                "needs a `stream` to check against",
            ));
        }
        if self
            .data
            .as_deref()
            .is_some_and(|d| json_depth(d.get()) > MAX_DATA_DEPTH)
        {
            return Err(InvalidEvent::new(
                "data",
                "must not nest deeper than 64 levels",
            ));
        }
        for (field, value) in [
            ("source", &self.source),
            ("correlation_id", &self.correlation_id),
            ("causation_id", &self.causation_id),
        ] {
            if let Some(v) = value {
                check_name(field, v)?;
            }
        }
        Ok(())
    }
}

/// Why an event was refused; maps to `400 invalid_event`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidEvent {
    /// The offending field.
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

fn check_name(field: &'static str, value: &str) -> Result<(), InvalidEvent> {
    if value.is_empty() {
        return Err(InvalidEvent::new(field, "must not be empty"));
    }
    if value.chars().count() > MAX_NAME_CHARS {
        return Err(InvalidEvent::new(field, "must be at most 200 characters"));
    }
    if value.chars().any(char::is_control) {
        return Err(InvalidEvent::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

/// How deeply arrays and objects nest in a JSON text (brackets inside strings do not count).
fn json_depth(json: &str) -> usize {
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0, false, false);
    for b in json.bytes() {
        match (in_string, escaped, b) {
            (true, true, _) => escaped = false,
            (true, false, b'\\') => escaped = true,
            (true, false, b'"') => in_string = false,
            (true, false, _) => {}
            (false, _, b'"') => in_string = true,
            (false, _, b'[' | b'{') => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            (false, _, b']' | b'}') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// Stream and subscription names: `[A-Za-z0-9._:-]{1,200}`.
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
    fn data_nesting_is_limited() {
        assert_eq!(json_depth(r#"{"a":[1,{"b":"[[[{"}]}"#), 3);
        let deep = |n: usize| {
            format!(
                r#"{{"type":"T","data":{}{}}}"#,
                "[".repeat(n),
                "]".repeat(n)
            )
        };
        assert!(event(&deep(64)).validate().is_ok());
        assert_eq!(event(&deep(65)).validate().unwrap_err().field, "data");
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
}
