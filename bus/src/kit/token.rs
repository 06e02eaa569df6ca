//! The one rule for a bearer token: the bus checks its `--token` against it, and a service
//! its `--bus-token` ([`super::ServiceArgs::check`]), before they start.

/// The shortest bearer token, in characters: the bus's `--token` and a service's
/// `--bus-token` alike.
pub const MIN_TOKEN_CHARS: usize = 16;

/// Why a bearer token is refused; the message reads after the flag's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Fewer than [`MIN_TOKEN_CHARS`] characters: easy to guess.
    #[error(
        "must be at least {MIN_TOKEN_CHARS} characters long, to be hard to guess; e.g. \
         `openssl rand -hex 32`"
    )]
    TooShort,
    /// Holds whitespace, which an `Authorization` header could not carry as one credential.
    #[error("must not contain whitespace")]
    Whitespace,
}

/// The one rule for a bearer token, which the bus checks on its `--token` and a service on
/// its `--bus-token` before they start: at least [`MIN_TOKEN_CHARS`] characters (not
/// bytes), no whitespace.
pub fn check_token(token: &str) -> Result<(), TokenError> {
    if token.chars().count() < MIN_TOKEN_CHARS {
        return Err(TokenError::TooShort);
    }
    if token.chars().any(char::is_whitespace) {
        return Err(TokenError::Whitespace);
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Tokens the rule refuses (15 characters, even of two bytes each; whitespace
    /// anywhere), and why; then tokens it takes (16 characters, not bytes).
    pub(crate) const REFUSED: [(&str, TokenError); 6] = [
        ("", TokenError::TooShort),
        ("0123456789abcde", TokenError::TooShort),
        ("ééééééééééééééé", TokenError::TooShort),
        ("01234567 89abcdef", TokenError::Whitespace),
        ("0123456789abcdef\n", TokenError::Whitespace),
        ("\u{a0}0123456789abcdef", TokenError::Whitespace),
    ];
    pub(crate) const TAKEN: [&str; 2] = ["0123456789abcdef", "éééééééééééééééé"];

    #[test]
    fn short_tokens_and_whitespace_are_refused_with_the_reason() {
        for (token, why) in REFUSED {
            assert_eq!(check_token(token), Err(why), "{token:?}");
        }
        for token in TAKEN {
            assert_eq!(check_token(token), Ok(()), "{token:?}");
        }
    }

    #[cfg(feature = "daemon")]
    #[test]
    fn the_bus_holds_its_token_to_the_same_rule() {
        let bus_refuses = |token: &str| {
            let loopback = std::net::SocketAddr::from(([127, 0, 0, 1], 4005));
            let mut config = crate::daemon::BusConfig::new(loopback, "d".into());
            config.token = Some(token.into());
            config.check(loopback).is_err()
        };
        for (token, _) in REFUSED {
            assert!(bus_refuses(token), "{token:?}");
        }
        for token in TAKEN {
            assert!(!bus_refuses(token), "{token:?}");
        }
    }
}
