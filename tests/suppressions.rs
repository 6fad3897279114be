//! `// async-lint: allow(id) -- reason` comments: what they cover, what is reported about them, and
//! `check --add-suppressions`.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use async_lint::diagnostic::{Diagnostic, LineIndex};
use async_lint::engine::lint_source;
use common::{diagnostics, json, run, stderr, write};

/// `(line, rule)` of every finding of `source`, linted as a file of its own.
fn findings(source: &str) -> Vec<(usize, &'static str)> {
    let index = LineIndex::new(source);
    report(source).iter().map(|d| (index.position(d.range.start).0, d.rule)).collect()
}

fn report(source: &str) -> Vec<Diagnostic> {
    lint_source(Path::new("src/lib.rs"), source).diagnostics
}

fn only(source: &str, rule: &str) -> Diagnostic {
    let found: Vec<Diagnostic> = report(source).into_iter().filter(|d| d.rule == rule).collect();
    assert_eq!(found.len(), 1, "{found:#?}");
    found.into_iter().next().unwrap()
}

/// `source` with a diagnostic's fix applied.
fn fixed(source: &str, diagnostic: &Diagnostic) -> String {
    let mut text = source.to_string();
    for edit in diagnostic.fix.as_ref().expect("a fix").edits.iter().rev() {
        text.replace_range(edit.range.clone(), &edit.replacement);
    }
    text
}

#[test]
fn an_own_line_comment_covers_a_whole_multi_line_statement() {
    let source = "pub async fn f() {
    // async-lint: allow(block-on-in-async) -- runs once at startup
    let config = load(
        futures::executor::block_on(read()),
    );
    futures::executor::block_on(other());
}
";
    assert_eq!(findings(source), [(6, "block-on-in-async")]);
}

#[test]
fn an_own_line_comment_covers_an_item_with_its_doc_comment_and_attributes() {
    let source = "// async-lint: allow(async-without-await) -- the router needs an async fn
/// Totals the items.
#[inline]
#[must_use]
async fn total() -> u32 {
    1
}

async fn other() -> u32 {
    2
}
";
    assert_eq!(findings(source), [(9, "async-without-await")]);
}

#[test]
fn an_own_line_comment_covers_a_match_arm() {
    let source = "pub async fn f(x: Option<u8>) {
    match x {
        // async-lint: allow(block-on-in-async) -- r
        Some(_) => {
            futures::executor::block_on(a());
        }
        None => futures::executor::block_on(b()),
    }
}
";
    assert_eq!(findings(source), [(7, "block-on-in-async")]);
}

#[test]
fn a_comment_before_what_starts_no_statement_covers_the_next_line() {
    let source = "pub async fn f() {
    let x = g()
        // async-lint: allow(block-on-in-async) -- r
        .h(futures::executor::block_on(a()))
        .i(futures::executor::block_on(b()));
}
";
    assert_eq!(findings(source), [(5, "block-on-in-async")]);
}

#[test]
fn a_trailing_comment_covers_the_findings_that_start_or_end_on_its_line() {
    let source = "pub async fn f() {
    futures::executor::block_on(a()); // async-lint: allow(block-on-in-async) -- r
    futures::executor::block_on(b());
    futures::executor::block_on(
        c(),
    ); // async-lint: allow(block-on-in-async) -- ends here
}
";
    assert_eq!(findings(source), [(3, "block-on-in-async")]);
}

#[test]
fn a_file_allow_anywhere_covers_the_whole_file() {
    let source = "pub async fn f() {
    futures::executor::block_on(a());
}

pub async fn g() {
    futures::executor::block_on(b());
}
// async-lint: file-allow(block-on-in-async) -- a blocking test harness
";
    assert_eq!(findings(source), []);
}

#[test]
fn one_comment_can_list_several_rules() {
    let source = "pub async fn save() {}

pub async fn f() {
    save(); futures::executor::block_on(a()); // async-lint: allow(unawaited-future, block-on-in-async) -- r
    save(); futures::executor::block_on(a()); // async-lint: allow(block-on-in-async) -- r
}
";
    assert_eq!(findings(source), [(5, "unawaited-future")]);
}

#[test]
fn an_unused_rule_is_reported_alone_and_its_safe_fix_removes_just_it() {
    let source = "pub async fn f() {
    // async-lint: allow(unawaited-future, block-on-in-async) -- r
    futures::executor::block_on(a());
}
";
    assert_eq!(findings(source), [(2, "unused-suppression")]);
    let unused = only(source, "unused-suppression");
    assert_eq!(unused.message, "unused suppression: no `unawaited-future` finding here");
    assert_eq!(&source[unused.range.clone()], "unawaited-future");
    assert_eq!(unused.severity.as_str(), "warning");
    let fix = unused.fix.as_ref().unwrap();
    assert_eq!(fix.applicability.as_str(), "safe");
    let after = fixed(source, &unused);
    assert!(after.contains("    // async-lint: allow(block-on-in-async) -- r\n"), "{after}");
    assert_eq!(findings(&after), []);
}

