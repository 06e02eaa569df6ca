//! Whole numbers in request bodies, however the JSON spells them.
//!
//! JSON has one number type, and JSON Schema (so OpenAPI 3.1, which `/openapi.json` is)
//! counts `2.0` and `2e0` as the integer 2. Python's `json.dumps` writes a float that holds
//! 2 as `2.0`; serde refuses it for a `u64`. The integer fields of request bodies use these
//! functions (`#[serde(deserialize_with = …)]`), so a whole number is taken in any
//! spelling; a fraction, a negative number or one out of range is still refused.

use serde::de::{Deserialize, Deserializer, Error, Unexpected, Visitor};
use std::fmt;
use std::marker::PhantomData;

/// A whole number of type `T` (`u32` or `u64`), spelled as an integer or as a float.
pub(crate) fn whole<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<u64>,
{
    deserializer.deserialize_any(WholeVisitor(PhantomData))
}

/// [`whole`] for an optional field: `null` (or the field left out, with
/// `#[serde(default)]`) is `None`.
pub(crate) fn optional<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<u64>,
{
    Option::<Whole<T>>::deserialize(deserializer).map(|n| n.map(|Whole(n)| n))
}

/// A whole number as [`whole`] reads it, for `Option`.
struct Whole<T>(T);

impl<'de, T: TryFrom<u64>> Deserialize<'de> for Whole<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        whole(deserializer).map(Whole)
    }
}

struct WholeVisitor<T>(PhantomData<T>);

impl<T: TryFrom<u64>> WholeVisitor<T> {
    fn fit<E: Error>(&self, n: u64, unexpected: Unexpected<'_>) -> Result<T, E> {
        T::try_from(n).map_err(|_| E::invalid_value(unexpected, self))
    }
}

impl<T: TryFrom<u64>> Visitor<'_> for WholeVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a whole number in range")
    }

    fn visit_u64<E: Error>(self, n: u64) -> Result<T, E> {
        self.fit(n, Unexpected::Unsigned(n))
    }

    fn visit_i64<E: Error>(self, n: i64) -> Result<T, E> {
        let unexpected = Unexpected::Signed(n);
        let n = u64::try_from(n).map_err(|_| E::invalid_value(unexpected, &self))?;
        self.fit(n, unexpected)
    }

    fn visit_f64<E: Error>(self, n: f64) -> Result<T, E> {
        // 2^64 as a float: every whole float below it converts to a u64 exactly.
        const PAST_U64: f64 = 18_446_744_073_709_551_616.0;
        let unexpected = Unexpected::Float(n);
        if n.fract() != 0.0 || !(0.0..PAST_U64).contains(&n) {
            return Err(E::invalid_value(unexpected, &self));
        }
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "n is whole and in 0..2^64, checked above"
        )]
        self.fit(n as u64, unexpected)
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    struct Fields {
        #[serde(deserialize_with = "super::whole")]
        small: u32,
        #[serde(default, deserialize_with = "super::optional")]
        big: Option<u64>,
    }

    fn read(json: &str) -> Result<(u32, Option<u64>), String> {
        serde_json::from_str::<Fields>(json)
            .map(|f| (f.small, f.big))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn a_whole_number_is_read_in_any_spelling() {
        assert_eq!(read(r#"{"small": 7}"#), Ok((7, None)));
        assert_eq!(read(r#"{"small": 7.0, "big": null}"#), Ok((7, None)));
        assert_eq!(read(r#"{"small": 7e0, "big": 3.0}"#), Ok((7, Some(3))));
        assert_eq!(
            read(r#"{"small": -0.0, "big": 1e19}"#),
            Ok((0, Some(10u64.pow(19))))
        );
        let max = u64::MAX;
        assert_eq!(
            read(&format!(r#"{{"small": 1, "big": {max}}}"#)),
            Ok((1, Some(max)))
        );
    }

    #[test]
    fn a_fraction_a_negative_or_too_large_a_number_is_refused() {
        for bad in [
            r#"{"small": 7.5}"#,
            r#"{"small": -1}"#,
            r#"{"small": -1.0}"#,
            r#"{"small": 4294967296}"#,
            r#"{"small": 4294967296.0}"#,
            r#"{"small": 1, "big": 18446744073709551616}"#,
            r#"{"small": 1, "big": 1.8446744073709552e19}"#,
            r#"{"small": 1, "big": 0.5}"#,
            r#"{"small": "1"}"#,
            r#"{"small": null}"#,
        ] {
            assert!(read(bad).is_err(), "{bad}");
        }
    }
}
