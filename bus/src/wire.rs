//! Request and response bodies of the bus HTTP API, and its header names, shared by the
//! daemon and the SDK.

use crate::envelope::whole_number::{optional, whole};
use serde::{Deserialize, Serialize};

/// The names of the headers of the bus protocol (DESIGN "Subscriptions", "Read"), in lowercase,
/// as `http::HeaderName::from_static` takes them (HTTP/1 compares names without case).
pub mod headers {
    /// On reads: the durable head when the read started.
    pub const MINIBUS_HEAD_SEQ: &str = "minibus-head-seq";
    /// On deliveries: the last seq of the body.
    pub const MINIBUS_SEQ: &str = "minibus-seq";
    /// On deliveries: the first seq of the body.
    pub const MINIBUS_FIRST_SEQ: &str = "minibus-first-seq";
    /// On deliveries: the subscription's name.
    pub const MINIBUS_SUBSCRIPTION: &str = "minibus-subscription";
    /// On deliveries: the subscription's generation (raised by create, reset and rewind).
    pub const MINIBUS_GENERATION: &str = "minibus-generation";
    /// On deliveries: the log's id; a new value means the log was replaced.
    pub const MINIBUS_LOG_ID: &str = "minibus-log-id";
    /// On an operator's retry of a dead letter, with the value [`REDELIVERY_DEAD_LETTER`].
    pub const MINIBUS_REDELIVERY: &str = "minibus-redelivery";
    /// The value of [`MINIBUS_REDELIVERY`].
    pub const REDELIVERY_DEAD_LETTER: &str = "dead-letter";
    /// Standard Webhooks: the message id (the event id, or `batch-<first>-<last>`).
    pub const WEBHOOK_ID: &str = "webhook-id";
    /// Standard Webhooks: seconds since the Unix epoch when the delivery was signed.
    pub const WEBHOOK_TIMESTAMP: &str = "webhook-timestamp";
    /// Standard Webhooks: `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`.
    pub const WEBHOOK_SIGNATURE: &str = "webhook-signature";
    /// Server-Sent Events: the last seq the client received; the stream resumes after it.
    pub const LAST_EVENT_ID: &str = "last-event-id";
    /// CloudEvents binary mode: the spec version (`1.0`).
    pub const CE_SPECVERSION: &str = "ce-specversion";
    /// CloudEvents binary mode: the event id.
    pub const CE_ID: &str = "ce-id";
    /// CloudEvents binary mode: the event's `source` (or `minibus`).
    pub const CE_SOURCE: &str = "ce-source";
    /// CloudEvents binary mode: the event's type.
    pub const CE_TYPE: &str = "ce-type";
    /// CloudEvents binary mode: the event's time.
    pub const CE_TIME: &str = "ce-time";
    /// CloudEvents binary mode: the seq (the `sequence` extension).
    pub const CE_SEQUENCE: &str = "ce-sequence";
    /// CloudEvents binary mode: the event's stream, when it has one.
    pub const CE_SUBJECT: &str = "ce-subject";
}

/// The answer to one published event: `201` when appended, `200` for an idempotent
/// repeat (with the original's seq and version).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishReply {
    /// The event's seq (the original one for a repeat).
    pub seq: u64,
    /// The event's id (assigned by the bus when the publisher gave none).
    pub id: String,
    /// Position in its stream, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
}

/// Every error the API returns: `{"error": "<machine_code>", "message": "<sentence>"}`,
/// plus fields particular to the error (e.g. `stream`, `expected`, `actual`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Machine-readable code, e.g. `wrong_expected_version`.
    pub error: String,
    /// What went wrong, as a sentence for people (wording may change; match on `error`).
    pub message: String,
    /// Fields particular to this error.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// `GET /info`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Info {
    /// The durable head: the last seq readers can see.
    pub head_seq: u64,
    /// How many events the log holds (seqs are gapless, so this is `head_seq`).
    pub events: u64,
    /// How many subscriptions exist.
    pub subscriptions: u64,
    /// A UUID made when the store was created; a new value means the log was replaced.
    #[cfg_attr(feature = "openapi", schema(format = "uuid"))]
    pub log_id: String,
    /// The version of the `bus` crate the daemon was built from.
    pub version: String,
}

