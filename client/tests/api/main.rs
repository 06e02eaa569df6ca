//! The gateway over real HTTP: a real bus (bus::testkit), the real services in this
//! process, each on 127.0.0.1:0.

mod blog;
mod bus_views;
mod cross_site;
mod fake_upstream;
mod helpers;
mod openapi;
mod page;
mod passthrough;
mod paths;
mod stack;
mod unavailable;
