//! The operator's commands against a running bus: `minibus events tail | publish` and
//! `minibus subs …`. Tables and sentences for people, `--json` for scripts (the bus's JSON
//! as it sent it); every failure is one line naming the bus or the subscription.
//!
//! # Layout
//! - `events.rs`: `minibus events`, its subcommands; `tail.rs` follows the SSE stream (with
//!   `sse.rs`, the stream's parser), `publish.rs` publishes one event;
//! - `subs.rs`: `minibus subs`, over the SDK's `bus::sdk::admin::Admin`; `show.rs` prints
//!   what it answers, `table.rs` lays out aligned columns;
//! - here: the flags every command shares ([`BusArgs`]), the errors' wording ([`explain`]),
//!   and writing to stdout ([`Out`]).

mod events;
mod publish;
mod show;
mod sse;
mod subs;
mod table;
mod tail;

pub(crate) use events::EventsCommand;
pub(crate) use subs::SubsCommand;

use bus::sdk::Error;
use reqwest::{StatusCode, Url};
use std::io::Write;
use std::time::Duration;

/// Which bus, and how to authenticate: on every `events` and `subs` command.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct BusArgs {
    /// Base URL of the running bus (`http://`).
    #[arg(long, env = "MINIBUS_BUS_URL", default_value = bus::kit::DEFAULT_BUS_URL)]
    pub(crate) bus_url: String,

    /// Bearer token, when the bus requires one (the bus's --token).
    #[arg(long, env = "MINIBUS_TOKEN", hide_env_values = true)]
    pub(crate) token: Option<String>,

    /// How long one call to the bus may take, in seconds, its answer read (tail: its first
    /// look at the head, and each connection's answer head; the stream itself is not
    /// limited).
    #[arg(
        long,
        env = "MINIBUS_REQUEST_TIMEOUT_SECS",
        default_value_t = 30,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub(crate) request_timeout_secs: u64,

    /// Print the bus's JSON as it sent it, for scripts (tail: one envelope per line).
    #[arg(long, env = "MINIBUS_JSON", value_parser = bus::kit::BoolFlag)]
    pub(crate) json: bool,
}

impl BusArgs {
    /// The bus URL, checked as the services check theirs ([`bus::kit::http_base_url`]): one
    /// that this build cannot call (`https://`, not a URL) stops the command before any call.
    fn url(&self) -> anyhow::Result<Url> {
        let base = bus::kit::http_base_url("bus-url", &self.bus_url)?;
        Ok(Url::parse(&base)?)
    }

    /// `--request-timeout-secs`.
    fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs)
    }

    /// The bus URL as people typed it, without a trailing slash, for messages.
    fn shown_url(&self) -> &str {
        self.bus_url.trim_end_matches('/')
    }
}

/// What a command was about, so that its error can name it.
#[derive(Debug, Clone, Copy)]
enum Subject<'a> {
    /// The bus as a whole (events, the subscription list).
    Bus,
    /// One subscription.
    Subscription(&'a str),
}

/// `error` as one line for people: the bus unreachable, the token refused, an unknown
/// subscription, or the bus's own 4xx error with its code and message.
fn explain(error: Error, bus: &BusArgs, subject: Subject<'_>) -> anyhow::Error {
    let url = bus.shown_url();
    let line = match error {
        Error::Transport(e) => transport_line(&e, url, bus.request_timeout_secs),
        Error::Rejected { status, body } => match (StatusCode::from_u16(status), subject) {
            (Ok(StatusCode::UNAUTHORIZED), _) => format!(
                "the bus at {url} refused the token ({status} {}): pass the bus's token with \
                 --token or MINIBUS_TOKEN",
                body.error
            ),
            (Ok(StatusCode::NOT_FOUND), Subject::Subscription(name)) => {
                format!("no subscription named {name:?} on the bus at {url}")
            }
            _ => format!(
                "the bus at {url} answered {status} {}: {}",
                body.error, body.message
            ),
        },
    };
    anyhow::anyhow!(one_line(&line))
}

/// A transport failure, worded by its innermost cause (`Connection refused`), or the
/// `--request-timeout-secs` that fired.
fn transport_line(error: &reqwest::Error, url: &str, timeout_secs: u64) -> String {
    if error.is_timeout() {
        return format!(
            "the bus at {url} did not answer within {timeout_secs} s (--request-timeout-secs)"
        );
    }
    if error.is_decode() || error.is_body() {
        return format!("the bus at {url} sent an answer that cannot be read: {error}");
    }
    let mut cause: &dyn std::error::Error = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    format!("cannot reach the bus at {url}: {cause}")
}

/// `text` with any line break made a space: every error is one line on stderr.
fn one_line(text: &str) -> String {
    text.split(['\n', '\r'])
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Standard output, line by line. A closed pipe (`minibus events tail | head`) ends the
/// command quietly instead of panicking as `println!` would.
struct Out {
    stdout: std::io::Stdout,
}

/// Whether writing stopped because the reader went away.
#[derive(Debug, PartialEq, Eq)]
enum Written {
    Yes,
    ReaderGone,
}

impl Out {
    fn new() -> Self {
        Self {
            stdout: std::io::stdout(),
        }
    }

    /// Writes `text` and a line break, flushed, so that a pipe sees each line at once.
    fn line(&self, text: &str) -> anyhow::Result<Written> {
        let mut lock = self.stdout.lock();
        let result = writeln!(lock, "{text}").and_then(|()| lock.flush());
        match result {
            Ok(()) => Ok(Written::Yes),
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(Written::ReaderGone),
            Err(e) => Err(anyhow::anyhow!("cannot write to standard output: {e}")),
        }
    }

    /// Writes `text`, which may hold several lines; a closed pipe is not an error.
    fn text(&self, text: &str) -> anyhow::Result<()> {
        self.line(text.trim_end_matches('\n')).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_breaks_become_spaces() {
        assert_eq!(one_line("a\nb\r\nc"), "a b c");
    }
}
