//! Runs one of the small scripts in `tests/tools/` (node with the npm SDKs, or the venv's
//! Python with the PyPI ones): a JSON job on stdin, a JSON answer on stdout.
//!
//! The script runs on tokio's blocking pool, so that the bus in this same runtime keeps
//! serving while a script talks to it. Every wait is bounded by [`SCRIPT_PATIENCE`], and
//! the child is killed when the wait gives up or the test panics ([`Child`]'s guard).

use bus::testkit::{tools, PATIENCE};
use serde_json::Value;
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long a script may run: the test kit's bound, three times over, for a process that
/// starts a runtime and loads its packages on a busy machine. A bound, not a timing.
const SCRIPT_PATIENCE: Duration = Duration::from_secs(3 * PATIENCE.as_secs());

/// Which runtime runs a script, and so which of the official SDKs it imports.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Sdk {
    /// `node` in `tests/tools` (the npm packages).
    Npm,
    /// The test tools' venv Python (the PyPI packages).
    PyPi,
}

impl Sdk {
    /// Both, for tests that run the same check through each.
    pub(crate) const ALL: [Sdk; 2] = [Sdk::Npm, Sdk::PyPi];

    /// The command that runs `tests/tools/<name>.mjs` or `<name>.py`.
    fn command(self, name: &str) -> Command {
        let dir = tools::node_packages();
        let mut command = match self {
            Sdk::Npm => {
                let mut node = Command::new("node");
                node.arg(dir.join(format!("{name}.mjs")));
                node
            }
            Sdk::PyPi => {
                let mut python = Command::new(tools::python());
                python.arg(dir.join(format!("{name}.py")));
                python
            }
        };
        command.current_dir(dir);
        command
    }
}

/// Runs `tests/tools/<name>` with `sdk`, `job` as its stdin; its stdout as JSON. Panics
/// (with the script's stderr) when it fails, prints something else, or runs past
/// [`SCRIPT_PATIENCE`].
pub(crate) async fn run(sdk: Sdk, name: &str, job: Value) -> Value {
    let what = format!("{name} ({sdk:?})");
    let mut command = sdk.command(name);
    let output = tokio::task::spawn_blocking(move || run_blocking(&mut command, &job))
        .await
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    let (stdout, stderr) = output.unwrap_or_else(|e| panic!("{what}: {e}"));
    serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{what} printed no JSON ({e}): {stdout:?}\nstderr: {stderr}"))
}

/// A child process killed (and reaped) when dropped, whatever happened before.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Spawns, feeds `job`, waits at most [`SCRIPT_PATIENCE`]; (stdout, stderr), or why it
/// failed.
fn run_blocking(command: &mut Command, job: &Value) -> Result<(String, String), String> {
    let spawned = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {command:?}: {e}"))?;
    let mut child = Child(spawned);
    let mut stdin = child.0.stdin.take().ok_or("no stdin")?;
    stdin
        .write_all(job.to_string().as_bytes())
        .map_err(|e| format!("writing its stdin: {e}"))?;
    drop(stdin);
    let stdout = read_all(child.0.stdout.take());
    let stderr = read_all(child.0.stderr.take());
    let status = wait(&mut child.0)?;
    let (stdout, stderr) = (join(stdout), join(stderr));
    if !status.success() {
        return Err(format!("exited with {status}\nstderr: {stderr}"));
    }
    Ok((stdout, stderr))
}

/// Reads a pipe to its end on a thread of its own (so that a full pipe never blocks the
/// child while we wait for it).
fn read_all(pipe: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_string(&mut text);
        }
        text
    })
}

fn join(reader: std::thread::JoinHandle<String>) -> String {
    reader.join().unwrap_or_default()
}

/// Waits for the child's exit, at most [`SCRIPT_PATIENCE`].
fn wait(child: &mut std::process::Child) -> Result<std::process::ExitStatus, String> {
    let deadline = Instant::now() + SCRIPT_PATIENCE;
    loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            return Ok(status);
        }
        if Instant::now() > deadline {
            return Err(format!("still running after {SCRIPT_PATIENCE:?}: killed"));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}
