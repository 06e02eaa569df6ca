//! Runs one of this directory's browser scripts (`<name>.mjs`) with `node`: Debian's
//! Chromium driven by playwright-core from `tests/tools`, against the page at a client URL.
//! The script prints one JSON summary on success and exits non-zero with its error
//! otherwise; screenshots go to `target/page-screenshots/`.

use crate::helpers::wait_for_exit;
use bus::testkit::tools;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// How long one script may run on a loaded machine (each of its waits is bounded by 30 s).
const SCRIPT_PATIENCE: Duration = Duration::from_secs(240);

/// Where the scripts write their screenshots (one PNG per state of the page).
pub(crate) fn screenshots_dir() -> PathBuf {
    tools::workspace_root().join("target/page-screenshots")
}

/// Runs `tests/e2e/page/<name>.mjs` against the page at `client_url`; its JSON summary.
/// Panics with what the script printed when it fails or runs past [`SCRIPT_PATIENCE`].
pub(crate) async fn run_script(name: &str, client_url: &str) -> Value {
    spawn_script(name, client_url, &[])
        .await
        .expect("run a browser script")
}

/// Starts [`run_script`] in the background, with more environment variables for the
/// script (`(name, value)`), so that the test can act on the stack while it runs.
pub(crate) fn spawn_script(
    name: &str,
    client_url: &str,
    env: &[(&str, &Path)],
) -> tokio::task::JoinHandle<Value> {
    let mut command = script_command(name, client_url);
    command.envs(env.iter().copied());
    let name = name.to_string();
    tokio::task::spawn_blocking(move || run_blocking(&name, &mut command))
}

fn script_command(name: &str, client_url: &str) -> Command {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/e2e/page")
        .join(format!("{name}.mjs"));
    let mut command = Command::new("node");
    command
        .arg(script)
        .env("CLIENT_URL", client_url)
        .env("CHROMIUM", tools::chromium())
        .env("NODE_PACKAGES", tools::node_packages())
        .env("SHOTS_DIR", screenshots_dir())
        .stdin(Stdio::null());
    command
}

fn run_blocking(name: &str, command: &mut Command) -> Value {
    let out = tempfile::NamedTempFile::new().expect("a file for stdout");
    let err = tempfile::NamedTempFile::new().expect("a file for stderr");
    command
        .stdout(out.reopen().expect("reopen stdout"))
        .stderr(err.reopen().expect("reopen stderr"));
    let mut child = command
        .spawn()
        .expect("spawn node (Node.js is on every machine of our kind)");
    let status = wait_for_exit(&mut child, SCRIPT_PATIENCE);
    let _ = child.kill();
    let _ = child.wait();
    let stdout = std::fs::read_to_string(out.path()).unwrap_or_default();
    let stderr = std::fs::read_to_string(err.path()).unwrap_or_default();
    match status {
        Some(status) if status.success() => serde_json::from_str(stdout.trim())
            .unwrap_or_else(|e| panic!("{name}.mjs printed no JSON ({e}): {stdout}\n{stderr}")),
        Some(status) => panic!("{name}.mjs failed ({status}):\n{stderr}\n{stdout}"),
        None => panic!("{name}.mjs still ran after {SCRIPT_PATIENCE:?}:\n{stderr}\n{stdout}"),
    }
}
