//! `check --fix`, `--unsafe-fixes` and `--diff`, on copies of the fixtures and through the library.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_lint::diagnostic::{Applicability, Diagnostic, Edit, Fix, Severity};
use async_lint::engine::{FileReport, Options, Report};
use async_lint::fix::{self, Change, Request};
use common::{diagnostics, json, run, stderr, stdout, write};

/// Fixtures whose rules offer fixes, and one whose findings have none here (no runtime is known).
const FIXTURES: [&str; 4] = [
    "block-on-in-async/contexts.rs",
    "blocking-in-async/basic.rs",
    "unawaited-future/basic.rs",
    "missing-cancellation/fresh_tokens.rs",
];

/// The fixtures copied into a fresh folder, each file at mode 0o640.
fn copy_fixtures() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for fixture in FIXTURES {
        let text = fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(fixture)).unwrap();
        write(dir.path(), fixture, text);
        fs::set_permissions(dir.path().join(fixture), fs::Permissions::from_mode(0o640)).unwrap();
    }
    dir
}

/// Every file under `dir` with its text, by path relative to `dir`.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, String> {
    fn walk(dir: &Path, base: &Path, files: &mut BTreeMap<PathBuf, String>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, base, files);
            } else {
                let text = fs::read_to_string(&path).unwrap();
                files.insert(path.strip_prefix(base).unwrap().to_path_buf(), text);
            }
        }
    }
    let mut files = BTreeMap::new();
    walk(dir, dir, &mut files);
    files
}

fn fixable(value: &serde_json::Value) -> usize {
    diagnostics(value).iter().filter(|d| !d["fix"].is_null()).count()
}

#[test]
fn fix_applies_only_safe_fixes_and_says_how_many_unsafe_ones_wait() {
    let dir = copy_fixtures();
    let before = snapshot(dir.path());
    let (_, value) = json(&["."], dir.path());
    let unsafe_fixes = fixable(&value);
    assert!(unsafe_fixes >= 10, "the fixtures offer fixes: {unsafe_fixes}");

    // Every rule fix today is unsafe: `--fix` alone changes nothing.
    let output = run(&["check", ".", "--fix", "--color", "never"], dir.path());
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(snapshot(dir.path()), before);
    let total = diagnostics(&value).len();
    let expected = format!(
        "Found {total} findings (0 fixed, {total} remaining).\n{unsafe_fixes} fixes available with `--unsafe-fixes`.\n"
    );
    assert_eq!(stderr(&output), expected);
}

#[test]
fn unsafe_fixes_are_applied_the_result_parses_and_a_second_run_changes_nothing() {
    let dir = copy_fixtures();
    let before = snapshot(dir.path());
    let (_, value) = json(&["."], dir.path());
    let (total, fixes) = (diagnostics(&value).len(), fixable(&value));

    let diff = run(&["check", ".", "--diff", "--unsafe-fixes"], dir.path());
    assert_eq!(diff.status.code(), Some(1), "{}", stderr(&diff));
    assert_eq!(snapshot(dir.path()), before, "--diff writes nothing");
    assert_eq!(stderr(&diff), format!("Would fix {fixes} findings.\n"));

    let fixed = run(&["check", ".", "--fix", "--unsafe-fixes", "--color", "never"], dir.path());
    let after = snapshot(dir.path());
    assert_eq!(after.keys().collect::<Vec<_>>(), before.keys().collect::<Vec<_>>(), "no temporary file left");
    let remaining = total - fixes;
    assert!(stderr(&fixed).starts_with(&format!("Found {total} findings ({fixes} fixed, {remaining} remaining).")));
    for (path, text) in &after {
        syn::parse_file(text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mode = fs::metadata(dir.path().join(path)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o640, "{} keeps its permissions", path.display());
    }
    let (_, value) = json(&["."], dir.path());
    assert_eq!((diagnostics(&value).len(), fixable(&value)), (remaining, 0), "the fixed findings are gone");
    assert!(after[Path::new("block-on-in-async/contexts.rs")].contains("    fetch().await; //~ block-on-in-async\n"));

    // The diff showed exactly what was written.
    let expected: String = before
        .iter()
        .filter(|(path, text)| after[*path] != **text)
        .map(|(path, text)| {
            let (original, fixed) = (Arc::from(text.as_str()), Arc::from(after[path].as_str()));
            fix::unified_diff(&Change { path: Path::new(".").join(path), original, fixed })
        })
        .collect();
    assert_eq!(stdout(&diff), expected);
    assert!(stdout(&diff).contains("--- ./block-on-in-async/contexts.rs\n+++ ./block-on-in-async/contexts.rs\n@@"));

    let again = run(&["check", ".", "--fix", "--unsafe-fixes"], dir.path());
    assert_eq!(snapshot(dir.path()), after, "a second --fix changes nothing");
    assert!(stderr(&again).starts_with(&format!("Found {remaining} findings (0 fixed, {remaining} remaining).")));
    let no_diff = run(&["check", ".", "--diff", "--unsafe-fixes"], dir.path());
    assert_eq!((no_diff.status.code(), stdout(&no_diff)), (Some(0), String::new()));
}

#[test]
fn fixes_that_overlap_wait_for_the_next_pass() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "lib.rs", "async fn f() { futures::executor::block_on(futures::executor::block_on(g())); }\n");
    let output = run(&["check", "lib.rs", "--fix", "--unsafe-fixes"], dir.path());
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(fs::read_to_string(dir.path().join("lib.rs")).unwrap(), "async fn f() { g().await.await; }\n");
    assert_eq!(stderr(&output), "Found 2 findings (2 fixed, 0 remaining).\n");
}

