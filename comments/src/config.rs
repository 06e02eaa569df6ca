//! `minibus comments`' flags: the kit's [`ServiceArgs`] and [`CorsArgs`], each with its
//! `MINIBUS_…` variable.

use bus::kit::{ConfigError, CorsArgs, ServiceArgs, ServiceDefaults};
use std::net::SocketAddr;
use std::path::PathBuf;

/// The comments service's defaults for the kit's common flags.
#[derive(Debug, Clone, Copy)]
pub struct Comments;

impl ServiceDefaults for Comments {
    const NAME: &'static str = "comments";
    const LISTEN: &'static str = "127.0.0.1:4001";
    const DATA_DIR: &'static str = "./data/comments";
}

/// The flags of `minibus comments`.
#[derive(Debug, Clone, clap::Args)]
pub struct CommentsArgs {
    /// The flags every service takes.
    #[command(flatten)]
    pub service: ServiceArgs<Comments>,

    /// `--cors-origin`.
    #[command(flatten)]
    pub cors: CorsArgs,
}

impl CommentsArgs {
    /// The defaults, listening on `listen` with data in `data_dir` (tests, `minibus up`).
    pub fn new(listen: SocketAddr, data_dir: PathBuf) -> Self {
        Self {
            service: ServiceArgs::new(listen, data_dir),
            cors: CorsArgs::any(),
        }
    }

    /// Refuses settings comments must not start with (`--bus-token`, `--cors-origin`),
    /// before it binds.
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
    fn the_flags_are_well_formed_and_default_to_design() {
        let command = CommentsArgs::augment_args(Command::new("comments"));
        command.clone().debug_assert();
        let matches = command
            .try_get_matches_from(["comments", "--cors-origin", "http://a.test,http://b.test"])
            .expect("valid flags");
        let args = CommentsArgs::from_arg_matches(&matches).expect("the struct");
        assert_eq!(args.service.listen.to_string(), "127.0.0.1:4001");
        assert_eq!(args.service.data_dir, PathBuf::from("./data/comments"));
        assert_eq!(args.cors.origins, ["http://a.test", "http://b.test"]);
    }
}
