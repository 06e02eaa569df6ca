//! `minibus bus import --data-dir DIR FILE`.

use super::progress::Bars;
use anyhow::Context;
use bus::daemon::BusConfig;
use std::path::PathBuf;

/// Flags of `minibus bus import`.
#[derive(Debug, clap::Args)]
pub(crate) struct ImportArgs {
    /// The stopped bus's data dir: absent, empty, or a store the file continues.
    #[arg(long, env = "MINIBUS_DATA_DIR", default_value = BusConfig::DEFAULT_DATA_DIR)]
    data_dir: PathBuf,
    /// sled's page cache while importing, in MiB (1 to 1048576).
    #[arg(long, env = "MINIBUS_CACHE_MB", default_value_t = BusConfig::DEFAULT_CACHE_MB,
          value_parser = clap::value_parser!(u64).range(BusConfig::CACHE_MB_RANGE))]
    cache_mb: u64,
    /// The export file (`minibus events export > FILE`).
    file: PathBuf,
}

/// Imports, then prints what was imported on stdout.
pub(crate) async fn run(args: ImportArgs) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let (dir, file) = (args.data_dir.clone(), args.file.clone());
    let imported = tokio::task::spawn_blocking(move || {
        bus::daemon::import::import(&dir, &file, args.cache_mb, &Bars::on_stderr())
    })
    .await
    .context("the import stopped")?
    .with_context(|| {
        format!(
            "cannot import {} into {}; nothing was imported",
            args.file.display(),
            args.data_dir.display()
        )
    })?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "imported {} events into {} (head {}, log_id {}) in {seconds:.2} s ({:.0} events/s)",
        imported.events,
        args.data_dir.display(),
        imported.head,
        imported.log_id,
        imported.events as f64 / seconds.max(f64::MIN_POSITIVE),
    );
    Ok(())
}
