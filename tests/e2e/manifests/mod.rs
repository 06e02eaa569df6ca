//! manifests/ checked without Docker or a cluster: the Kubernetes files against the
//! Kubernetes schemas (kubernetes-validate, offline), the Dockerfile with hadolint, and the
//! Kubernetes files, the compose file and the Dockerfile (read by BuildKit's parser) against
//! what the built binary says of itself (`minibus SERVICE --help`: flags, variables, ports)
//! and serves (its probe paths). Each check is also shown to catch a broken copy.

mod compose;
mod container;
mod dockerfile;
mod files;
mod k8s;

use crate::helpers::{eventually_within, free_loopback_addr, minibus, BusProcess};
use container::Findings;
use files::{copy_dir, Help, Manifests};
use k8s::Cluster;
use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Everything wrong with the manifests in `manifests`, against `helps`.
fn findings(manifests: &Manifests, helps: &BTreeMap<String, Help>) -> Vec<String> {
    let mut found = Findings::default();
    let uid = dockerfile::check_dockerfile(&manifests.dockerfile(), helps, &mut found);
    Cluster::new(manifests.kubernetes_documents()).check(helps, &uid, &mut found);
    compose::check_compose(&manifests.compose(), helps, &mut found);
    found.0
}

/// kubernetes-validate --strict (unknown fields are errors) on every Kubernetes file: its
/// exit status and what it printed.
fn validate(manifests: &Manifests) -> (bool, String) {
    let out = Command::new(bus::testkit::tools::kubernetes_validate())
        .arg("--strict")
        .args(manifests.kubernetes_files())
        .output()
        .expect("run kubernetes-validate");
    let printed = String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr);
    (out.status.success(), printed.into_owned())
}

#[test]
fn the_kubernetes_manifests_validate_against_the_kubernetes_schemas() {
    let manifests = Manifests::of_repo();
    let (valid, printed) = validate(&manifests);
    assert!(valid, "kubernetes-validate:\n{printed}");
    let documents = manifests.kubernetes_documents().len();
    assert_eq!(
        printed.matches(" passed ").count(),
        documents,
        "every document was validated:\n{printed}"
    );
}

#[test]
fn a_manifest_that_breaks_the_schema_fails_validation() {
    let copy = tempfile::tempdir().expect("tempdir");
    let manifests = mutated_copy(copy.path(), "k8s/bus.yaml", "replicas: 1", "replicas: one");
    assert!(!validate(&manifests).0, "a string for replicas is refused");
    let manifests = mutated_copy(
        copy.path(),
        "k8s/query.yaml",
        "publishNotReadyAddresses: true",
        "publishNotReadyAdresses: true",
    );
    assert!(
        !validate(&manifests).0,
        "a misspelt field is refused (--strict)"
    );
}

/// hadolint on the Dockerfile: its exit status and what it printed.
fn lint(manifests: &Manifests) -> (bool, String) {
    let out = Command::new(bus::testkit::tools::hadolint())
        .arg("--no-color")
        .arg(manifests.dir.join("Dockerfile"))
        .output()
        .expect("run hadolint");
    let printed = String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr);
    (out.status.success(), printed.into_owned())
}

#[test]
fn the_dockerfile_passes_hadolint() {
    let (clean, printed) = lint(&Manifests::of_repo());
    assert!(clean && printed.trim().is_empty(), "hadolint:\n{printed}");
}

#[test]
fn hadolint_finds_a_mistake_in_a_copy_of_the_dockerfile() {
    let copy = tempfile::tempdir().expect("tempdir");
    let cd = "WORKDIR /data\nRUN cd /data && ls\n";
    let manifests = mutated_copy(copy.path(), "Dockerfile", "WORKDIR /data\n", cd);
    let (clean, printed) = lint(&manifests);
    assert!(
        !clean && printed.contains("DL3003"),
        "`cd` instead of WORKDIR: {printed}"
    );
}

#[test]
fn the_manifests_compose_file_and_dockerfile_agree_with_the_binary() {
    let found = findings(&Manifests::of_repo(), &Help::of_services());
    assert!(found.is_empty(), "{}", found.join("\n"));
}