#[test]
fn a_comment_that_suppresses_nothing_is_removed_with_its_line_by_the_fix() {
    for (source, clean) in [
        (
            "pub async fn f() {\n    // async-lint: allow(block-on-in-async) -- r\n    g().await;\n}\n",
            "pub async fn f() {\n    g().await;\n}\n",
        ),
        (
            "pub async fn f() {\n    g().await; // async-lint: allow(block-on-in-async) -- r\n}\n",
            "pub async fn f() {\n    g().await;\n}\n",
        ),
        (
            "pub async fn f() {\r\n    // async-lint: allow(block-on-in-async) -- r\r\n    g().await;\r\n}\r\n",
            "pub async fn f() {\r\n    g().await;\r\n}\r\n",
        ),
    ] {
        let unused = only(source, "unused-suppression");
        assert_eq!(fixed(source, &unused), clean);
    }
}

#[test]
fn each_malformed_comment_is_reported_at_its_line() {
    let source = "pub async fn f() {
    futures::executor::block_on(a()); // async-lint: allow(block-on-in-async)
    futures::executor::block_on(a()); // async-lint: allow(block-on-in-async) --
    futures::executor::block_on(a()); // async-lint: alow(block-on-in-async) -- r
    futures::executor::block_on(a()); // async-lint: allow block-on-in-async -- r
    futures::executor::block_on(a()); // async-lint: allow(block-on-in-async -- r
    futures::executor::block_on(a()); // async-lint: allow() -- r
    futures::executor::block_on(a()); // async-lint: allow(blok-on-in-async) -- r
    g().await; // async-lint: allow(parse-error) -- r
}
// async-lint: file-allow(unused-suppression) -- r
";
    let index = LineIndex::new(source);
    let invalid: Vec<(usize, String, Option<String>)> = report(source)
        .into_iter()
        .filter(|d| d.rule == "invalid-suppression")
        .map(|d| (index.position(d.range.start).0, d.message, d.help))
        .collect();
    let general =
        Some("write `// async-lint: allow(rule-id) -- reason` (or `file-allow(..)` for the whole file)".to_string());
    let expected = [
        (2, "a suppression needs a reason: add ` -- why` after it", general.clone()),
        (3, "a suppression needs a reason: add ` -- why` after it", general.clone()),
        (4, "unknown suppression `alow`: expected `allow` or `file-allow`", general.clone()),
        (5, "expected `(` and the rule ids after `allow`", general.clone()),
        (6, "expected `)` after the rule ids", general.clone()),
        (7, "a suppression must name at least one rule", general.clone()),
        (8, "unknown rule `blok-on-in-async` in a suppression", Some("did you mean `block-on-in-async`?".into())),
        (9, "`parse-error` cannot be suppressed by a comment", general.clone()),
        (11, "`unused-suppression` cannot be suppressed by a comment", general.clone()),
    ];
    let expected: Vec<_> = expected.into_iter().map(|(line, m, help)| (line, m.to_string(), help)).collect();
    assert_eq!(invalid, expected);
    // A malformed comment suppresses nothing.
    let blocking = findings(source).iter().filter(|(_, rule)| *rule == "block-on-in-async").count();
    assert_eq!(blocking, 7);
}

#[test]
fn comment_markers_in_strings_and_block_comments_are_not_comments() {
    let source = r##"pub async fn f() {
    let s = "// async-lint: file-allow(block-on-in-async) -- r";
    let r = r#"
// async-lint: allow(block-on-in-async) -- r
"#;
    /* // async-lint: file-allow(block-on-in-async) -- r */
    futures::executor::block_on(a());
}
"##;
    assert_eq!(findings(source), [(7, "block-on-in-async")]);
}

#[test]
fn doc_comments_are_not_suppressions() {
    let source = "//! async-lint: file-allow(block-on-in-async) -- r
/// async-lint: allow(block-on-in-async) -- r
pub async fn f() {
    futures::executor::block_on(a());
}
";
    assert_eq!(findings(source), [(4, "block-on-in-async")]);
}

#[test]
fn crlf_files_are_covered_the_same_way() {
    let source = "pub async fn f() {\r\n    // async-lint: allow(block-on-in-async) -- r\r\n    let x = h(\r\n        futures::executor::block_on(a()),\r\n    );\r\n    futures::executor::block_on(b()); // async-lint: allow(block-on-in-async) -- r\r\n    futures::executor::block_on(c());\r\n}\r\n";
    assert_eq!(findings(source), [(7, "block-on-in-async")]);
}

#[test]
fn a_finding_settled_against_the_crate_index_can_be_suppressed() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "Cargo.toml", "[package]\nname = \"app\"\n");
    write(dir.path(), "src/db.rs", "pub fn query() -> u32 {\n    futures::executor::block_on(fetch())\n}\n");
    let handler = "use crate::db::query;

