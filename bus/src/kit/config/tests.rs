//! The common flags: names, variables, defaults, and what a service refuses at start.

use super::*;
use clap::{Args, Command, FromArgMatches};

#[derive(Debug, Clone, Copy)]
struct Posts;
impl ServiceDefaults for Posts {
    const NAME: &'static str = "posts";
    const LISTEN: &'static str = "127.0.0.1:4000";
    const DATA_DIR: &'static str = "./data/posts";
}

fn command() -> Command {
    ServiceArgs::<Posts>::augment_args(Command::new("posts"))
}

fn addr(text: &str) -> SocketAddr {
    text.parse().expect("an address")
}

#[test]
fn the_flags_are_well_formed() {
    command().debug_assert();
}

#[test]
fn every_flag_reads_its_minibus_variable() {
    let command = command();
    let env_of = |long: &str| {
        let arg = command.get_arguments().find(|a| a.get_long() == Some(long));
        let arg = arg.unwrap_or_else(|| panic!("no --{long}"));
        arg.get_env().and_then(|v| v.to_str()).map(String::from)
    };
    for (long, var) in [
        ("listen", "MINIBUS_LISTEN"),
        ("data-dir", "MINIBUS_DATA_DIR"),
        ("bus-url", "MINIBUS_BUS_URL"),
        ("bus-token", "MINIBUS_TOKEN"),
        ("advertise-url", "MINIBUS_ADVERTISE_URL"),
        ("cache-mb", "MINIBUS_CACHE_MB"),
    ] {
        assert_eq!(env_of(long).as_deref(), Some(var), "--{long}");
    }
    let token = command.get_arguments().find(|a| a.get_id() == "bus_token");
    assert!(
        token.is_some_and(clap::Arg::is_hide_env_values_set),
        "the token stays out of --help"
    );
}

