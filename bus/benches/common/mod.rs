//! What the store benches share: records shaped like the writer's.

use bus::daemon::bench::{encode, NewRecord, RecordFields};

/// The value of the environment variable `name`, or `default`.
pub(crate) fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One record shaped like the writer's: the header, and an envelope about `bytes` long.
pub(crate) fn record(seq: u64, bytes: usize) -> NewRecord {
    let id = uuid::Uuid::now_v7().to_string();
    let head =
        format!(r#"{{"seq":{seq},"id":"{id}","type":"BenchEventPublished","data":{{"pad":""#);
    let tail = r#""},"time":"2026-11-23T17:00:00.000Z"}"#;
    let pad = "x".repeat(bytes.saturating_sub(head.len() + tail.len()));
    let json = format!("{head}{pad}{tail}");
    let fields = RecordFields {
        time_ms: 1_795_000_000_000,
        version: 0,
        ty: "BenchEventPublished",
        stream: "",
        id: &id,
        source: "",
    };
    let raw = encode(&fields, json.as_bytes());
    NewRecord {
        seq,
        id,
        stream: None,
        raw,
    }
}
