//! `minibus posts`' flags: the kit's [`ServiceArgs`] and `--cors-origin`, each with its
//! `MINIBUS_…` variable.

use bus::kit::{ServiceArgs, ServiceDefaults};
use std::net::SocketAddr;
use std::path::PathBuf;

/// The posts service's defaults for the kit's common flags.
#[derive(Debug, Clone, Copy)]
pub struct Posts;

impl ServiceDefaults for Posts {
    const NAME: &'static str = "posts";
    const LISTEN: &'static str = "127.0.0.1:4000";
    const DATA_DIR: &'static str = "./data/posts";
}

/// The flags of `minibus posts`.
#[derive(Debug, Clone, clap::Args)]
pub struct PostsArgs {
    /// The flags every service takes.
    #[command(flatten)]
    pub service: ServiceArgs<Posts>,

    /// Origins allowed to call posts from a browser (comma-separated, e.g.
    /// `http://posts.com`); any origin when not given.
    #[arg(long, env = "MINIBUS_CORS_ORIGIN", value_delimiter = ',')]
    pub cors_origin: Vec<String>,
}

impl PostsArgs {
    /// The defaults, listening on `listen` with data in `data_dir` (tests, `minibus up`).
    pub fn new(listen: SocketAddr, data_dir: PathBuf) -> Self {
        Self {
            service: ServiceArgs::new(listen, data_dir),
            cors_origin: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Args, Command, FromArgMatches};

    fn command() -> Command {
        PostsArgs::augment_args(Command::new("posts"))
    }

    #[test]
    fn the_flags_are_well_formed_and_read_their_variables() {
        let command = command();
        command.clone().debug_assert();
        let cors = command
            .get_arguments()
            .find(|a| a.get_id() == "cors_origin");
        let env = cors.and_then(|a| a.get_env()).and_then(|v| v.to_str());
        assert_eq!(env, Some("MINIBUS_CORS_ORIGIN"));
    }

    #[test]
    fn cors_origins_are_comma_separated_and_the_defaults_are_posts() {
        let matches = command()
            .try_get_matches_from(["posts", "--cors-origin", "http://a.test,http://b.test"])
            .expect("valid flags");
        let args = PostsArgs::from_arg_matches(&matches).expect("the struct");
        assert_eq!(args.cors_origin, ["http://a.test", "http://b.test"]);
        assert_eq!(
            args.service.listen,
            Posts::LISTEN.parse().expect("an address")
        );
        assert_eq!(args.service.data_dir, PathBuf::from(Posts::DATA_DIR));
    }
}
