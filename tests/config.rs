//! Configuration as users write it: where it is found, what each key does, and the errors.

mod common;

use std::path::Path;

use common::{diagnostics, json, path_rules, run, stderr, stdout, write};

/// One `block-on-in-async` (correctness, line 2) and one `blocking-in-async` (suspicious, line 3).
const MIXED: &str = "async fn handler() {
    futures::executor::block_on(work());
    std::thread::sleep(PAUSE);
    work().await;
}
async fn work() {}
";

/// The rules reported by `check --format json ARGS` in `dir`, in output order.
fn rules(args: &[&str], dir: &Path) -> Vec<String> {
    let (code, value) = json(args, dir);
    assert!(code == 0 || code == 1, "exit {code}");
    path_rules(&value).into_iter().map(|(_, rule)| rule).collect()
}

/// `(path, line, rule)` of every finding.
fn findings(args: &[&str], dir: &Path) -> Vec<(String, u64, String)> {
    let (_, value) = json(args, dir);
    diagnostics(&value)
        .iter()
        .map(|d| (d["path"].as_str().unwrap().to_string(), d["line"].as_u64().unwrap(), d["rule"].to_string()))
        .map(|(path, line, rule)| (path, line, rule.trim_matches('"').to_string()))
        .collect()
}

/// Runs `check` expecting the configuration to be rejected; returns stderr.
fn rejected(args: &[&str], dir: &Path) -> String {
    let mut all = vec!["check"];
    all.extend_from_slice(args);
    let output = run(&all, dir);
    assert_eq!(output.status.code(), Some(2), "stdout: {}\nstderr: {}", stdout(&output), stderr(&output));
    assert!(stdout(&output).is_empty());
    stderr(&output)
}

const BOTH: [&str; 2] = ["block-on-in-async", "blocking-in-async"];

#[test]
fn every_file_form_is_found() {
    let forms = [
        ("async-lint.toml", "ignore = [\"block-on-in-async\"]\n"),
        (".async-lint.toml", "ignore = [\"block-on-in-async\"]\n"),
        ("Cargo.toml", "[package]\nname = \"x\"\n\n[package.metadata.async-lint]\nignore = [\"block-on-in-async\"]\n"),
        ("Cargo.toml", "[workspace]\n\n[workspace.metadata.async-lint]\nignore = [\"block-on-in-async\"]\n"),
    ];
    for (name, text) in forms {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "src/lib.rs", MIXED);
        assert_eq!(rules(&["src"], dir.path()), BOTH, "{name} not written yet");
        write(dir.path(), name, text);
        assert_eq!(rules(&["src"], dir.path()), ["blocking-in-async"], "{name}: {text}");
        assert_eq!(rules(&["src", "--no-config"], dir.path()), BOTH, "--no-config ignores {name}");
    }
}

#[test]
fn the_nearest_configuration_above_the_first_path_wins() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "async-lint.toml", "ignore = [\"block-on-in-async\"]\n");
    write(dir.path(), "member/src/lib.rs", MIXED);
    // A manifest without an `async-lint` table is passed over.
    write(dir.path(), "member/Cargo.toml", "[package]\nname = \"member\"\n");
    assert_eq!(rules(&["member/src"], dir.path()), ["blocking-in-async"]);
    assert_eq!(rules(&["member/src/lib.rs"], dir.path()), ["blocking-in-async"]);

    write(
        dir.path(),
        "member/Cargo.toml",
        "[package]\nname = \"m\"\n[package.metadata.async-lint]\nignore = [\"perf\"]\n",
    );
    assert_eq!(rules(&["member/src"], dir.path()), BOTH, "the member's own table wins, not merged with the root's");
    // Only the first PATH's configuration is used.
    write(dir.path(), "other/src/lib.rs", MIXED);
    assert_eq!(rules(&["other", "member"], dir.path()), ["blocking-in-async", "blocking-in-async"]);

    // The dotfile wins over `async-lint.toml` in the same folder.
    write(dir.path(), "member/src/.async-lint.toml", "ignore = [\"blocking-in-async\"]\n");
    assert_eq!(rules(&["member/src"], dir.path()), ["block-on-in-async"]);
}

