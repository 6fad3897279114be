//! `cargo async-lint [check options]`: async-lint over the current workspace's member crates.

use std::process::ExitCode;

fn main() -> ExitCode {
    async_lint::cargo::run()
}