/// `PUT /subscriptions/NAME`: only `url` is required; omitted fields take the defaults.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionSpec {
    /// Where events are POSTed (`http`/`https`).
    #[cfg_attr(feature = "openapi", schema(format = "uri", max_length = 2048))]
    pub url: String,
    /// Event types delivered; empty = all.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_items = 100, value_type = Vec<crate::envelope::EventType>))]
    pub types: Vec<String>,
    /// Where delivery starts, on creation or with `reset`.
    #[serde(default)]
    pub start: Start,
    /// Move the cursor to `start` (and raise the generation) even if the subscription exists.
    #[serde(default)]
    pub reset: bool,
    /// Events per request: 1 = one envelope per body; N = a JSON array of up to N.
    #[serde(default = "defaults::batch", deserialize_with = "whole")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1000, default = defaults::batch))]
    pub batch: u32,
    /// A batch is cut before it exceeds this many bytes (it always holds at least one event).
    #[serde(default = "defaults::batch_max_bytes", deserialize_with = "whole")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 67108864, default = defaults::batch_max_bytes))]
    pub batch_max_bytes: u64,
    /// Body format.
    #[serde(default)]
    pub format: Format,
    /// `whsec_<base64 of 24–64 bytes>`: sign deliveries (Standard Webhooks). Never returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    // The pattern is exactly what `Signer::from_secret` takes: canonical standard base64 (with
    // its padding, no stray bits in the last character) of 24 to 64 bytes.
    #[cfg_attr(
        feature = "openapi",
        schema(
            pattern = r"^whsec_(?:(?:[A-Za-z0-9+/]{4}){8,21}(?:[A-Za-z0-9+/][AQgw]==)?|(?:[A-Za-z0-9+/]{4}){8,20}[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=)$"
        )
    )]
    pub secret: Option<String>,
    /// How long one delivery may take before it counts as failed.
    #[serde(default = "defaults::timeout_ms", deserialize_with = "whole")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 300000, default = defaults::timeout_ms))]
    pub timeout_ms: u64,
    /// Retries of a failing delivery (not used with `delivery: "at_most_once"`).
    #[serde(default)]
    pub retry: RetryPolicy,
    /// `at_least_once` (retry until acknowledged) or `at_most_once` (the cursor is made
    /// durable before a request is sent; a failed delivery is parked at once).
    #[serde(default)]
    pub delivery: Delivery,
}

impl SubscriptionSpec {
    /// A spec for `url` with every default (all types, from the beginning).
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            types: Vec::new(),
            start: Start::Beginning,
            reset: false,
            batch: defaults::batch(),
            batch_max_bytes: defaults::batch_max_bytes(),
            format: Format::Envelope,
            secret: None,
            timeout_ms: defaults::timeout_ms(),
            retry: RetryPolicy::default(),
            delivery: Delivery::AtLeastOnce,
        }
    }
}

mod defaults {
    pub(super) fn batch() -> u32 {
        1
    }
    pub(super) fn batch_max_bytes() -> u64 {
        1024 * 1024
    }
    pub(super) fn timeout_ms() -> u64 {
        5_000
    }
    pub(super) fn initial_ms() -> u64 {
        100
    }
    pub(super) fn max_ms() -> u64 {
        30_000
    }
}

/// Where a subscription's delivery starts: `"beginning"`, `"end"` or `{"after": SEQ}`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    untagged,
    expecting = r#"a start of "beginning", "end" or {"after": SEQ}"#
)]
pub enum Start {
    /// `"beginning"` / `"end"`.
    Word(StartWord),
    /// `{"after": SEQ}`: from SEQ + 1.
    After {
        /// The last seq not to deliver.
        #[serde(deserialize_with = "whole")]
        #[cfg_attr(
            feature = "openapi",
            schema(format = "uint64", maximum = 18_446_744_073_709_551_615_u64)
        )]
        after: u64,
    },
}

impl Default for Start {
    fn default() -> Self {
        Self::Beginning
    }
}

impl Start {
    /// From the first event.
    #[allow(non_upper_case_globals)]
    pub const Beginning: Start = Start::Word(StartWord::Beginning);
    /// From the durable head at the time of the request.
    #[allow(non_upper_case_globals)]
    pub const End: Start = Start::Word(StartWord::End);
}

/// The word forms of [`Start`].
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StartWord {
    /// From the first event.
    Beginning,
    /// From the durable head.
    End,
}

/// The body of a delivery: `format` of a subscription.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// The envelope (or an array of envelopes) as JSON.
    #[default]
    Envelope,
    /// CloudEvents 1.0 binary mode: the body is `data`, attributes in `ce-` headers.
    Cloudevents,
    /// CloudEvents 1.0 structured mode (`application/cloudevents+json`, or `-batch+json`).
    CloudeventsStructured,
}

/// What a subscription promises its subscriber when deliveries fail or the bus crashes.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// Every event until acknowledged: a failed delivery is retried (`retry`), and after a
    /// bus crash the events of the last ~100 ms may come again (subscribers skip repeats
    /// by `seq`).
    #[default]
    AtLeastOnce,
    /// Never twice, even across a bus crash: the cursor and the seqs in flight are made
    /// durable before a request is sent; a failed delivery (any status but 2xx and 410, a
    /// timeout, no connection) is parked in the dead letters at once, never retried on its
    /// own; seqs in flight when the bus crashed are parked at start (`outcome_unknown`).
    /// For subscribers that recover by their own replay of `GET /events`.
    AtMostOnce,
}

