//! Every kind of file a linter meets in CI and editors: each bad one gets one clear finding with
//! its path, every other file is still analysed, and nothing panics, hangs or loses a finding.

mod common;

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use async_lint::engine::{files, lint_discovered, Options};
use common::{command, diagnostics, json, path_rules, run, stderr, write, BLOCKING};

fn single(value: &serde_json::Value) -> &serde_json::Value {
    let all = diagnostics(value);
    assert_eq!(all.len(), 1, "{value:#}");
    &all[0]
}

fn position(d: &serde_json::Value) -> (u64, u64, u64) {
    (d["line"].as_u64().unwrap(), d["column"].as_u64().unwrap(), d["byte_start"].as_u64().unwrap())
}

#[test]
fn syntax_errors_of_many_kinds_point_at_where_parsing_stopped() {
    let cases: &[(&str, (u64, u64))] = &[
        ("fn f() { let x = ; }\n", (1, 18)),           // missing expression
        ("fn f() {\n    g(1 2);\n}\n", (2, 9)),        // missing comma
        ("struct S { a: u32 b: u32 }\n", (1, 19)),     // missing field separator
        ("fn f() { \"unterminated }\n", (1, 10)),      // unterminated string
        ("fn f() { ) }\n", (1, 10)),                   // unbalanced delimiter
        ("impl { }\n", (1, 6)),                        // missing type
        ("fn f() -> { }\n", (1, 11)),                  // missing return type
        ("async fn f() { x.await?? ; } }\n", (1, 30)), // extra closing brace
        ("fn f() { let v = vec![1, 2; }\n", (1, 29)),  // mismatched delimiter inside a macro
        ("€ fn f() {}\n", (1, 1)),                     // not a Rust token
    ];
    let dir = tempfile::tempdir().unwrap();
    for (i, (source, _)) in cases.iter().enumerate() {
        write(dir.path(), &format!("case{i:02}.rs"), source);
    }
    write(dir.path(), "z_good.rs", BLOCKING);
    let (code, value) = json(&["."], dir.path());
    assert_eq!(code, 1);
    let found = diagnostics(&value);
    assert_eq!(found.len(), cases.len() + 1, "{value:#}");
    for (i, (source, (line, column))) in cases.iter().enumerate() {
        let d = &found[i];
        assert_eq!(d["rule"], "parse-error", "case {i}: {source}");
        assert!(d["message"].as_str().unwrap().starts_with("cannot parse this file: "), "{d}");
        assert_eq!(
            (d["line"].as_u64().unwrap(), d["column"].as_u64().unwrap()),
            (*line, *column),
            "case {i}: {source}{d}"
        );
    }
    assert_eq!(found[cases.len()]["rule"], "block-on-in-async");
}

#[test]
fn a_file_cut_off_mid_token_is_a_parse_error() {
    let dir = tempfile::tempdir().unwrap();
    let full = "async fn fetch_all() { futures::executor::block_on(g()); }\n";
    for cut in [3, 10, 25, 47, full.len() - 2] {
        write(dir.path(), &format!("cut{cut:02}.rs"), &full[..cut]);
    }
    let (code, value) = json(&["."], dir.path());
    assert_eq!(code, 1);
    let rules: Vec<String> = path_rules(&value).into_iter().map(|(_, rule)| rule).collect();
    assert_eq!(rules, ["parse-error"; 5]);
    for d in diagnostics(&value) {
        assert!(d["byte_start"].as_u64().unwrap() <= full.len() as u64);
    }
}

#[test]
fn invalid_utf8_and_binary_files_are_io_errors() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "latin1.rs", b"// caf\xe9\nfn f() {}\n");
    let binary: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    write(dir.path(), "random.rs", &binary);
    write(dir.path(), "nul.rs", b"fn f() {}\0\0\0\n");
    let (_, value) = json(&["."], dir.path());
    let found = path_rules(&value);
    assert_eq!(found[0], ("./latin1.rs".into(), "io-error".into()));
    assert!(diagnostics(&value)[0]["message"].as_str().unwrap().contains("not valid UTF-8 (invalid byte at offset 6)"));
    // NUL bytes are valid UTF-8 but not Rust.
    assert_eq!(found[1], ("./nul.rs".into(), "parse-error".into()));
    assert_eq!(found[2], ("./random.rs".into(), "io-error".into()));
}

#[test]
fn a_byte_order_mark_counts_in_byte_offsets_but_not_in_columns() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "bom.rs", format!("\u{feff}{BLOCKING}"));
    let (_, value) = json(&["bom.rs"], dir.path());
    assert_eq!(position(single(&value)), (1, 16, 18));
}

#[test]
fn crlf_line_endings_keep_lines_columns_and_offsets_right() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "crlf.rs", "// one\r\nasync fn f() {\r\n    futures::executor::block_on(g());\r\n}\r\n");
    let (_, value) = json(&["crlf.rs"], dir.path());
    let d = single(&value);
    assert_eq!(position(d), (3, 5, 28));
    assert_eq!((d["end_line"].as_u64(), d["end_column"].as_u64()), (Some(3), Some(37)));
}

