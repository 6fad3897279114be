//! `--fix`, `--unsafe-fixes` and `--diff`: apply the fixes the rules suggest, like ruff.
//!
//! Fixing runs in passes, all in memory: lint, apply every fix whose edits overlap no other fix's
//! (the others wait for the next pass), check that each changed file still parses, lint again with
//! the new texts. It stops when a pass changes nothing; then `--fix` writes each changed file
//! atomically and `--diff` prints what would change.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{self, Write};
use std::ops::Range;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use rayon::prelude::*;

use crate::diagnostic::{floor_char_boundary, Applicability, Edit, Fix, LineIndex};
use crate::engine::{self, files, FileReport, Options, Report};
use crate::render::full::plural;

/// Fixes that keep producing new fixes (a rule bug) stop here instead of looping forever.
pub const MAX_PASSES: usize = 10;

/// What the command line asked for.
#[derive(Clone, Copy, Debug, Default)]
pub struct Request {
    pub fix: bool,
    pub diff: bool,
    pub unsafe_fixes: bool,
}

impl Request {
    fn applies(&self, fix: &Fix) -> bool {
        fix.applicability == Applicability::Safe || self.unsafe_fixes
    }
}

/// A file whose text the fixes changed.
#[derive(Debug)]
pub struct Change {
    pub path: PathBuf,
    /// The text on disk.
    pub original: Arc<str>,
    pub fixed: Arc<str>,
}

#[derive(Debug)]
pub struct Fixed {
    /// The findings left in the fixed texts.
    pub report: Report,
    /// How many findings a fix removed, over all passes.
    pub fixed: usize,
    /// Sorted by path.
    pub changes: Vec<Change>,
    /// Files left as they were because their fixed text would not parse; the pass limit.
    pub errors: Vec<String>,
}

/// Lints with `lint`; with `--fix` or `--diff`, fixes until nothing changes, and with `--fix` (and
/// no `--diff`) writes the changed files. `Err` when linting fails or a file cannot be written.
pub fn run(
    request: Request,
    lint: impl Fn(&Options) -> Result<Report, String>,
    options: Options,
) -> Result<Fixed, String> {
    if !request.fix && !request.diff {
        return Ok(Fixed { report: lint(&options)?, fixed: 0, changes: Vec::new(), errors: Vec::new() });
    }
    let fixed = fix_until_stable(request, lint, options)?;
    if request.fix && !request.diff {
        write(&fixed.changes)?;
    }
    Ok(fixed)
}

fn fix_until_stable(
    request: Request,
    lint: impl Fn(&Options) -> Result<Report, String>,
    mut options: Options,
) -> Result<Fixed, String> {
    let pool = engine::thread_pool(options.threads)?;
    let mut originals: BTreeMap<PathBuf, Arc<str>> = BTreeMap::new();
    let mut fixed_in: HashMap<PathBuf, usize> = HashMap::new();
    let mut refused: BTreeSet<PathBuf> = BTreeSet::new();
    let mut errors = Vec::new();
    for pass in 0.. {
        let report = lint(&options)?;
        if pass == MAX_PASSES {
            errors.push(format!(
                "fixes were still changing the code after {MAX_PASSES} passes; stopped there \
                 (this is a bug in async-lint, please report it)"
            ));
            return Ok(finish(report, fixed_in, originals, &options, errors));
        }
        // Parsing happens on the engine's workers: their stacks are sized for deeply nested code.
        let steps: Vec<(&FileReport, Step)> = pool.install(|| {
            let candidates = report.files.par_iter().filter(|file| !refused.contains(&file.path));
            candidates.map(|file| (file, step(file, request))).collect()
        });
        let mut changed = false;
        for (file, step) in steps {
            match step {
                Step::Unchanged => {}
                Step::Fixed { text, applied } => {
                    originals.entry(file.path.clone()).or_insert_with(|| file.source.clone());
                    options.texts.insert(file.path.clone(), Arc::from(text));
                    *fixed_in.entry(file.path.clone()).or_default() += applied;
                    changed = true;
                }
                Step::Refused(reason) => {
                    errors.push(format!(
                        "the fixed text of `{}` would not parse ({reason}); the file is left unchanged \
                         (this is a bug in async-lint, please report it)",
                        file.path.display()
                    ));
                    refused.insert(file.path.clone());
                    originals.remove(&file.path);
                    fixed_in.remove(&file.path);
                    changed |= options.texts.remove(&file.path).is_some();
                }
            }
        }
        if !changed {
            return Ok(finish(report, fixed_in, originals, &options, errors));
        }
    }
    unreachable!("the loop returns at the pass limit")
}

