//! async-lint: finds async anti-patterns in Rust sources without compiling them.
//!
//! Data flows one way: files -> parsed files -> crate index -> rules -> diagnostics -> renderer.

pub mod catalog;
pub mod cli;
pub mod diagnostic;
pub mod engine;
pub mod render;
pub mod rules;
