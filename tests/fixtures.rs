//! Every `fixtures/<rule-id>/*.rs` file is linted on its own; the findings must be exactly the
//! lines marked `//~ rule-id` (or `//~^ rule-id` for the line above). Every mismatch is reported.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use async_lint::diagnostic::LineIndex;
use async_lint::engine::lint_source;

type Expected = BTreeSet<(usize, String)>;

/// `(line, rule)` pairs the markers in `source` expect.
fn markers(source: &str) -> Expected {
    let mut expected = Expected::new();
    for (index, line) in source.lines().enumerate() {
        let Some(at) = line.find("//~") else { continue };
        let marker = &line[at + 3..];
        let carets = marker.chars().take_while(|&c| c == '^').count();
        for rule in marker[carets..].split_whitespace() {
            expected.insert((index + 1 - carets, rule.to_string()));
        }
    }
    expected
}

fn fixture_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in fs::read_dir("fixtures").expect("fixtures/ exists") {
        let dir = dir.unwrap().path();
        for file in fs::read_dir(&dir).unwrap() {
            let file = file.unwrap().path();
            if file.extension().is_some_and(|e| e == "rs") {
                files.push(file);
            }
        }
    }
    files.sort();
    files
}

/// The findings of `path` that its folder's rule, or any rule its markers name, reported.
fn findings(path: &Path, source: &str, expected: &Expected) -> Expected {
    let folder_rule = path.parent().unwrap().file_name().unwrap().to_string_lossy().to_string();
    let report = lint_source(path, source);
    let index = LineIndex::new(source);
    report
        .diagnostics
        .iter()
        .filter(|d| d.rule == folder_rule || d.rule == "parse-error" || expected.iter().any(|(_, r)| r == d.rule))
        .map(|d| (index.position(d.range.start).0, d.rule.to_string()))
        .collect()
}

#[test]
fn fixtures_are_flagged_exactly_where_marked() {
    let mut mismatches = Vec::new();
    let files = fixture_files();
    assert!(!files.is_empty(), "no fixtures found");
    for path in &files {
        let source = fs::read_to_string(path).unwrap();
        let expected = markers(&source);
        let actual = findings(path, &source, &expected);
        for (line, rule) in expected.difference(&actual) {
            mismatches.push(format!("{}:{line}: expected {rule}, not reported", path.display()));
        }
        for (line, rule) in actual.difference(&expected) {
            mismatches.push(format!("{}:{line}: {rule} reported, not expected", path.display()));
        }
    }
    assert!(mismatches.is_empty(), "{} mismatches:\n{}", mismatches.len(), mismatches.join("\n"));
}

#[test]
fn marker_syntax() {
    let expected = markers("a //~ x-y\nb\nc //~^ z\n");
    assert_eq!(expected, Expected::from([(1, "x-y".into()), (2, "z".into())]));
}
