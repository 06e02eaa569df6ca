//! `minibus bench query-rebuild`: how long `minibus query` takes to be ready from a long
//! log, and how much memory it holds then.
//!
//! Unless `--existing`, publishes `--events` blog events first, in arrays of 1,000: in each
//! block of ten, one `PostCreated`, four `CommentCreated` on that post and five
//! `CommentUpdated` (each comment's verdict at version 1, then the first comment's again at
//! version 2). Then starts `minibus query` (this same binary) as a child on port 0 and times
//! it from spawn to `/readyz` 200 (polled every 5 ms): in memory (no state), then with
//! `--persist` and an empty data dir, then again from that run's checkpoint. After each
//! start it reads the child's `VmRSS` and `VmHWM` from `/proc/PID/status` and stops it with
//! SIGTERM.

use super::Target;
use anyhow::Context;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::task::JoinSet;

/// Events per `POST /events` array.
const ARRAY: u64 = 1_000;
/// Requests in flight while publishing.
const PUBLISHERS: u64 = 4;
/// The `/readyz` polling interval.
const POLL: Duration = Duration::from_millis(5);

/// Flags of `minibus bench query-rebuild`.
#[derive(Debug, clap::Args)]
pub(crate) struct QueryRebuildArgs {
    #[command(flatten)]
    pub(crate) bus: Target,

    /// Blog events to publish before the runs (10 % posts, 40 % comments, 50 % updates).
    #[arg(long, env = "MINIBUS_BENCH_EVENTS", default_value_t = 1_000_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) events: u64,

    /// Publish nothing: the bus's log already holds the events.
    #[arg(long, env = "MINIBUS_BENCH_EXISTING", value_parser = bus::kit::BoolFlag)]
    pub(crate) existing: bool,

    /// Also time query with `--persist`: from an empty data dir, then from its checkpoint.
    #[arg(long, env = "MINIBUS_PERSIST", value_parser = bus::kit::BoolFlag)]
    pub(crate) persist: bool,

    /// query's data dir [default: a new temporary directory, removed at the end]; must be
    /// empty or absent.
    #[arg(long, env = "MINIBUS_DATA_DIR")]
    pub(crate) data_dir: Option<PathBuf>,

    /// The name of the child query's subscription on the bus (not `query`, so that a
    /// running stack's query is left alone).
    #[arg(long, env = "MINIBUS_SUBSCRIPTION_NAME", default_value = "query-bench")]
    pub(crate) subscription_name: String,

    /// How long one start may take to be ready, in seconds.
    #[arg(long, env = "MINIBUS_BENCH_TIMEOUT_S", default_value_t = 300)]
    pub(crate) timeout_s: u64,

    /// Let the child queries log to this stderr (hidden otherwise: every 503 from
    /// `/readyz` while it catches up is a log line).
    #[arg(long, env = "MINIBUS_BENCH_QUERY_LOGS", value_parser = bus::kit::BoolFlag)]
    pub(crate) query_logs: bool,
}

/// The blog events of the bench, in a fixed layout with ids unique to this run.
struct BlogEvents {
    prefix: String,
}

impl BlogEvents {
    fn new() -> Self {
        let since_epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Self {
            prefix: format!("qb-{:x}", since_epoch.as_nanos()),
        }
    }

    /// Appends event `n` to `out`: its place in its block of ten says what it is.
    fn write(&self, n: u64, out: &mut String) {
        let (block, slot) = (n / 10, n % 10);
        let post = format!("{}-p{block}", self.prefix);
        let comment = |k: u64| format!("{}-c{block}-{k}", self.prefix);
        let _ = match slot {
            0 => write!(
                out,
                r#"{{"id":"{post}","type":"PostCreated","data":{{"id":"{post}","title":"Post {block}"}}}}"#
            ),
            1..=4 => write!(
                out,
                r#"{{"id":"{c}","type":"CommentCreated","data":{{"id":"{c}","content":"comment {slot} on post {block}","postId":"{post}","status":"pending"}}}}"#,
                c = comment(slot - 1)
            ),
            _ => {
                let (k, version) = if slot == 9 { (0, 2) } else { (slot - 5, 1) };
                let status = if (block + k) % 10 == 0 {
                    "rejected"
                } else {
                    "approved"
                };
                write!(
                    out,
                    r#"{{"id":"{c}-v{version}","type":"CommentUpdated","data":{{"id":"{c}","content":"comment {k} on post {block}","postId":"{post}","status":"{status}","version":{version}}}}}"#,
                    c = comment(k)
                )
            }
        };
    }

