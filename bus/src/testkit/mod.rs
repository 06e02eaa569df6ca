//! The test kit (feature `testkit`): what every crate's tests share, so that each crate's
//! `tests/api/helpers.rs` only adds typed calls to its own API.
//!
//! - [`spawn_bus`]: a real bus daemon in this process, on 127.0.0.1:0 over a fresh temp
//!   data dir (real sled, real HTTP), stopped gracefully or restarted over the same dir;
//! - [`TestService`]: a service's `run` in this process on 127.0.0.1:0, cancelled on drop,
//!   stopped with a bounded wait; each crate's helpers wrap it with their typed calls;
//! - [`BusProxy`]: a proxy in front of a bus (or a service) that a test can take down, slow
//!   down, or whose answers to publishes it can break ([`Publishes`]);
//! - [`TestBus::publish`], [`TestBus::events_of`], [`TestBus::subscription`],
//!   [`TestBus::get_json`]: a test's publishes straight to the bus, and its reads;
//! - [`FakeSubscriber`]: an HTTP server on 127.0.0.1:0 that records what the bus delivers,
//!   forwards it into a channel, and answers as the test scripts it ([`Answer`]);
//! - [`eventually`]: a bounded poll, never a fixed sleep;
//! - [`documented_operations`]: what a service's `/openapi.json` lists, to compare with
//!   what it serves;
//! - [`assert_each_cause_said_once`]: an error printed with its causes says each once;
//! - [`tools`]: where the npm and PyPI packages and promtool that some tests drive are
//!   installed.
//!
//! Logs stay quiet unless `TEST_LOG` is set (its value is the filter).
//!
//! # Layout
//!
//! ```text
//! bus.rs         TestBus, StoppedBus, spawn_bus(), spawn_bus_with(tweak)
//! bus_calls.rs   TestBus::publish(), events_of(), subscription(), get_json()
//! errors.rs      printed_chain(), assert_each_cause_said_once()
//! service.rs     TestService: a service's run, its URL, shutdown token and task
//! proxy.rs       BusProxy, Publishes
//! subscriber.rs  FakeSubscriber, Received
//! answer.rs      Answer: what the fake subscriber answers, scripted per request or per seq
//! poll.rs        eventually(), eventually_within(), PATIENCE
//! openapi.rs     documented_operations(), assert_documented_routes_are_served()
//! schemathesis.rs Schemathesis: the one schemathesis run every suite makes against its document
//! tools.rs       paths of the installed test tools (node packages, venv, promtool)
//! ```

mod answer;
mod bus;
mod bus_calls;
mod errors;
mod openapi;
mod poll;
mod proxy;
mod schemathesis;
mod service;
mod subscriber;
pub mod tools;

pub use answer::Answer;
pub use bus::{spawn_bus, spawn_bus_with, StoppedBus, TestBus};
pub use errors::{assert_each_cause_said_once, printed_chain};
pub use openapi::{assert_documented_routes_are_served, documented_operations};
pub use poll::{eventually, eventually_within, PATIENCE};
pub use proxy::{BusProxy, Publishes};
pub use schemathesis::Schemathesis;
pub use service::TestService;
pub use subscriber::{FakeSubscriber, Received};
