//! comments service (placeholder).
