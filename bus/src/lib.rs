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
//!   With the feature `outbox`, `sdk::Outbox` commits a service's writes with their events
//!   in one sled transaction, and its `sdk::Relay` publishes them;
//! - the **daemon** (`daemon`, feature `daemon`): the sled-backed event log, the
//!   group-commit writer, the subscriptions' delivery loops and the HTTP API that
//!   `minibus bus` runs. Other crates use `daemon::{run, BusConfig, DaemonError, router}`;
//!   the rest is private to the daemon;
//! - the **service kit** (`kit`, feature `kit`): what every minibus HTTP service shares
//!   (serving with a drain, `/healthz` and `/readyz`, the JSON `ApiError`, config flags,
//!   tracing, `/openapi.json`), without sled or the daemon;
//! - the **test kit** (`testkit`, feature `testkit`): what every crate's tests share (a bus
//!   on port 0, a fake subscriber, a bounded `eventually`).
//!
//! # Layout
//!
//! ```text
//! envelope/            Envelope (stored, delivered), EnvelopeRef (writes its JSON),
//!                      NewEvent (published), format_time
//!   rules.rs             the rules of types and names, each once; NewEvent::validate
//! wire.rs              request/response bodies, error bodies, /info, subscriptions;
//!                      `headers`: the protocol's header names
//! signature.rs         Standard Webhooks signatures (sign, verify)
//! sled_store/          feature `store`: open a sled store, waiting out the lock of one just
//!                      closed in the same process; DurableDb, whose flush is durable
//!   durable.rs           fdatasync of sled's log and blob files after its flush
//! sdk/
//!   error.rs           sdk::Error: unreachable, or refused with the bus's error body
//!   publisher.rs       Publisher: POST /events with retry-safe ids
//!   outbox/            feature `outbox`: Outbox, a service's write and its events in one
//!                      sled transaction; wait_published for `Minibus-Seq`
//!     write.rs           the transaction (OutboxTx::enqueue, Written), flushes shared by writes
//!     relay.rs           Relay: publishes in order as arrays, backs off, parks refused entries
//!     store.rs           the outbox trees: the next batch, deleting, parking
//!   subscriber/        Subscriber: registration from the service's checkpoint;
//!     delivery.rs        POST /events: signature, generation, log id, in-order apply
//! daemon/
//!   mod.rs             run(): open the store, start the writer and the subscriptions, serve, stop
//!   config.rs          BusConfig: every flag of `minibus bus`, with its default
//!     static_subscriptions.rs  --subscribe and --subscriptions FILE, checked before start
//!   metrics.rs         the Prometheus metrics
//!   store/             the EventLog trait: append, read after a seq, get, by id, stream, head
//!     record.rs          the record format: a small binary header, then the envelope JSON
//!     sled_log.rs        SledLog, the sled engine, and its start-up recovery of the tail
//!     durable.rs         fdatasync of sled's files after each flush
//!     sled_log/offline.rs  what the offline tools need of a stopped store beyond EventLog
//!     import/            `minibus bus import`: the export file (file.rs), validate.rs, write.rs
//!     check/             `minibus bus check`: the log pass, index entries, subscriptions
//!     progress.rs        Progress, reported by import and check (the binary draws bars)
//!   writer/            the one writer: the Writer guard owning its threads, WriterHandle
//!     applier.rs         the writer thread: takes waiting publishes as a group, applies it
//!     admission.rs       idempotency and expected_version checks, seqs, times, records
//!     flusher.rs         the flusher thread: group commit, durable head, answers
//!   subs/              Subscriptions: settings and cursors in sled, one delivery loop each
//!     registry.rs        the map of subscriptions: loading at start, create, update, delete
//!     operations.rs      pause, resume, rewind, skip; list, retry and delete dead letters
//!     status.rs          a subscription's status, and the lag metrics
//!     subscription.rs    one subscription as its loop and the API share it
//!     backend.rs         the log, the subscription trees and the durable head, for every loop
//!     delivery_thread.rs the loops' thread, and the pool their store reads go to
//!     deliverer/         one loop per subscription, one step at a time (send.rs, settle.rs)
//!     read_ahead.rs      the matching events a loop read past its cursor
//!     request.rs         what one delivery sends (body, headers)
//!     client.rs          one keep-alive HTTP/1.1 connection per loop
//!     verdict.rs         what the subscriber's answer means, and the backoff
//!     spec.rs            the limits of a subscription's settings
//!     store.rs           the sled trees: settings, cursors, dead letters
//!   api/               the axum router over the kit: publish, read, SSE, subscriptions, info,
//!                      metrics, auth; /healthz, /readyz and /openapi.json (generated) from the kit
//! kit/                 the service kit: serving, health, ApiError, Json, config, tracing,
//!                      /openapi.json (its files in its own `# Layout`)
//! testkit/             the test kit
//!   bus.rs             TestBus, StoppedBus, spawn_bus(), spawn_bus_with(tweak)
//!   subscriber.rs      FakeSubscriber, Received
//!   answer.rs          Answer: what the fake subscriber answers, scripted per request or per seq
//!   poll.rs            eventually(), eventually_within(), PATIENCE
//!   openapi.rs         a service's documented operations, compared with what it serves
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
#[cfg(feature = "store")]
pub mod sled_store;

#[cfg(feature = "daemon")]
pub mod daemon;

#[cfg(feature = "kit")]
pub mod kit;

#[cfg(feature = "testkit")]
pub mod testkit;

pub use envelope::{Envelope, NewEvent};
