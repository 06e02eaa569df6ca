//! The Dockerfile against the workspace and the binary: built in stages from every member
//! crate, run as a non-root user, exposing the services' ports, with the data volume.

use super::container::Findings;
use super::files::{Help, Instruction};
use std::collections::{BTreeMap, BTreeSet};

/// Every check of the Dockerfile; the runtime user's uid, for the pods' securityContext.
pub(crate) fn check_dockerfile(
    dockerfile: &[Instruction],
    helps: &BTreeMap<String, Help>,
    f: &mut Findings,
) -> String {
    let all = |keyword: &str| -> Vec<&str> {
        let found = dockerfile.iter().filter(|i| i.keyword == keyword);
        found.map(|i| i.rest.as_str()).collect()
    };
    check_stages(&all("FROM"), f);
    check_build(&all("RUN"), &all("COPY"), f);
    let user = all("USER")
        .last()
        .map(|user| user.to_string())
        .unwrap_or_default();
    let uid = user.split(':').next().unwrap_or_default().to_string();
    f.check(uid.parse::<u32>().is_ok_and(|id| id > 0), || {
        format!("the image should run as a numeric non-root user, not {user:?}")
    });
    f.check(all("ENTRYPOINT") == ["[\"minibus\"]"], || {
        "the entrypoint is not minibus".into()
    });
    let exposed: BTreeSet<String> = all("EXPOSE")
        .iter()
        .flat_map(|e| e.split_whitespace())
        .map(str::to_string)
        .collect();
    let ports: BTreeSet<String> = helps.values().map(|h| h.port.to_string()).collect();
    f.check(exposed == ports, || {
        format!("EXPOSE {exposed:?}, the services use {ports:?}")
    });
    let volume = all("VOLUME").iter().any(|v| v.contains("\"/data\""));
    f.check(volume, || {
        "the Dockerfile does not declare the volume /data".into()
    });
    uid
}

/// `cargo build --release --locked --bin minibus`, after copying every source it needs.
fn check_build(runs: &[&str], copies: &[&str], f: &mut Findings) {
    let build = runs.iter().find(|run| run.contains("cargo build"));
    let builds_it = build.is_some_and(|run| {
        let flags = ["--release", "--locked", "--bin minibus"];
        flags.iter().all(|flag| run.contains(flag))
    });
    f.check(builds_it, || {
        "the Dockerfile does not cargo build --release --locked --bin minibus".into()
    });
    for source in workspace_sources() {
        let copied = copies
            .iter()
            .any(|copy| copy.split_whitespace().any(|s| s == source));
        f.check(copied, || format!("the Dockerfile does not COPY {source}"));
    }
}

/// A Rust builder no older than the workspace's rust-version, then slim Debian of the same
/// release (the binary links the builder's glibc).
fn check_stages(froms: &[&str], f: &mut Findings) {
    let (Some(builder), Some(runtime)) = (froms.first(), froms.last()) else {
        return f.0.push("the Dockerfile has no FROM".into());
    };
    f.check(froms.len() >= 2, || {
        "the Dockerfile is not multi-stage".into()
    });
    let rust = builder
        .strip_prefix("rust:")
        .and_then(|tag| tag.split_whitespace().next());
    let (version, release) = rust
        .and_then(|tag| tag.split_once("-slim-"))
        .unwrap_or_default();
    let debian = runtime
        .strip_prefix("debian:")
        .and_then(|tag| tag.strip_suffix("-slim"));
    f.check(!release.is_empty() && debian == Some(release), || {
        format!("builder {builder} and runtime {runtime} are not the same Debian release")
    });
    let minimum = workspace_rust_version();
    f.check(version_at_least(version, &minimum), || {
        format!("builder {builder} is older than rust-version {minimum}")
    });
}

fn version_at_least(version: &str, minimum: &str) -> bool {
    let parts = |v: &str| -> Vec<u32> { v.split('.').filter_map(|p| p.parse().ok()).collect() };
    !parts(version).is_empty() && parts(version) >= parts(minimum)
}

/// The root Cargo.toml, read as text: its `rust-version` and its members.
fn workspace_manifest() -> String {
    let path = bus::testkit::tools::workspace_root().join("Cargo.toml");
    std::fs::read_to_string(path).expect("read Cargo.toml")
}

fn workspace_rust_version() -> String {
    let manifest = workspace_manifest();
    let line = manifest
        .lines()
        .find(|line| line.starts_with("rust-version = "));
    line.and_then(|line| line.split('"').nth(1))
        .unwrap_or_default()
        .to_string()
}

/// What building the binary needs: the manifest, the lock file, `src` and every member.
fn workspace_sources() -> Vec<String> {
    let manifest = workspace_manifest();
    let members = manifest
        .lines()
        .find(|line| line.starts_with("members = ["));
    let members = members.map(|line| line.split('"').skip(1).step_by(2).map(str::to_string));
    let mut sources: Vec<String> = ["Cargo.toml", "Cargo.lock", "src"].map(String::from).into();
    sources.extend(members.into_iter().flatten());
    sources
}
