//! The verdict on a comment: `rejected` when its content contains a blocked word, compared
//! without regard to case, anywhere (a substring: "Oranges" holds "orange"), else
//! `approved`.

use serde::Serialize;

/// What moderation decided about a comment: its `status` in `CommentModerated`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// No blocked word in it.
    Approved,
    /// It contains a blocked word.
    Rejected,
}

/// The words that get a comment rejected, kept case-folded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockedWords {
    folded: Vec<String>,
}

impl BlockedWords {
    /// The blocked `words`, each trimmed; empty ones are dropped (so `--blocked-words ""`
    /// blocks nothing).
    pub fn new<W: AsRef<str>>(words: impl IntoIterator<Item = W>) -> Self {
        let folded = words
            .into_iter()
            .map(|word| fold_case(word.as_ref().trim()))
            .filter(|word| !word.is_empty())
            .collect();
        Self { folded }
    }

    /// The verdict on a comment's `content`.
    pub fn judge(&self, content: &str) -> Verdict {
        let content = fold_case(content);
        if self
            .folded
            .iter()
            .any(|word| content.contains(word.as_str()))
        {
            Verdict::Rejected
        } else {
            Verdict::Approved
        }
    }
}

/// `text` in a form where case no longer matters, for any script: each character's
/// lowercase mapping (Unicode's, so "Ä" → "ä", "Σ" → "σ", "İ" → "i̇"), and final sigma
/// "ς" as "σ" (a word that ends a content in one ends a blocked word in the other). Full
/// case folding, where "ß" matches "SS", would need Unicode's folding tables: not done.
fn fold_case(text: &str) -> String {
    text.chars()
        .flat_map(char::to_lowercase)
        .map(|c| if c == 'ς' { 'σ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judged(words: &[&str], content: &str) -> Verdict {
        BlockedWords::new(words).judge(content)
    }

    #[test]
    fn a_comment_without_a_blocked_word_is_approved() {
        assert_eq!(judged(&["orange"], "I like apple juice"), Verdict::Approved);
        assert_eq!(judged(&["orange"], ""), Verdict::Approved);
    }

    #[test]
    fn a_blocked_word_in_any_case_anywhere_rejects() {
        for content in [
            "I like Orange juice",
            "ORANGE",
            "oranges",
            "blood-orange",
            "an oRaNgE",
        ] {
            assert_eq!(judged(&["orange"], content), Verdict::Rejected, "{content}");
        }
    }

    #[test]
    fn any_of_several_words_rejects_and_blank_words_block_nothing() {
        let words = ["orange", " Lemon ", "", "  "];
        assert_eq!(judged(&words, "a LEMON tart"), Verdict::Rejected);
        assert_eq!(judged(&words, "orange"), Verdict::Rejected);
        assert_eq!(judged(&words, "a lime tart"), Verdict::Approved);
        assert_eq!(judged(&["", " "], "anything"), Verdict::Approved);
    }

    #[test]
    fn case_is_folded_beyond_ascii() {
        assert_eq!(judged(&["äpfel"], "GRÜNE ÄPFEL"), Verdict::Rejected);
        assert_eq!(judged(&["ÉTÉ"], "un bel été"), Verdict::Rejected);
        assert_eq!(judged(&["ΣΟΦΙΑΣ"], "η σοφιας"), Verdict::Rejected);
        assert_eq!(judged(&["σοφιας"], "Η ΣΟΦΙΑΣ"), Verdict::Rejected);
        assert_eq!(judged(&["апельсин"], "АПЕЛЬСИНОВЫЙ сок"), Verdict::Rejected);
        assert_eq!(judged(&["äpfel"], "apfel"), Verdict::Approved);
    }

    #[test]
    fn the_verdict_is_written_as_the_status() {
        let json = serde_json::to_string(&[Verdict::Approved, Verdict::Rejected]);
        assert_eq!(json.expect("serialises"), r#"["approved","rejected"]"#);
    }
}
