//! The limits of a subscription's settings, checked on every PUT.

use crate::envelope::{is_valid_event_type, is_valid_stream_name, EVENT_TYPE_RULE, NAME_RULE};
use crate::signature::Signer;
use crate::wire::{Delivery, Format, SubscriptionSpec};

/// Most events in one delivery.
pub(crate) const MAX_BATCH: u32 = 1_000;
/// Largest `batch_max_bytes`.
pub(crate) const MAX_BATCH_BYTES: u64 = 64 * 1024 * 1024;
/// Longest `timeout_ms` (5 minutes).
pub(crate) const MAX_TIMEOUT_MS: u64 = 300_000;
/// Longest backoff (`retry.max_ms`, one day).
pub(crate) const MAX_BACKOFF_MS: u64 = 86_400_000;
/// Most entries in `types`.
pub(crate) const MAX_TYPES: usize = 100;
/// Longest URL, in bytes.
pub(crate) const MAX_URL_BYTES: usize = 2_048;

/// Checks a subscription name: `[A-Za-z0-9._:-]{1,200}`.
pub(crate) fn check_name(name: &str) -> Result<(), String> {
    if is_valid_stream_name(name) {
        Ok(())
    } else {
        Err(format!("a subscription name matches {NAME_RULE}"))
    }
}

/// Checks every setting; `allow_hosts`, when not empty, lists the hosts URLs may name.
pub(crate) fn check(spec: &SubscriptionSpec, allow_hosts: &[String]) -> Result<(), String> {
    check_url(&spec.url, allow_hosts)?;
    if spec.types.len() > MAX_TYPES {
        return Err(format!("`types` holds at most {MAX_TYPES} entries"));
    }
    if let Some(ty) = spec.types.iter().find(|ty| !is_valid_event_type(ty)) {
        return Err(format!(
            "`types` entry {ty:?} is not a valid type ({EVENT_TYPE_RULE})"
        ));
    }
    in_range("batch", u64::from(spec.batch), 1, u64::from(MAX_BATCH))?;
    in_range("batch_max_bytes", spec.batch_max_bytes, 1, MAX_BATCH_BYTES)?;
    in_range("timeout_ms", spec.timeout_ms, 1, MAX_TIMEOUT_MS)?;
    in_range("retry.initial_ms", spec.retry.initial_ms, 1, MAX_BACKOFF_MS)?;
    in_range(
        "retry.max_ms",
        spec.retry.max_ms,
        spec.retry.initial_ms,
        MAX_BACKOFF_MS,
    )?;
    if spec.retry.max_attempts == Some(0) {
        return Err("`retry.max_attempts` is at least 1 (or null: retry forever)".into());
    }
    if spec.delivery == Delivery::AtMostOnce && spec.retry.max_attempts.is_some_and(|n| n > 1) {
        return Err(
            "`delivery: \"at_most_once\"` never retries: `retry.max_attempts` is null or 1".into(),
        );
    }
    if spec.format == Format::Cloudevents && spec.batch > 1 {
        return Err("`format: \"cloudevents\"` (binary mode) carries one event per request: use `batch: 1`, or `cloudevents-structured`".into());
    }
    if let Some(secret) = &spec.secret {
        Signer::from_secret(secret).map_err(|e| format!("`secret`: {e}"))?;
    }
    Ok(())
}

fn in_range(field: &str, value: u64, min: u64, max: u64) -> Result<(), String> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(format!(
            "`{field}` must be from {min} to {max}, not {value}"
        ))
    }
}

fn check_url(url: &str, allow_hosts: &[String]) -> Result<(), String> {
    if url.len() > MAX_URL_BYTES {
        return Err(format!("`url` is longer than {MAX_URL_BYTES} bytes"));
    }
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("`url` is not a URL: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err("`url` must be http or https".into());
    }
    check_host(&parsed, allow_hosts)
}

