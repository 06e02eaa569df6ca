//! How a boolean flag reads its `MINIBUS_…` variable: as people write booleans in shells,
//! compose files and Kubernetes manifests, not only clap's own `true`/`false`.

use clap::builder::{BoolishValueParser, PossibleValue, TypedValueParser};
use std::ffi::OsStr;

/// The value parser of every boolean flag (`#[arg(long, env = "MINIBUS_…", value_parser =
/// BoolFlag)]` on a `bool` field): the flag alone means true; its variable takes `1`, `yes`,
/// `on`, `true` (also `y`, `t`) for true and `0`, `no`, `off`, `false` (also `n`, `f`) for
/// false, in any case, and an empty value (`MINIBUS_JSON=`) as false, as if unset. Anything
/// else is refused, naming the flag.
///
/// Clap reads a `SetTrue` flag's variable through the flag's value parser; its default
/// parser for `bool` takes only `true` and `false`, and refuses an empty value.
#[derive(Debug, Clone, Copy, Default)]
pub struct BoolFlag;

impl TypedValueParser for BoolFlag {
    type Value = bool;

    fn parse_ref(
        &self,
        command: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<bool, clap::Error> {
        if value.is_empty() {
            return Ok(false);
        }
        BoolishValueParser::new().parse_ref(command, arg, value)
    }

    /// `true` and `false` shown; the others taken but hidden, as clap's own does.
    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        let shown = ["true", "false"].map(PossibleValue::new);
        let hidden = ["1", "0", "yes", "no", "on", "off"].map(|v| PossibleValue::new(v).hide(true));
        Some(Box::new(shown.into_iter().chain(hidden)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{ArgAction, Command, FromArgMatches};

    #[derive(Debug, clap::Parser)]
    struct Flags {
        /// A flag.
        #[arg(long, env = "MINIBUS_TEST_FLAG", value_parser = BoolFlag)]
        flag: bool,
    }

    /// The flag's variable set to `value`: the flag's value parser, as clap calls it for
    /// the variable (a flag takes no value on the command line, so the probe does).
    fn from_variable(value: &str) -> Result<bool, clap::Error> {
        let command = <Flags as clap::CommandFactory>::command()
            .mut_arg("flag", |arg| arg.action(ArgAction::Set).num_args(1));
        let matches = command.try_get_matches_from(["t", "--flag", value])?;
        Ok(Flags::from_arg_matches(&matches)?.flag)
    }

    #[test]
    fn people_s_booleans_are_taken_in_any_case() {
        for value in ["1", "yes", "on", "true", "YES", "On", "TRUE", "y", "t"] {
            assert_eq!(from_variable(value).ok(), Some(true), "{value:?}");
        }
        for value in [
            "0", "no", "off", "false", "NO", "Off", "False", "n", "f", "",
        ] {
            assert_eq!(from_variable(value).ok(), Some(false), "{value:?}");
        }
    }

    #[test]
    fn anything_else_is_refused_naming_the_flag() {
        for value in ["2", "maybe", "truee", " 1"] {
            let error = from_variable(value).expect_err(value);
            assert_eq!(error.kind(), clap::error::ErrorKind::ValueValidation);
            assert!(error.to_string().contains("--flag"), "{error}");
        }
    }

    #[test]
    fn the_flag_alone_is_true_and_absent_false() {
        let parse = |args: &[&str]| {
            let matches = Command::new("t");
            let matches = <Flags as clap::Args>::augment_args(matches)
                .try_get_matches_from(args)
                .expect("valid");
            Flags::from_arg_matches(&matches).expect("the struct").flag
        };
        assert!(parse(&["t", "--flag"]));
        assert!(!parse(&["t"]));
    }
}
