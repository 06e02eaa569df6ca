//! `minibus bench fanout`: push delivery measured end to end.
//!
//! Fake subscribers run in this process on 127.0.0.1:0 and count what arrives (from the
//! `Minibus-First-Seq`/`Minibus-Seq` headers, so that a subscriber costs next to nothing).
//!
//! - **Throughput**: publish N events (arrays of 1,000), then create S subscriptions that
//!   start just before them, and time until every subscriber has received all N: deliveries
//!   per second per subscriber and in total. With `--existing`, nothing is published and
//!   the subscriptions replay the whole log from the beginning (the replay of a fresh
//!   subscription).
//! - **Latency** (`--latency-samples K`): one idle subscriber with `batch: 1`; K events are
//!   published one at a time, and for each the time from the publish's acknowledgement to
//!   its arrival at the subscriber is recorded.
//!
//! `--delivery at_most_once` gives every subscription that setting, so that the cost of
//! making the cursor durable before each request shows against the default.

use super::stats::Percentiles;
use super::Target;
use anyhow::{bail, Context};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use bus::wire::headers::{MINIBUS_FIRST_SEQ, MINIBUS_SEQ};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

#[derive(Debug, clap::Args)]
pub(crate) struct FanoutArgs {
    #[command(flatten)]
    target: Target,
    /// Subscribers (one subscription each).
    #[arg(long, env = "MINIBUS_BENCH_SUBSCRIBERS", default_value_t = 1)]
    subscribers: usize,
    /// Events to publish and deliver.
    #[arg(long, env = "MINIBUS_BENCH_EVENTS", default_value_t = 100_000)]
    events: u64,
    /// Events per delivery request (every subscription's `batch`).
    #[arg(long, env = "MINIBUS_BENCH_BATCH", default_value_t = 1)]
    batch: u32,
    /// Approximate bytes of each published event's JSON.
    #[arg(long, env = "MINIBUS_BENCH_SIZE", default_value_t = 200)]
    size: usize,
    /// Publish nothing: replay the whole existing log to fresh subscriptions.
    #[arg(long, env = "MINIBUS_BENCH_EXISTING", value_parser = bus::kit::BoolFlag)]
    existing: bool,
    /// Measure publish-acknowledged → received latency over this many events instead.
    #[arg(long, env = "MINIBUS_BENCH_LATENCY_SAMPLES")]
    latency_samples: Option<u64>,
    /// Every subscription's `delivery`.
    #[arg(long, env = "MINIBUS_BENCH_DELIVERY", value_enum, default_value_t = DeliveryArg::AtLeastOnce)]
    delivery: DeliveryArg,
}

/// `--delivery`: the subscriptions' `delivery` setting, spelled as in the API.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum DeliveryArg {
    /// Retried until acknowledged (the default).
    #[value(name = "at_least_once")]
    AtLeastOnce,
    /// Cursor durable before each request; failures parked.
    #[value(name = "at_most_once")]
    AtMostOnce,
}

impl DeliveryArg {
    /// The name the API takes.
    fn name(self) -> &'static str {
        match self {
            DeliveryArg::AtLeastOnce => "at_least_once",
            DeliveryArg::AtMostOnce => "at_most_once",
        }
    }
}

/// What one fake subscriber has received.
#[derive(Default)]
struct Inbox {
    /// The highest seq received.
    last: AtomicU64,
    /// Events received.
    count: AtomicU64,
    /// Arrival instants by seq, when latency is measured.
    arrivals: Option<Mutex<HashMap<u64, Instant>>>,
    arrived: Notify,
}

async fn receive(State(inbox): State<Arc<Inbox>>, headers: HeaderMap) -> StatusCode {
    let seq = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
    };
    let (Some(first), Some(last)) = (seq(MINIBUS_FIRST_SEQ), seq(MINIBUS_SEQ)) else {
        return StatusCode::BAD_REQUEST;
    };
    if let Some(arrivals) = &inbox.arrivals {
        arrivals
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(last, Instant::now());
    }
    inbox.count.fetch_add(last - first + 1, Ordering::Relaxed);
    inbox.last.fetch_max(last, Ordering::Relaxed);
    inbox.arrived.notify_waiters();
    StatusCode::NO_CONTENT
}

