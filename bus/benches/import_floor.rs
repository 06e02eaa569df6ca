//! The floor of `minibus bus import`'s write pass: its inserts alone, with no file.
//!
//! The events are built in memory first (not timed), in batches of the import's size; then
//! the import's own insert stages ([`import_insert_batches`]: the records on one thread, the
//! id and stream entries on two more, as `minibus bus import` runs them) take them into a
//! fresh store, and it is flushed. No reading, parsing or validating: whatever an import
//! does besides comes on top of this time. Each run prints the wall time, the events/s and
//! the process's CPU time over it (user + system, all threads, sled's own included). A
//! second pass puts the same records and id entries straight into two sled trees, one
//! thread each, with the store's settings: sled's own floor, under any code of ours.
//!
//! Run: `cargo bench -p bus --features daemon --bench import_floor`. Settings (env):
//! `MINIBUS_IMPORT_FLOOR_EVENTS` (default 1,000,000), `MINIBUS_IMPORT_FLOOR_BYTES` (each
//! envelope's length, default 248: a `minibus bench publish --size 200` event),
//! `MINIBUS_IMPORT_FLOOR_RUNS` (default 3). Each run is also printed as one JSON line.

mod common;

use bus::daemon::bench::{import_insert_batches, EventLog, NewRecord, SledLog, IMPORT_BATCH};
use common::env_or;
use std::error::Error;
use std::time::Instant;

// The allocator of the `minibus` binary, so that the floor is the import's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// A pass: given the events and their size, its wall and CPU seconds.
type Measure = fn(u64, usize) -> Result<(f64, f64)>;

/// The process's CPU time so far (user + system, every thread), in seconds: fields 14 and
/// 15 of `/proc/self/stat`, in clock ticks of 1/100 s (Linux's `USER_HZ` for userspace).
fn cpu_seconds() -> Result<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // The fields after the command name, which is in parentheses and may hold spaces.
    let after_name = stat.rsplit_once(')').ok_or("no command name")?.1;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| -> Result<f64> { Ok(fields.get(i).ok_or("short stat")?.parse()?) };
    // Fields 14 and 15 counted from 1 are 11 and 12 after the name (state is field 3).
    Ok((ticks(11)? + ticks(12)?) / 100.0)
}

fn batches(events: u64, bytes: usize) -> Vec<Vec<NewRecord>> {
    let all: Vec<NewRecord> = (1..=events).map(|seq| common::record(seq, bytes)).collect();
    let mut batches = Vec::new();
    let mut rest = all.into_iter().peekable();
    while rest.peek().is_some() {
        batches.push(rest.by_ref().take(IMPORT_BATCH).collect());
    }
    batches
}

fn run(events: u64, bytes: usize) -> Result<(f64, f64)> {
    let dir = tempfile::tempdir()?;
    let (log, _) = SledLog::open(dir.path(), bus::kit::DEFAULT_CACHE_MB)?;
    let batches = batches(events, bytes);
    let cpu_before = cpu_seconds()?;
    let started = Instant::now();
    let sent = import_insert_batches(&log, |out| {
        let mut sent = 0;
        for batch in batches {
            sent += batch.len() as u64;
            if out.send(batch).is_err() {
                break; // a stage failed: insert_batches reports its error
            }
        }
        Ok(sent)
    })?;
    log.flush()?;
    let seconds = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds()? - cpu_before;
    if sent != events || log.last_seq()? != events {
        return Err(format!("{sent} events sent, head {}", log.last_seq()?).into());
    }
    Ok((seconds, cpu))
}

/// The same records and id entries put straight into two sled trees, one thread each,
/// with the store's sled settings: what sled itself takes, under any code of ours.
fn run_sled_alone(events: u64, bytes: usize) -> Result<(f64, f64)> {
    let dir = tempfile::tempdir()?;
    let db = sled::Config::new()
        .path(dir.path())
        .cache_capacity(bus::kit::DEFAULT_CACHE_MB * 1024 * 1024)
        .flush_every_ms(Some(100))
        .open()?;
    let (records, ids) = (db.open_tree("events")?, db.open_tree("ids")?);
    let all: Vec<NewRecord> = batches(events, bytes).into_iter().flatten().collect();
    let cpu_before = cpu_seconds()?;
    let started = Instant::now();
    std::thread::scope(|scope| -> Result<()> {
        let records = scope.spawn(|| {
            all.iter().try_for_each(|r| {
                records
                    .insert(r.seq.to_be_bytes(), r.raw.as_slice())
                    .map(drop)
            })
        });
        let ids = scope.spawn(|| {
            all.iter()
                .try_for_each(|r| ids.insert(r.id.as_bytes(), &r.seq.to_be_bytes()).map(drop))
        });
        for inserts in [records, ids] {
            inserts.join().map_err(|_| "an insert thread panicked")??;
        }
        Ok(())
    })?;
    db.flush()?;
    Ok((started.elapsed().as_secs_f64(), cpu_seconds()? - cpu_before))
}

fn main() -> Result<()> {
    let events: u64 = env_or("MINIBUS_IMPORT_FLOOR_EVENTS", 1_000_000);
    let bytes: usize = env_or("MINIBUS_IMPORT_FLOOR_BYTES", 248);
    let runs: u32 = env_or("MINIBUS_IMPORT_FLOOR_RUNS", 3);
    for _ in 0..runs {
        let passes: [(&str, Measure); 2] = [
            ("the import's insert stages", run),
            ("sled alone, two trees", run_sled_alone),
        ];
        for (pass, measure) in passes {
            let (seconds, cpu) = measure(events, bytes)?;
            let per_s = events as f64 / seconds;
            println!(
                "{pass}: {events} events of {bytes} bytes in {seconds:.2} s \
                 ({per_s:.0} events/s), {cpu:.1} s of CPU"
            );
            let line = serde_json::json!({
                "bench": "import_floor", "pass": pass, "events": events, "event_bytes": bytes,
                "seconds": seconds, "events_per_s": per_s, "cpu_seconds": cpu,
            });
            println!("{line}");
        }
    }
    Ok(())
}
