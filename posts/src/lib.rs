//! posts service (placeholder).
