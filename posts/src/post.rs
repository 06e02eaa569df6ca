//! A post, the request that creates one, and the rules of its title and id.

use serde::{Deserialize, Deserializer, Serialize};

/// The most characters a title may have, once trimmed.
pub const MAX_TITLE_CHARS: usize = 200;

/// The characters [`str::trim`] removes (Unicode `White_Space`), as a regex character
/// class body: spelled out, because regex dialects disagree on what `\s` is.
macro_rules! whitespace {
    () => {
        r"\t\n\x0B\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000"
    };
}

/// The title's rule as a JSON Schema `pattern`, for `/openapi.json`: after any whitespace,
/// 1–200 characters that begin and end with a non-whitespace character, then any
/// whitespace; so the document and the handler accept the same titles.
pub const TITLE_PATTERN: &str = concat!(
    "^[",
    whitespace!(),
    "]*",
    "[^",
    whitespace!(),
    "]",
    r"(?:[\s\S]{0,198}[^",
    whitespace!(),
    "])?",
    "[",
    whitespace!(),
    "]*$",
);

/// A post, as stored, answered and published (`PostCreated`'s data).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Post {
    /// 16 lowercase hex characters, random.
    #[schema(pattern = "^[0-9a-f]{16}$", example = "3f2a9c0d1b4e5f60")]
    pub id: String,
    /// The title as given, trimmed.
    #[schema(example = "Hello, bus")]
    pub title: String,
}

/// `POST /posts` and `POST /posts/create`: a JSON object (serde would also take
/// `["title"]`, a struct written as an array, which the document does not allow).
#[derive(Debug, utoipa::ToSchema)]
pub struct NewPost {
    /// 1–200 characters once leading and trailing whitespace is trimmed.
    #[schema(schema_with = title_schema)]
    pub title: String,
}

impl<'de> Deserialize<'de> for NewPost {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Fields {
            title: String,
        }
        let object = serde_json::Map::deserialize(deserializer)?;
        let fields = Fields::deserialize(serde_json::Value::Object(object));
        let fields = fields.map_err(serde::de::Error::custom)?;
        Ok(Self {
            title: fields.title,
        })
    }
}

/// `NewPost.title` in the document: a string matching [`TITLE_PATTERN`].
fn title_schema() -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .pattern(Some(TITLE_PATTERN))
        .description(Some(
            "1–200 characters once leading and trailing whitespace is trimmed",
        ))
        .examples([serde_json::json!("Hello, bus")])
        .build()
}

/// Why a title was refused (`400 invalid_title`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TitleError {
    /// Nothing but whitespace.
    #[error("the title is empty once trimmed")]
    Empty,
    /// Over [`MAX_TITLE_CHARS`] once trimmed.
    #[error("the title has {0} characters once trimmed; at most {MAX_TITLE_CHARS}")]
    TooLong(usize),
}

impl Post {
    /// A post with a fresh random id and `title` trimmed, or why the title is refused.
    pub fn new(title: &str) -> Result<Self, TitleError> {
        Ok(Self {
            id: new_id(),
            title: checked_title(title)?.to_string(),
        })
    }
}

/// `title` trimmed, if it keeps 1–[`MAX_TITLE_CHARS`] characters.
pub fn checked_title(title: &str) -> Result<&str, TitleError> {
    let trimmed = title.trim();
    match trimmed.chars().count() {
        0 => Err(TitleError::Empty),
        n if n > MAX_TITLE_CHARS => Err(TitleError::TooLong(n)),
        _ => Ok(trimmed),
    }
}

/// 16 lowercase hex characters from 64 random bits: a collision is expected after about
/// four billion posts (DESIGN: the course's 8 characters collide by ~77k).
fn new_id() -> String {
    format!("{:016x}", fastrand::u64(..))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_are_trimmed_and_counted_in_characters() {
        assert_eq!(checked_title("  Hello \n"), Ok("Hello"));
        assert_eq!(checked_title(" \t\u{3000} "), Err(TitleError::Empty));
        let most = "é".repeat(MAX_TITLE_CHARS);
        assert_eq!(checked_title(&format!(" {most} ")), Ok(most.as_str()));
        let over = "x".repeat(MAX_TITLE_CHARS + 1);
        assert_eq!(checked_title(&over), Err(TitleError::TooLong(201)));
    }

    #[test]
    fn ids_are_16_lowercase_hex_characters() {
        let post = Post::new("t").expect("a title");
        assert_eq!(post.id.len(), 16);
        assert!(post
            .id
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)));
        assert_ne!(Post::new("t").expect("a title").id, post.id);
    }

    /// The characters of a class body written as [`whitespace!`] is: escapes and ranges.
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
        let mut spelled = class_chars(whitespace!());
        spelled.sort_unstable();
        assert_eq!(spelled, trimmed);
    }
}
