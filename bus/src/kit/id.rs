//! The ids our services give what they create (a post, a comment): 16 lowercase hex
//! characters from 64 random bits. A collision is expected after about four billion of
//! them (DESIGN: the course's 8 characters collide by ~77k).

/// The ids' rule as a JSON Schema `pattern` (utoipa's `#[schema(pattern = …)]` takes a
/// literal, so the documents spell it out: a test holds them to this one).
pub const HEX_ID_PATTERN: &str = "^[0-9a-f]{16}$";

/// A fresh random id: 16 lowercase hex characters.
pub fn new_hex_id() -> String {
    format!("{:016x}", fastrand::u64(..))
}

/// Whether `id` is one of ours: 16 lowercase hex characters. (Ids others chose, such as
/// the course's 8 hex characters, are not; services that read them take them as they are.)
pub fn is_hex_id(id: &str) -> bool {
    id.len() == 16
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_16_lowercase_hex_characters_and_differ() {
        let id = new_hex_id();
        assert!(is_hex_id(&id), "{id}");
        assert_ne!(new_hex_id(), id);
    }

    #[test]
    fn other_ids_are_not_ours() {
        for other in [
            "1a2b3c4d",
            "3F2A9C0D1B4E5F60",
            "3f2a9c0d1b4e5f6g",
            "3f2a9c0d1b4e5f601",
            "",
        ] {
            assert!(!is_hex_id(other), "{other}");
        }
        assert!(is_hex_id("3f2a9c0d1b4e5f60"));
    }
}
