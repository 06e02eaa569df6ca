//! `minibus bus check --data-dir DIR`.

use super::progress::Bars;
use anyhow::Context;
use bus::daemon::check::CheckReport;
use bus::daemon::BusConfig;
use std::path::{Path, PathBuf};

/// Flags of `minibus bus check`.
#[derive(Debug, clap::Args)]
pub(crate) struct CheckArgs {
    /// The stopped bus's data dir.
    #[arg(long, env = "MINIBUS_DATA_DIR", default_value = BusConfig::DEFAULT_DATA_DIR)]
    data_dir: PathBuf,
    /// sled's page cache while checking, in MiB (1 to 1048576).
    #[arg(long, env = "MINIBUS_CACHE_MB", default_value_t = BusConfig::DEFAULT_CACHE_MB,
          value_parser = clap::value_parser!(u64).range(BusConfig::CACHE_MB_RANGE))]
    cache_mb: u64,
    /// How many defects of each kind to print (all are counted).
    #[arg(long, env = "MINIBUS_CHECK_MAX_DEFECTS", default_value_t = 10)]
    max_defects: usize,
}

/// Checks, prints the summary and the defects on stdout; an error if there is any defect.
pub(crate) async fn run(args: CheckArgs) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let dir = args.data_dir.clone();
    let report = tokio::task::spawn_blocking(move || {
        bus::daemon::check::check(&dir, args.cache_mb, args.max_defects, &Bars::on_stderr())
    })
    .await
    .context("the check stopped")?
    .with_context(|| format!("cannot check {}", args.data_dir.display()))?;
    print_summary(&args.data_dir, &report, started.elapsed().as_secs_f64());
    anyhow::ensure!(
        report.is_sound(),
        "{} defect(s) found in {}",
        report.defect_total(),
        args.data_dir.display()
    );
    Ok(())
}

fn print_summary(dir: &Path, report: &CheckReport, seconds: f64) {
    println!("store:         {}", dir.display());
    println!("log_id:        {}", report.log_id);
    println!(
        "head:          {} (verified-head marker {})",
        report.head, report.verified_head
    );
    println!("events:        {}", report.events);
    println!("streams:       {}", report.streams);
    println!("subscriptions: {}", report.subscriptions);
    println!(
        "checked in {seconds:.2} s ({:.0} events/s)",
        report.events as f64 / seconds.max(f64::MIN_POSITIVE)
    );
    if let Some(advice) = &report.unfinished_import {
        println!("{advice} (the bus refuses to start on it)");
    } else if report.to_index > 0 {
        println!(
            "{} events after the verified head to be indexed at the next start",
            report.to_index
        );
    }
    for defect in &report.defects {
        println!("defect: {}: {}", defect.kind, defect.detail);
    }
    for (kind, count) in &report.counts {
        let shown = report.defects.iter().filter(|d| d.kind == *kind).count() as u64;
        if *count > shown {
            println!("defect: {kind}: {} more", count - shown);
        }
    }
    if report.is_sound() {
        println!("no defect found");
    }
}
