//! `minibus bench read`: times `GET /events`, the whole log streamed, as a client would read
//! it (every byte taken off the socket, events counted as they pass).

use super::{progress_bar, Target};
use anyhow::Context;
use futures_util::StreamExt;
use std::time::Instant;

/// Flags of `minibus bench read`.
#[derive(Debug, clap::Args)]
pub(crate) struct ReadArgs {
    #[command(flatten)]
    pub(crate) target: Target,
}

/// The figures of one read; also printed as one JSON line.
#[derive(Debug, Default, serde::Serialize)]
struct ReadSummary {
    bench: &'static str,
    head_seq: u64,
    events: u64,
    bytes: u64,
    seconds: f64,
    first_byte_ms: f64,
    events_per_s: f64,
    mib_per_s: f64,
}

/// Reads the whole log once and prints the summary.
pub(crate) async fn run(args: ReadArgs) -> anyhow::Result<()> {
    let client = args.target.client(1)?;
    let started = Instant::now();
    let response = client
        .get(args.target.events_url())
        .send()
        .await
        .context("GET /events")?;
    let first_byte = started.elapsed();
    anyhow::ensure!(
        response.status() == reqwest::StatusCode::OK,
        "GET /events answered {}",
        response.status()
    );
    let head_seq = response
        .headers()
        .get(bus::wire::headers::MINIBUS_HEAD_SEQ)
        .and_then(|v| v.to_str().ok()?.parse().ok())
        .unwrap_or(0);
    let bar = progress_bar(head_seq, "events");
    let mut counter = EventCounter::default();
    let mut bytes = 0u64;
    let mut body = response.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.context("reading the body of GET /events")?;
        bytes += chunk.len() as u64;
        counter.feed(&chunk);
        bar.set_position(counter.events);
    }
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64().max(f64::MIN_POSITIVE);
    let summary = ReadSummary {
        bench: "read",
        head_seq,
        events: counter.events,
        bytes,
        seconds,
        first_byte_ms: first_byte.as_secs_f64() * 1000.0,
        events_per_s: counter.events as f64 / seconds,
        mib_per_s: bytes as f64 / seconds / (1024.0 * 1024.0),
    };
    print(&summary)?;
    anyhow::ensure!(
        counter.events == head_seq,
        "counted {} events but the head was {head_seq}",
        counter.events
    );
    Ok(())
}

fn print(s: &ReadSummary) -> anyhow::Result<()> {
    println!(
        "read {} events ({} bytes) in {:.2} s (first byte after {:.1} ms)",
        s.events, s.bytes, s.seconds, s.first_byte_ms
    );
    println!("  {:.0} events/s, {:.1} MiB/s", s.events_per_s, s.mib_per_s);
    println!("{}", serde_json::to_string(s)?);
    Ok(())
}

/// Counts the objects of a top-level JSON array fed in arbitrary pieces, without parsing
/// them: it tracks nesting depth and strings (so braces inside `data` strings don't count).
#[derive(Debug, Default)]
struct EventCounter {
    events: u64,
    depth: u32,
    in_string: bool,
    escaped: bool,
}

impl EventCounter {
    fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if self.in_string {
                match (self.escaped, b) {
                    (true, _) => self.escaped = false,
                    (false, b'\\') => self.escaped = true,
                    (false, b'"') => self.in_string = false,
                    _ => {}
                }
                continue;
            }
            match b {
                b'"' => self.in_string = true,
                b'{' | b'[' => {
                    if b == b'{' && self.depth == 1 {
                        self.events += 1;
                    }
                    self.depth += 1;
                }
                b'}' | b']' => self.depth = self.depth.saturating_sub(1),
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_top_level_objects_across_pieces() {
        let body = br#"[{"seq":1,"data":{"a":"}{\"{"}},{"seq":2,"data":[{}]}]"#;
        for split in 0..body.len() {
            let mut counter = EventCounter::default();
            counter.feed(&body[..split]);
            counter.feed(&body[split..]);
            assert_eq!(counter.events, 2, "split at {split}");
        }
    }
}
