//! The password of a subscription URL (`http://user:password@host/…`, sent as HTTP Basic
//! auth) is a credential like the `secret`: the bus never serves or logs it. Wherever it
//! shows a URL (status, list, logs, start-up errors) the password reads `***`, the way
//! webhook services hide credentials. A PUT that sends such a URL back unchanged (a client
//! that read the status and PUTs it again) keeps the stored password.

/// What the bus shows in place of a URL's password, and what a PUT sends to keep it.
pub(crate) const HIDDEN_PASSWORD: &str = "***";

/// `url` as the bus shows it: its password, if it has one, replaced by [`HIDDEN_PASSWORD`].
/// A URL that does not parse (never a stored one: a PUT refuses it) has the text between
/// its first `:` after the scheme and the last `@` of its authority replaced.
pub(crate) fn redacted(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            // Only a URL that cannot have credentials refuses a password: this one has one.
            let _ = parsed.set_password(Some(HIDDEN_PASSWORD));
            parsed.into()
        }
        Ok(_) => url.to_string(),
        Err(_) => redacted_text(url),
    }
}

/// [`redacted`] for a text that is not a URL, by its shape only.
fn redacted_text(text: &str) -> String {
    let Some(start) = text.find("://").map(|i| i + 3) else {
        return text.to_string();
    };
    let rest = &text[start..];
    let authority = &rest[..rest.find(['/', '?', '#', '\\']).unwrap_or(rest.len())];
    let (Some(at), Some(colon)) = (authority.rfind('@'), authority.find(':')) else {
        return text.to_string();
    };
    if colon > at {
        return text.to_string();
    }
    let password = start + colon + 1..start + at;
    format!(
        "{}{HIDDEN_PASSWORD}{}",
        &text[..password.start],
        &text[password.end..]
    )
}

/// The URL to store for a PUT of `given` over a subscription whose URL is `stored` (`None`:
/// a new one). `given` itself, unless its password is [`HIDDEN_PASSWORD`]: then it stands
/// for the stored password, and `given` must be the stored URL as the bus shows it (same
/// user, host, port, path, query), which is then kept whole; anything else is refused,
/// for `***` would otherwise become the password sent.
pub(crate) fn with_stored_password(given: &str, stored: Option<&str>) -> Result<String, String> {
    let Ok(mut parsed) = reqwest::Url::parse(given) else {
        // Not a URL: the settings' check says so.
        return Ok(given.to_string());
    };
    if parsed.password() != Some(HIDDEN_PASSWORD) {
        return Ok(given.to_string());
    }
    let stored_url = stored.and_then(|url| reqwest::Url::parse(url).ok());
    if let Some(stored_url) = stored_url.filter(|url| url.password().is_some()) {
        let _ = parsed.set_password(stored_url.password());
        if parsed == stored_url {
            return Ok(stored_url.into());
        }
    }
    Err(format!(
        "`url`: the password {HIDDEN_PASSWORD} stands for the stored one, and is taken only in \
         the URL the bus shows for this subscription, sent back unchanged; give the password \
         itself to change the URL"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_password_is_hidden() {
        for (url, shown) in [
            (
                "http://user:pw@example.com:8080/x",
                "http://user:***@example.com:8080/x",
            ),
            (
                "http://:pw@example.com/x?a=1",
                "http://:***@example.com/x?a=1",
            ),
            ("http://user@example.com/x", "http://user@example.com/x"),
            ("http://example.com/x", "http://example.com/x"),
            ("http://example.com", "http://example.com"),
        ] {
            assert_eq!(redacted(url), shown, "{url}");
        }
    }

    #[test]
    fn a_text_that_is_no_url_has_its_password_hidden_by_its_shape() {
        for (text, shown) in [
            ("http://user:pw@bad host/x", "http://user:***@bad host/x"),
            ("http://user:p@w@bad host", "http://user:***@bad host"),
            ("http://bad host:80/a@b", "http://bad host:80/a@b"),
            ("no url at all: x@y", "no url at all: x@y"),
        ] {
            assert_eq!(redacted(text), shown, "{text}");
        }
    }

    #[test]
    fn the_shown_url_sent_back_keeps_the_stored_password() {
        let stored = "http://user:pw@example.com:8080/x";
        let shown = redacted(stored);
        assert_eq!(
            with_stored_password(&shown, Some(stored)),
            Ok(stored.into())
        );
        // A URL without the stand-in is taken as given, whatever is stored.
        for given in ["http://user:new@example.com:8080/x", "http://other/"] {
            assert_eq!(with_stored_password(given, Some(stored)), Ok(given.into()));
            assert_eq!(with_stored_password(given, None), Ok(given.into()));
        }
    }

    #[test]
    fn stars_standing_for_no_stored_password_are_refused() {
        let stored = "http://user:pw@example.com:8080/x";
        for (given, stored) in [
            ("http://user:***@example.com:8080/x", None),
            (
                "http://user:***@example.com:8080/x",
                Some("http://user@example.com:8080/x"),
            ),
            ("http://admin:***@example.com:8080/x", Some(stored)),
            ("http://user:***@example.com:8081/x", Some(stored)),
            ("http://user:***@example.com:8080/y", Some(stored)),
            ("http://user:***@example.com:8080/x?q", Some(stored)),
        ] {
            assert!(
                with_stored_password(given, stored).is_err(),
                "{given} over {stored:?}"
            );
        }
    }
}