    /// The JSON array of events `range`.
    fn array(&self, range: std::ops::Range<u64>) -> String {
        let mut out = String::with_capacity((range.end - range.start) as usize * 200 + 2);
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
}

/// Publishes, times the starts, prints the summary.
pub(crate) async fn run(args: QueryRebuildArgs) -> anyhow::Result<()> {
    let published_s = match args.existing {
        true => None,
        false => Some(publish(&args).await?),
    };
    let data = DataDir::new(args.data_dir.clone())?;
    let memory = Start::timed(&args, &data.path.join("memory"), false).await?;
    let mut summary = Summary::new(&args, published_s, memory);
    if args.persist {
        let dir = data.path.join("persist");
        summary.persist_empty = Some(Start::timed(&args, &dir, true).await?);
        summary.persist_checkpoint = Some(Start::timed(&args, &dir, true).await?);
    }
    summary.print()
}

/// Publishes `--events` events in arrays of [`ARRAY`] from [`PUBLISHERS`] tasks; returns the
/// seconds it took. Fails on the first refused array.
async fn publish(args: &QueryRebuildArgs) -> anyhow::Result<f64> {
    let client = args.bus.client(PUBLISHERS as usize)?;
    let (url, events) = (args.bus.events_url(), Arc::new(BlogEvents::new()));
    let bar = super::progress_bar(args.events, "events");
    let arrays = args.events.div_ceil(ARRAY);
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    for task in 0..PUBLISHERS {
        let (client, url, events, bar) = (client.clone(), url.clone(), events.clone(), bar.clone());
        let total = args.events;
        tasks.spawn(async move {
            // Arrays task, task + PUBLISHERS…: each is sent after the one before it in this
            // task, and a comment's array never goes before its post's (same block of ten
            // in one array: 1,000 is a multiple of ten).
            for array in (task..arrays).step_by(PUBLISHERS as usize) {
                let range = array * ARRAY..((array + 1) * ARRAY).min(total);
                let len = range.end - range.start;
                let reply = client.post(&url).body(events.array(range)).send().await?;
                anyhow::ensure!(
                    reply.status().is_success(),
                    "POST /events: {}",
                    reply.status()
                );
                bar.inc(len);
            }
            Ok(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    bar.finish_and_clear();
    Ok(started.elapsed().as_secs_f64())
}

/// Where the child queries keep their data: the given dir, or a temporary one removed at
/// the end.
struct DataDir {
    path: PathBuf,
    temporary: bool,
}

impl DataDir {
    fn new(given: Option<PathBuf>) -> anyhow::Result<Self> {
        let (path, temporary) = match given {
            Some(path) => (path, false),
            None => {
                let name = format!("minibus-query-rebuild-{}", std::process::id());
                (std::env::temp_dir().join(name), true)
            }
        };
        let empty = std::fs::read_dir(&path).map_or(true, |mut d| d.next().is_none());
        anyhow::ensure!(empty, "{} is not empty", path.display());
        std::fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(Self { path, temporary })
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        if self.temporary {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// One start of query: seconds to ready and its memory then.
#[derive(Debug, serde::Serialize)]
struct Start {
    ready_s: f64,
    rss_mb: f64,
    hwm_mb: f64,
}

impl Start {
    /// Spawns query with `data_dir`, times it to ready, reads its memory, stops it.
    async fn timed(
        args: &QueryRebuildArgs,
        data_dir: &Path,
        persist: bool,
    ) -> anyhow::Result<Self> {
        let mut child = spawn_query(args, data_dir, persist)?;
        let spawned = Instant::now();
        let result = ready_then_memory(&mut child, spawned, args.timeout_s).await;
        stop(&mut child).await?;
        result
    }
}

/// `minibus query` on port 0 against `--bus-url`, its stdout piped (for the address).
fn spawn_query(args: &QueryRebuildArgs, data_dir: &Path, persist: bool) -> anyhow::Result<Child> {
    let exe = std::env::current_exe().context("finding this binary")?;
    let mut command = Command::new(exe);
    command
        .args([
            "query",
            "--listen",
            "127.0.0.1:0",
            "--bus-url",
            &args.bus.bus_url,
        ])
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--subscription-name", &args.subscription_name])
        .stdout(Stdio::piped())
        .stdin(Stdio::null());
    if !args.query_logs {
        command.stderr(Stdio::null());
    }
    if persist {
        command.arg("--persist");
    }
    command.spawn().context("starting minibus query")
}

/// Waits for the child's address, polls its `/readyz` until 200, then reads its memory.
async fn ready_then_memory(
    child: &mut Child,
    spawned: Instant,
    timeout_s: u64,
) -> anyhow::Result<Start> {
    let stdout = child.stdout.take().context("query's stdout")?;
    let base = tokio::task::spawn_blocking(move || listening_url(stdout)).await??;
    let deadline = spawned + Duration::from_secs(timeout_s);
    let readyz = format!("{base}/readyz");
    let client = reqwest::Client::new();
    loop {
        if let Ok(reply) = client.get(&readyz).send().await {
            if reply.status() == reqwest::StatusCode::OK {
                break;
            }
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "query not ready in {timeout_s} s"
        );
        if let Some(status) = child.try_wait()? {
            anyhow::bail!("query exited before ready: {status}");
        }
        tokio::time::sleep(POLL).await;
    }
    let ready_s = spawned.elapsed().as_secs_f64();
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id()))?;
    Ok(Start {
        ready_s,
        rss_mb: status_mb(&status, "VmRSS:").unwrap_or(f64::NAN),
        hwm_mb: status_mb(&status, "VmHWM:").unwrap_or(f64::NAN),
    })
}

/// The base URL from query's `minibus query listening on http://…` line.
pub(super) fn listening_url(stdout: std::process::ChildStdout) -> anyhow::Result<String> {
    for line in BufReader::new(stdout).lines() {
        if let Some((_, url)) = line?.split_once("listening on ") {
            return Ok(url.trim().to_string());
        }
    }
    anyhow::bail!("the child exited before listening")
}

/// A `/proc/PID/status` line's value (`VmRSS:   1234 kB`), in MiB.
pub(super) fn status_mb(status: &str, field: &str) -> Option<f64> {
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kb: f64 = line[field.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

/// SIGTERM (with `kill`, as the workspace forbids `unsafe`), then a bounded wait; SIGKILL
/// if it does not exit in 10 s.
pub(super) async fn stop(child: &mut Child) -> anyhow::Result<()> {
    let sent = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    if sent.is_ok_and(|s| s.success()) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if child.try_wait()?.is_some() {
                return Ok(());
            }
            tokio::time::sleep(POLL).await;
        }
    }
    child.kill().ok();
    child.wait()?;
    Ok(())
}

/// The figures of one run; also printed as one JSON line.
#[derive(Debug, serde::Serialize)]
struct Summary {
    bench: &'static str,
    events: u64,
    published: bool,
    publish_s: Option<f64>,
    memory_ready_s: f64,
    memory_rss_mb: f64,
    memory_hwm_mb: f64,
    persist_empty_s: Option<f64>,
    persist_empty_rss_mb: Option<f64>,
    persist_checkpoint_s: Option<f64>,
    persist_checkpoint_rss_mb: Option<f64>,
    #[serde(skip)]
    persist_empty: Option<Start>,
    #[serde(skip)]
    persist_checkpoint: Option<Start>,
}

impl Summary {
    fn new(args: &QueryRebuildArgs, publish_s: Option<f64>, memory: Start) -> Self {
        Self {
            bench: "query-rebuild",
            events: args.events,
            published: publish_s.is_some(),
            publish_s,
            memory_ready_s: memory.ready_s,
            memory_rss_mb: memory.rss_mb,
            memory_hwm_mb: memory.hwm_mb,
            persist_empty_s: None,
            persist_empty_rss_mb: None,
            persist_checkpoint_s: None,
            persist_checkpoint_rss_mb: None,
            persist_empty: None,
            persist_checkpoint: None,
        }
    }

    fn print(mut self) -> anyhow::Result<()> {
        self.persist_empty_s = self.persist_empty.as_ref().map(|s| s.ready_s);
        self.persist_empty_rss_mb = self.persist_empty.as_ref().map(|s| s.rss_mb);
        self.persist_checkpoint_s = self.persist_checkpoint.as_ref().map(|s| s.ready_s);
        self.persist_checkpoint_rss_mb = self.persist_checkpoint.as_ref().map(|s| s.rss_mb);
        if let Some(seconds) = self.publish_s {
            println!("published {} blog events in {seconds:.2} s", self.events);
        }
        println!(
            "query in memory: ready in {:.3} s, RSS {:.1} MiB (peak {:.1} MiB)",
            self.memory_ready_s, self.memory_rss_mb, self.memory_hwm_mb
        );
        for (what, start) in [
            ("--persist, empty", &self.persist_empty),
            ("--persist, from its checkpoint", &self.persist_checkpoint),
        ] {
            if let Some(s) = start {
                println!(
                    "query {what}: ready in {:.3} s, RSS {:.1} MiB (peak {:.1} MiB)",
                    s.ready_s, s.rss_mb, s.hwm_mb
                );
            }
        }
        println!("{}", serde_json::to_string(&self)?);
        Ok(())
    }
}

#[cfg(test)]
mod tests;
