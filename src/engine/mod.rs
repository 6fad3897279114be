//! The pipeline: discover -> for each crate (in parallel): read + parse + walk each file (parallel),
//! folding its facts into the crate index -> settle the findings that needed it -> sort. Each file
//! is parsed once; its syntax tree is dropped as soon as it has been walked, and a crate's index as
//! soon as the crate is settled, so peak memory follows the largest file and crate, not the tree.

pub mod context;
mod edition2015;
pub mod files;
pub mod guard;
pub mod index;
pub mod macros;
pub mod manifest;
pub mod resolve;
pub mod suppress;
pub mod syntax;
pub mod walker;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;

use crate::config::Settings;
use crate::diagnostic::Diagnostic;
use crate::rules::{self, Rule};
use context::SourceText;
use index::{CrateIndex, Deferred, FileFacts};
use manifest::{Manifests, Runtime};
use suppress::Suppressions;

/// Deeply nested code recurses deeply in the parser and the walker. Stack is reserved, not
/// committed, so a large one costs nothing until it is used.
const STACK_SIZE: usize = 256 << 20;

#[derive(Debug, Default)]
pub struct Options {
    /// Worker threads; `None` lets rayon decide (`RAYON_NUM_THREADS`, else one per core).
    pub threads: Option<usize>,
    /// Texts to lint instead of what these files hold on disk (fixes not written yet), by path as
    /// discovered.
    pub texts: HashMap<PathBuf, Arc<str>>,
    /// Which rules run where, severities, test code, the catalog (`config::load`).
    pub settings: Settings,
}

/// One file's findings, with the source text they point into.
#[derive(Debug)]
pub struct FileReport {
    pub path: PathBuf,
    /// Empty when the file could not be read.
    pub source: Arc<str>,
    pub diagnostics: Vec<Diagnostic>,
}

#[derive(Debug, Default)]
pub struct Report {
    /// Only files with findings, sorted by path; their findings sorted by position, then rule.
    pub files: Vec<FileReport>,
    pub files_analysed: usize,
}

impl Report {
    pub fn diagnostic_count(&self) -> usize {
        self.files.iter().map(|f| f.diagnostics.len()).sum()
    }
}

/// What the parallel pass keeps of one file until its crate is settled: nothing unless it has
/// findings (its facts go to the crate index at once).
struct FileOutcome {
    path: PathBuf,
    source: Arc<str>,
    diagnostics: Vec<Diagnostic>,
    deferred: Vec<Deferred>,
    suppressions: Suppressions,
}

impl FileOutcome {
    /// Nothing to report and nothing `settle` could turn into a finding.
    fn is_clean(&self) -> bool {
        self.diagnostics.is_empty() && self.deferred.is_empty() && self.suppressions.is_empty()
    }
}

pub fn lint_paths(paths: &[PathBuf], options: &Options) -> Result<Report, String> {
    let settings = &options.settings;
    lint_discovered(files::discover_excluding(&settings.paths_to_check(paths), settings.exclude().cloned())?, options)
}

/// Lints files already discovered. A file that has gone since is reported, not fatal.
pub fn lint_discovered(discovery: files::Discovery, options: &Options) -> Result<Report, String> {
    let (groups, roots) = files::crate_groups(&discovery.files);
    let mut manifests = Manifests::default();
    let runtimes: Vec<Runtime> =
        roots.iter().map(|root| root.as_deref().map_or(Runtime::Unknown, |r| manifests.runtime(r))).collect();
    let mut crates: Vec<Vec<&Path>> = vec![Vec::new(); roots.len()];
    for (path, &group) in discovery.files.iter().zip(&groups) {
        crates[group].push(path);
    }
    let pool = thread_pool(options.threads)?;
    let files: Vec<FileReport> = pool.install(|| {
        crates
            .par_iter()
            .zip(&runtimes)
            .flat_map_iter(|(files, &runtime)| lint_crate(files, runtime, options))
            .collect()
    });
    let mut report = Report { files, files_analysed: discovery.files.len() };
    for error in discovery.errors {
        let diagnostic = engine_diagnostic("io-error", 0..0, error.message);
        report.files.push(FileReport { path: error.path, source: Arc::from(""), diagnostics: vec![diagnostic] });
    }
    apply_settings(&mut report, &options.settings);
    report.files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(report)
}

/// Drops the findings of ids the settings turn off for their file (engine ids: rules that are
/// off were not run) and sets the severities the settings choose.
fn apply_settings(report: &mut Report, settings: &Settings) {
    for file in &mut report.files {
        file.diagnostics.retain(|d| settings.rule_enabled(&file.path, d.rule));
        for diagnostic in &mut file.diagnostics {
            diagnostic.severity = settings.severity(diagnostic.rule).unwrap_or(diagnostic.severity);
        }
    }
    report.files.retain(|file| !file.diagnostics.is_empty());
}

