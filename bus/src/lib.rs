//! `bus`: the heart of minibus.
//!
//! Everything that talks to the event bus goes through this crate:
//!
//! - the **wire types** ([`envelope`], [`wire`]): the event envelope, publish receipts and
//!   error bodies, and the validation rules of `../shared/DESIGN.md`. They do no I/O and
//!   depend only on serde, so any service can use them;
//! - the **client SDK** ([`sdk`], feature `sdk`, on by default): a [`sdk::Publisher`] that
//!   always sets a UUIDv7 `id`, so a publish can be retried safely;
//! - the **daemon** ([`daemon`], feature `daemon`): the sled-backed event log, the
//!   group-commit writer and the HTTP API that `minibus bus` runs.
//!
//! # Layout
//!
//! ```text
//! envelope.rs        the event: Envelope (what is stored and delivered), NewEvent (what is published)
//! wire.rs            receipts, error bodies, /info
//! sdk/publisher.rs   Publisher: POST /events with retries-safe ids
//! daemon/
//!   config.rs        BusConfig: every flag of `minibus bus`
//!   store/           EventLog trait, the record format, the sled engine, start-up recovery
//!   writer.rs        the one writer thread: validation against the log, group commit, durable head
//!   api/             the axum router: publish, read, SSE, info, health, metrics, auth
//! ```
//!
//! The daemon's central invariant: one writer owns the log. It assigns every `seq`, applies a
//! batch of publishes at once, flushes, and only then raises the *durable head*
//! (a `tokio::sync::watch`) and answers the publishers. Every reader is bounded by that head.

pub mod envelope;
pub mod wire;

#[cfg(feature = "sdk")]
pub mod sdk;
#[cfg(feature = "sdk")]
pub mod signature;

#[cfg(feature = "daemon")]
pub mod daemon;

#[cfg(feature = "kit")]
pub mod kit;

#[cfg(feature = "testkit")]
pub mod testkit;

pub use envelope::{Envelope, NewEvent};