/// What happens to a failing delivery.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryPolicy {
    /// First backoff.
    #[serde(default = "defaults::initial_ms", deserialize_with = "whole")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 86400000, default = defaults::initial_ms))]
    pub initial_ms: u64,
    /// Longest backoff (also caps `Retry-After`).
    #[serde(default = "defaults::max_ms", deserialize_with = "whole")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 86400000, default = defaults::max_ms))]
    pub max_ms: u64,
    /// Attempts of one event before `on_exhausted`; `null` = retry forever.
    #[serde(default, deserialize_with = "optional")]
    #[cfg_attr(
        feature = "openapi",
        schema(minimum = 1, format = "uint32", maximum = 4_294_967_295_u32)
    )]
    pub max_attempts: Option<u32>,
    /// What to do when `max_attempts` is reached.
    #[serde(default)]
    pub on_exhausted: OnExhausted,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            initial_ms: defaults::initial_ms(),
            max_ms: defaults::max_ms(),
            max_attempts: None,
            on_exhausted: OnExhausted::Block,
        }
    }
}

/// See [`RetryPolicy::on_exhausted`].
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnExhausted {
    /// Stop in `blocked` until resumed, skipped or rewound.
    #[default]
    Block,
    /// Park the event in the dead letters and go on.
    DeadLetter,
}

/// The state of a subscription's delivery.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionState {
    /// Delivering, or caught up.
    Active,
    /// The last attempt failed; the next one is scheduled.
    Retrying,
    /// Paused by an operator, or by a `410` from the subscriber.
    Paused,
    /// `max_attempts` reached with `on_exhausted: "block"`.
    Blocked,
}

/// `GET /subscriptions/NAME`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SubscriptionStatus {
    /// The subscription's name (`[A-Za-z0-9._:-]{1,200}`).
    pub name: String,
    /// Where events go (a password in it shown as `***`).
    pub url: String,
    /// Types delivered (empty = all).
    pub types: Vec<String>,
    /// The last seq examined (delivered, parked, or skipped for not matching `types`; with
    /// `delivery: "at_most_once"`, sent: it moves before the request goes out).
    pub cursor: u64,
    /// Raised by create, reset and rewind; carried on every delivery.
    pub generation: u64,
    /// The durable head when the status was taken.
    pub head_seq: u64,
    /// `head_seq − cursor`.
    pub lag: u64,
    /// Age of event `cursor + 1`, 0 when caught up.
    pub lag_seconds: f64,
    /// Delivery state.
    pub state: SubscriptionState,
    /// Failed attempts of the event at the cursor.
    pub attempts: u32,
    /// The last failure, if the last attempt failed.
    pub last_error: Option<String>,
    /// When the last acknowledged delivery happened (RFC 3339).
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub last_delivered_at: Option<String>,
    /// Events acknowledged so far.
    pub delivered: u64,
    /// Events parked in the dead letters (each breaks per-stream order for this subscriber).
    pub dead_letters: u64,
    /// Why it is paused, when it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused_reason: Option<String>,
    /// Events per request.
    pub batch: u32,
    /// Body format.
    pub format: Format,
    /// `at_least_once` or `at_most_once`.
    #[serde(default)]
    pub delivery: Delivery,
}

/// One parked event.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeadLetter {
    /// The seq of the parked event (a subscription has one dead letter per seq).
    pub seq: u64,
    /// Why it was parked.
    pub reason: String,
    /// Attempts made.
    pub attempts: u32,
    /// The subscriber's last HTTP status, if it answered.
    pub last_status: Option<u16>,
    /// The last attempt's failure (its start, for a long answer), if it failed.
    pub last_error: Option<String>,
    /// When it was parked or last retried (RFC 3339).
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub time: String,
}

/// `POST /subscriptions/NAME/rewind`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RewindRequest {
    /// Redeliver from `after + 1`.
    #[serde(default, deserialize_with = "optional")]
    #[cfg_attr(
        feature = "openapi",
        schema(format = "uint64", maximum = 18_446_744_073_709_551_615_u64)
    )]
    pub after: Option<u64>,
    /// Redeliver from the first event with time ≥ this (RFC 3339).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub time: Option<String>,
    /// Only count what would be redelivered.
    #[serde(default)]
    pub dry_run: bool,
}

/// The answer to a rewind.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RewindReply {
    /// The cursor after the rewind (delivery resumes at the next matching event after it).
    pub after: u64,
    /// Matching events up to the head that will be (or would be) delivered again.
    pub redeliver: u64,
    /// Whether nothing was changed.
    pub dry_run: bool,
    /// The generation after the rewind.
    pub generation: u64,
}

#[cfg(test)]
mod tests {
    use super::Start;

    #[test]
    fn a_start_that_is_none_of_its_forms_says_what_it_takes() {
        let error = serde_json::from_str::<Start>(r#""middle""#).expect_err("not a start");
        assert_eq!(
            error.to_string(),
            r#"a start of "beginning", "end" or {"after": SEQ}"#
        );
        assert_eq!(
            serde_json::from_str::<Start>(r#"{"after":7}"#).ok(),
            Some(Start::After { after: 7 })
        );
    }
}
