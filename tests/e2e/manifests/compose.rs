//! The compose file against the binary: one compose service per minibus service, reaching
//! each other by name at their own ports, the token from the environment, data on volumes.

use super::container::{Container, EnvValue, Findings};
use super::files::{Help, IMAGE};
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
        if let Some(help) = c.check_against(helps, f) {
            c.check_urls(resolve, f);
            check_service(c, &services[*name], help, &volumes, f);
        }
    }
    let subcommands: BTreeSet<_> = containers.values().map(|c| c.subcommand.as_str()).collect();
    let all: BTreeSet<_> = helps.keys().map(String::as_str).collect();
    f.check(subcommands == all && containers.len() == all.len(), || {
        format!("compose should run each service once, runs {subcommands:?}")
    });
}

/// The image, the token, the published ports and the data dir of one compose service.
fn check_service(
    c: &Container,
    service: &Value,
    help: &Help,
    volumes: &serde_json::Map<String, Value>,
    f: &mut Findings,
) {
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
    check_data_dir(c, service, volumes, f);
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
