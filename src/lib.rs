//! async-lint: finds async anti-patterns in Rust sources without compiling them.
//!
//! Data flows one way: files -> parsed files -> crate index -> rules -> diagnostics -> renderer.

pub mod baseline;
pub mod cargo;
pub mod catalog;
pub mod cli;
pub mod config;
pub mod diagnostic;
pub mod engine;
pub mod fix;
pub mod render;
pub mod rules;

// The one place that chooses the memory allocator: here in the library (not in main.rs), so the
// binary, the parse-floor benchmark (examples/parse_floor.rs) and the micro-benchmarks (benches/)
// all allocate the same way. mimalloc: syn allocates a small box per node, and on the corpus the
// parse takes ~20% less CPU than with glibc's malloc, at about the same peak RSS.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
