//! moderation service (placeholder).
