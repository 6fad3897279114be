//! The command line. Exit codes: 0 no findings, 1 findings, 2 the run itself failed.

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand, ValueEnum};
use codespan_reporting::term::termcolor::Buffer;

use crate::config;
use crate::engine::{self, Options};
use crate::render;
use crate::rules::{self, Rule};

#[derive(Parser, Debug)]
#[command(
    name = "async-lint",
    version,
    about = "Finds async anti-patterns in Rust code and says how to fix each one",
    long_about = "Finds async anti-patterns in Rust code (blocking an executor, futures never awaited, \
tasks never joined, ...) and says how to fix each one. It reads the sources with syn and never \
compiles them.",
    after_help = "Exit status: 0 no findings, 1 findings, 2 the run failed (bad arguments, a PATH that does not exist).\n\
Run `async-lint rules` for the rules and `async-lint rule <ID>` for one rule's documentation."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Check Rust files for async anti-patterns
    Check(CheckArgs),
    /// List every rule: id, category, default severity, fix availability, test code, summary
    Rules,
    /// Print the full documentation of one rule
    Rule {
        /// A rule id, e.g. `block-on-in-async`
        id: String,
    },
}

#[derive(clap::Args, Debug)]
struct CheckArgs {
    /// Files or folders to check. Folders are searched for `*.rs` files, honouring `.gitignore`
    /// and `.ignore` and skipping `target/` and hidden folders; a file named here is always checked
    #[arg(default_value = ".")]
    paths: Vec<PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Full)]
    format: Format,
    /// When to colour the human output
    #[arg(long, value_enum, default_value_t = ColorWhen::Auto)]
    color: ColorWhen,
    /// Number of worker threads (default: RAYON_NUM_THREADS, else one per core)
    #[arg(short = 'j', long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    threads: Option<u16>,
    #[command(flatten)]
    config: config::ConfigArgs,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    /// rustc-style diagnostics with source snippets, then a summary line on stderr
    Full,
    /// One JSON document (schema: README.md, "JSON output")
    Json,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum ColorWhen {
    Auto,
    Always,
    Never,
}

pub fn run() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return if err.use_stderr() { ExitCode::from(2) } else { ExitCode::SUCCESS };
        }
    };
    let result = match cli.command {
        Command::Check(args) => check(&args),
        Command::Rules => print_stdout(&rules_table()).map(|_| ExitCode::SUCCESS),
        Command::Rule { id } => rule_doc(&id),
    };
    match result {
        Ok(code) => code,
        // `async-lint check . | head -1`: the reader left, which is not an error.
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: cannot write the output: {err}");
            ExitCode::from(2)
        }
    }
}

fn check(args: &CheckArgs) -> io::Result<ExitCode> {
    let started = Instant::now();
    engine::guard::install_hook();
    let settings = config::load(&args.config, &args.paths);
    let options = settings.map(|settings| Options { threads: args.threads.map(usize::from), settings });
    let report = match options.and_then(|options| engine::lint_paths(&args.paths, &options)) {
        Ok(report) => report,
        Err(message) => {
            eprintln!("error: {message}");
            return Ok(ExitCode::from(2));
        }
    };
    match args.format {
        Format::Json => {
            let mut out = Vec::new();
            render::json::render(&report, &mut out)?;
            print_stdout(&out)?;
        }
        Format::Full => {
            let colored = match args.color {
                ColorWhen::Always => true,
                ColorWhen::Never => false,
                ColorWhen::Auto => io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
            };
            let mut buffer = if colored { Buffer::ansi() } else { Buffer::no_color() };
            render::full::render(&report, &mut buffer)?;
            print_stdout(buffer.as_slice())?;
            // On stderr, so that stdout is the same whatever the timing.
            render::full::summary(&report, started.elapsed().as_secs_f64(), &mut io::stderr())?;
        }
    }
    Ok(if report.diagnostic_count() == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn print_stdout(bytes: &[u8]) -> io::Result<()> {
    let mut stdout = io::stdout().lock();
    stdout.write_all(bytes)?;
    stdout.flush()
}

pub fn rules_table() -> Vec<u8> {
    let mut out = String::from("ID                          CATEGORY     SEVERITY  FIX        TESTS    SUMMARY\n");
    for rule in rules::ALL {
        out.push_str(&format!(
            "{:<27} {:<12} {:<9} {:<10} {:<8} {}\n",
            rule.id,
            rule.category.as_str(),
            rule.category.default_severity().as_str(),
            rule.fix.as_str(),
            rule.tests.as_str(),
            rule.summary()
        ));
    }
    out.into_bytes()
}

fn rule_doc(id: &str) -> io::Result<ExitCode> {
    if let Some(rule) = rules::by_id(id) {
        print_stdout(format!("# {}\n\n{}\n", rule.id, rule.doc()).as_bytes())?;
        return Ok(ExitCode::SUCCESS);
    }
    let nearest = nearest_rule(id);
    eprintln!("error: unknown rule `{id}`");
    if let Some(rule) = nearest {
        eprintln!("  help: did you mean `{}`?", rule.id);
    }
    eprintln!("  note: `async-lint rules` lists every rule");
    Ok(ExitCode::from(2))
}

pub(crate) fn nearest_rule(id: &str) -> Option<&'static Rule> {
    rules::ALL
        .iter()
        .copied()
        .min_by_key(|r| edit_distance(id, r.id))
        .filter(|r| edit_distance(id, r.id) <= r.id.len() / 2)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let next = (diagonal + usize::from(ca != cb)).min(row[j] + 1).min(row[j + 1] + 1);
            diagonal = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    #[test]
    fn suggests_the_nearest_rule_id() {
        assert_eq!(super::nearest_rule("block-on-async").map(|r| r.id), Some("block-on-in-async"));
        assert_eq!(super::nearest_rule("xyz").map(|r| r.id), None);
    }
}
