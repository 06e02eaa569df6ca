//! The Dockerfile against the workspace and the binary: built in stages from every member
//! crate, run as a non-root user, exposing the services' ports, with the data volume.

use super::container::Findings;
use super::files::{Help, Instruction};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

/// Every check of the Dockerfile; the runtime user's uid, for the pods' securityContext.
pub(crate) fn check_dockerfile(
    dockerfile: &[Instruction],
    helps: &BTreeMap<String, Help>,
    f: &mut Findings,
) -> String {
    let all =
        |cmd: &str| -> Vec<&Instruction> { dockerfile.iter().filter(|i| i.cmd == cmd).collect() };
    let first = |i: &&Instruction| i.value.first().cloned().unwrap_or_default();
    let workspace = Workspace::read();
    let froms: Vec<String> = all("FROM").iter().map(first).collect();
    check_stages(&froms, &workspace.rust_version, f);
    check_build(&all("RUN"), &all("COPY"), &workspace.sources, f);
    let user = all("USER").last().map(first).unwrap_or_default();
    let uid = user.split(':').next().unwrap_or_default().to_string();
    f.check(uid.parse::<u32>().is_ok_and(|id| id > 0), || {
        format!("the image should run as a numeric non-root user, not {user:?}")
    });
    let entrypoint: Vec<_> = all("ENTRYPOINT").iter().map(|i| i.value.clone()).collect();
    f.check(entrypoint == [["minibus"]], || {
        format!("the entrypoint is {entrypoint:?}, not [\"minibus\"]")
    });
    let exposed: BTreeSet<&str> = all("EXPOSE")
        .iter()
        .flat_map(|i| &i.value)
        .map(String::as_str)
        .collect();
    let ports: BTreeSet<String> = helps.values().map(|h| h.port.to_string()).collect();
    f.check(
        exposed == ports.iter().map(String::as_str).collect(),
        || format!("EXPOSE {exposed:?}, the services use {ports:?}"),
    );
    let volume = all("VOLUME")
        .iter()
        .any(|i| i.value.iter().any(|v| v == "/data"));
    f.check(volume, || {
        "the Dockerfile does not declare the volume /data".into()
    });
    uid
}

/// `cargo build --release --locked --bin minibus`, after copying every source it needs.
fn check_build(
    runs: &[&Instruction],
    copies: &[&Instruction],
    sources: &[String],
    f: &mut Findings,
) {
    let commands = runs.iter().flat_map(|run| &run.value);
    let build = commands
        .clone()
        .find(|command| command.contains("cargo build"));
    let builds_it = build.is_some_and(|command| {
        let flags = ["--release", "--locked", "--bin minibus"];
        flags.iter().all(|flag| command.contains(flag))
    });
    f.check(builds_it, || {
        "the Dockerfile does not cargo build --release --locked --bin minibus".into()
    });
    for source in sources {
        let copied = copies.iter().any(|copy| {
            let sources = &copy.value[..copy.value.len().saturating_sub(1)];
            copy.flags.is_empty() && sources.iter().any(|s| s == source)
        });
        f.check(copied, || format!("the Dockerfile does not COPY {source}"));
    }
}

/// A Rust builder no older than the workspace's rust-version, then slim Debian of the same
/// release (the binary links the builder's glibc).
fn check_stages(froms: &[String], minimum: &str, f: &mut Findings) {
    let (Some(builder), Some(runtime)) = (froms.first(), froms.last()) else {
        return f.0.push("the Dockerfile has no FROM".into());
    };
    f.check(froms.len() >= 2, || {
        "the Dockerfile is not multi-stage".into()
    });
    let rust = builder.strip_prefix("rust:");
    let (version, release) = rust
        .and_then(|tag| tag.split_once("-slim-"))
        .unwrap_or_default();
    let debian = runtime
        .strip_prefix("debian:")
        .and_then(|tag| tag.strip_suffix("-slim"));
    f.check(!release.is_empty() && debian == Some(release), || {
        format!("builder {builder} and runtime {runtime} are not the same Debian release")
    });
    f.check(version_at_least(version, minimum), || {
        format!("builder {builder} is older than rust-version {minimum}")
    });
}

fn version_at_least(version: &str, minimum: &str) -> bool {
    let parts = |v: &str| -> Vec<u32> { v.split('.').filter_map(|p| p.parse().ok()).collect() };
    !parts(version).is_empty() && parts(version) >= parts(minimum)
}

/// What `cargo metadata` says of the workspace.
struct Workspace {
    /// What building the binary needs: the manifest, the lock file, `src` and the directory
    /// of every member crate, relative to the workspace root.
    sources: Vec<String>,
    /// The `minibus` package's `rust-version`.
    rust_version: String,
}

impl Workspace {
    fn read() -> Self {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let root = bus::testkit::tools::workspace_root();
        let out = Command::new(cargo)
            .args([
                "metadata",
                "--no-deps",
                "--format-version",
                "1",
                "--manifest-path",
            ])
            .arg(root.join("Cargo.toml"))
            .output()
            .expect("run cargo metadata");
        assert!(
            out.status.success(),
            "cargo metadata: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let metadata: Value = serde_json::from_slice(&out.stdout).expect("cargo metadata's JSON");
        let packages = metadata["packages"].as_array().cloned().unwrap_or_default();
        let mut sources: Vec<String> = ["Cargo.toml", "Cargo.lock", "src"].map(String::from).into();
        let mut rust_version = String::new();
        for package in &packages {
            let manifest = Path::new(package["manifest_path"].as_str().unwrap_or_default());
            let dir = manifest
                .parent()
                .and_then(|dir| dir.strip_prefix(&root).ok());
            match dir.map(|dir| dir.to_string_lossy().into_owned()) {
                Some(dir) if dir.is_empty() => {
                    rust_version = package["rust_version"].as_str().unwrap_or_default().into();
                }
                Some(dir) => sources.push(dir),
                None => {}
            }
        }
        Self {
            sources,
            rust_version,
        }
    }
}