#[test]
fn config_names_the_file_to_use() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "src/lib.rs", MIXED);
    write(dir.path(), "async-lint.toml", "ignore = [\"block-on-in-async\"]\n");
    write(dir.path(), "ci/strict.toml", "ignore = [\"blocking-in-async\"]\n");
    write(dir.path(), "ci/Cargo.toml", "[workspace.metadata.async-lint]\nselect = [\"suspicious\"]\n");
    assert_eq!(rules(&["src", "--config", "ci/strict.toml"], dir.path()), ["block-on-in-async"]);
    assert_eq!(rules(&["src", "--config", "ci/Cargo.toml"], dir.path()), ["blocking-in-async"]);

    write(dir.path(), "ci/Cargo.toml", "[package]\nname = \"x\"\n");
    let message = rejected(&["src", "--config", "ci/Cargo.toml"], dir.path());
    assert!(message.contains("ci/Cargo.toml: no `[package.metadata.async-lint]`"), "{message}");
    let message = rejected(&["src", "--config", "ci/none.toml"], dir.path());
    assert!(message.contains("error: cannot read `ci/none.toml`"), "{message}");
}

#[test]
fn select_extend_select_and_ignore_layer_like_ruff() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "src/lib.rs", MIXED);
    write(dir.path(), "async-lint.toml", "select = [\"correctness\"]\n");
    assert_eq!(rules(&["src"], dir.path()), ["block-on-in-async"]);
    // The command line's `--select` replaces the file's; `--extend-select` adds; `--ignore` removes.
    assert_eq!(rules(&["src", "--select", "suspicious"], dir.path()), ["blocking-in-async"]);
    assert_eq!(rules(&["src", "--extend-select", "blocking-in-async"], dir.path()), BOTH);
    assert_eq!(rules(&["src", "--select", "all", "--ignore", "block-on-in-async,perf"], dir.path()), [BOTH[1]]);

    write(dir.path(), "async-lint.toml", "select = [\"perf\"]\nextend-select = [\"blocking-in-async\"]\n");
    assert_eq!(rules(&["src"], dir.path()), ["blocking-in-async"]);
    write(dir.path(), "async-lint.toml", "ignore = [\"all\"]\nextend-select = [\"block-on-in-async\"]\n");
    assert_eq!(rules(&["src"], dir.path()), Vec::<String>::new(), "ignore wins within one layer");
    assert_eq!(rules(&["src", "--select", "block-on-in-async"], dir.path()), ["block-on-in-async"]);
}

#[test]
fn severity_overrides_the_category_default_and_off_turns_a_rule_off() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "src/lib.rs", MIXED);
    write(dir.path(), "async-lint.toml", "[severity]\nsuspicious = \"error\"\nblock-on-in-async = \"warning\"\n");
    let (code, value) = json(&["src"], dir.path());
    assert_eq!(code, 1);
    let severities: Vec<_> = diagnostics(&value).iter().map(|d| (d["rule"].clone(), d["severity"].clone())).collect();
    assert_eq!(
        severities,
        [("block-on-in-async".into(), "warning".into()), ("blocking-in-async".into(), "error".into())]
    );

    write(dir.path(), "async-lint.toml", "[severity]\nblock-on-in-async = \"off\"\n");
    assert_eq!(rules(&["src"], dir.path()), ["blocking-in-async"]);
    // `off` is the file's `ignore`: the command line can select the rule again.
    assert_eq!(rules(&["src", "--select", "all"], dir.path()), BOTH);
}

#[test]
fn per_file_ignores_and_engine_ids() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "src/lib.rs", MIXED);
    write(dir.path(), "src/generated/api.rs", MIXED);
    write(dir.path(), "src/broken.rs", "fn broken( {\n");
    write(
        dir.path(),
        "async-lint.toml",
        "[per-file-ignores]\n\"src/generated/**\" = [\"blocking-in-async\"]\n\"broken.rs\" = [\"parse-error\"]\n",
    );
    let found: Vec<_> = findings(&["src"], dir.path()).into_iter().map(|(p, _, r)| (p, r)).collect();
    let expected = [
        ("src/generated/api.rs", "block-on-in-async"),
        ("src/lib.rs", "block-on-in-async"),
        ("src/lib.rs", "blocking-in-async"),
    ];
    assert_eq!(found, expected.map(|(p, r)| (p.to_string(), r.to_string())));

    // Globs are relative to the configuration file's folder, whatever the current folder is.
    let found = findings(&["."], &dir.path().join("src"));
    assert_eq!(found.len(), 3, "{found:?}");
    let found = findings(&["--config", "async-lint.toml", "--ignore", "parse-error", "src/broken.rs"], dir.path());
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn exclude_skips_discovered_files_but_not_named_ones() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "crate/src/lib.rs", MIXED);
    write(dir.path(), "crate/src/legacy.rs", MIXED);
    write(dir.path(), "crate/vendor/dep/lib.rs", MIXED);
    write(dir.path(), "crate/async-lint.toml", "exclude = [\"vendor/\", \"src/legacy.rs\"]\n");
    let (_, value) = json(&["crate"], dir.path());
    let paths: Vec<_> = path_rules(&value).into_iter().map(|(path, _)| path).collect();
    assert_eq!(paths, ["crate/src/lib.rs", "crate/src/lib.rs"]);
    assert_eq!(value["summary"]["files_analysed"], 1);
    let (_, value) = json(&["crate/src/legacy.rs"], dir.path());
    assert_eq!(value["summary"]["files_analysed"], 1, "a file named on the command line is checked");
    assert_eq!(path_rules(&value).len(), 2);
}