/// Mistakes the checks must catch, each made alone in a copy: (file, text, replacement).
#[rustfmt::skip]
const MUTATIONS: [(&str, &str, &str); 22] = [
    ("k8s/posts.yaml", "containerPort: 4000", "containerPort: 4010"),
    ("k8s/comments.yaml", "\"0.0.0.0:4001\"", "\"0.0.0.0:4011\""),
    ("k8s/query.yaml", "MINIBUS_PERSIST", "MINIBUS_PERSISTENT"),
    ("k8s/query.yaml", "publishNotReadyAddresses: true", "publishNotReadyAddresses: false"),
    ("k8s/query.yaml", "value: $(POD_NAME)\n", "value: query\n"),
    ("k8s/query.yaml", "mountPath: /data", "mountPath: /var/data"),
    ("k8s/bus.yaml", "path: /readyz", "path: /ready"),
    ("k8s/bus.yaml", "name: minibus-token", "name: minibus-secret"),
    ("k8s/client.yaml", "http://query-srv:4002", "http://query-srv:4003"),
    ("k8s/client.yaml", "http://comments-srv:4001", "http://posts-clusterip-srv:4000"),
    ("k8s/moderation.yaml", "name: MINIBUS_SUBSCRIPTION_SECRET", "name: MINIBUS_SUBSCRIPTION_SECRETS"),
    ("k8s/moderation.yaml", "key: moderation-subscription-secret", "key: moderation-secret"),
    ("k8s/moderation.yaml", "args: [\"moderation\"]", "args: [\"moderation\", \"--delay\", \"5\"]"),
    ("k8s/ingress.yaml", "name: comments-srv", "name: query-srv"),
    ("docker-compose.yml", "MINIBUS_LISTEN: 0.0.0.0:4002", "MINIBUS_LISTEN: 0.0.0.0:4012"),
    ("docker-compose.yml", "MINIBUS_BUS_URL: http://bus:4005", "MINIBUS_BUS_URL: http://bus:4000"),
    ("docker-compose.yml", "MINIBUS_BLOCKED_WORDS", "MINIBUS_BLOCKED_WORD"),
    ("docker-compose.yml", "MINIBUS_LISTEN: 0.0.0.0:3000", "MINIBUS_LISTEN: 0.0.0.0:3000\n      MINIBUS_ADMIN_ACTIONS: \"true\""),
    ("docker-compose.yml", "MINIBUS_TOKEN: ${MINIBUS_TOKEN:?set MINIBUS_TOKEN}", "MINIBUS_TOKEN: a-token-written-in-the-file"),
    ("Dockerfile", "EXPOSE 3000 4000 4001 4002 4003 4005", "EXPOSE 3000 4000 4001 4002 4005"),
    ("Dockerfile", "COPY query ./query\n", ""),
    ("Dockerfile", "USER 10001:10001", "USER root"),
];

/// Each mutation, made alone in a copy of manifests/, must be found (a finding the real
/// manifests do not have).
#[test]
fn a_copy_with_a_wrong_port_flag_or_variable_is_caught() {
    let helps = Help::of_services();
    let baseline = findings(&Manifests::of_repo(), &helps);
    let mut missed = Vec::new();
    for (file, from, to) in MUTATIONS {
        let copy = tempfile::tempdir().expect("tempdir");
        let found = findings(&mutated_copy(copy.path(), file, from, to), &helps);
        let new: Vec<_> = found.iter().filter(|f| !baseline.contains(f)).collect();
        match new.is_empty() {
            true => missed.push(format!("{file}: `{from}` → `{to}`")),
            false => eprintln!("{file}: `{from}` → `{to}`: {new:?}"),
        }
    }
    assert!(missed.is_empty(), "not caught:\n{}", missed.join("\n"));
}

/// A copy of manifests/ in `dir` with `from` replaced by `to` in `file` (which must hold it).
fn mutated_copy(dir: &std::path::Path, file: &str, from: &str, to: &str) -> Manifests {
    let repo = Manifests::of_repo();
    copy_dir(&repo.dir, dir);
    let path = dir.join(file);
    let text = std::fs::read_to_string(repo.dir.join(file)).expect("read the file");
    assert!(text.contains(from), "{file} holds `{from}`");
    std::fs::write(&path, text.replacen(from, to, 1)).expect("write the copy");
    Manifests {
        dir: dir.to_path_buf(),
    }
}

/// How long a service may take to start and be ready on a loaded machine.
const SERVICE_START: Duration = Duration::from_secs(60);

/// The paths the probes GET answer 200 once each service runs (the services against a bus,
/// as in the cluster).
#[tokio::test]
async fn every_probe_path_is_served() {
    let probes = Cluster::new(Manifests::of_repo().kubernetes_documents()).probes();
    let helps = Help::of_services();
    let data = tempfile::tempdir().expect("tempdir");
    let bus = BusProcess::start(&data.path().join("bus"), &[]);
    let mut urls = BTreeMap::from([("bus".to_string(), bus.url().to_string())]);
    let mut running = Vec::new();
    for (name, help) in helps.iter().filter(|(name, _)| *name != "bus") {
        let listen = free_loopback_addr();
        let mut cmd = minibus();
        cmd.args([name, "--listen", &listen, "--bus-url", bus.url()]);
        if help.flags.contains("--data-dir") {
            cmd.arg("--data-dir").arg(data.path().join(name));
        }
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
        running.push(KilledOnDrop(cmd.spawn().expect("spawn a service")));
        urls.insert(name.clone(), format!("http://{listen}"));
    }
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("an HTTP client");
    for (service, path) in &probes {
        let url = format!("{}{path}", urls[service]);
        let what = format!("GET {url} → 200 ({service})");
        eventually_within(&what, SERVICE_START, || async {
            let response = http.get(&url).send().await.ok()?;
            response.status().is_success().then_some(())
        })
        .await;
    }
    assert!(
        probes.len() >= 2 * helps.len(),
        "every service is probed: {probes:?}"
    );
}

/// A child process, SIGKILLed and reaped on drop.
struct KilledOnDrop(Child);

impl Drop for KilledOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
