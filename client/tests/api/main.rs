//! The gateway over real HTTP: a real bus (bus::testkit), the real services in this
//! process, each on 127.0.0.1:0.

mod helpers;
mod page;
mod unavailable;
