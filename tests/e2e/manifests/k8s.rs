//! The Kubernetes manifests against the binary and DESIGN's "Manifests": the course's Service
//! names, each routing to the right workload's port; workloads of the right kind; probes,
//! resources, the token from the Secret, data on volumes; query's per-replica names; the
//! page's calls routed by the Ingress to the right Services.

mod routes;
mod workload;

use super::container::{Container, EnvValue, Findings, Target};
use super::files::{Help, IMAGE};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use workload::{
    check_data_dir, check_env_references, check_pod, check_probes, selected, text, Workload,
};

/// The course's Service names, and the subcommand each must reach.
const SERVICE_NAMES: [(&str, &str); 7] = [
    ("event-bus-srv", "bus"),
    ("posts-clusterip-srv", "posts"),
    ("comments-srv", "comments"),
    ("moderation-srv", "moderation"),
    ("query-srv", "query"),
    ("query-hl", "query"),
    ("client-srv", "client"),
];

/// Each subcommand's workload kind (those with a sled store of their own keep it on a PVC).
const KINDS: [(&str, &str); 6] = [
    ("bus", "StatefulSet"),
    ("posts", "StatefulSet"),
    ("comments", "StatefulSet"),
    ("query", "StatefulSet"),
    ("moderation", "Deployment"),
    ("client", "Deployment"),
];

/// The course's ingress routes, in its order: path → Service.
const ROUTES: [(&str, &str); 4] = [
    ("/posts/create", "posts-clusterip-srv"),
    ("/posts", "query-srv"),
    ("/posts/?(.*)/comments", "comments-srv"),
    ("/?(.*)", "client-srv"),
];

/// The documents of the manifests, by kind.
pub(crate) struct Cluster {
    docs: Vec<(String, Value)>,
}

impl Cluster {
    pub(crate) fn new(docs: Vec<(String, Value)>) -> Self {
        Self { docs }
    }

