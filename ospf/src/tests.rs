//! Core tests.
