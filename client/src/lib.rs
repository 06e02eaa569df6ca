//! client service (placeholder).
