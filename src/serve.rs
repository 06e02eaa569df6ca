//! What every service subcommand shares: logging, the shutdown signal, binding its port.

use anyhow::Context;
use bus::daemon::BusConfig;
use std::io::IsTerminal;
use std::net::SocketAddr;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

/// Logs to stderr; the filter comes from `MINIBUS_LOG` (default `info`).
pub fn init_tracing() {
    let filter = EnvFilter::try_from_env("MINIBUS_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

/// A token cancelled on the first SIGINT (Ctrl-C) or SIGTERM.
pub fn shutdown_on_signal() -> CancellationToken {
    let token = CancellationToken::new();
    let cancel = token.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        cancel.cancel();
    });
    token
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut term) = signal(SignalKind::terminate()) else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT received"),
        _ = term.recv() => tracing::info!("SIGTERM received"),
    }
}

/// Binds `addr` for `service`, naming the port when it is taken.
pub async fn bind(service: &str, addr: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr).await.with_context(|| {
        format!(
            "{service}: cannot listen on {addr} (port {} taken or not allowed)",
            addr.port()
        )
    })
}

/// `minibus bus`: the daemon until SIGINT/SIGTERM.
pub async fn bus(config: BusConfig) -> anyhow::Result<()> {
    let listener = bind("bus", config.listen).await?;
    let addr = listener.local_addr()?;
    // Refused settings fail before the line below: a bus that refuses to start must not
    // announce that it listens (scripts and tests wait for that line).
    config.check(addr).map_err(anyhow::Error::msg)?;
    // On stdout, for people and for tests that start the bus on port 0.
    println!("minibus bus listening on http://{addr}");
    bus::daemon::run(listener, config, shutdown_on_signal()).await?;
    Ok(())
}
