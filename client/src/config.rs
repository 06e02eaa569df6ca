//! `minibus client`'s flags, each with its `MINIBUS_…` variable: where the gateway listens,
//! where each upstream is, the bus token it adds, and whether it forwards the subscription
//! actions.

use std::net::SocketAddr;

/// Where `minibus client` listens unless told.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:3000";
/// Where posts is unless told (the course's port).
const DEFAULT_POSTS_URL: &str = "http://127.0.0.1:4000";
/// Where comments is unless told.
const DEFAULT_COMMENTS_URL: &str = "http://127.0.0.1:4001";
/// Where query is unless told.
const DEFAULT_QUERY_URL: &str = "http://127.0.0.1:4002";

/// The flags of `minibus client`.
#[derive(Debug, Clone, clap::Args)]
pub struct ClientArgs {
    /// The address to serve the page and the gateway on.
    #[arg(long, env = "MINIBUS_LISTEN", default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,

    /// The posts service (`POST /posts`, `POST /posts/create` go there).
    #[arg(
        long,
        env = "MINIBUS_POSTS_URL",
        default_value = DEFAULT_POSTS_URL
    )]
    pub posts_url: String,

    /// The comments service (`/posts/{id}/comments` goes there).
    #[arg(
        long,
        env = "MINIBUS_COMMENTS_URL",
        default_value = DEFAULT_COMMENTS_URL
    )]
    pub comments_url: String,

    /// The query service (`GET /posts`, `GET /posts/{id}` go there).
    #[arg(
        long,
        env = "MINIBUS_QUERY_URL",
        default_value = DEFAULT_QUERY_URL
    )]
    pub query_url: String,

    /// The bus (`/bus/…` goes there, without the `/bus` prefix).
    #[arg(long, env = "MINIBUS_BUS_URL", default_value = bus::kit::DEFAULT_BUS_URL)]
    pub bus_url: String,

    /// The bus's bearer token, added by the gateway to its calls to the bus (the browser
    /// never holds it).
    #[arg(long, env = "MINIBUS_TOKEN", hide_env_values = true)]
    pub bus_token: Option<String>,

    /// Forward the subscription actions (`POST /bus/subscriptions/{name}/pause|resume|rewind`);
    /// without it they are refused with `403 admin_actions_disabled`.
    #[arg(long, env = "MINIBUS_ADMIN_ACTIONS", value_parser = bus::kit::BoolFlag)]
    pub admin_actions: bool,
}

impl ClientArgs {
    /// The defaults, listening on `listen` (tests, `minibus up`).
    pub fn new(listen: SocketAddr) -> Self {
        Self {
            listen,
            posts_url: DEFAULT_POSTS_URL.into(),
            comments_url: DEFAULT_COMMENTS_URL.into(),
            query_url: DEFAULT_QUERY_URL.into(),
            bus_url: bus::kit::DEFAULT_BUS_URL.into(),
            bus_token: None,
            admin_actions: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Args, Command, FromArgMatches};

    fn command() -> Command {
        ClientArgs::augment_args(Command::new("client"))
    }

    #[test]
    fn every_flag_is_well_formed_and_reads_its_variable() {
        let command = command();
        command.clone().debug_assert();
        for (flag, variable) in [
            ("listen", "MINIBUS_LISTEN"),
            ("posts_url", "MINIBUS_POSTS_URL"),
            ("comments_url", "MINIBUS_COMMENTS_URL"),
            ("query_url", "MINIBUS_QUERY_URL"),
            ("bus_url", "MINIBUS_BUS_URL"),
            ("bus_token", "MINIBUS_TOKEN"),
            ("admin_actions", "MINIBUS_ADMIN_ACTIONS"),
        ] {
            let arg = command.get_arguments().find(|a| a.get_id() == flag);
            let env = arg.and_then(|a| a.get_env()).and_then(|v| v.to_str());
            assert_eq!(env, Some(variable), "--{flag}");
        }
    }

    #[test]
    fn the_defaults_are_the_courses_ports_and_no_admin_actions() {
        let matches = command()
            .try_get_matches_from(["client"])
            .expect("valid flags");
        let args = ClientArgs::from_arg_matches(&matches).expect("the struct");
        let new = ClientArgs::new(DEFAULT_LISTEN.parse().expect("an address"));
        assert_eq!(format!("{args:?}"), format!("{new:?}"));
        assert!(!args.admin_actions);
        assert_eq!(args.query_url, "http://127.0.0.1:4002");
    }
}
