//! query service (placeholder).
