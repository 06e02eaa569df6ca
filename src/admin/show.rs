//! What `minibus subs` prints for people: status tables, one status in full, dead letters,
//! and a sentence for each action's outcome.

use super::table::{clip, Align, Table};
use bus::sdk::admin::Queued;
use bus::wire::{DeadLetter, RewindReply, SubscriptionStatus};

/// A long last error is cut to this many characters in a table (`show` prints it whole).
const ERROR_WIDTH: usize = 60;

/// One row per subscription: the columns an operator scans for trouble.
pub(super) fn status_table(statuses: &[SubscriptionStatus]) -> String {
    if statuses.is_empty() {
        return "no subscriptions".into();
    }
    let mut table = Table::new(&[
        ("NAME", Align::Left),
        ("STATE", Align::Left),
        ("CURSOR", Align::Right),
        ("HEAD", Align::Right),
        ("LAG", Align::Right),
        ("LAG_SECONDS", Align::Right),
        ("DELIVERED", Align::Right),
        ("DEAD_LETTERS", Align::Right),
        ("LAST_ERROR", Align::Left),
    ]);
    for s in statuses {
        table.row(vec![
            s.name.clone(),
            wire_word(&s.state),
            s.cursor.to_string(),
            s.head_seq.to_string(),
            s.lag.to_string(),
            format!("{:.1}", s.lag_seconds),
            s.delivered.to_string(),
            s.dead_letters.to_string(),
            clip(s.last_error.as_deref().unwrap_or(""), ERROR_WIDTH),
        ]);
    }
    table.render()
}

/// One subscription, a field per line.
pub(super) fn status_details(s: &SubscriptionStatus) -> String {
    let types = if s.types.is_empty() {
        "(all)".to_string()
    } else {
        s.types.join(", ")
    };
    let fields = [
        ("name", s.name.clone()),
        ("url", s.url.clone()),
        ("types", types),
        ("state", wire_word(&s.state)),
        ("paused_reason", optional(s.paused_reason.as_deref())),
        ("cursor", s.cursor.to_string()),
        ("head_seq", s.head_seq.to_string()),
        ("lag", s.lag.to_string()),
        ("lag_seconds", format!("{:.3}", s.lag_seconds)),
        ("generation", s.generation.to_string()),
        ("attempts", s.attempts.to_string()),
        ("last_error", optional(s.last_error.as_deref())),
        (
            "last_delivered_at",
            optional(s.last_delivered_at.as_deref()),
        ),
        ("delivered", s.delivered.to_string()),
        ("dead_letters", s.dead_letters.to_string()),
        ("batch", s.batch.to_string()),
        ("format", wire_word(&s.format)),
        ("delivery", wire_word(&s.delivery)),
    ];
    let width = fields.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 1;
    fields
        .iter()
        .map(|(key, value)| format!("{:<width$} {value}", format!("{key}:")))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A subscription's dead letters, one row each.
pub(super) fn dead_letters(name: &str, letters: &[DeadLetter]) -> String {
    if letters.is_empty() {
        return format!("{name} has no dead letters");
    }
    let mut table = Table::new(&[
        ("SEQ", Align::Right),
        ("ATTEMPTS", Align::Right),
        ("STATUS", Align::Right),
        ("TIME", Align::Left),
        ("REASON", Align::Left),
        ("LAST_ERROR", Align::Left),
    ]);
    for letter in letters {
        table.row(vec![
            letter.seq.to_string(),
            letter.attempts.to_string(),
            letter.last_status.map_or("-".into(), |s| s.to_string()),
            letter.time.clone(),
            letter.reason.clone(),
            clip(letter.last_error.as_deref().unwrap_or(""), ERROR_WIDTH),
        ]);
    }
    table.render()
}

/// The outcome of a rewind, or of its dry run.
pub(super) fn rewound(name: &str, reply: &RewindReply) -> String {
    let events = plural(reply.redeliver, "event");
    if reply.dry_run {
        format!(
            "{name}: a rewind to after seq {} would redeliver {events} (dry run: nothing changed)",
            reply.after
        )
    } else {
        format!(
            "{name}: rewound to after seq {}, {events} to redeliver (generation {})",
            reply.after, reply.generation
        )
    }
}

/// The event a skip parked.
pub(super) fn skipped(name: &str, letter: &DeadLetter) -> String {
    format!(
        "{name}: parked seq {} in its dead letters ({})",
        letter.seq, letter.reason
    )
}

/// The dead letters a retry queued.
pub(super) fn queued(name: &str, queued: &Queued) -> String {
    if queued.queued.is_empty() {
        return format!("{name} has no dead letters to retry");
    }
    let seqs: Vec<String> = queued.queued.iter().map(u64::to_string).collect();
    format!(
        "{name}: queued {} for redelivery (seqs {})",
        plural(queued.queued.len() as u64, "dead letter"),
        seqs.join(", ")
    )
}

/// A wire enum as the bus spells it (`at_least_once`, `envelope`).
fn wire_word(value: &impl serde::Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(word)) => word,
        Ok(other) => other.to_string(),
        Err(_) => "?".into(),
    }
}

fn optional(value: Option<&str>) -> String {
    value.unwrap_or("-").to_string()
}

fn plural(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}