    fn of_kind<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = (&'a str, &'a Value)> + 'a {
        self.docs
            .iter()
            .filter(move |(_, doc)| doc["kind"] == kind)
            .map(|(file, doc)| (file.as_str(), doc))
    }

    fn service(&self, name: &str) -> Option<&Value> {
        self.of_kind("Service")
            .map(|(_, doc)| doc)
            .find(|doc| doc["metadata"]["name"] == name)
    }

    fn workloads(&self) -> Vec<Workload<'_>> {
        let deployments = self.of_kind("Deployment");
        deployments
            .chain(self.of_kind("StatefulSet"))
            .map(|(file, doc)| Workload::read(file, doc))
            .collect()
    }

    /// Every `(subcommand, probe path)` the workloads probe.
    pub(crate) fn probes(&self) -> BTreeSet<(String, String)> {
        let mut probes = BTreeSet::new();
        for workload in self.workloads() {
            for probe in ["startupProbe", "readinessProbe", "livenessProbe"] {
                if let Some(path) = workload.spec[probe]["httpGet"]["path"].as_str() {
                    probes.insert((workload.container.subcommand.clone(), path.to_string()));
                }
            }
        }
        probes
    }

    /// Every check of this module; `uid` is the Dockerfile's user.
    pub(crate) fn check(&self, helps: &BTreeMap<String, Help>, uid: &str, f: &mut Findings) {
        let workloads = self.workloads();
        for workload in &workloads {
            if let Some(help) = workload.container.check_against(helps, f) {
                self.check_workload(workload, help, uid, f);
                let resolve = |host: &str| self.resolve(host, workload, &workloads, helps);
                workload.container.check_urls(resolve, f);
            }
        }
        self.check_services(&workloads, f);
        self.check_ingress(f);
        let subcommands: BTreeSet<_> = workloads.iter().map(|w| &w.container.subcommand).collect();
        let one_each = subcommands.len() == KINDS.len() && workloads.len() == KINDS.len();
        f.check(one_each, || {
            format!("one workload per service, found {subcommands:?}")
        });
    }

    fn check_workload(&self, workload: &Workload, help: &Help, uid: &str, f: &mut Findings) {
        let (c, spec, doc) = (&workload.container, workload.spec, workload.doc);
        let kind = KINDS
            .iter()
            .find(|(sub, _)| *sub == c.subcommand)
            .map(|k| k.1);
        f.check(kind == doc["kind"].as_str(), || {
            format!("{}: should be a {kind:?}", c.origin)
        });
        if c.subcommand == "moderation" {
            self.check_shared_subscription_secret(c, f);
        }
        if ["bus", "posts", "comments"].contains(&c.subcommand.as_str()) {
            let replicas = &doc["spec"]["replicas"];
            f.check(replicas == 1, || {
                format!("{}: replicas {replicas}, not 1", c.origin)
            });
        }
        f.check(spec["image"] == IMAGE, || {
            format!("{}: image is not {IMAGE}", c.origin)
        });
        f.check(spec.get("command").is_none(), || {
            format!(
                "{}: a command would replace the image's entrypoint",
                c.origin
            )
        });
        let ports = &spec["ports"];
        f.check(
            *ports == serde_json::json!([{"name": "http", "containerPort": help.port}]),
            || format!("{}: ports {ports}, not `http` {}", c.origin, help.port),
        );
        check_probes(c, spec, help.port, f);
        check_env_references(c, f);
        self.check_token(c, f);
        check_data_dir(c, doc, spec, f);
        check_pod(c, doc, spec, uid, f);
    }

    /// `MINIBUS_TOKEN` comes from the Secret of secret.example.yaml, never written out.
    fn check_token(&self, c: &Container, f: &mut Findings) {
        let secret = self.of_kind("Secret").map(|(_, doc)| doc).next();
        for (var, value) in c.env.iter().filter(|(var, _)| var == "MINIBUS_TOKEN") {
            let from_secret = matches!(value, EnvValue::Secret { name, key }
                if secret.is_some_and(|s| s["metadata"]["name"] == *name
                    && s["stringData"].get(key).is_some()));
            f.check(from_secret, || {
                format!("{}: {var} is not the Secret's token", c.origin)
            });
        }
    }

    /// moderation's replicas share one subscription, so they must register it with one
    /// secret (`MINIBUS_SUBSCRIPTION_SECRET`) from the Secret: with a random one each, a
    /// replica would refuse the deliveries signed for another.
    fn check_shared_subscription_secret(&self, c: &Container, f: &mut Findings) {
        let secret = self.of_kind("Secret").map(|(_, doc)| doc).next();
        let shared = c.env.iter().any(|(var, value)| {
            var == "MINIBUS_SUBSCRIPTION_SECRET"
                && matches!(value, EnvValue::Secret { name, key }
                    if secret.is_some_and(|s| s["metadata"]["name"] == *name
                        && s["stringData"][key.as_str()]
                            .as_str()
                            .is_some_and(|v| v.starts_with("whsec_"))))
        });
        f.check(shared, || {
            format!(
                "{}: replicas sharing a subscription need MINIBUS_SUBSCRIPTION_SECRET from the Secret",
                c.origin
            )
        });
    }

    /// A URL host's target: a Service, or `$(POD_NAME).<headless Service>` (the pod's own
    /// DNS name), which must be this StatefulSet's governing Service and publish pods before
    /// they are ready (a query replica is ready only once the bus has reached it).
    fn resolve(
        &self,
        host: &str,
        workload: &Workload,
        workloads: &[Workload],
        helps: &BTreeMap<String, Help>,
    ) -> Option<Target> {
        let service_name = match host.strip_prefix("$(POD_NAME).") {
            Some(headless) => {
                let service = self.service(headless)?;
                let pod_dns = workload.doc["spec"]["serviceName"] == headless
                    && service["spec"]["clusterIP"] == "None"
                    && service["spec"]["publishNotReadyAddresses"] == true;
                pod_dns.then_some(headless)?
            }
            None => host,
        };
        let service = self.service(service_name)?;
        let port = service["spec"]["ports"][0]["port"].as_u64()?;
        let backend = selected(service, workloads)
            .first()?
            .container
            .subcommand
            .clone();
        let listens = helps.get(&backend)?.port;
        let target = &service["spec"]["ports"][0]["targetPort"];
        (*target == "http" || *target == listens).then_some((backend, u16::try_from(port).ok()?))
    }

    fn check_services(&self, workloads: &[Workload], f: &mut Findings) {
        for (file, service) in self.of_kind("Service") {
            let name = service["metadata"]["name"].as_str().unwrap_or("?");
            let backends = selected(service, workloads);
            f.check(backends.len() == 1, || {
                format!(
                    "{file}: Service {name} selects {} workloads, not 1",
                    backends.len()
                )
            });
            let wanted = SERVICE_NAMES
                .iter()
                .find(|(svc, _)| *svc == name)
                .map(|s| s.1);
            let got = backends.first().map(|w| w.container.subcommand.as_str());
            f.check(wanted.is_some() && got == wanted, || {
                format!("{file}: Service {name} reaches {got:?}, DESIGN gives {wanted:?}")
            });
        }
        for (name, _) in SERVICE_NAMES {
            f.check(self.service(name).is_some(), || {
                format!("no Service {name}")
            });
        }
    }

    fn check_ingress(&self, f: &mut Findings) {
        let ingresses: Vec<_> = self.of_kind("Ingress").map(|(_, doc)| doc).collect();
        let [ingress] = ingresses.as_slice() else {
            return f.0.push(format!("{} Ingresses, not 1", ingresses.len()));
        };
        let regex = &ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/use-regex"];
        f.check(regex == "true", || {
            "the Ingress does not set use-regex".into()
        });
        let rule = &ingress["spec"]["rules"][0];
        f.check(rule["host"] == "posts.com", || {
            "the Ingress is not for posts.com".into()
        });
        let paths = rule["http"]["paths"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let routes: Vec<(&str, &str)> = paths
            .iter()
            .map(|p| (text(&p["path"]), text(&p["backend"]["service"]["name"])))
            .collect();
        let wanted = ROUTES.to_vec();
        f.check(routes == wanted, || {
            format!("Ingress routes {routes:?}, not {wanted:?}")
        });
        routes::check_page_calls(&routes, f);
        for path in &paths {
            let backend = &path["backend"]["service"];
            let service = backend["name"].as_str().and_then(|name| self.service(name));
            let port = service.map(|s| &s["spec"]["ports"][0]["port"]);
            f.check(port == Some(&backend["port"]["number"]), || {
                format!("Ingress path {}: port is not its Service's", path["path"])
            });
        }
    }
}