#[test]
fn mistakes_are_errors_that_name_the_file_line_and_column() {
    let cases = [
        ("async-lint.toml", "select = [\"all\"]\nfrobnicate = true\n", "async-lint.toml:2:1: unknown field `frobnicate`"),
        ("async-lint.toml", "ignore = [\"perf\", \"block-on-async\"]\n", "async-lint.toml:1:19: unknown rule `block-on-async` in `ignore`\n  help: did you mean `block-on-in-async`?"),
        ("async-lint.toml", "[severity]\nblocking-in-async = \"fatal\"\n", "async-lint.toml:2:21: unknown severity `fatal`: expected `error`, `warning` or `off`"),
        ("async-lint.toml", "[severity]\nno-such-rule = \"error\"\n", "async-lint.toml:2:1: unknown rule `no-such-rule` in `severity`"),
        ("async-lint.toml", "[per-file-ignores]\n\"tests/**\" = [\"unawaited\"]\n", "async-lint.toml:2:15: unknown rule `unawaited` in `per-file-ignores`"),
        ("async-lint.toml", "test-code = \"sometimes\"\n", "async-lint.toml:1:13: unknown mode `sometimes`: expected `check`, `relaxed` or `skip`"),
        ("async-lint.toml", "[severity]\nperf = 1\n", "async-lint.toml:2:8: invalid type: integer `1`, expected a string"),
        ("async-lint.toml", "select = [\n", "async-lint.toml:1:11: unclosed array, expected `]`"),
        ("async-lint.toml", "[extend.executors]\nspawners = []\n", "async-lint.toml:2:1: unknown field `spawners`"),
        ("Cargo.toml", "[package]\nname = \"x\"\n\n[package.metadata.async-lint]\nselect = [\"perf\"]\nexclude = \"target\"\n", "Cargo.toml:6:11: invalid type: string \"target\", expected a sequence"),
    ];
    for (name, text, expected) in cases {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "src/lib.rs", MIXED);
        write(dir.path(), name, text);
        let message = rejected(&["src"], dir.path());
        assert!(message.starts_with(&format!("error: {expected}")), "{text}\n---\n{message}");
    }
    let dir = tempfile::tempdir().unwrap();
    let message = rejected(&["--no-config", "--select", "correctness,spawn-without-jion"], dir.path());
    assert!(message.starts_with("error: unknown rule `spawn-without-jion` in `--select`"), "{message}");
    assert!(message.contains("did you mean `spawn-without-join`?"), "{message}");
    let message = rejected(&["--config", "a.toml", "--no-config"], dir.path());
    assert!(message.contains("cannot be used with"), "{message}");
}

#[test]
fn user_catalog_entries_are_matched_like_built_in_ones() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "src/lib.rs",
        "use mycrate::rt;
async fn handler() {
    mycrate::db::query_sync(1);
    rt::wait_on(work());
    rt::launch(work());
    work().await;
}
async fn work() {}
",
    );
    write(
        dir.path(),
        "async-lint.toml",
        r#"
[[extend.blocking-apis.api]]
path = "mycrate::db::query_sync"
kind = "fn"
reason = "waits for the database to answer"
tokio = "mycrate::db::query(..).await"

[extend.executors]
block-on = ["mycrate::rt::wait_on"]
spawn = ["mycrate::rt::launch"]
"#,
    );
    let (_, value) = json(&["src"], dir.path());
    let found: Vec<_> =
        diagnostics(&value).iter().map(|d| (d["line"].clone(), d["rule"].clone(), d["help"].clone())).collect();
    assert_eq!(found.len(), 3, "{found:#?}");
    assert_eq!(found[0].0, 3);
    assert_eq!(found[0].1, "blocking-in-async");
    assert_eq!(found[0].2, "use `mycrate::db::query(..).await` or your runtime's equivalent");
    assert_eq!(diagnostics(&value)[0]["label"], "waits for the database to answer");
    assert_eq!((found[1].0.clone(), found[1].1.clone()), (4.into(), "block-on-in-async".into()));
    assert_eq!((found[2].0.clone(), found[2].1.clone()), (5.into(), "spawn-without-join".into()));
    assert_eq!(rules(&["src", "--no-config"], dir.path()), Vec::<String>::new(), "unknown APIs without the config");

    write(
        dir.path(),
        "async-lint.toml",
        "[extend.blocking-apis]\napi = [{ path = \"x::{name}\", kind = \"fn\", reason = \"r\" }]\n",
    );
    let message = rejected(&["src"], dir.path());
    assert!(
        message.starts_with("error: async-lint.toml:2:8: `x::{name}`: a `{..}` placeholder without `names`"),
        "{message}"
    );
}

