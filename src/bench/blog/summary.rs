//! What `bench blog` reports: each run's figures, printed for people and as one JSON line.

use super::Run;
use crate::bench::stats::Percentiles;
use std::collections::BTreeMap;

/// One latency run's figures.
#[derive(Debug, serde::Serialize)]
pub(super) struct Latency {
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
pub(super) struct Sustained {
    pub(super) rate_asked: u32,
    pub(super) seconds_asked: u32,
    /// Comments answered `201`.
    pub(super) comments: u64,
    /// From the first request to the last answer.
    pub(super) load_seconds: f64,
    pub(super) achieved_per_s: f64,
    /// `POST /posts/{id}/comments` answer times.
    pub(super) request: Percentiles,
    /// Each subscription's lag on the bus right after the last answer: where the backlog is.
    pub(super) lag_at_stop: BTreeMap<String, u64>,
    /// From the last answer to query's lag 0 with the whole chain on the bus; `null` if it
    /// never came within `--timeout-ms`.
    pub(super) query_lag_zero_ms: Option<f64>,
    pub(super) errors: BTreeMap<String, u64>,
}

/// Each service's resident memory (`VmRSS`, MiB) by name, with `--spawn`: once all are
/// ready, and after the runs.
#[derive(Debug, serde::Serialize)]
pub(super) struct Memory {
    pub(super) idle_mb: BTreeMap<String, f64>,
    pub(super) after_load_mb: BTreeMap<String, f64>,
}

/// The figures of one run; also printed as one JSON line.
#[derive(Debug, serde::Serialize)]
pub(super) struct BlogSummary {
    bench: &'static str,
    rate: u32,
    /// `POST /posts` answered → the post in query.
    post_visible: Latency,
    /// `POST …/comments` answered → its final status in query.
    comment_final: Latency,
    sustained: Option<Sustained>,
    /// With `--spawn` only.
    pub(super) memory: Option<Memory>,
}

impl BlogSummary {
    /// The figures of the latency runs at `rate` and of the sustained run.
    pub(super) fn new(rate: u32, posts: Run, comments: Run, sustained: Option<Sustained>) -> Self {
        Self {
            bench: "blog",
            rate,
            post_visible: posts.into(),
            comment_final: comments.into(),
            sustained,
            memory: None,
        }
    }

    /// Every failure of the three runs, by run and kind.
    pub(super) fn errors(&self) -> BTreeMap<String, u64> {
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

    /// Prints the figures for people, then as one JSON line.
    pub(super) fn print(&self) -> anyhow::Result<()> {
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
        if let Some(memory) = &self.memory {
            let mib = |by_name: &BTreeMap<String, f64>| {
                let each = by_name.iter().map(|(name, mib)| format!("{name} {mib:.1}"));
                each.collect::<Vec<_>>().join(", ")
            };
            println!("  memory (VmRSS, MiB) idle: {}", mib(&memory.idle_mb));
            println!("  memory after the runs: {}", mib(&memory.after_load_mb));
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

    #[test]
    fn the_summary_names_every_failure_by_run() {
        let posts = Run {
            ok: 2,
            latencies_us: vec![1000, 3000],
            ids: vec!["a".into(), "b".into()],
            errors: BTreeMap::new(),
        };
        let mut comments = Run::default();
        comments.errors.insert("timeout".into(), 1);
        let summary = BlogSummary::new(100, posts, comments, None);
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
        assert_eq!(json["memory"], serde_json::Value::Null, "only with --spawn");
    }

    #[test]
    fn a_chain_that_never_drains_is_a_failure_with_a_null_figure() {
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
        let summary = BlogSummary::new(100, Run::default(), Run::default(), Some(sustained));
        let expected = BTreeMap::from([("sustained lag timeout".into(), 1)]);
        assert_eq!(summary.errors(), expected);
        let json = serde_json::to_value(&summary).expect("the summary serializes");
        assert_eq!(
            json["sustained"]["query_lag_zero_ms"],
            serde_json::Value::Null
        );
        assert_eq!(json["sustained"]["lag_at_stop"]["moderation"], 42);
    }

    #[test]
    fn each_services_memory_is_in_the_json_line() {
        let mut summary = BlogSummary::new(100, Run::default(), Run::default(), None);
        summary.memory = Some(Memory {
            idle_mb: BTreeMap::from([("bus".into(), 14.9)]),
            after_load_mb: BTreeMap::from([("bus".into(), 49.7)]),
        });
        let json = serde_json::to_value(&summary).expect("the summary serializes");
        assert_eq!(json["memory"]["idle_mb"]["bus"], 14.9);
        assert_eq!(json["memory"]["after_load_mb"]["bus"], 49.7);
    }
}
