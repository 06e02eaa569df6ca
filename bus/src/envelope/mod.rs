//! The event envelope and the rules an event must follow (DESIGN "The event").
//!
//! `data` is carried as [`RawValue`]: the publisher's exact JSON text, never re-serialised,
//! so key order and number formats survive the round trip. The envelope's JSON is written in
//! one place, [`EnvelopeRef`]: the bus writer stores what it writes, and [`Envelope`]
//! serialises through it.

mod data;
mod rules;
pub(crate) mod whole_number;

#[cfg(feature = "daemon")]
pub(crate) use data::check as check_data;

#[cfg(feature = "openapi")]
pub(crate) use rules::EventType;
pub use rules::{
    is_valid_event_type, is_valid_stream_name, InvalidEvent, EVENT_TYPE_RULE, MAX_DATA_DEPTH,
    MAX_NAME_CHARS, NAME_RULE,
};

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// An event as the bus stores and delivers it. It serialises as [`EnvelopeRef`] writes it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Deserialize)]
pub struct Envelope {
    /// Gapless position in the log, from 1.
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub seq: u64,
    /// Unique id; the idempotency key.
    pub id: String,
    /// The event's type, e.g. `PostCreated`.
    #[serde(rename = "type")]
    pub ty: String,
    /// The publisher's JSON, exactly as sent.
    #[cfg_attr(feature = "openapi", schema(value_type = Value))]
    pub data: Box<RawValue>,
    /// The aggregate the event belongs to, if any.
    #[serde(default)]
    pub stream: Option<String>,
    /// 1-based position in `stream`.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub version: Option<u64>,
    /// The publisher's name.
    #[serde(default)]
    pub source: Option<String>,
    /// When the bus appended it (RFC 3339 UTC, never decreasing along `seq`).
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub time: String,
    /// Carried along a chain of events published in reaction to each other.
    #[serde(default)]
    pub correlation_id: Option<String>,
    /// The id of the event this one reacts to.
    #[serde(default)]
    pub causation_id: Option<String>,
}

/// An envelope to write, borrowing its fields: the one place where the envelope's JSON is
/// written. Fields go out in the order of [`Envelope`]; absent optional fields are omitted,
/// and `data` is copied byte for byte.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct EnvelopeRef<'a> {
    /// See [`Envelope::seq`].
    pub seq: u64,
    /// See [`Envelope::id`].
    pub id: &'a str,
    /// See [`Envelope::ty`].
    #[serde(rename = "type")]
    pub ty: &'a str,
    /// See [`Envelope::data`].
    pub data: &'a RawValue,
    /// See [`Envelope::stream`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream: Option<&'a str>,
    /// See [`Envelope::version`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    /// See [`Envelope::source`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<&'a str>,
    /// See [`Envelope::time`].
    pub time: &'a str,
    /// See [`Envelope::correlation_id`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<&'a str>,
    /// See [`Envelope::causation_id`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub causation_id: Option<&'a str>,
}

impl<'a> EnvelopeRef<'a> {
    /// The envelope of a published `event` once the bus has given it its `seq`, its
    /// `version` in its stream and its `time`. An event without an id gets `""` (the bus
    /// gives every event an id before this); one without `data` gets `null`.
    pub fn appended(event: &'a NewEvent, seq: u64, version: Option<u64>, time: &'a str) -> Self {
        Self {
            seq,
            id: event.id.as_deref().unwrap_or_default(),
            ty: &event.ty,
            data: event.data.as_deref().unwrap_or(RawValue::NULL),
            stream: event.stream.as_deref(),
            version,
            source: event.source.as_deref(),
            time,
            correlation_id: event.correlation_id.as_deref(),
            causation_id: event.causation_id.as_deref(),
        }
    }

    /// The envelope as JSON.
    pub fn to_json(&self) -> Vec<u8> {
        // Borrowed strings, numbers and a RawValue always serialise.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

impl Envelope {
    /// The envelope borrowed, to write it.
    pub fn to_ref(&self) -> EnvelopeRef<'_> {
        EnvelopeRef {
            seq: self.seq,
            id: &self.id,
            ty: &self.ty,
            data: &self.data,
            stream: self.stream.as_deref(),
            version: self.version,
            source: self.source.as_deref(),
            time: &self.time,
            correlation_id: self.correlation_id.as_deref(),
            causation_id: self.causation_id.as_deref(),
        }
    }
}

impl Serialize for Envelope {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_ref().serialize(serializer)
    }
}

