//! The binary as users run it: exit codes, discovery, bad input, output formats.

mod common;

use common::{json, path_rules, run, stderr, stdout, write, BLOCKING, CLEAN};

fn reported_paths(value: &serde_json::Value) -> Vec<String> {
    path_rules(value).into_iter().map(|(path, _)| path).collect()
}

#[test]
fn exit_code_is_0_when_clean_and_1_with_findings() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "src/lib.rs", CLEAN.as_bytes());
    let clean = run(&["check", "src"], dir.path());
    assert_eq!(clean.status.code(), Some(0), "{}", stderr(&clean));
    assert!(stdout(&clean).is_empty());
    assert!(stderr(&clean).starts_with("No findings in 1 file"), "{}", stderr(&clean));

    write(dir.path(), "src/bad.rs", BLOCKING.as_bytes());
    let found = run(&["check", "src", "--color", "never"], dir.path());
    assert_eq!(found.status.code(), Some(1));
    assert!(stdout(&found).contains("error[block-on-in-async]: `futures::executor::block_on` called inside async code"));
    assert!(stdout(&found).contains("src/bad.rs:1:16"), "{}", stdout(&found));
    assert!(stderr(&found).starts_with("Found 1 finding (1 error, 0 warnings) in 2 files"), "{}", stderr(&found));
}

#[test]
fn the_run_fails_with_exit_2_on_bad_arguments_and_missing_paths() {
    let dir = tempfile::tempdir().unwrap();
    let missing = run(&["check", "no/such/dir"], dir.path());
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("error: cannot read `no/such/dir`"), "{}", stderr(&missing));
    assert!(stdout(&missing).is_empty());

    let bad_flag = run(&["check", "--format", "xml"], dir.path());
    assert_eq!(bad_flag.status.code(), Some(2));
    assert!(stderr(&bad_flag).contains("invalid value 'xml'"), "{}", stderr(&bad_flag));

    assert_eq!(run(&["frobnicate"], dir.path()).status.code(), Some(2));
}

#[test]
fn help_explains_exit_codes_and_formats() {
    let dir = tempfile::tempdir().unwrap();
    let help = run(&["check", "--help"], dir.path());
    assert_eq!(help.status.code(), Some(0));
    let text = stdout(&help);
    assert!(text.contains("--format <FORMAT>") && text.contains("json"), "{text}");
    let top = stdout(&run(&["--help"], dir.path()));
    assert!(top.contains("Exit status: 0 no findings, 1 findings, 2"), "{top}");
}

#[test]
fn a_file_that_cannot_be_analysed_does_not_stop_the_others() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a_syntax.rs", b"fn broken( {\n");
    write(dir.path(), "b_binary.rs", b"fn main() { \xff\xfe }\n");
    write(dir.path(), "c_cut.rs", b"async fn f() { let x = ");
    write(dir.path(), "d_good.rs", BLOCKING.as_bytes());
    let (code, value) = json(&["."], dir.path());
    assert_eq!(code, 1);
    let expected = [
        ("./a_syntax.rs", "parse-error"),
        ("./b_binary.rs", "io-error"),
        ("./c_cut.rs", "parse-error"),
        ("./d_good.rs", "block-on-in-async"),
    ];
    assert_eq!(path_rules(&value), expected.map(|(p, r)| (p.to_string(), r.to_string())));
    assert_eq!(value["summary"]["files_analysed"], 4);
    let cut = &value["diagnostics"][2];
    // The unclosed `{` is where the lexer gives up.
    assert_eq!((cut["line"].as_u64(), cut["column"].as_u64()), (Some(1), Some(14)), "{cut}");
    assert!(cut["message"].as_str().unwrap().contains("an unclosed delimiter"), "{cut}");
    assert!(value["diagnostics"][1]["message"]
        .as_str()
        .unwrap()
        .contains("not valid UTF-8 (invalid byte at offset 12)"));
}

#[test]
fn discovery_honours_ignore_files_and_skips_target_and_hidden_folders() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), ".gitignore", b"generated/\n");
    write(dir.path(), "src/lib.rs", BLOCKING.as_bytes());
    write(dir.path(), "generated/out.rs", BLOCKING.as_bytes());
    write(dir.path(), "target/debug/build.rs", BLOCKING.as_bytes());
    write(dir.path(), ".hidden/x.rs", BLOCKING.as_bytes());
    write(dir.path(), "notes.txt", BLOCKING.as_bytes());
    let (_, value) = json(&["."], dir.path());
    assert_eq!(reported_paths(&value), ["./src/lib.rs"]);
    // A file named explicitly is always checked.
    let (_, value) = json(&["generated/out.rs"], dir.path());
    assert_eq!(reported_paths(&value), ["generated/out.rs"]);
}

