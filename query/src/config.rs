//! `QueryArgs`: the flags of `minibus query`, each with its `MINIBUS_…` variable.

use bus::kit::{CorsArgs, ServiceArgs, ServiceDefaults};

/// query's defaults for the flags every service takes.
#[derive(Debug, Clone, Copy)]
pub struct Query;

impl ServiceDefaults for Query {
    const NAME: &'static str = "query";
    const LISTEN: &'static str = "127.0.0.1:4002";
    const DATA_DIR: &'static str = "./data/query";
    const SUBSCRIBES: bool = true;
}

/// The flags of `minibus query`.
#[derive(Debug, Clone, clap::Args)]
pub struct QueryArgs {
    /// The flags every service takes.
    #[command(flatten)]
    pub service: ServiceArgs<Query>,

    /// Keep the projection in sled under --data-dir with its checkpoint, and resume from
    /// the checkpoint at start, instead of rebuilding it in memory from the whole log.
    #[arg(long, env = "MINIBUS_PERSIST", value_parser = bus::kit::BoolFlag)]
    pub persist: bool,

    /// `--cors-origin`.
    #[command(flatten)]
    pub cors: CorsArgs,

    /// The name of query's subscription on the bus: one per replica (`query-0`, `query-1`…)
    /// when several run, each with its own data.
    #[arg(long, env = "MINIBUS_SUBSCRIPTION_NAME", default_value = crate::subscription::SUBSCRIPTION)]
    pub subscription_name: String,
}

impl QueryArgs {
    /// The defaults (in memory, any origin), listening on `listen` with data in `data_dir`:
    /// for tests and for `minibus up`.
    pub fn new(listen: std::net::SocketAddr, data_dir: std::path::PathBuf) -> Self {
        Self {
            service: ServiceArgs::new(listen, data_dir),
            persist: false,
            cors: CorsArgs::any(),
            subscription_name: crate::subscription::SUBSCRIPTION.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Args, Command, FromArgMatches};

    fn parse(flags: &[&str]) -> QueryArgs {
        let command = QueryArgs::augment_args(Command::new("query"));
        command.clone().debug_assert();
        let matches = command
            .try_get_matches_from(std::iter::once("query").chain(flags.iter().copied()))
            .expect("valid flags");
        QueryArgs::from_arg_matches(&matches).expect("the struct")
    }

    #[test]
    fn the_defaults_are_in_memory_any_origin_on_4002() {
        let args = parse(&[]);
        assert!(!args.persist);
        assert!(args.cors.origins.is_empty());
        assert_eq!(args.subscription_name, "query");
        assert_eq!(args.service.listen.port(), 4002);
        assert_eq!(
            args.service.data_dir,
            std::path::PathBuf::from("./data/query")
        );
    }

    #[test]
    fn flags_parse() {
        let args = parse(&[
            "--persist",
            "--cors-origin",
            "http://a.test,http://b.test",
            "--cors-origin",
            "http://c.test",
            "--subscription-name",
            "query-1",
        ]);
        assert!(args.persist);
        assert_eq!(
            args.cors.origins,
            ["http://a.test", "http://b.test", "http://c.test"]
        );
        assert_eq!(args.subscription_name, "query-1");
    }

    #[test]
    fn every_own_flag_reads_its_minibus_variable() {
        let command = QueryArgs::augment_args(Command::new("query"));
        for (long, var) in [
            ("persist", "MINIBUS_PERSIST"),
            ("cors-origin", "MINIBUS_CORS_ORIGIN"),
            ("subscription-name", "MINIBUS_SUBSCRIPTION_NAME"),
        ] {
            let arg = command.get_arguments().find(|a| a.get_long() == Some(long));
            let env = arg.and_then(|a| a.get_env()).and_then(|v| v.to_str());
            assert_eq!(env, Some(var), "--{long}");
        }
    }
}
