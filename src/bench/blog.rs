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

mod chain;

use super::stats::Percentiles;
use super::Target;
use chain::{Outcome, Stack};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
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
}

/// Runs the latency runs and the sustained run, prints the summary; fails if any write
/// failed or never showed in query.
pub(crate) async fn run(args: BlogArgs) -> anyhow::Result<()> {
    let stack = Arc::new(Stack::new(&args)?);
    let posts = paced(&args, args.rate, args.samples.into(), |_| {
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
    let comments = paced(&args, args.rate, args.samples.into(), |n| {
        let (stack, post_ids) = (stack.clone(), post_ids.clone());
        async move { stack.comment_to_query(&post_ids, n).await }
    })
    .await?;
    let sustained = match args.sustained_rate {
        0 => None,
        rate => Some(sustained(&args, &stack, rate, &post_ids).await?),
    };
    let summary = BlogSummary::new(&args, posts, comments, sustained);
    summary.print()?;
    let failed: u64 = summary.errors().values().sum();
    anyhow::ensure!(
        failed == 0,
        "{failed} writes failed: {:?}",
        summary.errors()
    );
    Ok(())
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

/// One latency run's figures.
#[derive(Debug, serde::Serialize)]
struct Latency {
    samples: u64,
    #[serde(flatten)]
    latency: Percentiles,
    errors: BTreeMap<String, u64>,
}

impl From<Run> for Latency {
    fn from(mut run: Run) -> Self {
        Self {
            samples: run.ok,
            latency: Percentiles::of(&mut run.latencies_us),
            errors: run.errors,
        }
    }
}

/// The sustained run's figures.
#[derive(Debug, serde::Serialize)]
struct Sustained {
    rate_asked: u32,
    seconds_asked: u32,
    /// Comments answered `201`.
    comments: u64,
    /// From the first request to the last answer.
    load_seconds: f64,
    achieved_per_s: f64,
    /// `POST /posts/{id}/comments` answer times.
    request: Percentiles,
    /// Each subscription's lag on the bus right after the last answer: where the backlog is.
    lag_at_stop: BTreeMap<String, u64>,
    /// From the last answer to query's lag 0 with the whole chain on the bus; `null` if it
    /// never came within `--timeout-ms`.
    query_lag_zero_ms: Option<f64>,
    errors: BTreeMap<String, u64>,
}

/// The figures of one run; also printed as one JSON line.
#[derive(Debug, serde::Serialize)]
struct BlogSummary {
    bench: &'static str,
    rate: u32,
    /// `POST /posts` answered → the post in query.
    post_visible: Latency,
    /// `POST …/comments` answered → its final status in query.
    comment_final: Latency,
    sustained: Option<Sustained>,
}

impl BlogSummary {
    fn new(args: &BlogArgs, posts: Run, comments: Run, sustained: Option<Sustained>) -> Self {
        Self {
            bench: "blog",
            rate: args.rate,
            post_visible: posts.into(),
            comment_final: comments.into(),
            sustained,
        }
    }

    /// Every failure of the three runs, by run and kind.
    fn errors(&self) -> BTreeMap<String, u64> {
        let sustained = self.sustained.iter().flat_map(|s| &s.errors);
        let runs = [
            ("post", self.post_visible.errors.iter()),
            ("comment", self.comment_final.errors.iter()),
        ];
        runs.into_iter()
            .flat_map(|(run, errors)| errors.map(move |(k, n)| (format!("{run} {k}"), *n)))
            .chain(sustained.map(|(k, n)| (format!("sustained {k}"), *n)))
            .collect()
    }

    fn print(&self) -> anyhow::Result<()> {
        let line = |what: &str, l: &Latency| {
            println!(
                "  {what}: {} at {}/s, p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
                l.samples, self.rate, l.latency.p50_ms, l.latency.p99_ms, l.latency.max_ms
            );
        };
        println!("blog chain, timed from each write's answer to query:");
        line("post visible", &self.post_visible);
        line("comment moderated", &self.comment_final);
        if let Some(s) = &self.sustained {
            let drained = s
                .query_lag_zero_ms
                .map_or("never".to_string(), |ms| format!("{ms:.1} ms"));
            println!(
                "  sustained: {} comments in {:.2} s ({:.0}/s of {}/s asked); request p50 {:.3} ms, \
                 p99 {:.3} ms; lags at the end {:?}; query's lag 0 {drained} after it",
                s.comments,
                s.load_seconds,
                s.achieved_per_s,
                s.rate_asked,
                s.request.p50_ms,
                s.request.p99_ms,
                s.lag_at_stop
            );
        }
        let errors = self.errors();
        if errors.is_empty() {
            println!("  errors: none");
        } else {
            println!("  errors: {errors:?}");
        }
        println!("{}", serde_json::to_string(self)?);
        Ok(())
    }
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
    }

    #[test]
    fn the_summary_names_every_failure_by_run() {
        let args = Cli::try_parse_from(["blog"]).expect("defaults parse").args;
        let posts = Run {
            ok: 2,
            latencies_us: vec![1000, 3000],
            ids: vec!["a".into(), "b".into()],
            errors: BTreeMap::new(),
        };
        let mut comments = Run::default();
        comments.errors.insert("timeout".into(), 1);
        let summary = BlogSummary::new(&args, posts, comments, None);
        assert_eq!(
            summary.errors(),
            BTreeMap::from([("comment timeout".into(), 1)])
        );
        let json: serde_json::Value =
            serde_json::to_value(&summary).expect("the summary serializes");
        assert_eq!(json["bench"], "blog");
        assert_eq!(json["post_visible"]["samples"], 2);
        assert_eq!(json["post_visible"]["p99_ms"], 3.0);
        assert_eq!(json["sustained"], serde_json::Value::Null);
    }

    #[test]
    fn a_chain_that_never_drains_is_a_failure_with_a_null_figure() {
        let args = Cli::try_parse_from(["blog"]).expect("defaults parse").args;
        let sustained = Sustained {
            rate_asked: 1000,
            seconds_asked: 5,
            comments: 5000,
            load_seconds: 5.0,
            achieved_per_s: 1000.0,
            request: Percentiles::default(),
            lag_at_stop: BTreeMap::from([("moderation".into(), 42)]),
            query_lag_zero_ms: None,
            errors: BTreeMap::from([("lag timeout".into(), 1)]),
        };
        let summary = BlogSummary::new(&args, Run::default(), Run::default(), Some(sustained));
        let expected = BTreeMap::from([("sustained lag timeout".into(), 1)]);
        assert_eq!(summary.errors(), expected);
        let json = serde_json::to_value(&summary).expect("the summary serializes");
        assert_eq!(
            json["sustained"]["query_lag_zero_ms"],
            serde_json::Value::Null
        );
        assert_eq!(json["sustained"]["lag_at_stop"]["moderation"], 42);
    }
}
