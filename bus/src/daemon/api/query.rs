//! Query strings of the read routes, parsed by hand so that every mistake is a JSON `400`
//! (repeated `type=` is allowed; unknown parameters are refused, not ignored).

use super::ApiError;
use crate::daemon::store::Filter;
use crate::envelope::{is_valid_event_type, is_valid_stream_name, EVENT_TYPE_RULE, NAME_RULE};
use crate::kit::quote;

/// Default page size of `GET /events?…`.
pub(crate) const DEFAULT_LIMIT: usize = 1_000;
/// Largest page size.
const MAX_LIMIT: usize = 10_000;

/// The parameters of a read.
#[derive(Debug, Default)]
pub(crate) struct ReadQuery {
    /// `after`: events after this seq.
    pub(crate) after: Option<u64>,
    /// `limit`: the page size.
    pub(crate) limit: Option<usize>,
    /// `type` (repeatable) and `stream`: which events to keep.
    pub(crate) filter: Filter,
}

/// Parses `raw`, allowing only the parameters in `allowed`.
pub(crate) fn parse(raw: Option<&str>, allowed: &[&str]) -> Result<ReadQuery, ApiError> {
    let mut query = ReadQuery::default();
    for (key, value) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        if !allowed.contains(&key.as_ref()) {
            let takes = if allowed.is_empty() {
                "no parameters".to_string()
            } else {
                allowed.join(", ")
            };
            return Err(invalid(format!(
                "unknown parameter `{}`; this route takes {takes}",
                quote(&key)
            )));
        }
        match key.as_ref() {
            "after" => query.after = Some(parse_seq("after", &value)?),
            "limit" => query.limit = Some(parse_limit(&value)?),
            "type" if !is_valid_event_type(&value) => {
                return Err(invalid(format!("`type` must be {EVENT_TYPE_RULE}")))
            }
            "type" => query.filter.types.push(value.into_owned()),
            "stream" if !is_valid_stream_name(&value) => {
                return Err(invalid(format!("`stream` must match {NAME_RULE}")))
            }
            "stream" => query.filter.stream = Some(value.into_owned()),
            _ => {}
        }
    }
    Ok(query)
}

/// A seq: a whole number from 0 to 2^64 − 1.
pub(crate) fn parse_seq(name: &str, value: &str) -> Result<u64, ApiError> {
    value.parse::<u64>().map_err(|_| {
        invalid(format!(
            "`{name}` must be a whole number from 0 to 18446744073709551615, not {:?}",
            quote(value)
        ))
    })
}

fn parse_limit(value: &str) -> Result<usize, ApiError> {
    match value.parse::<usize>() {
        Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        _ => Err(invalid(format!(
            "`limit` must be a whole number from 1 to {MAX_LIMIT}, not {:?}",
            quote(value)
        ))),
    }
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("invalid_query", message)
}
