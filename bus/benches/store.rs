//! The store ceiling without HTTP: how fast the sled log takes durable groups of records.
//!
//! For each group size K (1, 64, 100, 1,000) a fresh store in a temp dir takes groups of K
//! records of about 200 bytes through [`EventLog::append`] (what the writer uses: the
//! records, as one atomic batch when K > 1 as for an array publish, then the index entries
//! and the verified-head marker) and an [`EventLog::flush`]
//! after each group, for a bounded time and count. It prints records/s over the time spent
//! in append + flush, and the per-group p50/p99/max. A pass at K = 100 also looks every id
//! up first, as the writer's idempotency check does. Then it fills a store with
//! `MINIBUS_STORE_BENCH_REOPEN` records and times closing and reopening it.
//!
//! Run: `cargo bench -p bus --features daemon --bench store`. Settings (env):
//! `MINIBUS_STORE_BENCH_SECONDS` (per pass, default 5), `MINIBUS_STORE_BENCH_MAX`
//! (records per pass, default 1,000,000), `MINIBUS_STORE_BENCH_REOPEN` (default
//! 1,000,000; 0 skips). Each result is also printed as one JSON line.

mod common;

use bus::daemon::bench::{EventLog, NewRecord, SledLog};
use common::{env_or, record};

// The allocator of the `minibus` binary, so that the ceiling is the daemon's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::error::Error;
use std::path::Path;
use std::time::{Duration, Instant};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

struct Settings {
    seconds: f64,
    max_records: u64,
    reopen_records: u64,
}

impl Settings {
    fn from_env() -> Self {
        Self {
            seconds: env_or("MINIBUS_STORE_BENCH_SECONDS", 5.0),
            max_records: env_or("MINIBUS_STORE_BENCH_MAX", 1_000_000),
            reopen_records: env_or("MINIBUS_STORE_BENCH_REOPEN", 1_000_000),
        }
    }
}

/// The page cache of the daemon's default `--cache-mb`.
const CACHE_MB: u64 = bus::kit::DEFAULT_CACHE_MB;
/// Target size of one event's envelope JSON.
const EVENT_BYTES: usize = 200;
/// Records `first..first + k`.
fn records(first: u64, k: usize) -> Vec<NewRecord> {
    (first..first + k as u64)
        .map(|seq| record(seq, EVENT_BYTES))
        .collect()
}

/// What one pass achieved.
struct Run {
    records: u64,
    store_time: Duration,
    groups_us: Vec<u64>,
}

/// How a pass writes a group.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// `EventLog::append` (one batch per tree, as the writer does) + flush.
    Append,
    /// An id lookup per record first (the writer's idempotency check), then as `Append`.
    LookupAppend,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Append => "append + flush",
            Mode::LookupAppend => "id lookup + append + flush",
        }
    }
}

/// Writes and flushes one group the way `mode` says.
fn write_group(log: &SledLog, group: &[NewRecord], mode: Mode) -> Result<()> {
    if mode == Mode::LookupAppend {
        for r in group {
            if log.seq_of_id(&r.id)?.is_some() {
                return Err(format!("id {} already stored", r.id).into());
            }
        }
    }
    // Groups of several are written as an array publish is: all-or-nothing (the slower way).
    log.append(group, group.len() > 1)?;
    log.flush()?;
    Ok(())
}

/// Appends and flushes groups of `k` until the time or count budget is spent. Only the
/// store calls are timed; building the records is not.
fn run_groups(log: &SledLog, k: usize, mode: Mode, settings: &Settings) -> Result<Run> {
    let budget = Duration::from_secs_f64(settings.seconds);
    let mut run = Run {
        records: 0,
        store_time: Duration::ZERO,
        groups_us: Vec::new(),
    };
    while run.store_time < budget && run.records < settings.max_records {
        let group = records(run.records + 1, k);
        let started = Instant::now();
        write_group(log, &group, mode)?;
        let took = started.elapsed();
        run.store_time += took;
        run.groups_us.push(u64::try_from(took.as_micros())?);
        run.records += k as u64;
    }
    Ok(run)
}

