//! Reading what the checks compare: the YAML files (through PyYAML, as JSON), the
//! Dockerfile's instructions, and what the built binary's `--help` says of each subcommand.

use crate::helpers::minibus;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The subcommands a container may run, each a service with its own port.
pub(crate) const SERVICES: [&str; 6] =
    ["bus", "posts", "comments", "moderation", "query", "client"];

/// The image every container runs: the binary's own version, as the README's build line tags it.
pub(crate) const IMAGE: &str = concat!("minibus:", env!("CARGO_PKG_VERSION"));

/// A copy of manifests/ (or the real one): the files the checks read.
pub(crate) struct Manifests {
    pub(crate) dir: PathBuf,
}

impl Manifests {
    /// The repository's manifests/.
    pub(crate) fn of_repo() -> Self {
        Self {
            dir: bus::testkit::tools::workspace_root().join("manifests"),
        }
    }

    /// Every Kubernetes file: `k8s/*.yaml` and the example Secret.
    pub(crate) fn kubernetes_files(&self) -> Vec<PathBuf> {
        let k8s = self.dir.join("k8s");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&k8s)
            .unwrap_or_else(|e| panic!("read {}: {e}", k8s.display()))
            .map(|entry| entry.expect("a directory entry").path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
            .collect();
        files.sort();
        files.push(self.dir.join("secret.example.yaml"));
        files
    }

    /// Every document of every Kubernetes file, each with the file it came from.
    pub(crate) fn kubernetes_documents(&self) -> Vec<(String, Value)> {
        let files = self.kubernetes_files();
        let mut parsed = yaml_documents(&files);
        let mut documents = Vec::new();
        for file in &files {
            let name = file.file_name().expect("a file name").to_string_lossy();
            let docs = parsed
                .remove(&file.display().to_string())
                .unwrap_or_default();
            documents.extend(docs.into_iter().map(|doc| (name.to_string(), doc)));
        }
        documents
    }

    /// The compose file's one document.
    pub(crate) fn compose(&self) -> Value {
        let file = self.dir.join("docker-compose.yml");
        let mut parsed = yaml_documents(std::slice::from_ref(&file));
        let mut docs = parsed
            .remove(&file.display().to_string())
            .unwrap_or_default();
        assert_eq!(docs.len(), 1, "docker-compose.yml holds one document");
        docs.remove(0)
    }

    /// The Dockerfile's instructions, read by BuildKit's parser
    /// (tests/tools/dockerfile_to_json.py).
    pub(crate) fn dockerfile(&self) -> Vec<Instruction> {
        let json = run_tool_script("dockerfile_to_json.py", &[self.dir.join("Dockerfile")]);
        serde_json::from_slice(&json).expect("dockerfile_to_json.py prints its instructions")
    }
}

/// Parses `files` with PyYAML (tests/tools/yaml_to_json.py): path → its documents.
fn yaml_documents(files: &[PathBuf]) -> BTreeMap<String, Vec<Value>> {
    let json = run_tool_script("yaml_to_json.py", files);
    serde_json::from_slice(&json).expect("yaml_to_json.py prints JSON")
}

/// Runs `tests/tools/SCRIPT FILES…` with the test tools' Python: what it printed.
fn run_tool_script(script: &str, files: &[PathBuf]) -> Vec<u8> {
    let path = bus::testkit::tools::workspace_root()
        .join("tests/tools")
        .join(script);
    let out = Command::new(bus::testkit::tools::python())
        .arg(path)
        .args(files)
        .output()
        .unwrap_or_else(|e| panic!("run {script}: {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{script} failed: {stderr}");
    out.stdout
}

/// One Dockerfile instruction, as BuildKit's parser reads it.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct Instruction {
    /// The keyword, upper case (`FROM`, `RUN`…).
    pub(crate) cmd: String,
    /// Its arguments: an exec form's items, or a shell form's command as one string.
    pub(crate) value: Vec<String>,
    /// Its flags (`--from=builder`, `--mount=…`).
    pub(crate) flags: Vec<String>,
}

/// What `minibus SUBCOMMAND --help` says: its flags, its environment variables, its port.
#[derive(Debug)]
pub(crate) struct Help {
    pub(crate) flags: BTreeSet<String>,
    pub(crate) env_vars: BTreeSet<String>,
    /// The port of its default `--listen` (`127.0.0.1:PORT`).
    pub(crate) port: u16,
}

impl Help {
    /// Runs the built binary's `--help` for `subcommand`.
    pub(crate) fn of(subcommand: &str) -> Self {
        let out = minibus()
            .args([subcommand, "--help"])
            .output()
            .expect("run minibus --help");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "minibus {subcommand} --help: {text}");
        Self::parse(&text).unwrap_or_else(|| panic!("no default --listen port in:\n{text}"))
    }

    /// Every subcommand of [`SERVICES`].
    pub(crate) fn of_services() -> BTreeMap<String, Help> {
        SERVICES
            .iter()
            .map(|service| (service.to_string(), Help::of(service)))
            .collect()
    }

    fn parse(text: &str) -> Option<Self> {
        let flags = text
            .lines()
            .filter_map(|line| {
                let line = line.trim_start();
                let line = line.strip_prefix("-h, ").unwrap_or(line);
                let name = line.strip_prefix("--")?.split([' ', '=']).next()?;
                Some(format!("--{name}"))
            })
            .collect();
        let env_vars = text
            .split("[env: ")
            .skip(1)
            .filter_map(|rest| rest.split(['=', ']']).next())
            .map(str::to_string)
            .collect();
        let port = text
            .split("[default: 127.0.0.1:")
            .nth(1)?
            .split(']')
            .next()?
            .parse()
            .ok()?;
        Some(Self {
            flags,
            env_vars,
            port,
        })
    }
}

/// Copies `from` (a directory of files and subdirectories) into `to`.
pub(crate) fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create the copy");
    for entry in std::fs::read_dir(from).expect("read the directory") {
        let entry = entry.expect("a directory entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("its type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy a file");
        }
    }
}