#[test]
fn json_output_has_the_documented_fields() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "lib.rs", "// é\nasync fn f() { futures::executor::block_on(g()); }\n".as_bytes());
    let (code, value) = json(&["lib.rs"], dir.path());
    assert_eq!(code, 1);
    assert_eq!(value["version"], 1);
    let d = &value["diagnostics"][0];
    assert_eq!(d["rule"], "block-on-in-async");
    assert_eq!(d["severity"], "error");
    assert_eq!(d["path"], "lib.rs");
    assert_eq!((d["line"].as_u64(), d["column"].as_u64()), (Some(2), Some(16)));
    assert_eq!((d["end_line"].as_u64(), d["end_column"].as_u64()), (Some(2), Some(48)));
    // `// é\n` is 6 bytes, so the call starts at byte 6 + 15.
    assert_eq!((d["byte_start"].as_u64(), d["byte_end"].as_u64()), (Some(21), Some(53)));
    assert!(d["message"].is_string() && d["help"].is_string());
    assert_eq!(d["fix"]["applicability"], "unsafe");
    assert_eq!(d["fix"]["edits"][0]["replacement"], "g().await");
    assert_eq!(value["summary"]["findings"], 1);
}

#[test]
fn output_is_the_same_whatever_the_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..40 {
        write(
            dir.path(),
            &format!("m{i}/lib.rs"),
            format!("{BLOCKING}{CLEAN}async fn h{i}() {{ tokio::spawn(f()); }}\n").as_bytes(),
        );
    }
    let one = run(&["check", ".", "-j", "1", "--color", "never"], dir.path());
    let many = run(&["check", ".", "-j", "4", "--color", "never"], dir.path());
    assert_eq!(one.status.code(), Some(1));
    assert_eq!(stdout(&one), stdout(&many));
    assert_eq!(stdout(&one).matches("error[block-on-in-async]").count(), 40);
}

#[test]
fn deeply_nested_code_does_not_overflow_the_stack() {
    let dir = tempfile::tempdir().unwrap();
    let depth = 10_000;
    let source = format!("async fn f() -> u32 {{ {}g().await{} }}\n", "(".repeat(depth), ")".repeat(depth));
    write(dir.path(), "deep.rs", source.as_bytes());
    let output = run(&["check", "deep.rs"], dir.path());
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}

#[test]
fn rule_prints_documentation_and_suggests_the_nearest_id() {
    let dir = tempfile::tempdir().unwrap();
    let doc = run(&["rule", "block-on-in-async"], dir.path());
    assert_eq!(doc.status.code(), Some(0));
    assert!(stdout(&doc).starts_with("# block-on-in-async\n\n## What it does\n"), "{}", stdout(&doc));
    let unknown = run(&["rule", "block-on-async"], dir.path());
    assert_eq!(unknown.status.code(), Some(2));
    assert!(stderr(&unknown).contains("did you mean `block-on-in-async`?"), "{}", stderr(&unknown));
    let rules = stdout(&run(&["rules"], dir.path()));
    for id in [
        "block-on-in-async",
        "unawaited-future",
        "spawn-without-join",
        "missing-cancellation",
        "sequential-await-in-loop",
    ] {
        assert!(rules.contains(id), "{rules}");
    }
}

#[test]
fn exit_zero_keeps_findings_but_exits_0_and_a_failed_run_still_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "src/bad.rs", BLOCKING.as_bytes());
    let found = run(&["check", "src", "--exit-zero", "--format", "concise"], dir.path());
    assert_eq!(found.status.code(), Some(0), "{}", stderr(&found));
    assert_eq!(
        stdout(&found),
        "src/bad.rs:1:16: block-on-in-async `futures::executor::block_on` called inside async code\n"
    );
    let missing = run(&["check", "no/such/dir", "--exit-zero"], dir.path());
    assert_eq!(missing.status.code(), Some(2));
}

