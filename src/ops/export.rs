//! `minibus events export [--after N] > FILE`: the events of a running bus as NDJSON, a
//! header line ([`ExportHeader`]: format, log id, after, head) then each envelope exactly as
//! the bus serves it, one per line, up to the head the bus had when the export began.
//!
//! It reads pages of 10,000 (`GET /events?after=…&limit=10000`), four at a time while it
//! writes the one before them, so memory stays flat (five pages, ~12 MB) for any log size.

use super::progress::Bars;
use anyhow::{bail, ensure, Context};
use axum::body::Bytes;
use bus::daemon::import::ExportHeader;
use bus::daemon::Progress;
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION};
use serde_json::value::RawValue;
use std::io::Write;

/// Events per page read: the bus's largest page.
const PAGE: u64 = 10_000;
/// How long connecting to the bus may take.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Flags of `minibus events export`.
#[derive(Debug, clap::Args)]
pub(crate) struct ExportArgs {
    /// Export only the events after this seq (for a store that holds the first ones).
    #[arg(long, env = "MINIBUS_EXPORT_AFTER", default_value_t = 0)]
    after: u64,
    /// Base URL of the running bus.
    #[arg(long, env = "MINIBUS_BUS_URL", default_value = "http://127.0.0.1:4005")]
    bus_url: String,
    /// Bearer token, when the bus requires one.
    #[arg(long, env = "MINIBUS_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// How long one request (a page of 10,000 events) may take, in seconds: a bus that
    /// accepts the connection but never answers must not hang the export.
    #[arg(
        long,
        env = "MINIBUS_EXPORT_REQUEST_TIMEOUT_SECS",
        default_value_t = 60
    )]
    request_timeout_secs: u64,
}

/// The bus being read.
#[derive(Clone)]
struct Source {
    http: reqwest::Client,
    base: String,
    request_timeout: std::time::Duration,
}

/// Writes the export on stdout.
pub(crate) async fn run(args: ExportArgs) -> anyhow::Result<()> {
    let source = Source::new(&args)?;
    let info: bus::wire::Info = serde_json::from_slice(&source.get("/info").await?)
        .context("the bus's /info is not what this version expects")?;
    ensure!(
        args.after <= info.head_seq,
        "--after {} is past the bus's head {}",
        args.after,
        info.head_seq
    );
    let header = ExportHeader::new(&info.log_id, args.after, info.head_seq);
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout());
    serde_json::to_writer(&mut out, &header)?;
    out.write_all(b"\n")?;
    let bars = Bars::on_stderr();
    bars.begin("exporting", header.events());
    let mut pages = Pages::new(&source, &header);
    while let Some((after, page)) = pages.next() {
        let body = page.await.context("reading a page")??;
        let events: Vec<&RawValue> =
            serde_json::from_slice(&body).context("a page of GET /events is not a JSON array")?;
        check_seqs(&events, after, pages.size(after))?;
        for event in &events {
            out.write_all(event.get().as_bytes())?;
            out.write_all(b"\n")?;
        }
        bars.advance_to(after + events.len() as u64 - header.after);
    }
    out.flush().context("writing the export to stdout")?;
    bars.end();
    Ok(())
}

/// The pages of an export, read [`IN_FLIGHT`] at a time: the log is gapless, so each page's
/// range is known before the one before it arrives, and the bus reads several at once.
struct Pages<'a> {
    source: &'a Source,
    head: u64,
    /// The `after` of the next page to ask for.
    next_after: u64,
    in_flight: std::collections::VecDeque<(u64, PageTask)>,
}

/// A page being read: its body.
type PageTask = tokio::task::JoinHandle<anyhow::Result<Bytes>>;

/// Pages asked for at a time.
const IN_FLIGHT: usize = 4;

impl<'a> Pages<'a> {
    fn new(source: &'a Source, header: &ExportHeader) -> Self {
        Self {
            source,
            head: header.head,
            next_after: header.after,
            in_flight: std::collections::VecDeque::with_capacity(IN_FLIGHT),
        }
    }

    /// How many events the page after `after` holds.
    fn size(&self, after: u64) -> u64 {
        PAGE.min(self.head - after)
    }

    /// The next page in seq order (its `after`, its body being read), asking for the ones
    /// after it meanwhile.
    fn next(&mut self) -> Option<(u64, PageTask)> {
        while self.in_flight.len() < IN_FLIGHT && self.next_after < self.head {
            let (after, limit) = (self.next_after, self.size(self.next_after));
            let path = format!("/events?after={after}&limit={limit}");
            let source = self.source.clone();
            let task = tokio::spawn(async move { source.get(&path).await });
            self.in_flight.push_back((after, task));
            self.next_after += limit;
        }
        self.in_flight.pop_front()
    }
}

/// The page after `after` must hold the `size` seqs that follow it (the log is gapless,
/// so its length and its first and last seqs tell).
fn check_seqs(events: &[&RawValue], after: u64, size: u64) -> anyhow::Result<()> {
    #[derive(serde::Deserialize)]
    struct Seq {
        seq: u64,
    }
    let seq_of = |e: &RawValue| serde_json::from_str::<Seq>(e.get()).map(|s| s.seq);
    let first = events.first().map(|e| seq_of(e)).transpose()?;
    let last = events.last().map(|e| seq_of(e)).transpose()?;
    let expected = (Some(after + 1), Some(after + size));
    if events.len() as u64 != size || (first, last) != expected {
        bail!(
            "the page after {after} holds {} events, seqs {first:?}..{last:?}, not {size}: {expected:?}",
            events.len()
        );
    }
    Ok(())
}

impl Source {
    fn new(args: &ExportArgs) -> anyhow::Result<Self> {
        let mut headers = HeaderMap::new();
        if let Some(token) = &args.token {
            let mut value = HeaderValue::from_str(&format!("Bearer {token}"))
                .context("the token is not a valid header value")?;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .context("building the HTTP client")?;
        Ok(Self {
            http,
            base: args.bus_url.trim_end_matches('/').to_string(),
            request_timeout: std::time::Duration::from_secs(args.request_timeout_secs),
        })
    }

    /// `GET path`, which must answer 200: its body.
    async fn get(&self, path: &str) -> anyhow::Result<Bytes> {
        let url = format!("{}{path}", self.base);
        let response = self
            .http
            .get(&url)
            .timeout(self.request_timeout)
            .send()
            .await
            .map_err(|e| self.transport(&e))?;
        let status = response.status();
        let body = response.bytes().await.map_err(|e| self.transport(&e))?;
        if status == reqwest::StatusCode::UNAUTHORIZED {
            bail!(
                "the bus at {} refused the token ({status}): pass the bus's token with --token or MINIBUS_TOKEN",
                self.base
            );
        }
        if !status.is_success() {
            bail!(
                "GET {url} answered {status}: {}",
                String::from_utf8_lossy(&body)
            );
        }
        Ok(body)
    }

    /// A transport failure as one line naming the bus, worded by its innermost cause.
    fn transport(&self, error: &reqwest::Error) -> anyhow::Error {
        if error.is_timeout() {
            return anyhow::anyhow!("the bus at {} did not answer in time", self.base);
        }
        let mut cause: &dyn std::error::Error = error;
        while let Some(inner) = cause.source() {
            cause = inner;
        }
        anyhow::anyhow!("cannot reach the bus at {}: {cause}", self.base)
    }
}
