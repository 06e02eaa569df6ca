//! `minibus bench blog`: the blog's chain timed from outside, against a running stack.
//!
//! - latency: posts at `--rate` per second, each timed from `POST /posts` answered to the
//!   post in query's `GET /posts/{id}`; then comments at the same rate, each timed from
//!   `POST /posts/{id}/comments` answered to its final status (`approved` or `rejected`) in
//!   query. Both wait on query with `min_seq`: first the write's `Minibus-Seq`, then one past
//!   the seq query answered with, so each look is a long poll that returns as soon as query
//!   applies something new (no polling interval to add to the figures);
//! - sustained: comments at `--sustained-rate` per second for `--seconds`, each request
//!   opened on its tick (open loop, at most `--max-in-flight` at once); then the time from
//!   the last answer until the bus's `GET /subscriptions` shows query's lag 0 with the head
//!   past the chain's three events per comment (`CommentCreated`, `CommentModerated`,
//!   `CommentUpdated`): the whole chain drained.
//!
//! One comment in ten contains `orange` (the default blocked word), so both verdicts occur.
//!
//! With `--spawn`, the bench starts the stack itself, each service as its own process
//! (`processes.rs`), and reports each one's resident memory once all are ready and after
//! the runs.

mod chain;
mod processes;
mod summary;

use super::stats::Percentiles;
use super::Target;
use chain::{Outcome, Stack};
use processes::Processes;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use summary::{BlogSummary, Memory, Sustained};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::MissedTickBehavior;

/// Flags of `minibus bench blog`.
#[derive(Debug, clap::Args)]
pub(crate) struct BlogArgs {
    #[command(flatten)]
    pub(crate) bus: Target,

    /// Base URL of the posts service.
    #[arg(
        long,
        env = "MINIBUS_POSTS_URL",
        default_value = "http://127.0.0.1:4000"
    )]
    pub(crate) posts_url: String,

    /// Base URL of the comments service.
    #[arg(
        long,
        env = "MINIBUS_COMMENTS_URL",
        default_value = "http://127.0.0.1:4001"
    )]
    pub(crate) comments_url: String,

    /// Base URL of the query service.
    #[arg(
        long,
        env = "MINIBUS_QUERY_URL",
        default_value = "http://127.0.0.1:4002"
    )]
    pub(crate) query_url: String,

    /// Writes per second in the latency runs (posts, then comments).
    #[arg(long, env = "MINIBUS_BENCH_RATE", default_value_t = 100,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub(crate) rate: u32,

    /// Posts, and then comments, timed in the latency runs.
    #[arg(long, env = "MINIBUS_BENCH_SAMPLES", default_value_t = 500,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) samples: u32,

    /// Comments per second in the sustained run (0 skips it).
    #[arg(long, env = "MINIBUS_BENCH_SUSTAINED_RATE", default_value_t = 1000,
          value_parser = clap::value_parser!(u32).range(0..=100_000))]
    pub(crate) sustained_rate: u32,

    /// Length of the sustained run, in seconds.
    #[arg(long, env = "MINIBUS_BENCH_SECONDS", default_value_t = 5,
          value_parser = clap::value_parser!(u32).range(1..=3600))]
    pub(crate) seconds: u32,

    /// Requests open at once in the sustained run; a tick that finds none free waits, so a
    /// stack that cannot keep up shows as a lower achieved rate.
    #[arg(long, env = "MINIBUS_BENCH_MAX_IN_FLIGHT", default_value_t = 256,
          value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub(crate) max_in_flight: u32,

    /// How long a write may take to show in query before it counts as `timeout`, in ms.
    #[arg(long, env = "MINIBUS_BENCH_TIMEOUT_MS", default_value_t = 10_000)]
    pub(crate) timeout_ms: u64,

    /// Start the stack here, each service a `minibus <service>` process of this binary on
    /// an OS-chosen port with its data in a temporary directory (the URL flags are then
    /// not used), and report each one's memory (VmRSS) idle and after the runs.
    #[arg(long, env = "MINIBUS_BENCH_SPAWN", value_parser = bus::kit::BoolFlag)]
    pub(crate) spawn: bool,
}

/// Runs the benchmark, on a stack of its own with `--spawn`, and prints the summary; fails
/// if any write failed or never showed in query.
pub(crate) async fn run(mut args: BlogArgs) -> anyhow::Result<()> {
    if !args.spawn {
        return finish(runs(&args).await?);
    }
    let processes = Processes::start().await?;
    let url = |name: &str| processes.url(name).map(str::to_owned).unwrap_or_default();
    args.bus.bus_url = url("bus");
    (args.posts_url, args.comments_url) = (url("posts"), url("comments"));
    args.query_url = url("query");
    let idle_mb = processes.memory_mb()?;
    let mut summary = runs(&args).await?;
    let after_load_mb = processes.memory_mb()?;
    summary.memory = Some(Memory {
        idle_mb,
        after_load_mb,
    });
    processes.stop().await?;
    finish(summary)
}

/// Prints `summary`; an error if any write failed.
fn finish(summary: BlogSummary) -> anyhow::Result<()> {
    summary.print()?;
    let failed: u64 = summary.errors().values().sum();
    anyhow::ensure!(
        failed == 0,
        "{failed} writes failed: {:?}",
        summary.errors()
    );
    Ok(())
}