/// `time` as the bus writes it: RFC 3339 UTC with milliseconds, e.g.
/// `2026-11-23T17:00:00.123Z`, from milliseconds since the Unix epoch.
#[cfg(feature = "daemon")]
pub fn format_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// An event as a publisher sends it: only `type` is required. A field it does not know is
/// refused (`400`), so that a misspelt `expected_version` (`expectedVersion`) cannot pass
/// as an unconditional append.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewEvent {
    /// Idempotency key; the bus assigns a UUIDv7 when absent (then the publish is not safe to retry).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 200,
            pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$"
        )
    )]
    pub id: Option<String>,
    /// The event's type, 1–200 characters.
    #[serde(rename = "type")]
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 200,
            pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$"
        )
    )]
    pub ty: String,
    /// Any JSON; `null` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Value>))]
    pub data: Option<Box<RawValue>>,
    /// The aggregate, `[A-Za-z0-9._:-]{1,200}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Za-z0-9._:-]{1,200}$"))]
    pub stream: Option<String>,
    /// Append only if `stream` is at this version (0 = the stream must not exist).
    #[serde(
        default,
        deserialize_with = "whole_number::optional",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(
        feature = "openapi",
        schema(format = "uint64", maximum = 18_446_744_073_709_551_615_u64)
    )]
    pub expected_version: Option<u64>,
    /// The publisher's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 200,
            pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$"
        )
    )]
    pub source: Option<String>,
    /// See [`Envelope::correlation_id`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 200,
            pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$"
        )
    )]
    pub correlation_id: Option<String>,
    /// See [`Envelope::causation_id`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 200,
            pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$"
        )
    )]
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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(json: &str) -> NewEvent {
        serde_json::from_str(json).expect("test event parses")
    }

    #[test]
    fn what_the_writer_writes_parses_back_with_every_field() {
        let data = r#"{"z": 1,  "a":[1.50, 2e3, "\u00e9"]}"#;
        let published = event(&format!(
            r#"{{"id":"e1","type":"PostCreated","data":{data},"stream":"post-p1",
                "expected_version":0,"source":"posts","correlation_id":"c1","causation_id":"e0"}}"#
        ));
        let time = "2026-11-23T17:00:00.123Z";
        let json = EnvelopeRef::appended(&published, 17, Some(1), time).to_json();
        let envelope: Envelope = serde_json::from_slice(&json).expect("the envelope parses");
        assert_eq!(envelope.seq, 17);
        assert_eq!(envelope.id, "e1");
        assert_eq!(envelope.ty, "PostCreated");
        assert_eq!(envelope.data.get(), data, "data byte for byte");
        assert_eq!(envelope.stream.as_deref(), Some("post-p1"));
        assert_eq!(envelope.version, Some(1));
        assert_eq!(envelope.source.as_deref(), Some("posts"));
        assert_eq!(envelope.time, time);
        assert_eq!(envelope.correlation_id.as_deref(), Some("c1"));
        assert_eq!(envelope.causation_id.as_deref(), Some("e0"));
        assert_eq!(serde_json::to_vec(&envelope).expect("serialises"), json);
    }

    #[test]
    fn absent_optional_fields_are_omitted_and_data_defaults_to_null() {
        let published = event(r#"{"id":"e1","type":"T"}"#);
        let json = EnvelopeRef::appended(&published, 1, None, "t").to_json();
        assert_eq!(
            std::str::from_utf8(&json).expect("utf-8"),
            r#"{"seq":1,"id":"e1","type":"T","data":null,"time":"t"}"#
        );
        let envelope: Envelope = serde_json::from_slice(&json).expect("the envelope parses");
        assert_eq!(envelope.data.get(), "null");
        assert_eq!(envelope.stream, None);
        assert_eq!(envelope.version, None);
    }

    #[cfg(feature = "daemon")]
    #[test]
    fn times_are_rfc_3339_utc_with_milliseconds() {
        assert_eq!(format_time(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_time(1_795_453_200_123), "2026-11-23T17:00:00.123Z");
    }
}
