//! The compose file and the Dockerfile against the binary: one compose service per minibus
//! service, reaching each other by name at their own ports; an image built in stages from
//! the workspace, run as a non-root user, with the ports and the data volume the services use.

use super::container::{Container, EnvValue, Findings};
use super::files::{Help, Instruction, IMAGE};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Every check of the compose file.
pub(crate) fn check_compose(compose: &Value, helps: &BTreeMap<String, Help>, f: &mut Findings) {
    let services = compose["services"].as_object().cloned().unwrap_or_default();
    let containers: BTreeMap<&String, Container> = services
        .iter()
        .map(|(name, service)| (name, container(name, service)))
        .collect();
    let resolve = |host: &str| {
        let subcommand = &containers.get(&host.to_string())?.subcommand;
        Some((subcommand.clone(), helps.get(subcommand)?.port))
    };
    let volumes = compose["volumes"].as_object().cloned().unwrap_or_default();
    for (name, c) in &containers {
        let service = &services[*name];
        let Some(help) = c.check_against(helps, f) else {
            continue;
        };
        c.check_urls(resolve, f);
        f.check(service["image"] == IMAGE, || {
            format!("{}: image is not {IMAGE}", c.origin)
        });
        let built = service["build"]["dockerfile"] == "manifests/Dockerfile";
        f.check(built, || {
            format!("{}: not built from manifests/Dockerfile", c.origin)
        });
        let token = c.literal("MINIBUS_TOKEN").unwrap_or_default();
        f.check(token.starts_with("${MINIBUS_TOKEN"), || {
            format!("{}: MINIBUS_TOKEN must come from the environment", c.origin)
        });
        for published in strings(&service["ports"]) {
            let inside = published.rsplit(':').next().unwrap_or_default();
            f.check(inside == help.port.to_string(), || {
                format!(
                    "{}: publishes {published}, but listens on {}",
                    c.origin, help.port
                )
            });
        }
        check_data_dir(c, service, &volumes, f);
    }
    let subcommands: BTreeSet<_> = containers.values().map(|c| c.subcommand.as_str()).collect();
    let all: BTreeSet<_> = helps.keys().map(String::as_str).collect();
    f.check(subcommands == all && containers.len() == all.len(), || {
        format!("compose should run each service once, runs {subcommands:?}")
    });
}

fn container(name: &str, service: &Value) -> Container {
    let mut command = strings(&service["command"]).into_iter();
    let env = service["environment"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    Container {
        origin: format!("docker-compose.yml service {name}"),
        subcommand: command.next().unwrap_or_default(),
        args: command.collect(),
        env: env
            .iter()
            .map(|(key, value)| {
                let text = value
                    .as_str()
                    .map_or_else(|| value.to_string(), str::to_string);
                (key.clone(), EnvValue::Literal(text))
            })
            .collect(),
    }
}

/// The data dir is a named volume for the services with a store, or a tmpfs.
fn check_data_dir(
    c: &Container,
    service: &Value,
    volumes: &serde_json::Map<String, Value>,
    f: &mut Findings,
) {
    let Some(dir) = c.literal("MINIBUS_DATA_DIR") else {
        return f.check(c.subcommand == "client", || {
            format!("{}: no data dir", c.origin)
        });
    };
    let named = strings(&service["volumes"]).iter().any(|volume| {
        volume
            .split_once(':')
            .is_some_and(|(name, at)| at == dir && volumes.contains_key(name))
    });
    let scratch = strings(&service["tmpfs"]).iter().any(|at| at == dir);
    let keeps = ["bus", "posts", "comments", "query"].contains(&c.subcommand.as_str());
    f.check(named || (scratch && !keeps), || {
        format!("{}: data dir {dir} is not on a named volume", c.origin)
    });
}

fn strings(value: &Value) -> Vec<String> {
    let items = value.as_array().cloned().unwrap_or_default();
    items
        .iter()
        .filter_map(|item| item.as_str().map(str::to_string))
        .collect()
}

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
    let build = all("RUN")
        .into_iter()
        .find(|run| run.contains("cargo build"));
    let builds_it = build.is_some_and(|run| {
        ["--release", "--locked", "--bin minibus"]
            .iter()
            .all(|flag| run.contains(flag))
    });
    f.check(builds_it, || {
        "the Dockerfile does not cargo build --release --locked --bin minibus".into()
    });
    let copies = all("COPY");
    for source in workspace_sources() {
        let copied = copies
            .iter()
            .any(|copy| copy.split_whitespace().any(|s| s == source));
        f.check(copied, || format!("the Dockerfile does not COPY {source}"));
    }
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