/// The latency runs and the sustained run against the stack at the URLs of `args`.
async fn runs(args: &BlogArgs) -> anyhow::Result<BlogSummary> {
    let stack = Arc::new(Stack::new(args)?);
    let posts = paced(args, args.rate, args.samples.into(), |_| {
        let stack = stack.clone();
        async move { stack.post_to_query().await }
    })
    .await?;
    let post_ids: Arc<Vec<String>> = Arc::new(posts.ids.clone());
    anyhow::ensure!(
        !post_ids.is_empty(),
        "no post was created: {:?}",
        posts.errors
    );
    let comments = paced(args, args.rate, args.samples.into(), |n| {
        let (stack, post_ids) = (stack.clone(), post_ids.clone());
        async move { stack.comment_to_query(&post_ids, n).await }
    })
    .await?;
    let sustained = match args.sustained_rate {
        0 => None,
        rate => Some(sustained(args, &stack, rate, &post_ids).await?),
    };
    Ok(BlogSummary::new(args.rate, posts, comments, sustained))
}

/// The sustained run: comments at `rate` for `--seconds`, then the wait for the chain to
/// drain.
async fn sustained(
    args: &BlogArgs,
    stack: &Arc<Stack>,
    rate: u32,
    post_ids: &Arc<Vec<String>>,
) -> anyhow::Result<Sustained> {
    let head_before = stack.head_seq().await?;
    let total = u64::from(rate) * u64::from(args.seconds);
    let started = Instant::now();
    let mut run = paced(args, rate, total, |n| {
        let (stack, post_ids) = (stack.clone(), post_ids.clone());
        async move { stack.comment(&post_ids, n).await }
    })
    .await?;
    let load_seconds = started.elapsed().as_secs_f64();
    let stopped = Instant::now();
    let lag_at_stop = stack.lags().await?;
    let expected_head = head_before + 3 * run.ok;
    let drained = stack.drained(expected_head, args.timeout()).await;
    let query_lag_zero_ms = match drained {
        Ok(()) => Some(stopped.elapsed().as_secs_f64() * 1000.0),
        Err(kind) => {
            *run.errors.entry(kind).or_default() += 1;
            None
        }
    };
    Ok(Sustained {
        rate_asked: rate,
        seconds_asked: args.seconds,
        comments: run.ok,
        load_seconds,
        achieved_per_s: run.ok as f64 / load_seconds.max(f64::MIN_POSITIVE),
        request: Percentiles::of(&mut run.latencies_us),
        lag_at_stop,
        query_lag_zero_ms,
        errors: run.errors,
    })
}

impl BlogArgs {
    /// `--timeout-ms` as a duration.
    fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }
}

/// What a paced run saw: latencies of the successes, the post ids they made (if any),
/// failures by kind.
#[derive(Debug, Default)]
struct Run {
    ok: u64,
    latencies_us: Vec<u64>,
    ids: Vec<String>,
    errors: BTreeMap<String, u64>,
}

/// Starts `total` jobs, `rate` per second on a steady tick (open loop: a slow answer does
/// not delay the next start), at most `--max-in-flight` at once; gathers their outcomes.
async fn paced<F, Fut>(args: &BlogArgs, rate: u32, total: u64, job: F) -> anyhow::Result<Run>
where
    F: Fn(u64) -> Fut,
    Fut: std::future::Future<Output = Outcome> + Send + 'static,
{
    let slots = Arc::new(Semaphore::new(args.max_in_flight as usize));
    let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate)));
    ticks.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let mut jobs = JoinSet::new();
    for n in 0..total {
        ticks.tick().await;
        let slot = slots.clone().acquire_owned().await?;
        let work = job(n);
        jobs.spawn(async move {
            let outcome = work.await;
            drop(slot);
            outcome
        });
    }
    let mut run = Run::default();
    while let Some(outcome) = jobs.join_next().await {
        match outcome? {
            Ok((latency, id)) => {
                run.ok += 1;
                run.latencies_us
                    .push(u64::try_from(latency.as_micros()).unwrap_or(u64::MAX));
                run.ids.extend(id);
            }
            Err(kind) => *run.errors.entry(kind).or_default() += 1,
        }
    }
    Ok(run)
}
#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, clap::Parser)]
    struct Cli {
        #[command(flatten)]
        args: BlogArgs,
    }

    #[test]
    fn defaults_are_the_course_ports_and_the_issue_rates() {
        let cli = Cli::try_parse_from(["blog"]).expect("defaults parse");
        let a = cli.args;
        assert_eq!(a.posts_url, "http://127.0.0.1:4000");
        assert_eq!(a.comments_url, "http://127.0.0.1:4001");
        assert_eq!(a.query_url, "http://127.0.0.1:4002");
        assert_eq!(a.bus.bus_url, "http://127.0.0.1:4005");
        assert_eq!((a.rate, a.sustained_rate), (100, 1000));
        assert!(Cli::try_parse_from(["blog", "--rate", "0"]).is_err());
        let short = Cli::try_parse_from(["blog", "--sustained-rate", "0", "--seconds", "2"]);
        assert_eq!(short.expect("parses").args.sustained_rate, 0);
        assert!(!a.spawn, "a running stack unless asked");
        let spawned = Cli::try_parse_from(["blog", "--spawn"]).expect("parses");
        assert!(spawned.args.spawn);
    }
}