/// Nearest-rank percentile `p` (0–1) of sorted microseconds, in milliseconds.
fn percentile_ms(sorted: &[u64], p: f64) -> f64 {
    let rank = (p * sorted.len() as f64).ceil() as usize;
    let at = rank.clamp(1, sorted.len().max(1)) - 1;
    sorted.get(at).copied().unwrap_or(0) as f64 / 1000.0
}

fn report(k: usize, mode: Mode, mut run: Run) {
    run.groups_us.sort_unstable();
    let seconds = run.store_time.as_secs_f64();
    let per_s = run.records as f64 / seconds;
    let p50 = percentile_ms(&run.groups_us, 0.5);
    let p99 = percentile_ms(&run.groups_us, 0.99);
    let max = percentile_ms(&run.groups_us, 1.0);
    let what = mode.name();
    println!(
        "K={k:>4} {what}: {} records in {seconds:.2} s: {per_s:.0} records/s; \
         per group p50 {p50:.3} ms, p99 {p99:.3} ms, max {max:.3} ms",
        run.records
    );
    let line = serde_json::json!({
        "bench": "store", "group": k, "mode": what, "records": run.records,
        "seconds": seconds, "records_per_s": per_s,
        "group_p50_ms": p50, "group_p99_ms": p99, "group_max_ms": max,
    });
    println!("{line}");
}

fn dir_bytes(dir: &Path) -> Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        total += if meta.is_dir() {
            dir_bytes(&entry.path())?
        } else {
            meta.len()
        };
    }
    Ok(total)
}

/// Fills `log` with `n` records in durable groups of 1,000; returns the seconds it took.
fn fill(log: &SledLog, n: u64) -> Result<f64> {
    let started = Instant::now();
    let mut seq = 1;
    while seq <= n {
        let k = (n - seq + 1).min(1000) as usize;
        log.append(&records(seq, k), true)?;
        log.flush()?;
        seq += k as u64;
    }
    Ok(started.elapsed().as_secs_f64())
}

/// Fills a store with `n` records, then times closing it and reopening it three times
/// (the open includes the daemon's start-up check of the tail after the verified head).
fn reopen(n: u64) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let (log, _) = SledLog::open(dir.path(), CACHE_MB)?;
    let fill_seconds = fill(&log, n)?;
    let closing = Instant::now();
    drop(log);
    let close_seconds = closing.elapsed().as_secs_f64();
    let mut opens = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        let (log, recovery) = SledLog::open(dir.path(), CACHE_MB)?;
        opens.push(started.elapsed().as_secs_f64());
        if recovery.head != n || log.last_seq()? != n {
            return Err(format!("reopened with head {} instead of {n}", recovery.head).into());
        }
    }
    let mib = dir_bytes(dir.path())? as f64 / (1024.0 * 1024.0);
    let rounded: Vec<f64> = opens
        .iter()
        .map(|s| (s * 1000.0).round() / 1000.0)
        .collect();
    println!(
        "reopen of {n} records ({mib:.0} MiB, filled in {fill_seconds:.1} s, \
         closed in {close_seconds:.3} s): {rounded:?} s"
    );
    let line = serde_json::json!({
        "bench": "store_reopen", "records": n, "mib": mib, "fill_seconds": fill_seconds,
        "close_seconds": close_seconds, "open_seconds": opens,
    });
    println!("{line}");
    Ok(())
}

fn main() -> Result<()> {
    let settings = Settings::from_env();
    let passes = [
        (1, Mode::Append),
        (64, Mode::Append),
        (100, Mode::Append),
        (1000, Mode::Append),
        (100, Mode::LookupAppend),
    ];
    for (k, mode) in passes {
        let dir = tempfile::tempdir()?;
        let (log, _) = SledLog::open(dir.path(), CACHE_MB)?;
        let run = run_groups(&log, k, mode, &settings)?;
        report(k, mode, run);
    }
    if settings.reopen_records > 0 {
        reopen(settings.reopen_records)?;
    }
    Ok(())
}
