//! `minibus moderation`'s flags: the kit's [`ServiceArgs`] and moderation's own, each with
//! its `MINIBUS_…` variable.

use bus::kit::{ConfigError, ServiceArgs, ServiceDefaults};
use bus::signature::Signer;
use bus::wire::SubscriptionSpec;
use std::time::Duration;

/// moderation's defaults among the flags every service takes.
#[derive(Debug, Clone, Copy)]
pub struct Moderation;

impl ServiceDefaults for Moderation {
    const NAME: &'static str = "moderation";
    const LISTEN: &'static str = "127.0.0.1:4003";
    const DATA_DIR: &'static str = "./data/moderation";
    const SUBSCRIBES: bool = true;
}

/// The time a delivery may take that the judging may not use: publishing the verdict and
/// answering the bus must fit in it.
pub const PUBLISH_ALLOWANCE: Duration = Duration::from_millis(1_000);

/// How long the bus waits for moderation's answer to a delivery: the subscription's
/// `timeout_ms`, which the SDK registers at its default.
pub fn delivery_timeout() -> Duration {
    Duration::from_millis(SubscriptionSpec::new(String::new()).timeout_ms)
}

/// The longest `--delay-ms` taken: the delivery timeout less [`PUBLISH_ALLOWANCE`].
pub fn max_delay() -> Duration {
    delivery_timeout().saturating_sub(PUBLISH_ALLOWANCE)
}

/// `minibus moderation`: approves or rejects each new comment.
#[derive(Debug, Clone, clap::Args)]
pub struct ModerationArgs {
    /// The flags every service takes (`--data-dir` is unused: moderation keeps no data).
    #[command(flatten)]
    pub service: ServiceArgs<Moderation>,

    /// Words that get a comment rejected when its content contains one, in any case,
    /// anywhere (comma-separated; "" blocks nothing).
    #[arg(
        long,
        env = "MINIBUS_BLOCKED_WORDS",
        value_delimiter = ',',
        default_value = "orange"
    )]
    pub blocked_words: Vec<String>,

    /// Milliseconds to wait before publishing the verdicts of each delivery (once for all
    /// the comments it holds), so that their pending state can be seen; at most the
    /// delivery timeout (5000) less 1000 for publishing the verdicts.
    #[arg(long, env = "MINIBUS_DELAY_MS", default_value_t = 0)]
    pub delay_ms: u64,

    /// The secret (`whsec_` and the base64 of 24–64 bytes) to register the subscription
    /// with, the same for every replica that shares it (a Kubernetes Deployment); without
    /// it each start registers a fresh random one, and a replica's registration would make
    /// the bus sign for it alone.
    #[arg(long, env = "MINIBUS_SUBSCRIPTION_SECRET", hide_env_values = true)]
    pub subscription_secret: Option<String>,
}

impl ModerationArgs {
    /// The defaults, listening on `listen` (for tests and `minibus up`).
    pub fn new(listen: std::net::SocketAddr) -> Self {
        Self {
            service: ServiceArgs::new(listen, Moderation::DATA_DIR.into()),
            blocked_words: vec!["orange".into()],
            delay_ms: 0,
            subscription_secret: None,
        }
    }

    /// The delay before publishing the verdicts of each delivery.
    pub fn delay(&self) -> Duration {
        Duration::from_millis(self.delay_ms)
    }

    /// Refuses settings moderation must not start with: the kit's ([`ServiceArgs::check`]),
    /// and a delay that would leave no time to publish before the bus gives up on the
    /// delivery (it would then retry every comment for ever).
    pub fn check(&self) -> Result<(), SettingsError> {
        self.service.check()?;
        let max = max_delay();
        if self.delay() > max {
            return Err(SettingsError::DelayTooLong {
                delay_ms: self.delay_ms,
                max_ms: max.as_millis(),
            });
        }
        if let Some(secret) = &self.subscription_secret {
            Signer::from_secret(secret).map_err(SettingsError::Secret)?;
        }
        Ok(())
    }
}

/// A setting moderation refuses to start with.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// One of the flags every service takes.
    #[error(transparent)]
    Service(#[from] ConfigError),
    /// A `--delay-ms` that does not fit in a delivery's timeout.
    #[error(
        "--delay-ms (MINIBUS_DELAY_MS) {delay_ms} is too long: at most {max_ms}, the bus's \
         delivery timeout less the time to publish the verdict"
    )]
    DelayTooLong {
        /// What was asked.
        delay_ms: u64,
        /// The longest taken.
        max_ms: u128,
    },
    /// A `--subscription-secret` that is no Standard Webhooks secret.
    #[error("--subscription-secret (MINIBUS_SUBSCRIPTION_SECRET): {0}")]
    Secret(String),
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Args, Command, FromArgMatches};

    fn parsed(flags: &[&str]) -> ModerationArgs {
        let command = ModerationArgs::augment_args(Command::new("moderation"));
        let matches = command
            .try_get_matches_from(std::iter::once("moderation").chain(flags.iter().copied()))
            .expect("valid flags");
        ModerationArgs::from_arg_matches(&matches).expect("the struct")
    }

    #[test]
    fn the_flags_are_well_formed_and_default_to_design() {
        ModerationArgs::augment_args(Command::new("moderation")).debug_assert();
        let args = parsed(&[]);
        assert_eq!(args.service.listen.to_string(), "127.0.0.1:4003");
        assert_eq!(args.blocked_words, ["orange"]);
        assert_eq!(args.delay_ms, 0);
        args.check().expect("the defaults start");
    }

    #[test]
    fn blocked_words_are_comma_separated() {
        let args = parsed(&["--blocked-words", "orange,Lemon, lime"]);
        assert_eq!(args.blocked_words, ["orange", "Lemon", " lime"]);
    }

    #[test]
    fn a_delay_past_the_delivery_timeout_less_the_publish_is_refused() {
        assert_eq!(max_delay(), Duration::from_millis(4_000));
        parsed(&["--delay-ms", "4000"]).check().expect("fits");
        let error = parsed(&["--delay-ms", "4001"])
            .check()
            .expect_err("too long");
        assert!(
            matches!(error, SettingsError::DelayTooLong { .. }),
            "{error}"
        );
        assert!(error.to_string().starts_with("--delay-ms"), "{error}");
    }

    #[test]
    fn a_subscription_secret_must_be_a_standard_webhooks_one() {
        assert_eq!(parsed(&[]).subscription_secret, None);
        let secret = Signer::random_secret();
        parsed(&["--subscription-secret", &secret])
            .check()
            .expect("a whsec_ secret");
        for bad in ["secret", "whsec_short", "whsec_!!!"] {
            let error = parsed(&["--subscription-secret", bad])
                .check()
                .expect_err(bad);
            assert!(matches!(error, SettingsError::Secret(_)), "{bad}: {error}");
        }
    }
}
