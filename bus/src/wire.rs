//! Request and response bodies of the bus HTTP API, shared by the daemon and the SDK.

use serde::{Deserialize, Serialize};

/// The answer to one published event: `201` when appended, `200` for an idempotent repeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// The event's seq (the original one for a repeat).
    pub seq: u64,
    /// Position in its stream, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
}

/// A [`Receipt`] with the event's id, as the API returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishReply {
    /// The event's seq.
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
    /// A sentence for people.
    pub message: String,
    /// Fields particular to this error.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// `GET /info`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Info {
    /// The durable head: the last seq readers can see.
    pub head_seq: u64,
    /// How many events the log holds (seqs are gapless, so this is `head_seq`).
    pub events: u64,
    /// How many subscriptions exist.
    pub subscriptions: u64,
    /// A UUID made when the store was created; a new value means the log was replaced.
    pub log_id: String,
    /// The bus version.
    pub version: String,
}
