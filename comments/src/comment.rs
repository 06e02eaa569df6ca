//! A comment: its content's rule (the kit's [`TextRule`]), and the shape
//! `POST`/`GET /posts/:id/comments` answer.

use bus::kit::{from_object, TextRule};
use serde::{Deserialize, Deserializer, Serialize};

/// A comment's content: 1–2000 characters once trimmed, else `400 invalid_content`.
pub const CONTENT: TextRule = TextRule::new("content", "invalid_content", 2_000);

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

/// `POST /posts/{id}/comments`' body: a JSON object only (not `["content"]`).
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
        let Fields { content } = from_object(deserializer)?;
        Ok(Self { content })
    }
}

/// `NewComment.content` in the document.
fn content_schema() -> utoipa::openapi::schema::Object {
    CONTENT.schema("I like apple juice")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_holds_1_to_2000_characters_once_trimmed() {
        assert_eq!(CONTENT.check("  hi \n"), Ok("hi"));
        assert!(CONTENT.check(" \t ").is_err());
        let longest = "é".repeat(2_000);
        assert_eq!(CONTENT.check(&longest), Ok(longest.as_str()));
        assert!(CONTENT.check(&format!("{longest}a")).is_err());
    }

    #[test]
    fn a_new_comment_is_an_object_only() {
        let parsed: NewComment = serde_json::from_str(r#"{"content":"hi"}"#).expect("an object");
        assert_eq!(parsed.content, "hi");
        assert!(serde_json::from_str::<NewComment>(r#"["hi"]"#).is_err());
    }
}
