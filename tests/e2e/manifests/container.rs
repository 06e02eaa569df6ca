//! One container as a Kubernetes workload or a compose service describes it, and the checks
//! both share: its subcommand, flags and variables exist, it listens on every address at its
//! service's port, and its URLs reach the services they name.

use super::files::Help;
use std::collections::BTreeMap;

/// What the checks found wrong, each naming where.
#[derive(Debug, Default)]
pub(crate) struct Findings(pub(crate) Vec<String>);

impl Findings {
    /// Records `problem` unless `ok`.
    pub(crate) fn check(&mut self, ok: bool, problem: impl FnOnce() -> String) {
        if !ok {
            self.0.push(problem());
        }
    }
}

/// Where an environment variable's value comes from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum EnvValue {
    /// Written in the file (compose's `${…}` interpolations included, as written).
    Literal(String),
    /// A Kubernetes Secret's key.
    Secret { name: String, key: String },
    /// A Kubernetes pod field (`metadata.name`…).
    Field(String),
    /// Anything else (a ConfigMap…), which these manifests do not use.
    Other,
}

/// A container running `minibus SUBCOMMAND ARGS…` with its environment.
#[derive(Debug)]
pub(crate) struct Container {
    /// Where it is described, for the findings (`query.yaml statefulset/query`).
    pub(crate) origin: String,
    pub(crate) subcommand: String,
    /// The arguments after the subcommand.
    pub(crate) args: Vec<String>,
    pub(crate) env: Vec<(String, EnvValue)>,
}

/// A service a URL's host names: the subcommand behind it and the port it answers on.
pub(crate) type Target = (String, u16);

impl Container {
    /// The value of variable `name`, when it is written in the file.
    pub(crate) fn literal(&self, name: &str) -> Option<&str> {
        self.env.iter().find_map(|(key, value)| match value {
            EnvValue::Literal(text) if key == name => Some(text.as_str()),
            _ => None,
        })
    }

    /// Every setting written in the file, as `MINIBUS_…` name → value: the literal variables,
    /// and the flags among the arguments (`--posts-url URL` as `MINIBUS_POSTS_URL`).
    pub(crate) fn settings(&self) -> BTreeMap<String, String> {
        let mut settings: BTreeMap<String, String> = self
            .env
            .iter()
            .filter_map(|(key, value)| match value {
                EnvValue::Literal(text) => Some((key.clone(), text.clone())),
                _ => None,
            })
            .collect();
        let mut args = self.args.iter().peekable();
        while let Some(arg) = args.next() {
            let Some(flag) = arg.strip_prefix("--") else {
                continue;
            };
            let (name, value) = match flag.split_once('=') {
                Some((name, value)) => (name, value.to_string()),
                None if args.peek().is_some_and(|next| !next.starts_with("--")) => {
                    (flag, args.next().cloned().unwrap_or_default())
                }
                None => (flag, "true".to_string()),
            };
            let var = format!("MINIBUS_{}", name.replace('-', "_").to_uppercase());
            settings.insert(var, value);
        }
        settings
    }

    /// The checks every container gets, against its subcommand's `--help`: its help, if the
    /// subcommand exists.
    pub(crate) fn check_against<'h>(
        &self,
        helps: &'h BTreeMap<String, Help>,
        findings: &mut Findings,
    ) -> Option<&'h Help> {
        let Some(help) = helps.get(&self.subcommand) else {
            findings.0.push(format!(
                "{}: `minibus {}` is not a service subcommand",
                self.origin, self.subcommand
            ));
            return None;
        };
        self.check_names(help, findings);
        let settings = self.settings();
        let listen = settings.get("MINIBUS_LISTEN").map(String::as_str);
        let wanted = format!("0.0.0.0:{}", help.port);
        findings.check(listen == Some(wanted.as_str()), || {
            format!("{}: listens on {listen:?}, not {wanted}", self.origin)
        });
        let required = ["MINIBUS_TOKEN", "MINIBUS_ADVERTISE_URL"];
        for var in required
            .into_iter()
            .filter(|var| help.env_vars.contains(*var))
        {
            findings.check(self.env.iter().any(|(key, _)| key == var), || {
                format!("{}: {var} is not set (needed on 0.0.0.0)", self.origin)
            });
        }
        let admin = settings.get("MINIBUS_ADMIN_ACTIONS").map(String::as_str);
        findings.check(matches!(admin, None | Some("false")), || {
            format!(
                "{}: admin actions must stay off, not {admin:?}",
                self.origin
            )
        });
        Some(help)
    }

    /// Every flag among the arguments and every `MINIBUS_…` variable is one `--help` lists.
    fn check_names(&self, help: &Help, findings: &mut Findings) {
        for arg in self.args.iter().filter(|arg| arg.starts_with("--")) {
            let flag = arg.split('=').next().unwrap_or(arg);
            findings.check(help.flags.contains(flag), || {
                format!(
                    "{}: minibus {} has no flag {flag}",
                    self.origin, self.subcommand
                )
            });
        }
        for (var, _) in self
            .env
            .iter()
            .filter(|(var, _)| var.starts_with("MINIBUS_"))
        {
            findings.check(help.env_vars.contains(var), || {
                format!(
                    "{}: minibus {} reads no {var}",
                    self.origin, self.subcommand
                )
            });
        }
    }

    /// Every `MINIBUS_…_URL` setting names a service running the subcommand that variable
    /// is for, at the port that service answers on; `resolve` maps a URL's host to it.
    pub(crate) fn check_urls(
        &self,
        resolve: impl Fn(&str) -> Option<Target>,
        findings: &mut Findings,
    ) {
        for (var, url) in self.settings() {
            let Some(role) = var
                .strip_prefix("MINIBUS_")
                .and_then(|v| v.strip_suffix("_URL"))
            else {
                continue;
            };
            let wanted = match role {
                "ADVERTISE" => self.subcommand.clone(),
                "BUS" | "POSTS" | "COMMENTS" | "QUERY" => role.to_lowercase(),
                _ => {
                    findings
                        .0
                        .push(format!("{}: no check knows {var}", self.origin));
                    continue;
                }
            };
            let target = split_url(&url).and_then(|(host, port)| Some((resolve(host)?, port)));
            findings.check(
                matches!(&target, Some(((sub, at), port)) if *sub == wanted && at == port),
                || {
                    format!(
                        "{}: {var}={url} does not reach {wanted} (it reaches {target:?})",
                        self.origin
                    )
                },
            );
        }
    }
}

/// `http://HOST:PORT[/…]` → (HOST, PORT).
fn split_url(url: &str) -> Option<(&str, u16)> {
    let authority = url.strip_prefix("http://")?.split('/').next()?;
    let (host, port) = authority.rsplit_once(':')?;
    Some((host, port.parse().ok()?))
}
