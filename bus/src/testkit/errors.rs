//! How an error reads when the binary prints it (`minibus: {error:#}`: each cause after
//! `: `), so that a test holds an error type to saying each cause once: an error whose own
//! message repeats its source's is printed with that text twice.

use std::error::Error;

/// `error` and its causes as the binary prints them: each one's text after `: `.
pub fn printed_chain(error: &(dyn Error + 'static)) -> String {
    let mut line = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        line.push_str(": ");
        line.push_str(&cause.to_string());
        source = cause.source();
    }
    line
}

/// Asserts that no error in `error`'s chain repeats its cause's text in its own message,
/// and returns the chain as printed ([`printed_chain`]).
pub fn assert_each_cause_said_once(error: &(dyn Error + 'static)) -> String {
    let printed = printed_chain(error);
    let mut link: Option<&(dyn Error + 'static)> = Some(error);
    while let Some(this) = link {
        if let Some(cause) = this.source() {
            let (own, said) = (this.to_string(), cause.to_string());
            assert!(
                said.is_empty() || !own.contains(&said),
                "{own:?} repeats its cause {said:?}: printed {printed:?}"
            );
        }
        link = this.source();
    }
    printed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot store the post")]
    struct Once(#[source] std::io::Error);

    #[derive(Debug, thiserror::Error)]
    #[error("cannot store the post: {0}")]
    struct Twice(#[source] std::io::Error);

    #[test]
    fn a_cause_is_printed_after_its_error() {
        let error = Once(std::io::Error::other("no space left"));
        let printed = assert_each_cause_said_once(&error);
        assert_eq!(printed, "cannot store the post: no space left");
    }

    #[test]
    #[should_panic(expected = "repeats its cause")]
    fn a_message_that_repeats_its_cause_fails() {
        assert_each_cause_said_once(&Twice(std::io::Error::other("no space left")));
    }
}