/// The worker pool the parallel pass runs on (`threads`: `None` lets rayon decide). Public so the
/// parse-floor benchmark (`examples/parse_floor.rs`) runs on exactly the same pool.
pub fn thread_pool(threads: Option<usize>) -> Result<rayon::ThreadPool, String> {
    let mut builder = rayon::ThreadPoolBuilder::new().stack_size(STACK_SIZE);
    if let Some(threads) = threads {
        builder = builder.num_threads(threads);
    }
    builder.build().map_err(|e| format!("cannot start worker threads: {e}"))
}

/// Lints one source text as a crate of its own, with no `Cargo.toml`, under the default settings
/// (for tests and fuzzing).
pub fn lint_source(path: &Path, text: &str) -> FileReport {
    lint_source_with_settings(path, text, &Settings::default())
}

/// [`lint_source`] under the given settings.
pub fn lint_source_with_settings(path: &Path, text: &str, settings: &Settings) -> FileReport {
    lint_text(path, text, &settings.rules_for(path), settings)
}

/// [`lint_source`] with only the given rules (for benchmarking one rule alone). With no rules the
/// file is still parsed, walked and indexed.
pub fn lint_source_with(path: &Path, text: &str, rules: &[&'static Rule]) -> FileReport {
    lint_text(path, text, rules, &Settings::default())
}

fn lint_text(path: &Path, text: &str, rules: &[&'static Rule], settings: &Settings) -> FileReport {
    let test_file = files::is_test_file(path);
    let (diagnostics, deferred, facts, suppressions) = analyse_with(text, test_file, Runtime::Unknown, rules, settings);
    let mut index = CrateIndex::default();
    index.add_file(path, facts);
    let outcome =
        FileOutcome { path: path.to_path_buf(), source: Arc::from(text), diagnostics, deferred, suppressions };
    let mut report = Report { files: settle(vec![outcome], &index, settings), files_analysed: 1 };
    apply_settings(&mut report, settings);
    report.files.pop().unwrap_or(FileReport { path: path.to_path_buf(), source: Arc::from(text), diagnostics: vec![] })
}

/// Lints the files of one crate in parallel, folding their facts into the crate's index as they
/// come, then settles its deferred findings: the index lives only as long as its crate is linted.
fn lint_crate(files: &[&Path], runtime: Runtime, options: &Options) -> Vec<FileReport> {
    let (outcomes, index) = files
        .par_iter()
        .map(|path| lint_file(path, runtime, options))
        .fold(
            || (Vec::new(), CrateIndex::default()),
            |(mut outcomes, mut index), (outcome, facts)| {
                index.add_file(&outcome.path, facts);
                if !outcome.is_clean() {
                    outcomes.push(outcome);
                }
                (outcomes, index)
            },
        )
        .reduce(
            || (Vec::new(), CrateIndex::default()),
            |(mut outcomes, mut index), (later_outcomes, later_index)| {
                outcomes.extend(later_outcomes);
                index.merge(later_index);
                (outcomes, index)
            },
        );
    settle(outcomes, &index, &options.settings)
}

fn lint_file(path: &Path, runtime: Runtime, options: &Options) -> (FileOutcome, FileFacts) {
    let settings = &options.settings;
    let analyse = |text: &str| {
        let rules = settings.rules_for(path);
        analyse_with(text, files::is_test_file(path), runtime, &rules, settings)
    };
    if let Some(text) = options.texts.get(path) {
        let (diagnostics, deferred, facts, suppressions) = analyse(text);
        // Keep the text even with no findings: `settle` must not read the file on disk instead.
        let source = Arc::clone(text);
        return (FileOutcome { path: path.to_path_buf(), source, diagnostics, deferred, suppressions }, facts);
    }
    let (source, (diagnostics, deferred, facts, suppressions)) = match files::read_source(path) {
        Ok(text) => {
            let analysis = analyse(&text);
            (text, analysis)
        }
        Err(message) => {
            let diagnostic = engine_diagnostic("io-error", 0..0, message);
            (String::new(), unanalysed(diagnostic))
        }
    };
    // Keep the text only where a finding will need it for rendering. Deferred findings seldom hold:
    // a file that has only those is read again if one does (`settle`).
    let source = if diagnostics.is_empty() { Arc::from("") } else { Arc::from(source) };
    (FileOutcome { path: path.to_path_buf(), source, diagnostics, deferred, suppressions }, facts)
}

/// Keeps the deferred findings of one crate's files that its index confirms, then applies the
/// files' suppression comments.
fn settle(outcomes: Vec<FileOutcome>, index: &CrateIndex, settings: &Settings) -> Vec<FileReport> {
    let mut files = Vec::new();
    for outcome in outcomes {
        let mut diagnostics = outcome.diagnostics;
        for Deferred { condition, mut diagnostic } in outcome.deferred {
            if index.holds(&condition) {
                diagnostic.notes.extend(index.note_for(&condition));
                diagnostics.push(diagnostic);
            }
        }
        // A rule the settings turn off for this file did not run: its suppressions are not unused.
        let enabled = |rule: &str| settings.rule_enabled(&outcome.path, rule);
        let mut diagnostics = outcome.suppressions.apply(diagnostics, enabled);
        if diagnostics.is_empty() {
            continue;
        }
        let source = if outcome.source.is_empty() {
            files::read_source(&outcome.path).map_or_else(|_| Arc::from(""), Arc::from)
        } else {
            outcome.source
        };
        diagnostics.sort_by(|a, b| (a.range.start, a.rule, a.range.end).cmp(&(b.range.start, b.rule, b.range.end)));
        diagnostics.dedup();
        files.push(FileReport { path: outcome.path, source, diagnostics });
    }
    files
}

type Analysis = (Vec<Diagnostic>, Vec<Deferred>, FileFacts, Suppressions);

/// A file that could not be analysed: its one engine finding.
fn unanalysed(diagnostic: Diagnostic) -> Analysis {
    (vec![diagnostic], Vec::new(), FileFacts::default(), Suppressions::default())
}

/// Parses and walks one source text with `rules`. A panic in a rule becomes an `internal-error`
/// finding for this file only.
fn analyse_with(
    text: &str,
    test_file: bool,
    runtime: Runtime,
    rules: &[&'static Rule],
    settings: &Settings,
) -> Analysis {
    let result = guard::catch(|| analyse_unguarded(text, test_file, runtime, rules, settings));
    // proc-macro2 keeps every parsed source in a thread-local map; drop it once spans are turned
    // into byte ranges so memory is bounded by the largest file, not the whole tree.
    proc_macro2::extra::invalidate_current_thread_spans();
    result.unwrap_or_else(|panic| {
        let message = format!("async-lint crashed on this file ({panic}); please report it with the file attached");
        unanalysed(engine_diagnostic("internal-error", 0..0, message))
    })
}

fn analyse_unguarded(
    text: &str,
    test_file: bool,
    runtime: Runtime,
    rules: &[&'static Rule],
    settings: &Settings,
) -> Analysis {
    let base = parser_offset(text);
    let (catalog, test_code) = (settings.catalog(), settings.test_code);
    let source = SourceText::new(text, base, test_file, runtime, catalog, test_code);
    let file = match syn::parse_str::<syn::File>(&text[base..]) {
        Ok(file) => file,
        Err(err) => match edition2015::parse_with_dyn_fn_traits(&text[base..]) {
            Some(file) => file,
            None => return parse_error(text, base, &err),
        },
    };
    let mut walker = walker::Walker::new(&source, rules);
    syn::visit::Visit::visit_file(&mut walker, &file);
    let sink = walker.into_sink();
    let suppressions = Suppressions::find(text, base, &file, test_code, test_file);
    (sink.diagnostics, sink.deferred, sink.facts, suppressions)
}

fn parse_error(text: &str, base: usize, err: &syn::Error) -> Analysis {
    let span = err.span().byte_range();
    // syn reports a premature end of input at no position: point at the end instead.
    let at_end = span == (0..0) && err.to_string().starts_with("unexpected end of input");
    let start = if at_end { text.len() } else { (span.start + base).min(text.len()) };
    // proc-macro2's lexer says only "cannot parse string into token stream".
    let reason = if err.to_string() == "cannot parse string into token stream" {
        "an unclosed delimiter or a character that is not a Rust token".to_string()
    } else {
        err.to_string()
    };
    let mut diagnostic = engine_diagnostic("parse-error", start..start, format!("cannot parse this file: {reason}"));
    diagnostic.label = "the parser stopped here".into();
    unanalysed(diagnostic)
}

/// Bytes the parser must not see: a UTF-8 byte order mark, a `#!` line (but not `#![attr]`) and
/// a cargo-script `---` frontmatter block. The parser is given `&text[parser_offset(text)..]`.
pub fn parser_offset(text: &str) -> usize {
    let mut offset = if text.starts_with('\u{feff}') { '\u{feff}'.len_utf8() } else { 0 };
    if let Some(after) = text[offset..].strip_prefix("#!") {
        if !after.trim_start().starts_with('[') {
            offset += text[offset..].find('\n').unwrap_or(text.len() - offset);
        }
    }
    let rest = &text[offset..];
    let body = rest.trim_start_matches(['\n', '\r', ' ', '\t']);
    if body.starts_with("---") {
        let opened = offset + (rest.len() - body.len());
        let mut line_start = opened + body.find('\n').map_or(body.len(), |i| i + 1);
        while line_start < text.len() {
            let line_end = text[line_start..].find('\n').map_or(text.len(), |i| line_start + i + 1);
            if text[line_start..line_end].starts_with("---") {
                return line_end;
            }
            line_start = line_end;
        }
    }
    offset
}

fn engine_diagnostic(rule: &'static str, range: std::ops::Range<usize>, message: String) -> Diagnostic {
    let known = rules::engine_id(rule).expect("an engine id");
    let mut diagnostic = Diagnostic::new(rule, known.severity, range, message);
    diagnostic.help = Some(known.help.into());
    diagnostic
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::{parser_offset, Runtime};
    use crate::config::Settings;
    use crate::rules::{Category, Context, FixAvailability, InTests, Node, NodeKind, Rule};

    fn analyse_with(text: &str, rules: &[&'static Rule]) -> super::Analysis {
        super::analyse_with(text, false, Runtime::Unknown, rules, &Settings::default())
    }

    fn panics_on_calls(node: Node<'_>, _: &mut Context<'_>) {
        if let Node::Call(_) = node {
            panic!("rule bug");
        }
    }

    static PANICKING: Rule = Rule {
        id: "panicking",
        category: Category::Correctness,
        fix: FixAvailability::Never,
        tests: InTests::Checked,
        doc: "",
        nodes: &[NodeKind::Call],
        check: panics_on_calls,
    };

    #[test]
    fn a_panicking_rule_becomes_an_internal_error_for_that_file() {
        super::guard::install_hook();
        let (diagnostics, _, _, _) = analyse_with("fn f() { g(); }", &[&PANICKING]);
        assert_eq!(diagnostics.len(), 1);
        assert_eq!(diagnostics[0].rule, "internal-error");
        assert!(diagnostics[0].message.contains("panicked at src/engine/mod.rs:"), "{}", diagnostics[0].message);
        assert!(diagnostics[0].message.contains("rule bug"), "{}", diagnostics[0].message);
        // The next file on this thread is analysed as usual.
        let (diagnostics, _, _, _) = analyse_with("fn f() {}", &[&PANICKING]);
        assert!(diagnostics.is_empty());
    }

    #[test]
    fn a_sync_fn_records_its_own_block_on_and_the_crate_fns_it_calls() {
        let source = "use futures::executor::block_on as wait;
fn direct() {
    helper(); Self::assoc(); self.method(); tokio::spawn(x); Vec::new(); drop(x); helper();
    std::thread::spawn(|| wait(a()));
    let f = async { wait(b()) };
    fn nested() { wait(c()) }
    let g = || { rt.block_on(d()) };
    wait(e());
}
async fn not_sync() { wait(f()); helper(); }
";
        let (_, _, facts, _) = analyse_with(source, &[]);
        let found: Vec<_> = facts.fns.iter().map(|d| (d.name.as_str(), d.block_on.clone(), d.calls.clone())).collect();
        let at = |call: &str, line, column| {
            Some(super::index::BlockOn { call: call.into(), path: PathBuf::new(), line, column })
        };
        assert_eq!(found[0].0, "direct");
        assert_eq!(found[0].1, at(".block_on", 7, 21));
        assert_eq!(found[0].2, ["helper", "assoc", "method", "d", "e"]);
        assert!(facts.fns[0].offloads_block_on, "`std::thread::spawn(|| wait(a()))`");
        assert_eq!(found[1], ("nested", at("futures::executor::block_on", 6, 19), vec!["c".to_string()]));
        assert_eq!(found[2], ("not_sync", None, vec![]));
    }

    #[test]
    fn skips_bom_shebang_and_frontmatter_but_not_inner_attributes() {
        assert_eq!(parser_offset("fn main() {}"), 0);
        assert_eq!(parser_offset("\u{feff}fn main() {}"), 3);
        assert_eq!(parser_offset("#!/usr/bin/env run\nfn main() {}"), 18);
        assert_eq!(parser_offset("#![allow(unused)]\nfn main() {}"), 0);
        let script = "#!/usr/bin/env cargo\n---cargo\n[dependencies]\n---\nfn main() {}";
        assert_eq!(&script[parser_offset(script)..], "fn main() {}");
        assert_eq!(parser_offset("---\nunclosed"), 0);
    }
}
