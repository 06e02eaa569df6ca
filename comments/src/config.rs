//! `minibus comments`' flags: the kit's [`WebServiceArgs`] (the flags every service takes and
//! `--cors-origin`, each with its `MINIBUS_…` variable), with comments' defaults.

use bus::kit::{ServiceDefaults, WebServiceArgs};

/// The comments service's defaults for the kit's common flags.
#[derive(Debug, Clone, Copy)]
pub struct Comments;

impl ServiceDefaults for Comments {
    const NAME: &'static str = "comments";
    const LISTEN: &'static str = "127.0.0.1:4001";
    const DATA_DIR: &'static str = "./data/comments";
    const SUBSCRIBES: bool = true;
}

/// The flags of `minibus comments`.
pub type CommentsArgs = WebServiceArgs<Comments>;

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Args, Command, FromArgMatches};

    #[test]
    fn the_flags_are_well_formed_and_default_to_design() {
        let command = CommentsArgs::augment_args(Command::new("comments"));
        command.clone().debug_assert();
        let matches = command
            .try_get_matches_from(["comments"])
            .expect("no flags");
        let args = CommentsArgs::from_arg_matches(&matches).expect("the struct");
        assert_eq!(args.service.listen.to_string(), "127.0.0.1:4001");
        assert_eq!(args.service.data_dir.to_str(), Some("./data/comments"));
        assert!(args.cors.origins.is_empty(), "any origin");
    }
}
