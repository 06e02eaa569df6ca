//! `minibus bench publish`: C tasks publish N events in total.
//!
//! Requests are handed out from one shared counter, so the tasks stay busy until the last
//! one; request `i` carries events `i*K .. min((i+1)*K, N)`. Every event has a unique id
//! (a per-run prefix and its number), so runs never collide with each other's ids, and a
//! `data` padded so that the event's JSON is `--size` bytes.

use super::stats::{Percentiles, Tally};
use super::{progress_bar, Target};
use anyhow::Context;
use bus::daemon::bench::{CallError, Connection, Destination};
use indicatif::ProgressBar;
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Flags of `minibus bench publish`.
#[derive(Debug, clap::Args)]
pub(crate) struct PublishArgs {
    #[command(flatten)]
    pub(crate) target: Target,

    /// Concurrent publishers (tokio tasks, one keep-alive connection each).
    #[arg(long, env = "MINIBUS_BENCH_CONCURRENCY", default_value_t = 16,
          value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub(crate) concurrency: u32,

    /// Events to publish in total.
    #[arg(long, env = "MINIBUS_BENCH_EVENTS", default_value_t = 100_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) events: u64,

    /// Approximate size of each event's JSON, in bytes (`data` is padded to reach it).
    #[arg(long, env = "MINIBUS_BENCH_SIZE", default_value_t = 200)]
    pub(crate) size: usize,

    /// Events per request: 1 sends one JSON object, more send an array (the bus takes ≤ 1,000).
    #[arg(long, env = "MINIBUS_BENCH_BATCH", default_value_t = 1,
          value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub(crate) batch: u64,

    /// Put every event on a stream, this many consecutive events per stream (as the blog's
    /// `comment-<id>` streams); 0 publishes without streams. Streams add an index entry
    /// per event in the bus.
    #[arg(long, env = "MINIBUS_BENCH_STREAM_EVENTS", default_value_t = 0)]
    pub(crate) stream_events: u64,
}

/// Builds events of about `size` bytes with ids unique to this run.
struct Events {
    prefix: String,
    pad: String,
    /// Consecutive events per stream; 0: no stream.
    stream_events: u64,
}

impl Events {
    fn new(size: usize, stream_events: u64) -> Self {
        let since_epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let mut events = Self {
            prefix: format!(
                "bench-{:x}-{:x}",
                since_epoch.as_nanos(),
                std::process::id()
            ),
            pad: String::new(),
            stream_events,
        };
        let mut probe = String::new();
        events.write(0, &mut probe);
        events.pad = "x".repeat(size.saturating_sub(probe.len()));
        events
    }