pub async fn handler() -> u32 {
    // async-lint: allow(block-on-in-async) -- the pool is warm by then
    query()
}

pub async fn other() -> u32 {
    query() // async-lint: allow(block-on-in-async, unawaited-future) -- r
}
";
    write(dir.path(), "src/lib.rs", handler);
    let (code, value) = json(&["src"], dir.path());
    let found: Vec<_> = diagnostics(&value).iter().map(|d| (d["rule"].clone(), d["line"].clone())).collect();
    assert_eq!(found, [(serde_json::json!("unused-suppression"), serde_json::json!(9))], "{value:#}");
    assert_eq!(code, 1);
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_tree(&path, &target);
        } else {
            fs::copy(&path, &target).unwrap();
        }
    }
}

fn rust_files(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = fs::read_to_string(&path).unwrap();
            files.push((path, text));
        }
    }
    files.sort();
    files
}

#[test]
fn add_suppressions_suppresses_every_finding_of_the_fixtures_once() {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(Path::new("fixtures"), &dir.path().join("fixtures"));
    let (code, before) = json(&["fixtures"], dir.path());
    assert_eq!(code, 1);
    let count = diagnostics(&before).len();
    assert!(count > 100, "{count} findings");

    let added = run(&["check", "--add-suppressions", "fixtures"], dir.path());
    assert_eq!(added.status.code(), Some(0), "{}", stderr(&added));
    let message = stderr(&added);
    let files = rust_files(dir.path());
    assert!(message.starts_with("added ") && message.ends_with(&format!(" to {} files\n", files.len())), "{message}");
    for (path, text) in &files {
        let parsed = syn::parse_file(text);
        assert!(parsed.is_ok(), "{}: {:?}", path.display(), parsed.err());
        assert!(text.contains("// async-lint: allow("), "{}", path.display());
    }

    let (code, after) = json(&["fixtures"], dir.path());
    assert_eq!((code, diagnostics(&after).len()), (0, 0), "{after:#}");

    let again = run(&["check", "--add-suppressions", "fixtures"], dir.path());
    assert_eq!(stderr(&again), "added 0 suppressions to 0 files\n");
    assert_eq!(rust_files(dir.path()), files, "a second run changes nothing");
}

#[test]
fn a_file_with_suppressions_is_linted_without_a_crash_whatever_lines_are_missing() {
    let source = "#!/usr/bin/env run-cargo-script
// async-lint: file-allow(spawn-without-join) -- r
pub async fn f(x: Option<u8>) -> &'static str {
    // async-lint: allow(block-on-in-async, unawaited-future) -- r
    let s = r#\"// async-lint: allow(x)\"#; let c = '\"'; let b = b'\\''; /* /* // */ */
    match x {
        // async-lint: allow(block-on-in-async) -- é
        Some(_) => futures::executor::block_on(a()), // async-lint: allow(blok) -- r
        None => 'outer: loop { break 'outer \"// async-lint: allow(\" }, // async-lint: alow
    }
}
";
    let valid = |r: &std::ops::Range<usize>, text: &str| {
        r.start <= r.end && r.end <= text.len() && text.is_char_boundary(r.start) && text.is_char_boundary(r.end)
    };
    let lines: Vec<&str> = source.split_inclusive('\n').collect();
    let mut parsed = 0;
    for (first, last) in (0..lines.len()).flat_map(|first| (first..lines.len()).map(move |last| (first, last))) {
        let text: String = lines[..first].iter().chain(&lines[last + 1..]).copied().collect();
        let text = text.as_str();
        let found = report(text);
        parsed += usize::from(found.iter().all(|d| d.rule != "parse-error"));
        for d in found {
            assert_ne!(d.rule, "internal-error", "{text:?}: {}", d.message);
            assert!(valid(&d.range, text), "{text:?}: {} {:?}", d.rule, d.range);
            assert!(d.fix.iter().flat_map(|f| &f.edits).all(|e| valid(&e.range, text)), "{text:?}: {}", d.rule);
        }
    }
    assert!(parsed > 10, "only {parsed} variants parse");
}

#[test]
fn a_file_whose_only_finding_is_an_unused_suppression_is_reported_by_check() {
    // `check` drops files with nothing to report before the crate is settled: a comment that
    // suppresses nothing must still count as something to report.
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "a.rs",
        "fn f() {\n    // async-lint: allow(block-on-in-async) -- nothing here\n    let x = 1;\n}\n",
    );
    write(dir.path(), "b.rs", "fn clean() {}\n");
    let (code, value) = json(&["."], dir.path());
    assert_eq!(code, 1);
    let found: Vec<_> =
        diagnostics(&value).iter().map(|d| (d["path"].clone(), d["rule"].clone(), d["line"].clone())).collect();
    assert_eq!(found, [("./a.rs".into(), "unused-suppression".into(), 2.into())]);
}
