//! posts over real HTTP on port 0, with its real sled store in a temp dir and a real bus
//! (`bus::testkit`) in the same process.
//!
//! # Layout
//! - `helpers`: [`helpers::TestPosts`] (posts on port 0, stopped and started again over
//!   its dir), typed calls, the bus's log, a bus started again on its old port.
//! - `create`: a post's answer, its `Minibus-Seq` and its `PostCreated` in the log;
//!   `GET /posts` in creation order; the bus token sent.
//! - `validation`: titles and bodies refused with 400 (or 415), nothing stored or published.
//! - `bus_down`: writes succeed while the bus is down; their events arrive once it is back.
//! - `restart`: posts started again over its dir keeps its posts and their order.
//! - `start`: a bus that refuses posts' token stops it.
//! - `cors`: preflights, any origin or only `--cors-origin`'s.
//! - `openapi`: the document lists what is served; schemathesis finds nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bus_down;
mod cors;
mod create;
mod helpers;
mod openapi;
mod restart;
mod start;
mod validation;
