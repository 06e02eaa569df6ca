//! A comment: its id, its content's rule, and the shape `POST`/`GET /posts/:id/comments`
//! answer.

use serde::{Deserialize, Deserializer, Serialize};

/// The most characters a comment's content may hold, once trimmed.
pub const MAX_CONTENT_CHARS: usize = 2_000;

/// The characters [`str::trim`] removes (Unicode `White_Space`), as a regex character
/// class body: spelled out, because regex dialects disagree on what `\s` is.
macro_rules! whitespace {
    () => {
        r"\t\n\x0B\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000"
    };
}

/// The content's rule as a JSON Schema `pattern`, for `/openapi.json`: after any
/// whitespace, 1–2000 characters that begin and end with a non-whitespace character, then
/// any whitespace; so the document and the handler accept the same contents.
pub const CONTENT_PATTERN: &str = concat!(
    "^[",
    whitespace!(),
    "]*",
    "[^",
    whitespace!(),
    "]",
    r"(?:[\s\S]{0,1998}[^",
    whitespace!(),
    "])?",
    "[",
    whitespace!(),
    "]*$",
);

/// A comment as answered: `{"id", "content", "status"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Comment {
    /// 16 lowercase hex characters, random.
    #[schema(pattern = "^[0-9a-f]{16}$", example = "3f2a9c0d1b4e5f60")]
    pub id: String,
    /// Its text, trimmed (1–2000 characters).
    pub content: String,
    /// `pending` until moderation's verdict, then `approved` or `rejected`.
    pub status: String,
}

/// `POST /posts/{id}/comments`' body: a JSON object (serde would also take `["content"]`,
/// a struct written as an array, which the document does not allow).
#[derive(Debug, utoipa::ToSchema)]
pub struct NewComment {
    /// 1–2000 characters once leading and trailing whitespace is trimmed.
    #[schema(schema_with = content_schema)]
    pub content: String,
}

impl<'de> Deserialize<'de> for NewComment {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Fields {
            content: String,
        }
        let object = serde_json::Map::deserialize(deserializer)?;
        let fields = Fields::deserialize(serde_json::Value::Object(object));
        let fields = fields.map_err(serde::de::Error::custom)?;
        Ok(Self {
            content: fields.content,
        })
    }
}

/// `NewComment.content` in the document: a string matching [`CONTENT_PATTERN`].
fn content_schema() -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .pattern(Some(CONTENT_PATTERN))
        .description(Some(
            "1–2000 characters once leading and trailing whitespace is trimmed",
        ))
        .examples([serde_json::json!("I like apple juice")])
        .build()
}

/// A content refused for its length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("content must be 1 to {MAX_CONTENT_CHARS} characters once trimmed, not {chars}")]
pub struct ContentError {
    /// How many characters it had, trimmed.
    pub chars: usize,
}

/// `content` trimmed, if it holds 1–2000 characters.
pub fn checked_content(content: &str) -> Result<&str, ContentError> {
    let trimmed = content.trim();
    let chars = trimmed.chars().count();
    if chars == 0 || chars > MAX_CONTENT_CHARS {
        return Err(ContentError { chars });
    }
    Ok(trimmed)
}

/// 16 lowercase hex characters from 64 random bits.
pub(crate) fn new_id() -> String {
    format!("{:016x}", fastrand::u64(..))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_is_trimmed_and_holds_1_to_2000_characters() {
        assert_eq!(checked_content("  hi \n"), Ok("hi"));
        assert_eq!(checked_content(" \t "), Err(ContentError { chars: 0 }));
        let longest = "é".repeat(MAX_CONTENT_CHARS);
        assert_eq!(checked_content(&longest), Ok(longest.as_str()));
        let over = format!("{longest}a");
        assert_eq!(checked_content(&over), Err(ContentError { chars: 2_001 }));
    }

    #[test]
    fn a_new_comment_is_an_object_only() {
        let parsed: NewComment = serde_json::from_str(r#"{"content":"hi"}"#).expect("an object");
        assert_eq!(parsed.content, "hi");
        assert!(serde_json::from_str::<NewComment>(r#"["hi"]"#).is_err());
    }

    #[test]
    fn ids_are_16_lowercase_hex_characters() {
        let id = new_id();
        assert_eq!(id.len(), 16);
        assert!(id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    }
}
