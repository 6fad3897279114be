//! Where the features meet: configuration, suppression comments, fixes, the baseline and the
//! output formats used together, as a demanding user combines them.

mod common;

use std::path::Path;

use common::{json, path_rules, run, stderr, stdout, write};

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
