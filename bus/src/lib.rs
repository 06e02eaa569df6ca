//! `bus`: the heart of minibus.
//!
//! Everything that talks to the event bus goes through this crate:
//!
//! - the **wire types** ([`envelope`], [`wire`]): the event envelope and the one place its
//!   JSON is written, the rules an event and a name follow, the API's request and response
//!   bodies and its header names (`../shared/DESIGN.md`). They do no I/O and depend only on
//!   serde, so any service can use them;
//! - the **client SDK** (`sdk`, feature `sdk`, on by default): a `sdk::Publisher` that
//!   always sets a UUIDv7 `id`, so a publish can be retried safely, and a
//!   `sdk::Subscriber` that registers a service's subscription and applies its deliveries
//!   in order, checking their signatures (`signature`);
//! - the **daemon** (`daemon`, feature `daemon`): the sled-backed event log, the
//!   group-commit writer, the subscriptions' delivery loops and the HTTP API that
//!   `minibus bus` runs. Other crates use `daemon::run` and `daemon::BusConfig`.
//!
//! # Layout
//!
//! ```text
//! envelope/          Envelope (stored, delivered), EnvelopeRef (writes its JSON), NewEvent (published)
//!   rules.rs           the rules of types and names, each once; NewEvent::validate
//! wire.rs              request/response bodies, error bodies, /info, subscriptions; `headers`: header names
//! signature.rs         Standard Webhooks signatures (sign, verify)
//! sdk/
//!   error.rs           sdk::Error: unreachable, or refused with the bus's error body
//!   publisher.rs       Publisher: POST /events with retry-safe ids
//!   subscriber/        Subscriber: registration from the service's checkpoint;
//!     delivery.rs        POST /events: signature, generation, log id, in-order apply
//! daemon/
//!   mod.rs             run(): open the store, start the writer and the subscriptions, serve, stop
//!   config.rs          BusConfig: every flag of `minibus bus`, with its default
//!   metrics.rs         the Prometheus metrics
//!   store/             EventLog trait, the record format, the sled engine, start-up recovery
//!   writer/            the one writer: the Writer guard owning its threads, WriterHandle
//!     applier.rs         the writer thread: takes waiting publishes as a group, applies it
//!     admission.rs       idempotency and expected_version checks, seqs, times, records
//!     flusher.rs         the flusher thread: group commit, durable head, answers
//!   subs/              subscriptions: settings and cursors in sled, one delivery loop each
//!   api/               the axum router: publish, read, SSE, subscriptions, info, health, metrics, auth
//! ```
//!
//! The daemon's central invariant: one writer owns the log. It assigns every `seq`, applies a
//! group of publishes at once, flushes, and only then raises the *durable head*
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
