use std::process::ExitCode;

fn main() -> ExitCode {
    async_lint::cli::run()
}
