//! Logging set-up: one call at the top of a process, or of a test binary.

use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

/// The variable holding a service's log filter (`MINIBUS_LOG=debug`,
/// `MINIBUS_LOG=bus=debug,tower_http=info`…).
const LOG_FILTER_VAR: &str = "MINIBUS_LOG";

/// Logs to stderr with the filter in `MINIBUS_LOG` (default `info`); colours only on a
/// terminal. Call once, at the start of `main`.
pub fn init_tracing() {
    let filter = EnvFilter::try_from_env(LOG_FILTER_VAR).unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

/// In tests: logs go to the test output only when `TEST_LOG` is set (its value is the
/// filter, e.g. `TEST_LOG=debug`), so the suite is quiet by default. Safe to call from
/// every test; the first call wins.
pub fn init_test_tracing() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if let Ok(filter) = std::env::var("TEST_LOG") {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(EnvFilter::new(filter))
                .with_test_writer()
                .try_init();
        }
    });
}
