//! The rules of `data`'s JSON text beyond being JSON, checked in one pass over its bytes
//! (no second parse): it nests at most [`MAX_DATA_DEPTH`] deep, and it holds nothing that
//! many consumers' parsers cannot read although it is valid JSON. serde_json's `RawValue`,
//! which keeps `data` as the publisher wrote it, takes both of these:
//!
//! - a number beyond a double's range (`1e999`, 400 digits): JavaScript reads `Infinity`,
//!   serde_json refuses it ("number out of range");
//! - a lone UTF-16 surrogate escape (`"\ud800"`): not a character, refused by serde_json
//!   and by strict UTF-8 encoders, which need the pair.

use super::rules::MAX_DATA_DEPTH;

/// Why `data` is refused, as `InvalidEvent`'s reason.
pub(super) const TOO_DEEP: &str = "must not nest deeper than 64 levels";
/// See [`TOO_DEEP`].
pub(super) const NUMBER_OUT_OF_RANGE: &str =
    "must not hold a number beyond a double's range (e.g. 1e999): many consumers' JSON \
     parsers cannot read it";
/// See [`TOO_DEEP`].
pub(super) const LONE_SURROGATE: &str =
    "must not hold a lone UTF-16 surrogate escape (e.g. \"\\ud800\"): many consumers' JSON \
     parsers refuse it";

/// Longest number text that always fits a double without a look: 15 digits and a sign.
const SHORT_NUMBER: usize = 16;

/// Checks `json`, a valid JSON text; the error is one of the reasons above. (An import
/// applies it to each event's `data` too, as the publish path does.)
pub(crate) fn check(json: &str) -> Result<(), &'static str> {
    let bytes = json.as_bytes();
    let (mut at, mut depth) = (0, 0usize);
    while let Some(&b) = bytes.get(at) {
        at = match b {
            b'"' => after_string(bytes, at + 1)?,
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_DATA_DEPTH {
                    return Err(TOO_DEEP);
                }
                at + 1
            }
            b']' | b'}' => {
                depth = depth.saturating_sub(1);
                at + 1
            }
            b'-' | b'0'..=b'9' => after_number(json, at)?,
            _ => at + 1,
        };
    }
    Ok(())
}

/// The index after the string whose text starts at `at` (after its opening quote).
fn after_string(bytes: &[u8], mut at: usize) -> Result<usize, &'static str> {
    while let Some(&b) = bytes.get(at) {
        match b {
            b'"' => return Ok(at + 1),
            b'\\' if bytes.get(at + 1) == Some(&b'u') => at = after_unicode_escape(bytes, at)?,
            b'\\' => at += 2,
            _ => at += 1,
        }
    }
    Ok(at)
}

/// The index after the `\uXXXX` escape at `at` (and after its low half, for a high
/// surrogate); a surrogate without its other half is refused.
fn after_unicode_escape(bytes: &[u8], at: usize) -> Result<usize, &'static str> {
    match code_unit(bytes, at) {
        Some(0xD800..=0xDBFF) => match code_unit(bytes, at + 6) {
            Some(0xDC00..=0xDFFF) => Ok(at + 12),
            _ => Err(LONE_SURROGATE),
        },
        Some(0xDC00..=0xDFFF) => Err(LONE_SURROGATE),
        _ => Ok(at + 6),
    }
}

/// The UTF-16 code unit of the `\uXXXX` escape at `at`, if there is one.
fn code_unit(bytes: &[u8], at: usize) -> Option<u16> {
    let escape = bytes.get(at..at + 6)?;
    if escape[..2] != *b"\\u" {
        return None;
    }
    let hex = std::str::from_utf8(&escape[2..]).ok()?;
    u16::from_str_radix(hex, 16).ok()
}

/// The index after the number starting at `at`; one beyond a double's range is refused.
/// Only a long number or one with an exponent is converted, so that the usual ones cost
/// a scan of their bytes.
fn after_number(json: &str, at: usize) -> Result<usize, &'static str> {
    let bytes = json.as_bytes();
    let mut end = at;
    let mut exponent = false;
    while let Some(&b) = bytes.get(end) {
        match b {
            b'0'..=b'9' | b'-' | b'+' | b'.' => end += 1,
            b'e' | b'E' => {
                exponent = true;
                end += 1;
            }
            _ => break,
        }
    }
    let number = &json[at..end];
    if (exponent || number.len() > SHORT_NUMBER) && !number.parse::<f64>().is_ok_and(f64::is_finite)
    {
        return Err(NUMBER_OUT_OF_RANGE);
    }
    Ok(end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::NewEvent;

    #[test]
    fn serde_json_takes_what_the_check_refuses() {
        for data in ["1e999", r#""\ud800""#] {
            let event = format!(r#"{{"type":"T","data":{data}}}"#);
            let parsed: Result<NewEvent, _> = serde_json::from_str(&event);
            assert!(parsed.is_ok(), "{data}");
            assert!(check(data).is_err(), "{data}");
        }
    }

    #[test]
    fn depth() {
        assert_eq!(check(r#"{"a":[1,{"b":"[[[{"}]}"#), Ok(()));
        let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert_eq!(check(&deep(64)), Ok(()));
        assert_eq!(check(&deep(65)), Err(TOO_DEEP));
        assert_eq!(
            check(r#""\"[[[[""#),
            Ok(()),
            "an escaped quote does not end a string"
        );
    }

    #[test]
    fn numbers() {
        for fine in [
            "0",
            "-1",
            "1.5e3",
            "1.7976931348623157e308",
            "1e-999",
            "123456789012345678901234567890",
            "[1,2.5,-3e-2]",
        ] {
            assert_eq!(check(fine), Ok(()), "{fine}");
        }
        let long = "9".repeat(400);
        for huge in ["1e999", "-1E309", "[1,2e308]", long.as_str()] {
            assert_eq!(check(huge), Err(NUMBER_OUT_OF_RANGE), "{huge}");
        }
        assert_eq!(check(r#""1e999""#), Ok(()), "a string, not a number");
    }

    #[test]
    fn surrogates() {
        for fine in [
            r#""\ud83d\ude00""#,
            r#""\uD83D\uDE00""#,
            r#""\u00e9\u0041""#,
            r#""\\ud800""#,
            r#""😀""#,
        ] {
            assert_eq!(check(fine), Ok(()), "{fine}");
        }
        for lone in [
            r#""\ud800""#,
            r#""\udc00""#,
            r#""\ud83d\u0041""#,
            r#""\ud83d""#,
            r#"{"\udfff":1}"#,
            r#""\ud83d\ud83d""#,
        ] {
            assert_eq!(check(lone), Err(LONE_SURROGATE), "{lone}");
        }
    }
}
