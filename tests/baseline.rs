//! `check --write-baseline FILE` then `check --baseline FILE`: only new findings are reported.

mod common;

use std::fs;
use std::path::Path;

use common::{json, path_rules, run, stderr, write};

const SERVICE: &str = "use futures::executor::block_on;

async fn load() -> u32 {
    block_on(fetch())
}

async fn store() {
    block_on(save());
    block_on(save());
}

fn unrelated() -> u32 {
    1
}
";

/// Findings reported with `--baseline lint/baseline.json`, as (line, rule).
fn new_findings(dir: &Path) -> Vec<(u64, String)> {
    let (code, value) = json(&[".", "--baseline", "lint/baseline.json"], dir);
    let found: Vec<(u64, String)> = common::diagnostics(&value)
        .iter()
        .map(|d| (d["line"].as_u64().unwrap(), d["rule"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(code, if found.is_empty() { 0 } else { 1 });
    found
}

fn with_baseline() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "src/service.rs", SERVICE);
    fs::create_dir(dir.path().join("lint")).unwrap();
    let output = run(&["check", ".", "--write-baseline", "lint/baseline.json"], dir.path());
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stderr(&output), "Recorded 3 findings in `lint/baseline.json`.\n");
    dir
}

#[test]
fn the_baseline_is_sorted_readable_json_relative_to_its_folder() {
    let dir = with_baseline();
    let text = fs::read_to_string(dir.path().join("lint/baseline.json")).unwrap();
    let expected = r#"{
  "version": 1,
  "findings": [
    {
      "path": "../src/service.rs",
      "rule": "block-on-in-async",
      "code": "block_on(fetch())",
      "count": 1
    },
    {
      "path": "../src/service.rs",
      "rule": "block-on-in-async",
      "code": "block_on(save());",
      "count": 2
    }
  ]
}
"#;
    assert_eq!(text, expected);
    // Writing again over the same findings gives the same bytes.
    run(&["check", "src", "--write-baseline", "lint/baseline.json"], dir.path());
    assert_eq!(fs::read_to_string(dir.path().join("lint/baseline.json")).unwrap(), expected);
}

#[test]
fn recorded_findings_survive_unrelated_edits() {
    let dir = with_baseline();
    assert_eq!(new_findings(dir.path()), []);
    let output = run(&["check", ".", "--baseline", "lint/baseline.json"], dir.path());
    assert_eq!(output.status.code(), Some(0));
    assert!(stderr(&output).ends_with("3 findings hidden by the baseline.\n"), "{}", stderr(&output));

    // Lines inserted above the findings, re-indentation, an unrelated function edited.
    let edited = SERVICE
        .replace("use futures", "// A comment.\n\nuse futures")
        .replace("    block_on(fetch())", "        block_on(fetch())")
        .replace("    1\n", "    2 + unrelated_helper()\n");
    write(dir.path(), "src/service.rs", &edited);
    assert_eq!(new_findings(dir.path()), []);
}

#[test]
fn a_new_finding_of_the_same_rule_is_reported() {
    let dir = with_baseline();
    let edited = SERVICE.replace("    1\n", "    1\n}\n\nasync fn other() {\n    block_on(tick());\n");
    write(dir.path(), "src/service.rs", &edited);
    assert_eq!(new_findings(dir.path()), [(17, "block-on-in-async".to_string())]);
    // The same code in another file is another finding.
    write(dir.path(), "src/copy.rs", SERVICE);
    let (_, value) = json(&[".", "--baseline", "lint/baseline.json"], dir.path());
    assert_eq!(path_rules(&value).iter().filter(|(path, _)| path == "./src/copy.rs").count(), 3);
}

#[test]
fn identical_findings_count_one_by_one() {
    let dir = with_baseline();
    let third = SERVICE.replace("    block_on(save());\n}", "    block_on(save());\n    block_on(save());\n}");
    write(dir.path(), "src/service.rs", &third);
    assert_eq!(new_findings(dir.path()).len(), 1, "two recorded, three found");
    let one = SERVICE.replacen("    block_on(save());\n", "", 1);
    write(dir.path(), "src/service.rs", &one);
    assert_eq!(new_findings(dir.path()), []);
}

#[test]
fn files_that_were_not_checked_are_never_baselined() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "broken.rs", "fn broken( {\n");
    write(dir.path(), "lint/keep", "");
    let output = run(&["check", ".", "--write-baseline", "lint/baseline.json"], dir.path());
    assert_eq!(output.status.code(), Some(0));
    assert!(stderr(&output).contains("note: 1 finding not recorded: parse-error"), "{}", stderr(&output));
    assert_eq!(new_findings(dir.path()), [(1, "parse-error".to_string())]);
}

#[test]
fn a_bad_or_missing_baseline_fails_the_run_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "lib.rs", common::BLOCKING);
    let cases = [
        ("missing.json", None, "error: cannot read the baseline `missing.json`: "),
        (
            "bad.json",
            Some("{\"version\": 1}"),
            "error: `bad.json` is not an async-lint baseline: missing field `findings`",
        ),
        ("text.json", Some("not json"), "error: `text.json` is not an async-lint baseline: "),
        (
            "v9.json",
            Some("{\"version\": 9, \"findings\": []}"),
            "error: `v9.json` is a version 9 baseline; this async-lint reads version 1",
        ),
    ];
    for (name, content, message) in cases {
        if let Some(content) = content {
            write(dir.path(), name, content);
        }
        let output = run(&["check", ".", "--baseline", name], dir.path());
        assert_eq!(output.status.code(), Some(2), "{name}");
        assert!(stderr(&output).starts_with(message), "{name}: {}", stderr(&output));
        assert!(output.stdout.is_empty());
    }
    let output = run(&["check", ".", "--write-baseline", "no/such/dir/baseline.json"], dir.path());
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("`no/such/dir/baseline.json`"), "{}", stderr(&output));
}
