//! A comment: its id, its content's rule, and the shape `POST`/`GET /posts/:id/comments`
//! answer.

use serde::{Deserialize, Serialize};

/// The most characters a comment's content may hold, once trimmed.
pub const MAX_CONTENT_CHARS: usize = 2_000;

/// A comment as answered: `{"id", "content", "status"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Comment {
    /// 16 lowercase hex characters, random.
    pub id: String,
    /// Its text, trimmed (1–2000 characters).
    pub content: String,
    /// `pending` until moderation's verdict, then `approved` or `rejected`.
    pub status: String,
}

/// `POST /posts/:id/comments`' body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewComment {
    /// 1–2000 characters once trimmed.
    #[schema(min_length = 1, max_length = 2000)]
    pub content: String,
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
    fn ids_are_16_lowercase_hex_characters() {
        let id = new_id();
        assert_eq!(id.len(), 16);
        assert!(id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    }
}