fn finish(
    report: Report,
    fixed_in: HashMap<PathBuf, usize>,
    originals: BTreeMap<PathBuf, Arc<str>>,
    options: &Options,
    errors: Vec<String>,
) -> Fixed {
    let changes = originals
        .into_iter()
        .filter_map(|(path, original)| {
            let fixed = options.texts.get(&path)?.clone();
            (fixed != original).then_some(Change { path, original, fixed })
        })
        .collect();
    Fixed { report, fixed: fixed_in.values().sum(), changes, errors }
}

enum Step {
    Unchanged,
    Fixed { text: String, applied: usize },
    Refused(String),
}

/// One pass over one file: apply its fixes, check the result parses.
fn step(file: &FileReport, request: Request) -> Step {
    let fixes: Vec<&Fix> =
        file.diagnostics.iter().filter_map(|d| d.fix.as_ref()).filter(|f| request.applies(f)).collect();
    if fixes.is_empty() {
        return Step::Unchanged;
    }
    let (text, applied) = apply(&file.source, &fixes);
    if applied == 0 || *text == *file.source {
        return Step::Unchanged;
    }
    match parse_error(&text) {
        Some(reason) => Step::Refused(reason),
        None => Step::Fixed { text, applied },
    }
}

/// Applies each fix whose edits are valid and neither overlap nor touch an edit applied before it,
/// in the order of their first edit; the others are left for the next pass. Returns the new text
/// and how many fixes were applied.
pub fn apply(source: &str, fixes: &[&Fix]) -> (String, usize) {
    let mut fixes: Vec<(Vec<&Edit>, &Fix)> = fixes.iter().map(|fix| (sorted_edits(fix), *fix)).collect();
    fixes.sort_by_key(|(edits, _)| edits.first().map(|e| (e.range.start, e.range.end)));
    let mut taken: Vec<&Edit> = Vec::new();
    let mut applied = 0;
    for (edits, _) in fixes {
        let clashes = edits.iter().any(|e| taken.iter().any(|t| touch(&e.range, &t.range)));
        if edits.is_empty() || clashes || !edits_are_valid(source, &edits) {
            continue;
        }
        taken.extend(edits);
        applied += 1;
    }
    // A stable sort keeps the order of one fix's insertions at the same offset.
    taken.sort_by_key(|e| (e.range.start, e.range.end));
    let mut text = String::with_capacity(source.len());
    let mut at = 0;
    for edit in taken {
        text.push_str(&source[at..edit.range.start]);
        text.push_str(&edit.replacement);
        at = edit.range.end;
    }
    text.push_str(&source[at..]);
    (text, applied)
}

fn sorted_edits(fix: &Fix) -> Vec<&Edit> {
    let mut edits: Vec<&Edit> = fix.edits.iter().collect();
    edits.sort_by_key(|e| (e.range.start, e.range.end));
    edits
}

/// Closed intervals: two fixes at the same offset clash too, as their order would be arbitrary.
fn touch(a: &Range<usize>, b: &Range<usize>) -> bool {
    a.start <= b.end && b.start <= a.end
}

/// In the text, on char boundaries, and not overlapping each other (`edits` is sorted).
fn edits_are_valid(source: &str, edits: &[&Edit]) -> bool {
    let in_text = |e: &&Edit| {
        let Range { start, end } = e.range;
        start <= end && end <= source.len() && source.is_char_boundary(start) && source.is_char_boundary(end)
    };
    edits.iter().all(in_text) && edits.windows(2).all(|pair| pair[0].range.end <= pair[1].range.start)
}

/// Why `text` does not parse as a Rust file, the way the engine parses it.
fn parse_error(text: &str) -> Option<String> {
    let base = engine::parser_offset(text);
    let error = syn::parse_str::<syn::File>(&text[base..]).err().map(|e| (e.span().byte_range().start, e.to_string()));
    // Spans are read; now free the thread's record of the parsed text (see `engine::analyse_with`).
    proc_macro2::extra::invalidate_current_thread_spans();
    let (offset, message) = error?;
    let (line, column) = LineIndex::new(text).position(floor_char_boundary(text, offset + base));
    Some(format!("{line}:{column}: {message}"))
}

/// Writes every changed file atomically; tries them all and names each that failed.
fn write(changes: &[Change]) -> Result<(), String> {
    let failures: Vec<String> = changes
        .iter()
        .filter_map(|change| {
            // Through a symlink to its target: renaming over the link would replace it with a file.
            let target = std::fs::canonicalize(&change.path);
            let err = target.and_then(|target| files::write_atomically(&target, &change.fixed)).err()?;
            Some(format!("cannot write the fixes to `{}`: {err}", change.path.display()))
        })
        .collect();
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\nerror: "))
    }
}

/// A unified diff of one change, `---`/`+++` headers naming the file.
pub fn unified_diff(change: &Change) -> String {
    let path = change.path.display().to_string();
    similar::TextDiff::from_lines(&*change.original, &*change.fixed)
        .unified_diff()
        .context_radius(3)
        .header(&path, &path)
        .to_string()
}

