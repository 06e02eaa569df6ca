//! The rule for a base URL a service or a tool calls (`--bus-url`, the client's upstreams):
//! checked at start, so that a URL this build cannot call stops it with one line instead
//! of failing every call (`builder error`) and retrying forever.

use super::ConfigError;

/// `url` (given by `--{flag}`) as a base URL to call: `http://host[:port][/prefix]`, without
/// its trailing `/`. Anything else is refused ([`ConfigError::NotHttpUrl`]): a relative or
/// malformed URL, and `https://`, as this build has no TLS client (the services speak plain
/// HTTP to each other, as inside a cluster).
pub fn http_base_url(flag: &'static str, url: &str) -> Result<String, ConfigError> {
    let refused = || ConfigError::NotHttpUrl {
        flag,
        url: url.into(),
    };
    let parsed = reqwest::Url::parse(url).map_err(|_| refused())?;
    match parsed.scheme() {
        "http" if parsed.host().is_some() => Ok(url.trim_end_matches('/').into()),
        _ => Err(refused()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_base_urls_are_taken_without_their_trailing_slash() {
        let base = http_base_url("query-url", "http://query-srv:4002/").expect("taken");
        assert_eq!(base, "http://query-srv:4002");
        let prefixed = http_base_url("bus-url", "http://gateway/bus").expect("taken");
        assert_eq!(prefixed, "http://gateway/bus");
        for refused in [
            "notaurl",
            "query-srv:4002",
            "ftp://query-srv",
            "https://127.0.0.1:4005",
            "http://",
            "http://exa mple",
            "",
        ] {
            let error = http_base_url("bus-url", refused).expect_err(refused);
            assert!(
                matches!(&error, ConfigError::NotHttpUrl { flag: "bus-url", url } if url == refused),
                "{error:?}"
            );
            let line = error.to_string();
            assert_eq!(line, format!("--bus-url {refused:?} is not an http:// URL"));
        }
    }
}