#[test]
fn a_symlinked_file_is_fixed_through_the_link() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "real/lib.rs", common::BLOCKING);
    fs::create_dir(dir.path().join("src")).unwrap();
    std::os::unix::fs::symlink("../real/lib.rs", dir.path().join("src/lib.rs")).unwrap();
    let output = run(&["check", "src", "--fix", "--unsafe-fixes"], dir.path());
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(fs::symlink_metadata(dir.path().join("src/lib.rs")).unwrap().file_type().is_symlink());
    assert_eq!(fs::read_to_string(dir.path().join("real/lib.rs")).unwrap(), common::CLEAN);
}

#[test]
fn unsafe_fixes_without_fix_are_only_counted() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "lib.rs", common::BLOCKING);
    let output = run(&["check", "lib.rs"], dir.path());
    assert!(stderr(&output).ends_with("\n1 fix available with `--fix --unsafe-fixes`.\n"), "{}", stderr(&output));
    assert_eq!(fs::read_to_string(dir.path().join("lib.rs")).unwrap(), common::BLOCKING);
}

/// One finding in `path` whose fix is `edit`, as a stand-in rule would report it.
fn report_with_fix(path: &Path, source: Arc<str>, edit: Edit) -> Report {
    let mut diagnostic = Diagnostic::new("stand-in", Severity::Error, edit.range.clone(), "stand-in".into());
    diagnostic.fix = Some(Fix { applicability: Applicability::Safe, message: "edit".into(), edits: vec![edit] });
    Report {
        files: vec![FileReport { path: path.to_path_buf(), source, diagnostics: vec![diagnostic] }],
        files_analysed: 1,
    }
}

/// The text the engine would lint: the pending fixes, else the file on disk.
fn current_text(path: &Path, options: &Options) -> Arc<str> {
    options.texts.get(path).cloned().unwrap_or_else(|| Arc::from(fs::read_to_string(path).unwrap()))
}

#[test]
fn a_fix_that_would_not_parse_is_refused_and_the_file_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lib.rs");
    fs::write(&path, "fn f() { g(); }\n").unwrap();
    let lint = |options: &Options| {
        let edit = Edit { range: 12..12, replacement: " +".into() };
        Ok(report_with_fix(&path, current_text(&path, options), edit))
    };
    let fixed = fix::run(Request { fix: true, ..Request::default() }, lint, Options::default()).unwrap();
    assert_eq!(fs::read_to_string(&path).unwrap(), "fn f() { g(); }\n");
    assert!(fixed.changes.is_empty());
    assert_eq!(fixed.fixed, 0);
    assert_eq!(fixed.errors.len(), 1);
    let error = &fixed.errors[0];
    assert!(error.starts_with(&format!("the fixed text of `{}` would not parse (1:15:", path.display())), "{error}");
    assert_eq!(fixed.report.diagnostic_count(), 1, "the finding is still reported");
}

#[test]
fn fixes_that_never_settle_stop_at_the_pass_limit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lib.rs");
    fs::write(&path, "// a\n").unwrap();
    let lint = |options: &Options| {
        let edit = Edit { range: 4..4, replacement: "a".into() };
        Ok(report_with_fix(&path, current_text(&path, options), edit))
    };
    let fixed = fix::run(Request { fix: true, ..Request::default() }, lint, Options::default()).unwrap();
    assert_eq!(fs::read_to_string(&path).unwrap(), format!("// a{}\n", "a".repeat(fix::MAX_PASSES)));
    assert_eq!(fixed.fixed, fix::MAX_PASSES);
    assert_eq!(fixed.errors.len(), 1);
    assert!(fixed.errors[0].starts_with("fixes were still changing the code after 10 passes"), "{}", fixed.errors[0]);
}
