//! A post, the request that creates one, and the rule of its title (the kit's
//! [`TextRule`]) and id (the kit's random 16-hex ids).

use bus::kit::{from_object, new_hex_id, TextError, TextRule};
use serde::{Deserialize, Deserializer, Serialize};

/// A title: 1–200 characters once trimmed, else `400 invalid_title`.
pub const TITLE: TextRule = TextRule::new("title", "invalid_title", 200);

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

/// `POST /posts` and `POST /posts/create`: a JSON object only (not `["title"]`).
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
        let Fields { title } = from_object(deserializer)?;
        Ok(Self { title })
    }
}

/// `NewPost.title` in the document.
fn title_schema() -> utoipa::openapi::schema::Object {
    TITLE.schema("Hello, bus")
}

impl Post {
    /// A post with a fresh random id and `title` trimmed, or why the title is refused.
    pub fn new(title: &str) -> Result<Self, TextError> {
        Ok(Self {
            id: new_hex_id(),
            title: TITLE.check(title)?.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_post_has_a_fresh_id_and_its_title_trimmed() {
        let post = Post::new("  Hello \n").expect("a title");
        assert!(bus::kit::is_hex_id(&post.id), "{}", post.id);
        assert_eq!(post.title, "Hello");
        assert_ne!(Post::new("t").expect("a title").id, post.id);
        assert!(Post::new(" \t ").is_err());
        assert!(Post::new(&"x".repeat(201)).is_err());
        assert!(Post::new(&"é".repeat(200)).is_ok());
    }

    #[test]
    fn a_new_post_is_an_object_only() {
        let parsed: NewPost = serde_json::from_str(r#"{"title":"t"}"#).expect("an object");
        assert_eq!(parsed.title, "t");
        assert!(serde_json::from_str::<NewPost>(r#"["t"]"#).is_err());
    }
}
