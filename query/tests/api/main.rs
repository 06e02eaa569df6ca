//! query against a real bus (in this process, on port 0, over real sled in a temp dir) over
//! real HTTP; the service in this process too, on port 0.
//!
//! # Layout
//! - `helpers`: [`helpers::QueryApp`] (query started, stopped, restarted over its data dir),
//!   the blog's events as the services publish them, calls to the bus.
//! - `projection`: what `GET /posts` and `GET /posts/{id}` show, versions, parked events.
//! - `wait`: `min_seq` and `wait_ms`, `Minibus-Applied-Seq`.
//! - `start`: `/readyz` and catching up, rebuilding at start, `--persist` and its checkpoint.
//! - `edges`: forged deliveries, CORS, `Minibus-Applied-Seq` everywhere, the subscription name.
//! - `openapi`: `/openapi.json` lists exactly the routes served, `POST /events` included.
//! - `schemathesis`: schemathesis against `/openapi.json` finds nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod edges;
mod helpers;
mod openapi;
mod projection;
mod schemathesis;
mod start;
mod wait;