/// Starts a fake subscriber; returns its inbox and URL.
async fn subscriber(with_arrivals: bool) -> anyhow::Result<(Arc<Inbox>, String)> {
    let inbox = Arc::new(Inbox {
        arrivals: with_arrivals.then(Mutex::default),
        ..Inbox::default()
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/events", listener.local_addr()?);
    let app = axum::Router::new()
        .route("/events", post(receive))
        .with_state(inbox.clone());
    // As any HTTP server for small exchanges should (Node's does by default): no Nagle.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((inbox, url))
}

pub(crate) async fn run(args: FanoutArgs) -> anyhow::Result<()> {
    let client = args.target.client(4)?;
    let bus = Bus {
        client,
        base: args.target.bus_url.trim_end_matches('/').to_string(),
    };
    match args.latency_samples {
        Some(samples) => latency(&bus, &args, samples).await,
        None => throughput(&bus, &args).await,
    }
}

struct Bus {
    client: reqwest::Client,
    base: String,
}

impl Bus {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("calling {path}"))?;
        let status = response.status();
        let text = response.text().await?;
        if !status.is_success() {
            bail!("{path}: {status}: {text}");
        }
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn head(&self) -> anyhow::Result<u64> {
        let info = self.call(reqwest::Method::GET, "/info", None).await?;
        info["head_seq"].as_u64().context("/info has no head_seq")
    }

    /// Publishes `n` events of about `size` bytes, in arrays of 1,000; the last seq.
    async fn publish(&self, n: u64, size: usize) -> anyhow::Result<u64> {
        let pad = "x".repeat(size.saturating_sub(120));
        let mut last = 0;
        let mut sent = 0;
        while sent < n {
            let k = (n - sent).min(1_000);
            let events: Vec<Value> = (0..k)
                .map(|i| json!({"type": "BenchEvent", "data": {"n": sent + i, "pad": pad}}))
                .collect();
            let replies = self
                .call(reqwest::Method::POST, "/events", Some(Value::Array(events)))
                .await?;
            last = replies
                .as_array()
                .and_then(|r| r.last())
                .and_then(|r| r["seq"].as_u64())
                .unwrap_or(last);
            sent += k;
        }
        Ok(last)
    }

    async fn subscribe(
        &self,
        name: &str,
        url: &str,
        after: u64,
        batch: u32,
        delivery: DeliveryArg,
    ) -> anyhow::Result<()> {
        let spec = json!({
            "url": url, "start": {"after": after}, "batch": batch, "delivery": delivery.name(),
        });
        self.call(
            reqwest::Method::PUT,
            &format!("/subscriptions/{name}"),
            Some(spec),
        )
        .await?;
        Ok(())
    }

    async fn unsubscribe(&self, name: &str) {
        let _ = self
            .client
            .delete(format!("{}/subscriptions/{name}", self.base))
            .send()
            .await;
    }
}

/// Waits until `inbox` has seen `last`.
async fn received(inbox: &Inbox, last: u64) {
    loop {
        let arrived = inbox.arrived.notified();
        if inbox.last.load(Ordering::Relaxed) >= last {
            return;
        }
        let _ = tokio::time::timeout(Duration::from_millis(50), arrived).await;
    }
}

async fn throughput(bus: &Bus, args: &FanoutArgs) -> anyhow::Result<()> {
    let (after, last) = if args.existing {
        (0, bus.head().await?)
    } else {
        let before = bus.head().await?;
        eprintln!("publishing {} events…", args.events);
        (before, bus.publish(args.events, args.size).await?)
    };
    let run_id = uuid::Uuid::new_v4().simple().to_string();
    let mut inboxes = Vec::new();
    let started = Instant::now();
    for i in 0..args.subscribers {
        let (inbox, url) = subscriber(false).await?;
        let name = format!("bench-{run_id}-{i}");
        bus.subscribe(&name, &url, after, args.batch, args.delivery)
            .await?;
        inboxes.push(inbox);
    }
    for inbox in &inboxes {
        received(inbox, last).await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    for i in 0..args.subscribers {
        bus.unsubscribe(&format!("bench-{run_id}-{i}")).await;
    }
    let events = last - after;
    let delivered: u64 = inboxes
        .iter()
        .map(|i| i.count.load(Ordering::Relaxed))
        .sum();
    let summary = json!({
        "bench": "fanout", "subscribers": args.subscribers, "batch": args.batch,
        "delivery": args.delivery.name(),
        "events": events, "deliveries": delivered, "seconds": elapsed,
        "events_per_s_per_subscriber": events as f64 / elapsed,
        "deliveries_per_s_total": delivered as f64 / elapsed,
    });
    println!(
        "{} subscriber(s), batch {}, {}: {events} events each in {elapsed:.2} s = {:.0} events/s per subscriber, {:.0} deliveries/s in total",
        args.subscribers, args.batch, args.delivery.name(), events as f64 / elapsed, delivered as f64 / elapsed
    );
    println!("{summary}");
    Ok(())
}

async fn latency(bus: &Bus, args: &FanoutArgs, samples: u64) -> anyhow::Result<()> {
    let (inbox, url) = subscriber(true).await?;
    let name = format!("bench-latency-{}", uuid::Uuid::new_v4().simple());
    bus.subscribe(&name, &url, bus.head().await?, 1, args.delivery)
        .await?;
    let pad = "x".repeat(args.size.saturating_sub(120));
    let mut latencies_us = Vec::with_capacity(samples as usize);
    let mut from_send_us = Vec::with_capacity(samples as usize);
    let mut before_ack = 0;
    for n in 0..samples {
        let sent = Instant::now();
        let reply = bus
            .call(
                reqwest::Method::POST,
                "/events",
                Some(json!({"type": "BenchEvent", "data": {"n": n, "pad": pad}})),
            )
            .await?;
        let acked = Instant::now();
        let seq = reply["seq"].as_u64().context("no seq in the reply")?;
        received(&inbox, seq).await;
        let arrived = inbox
            .arrivals
            .as_ref()
            .and_then(|a| a.lock().ok()?.get(&seq).copied())
            .unwrap_or(acked);
        latencies_us.push(arrived.saturating_duration_since(acked).as_micros() as u64);
        from_send_us.push(arrived.saturating_duration_since(sent).as_micros() as u64);
        before_ack += u64::from(arrived < acked);
    }
    bus.unsubscribe(&name).await;
    let p = Percentiles::of(&mut latencies_us);
    let s = Percentiles::of(&mut from_send_us);
    println!(
        "{}: publish acknowledged → received, {samples} events: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms \
         ({before_ack} arrived before the publisher had its acknowledgement: counted as 0)",
        args.delivery.name(),
        p.p50_ms,
        p.p99_ms,
        p.max_ms
    );
    println!(
        "publish sent → received: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        s.p50_ms, s.p99_ms, s.max_ms
    );
    let summary = json!({
        "bench": "fanout-latency", "delivery": args.delivery.name(), "samples": samples, "p50_ms": p.p50_ms, "p99_ms": p.p99_ms,
        "max_ms": p.max_ms, "arrived_before_ack": before_ack, "sent_p50_ms": s.p50_ms,
        "sent_p99_ms": s.p99_ms, "sent_max_ms": s.max_ms,
    });
    println!("{summary}");
    Ok(())
}
