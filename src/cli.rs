//! The command line. Exit codes: 0 no findings, 1 findings, 2 the run itself failed.

use std::ffi::OsString;
use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand, ValueEnum};

use crate::baseline::{self, Baseline};
use crate::config;
use crate::engine::{self, Options};
use crate::fix;
use crate::render::{self, Format};
use crate::rules;

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
    /// Print how many findings each rule has (most first) instead of the findings: a table, or JSON
    /// with `--format json`
    #[arg(long)]
    statistics: bool,
    /// Exit with 0 even when there are findings or `--diff` has changes (a failed run still exits with 2)
    #[arg(long)]
    exit_zero: bool,
    /// Print only the findings (or the diff): no summary, counts or hints on stderr; errors still go
    /// there
    #[arg(short, long)]
    quiet: bool,
    /// When to colour the human output
    #[arg(long, value_enum, default_value_t = ColorWhen::Auto)]
    color: ColorWhen,
    /// Number of worker threads (default: RAYON_NUM_THREADS, else one per core)
    #[arg(short = 'j', long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    threads: Option<u16>,
    /// Apply the safe fixes, then report what is left
    #[arg(long)]
    fix: bool,
    /// With --fix or --diff: apply the unsafe fixes too (they can change behaviour; review them)
    #[arg(long)]
    unsafe_fixes: bool,
    /// Print the fixes as a unified diff instead of writing them; exit 1 if there are any
    #[arg(long)]
    diff: bool,
    /// Report only the findings not recorded in this baseline file
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// Record the current findings in FILE (exit 0), for --baseline
    #[arg(long, value_name = "FILE", conflicts_with_all = ["baseline", "diff"])]
    write_baseline: Option<PathBuf>,
    /// Write a suppression comment for every finding, to adopt async-lint in a codebase that has
    /// findings already; prints how many were added and writes nothing on stdout
    #[arg(long, conflicts_with_all = ["diff", "write_baseline", "statistics"])]
    add_suppressions: bool,
    #[command(flatten)]
    config: config::ConfigArgs,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum ColorWhen {
    Auto,
    Always,
    Never,
}

pub fn run() -> ExitCode {
    run_from(std::env::args_os())
}

/// [`run`] with these arguments, the first being the program name.
pub fn run_from(args: impl IntoIterator<Item = impl Into<OsString> + Clone>) -> ExitCode {
    let cli = match Cli::try_parse_from(args) {
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
    let options = match config::load(&args.config, &args.paths) {
        Ok(settings) => Options { threads: args.threads.map(usize::from), settings, ..Options::default() },
        Err(message) => return Ok(failed(&message)),
    };
    let request = fix::Request { fix: args.fix, diff: args.diff, unsafe_fixes: args.unsafe_fixes };
    let baseline = match args.baseline.as_deref().map(Baseline::load).transpose() {
        Ok(baseline) => baseline,
        Err(message) => return Ok(failed(&message)),
    };
    let lint = |options: &Options| Ok(baseline::filtered(baseline.as_ref(), engine::lint_paths(&args.paths, options)?));
    let fixed = match fix::run(request, lint, options) {
        Ok(fixed) => fixed,
        Err(message) => return Ok(failed(&message)),
    };
    fixed.errors.iter().for_each(|error| eprintln!("error: {error}"));
    if args.diff {
        let code = fix::print_diff(&fixed, request, args.quiet)?;
        return Ok(if args.exit_zero { ExitCode::SUCCESS } else { code });
    }
    if let Some(path) = &args.write_baseline {
        return Ok(baseline::write_and_tell(path, &fixed.report, args.quiet));
    }
    let report = &fixed.report;
    if args.add_suppressions {
        return Ok(engine::suppress::add::run(report, args.quiet));
    }
    let colored = match args.color {
        ColorWhen::Always => true,
        ColorWhen::Never => false,
        ColorWhen::Auto => io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    let output = render::Output { format: args.format, colored, statistics: args.statistics };
    print_stdout(&render::to_bytes(report, &output)?)?;
    if !args.quiet && (args.statistics || args.format.has_summary()) {
        // On stderr, so that stdout is the same whatever the timing.
        if args.fix {
            eprintln!("{}", fix::summary(&fixed, request));
        } else {
            render::full::summary(report, started.elapsed().as_secs_f64(), &mut io::stderr())?;
        }
        let hidden = baseline.as_ref().and_then(Baseline::hint);
        fix::hint(report, request).into_iter().chain(hidden).for_each(|line| eprintln!("{line}"));
    }
    let exit_one = report.diagnostic_count() > 0 && !args.exit_zero;
    Ok(if exit_one { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

fn failed(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
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
    let nearest = rules::nearest(id);
    eprintln!("error: unknown rule `{id}`");
    if let Some(rule) = nearest {
        eprintln!("  help: did you mean `{}`?", rule.id);
    }
    eprintln!("  note: `async-lint rules` lists every rule");
    Ok(ExitCode::from(2))
}