/// Checks that `url` names a host `allow_hosts` lists (`--allow-subscriber-hosts`; empty
/// allows every host). Checked on PUT, and on every delivery of a stored subscription, for
/// the list may have changed since it was created.
pub(crate) fn check_host(url: &reqwest::Url, allow_hosts: &[String]) -> Result<(), String> {
    let host = url.host_str().ok_or("`url` has no host")?;
    if !allow_hosts.is_empty() && !allow_hosts.iter().any(|h| h.eq_ignore_ascii_case(host)) {
        return Err(format!("host {host} is not in --allow-subscriber-hosts"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: &str) -> SubscriptionSpec {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn defaults_are_valid() {
        assert!(check(&spec(r#"{"url":"http://127.0.0.1:4002/events"}"#), &[]).is_ok());
    }

    #[test]
    fn bad_settings_are_refused() {
        for bad in [
            r#"{"url":"ftp://x/"}"#,
            r#"{"url":"not a url"}"#,
            r#"{"url":"http://x/","batch":0}"#,
            r#"{"url":"http://x/","batch":1001}"#,
            r#"{"url":"http://x/","timeout_ms":0}"#,
            r#"{"url":"http://x/","retry":{"initial_ms":500,"max_ms":100}}"#,
            r#"{"url":"http://x/","retry":{"max_attempts":0}}"#,
            r#"{"url":"http://x/","format":"cloudevents","batch":2}"#,
            r#"{"url":"http://x/","secret":"nope"}"#,
            r#"{"url":"http://x/","types":[""]}"#,
            r#"{"url":"http://x/","types":["a\u0007b"]}"#,
            r#"{"url":"http://x/","delivery":"at_most_once","retry":{"max_attempts":2}}"#,
        ] {
            assert!(check(&spec(bad), &[]).is_err(), "{bad}");
        }
    }

    #[test]
    fn at_most_once_takes_batches_and_no_retries() {
        for good in [
            r#"{"url":"http://x/","delivery":"at_most_once"}"#,
            r#"{"url":"http://x/","delivery":"at_most_once","batch":1000}"#,
            r#"{"url":"http://x/","delivery":"at_most_once","retry":{"max_attempts":1}}"#,
            r#"{"url":"http://x/","delivery":"at_least_once","retry":{"max_attempts":2}}"#,
        ] {
            assert!(check(&spec(good), &[]).is_ok(), "{good}");
        }
        let default = spec(r#"{"url":"http://x/"}"#);
        assert_eq!(default.delivery, Delivery::AtLeastOnce);
    }

    #[test]
    fn allowed_hosts_restrict_urls() {
        let allow = ["query".to_string()];
        assert!(check(&spec(r#"{"url":"http://query:4002/events"}"#), &allow).is_ok());
        assert!(check(&spec(r#"{"url":"http://evil:80/"}"#), &allow).is_err());
    }

    /// The default settings with `changes` laid over them.
    fn spec_with(changes: &serde_json::Value) -> SubscriptionSpec {
        let mut json = serde_json::json!({"url": "http://127.0.0.1:4002/events"});
        if let (Some(json), Some(changes)) = (json.as_object_mut(), changes.as_object()) {
            json.extend(changes.clone());
        }
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn each_limit_is_accepted_and_one_past_it_refused() {
        use serde_json::json;
        let types = |n: usize| (0..n).map(|i| format!("Type{i}")).collect::<Vec<_>>();
        let url = |bytes: usize| {
            let base = "http://127.0.0.1:4002/";
            format!("{base}{}", "a".repeat(bytes - base.len()))
        };
        // The limits as numbers (README "Limits", and 2,048 bytes for a URL), not as the
        // constants: a changed constant fails here.
        for (at_limit, past_limit) in [
            (json!({"types": types(100)}), json!({"types": types(101)})),
            (json!({"url": url(2_048)}), json!({"url": url(2_049)})),
            (json!({"batch": 1_000}), json!({"batch": 1_001})),
            (
                json!({"batch_max_bytes": 67_108_864}),
                json!({"batch_max_bytes": 67_108_865}),
            ),
            (
                json!({"timeout_ms": 300_000}),
                json!({"timeout_ms": 300_001}),
            ),
            (
                json!({"retry": {"initial_ms": 86_400_000, "max_ms": 86_400_000}}),
                json!({"retry": {"max_ms": 86_400_001}}),
            ),
        ] {
            assert_eq!(check(&spec_with(&at_limit), &[]), Ok(()), "{at_limit}");
            assert!(check(&spec_with(&past_limit), &[]).is_err(), "{past_limit}");
        }
    }

    #[test]
    fn only_binary_cloudevents_is_held_to_one_event_per_request() {
        use serde_json::json;
        for accepted in [
            json!({"format": "cloudevents", "batch": 1}),
            json!({"format": "cloudevents-structured", "batch": 1_000}),
            json!({"format": "envelope", "batch": 1_000}),
        ] {
            assert_eq!(check(&spec_with(&accepted), &[]), Ok(()), "{accepted}");
        }
        let refused = json!({"format": "cloudevents", "batch": 2});
        assert!(check(&spec_with(&refused), &[]).is_err());
    }

    #[test]
    fn subscription_names_are_checked() {
        for good in ["query", "a.b_c:d-1", &"n".repeat(200)] {
            assert_eq!(check_name(good), Ok(()), "{good}");
        }
        for bad in ["", "a b", "a/b", "é", &"n".repeat(201)] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }
}
