//! `minibus posts`' flags: the kit's [`WebServiceArgs`] (the flags every service takes and
//! `--cors-origin`, each with its `MINIBUS_…` variable), with posts' defaults.

use bus::kit::{ServiceDefaults, WebServiceArgs};

/// The posts service's defaults for the kit's common flags.
#[derive(Debug, Clone, Copy)]
pub struct Posts;

impl ServiceDefaults for Posts {
    const NAME: &'static str = "posts";
    const LISTEN: &'static str = "127.0.0.1:4000";
    const DATA_DIR: &'static str = "./data/posts";
}

/// The flags of `minibus posts`.
pub type PostsArgs = WebServiceArgs<Posts>;

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Args, Command, FromArgMatches};

    #[test]
    fn the_flags_are_well_formed_and_default_to_design() {
        let command = PostsArgs::augment_args(Command::new("posts"));
        command.clone().debug_assert();
        let matches = command.try_get_matches_from(["posts"]).expect("no flags");
        let args = PostsArgs::from_arg_matches(&matches).expect("the struct");
        assert_eq!(args.service.listen.to_string(), "127.0.0.1:4000");
        assert_eq!(args.service.data_dir.to_str(), Some("./data/posts"));
        assert!(args.cors.origins.is_empty(), "any origin");
    }
}