    /// Appends event `n` (fixed width, so every event has the same size) to `out`.
    fn write(&self, n: u64, out: &mut String) {
        let _ = write!(out, r#"{{"id":"{}-{n:010}","#, self.prefix);
        if let Some(stream) = n.checked_div(self.stream_events) {
            let _ = write!(out, r#""stream":"s-{stream:010}","#);
        }
        let _ = write!(
            out,
            r#""type":"BenchEventPublished","data":{{"n":"{n:010}","pad":"{}"}}}}"#,
            self.pad
        );
    }

    /// The body of one request: an object for one event, otherwise an array.
    fn body(&self, range: Range<u64>, batch: u64) -> String {
        let mut out = String::with_capacity((range.end - range.start) as usize * 256 + 2);
        if batch == 1 {
            self.write(range.start, &mut out);
            return out;
        }
        out.push('[');
        for n in range {
            if out.len() > 1 {
                out.push(',');
            }
            self.write(n, &mut out);
        }
        out.push(']');
        out
    }

    /// Bytes of one event's JSON.
    fn event_bytes(&self) -> usize {
        let mut probe = String::new();
        self.write(0, &mut probe);
        probe.len()
    }
}

/// The requests still to send, shared by the tasks.
struct Plan {
    events: u64,
    batch: u64,
    next_request: AtomicU64,
}

impl Plan {
    /// The events of the next request, or `None` when all have been handed out.
    fn take(&self) -> Option<Range<u64>> {
        let i = self.next_request.fetch_add(1, Ordering::Relaxed);
        let start = i.checked_mul(self.batch).filter(|s| *s < self.events)?;
        Some(start..(start + self.batch).min(self.events))
    }
}

/// What every publishing task works from: where to send, what is left to send, how to
/// build it, and the progress bar.
struct Workload {
    endpoint: Endpoint,
    plan: Plan,
    events: Events,
    bar: ProgressBar,
}

/// Runs the benchmark and prints its summary; fails if any request failed.
pub(crate) async fn run(args: PublishArgs) -> anyhow::Result<()> {
    let workload = Arc::new(Workload {
        endpoint: Endpoint::new(&args.target)?,
        plan: Plan {
            events: args.events,
            batch: args.batch,
            next_request: AtomicU64::new(0),
        },
        events: Events::new(args.size, args.stream_events),
        bar: progress_bar(args.events, "events"),
    });
    let started = Instant::now();
    let tasks: Vec<_> = (0..args.concurrency)
        .map(|_| tokio::spawn(publisher(workload.clone())))
        .collect();
    let mut total = Tally::default();
    for task in tasks {
        total.merge(task.await?);
    }
    let elapsed = started.elapsed();
    workload.bar.finish_and_clear();
    let summary = PublishSummary::new(&args, workload.events.event_bytes(), total, elapsed);
    summary.print()?;
    let failed: u64 = summary.errors.values().sum();
    anyhow::ensure!(
        failed == 0,
        "{failed} of {} requests failed",
        summary.requests
    );
    Ok(())
}

/// Where and how the tasks send their requests.
///
/// The load generator shares the bus's two cores, so it should cost as little as it can,
/// as wrk does: each task drives its own keep-alive HTTP/1.1 connection, the bus's own
/// delivery client. (reqwest's pooled client spent ~21 µs of CPU per request here, a third
/// of what the bus itself spends, and that showed in the bus's figures.)
struct Endpoint {
    target: Destination,
    headers: HeaderMap,
}

impl Endpoint {
    fn new(target: &Target) -> anyhow::Result<Self> {
        let url = reqwest::Url::parse(&target.events_url()).context("--bus-url is not a URL")?;
        let endpoint =
            Destination::from_url(&url).map_err(|e| anyhow::anyhow!("--bus-url {url}: {e}"))?;
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if let Some(token) = &target.token {
            let value = HeaderValue::from_str(&format!("Bearer {token}"))
                .context("the token is not a valid header value")?;
            headers.insert(AUTHORIZATION, value);
        }
        Ok(Self {
            target: endpoint,
            headers,
        })
    }
}

/// One publishing task: takes requests from the plan until none are left, over one
/// keep-alive connection (opened again after a transport failure).
async fn publisher(workload: Arc<Workload>) -> Tally {
    let mut tally = Tally::default();
    let mut connection = Connection::default();
    while let Some(range) = workload.plan.take() {
        let events = range.end - range.start;
        let body = workload.events.body(range, workload.plan.batch);
        let started = Instant::now();
        let endpoint = &workload.endpoint;
        let outcome = connection
            .post(&endpoint.target, endpoint.headers.clone(), body.into())
            .await
            .map(|reply| reply.status.as_u16())
            .map_err(|e| match e {
                CallError::Connect(_) => "connect".to_string(),
                CallError::Request(_) => "transport".to_string(),
            });
        tally.record(started.elapsed(), outcome, events);
        workload.bar.inc(events);
    }
    tally
}

/// The figures of one run; also printed as one JSON line.
#[derive(Debug, serde::Serialize)]
struct PublishSummary {
    bench: &'static str,
    concurrency: u32,
    batch: u64,
    event_bytes: usize,
    events: u64,
    requests: u64,
    seconds: f64,
    events_per_s: f64,
    requests_per_s: f64,
    #[serde(flatten)]
    latency: Percentiles,
    errors: BTreeMap<String, u64>,
}

impl PublishSummary {
    fn new(args: &PublishArgs, event_bytes: usize, mut total: Tally, elapsed: Duration) -> Self {
        let seconds = elapsed.as_secs_f64().max(f64::MIN_POSITIVE);
        Self {
            bench: "publish",
            concurrency: args.concurrency,
            batch: args.batch,
            event_bytes,
            events: total.ok_events,
            requests: total.latencies_us.len() as u64,
            seconds,
            events_per_s: total.ok_events as f64 / seconds,
            requests_per_s: total.ok_requests as f64 / seconds,
            latency: Percentiles::of(&mut total.latencies_us),
            errors: total.errors,
        }
    }

    fn print(&self) -> anyhow::Result<()> {
        println!(
            "published {} events ({} B each) in {} requests of {} from {} tasks in {:.2} s",
            self.events,
            self.event_bytes,
            self.requests,
            self.batch,
            self.concurrency,
            self.seconds
        );
        println!(
            "  {:.0} events/s, {:.0} requests/s",
            self.events_per_s, self.requests_per_s
        );
        println!(
            "  request latency: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
            self.latency.p50_ms, self.latency.p99_ms, self.latency.max_ms
        );
        if self.errors.is_empty() {
            println!("  errors: none");
        } else {
            println!("  errors: {:?}", self.errors);
        }
        println!("{}", serde_json::to_string(self)?);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_have_the_asked_size_and_unique_ids() {
        let events = Events::new(200, 0);
        let body = events.body(7..10, 3);
        let parsed: Vec<serde_json::Value> = serde_json::from_str(&body).expect("an array");
        assert_eq!(parsed.len(), 3);
        assert_eq!(events.event_bytes(), 200);
        let ids: std::collections::HashSet<_> = parsed.iter().map(|e| e["id"].clone()).collect();
        assert_eq!(ids.len(), 3);
        let one: serde_json::Value = serde_json::from_str(&events.body(3..4, 1)).expect("object");
        assert!(one.is_object());
    }

    #[test]
    fn with_stream_events_each_stream_gets_that_many_consecutive_events() {
        let events = Events::new(200, 3);
        let body = events.body(0..7, 7);
        let parsed: Vec<serde_json::Value> = serde_json::from_str(&body).expect("an array");
        let streams: Vec<_> = parsed.iter().map(|e| e["stream"].as_str()).collect();
        let (a, b, c) = (
            Some("s-0000000000"),
            Some("s-0000000001"),
            Some("s-0000000002"),
        );
        assert_eq!(streams, [a, a, a, b, b, b, c]);
        assert_eq!(events.event_bytes(), 200);
    }

    #[test]
    fn the_plan_hands_out_every_event_once() {
        let plan = Plan {
            events: 250,
            batch: 100,
            next_request: AtomicU64::new(0),
        };
        let ranges: Vec<_> = std::iter::from_fn(|| plan.take()).collect();
        assert_eq!(ranges, [0..100, 100..200, 200..250]);
        assert_eq!(plan.take(), None);
    }
}
