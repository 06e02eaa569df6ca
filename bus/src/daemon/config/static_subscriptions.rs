//! The static subscriptions: `--subscribe NAME=URL` (all types, from the beginning) and
//! `--subscriptions FILE`, a JSON object of name → the body of a `PUT /subscriptions/NAME`.
//! Both are read and checked as the PUT checks its body before the bus opens its store,
//! so that a bad entry stops the start with a message naming the flag or the file and the
//! entry; the daemon upserts them once the stored subscriptions are loaded.

use super::BusConfig;
use crate::daemon::subs::{redacted_url, Subscriptions};
use crate::kit::quote;
use crate::wire::SubscriptionSpec;
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value;
use std::collections::HashMap;
use std::fmt;
use std::path::Path;

/// A subscription given at start, and where it was given.
#[derive(Debug, Clone)]
pub(crate) struct StaticSubscription {
    /// Its name.
    pub(crate) name: String,
    /// Its settings, as a PUT's body gives them.
    pub(crate) spec: SubscriptionSpec,
    /// Where it was given (`--subscribe q=http://…` or `--subscriptions FILE, entry "q"`),
    /// the start of every error message about it.
    pub(crate) origin: String,
}

impl BusConfig {
    /// Every static subscription, those of `--subscribe` first, then the file's in its
    /// order, each checked as `PUT /subscriptions/NAME` checks it (with
    /// `--allow-subscriber-hosts`). Refuses an unreadable file, one that is not a JSON
    /// object, and a name given twice (in the file, or by the file and `--subscribe`).
    pub(crate) fn static_subscriptions(&self) -> Result<Vec<StaticSubscription>, String> {
        let mut all = self
            .subscribe
            .iter()
            .map(|entry| from_flag(entry))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(path) = &self.subscriptions {
            all.extend(from_file(path)?);
        }
        refuse_repeated_names(&all)?;
        for sub in &all {
            Subscriptions::check_spec(&sub.name, &sub.spec, &self.allow_subscriber_hosts)
                .map_err(|why| format!("{}: {why}", sub.origin))?;
        }
        Ok(all)
    }
}

/// A `--subscribe NAME=URL`.
fn from_flag(entry: &str) -> Result<StaticSubscription, String> {
    let (name, url) = entry
        .split_once('=')
        .filter(|(name, url)| !name.is_empty() && !url.is_empty())
        .ok_or_else(|| format!("--subscribe takes NAME=URL, not {:?}", quote(entry)))?;
    Ok(StaticSubscription {
        name: name.into(),
        spec: SubscriptionSpec::new(url),
        // The start of every error about it: its URL's password hidden (`url_credentials`).
        origin: format!(
            "--subscribe {}",
            quote(&format!("{name}={}", redacted_url(url)))
        ),
    })
}

/// The entries of a `--subscriptions FILE`, in the file's order.
fn from_file(path: &Path) -> Result<Vec<StaticSubscription>, String> {
    let file = format!("--subscriptions {}", path.display());
    let text = std::fs::read(path).map_err(|e| format!("{file}: cannot read it: {e}"))?;
    let Entries(entries) = serde_json::from_slice(&text).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => format!("{file}: {e}"),
        _ => format!("{file}: not valid JSON: {e}"),
    })?;
    entries
        .into_iter()
        .map(|(name, body)| {
            let origin = format!("{file}, entry {:?}", quote(&name));
            match serde_json::from_value(body) {
                Ok(spec) => Ok(StaticSubscription { name, spec, origin }),
                Err(e) => Err(format!("{origin}: {e}")),
            }
        })
        .collect()
}

/// Refuses a name given twice: which of the two settings should win is anyone's guess.
fn refuse_repeated_names(all: &[StaticSubscription]) -> Result<(), String> {
    let mut seen: HashMap<&str, &str> = HashMap::new();
    for sub in all {
        let Some(first) = seen.insert(&sub.name, &sub.origin) else {
            continue;
        };
        let both = if first == sub.origin {
            format!("{first} appears twice")
        } else {
            format!("both {first} and {}", sub.origin)
        };
        return Err(format!(
            "subscription {:?} is given twice ({both}): give each name once",
            quote(&sub.name),
        ));
    }
    Ok(())
}

/// A JSON object's members in their order, a repeated name kept twice (a map would keep
/// only the last, silently).
struct Entries(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Entries {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(EntriesVisitor)
    }
}

struct EntriesVisitor;

impl<'de> Visitor<'de> for EntriesVisitor {
    type Value = Entries;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object: subscription name → the body of a PUT /subscriptions/NAME")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = map.next_entry()? {
            entries.push(entry);
        }
        Ok(Entries(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn config_with_file(json: &str) -> (BusConfig, tempfile::NamedTempFile) {
        let mut file = tempfile::NamedTempFile::new().expect("a temp file");
        file.write_all(json.as_bytes()).expect("write");
        let mut config = BusConfig::new(BusConfig::DEFAULT_LISTEN, "unused".into());
        config.subscriptions = Some(file.path().to_path_buf());
        (config, file)
    }

    #[test]
    fn the_file_gives_every_setting_in_its_order_after_the_flags() {
        let (mut config, _file) = config_with_file(
            r#"{"b": {"url": "http://b/", "types": ["T"], "batch": 10, "reset": true,
                      "start": {"after": 3}, "retry": {"max_attempts": 2, "on_exhausted": "dead_letter"}},
                "a": {"url": "http://a/"}}"#,
        );
        config.subscribe = vec!["c=http://c/".into()];
        let all = config.static_subscriptions().expect("valid");
        let names: Vec<&str> = all.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["c", "b", "a"]);
        let b: SubscriptionSpec = serde_json::from_str(
            r#"{"url": "http://b/", "types": ["T"], "batch": 10, "reset": true,
                "start": {"after": 3}, "retry": {"max_attempts": 2, "on_exhausted": "dead_letter"}}"#,
        )
        .expect("a spec");
        assert_eq!(all[1].spec, b);
        assert_eq!(all[2].spec, SubscriptionSpec::new("http://a/"));
    }

    #[test]
    fn a_name_given_twice_is_refused() {
        let (config, _file) =
            config_with_file(r#"{"a": {"url": "http://x/"}, "a": {"url": "http://y/"}}"#);
        let refused = config
            .static_subscriptions()
            .expect_err("twice in the file");
        assert!(refused.contains("\"a\" is given twice"), "{refused}");

        let (mut config, _file) = config_with_file(r#"{"a": {"url": "http://x/"}}"#);
        config.subscribe = vec!["a=http://y/".into()];
        let refused = config
            .static_subscriptions()
            .expect_err("in the flag and the file");
        assert!(
            refused.contains("--subscribe a=http://y/") && refused.contains("entry \"a\""),
            "{refused}"
        );
    }

    /// An error about a `--subscribe` entry hides its URL's password, as its status does,
    /// while the subscription keeps it.
    #[test]
    fn an_entry_s_password_stays_out_of_its_errors() {
        let mut config = BusConfig::new(BusConfig::DEFAULT_LISTEN, "unused".into());
        config.subscribe = vec!["a=http://u:s3cret@x/".into()];
        config.allow_subscriber_hosts = vec!["y".into()];
        let refused = config.static_subscriptions().expect_err("host not allowed");
        assert!(
            refused.contains("--subscribe a=http://u:***@x/"),
            "{refused}"
        );
        assert!(!refused.contains("s3cret"), "{refused}");
        config.allow_subscriber_hosts.clear();
        let all = config.static_subscriptions().expect("valid");
        assert_eq!(all[0].spec.url, "http://u:s3cret@x/");
    }
}
