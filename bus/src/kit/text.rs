//! The rule of a service's free text (a post's title, a comment's content): trimmed, then
//! 1 to N characters; refused with `400` and the rule's code. The same rule gives the JSON
//! Schema `pattern` of `/openapi.json`, so that the document and the handler accept the
//! same texts.

use super::ApiError;

/// The characters [`str::trim`] removes (Unicode `White_Space`), as a regex character
/// class body: spelled out, because regex dialects disagree on what `\s` is.
const WHITESPACE: &str =
    r"\t\n\x0B\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000";

/// A text field's rule: `field` names it in messages, `code` is the `error` of its `400`.
///
/// ```
/// # use bus::kit::TextRule;
/// const TITLE: TextRule = TextRule::new("title", "invalid_title", 200);
/// assert_eq!(TITLE.check("  Hello \n"), Ok("Hello"));
/// assert!(TITLE.check(" \t ").is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextRule {
    field: &'static str,
    code: &'static str,
    max_chars: usize,
}

/// A text refused by its [`TextRule`]: `400` with the rule's code (`invalid_title`…).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    /// Nothing but whitespace.
    #[error("the {field} is empty once trimmed")]
    Empty {
        /// The field's name.
        field: &'static str,
        /// The `error` code of the `400`.
        code: &'static str,
    },
    /// Over the rule's most characters once trimmed.
    #[error("the {field} has {chars} characters once trimmed; at most {max_chars}")]
    TooLong {
        /// The field's name.
        field: &'static str,
        /// The `error` code of the `400`.
        code: &'static str,
        /// How many characters it has, trimmed.
        chars: usize,
        /// The most the rule takes.
        max_chars: usize,
    },
}

impl TextRule {
    /// The rule of `field`: 1–`max_chars` characters once trimmed (`max_chars` ≥ 1),
    /// refused as `400 code`.
    pub const fn new(field: &'static str, code: &'static str, max_chars: usize) -> Self {
        Self {
            field,
            code,
            max_chars,
        }
    }

    /// The most characters a text may have once trimmed.
    pub const fn max_chars(&self) -> usize {
        self.max_chars
    }

    /// `text` trimmed, if it keeps 1–[`max_chars`](Self::max_chars) characters.
    pub fn check<'a>(&self, text: &'a str) -> Result<&'a str, TextError> {
        let (field, code) = (self.field, self.code);
        let trimmed = text.trim();
        match trimmed.chars().count() {
            0 => Err(TextError::Empty { field, code }),
            chars if chars > self.max_chars => Err(TextError::TooLong {
                field,
                code,
                chars,
                max_chars: self.max_chars,
            }),
            _ => Ok(trimmed),
        }
    }

    /// The rule as a JSON Schema `pattern`: after any whitespace, 1–N characters that
    /// begin and end with a non-whitespace character, then any whitespace.
    pub fn pattern(&self) -> String {
        let inner = self.max_chars.saturating_sub(2);
        format!(
            r"^[{WHITESPACE}]*[^{WHITESPACE}](?:[\s\S]{{0,{inner}}}[^{WHITESPACE}])?[{WHITESPACE}]*$"
        )
    }

    /// The field in the document: a string matching [`pattern`](Self::pattern), with
    /// `example`; for `#[schema(schema_with = …)]`.
    pub fn schema(&self, example: &str) -> utoipa::openapi::schema::Object {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        let description = format!(
            "1–{} characters once leading and trailing whitespace is trimmed",
            self.max_chars
        );
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(self.pattern()))
            .description(Some(description))
            .examples([serde_json::json!(example)])
            .build()
    }
}

impl From<TextError> for ApiError {
    fn from(error: TextError) -> Self {
        let (TextError::Empty { code, .. } | TextError::TooLong { code, .. }) = error;
        ApiError::bad_request(code, error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TITLE: TextRule = TextRule::new("title", "invalid_title", 200);

    #[test]
    fn texts_are_trimmed_and_counted_in_characters() {
        assert_eq!(TITLE.check("  Hello \n"), Ok("Hello"));
        let empty = TITLE.check(" \t\u{3000} ").expect_err("blank");
        assert_eq!(empty.to_string(), "the title is empty once trimmed");
        let most = "é".repeat(200);
        assert_eq!(TITLE.check(&format!(" {most} ")), Ok(most.as_str()));
        let over = TITLE.check(&"x".repeat(201)).expect_err("201");
        assert_eq!(
            over.to_string(),
            "the title has 201 characters once trimmed; at most 200"
        );
    }

    #[test]
    fn a_refused_text_is_a_400_with_the_rules_code() {
        for refused in [TITLE.check(""), TITLE.check(&"x".repeat(201))] {
            let error = ApiError::from(refused.expect_err("refused"));
            assert_eq!(
                (error.status().as_u16(), error.code()),
                (400, "invalid_title")
            );
        }
    }

    #[test]
    fn the_pattern_counts_as_the_rule_does() {
        assert!(TITLE.pattern().contains(r"(?:[\s\S]{0,198}[^"));
        let two = TextRule::new("x", "invalid_x", 2000).pattern();
        assert!(two.contains(r"{0,1998}"), "{two}");
    }

    /// The characters of a class body written as [`WHITESPACE`] is: escapes and ranges.
    fn class_chars(class: &str) -> Vec<char> {
        let mut chars = Vec::new();
        let mut rest = class;
        while let Some(c) = rest.chars().next() {
            let (c, len) = match c {
                '\\' => {
                    let (escape, len) = match rest.as_bytes()[1] {
                        b'x' => (u32::from_str_radix(&rest[2..4], 16).expect("hex"), 4),
                        b'u' => (u32::from_str_radix(&rest[2..6], 16).expect("hex"), 6),
                        b't' => (9, 2),
                        b'n' => (10, 2),
                        b'f' => (12, 2),
                        b'r' => (13, 2),
                        other => panic!("escape {other}"),
                    };
                    (char::from_u32(escape).expect("a char"), len)
                }
                '-' => {
                    let start = chars.pop().expect("a range start");
                    let (end, len) = (class_chars(&rest[1..7])[0], 7);
                    chars.extend(start..end);
                    (end, len)
                }
                c => (c, c.len_utf8()),
            };
            chars.push(c);
            rest = &rest[len..];
        }
        chars
    }

    #[test]
    fn the_pattern_spells_out_every_character_trim_removes() {
        let trimmed: Vec<char> = (0..=0x10FFFF)
            .filter_map(char::from_u32)
            .filter(|c| c.is_whitespace())
            .collect();
        let mut spelled = class_chars(WHITESPACE);
        spelled.sort_unstable();
        assert_eq!(spelled, trimmed);
    }
}
