//! Query strings of the read routes, parsed by hand so that every mistake is a JSON `400`
//! (repeated `type=` is allowed; unknown parameters are refused, not ignored).

use super::ApiError;
use crate::daemon::store::Filter;
use crate::envelope::is_valid_stream_name;

/// Default page size of `GET /events?…`.
pub const DEFAULT_LIMIT: usize = 1_000;
/// Largest page size.
pub const MAX_LIMIT: usize = 10_000;

/// The parameters of a read.
#[derive(Debug, Default)]
pub struct ReadQuery {
    /// Events after this seq.
    pub after: Option<u64>,
    /// Page size.
    pub limit: Option<usize>,
    /// Types and stream to keep.
    pub filter: Filter,
}

/// Parses `raw`, allowing only the parameters in `allowed`.
pub fn parse(raw: Option<&str>, allowed: &[&str]) -> Result<ReadQuery, ApiError> {
    let mut query = ReadQuery::default();
    for (key, value) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        if !allowed.contains(&key.as_ref()) {
            let takes = if allowed.is_empty() {
                "no parameters".to_string()
            } else {
                allowed.join(", ")
            };
            return Err(invalid(format!(
                "unknown parameter `{key}`; this route takes {takes}"
            )));
        }
        match key.as_ref() {
            "after" => query.after = Some(parse_seq("after", &value)?),
            "limit" => query.limit = Some(parse_limit(&value)?),
            "type" if value.is_empty() => return Err(invalid("`type` must not be empty")),
            "type" => query.filter.types.push(value.into_owned()),
            "stream" if !is_valid_stream_name(&value) => {
                return Err(invalid("`stream` must match [A-Za-z0-9._:-]{1,200}"))
            }
            "stream" => query.filter.stream = Some(value.into_owned()),
            _ => {}
        }
    }
    Ok(query)
}

/// A seq: a whole number from 0 to 2^64 − 1.
pub fn parse_seq(name: &str, value: &str) -> Result<u64, ApiError> {
    value.parse::<u64>().map_err(|_| {
        invalid(format!(
            "`{name}` must be a whole number from 0 to 18446744073709551615, not {value:?}"
        ))
    })
}

fn parse_limit(value: &str) -> Result<usize, ApiError> {
    match value.parse::<usize>() {
        Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        _ => Err(invalid(format!(
            "`limit` must be a whole number from 1 to {MAX_LIMIT}, not {value:?}"
        ))),
    }
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("invalid_query", message)
}