#[test]
fn an_empty_file_is_clean() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "empty.rs", "");
    let output = run(&["check", "empty.rs"], dir.path());
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}

#[test]
fn a_50_mb_generated_file_is_analysed_to_its_last_line() {
    let dir = tempfile::tempdir().unwrap();
    // Generated data as build scripts write it: large literals, then code.
    let blob = "x".repeat(1000);
    let mut source = String::with_capacity(51 << 20);
    let mut lines = 0;
    while source.len() < 50 << 20 {
        source.push_str(&format!("pub static BLOB_{lines}: &str = \"{blob}\";\n"));
        lines += 1;
    }
    let offset = source.len() + "async fn f() { ".len();
    source.push_str(BLOCKING);
    write(dir.path(), "generated.rs", &source);
    let (_, value) = json(&["generated.rs"], dir.path());
    assert_eq!(position(single(&value)), (lines + 1, 16, offset as u64));
}

#[test]
fn a_single_1_mb_line_keeps_exact_columns() {
    let dir = tempfile::tempdir().unwrap();
    let prefix = format!("const TABLE: [u8; 250000] = [{}]; ", "0, ".repeat(250_000));
    write(dir.path(), "wide.rs", format!("{prefix}{BLOCKING}"));
    let (_, value) = json(&["wide.rs"], dir.path());
    let column = prefix.chars().count() as u64 + 16;
    assert_eq!(position(single(&value)), (1, column, column - 1));
}

#[test]
fn expressions_and_blocks_nested_10_000_deep_do_not_overflow() {
    let dir = tempfile::tempdir().unwrap();
    let depth = 10_000;
    let blocks =
        format!("async fn b() {{ {}futures::executor::block_on(g()); {} }}\n", "{ ".repeat(depth), "} ".repeat(depth));
    let calls = format!("fn c() {{ {}0{} }}\n", "f(".repeat(depth), ")".repeat(depth));
    let unary = format!("fn u() -> i32 {{ {}1 }}\n", "-".repeat(depth));
    write(dir.path(), "blocks.rs", blocks);
    write(dir.path(), "calls.rs", calls);
    write(dir.path(), "unary.rs", unary);
    let (code, value) = json(&["."], dir.path());
    assert_eq!(code, 1);
    assert_eq!(path_rules(&value), [("./blocks.rs".to_string(), "block-on-in-async".to_string())]);
}

#[test]
fn a_tree_of_100_000_files_is_analysed_in_full() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..100_000 {
        let source = if i % 10_000 == 0 { BLOCKING } else { "fn f() {}\n" };
        write(dir.path(), &format!("d{}/m{i}.rs", i / 1000), source);
    }
    let (_, value) = json(&["."], dir.path());
    assert_eq!(value["summary"]["files_analysed"], 100_000);
    assert_eq!(diagnostics(&value).len(), 10);
}

#[cfg(unix)]
#[test]
fn symlink_loops_and_dangling_symlinks_are_reported_not_followed_forever() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "sub/good.rs", BLOCKING);
    symlink("..", dir.path().join("sub/up")).unwrap(); // a folder loop
    symlink("self.rs", dir.path().join("self.rs")).unwrap(); // a file loop
    symlink("missing.rs", dir.path().join("dangling.rs")).unwrap();
    let (code, value) = json(&["."], dir.path());
    assert_eq!(code, 1);
    let expected = [("./dangling.rs", "io-error"), ("./self.rs", "io-error"), ("./sub/good.rs", "block-on-in-async")];
    assert_eq!(path_rules(&value), expected.map(|(p, r)| (p.to_string(), r.to_string())));
    assert!(diagnostics(&value)[0]["message"].as_str().unwrap().starts_with("cannot read file: "));
}

#[cfg(unix)]
#[test]
fn an_unreadable_file_is_an_io_error_and_the_others_are_still_checked() {
    use std::os::unix::fs::{symlink, PermissionsExt};
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("folder")).unwrap();
    symlink("folder", dir.path().join("a_folder.rs")).unwrap(); // reading it fails: a folder
    write(dir.path(), "b_good.rs", BLOCKING);
    write(dir.path(), "c_secret.rs", BLOCKING);
    fs::set_permissions(dir.path().join("c_secret.rs"), fs::Permissions::from_mode(0o000)).unwrap();
    // Root reads a file whatever its permissions: then the finding is the file's own.
    let readable = fs::read(dir.path().join("c_secret.rs")).is_ok();
    let (_, value) = json(&["."], dir.path());
    let secret = if readable { "block-on-in-async" } else { "io-error" };
    let expected = [("./a_folder.rs", "io-error"), ("./b_good.rs", "block-on-in-async"), ("./c_secret.rs", secret)];
    assert_eq!(path_rules(&value), expected.map(|(p, r)| (p.to_string(), r.to_string())));
    assert!(diagnostics(&value)[0]["message"].as_str().unwrap().contains("Is a directory"), "{value:#}");
}

