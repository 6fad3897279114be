//! Where the features meet: configuration, suppression comments, fixes, the baseline and the
//! output formats used together, as a demanding user combines them.

mod common;

use std::path::Path;

use common::{json, path_rules, run, stderr, write};

/// One `block-on-in-async` (line 2) and one `blocking-in-async` (line 3).
const MIXED: &str = "async fn handler() {
    futures::executor::block_on(work());
    std::thread::sleep(PAUSE);
    work().await;
}
async fn work() {}
";

/// `(path, rule)` of every finding of `check --format json ARGS` in `dir`.
fn found(args: &[&str], dir: &Path) -> Vec<(String, String)> {
    let (code, value) = json(args, dir);
    assert!(code == 0 || code == 1, "exit {code}");
    path_rules(&value)
}

#[test]
fn a_config_file_named_without_a_folder_has_its_globs_relative_to_the_current_folder() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "src/lib.rs", MIXED);
    write(dir.path(), "src/generated.rs", MIXED);
    write(
        dir.path(),
        "other.toml",
        "exclude = [\"src/generated.rs\"]\n[per-file-ignores]\n\"src/lib.rs\" = [\"blocking-in-async\"]\n",
    );
    let expected = [("src/lib.rs".to_string(), "block-on-in-async".to_string())];
    for config in ["other.toml", "./other.toml"] {
        assert_eq!(found(&["--config", config, "src"], dir.path()), expected, "--config {config}");
    }
}

/// A task spawned and dropped: `spawn-without-join`, a rule relaxed in test code.
const SPAWNED_IN_TESTS: &str = "#[cfg(test)]
mod tests {
    pub async fn server() {
        // async-lint: allow(spawn-without-join) -- the test's runtime cancels it
        tokio::spawn(serve());
    }

    #[tokio::test]
    async fn client() {
        tokio::spawn(serve()); // async-lint: allow(spawn-without-join) -- same
    }
}

// async-lint: allow(spawn-without-join) -- nothing spawned here: reported in every mode
async fn production() {}
";

#[test]
fn a_suppression_in_test_code_of_a_rule_the_test_code_mode_turns_off_there_is_not_unused() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "src/lib.rs", SPAWNED_IN_TESTS);
    write(
        dir.path(),
        "tests/it.rs",
        "pub async fn f() {\n    // async-lint: allow(spawn-without-join) -- r\n    tokio::spawn(serve());\n}\n",
    );
    let only_production = [("src/lib.rs".to_string(), "unused-suppression".to_string())];
    for mode in ["relaxed", "check", "skip"] {
        assert_eq!(found(&["--test-code", mode, "src", "tests"], dir.path()), only_production, "--test-code {mode}");
    }
    // So `--fix` under the default mode does not delete what `--test-code check` needs.
    let fixed = run(&["check", "--fix", "-q", "src", "tests"], dir.path());
    assert_eq!(fixed.status.code(), Some(0), "{}", stderr(&fixed));
    assert_eq!(found(&["--test-code", "check", "src", "tests"], dir.path()), []);
}

#[test]
fn sarif_describes_the_suppression_findings_as_the_warnings_they_are() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "src/lib.rs",
        "// async-lint: allow(blocking-in-async) -- nothing here\nfn f() {}\n// async-lint: allow(x)\n",
    );
    let output = run(&["check", "--format", "sarif", "src"], dir.path());
    let document: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let run = &document["runs"][0];
    for result in run["results"].as_array().unwrap() {
        let rule = &run["tool"]["driver"]["rules"][result["ruleIndex"].as_u64().unwrap() as usize];
        assert_eq!(rule["id"], result["ruleId"]);
        assert_eq!(result["level"], "warning", "{result}");
        assert_eq!(rule["defaultConfiguration"]["level"], "warning", "{rule}");
        let description = rule["fullDescription"]["text"].as_str().unwrap();
        assert!(description.contains("suppression comment"), "{}: {description}", rule["id"]);
    }
    assert_eq!(run["results"].as_array().unwrap().len(), 2);
}

#[test]
fn the_full_format_names_the_file_of_a_finding_with_no_source_to_show() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "src/latin1.rs", b"fn caf\xe9() {}\n");
    let output = run(&["check", "--color", "never", "src"], dir.path());
    assert_eq!(output.status.code(), Some(1));
    let text = common::stdout(&output);
    assert!(text.starts_with("error[io-error]: file is not valid UTF-8"), "{text}");
    assert!(text.contains("src/latin1.rs"), "{text}");
}

#[test]
fn a_file_named_twice_in_different_spellings_is_checked_once() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "src/lib.rs", MIXED);
    let absolute = dir.path().join("src/lib.rs");
    let spellings = ["src", "./src/lib.rs", "src/../src/lib.rs", absolute.to_str().unwrap()];
    let expected = ["block-on-in-async", "blocking-in-async"].map(|rule| ("src/lib.rs".to_string(), rule.to_string()));
    assert_eq!(found(&spellings, dir.path()), expected, "as the first PATH spells it");
    let mut args = vec!["check", "--fix", "--unsafe-fixes"];
    args.extend(spellings);
    let fixed = run(&args, dir.path());
    assert!(stderr(&fixed).starts_with("Found 2 findings (1 fixed, 1 remaining)."), "{}", stderr(&fixed));
}