/// Each line that any mode may flag says which rule it is.
const TEST_CODE: &str = "async fn prod() {
    std::thread::sleep(PAUSE);
    work().await;
}
async fn work() {}
#[cfg(test)]
mod tests {
    async fn helper() {
        std::thread::sleep(PAUSE);
        futures::executor::block_on(work());
        tokio::spawn(work());
        work().await;
    }
}
";

#[test]
fn test_code_modes() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "src/lib.rs", TEST_CODE);
    write(dir.path(), "tests/it.rs", "async fn helper() { std::thread::sleep(PAUSE); work().await; }\n");
    write(dir.path(), "examples/demo.rs", "async fn helper() { std::thread::sleep(PAUSE); work().await; }\n");
    let lines = |mode: &str| -> Vec<(String, u64, String)> {
        let mut args = vec!["src", "tests", "examples"];
        if !mode.is_empty() {
            args.extend(["--test-code", mode]);
        }
        findings(&args, dir.path())
    };
    let at = |path: &str, line: u64, rule: &str| (path.to_string(), line, rule.to_string());
    let relaxed = vec![at("src/lib.rs", 2, "blocking-in-async"), at("src/lib.rs", 10, "block-on-in-async")];
    assert_eq!(lines(""), relaxed, "relaxed is the default");
    assert_eq!(lines("relaxed"), relaxed);
    assert_eq!(lines("skip"), [at("src/lib.rs", 2, "blocking-in-async")]);
    let check = vec![
        at("examples/demo.rs", 1, "blocking-in-async"),
        at("src/lib.rs", 2, "blocking-in-async"),
        at("src/lib.rs", 9, "blocking-in-async"),
        at("src/lib.rs", 10, "block-on-in-async"),
        at("src/lib.rs", 11, "spawn-without-join"),
        at("tests/it.rs", 1, "blocking-in-async"),
    ];
    assert_eq!(lines("check"), check);
    write(dir.path(), "async-lint.toml", "test-code = \"check\"\n");
    assert_eq!(lines(""), check);
    assert_eq!(lines("skip").len(), 1, "the command line wins over the file");
}

/// The ```toml blocks of the README's Configuration section, in order.
fn readme_examples() -> Vec<String> {
    let readme = std::fs::read_to_string("README.md").unwrap();
    let section = readme.split("\n## Configuration\n").nth(1).unwrap().split("\n## ").next().unwrap();
    section.split("```toml\n").skip(1).map(|block| block.split("```").next().unwrap().to_string()).collect()
}

#[test]
fn the_readme_examples_are_valid_configurations() {
    let examples = readme_examples();
    assert_eq!(examples.len(), 2, "the full example and the Cargo.toml form");
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "src/lib.rs", MIXED);
    write(dir.path(), "async-lint.toml", &examples[0]);
    let (_, value) = json(&["src"], dir.path());
    let severities: Vec<_> = diagnostics(&value).iter().map(|d| (d["rule"].clone(), d["severity"].clone())).collect();
    assert_eq!(
        severities,
        [("block-on-in-async".into(), "error".into()), ("blocking-in-async".into(), "error".into())]
    );

    std::fs::remove_file(dir.path().join("async-lint.toml")).unwrap();
    write(dir.path(), "Cargo.toml", format!("[workspace]\n{}", examples[1]));
    let (_, value) = json(&["src"], dir.path());
    let severities: Vec<_> = diagnostics(&value).iter().map(|d| (d["rule"].clone(), d["severity"].clone())).collect();
    assert_eq!(
        severities,
        [("block-on-in-async".into(), "error".into()), ("blocking-in-async".into(), "error".into())]
    );
}

#[test]
fn a_user_cancellation_type_counts_as_a_way_to_stop() {
    let dir = tempfile::tempdir().unwrap();
    let source = "use mycrate::Halt;
pub async fn poll_forever(client: Client, halt: Halt) {
    loop {
        client.poll().await;
    }
}
";
    write(dir.path(), "src/lib.rs", source);
    assert_eq!(rules(&["src"], dir.path()), ["missing-cancellation"]);
    write(dir.path(), "async-lint.toml", "[extend.cancellation]\ntypes = [\"mycrate::Halt\"]\n");
    assert_eq!(rules(&["src"], dir.path()), Vec::<String>::new());
}
