//! One Deployment or StatefulSet of the manifests: its container read as a [`Container`],
//! and the checks that need only the workload itself (probes, variable references, data).

use crate::manifests::container::{Container, EnvValue, Findings};
use serde_json::Value;

/// A Deployment or StatefulSet, with its one container read as a [`Container`].
pub(super) struct Workload<'a> {
    pub(super) doc: &'a Value,
    pub(super) container: Container,
    pub(super) spec: &'a Value,
}

impl<'a> Workload<'a> {
    pub(super) fn read(file: &str, doc: &'a Value) -> Self {
        let spec = &doc["spec"]["template"]["spec"]["containers"][0];
        let strings = |v: &Value| -> Vec<String> {
            let items = v.as_array().cloned().unwrap_or_default();
            items
                .iter()
                .map(|s| s.as_str().unwrap_or_default().to_string())
                .collect()
        };
        let mut args = strings(&spec["args"]).into_iter();
        let env = spec["env"].as_array().cloned().unwrap_or_default();
        let container = Container {
            origin: format!(
                "{file} {}/{}",
                text(&doc["kind"]),
                text(&doc["metadata"]["name"])
            ),
            subcommand: args.next().unwrap_or_default(),
            args: args.collect(),
            env: env.iter().map(env_entry).collect(),
        };
        Self {
            doc,
            container,
            spec,
        }
    }
}

pub(super) fn text(value: &Value) -> &str {
    value.as_str().unwrap_or("?")
}

fn env_entry(entry: &Value) -> (String, EnvValue) {
    let name = entry["name"].as_str().unwrap_or_default().to_string();
    let from = &entry["valueFrom"];
    let value = if let Some(text) = entry["value"].as_str() {
        EnvValue::Literal(text.to_string())
    } else if let Some(secret) = from.get("secretKeyRef") {
        let [name, key] = ["name", "key"].map(|k| secret[k].as_str().unwrap_or_default().into());
        EnvValue::Secret { name, key }
    } else if let Some(path) = from["fieldRef"]["fieldPath"].as_str() {
        EnvValue::Field(path.to_string())
    } else {
        EnvValue::Other
    };
    (name, value)
}

/// The workloads whose pods `service`'s selector matches.
pub(super) fn selected<'w, 'a>(
    service: &Value,
    workloads: &'w [Workload<'a>],
) -> Vec<&'w Workload<'a>> {
    let selector = service["spec"]["selector"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    workloads
        .iter()
        .filter(|w| {
            let labels = &w.doc["spec"]["template"]["metadata"]["labels"];
            !selector.is_empty() && selector.iter().all(|(key, value)| labels[key] == *value)
        })
        .collect()
}

/// Readiness on `/readyz`, liveness (and start-up, if any) on `/healthz`, at the port.
pub(super) fn check_probes(c: &Container, spec: &Value, port: u16, f: &mut Findings) {
    let wanted = [
        ("readinessProbe", "/readyz"),
        ("livenessProbe", "/healthz"),
        ("startupProbe", "/healthz"),
    ];
    for (probe, path) in wanted {
        let get = &spec[probe]["httpGet"];
        if probe == "startupProbe" && spec.get(probe).is_none() {
            continue;
        }
        let at_port = get["port"] == "http" || get["port"] == port;
        f.check(get["path"] == path && at_port, || {
            format!(
                "{}: {probe} should GET {path} at port {port}, not {get}",
                c.origin
            )
        });
    }
}

/// Every `$(NAME)` in a value names a variable defined above it (Kubernetes expands only
/// those), and every variable that is not minibus's own is used so.
pub(super) fn check_env_references(c: &Container, f: &mut Findings) {
    let literals: Vec<(usize, &str)> = c
        .env
        .iter()
        .enumerate()
        .filter_map(|(i, (_, value))| match value {
            EnvValue::Literal(text) => Some((i, text.as_str())),
            _ => None,
        })
        .collect();
    for (at, text) in &literals {
        for reference in text
            .split("$(")
            .skip(1)
            .filter_map(|rest| rest.split(')').next())
        {
            let defined = c.env[..*at].iter().any(|(name, _)| name == reference);
            f.check(defined, || {
                format!("{}: $({reference}) is not defined above", c.origin)
            });
        }
    }
    for (name, _) in c
        .env
        .iter()
        .filter(|(name, _)| !name.starts_with("MINIBUS_"))
    {
        let used = literals
            .iter()
            .any(|(_, text)| text.contains(&format!("$({name})")));
        f.check(used, || {
            format!("{}: {name} is not minibus's and is not used", c.origin)
        });
    }
    if c.subcommand == "query" {
        check_replica_names(c, f);
    }
}

/// Each query replica subscribes as its pod's name (`query-N`).
fn check_replica_names(c: &Container, f: &mut Findings) {
    let pod_name = ("POD_NAME".into(), EnvValue::Field("metadata.name".into()));
    let named = c.env.contains(&pod_name);
    let name = c.literal("MINIBUS_SUBSCRIPTION_NAME");
    f.check(named && name == Some("$(POD_NAME)"), || {
        format!(
            "{}: each replica should subscribe as its pod's name",
            c.origin
        )
    });
}

/// `MINIBUS_DATA_DIR` is a mounted volume: a claim of a StatefulSet's own for the services
/// with a store.
pub(super) fn check_data_dir(c: &Container, doc: &Value, spec: &Value, f: &mut Findings) {
    let Some(dir) = c.literal("MINIBUS_DATA_DIR") else {
        return f.check(c.subcommand == "client", || {
            format!("{}: no data dir", c.origin)
        });
    };
    let mounts = spec["volumeMounts"].as_array().cloned().unwrap_or_default();
    let mount = mounts.iter().find(|m| m["mountPath"] == dir);
    f.check(mount.is_some(), || {
        format!("{}: data dir {dir} is not a volume", c.origin)
    });
    if doc["kind"] == "StatefulSet" {
        let claims = doc["spec"]["volumeClaimTemplates"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let claimed =
            mount.is_some_and(|m| claims.iter().any(|t| t["metadata"]["name"] == m["name"]));
        f.check(claimed, || {
            format!("{}: data dir {dir} is not on its own PVC", c.origin)
        });
    }
}

/// Runs as the image's non-root user, with CPU and memory requested and memory limited.
pub(super) fn check_pod(c: &Container, doc: &Value, spec: &Value, uid: &str, f: &mut Findings) {
    let pod = &doc["spec"]["template"]["spec"]["securityContext"];
    f.check(
        pod["runAsNonRoot"] == true && uid.parse::<u64>().is_ok_and(|id| pod["runAsUser"] == id),
        || format!("{}: not run as the image's non-root user {uid}", c.origin),
    );
    let resources = &spec["resources"];
    let set = ["/requests/cpu", "/requests/memory", "/limits/memory"];
    f.check(set.iter().all(|at| resources.pointer(at).is_some()), || {
        format!(
            "{}: resources should request cpu and memory and limit memory",
            c.origin
        )
    });
}