/// `--diff`: each change as a unified diff on stdout, a summary on stderr unless `quiet`. Exit 1 if
/// anything would change, else 0.
pub fn print_diff(fixed: &Fixed, request: Request, quiet: bool) -> io::Result<ExitCode> {
    let mut stdout = io::stdout().lock();
    for change in &fixed.changes {
        stdout.write_all(unified_diff(change).as_bytes())?;
    }
    stdout.flush()?;
    if !quiet {
        eprintln!("{}", summary(fixed, request));
        hint(&fixed.report, request).into_iter().for_each(|line| eprintln!("{line}"));
    }
    Ok(if fixed.changes.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// `Found 5 findings (3 fixed, 2 remaining).` after `--fix`; `Would fix 3 findings.` after `--diff`.
pub fn summary(fixed: &Fixed, request: Request) -> String {
    if request.diff {
        return match fixed.fixed {
            0 => "No fixes to apply.".to_string(),
            n => format!("Would fix {}.", plural(n, "finding")),
        };
    }
    let remaining = fixed.report.diagnostic_count();
    match fixed.fixed + remaining {
        0 => format!("No findings in {}.", plural(fixed.report.files_analysed, "file")),
        total => format!("Found {} ({} fixed, {remaining} remaining).", plural(total, "finding"), fixed.fixed),
    }
}

/// What more the fix options could do: `2 fixable with --fix (1 more with --fix --unsafe-fixes).`
pub fn hint(report: &Report, request: Request) -> Option<String> {
    let fixes = || report.files.iter().flat_map(|f| &f.diagnostics).filter_map(|d| d.fix.as_ref());
    let fixable = fixes().filter(|f| request.applies(f)).count();
    let hidden = fixes().count() - fixable;
    let unsafe_flag = if request.fix || request.diff { "`--unsafe-fixes`" } else { "`--fix --unsafe-fixes`" };
    match (fixable, hidden) {
        (0, 0) => None,
        (0, 1) => Some(format!("1 fix available with {unsafe_flag}.")),
        (0, hidden) => Some(format!("{hidden} fixes available with {unsafe_flag}.")),
        // Left after `--fix` only when fixes clashed for MAX_PASSES or were refused.
        (fixable, 0) => Some(format!("{fixable} fixable with `--fix`.")),
        (fixable, hidden) => Some(format!("{fixable} fixable with `--fix` ({hidden} more with {unsafe_flag}).")),
    }
}

#[cfg(test)]
mod tests {
    use super::{apply, parse_error, Request};
    use crate::diagnostic::{Applicability, Edit, Fix};

    fn fix(edits: &[(std::ops::Range<usize>, &str)]) -> Fix {
        let edits = edits.iter().map(|(range, text)| Edit { range: range.clone(), replacement: text.to_string() });
        Fix { applicability: Applicability::Unsafe, message: String::new(), edits: edits.collect() }
    }

    #[test]
    fn applies_fixes_in_order_and_leaves_clashing_ones_for_the_next_pass() {
        let source = "fn f() { a(); b(); c(); }";
        let later = fix(&[(14..17, "B()")]);
        let first = fix(&[(9..12, "A()"), (19..22, "C()")]);
        let clashing = fix(&[(10..11, "x")]);
        let touching = fix(&[(12..12, ".await")]);
        let (text, applied) = apply(source, &[&later, &clashing, &first, &touching]);
        assert_eq!(text, "fn f() { A(); B(); C(); }");
        assert_eq!(applied, 2);
    }

    #[test]
    fn a_fix_with_an_edit_outside_the_text_or_inside_a_char_is_skipped() {
        let source = "fn é() {}";
        let (text, applied) = apply(source, &[&fix(&[(4..4, "x")]), &fix(&[(0..2, "pub fn")]), &fix(&[(8..99, "")])]);
        assert_eq!((text.as_str(), applied), ("pub fn é() {}", 1));
    }

    #[test]
    fn a_fix_that_breaks_the_syntax_is_caught_where_it_breaks() {
        let source = "\u{feff}#!/usr/bin/env run\nasync fn f() {\n    g();\n}\n";
        assert_eq!(parse_error(source), None);
        let at = source.find("g()").unwrap() + 3;
        let (broken, _) = apply(source, &[&fix(&[(at..at, " +")])]);
        assert!(broken.ends_with("{\n    g() +;\n}\n"), "{broken}");
        assert_eq!(parse_error(&broken).as_deref(), Some("3:10: expected an expression"));
    }

    #[test]
    fn unsafe_fixes_apply_only_when_asked() {
        let unsafe_fix = fix(&[(0..0, "")]);
        assert!(!Request { fix: true, ..Request::default() }.applies(&unsafe_fix));
        assert!(Request { fix: true, unsafe_fixes: true, ..Request::default() }.applies(&unsafe_fix));
    }
}
