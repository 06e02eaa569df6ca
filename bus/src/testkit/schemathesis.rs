//! schemathesis (PyPI) against a service's own `/openapi.json`, as every suite runs it: every
//! check, in all its phases, bounded and reproducible (100 examples per operation and phase,
//! a fixed seed, one worker, a deadline). It must find nothing.

use super::tools::schemathesis;
use std::path::PathBuf;
use std::process::Command;

/// Examples per operation and phase.
const MAX_EXAMPLES: &str = "100";
/// Fixed, so that a failure is reproducible with the same command.
const SEED: &str = "20261130";
/// The run is killed after this long (coreutils `timeout`).
const DEADLINE_SECONDS: &str = "300";

/// What a suite adds to the common run.
#[derive(Debug, Default, Clone)]
pub struct Schemathesis {
    /// A `schemathesis.toml` (e.g. more statuses that count as a refusal of bad data).
    pub config_file: Option<PathBuf>,
    /// A hooks file (`SCHEMATHESIS_HOOKS`), to keep generated valid requests valid.
    pub hooks: Option<PathBuf>,
    /// Sent as `Authorization: Bearer <token>`.
    pub token: Option<String>,
    /// Paths left out (e.g. a stream that never ends).
    pub exclude_paths: Vec<String>,
}

impl Schemathesis {
    /// Runs `st run` against the service at `base_url` (its document at
    /// `base_url/openapi.json`) to its end, in a scratch directory, and panics with
    /// schemathesis' whole report if it found anything.
    pub async fn assert_finds_nothing(&self, base_url: &str) {
        let scratch = tempfile::tempdir().expect("a scratch dir");
        let mut command = self.command(base_url);
        command.current_dir(scratch.path());
        let output = tokio::task::spawn_blocking(move || command.output())
            .await
            .expect("the schemathesis thread")
            .expect("schemathesis runs (scripts/install-test-tools.sh installs it)");
        assert!(
            output.status.success(),
            "schemathesis found something (exit {:?}):\n{}\n{}",
            output.status.code(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    fn command(&self, base_url: &str) -> Command {
        let mut command = Command::new("timeout");
        command
            .args(["--kill-after=10", DEADLINE_SECONDS])
            .arg(schemathesis());
        if let Some(config) = &self.config_file {
            command.arg("--config-file").arg(config);
        }
        command
            .arg("run")
            .arg(format!("{base_url}/openapi.json"))
            .args(["--checks", "all"])
            .args(["--max-examples", MAX_EXAMPLES])
            .args(["--seed", SEED, "--generation-deterministic"])
            .args(["--workers", "1", "--request-timeout", "10"])
            // A health check of the generator, not of the service: it fails a run whose
            // examples take long to generate, as they may on a loaded machine.
            .args(["--suppress-health-check", "too_slow"])
            .args(["--no-color", "--output-truncate", "true"]);
        if let Some(token) = &self.token {
            command.args(["--header", &format!("Authorization: Bearer {token}")]);
        }
        for path in &self.exclude_paths {
            command.args(["--exclude-path", path]);
        }
        if let Some(hooks) = &self.hooks {
            command.env("SCHEMATHESIS_HOOKS", hooks);
        }
        command
    }
}
