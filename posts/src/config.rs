//! `minibus posts`' flags: the kit's [`ServiceArgs`] and [`CorsArgs`], each with its
//! `MINIBUS_…` variable.

use bus::kit::{ConfigError, CorsArgs, ServiceArgs, ServiceDefaults};
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

    /// `--cors-origin`.
    #[command(flatten)]
    pub cors: CorsArgs,
}

impl PostsArgs {
    /// The defaults, listening on `listen` with data in `data_dir` (tests, `minibus up`).
    pub fn new(listen: SocketAddr, data_dir: PathBuf) -> Self {
        Self {
            service: ServiceArgs::new(listen, data_dir),
            cors: CorsArgs::any(),
        }
    }

    /// Refuses settings posts must not start with (`--bus-token`, `--cors-origin`).
    pub fn check(&self) -> Result<(), ConfigError> {
        self.service.check()?;
        self.cors.check()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Args, Command, FromArgMatches};

    #[test]
    fn the_flags_are_well_formed_and_the_defaults_are_posts() {
        let command = PostsArgs::augment_args(Command::new("posts"));
        command.clone().debug_assert();
        let matches = command
            .try_get_matches_from(["posts", "--cors-origin", "http://a.test,http://b.test"])
            .expect("valid flags");
        let args = PostsArgs::from_arg_matches(&matches).expect("the struct");
        assert_eq!(args.cors.origins, ["http://a.test", "http://b.test"]);
        assert_eq!(
            args.service.listen,
            Posts::LISTEN.parse().expect("an address")
        );
        assert_eq!(args.service.data_dir, PathBuf::from(Posts::DATA_DIR));
    }
}