#[test]
fn a_file_deleted_after_discovery_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "stays.rs", BLOCKING);
    write(dir.path(), "goes.rs", BLOCKING);
    let discovery = files::discover(&[dir.path().to_path_buf()]).unwrap();
    assert_eq!(discovery.files.len(), 2);
    fs::remove_file(dir.path().join("goes.rs")).unwrap();
    let report = lint_discovered(discovery, &Options::default()).unwrap();
    let found: Vec<(PathBuf, &str)> =
        report.files.iter().flat_map(|f| f.diagnostics.iter().map(|d| (f.path.clone(), d.rule))).collect();
    assert_eq!(found, [(dir.path().join("goes.rs"), "io-error"), (dir.path().join("stays.rs"), "block-on-in-async")]);
}

#[test]
fn paths_with_spaces_and_non_ascii_characters_are_reported_as_given() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "my crate/src/naïve ü.rs", BLOCKING);
    let (_, value) = json(&["my crate"], dir.path());
    assert_eq!(path_rules(&value), [("my crate/src/naïve ü.rs".to_string(), "block-on-in-async".to_string())]);
    let human = run(&["check", "my crate/src/naïve ü.rs", "--color", "never"], dir.path());
    assert!(common::stdout(&human).contains("my crate/src/naïve ü.rs:1:16"));
}

#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..300 {
        write(dir.path(), &format!("f{i:03}.rs"), BLOCKING.repeat(20));
    }
    let mut child = command(&["check", ".", "--color", "never"], dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap(); // then the reader goes away
    let mut errors = String::new();
    child.stderr.take().unwrap().read_to_string(&mut errors).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{errors}");
    assert!(errors.is_empty(), "{errors}");
}

#[test]
fn output_is_byte_identical_whatever_rayon_num_threads_says() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..60 {
        write(dir.path(), &format!("m{}/f{i}.rs", i % 7), format!("{BLOCKING}async fn h() {{ tokio::spawn(f()); }}\n"));
    }
    write(dir.path(), "broken.rs", "fn (");
    let outputs: Vec<Vec<u8>> = ["1", "3", "8"]
        .iter()
        .map(|threads| {
            let output = command(&["check", ".", "--format", "json"], dir.path())
                .env("RAYON_NUM_THREADS", threads)
                .output()
                .unwrap();
            output.stdout
        })
        .collect();
    assert!(!outputs[0].is_empty());
    assert_eq!(outputs[0], outputs[1]);
    assert_eq!(outputs[0], outputs[2]);
}

/// Peak memory grows with the largest file, not with the tree: each file's syntax tree (and
/// proc-macro2's copy of its source) is dropped once it has been analysed, and its fn facts are
/// folded into its crate's index per name. Measured with GNU time's peak RSS of a child process;
/// skipped where `/usr/bin/time` is missing.
#[test]
fn peak_memory_does_not_grow_with_the_number_of_files() {
    if !Path::new("/usr/bin/time").exists() {
        eprintln!("skipped: no /usr/bin/time to measure peak memory");
        return;
    }
    let source: String =
        (0..2000).map(|i| format!("pub fn f{i}(x: u32) -> u32 {{ let y = x + {i}; y * 2 }}\n")).collect();
    let peak_kb = |files: usize| {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..files {
            write(dir.path(), &format!("m{i}.rs"), &source);
        }
        let output = std::process::Command::new("/usr/bin/time")
            .args(["-f", "%M", env!("CARGO_BIN_EXE_async-lint"), "check", ".", "-j", "2"])
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        let text = stderr(&output);
        text.lines().last().unwrap().trim().parse::<u64>().unwrap_or_else(|_| panic!("{text}"))
    };
    let (few, many) = (peak_kb(20), peak_kb(400));
    // 20x the files (about 2.3 MB of code in all, 800,000 fns): the peak may not follow. Keeping
    // each fn's facts until the end cost 3.5x (47 MB with 20 files, 165 MB with 400).
    assert!(many * 10 <= few * 13, "peak RSS {few} KB with 20 files, {many} KB with 400");
}

#[test]
fn edition_2015_bare_fn_trait_objects_are_analysed_with_exact_positions() {
    // syn 3 stops at the `(` of a bare `Fn(..)` type; rustc accepts it in edition 2015.
    let source = "type Action = Fn(u32) + Send + Sync;\nasync fn f() {\n    futures::executor::block_on(g());\n}\n";
    let report = async_lint::engine::lint_source(Path::new("old.rs"), source);
    let found: Vec<_> = report.diagnostics.iter().map(|d| (d.rule, d.range.start)).collect();
    assert_eq!(found, [("block-on-in-async", source.find("futures::").unwrap())]);
}