#[test]
fn the_defaults_are_the_services() {
    let command = command();
    let default_of = |id: &str| {
        let arg = command.get_arguments().find(|a| a.get_id() == id);
        let values = arg.map(clap::Arg::get_default_values).unwrap_or_default();
        values
            .iter()
            .map(|v| v.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(default_of("listen"), ["127.0.0.1:4000"]);
    assert_eq!(default_of("data_dir"), ["./data/posts"]);
    assert_eq!(default_of("bus_url"), [DEFAULT_BUS_URL]);
    assert_eq!(default_of("cache_mb"), [DEFAULT_CACHE_MB.to_string()]);
}

#[test]
fn flags_parse_into_the_struct() {
    let matches = command()
        .try_get_matches_from([
            "posts",
            "--listen",
            "0.0.0.0:4100",
            "--data-dir",
            "/tmp/p",
            "--bus-url",
            "http://bus:4005",
            "--bus-token",
            "t",
            "--advertise-url",
            "http://posts:4100/",
            "--cache-mb",
            "8",
        ])
        .expect("valid flags");
    let args = ServiceArgs::<Posts>::from_arg_matches(&matches).expect("the struct");
    assert_eq!(args.listen, addr("0.0.0.0:4100"));
    assert_eq!(args.data_dir, PathBuf::from("/tmp/p"));
    assert_eq!(args.bus_url, "http://bus:4005");
    assert_eq!(args.bus_token.as_deref(), Some("t"));
    assert_eq!(args.cache_mb, 8);
    assert_eq!(
        args.advertise_url(args.listen).expect("given"),
        "http://posts:4100"
    );
}

#[test]
fn a_cache_of_0_mb_is_refused_at_parsing() {
    let parsed = |mb: &str| command().try_get_matches_from(["posts", "--cache-mb", mb]);
    for refused in ["0", "1048577"] {
        let error = parsed(refused).expect_err(refused);
        assert_eq!(error.kind(), clap::error::ErrorKind::ValueValidation);
        assert!(error.to_string().contains("--cache-mb"), "{error}");
    }
    for taken in ["1", "1048576"] {
        parsed(taken).expect(taken);
    }
}

#[test]
fn the_advertise_url_defaults_to_the_address_bound() {
    let bound = addr("127.0.0.1:41234");
    assert_eq!(
        advertise_url(None, bound).expect("loopback"),
        "http://127.0.0.1:41234"
    );
    let v6 = addr("[::1]:4000");
    assert_eq!(
        advertise_url(None, v6).expect("loopback"),
        "http://[::1]:4000"
    );
}

#[test]
fn every_interface_needs_an_advertise_url() {
    for bound in ["0.0.0.0:4000", "[::]:4000"] {
        let error = advertise_url(None, addr(bound)).expect_err(bound);
        assert!(
            matches!(error, ConfigError::AdvertiseUrlRequired(_)),
            "{error}"
        );
        assert!(error.to_string().contains("--advertise-url"), "{error}");
        let given = advertise_url(Some("https://posts.example"), addr(bound));
        assert_eq!(given.expect("given"), "https://posts.example");
    }
}

#[test]
fn an_advertise_url_without_http_is_refused() {
    let error = advertise_url(Some("posts:4000"), addr("0.0.0.0:4000")).expect_err("no scheme");
    assert!(
        matches!(error, ConfigError::AdvertiseUrlScheme(_)),
        "{error}"
    );
}

/// `ServiceArgs` of posts from these command-line flags, checked as at start.
fn started_with(flags: &[&str]) -> Result<ServiceArgs<Posts>, ConfigError> {
    let matches = command()
        .try_get_matches_from(std::iter::once("posts").chain(flags.iter().copied()))
        .expect("valid flags");
    let args = ServiceArgs::<Posts>::from_arg_matches(&matches).expect("the struct");
    args.check().map(|()| args)
}

#[test]
fn a_service_refuses_to_start_with_a_weak_bus_token() {
    for (token, why) in crate::kit::token::tests::REFUSED {
        let error = started_with(&["--bus-token", token]).expect_err(token);
        assert!(
            matches!(error, ConfigError::BusToken(e) if e == why),
            "{token:?}: {error:?}"
        );
        let message = error.to_string();
        assert!(
            message.starts_with("--bus-token (MINIBUS_TOKEN) must"),
            "{message}"
        );
        #[cfg(feature = "testkit")]
        crate::testkit::assert_each_cause_said_once(&error);
    }
    for token in crate::kit::token::tests::TAKEN {
        let args = started_with(&["--bus-token", token]).expect(token);
        assert_eq!(args.bus_token.as_deref(), Some(token));
    }
    started_with(&[]).expect("no token: the bus has none either");
}

#[cfg(feature = "sdk")]
#[test]
fn a_service_refuses_to_start_with_a_bus_url_it_cannot_call() {
    for url in ["notaurl", "https://127.0.0.1:4005"] {
        let error = started_with(&["--bus-url", url]).expect_err(url);
        assert!(
            matches!(
                error,
                ConfigError::NotHttpUrl {
                    flag: "bus-url",
                    ..
                }
            ),
            "{error:?}"
        );
    }
    let args = started_with(&["--bus-url", "http://bus:4005/"]).expect("http");
    assert_eq!(args.bus_url, "http://bus:4005/");
}

#[derive(Debug, Clone, Copy)]
struct Subscribing;
impl ServiceDefaults for Subscribing {
    const NAME: &'static str = "comments";
    const LISTEN: &'static str = "127.0.0.1:4001";
    const DATA_DIR: &'static str = "./data/comments";
    const SUBSCRIBES: bool = true;
}

#[test]
fn a_service_the_bus_delivers_to_refuses_every_interface_without_an_advertise_url() {
    let started = |flags: &[&str]| {
        let command = ServiceArgs::<Subscribing>::augment_args(Command::new("comments"));
        let matches = command
            .try_get_matches_from(std::iter::once("comments").chain(flags.iter().copied()))
            .expect("valid flags");
        let args = ServiceArgs::<Subscribing>::from_arg_matches(&matches).expect("the struct");
        args.check()
    };
    for listen in ["0.0.0.0:19123", "[::]:0"] {
        let refused = started(&["--listen", listen]).expect_err(listen);
        assert!(
            matches!(refused, ConfigError::AdvertiseUrlRequired(_)),
            "{refused:?}"
        );
        let given = [
            "--listen",
            listen,
            "--advertise-url",
            "http://comments:4001",
        ];
        started(&given).expect("an advertise URL given");
        let scheme = started(&["--listen", listen, "--advertise-url", "comments:4001"]);
        assert!(matches!(scheme, Err(ConfigError::AdvertiseUrlScheme(_))));
    }
    started(&["--listen", "127.0.0.1:0"]).expect("loopback: the address bound");
    started_with(&["--listen", "0.0.0.0:4000"]).expect("posts: the bus never calls it");
}

#[test]
fn a_web_service_takes_the_common_flags_and_cors_origin() {
    let command = WebServiceArgs::<Posts>::augment_args(Command::new("posts"));
    command.clone().debug_assert();
    let matches = command
        .try_get_matches_from(["posts", "--cors-origin", "http://a.test,http://b.test"])
        .expect("valid flags");
    let args = WebServiceArgs::<Posts>::from_arg_matches(&matches).expect("the struct");
    assert_eq!(args.cors.origins, ["http://a.test", "http://b.test"]);
    assert_eq!(args.service.listen, addr(Posts::LISTEN));
    assert_eq!(args.service.data_dir, PathBuf::from(Posts::DATA_DIR));
    let mut bad = WebServiceArgs::<Posts>::new(addr("127.0.0.1:0"), "d".into());
    bad.check().expect("the defaults");
    bad.cors.origins = vec!["http://a.test\n".into()];
    assert!(matches!(bad.check(), Err(ConfigError::CorsOrigin(_))));
}

#[test]
fn new_takes_the_defaults_clap_takes() {
    let args = ServiceArgs::<Posts>::new(addr("127.0.0.1:0"), PathBuf::from("d"));
    assert_eq!(args.bus_url, DEFAULT_BUS_URL);
    assert_eq!(args.cache_mb, DEFAULT_CACHE_MB);
    assert_eq!(args.bus_token, None);
    assert_eq!(Posts::NAME, "posts");
}