#[test]
fn quiet_drops_the_summary_line_but_not_the_findings() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "src/bad.rs", BLOCKING.as_bytes());
    for format in ["full", "concise", "github"] {
        let loud = run(&["check", "src", "--format", format], dir.path());
        assert!(stderr(&loud).starts_with("Found 1 finding"), "{format}: {}", stderr(&loud));
        let quiet = run(&["check", "src", "-q", "--format", format], dir.path());
        assert_eq!(quiet.status.code(), Some(1));
        assert_eq!((stdout(&quiet), stderr(&quiet)), (stdout(&loud), String::new()), "{format}");
    }
    // Machine formats never print the summary: stderr stays empty for tools that read it.
    let json = run(&["check", "src", "--format", "rustc-json"], dir.path());
    assert_eq!(stderr(&json), "");
}

#[test]
fn exit_zero_holds_for_diff_too() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "src/bad.rs", BLOCKING.as_bytes());
    let diff = run(&["check", "src", "--diff", "--unsafe-fixes"], dir.path());
    assert_eq!(diff.status.code(), Some(1), "there is a fix to show");
    let zero = run(&["check", "src", "--diff", "--unsafe-fixes", "--exit-zero"], dir.path());
    assert_eq!((zero.status.code(), stdout(&zero)), (Some(0), stdout(&diff)));
}

#[test]
fn quiet_silences_the_counts_of_diff_write_baseline_and_add_suppressions() {
    let runs: [&[&str]; 3] = [
        &["check", "src", "--diff", "--unsafe-fixes"],
        &["check", "src", "--write-baseline", "baseline.json"],
        &["check", "src", "--add-suppressions"],
    ];
    for args in runs {
        // Each run in a tree of its own: `--add-suppressions` changes the file it checks.
        let (loud_dir, quiet_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        write(loud_dir.path(), "src/bad.rs", BLOCKING.as_bytes());
        write(quiet_dir.path(), "src/bad.rs", BLOCKING.as_bytes());
        let loud = run(args, loud_dir.path());
        assert_ne!(stderr(&loud), "", "{args:?} says nothing even without -q");
        let quiet = run(&[args, &["-q"]].concat(), quiet_dir.path());
        assert_eq!(stderr(&quiet), "", "{args:?}");
        assert_eq!(quiet.status.code(), loud.status.code(), "{args:?}");
        assert_eq!(stdout(&quiet), stdout(&loud), "{args:?}");
        let (loud_text, quiet_text) = (dir_text(loud_dir.path()), dir_text(quiet_dir.path()));
        assert_eq!(quiet_text, loud_text, "{args:?}: -q changed what was written");
    }
}

fn dir_text(dir: &std::path::Path) -> Vec<String> {
    ["src/bad.rs", "baseline.json"].iter().map(|f| std::fs::read_to_string(dir.join(f)).unwrap_or_default()).collect()
}

#[test]
fn statistics_count_findings_per_rule_most_first_instead_of_the_findings() {
    let dir = tempfile::tempdir().unwrap();
    let source =
        "async fn f() {\n    futures::executor::block_on(g());\n    tokio::spawn(g());\n    tokio::spawn(g());\n}\n";
    write(dir.path(), "src/lib.rs", source);
    write(dir.path(), "src/other.rs", BLOCKING.as_bytes());
    write(dir.path(), "src/third.rs", "async fn h() { tokio::spawn(g()); }\n");
    write(dir.path(), "src/fourth.rs", "async fn k() { std::thread::sleep(D); g().await; }\n");
    let output = run(&["check", "src", "--statistics"], dir.path());
    assert_eq!(output.status.code(), Some(1));
    // Ties (`h` never awaits) are in id order.
    let table = "3  spawn-without-join   [ ]\n2  block-on-in-async    [*]\n1  async-without-await  [ ]\n1  blocking-in-async    [ ]\n";
    assert_eq!(stdout(&output), table);
    assert!(stderr(&output).starts_with("Found 7 findings"), "{}", stderr(&output));
    let zero = run(&["check", "src", "--statistics", "--exit-zero", "-q"], dir.path());
    assert_eq!((zero.status.code(), stderr(&zero)), (Some(0), String::new()));
    // The same rows for scripts.
    let json = run(&["check", "src", "--statistics", "--format", "json"], dir.path());
    assert_eq!(json.status.code(), Some(1));
    let rows: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
    let expected = serde_json::json!([
        { "rule": "spawn-without-join", "count": 3, "fixable": false },
        { "rule": "block-on-in-async", "count": 2, "fixable": true },
        { "rule": "async-without-await", "count": 1, "fixable": false },
        { "rule": "blocking-in-async", "count": 1, "fixable": false },
    ]);
    assert_eq!(rows, expected);
}
