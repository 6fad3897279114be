//! The parse floor: what async-lint cannot go below. It discovers the same files as `async-lint
//! check`, then reads and parses each one with syn on the same worker pool, and does nothing else
//! (no walk, no rules, no index, no output but a count).
//!
//!   cargo run --release --example parse_floor -- [-j N] [--lines] PATH...
//!
//! `-j N`: worker threads, as `async-lint check -j N` (default: `RAYON_NUM_THREADS`, else one per
//! core). `--lines`: also count the lines of the files (for the benchmark's per-line figures; not
//! to be used when timing). The allocator is the library's (see src/lib.rs), like the binary's.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_lint::engine::{files, parser_offset, thread_pool};
use rayon::prelude::*;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("parse_floor: {message}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<(), String> {
    let mut threads = None;
    let mut count_lines = false;
    let mut paths = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-j" | "--threads" => {
                let n = args.next().ok_or("-j needs a number")?;
                threads = Some(n.parse::<usize>().map_err(|e| format!("bad thread count `{n}`: {e}"))?);
            }
            "--lines" => count_lines = true,
            _ if arg.starts_with('-') => return Err(format!("unknown option `{arg}`")),
            _ => paths.push(PathBuf::from(arg)),
        }
    }
    if paths.is_empty() {
        paths.push(PathBuf::from("."));
    }
    let discovery = files::discover(&paths)?;
    let pool = thread_pool(threads)?;
    let (parse_errors, io_errors, lines) = (AtomicUsize::new(0), AtomicUsize::new(0), AtomicUsize::new(0));
    pool.install(|| {
        discovery.files.par_iter().for_each(|path| {
            let text = match files::read_source(path) {
                Ok(text) => text,
                Err(_) => {
                    io_errors.fetch_add(1, Ordering::Relaxed);
                    return;
                }
            };
            if count_lines {
                lines.fetch_add(text.lines().count(), Ordering::Relaxed);
            }
            if syn::parse_str::<syn::File>(&text[parser_offset(&text)..]).is_err() {
                parse_errors.fetch_add(1, Ordering::Relaxed);
            }
            // As the engine does after each file: free proc-macro2's record of the source.
            proc_macro2::extra::invalidate_current_thread_spans();
        })
    });
    let io_errors = io_errors.into_inner() + discovery.errors.len();
    print!("files {} parse-errors {} io-errors {}", discovery.files.len(), parse_errors.into_inner(), io_errors);
    if count_lines {
        print!(" lines {}", lines.into_inner());
    }
    println!();
    Ok(())
}