#[test]
fn add_suppressions_refuses_the_flags_that_would_silently_switch_it_off() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "src/lib.rs", MIXED);
    for other in [&["--diff"][..], &["--write-baseline", "b.json"], &["--statistics"]] {
        let mut args = vec!["check", "--add-suppressions", "src"];
        args.extend(other);
        let output = run(&args, dir.path());
        assert_eq!(output.status.code(), Some(2), "{other:?}: {}", stderr(&output));
        assert!(stderr(&output).contains("cannot be used with"), "{other:?}: {}", stderr(&output));
        assert_eq!(std::fs::read_to_string(dir.path().join("src/lib.rs")).unwrap(), MIXED, "{other:?}");
    }
}

/// The long flags in `text`: `--word` not followed by a letter, digit or `-`.
fn long_flags(text: &str) -> std::collections::BTreeSet<String> {
    let mut flags = std::collections::BTreeSet::new();
    for (at, _) in text.match_indices("--") {
        let name: String = text[at + 2..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
        if name.starts_with(|c: char| c.is_ascii_lowercase()) {
            flags.insert(format!("--{name}"));
        }
    }
    flags
}

#[test]
fn the_readme_options_table_lists_every_flag_of_check_help_and_no_other() {
    let dir = tempfile::tempdir().unwrap();
    let help = common::stdout(&run(&["check", "--help"], dir.path()));
    let options = help.split("Options:").nth(1).unwrap();
    // Flag lines are indented less than their descriptions: `  -q, --quiet`, `      --fix`.
    let flag_lines = options.lines().filter(|line| line.len() - line.trim_start().len() < 8);
    let mut from_help: std::collections::BTreeSet<String> = flag_lines.flat_map(long_flags).collect();
    from_help.remove("--help");
    let readme = std::fs::read_to_string("README.md").unwrap();
    let table: String = readme
        .split("## Usage")
        .nth(1)
        .unwrap()
        .lines()
        .skip_while(|line| !line.starts_with("| option"))
        .take_while(|line| line.starts_with('|'))
        .map(|line| line.split('|').nth(1).unwrap_or(""))
        .collect::<Vec<_>>()
        .join(" ");
    assert_eq!(long_flags(&table), from_help, "README.md, ## Usage: the options table");
}

#[test]
fn force_exclude_applies_exclude_to_the_files_pre_commit_names() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "async-lint.toml", "exclude = [\"vendor/\", \"src/generated.rs\"]\n");
    write(dir.path(), "src/lib.rs", MIXED);
    write(dir.path(), "src/generated.rs", MIXED);
    write(dir.path(), "vendor/dep.rs", MIXED);
    let named = ["src/lib.rs", "src/generated.rs", "vendor/dep.rs"];
    assert_eq!(found(&named, dir.path()).len(), 6, "a file named on the command line is checked");
    let mut forced = vec!["--force-exclude"];
    forced.extend(named);
    let paths: Vec<String> = found(&forced, dir.path()).into_iter().map(|(path, _)| path).collect();
    assert_eq!(paths, ["src/lib.rs", "src/lib.rs"]);
    assert_eq!(found(&["--force-exclude", "vendor"], dir.path()), []);
    let hooks = std::fs::read_to_string(".pre-commit-hooks.yaml").unwrap();
    assert!(hooks.contains("entry: async-lint check --force-exclude"), "{hooks}");
}

const BOM: &str = "\u{feff}";

#[test]
fn in_a_file_with_a_byte_order_mark_the_first_line_is_a_line_of_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let blocking = "async fn f() {\n    futures::executor::block_on(g());\n}\n";
    let suppressed = format!("{BOM}// async-lint: allow(block-on-in-async) -- once\n{blocking}");
    write(dir.path(), "src/a.rs", &suppressed);
    assert_eq!(found(&["src"], dir.path()), [], "the comment covers the fn below it");

    let unused = format!("{BOM}// async-lint: allow(blocking-in-async) -- nothing\nfn g() {{}}\n");
    write(dir.path(), "src/a.rs", &unused);
    let fixed = run(&["check", "--fix", "src"], dir.path());
    assert_eq!(fixed.status.code(), Some(0), "{}", stderr(&fixed));
    assert_eq!(std::fs::read_to_string(dir.path().join("src/a.rs")).unwrap(), format!("{BOM}fn g() {{}}\n"));

    let item = "async fn poll_forever(client: Client) {\n    loop { client.poll().await; }\n}\n";
    write(dir.path(), "src/a.rs", format!("{BOM}pub {item}"));
    let added = run(&["check", "--add-suppressions", "src"], dir.path());
    assert_eq!(added.status.code(), Some(0), "{}", stderr(&added));
    let text = std::fs::read_to_string(dir.path().join("src/a.rs")).unwrap();
    let reason = async_lint::engine::suppress::add::REASON;
    assert_eq!(text, format!("{BOM}// async-lint: allow(missing-cancellation) -- {reason}\npub {item}"));
    assert_eq!(found(&["src"], dir.path()), []);
}
