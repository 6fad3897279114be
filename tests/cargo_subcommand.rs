//! `cargo async-lint`: the `cargo-async-lint` binary as cargo runs it, in a workspace.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{stderr, stdout, write, BLOCKING, CLEAN};

/// `cargo-async-lint async-lint ARGS` in `dir`, as `cargo async-lint ARGS` runs it.
fn cargo_async_lint(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cargo-async-lint")).arg("async-lint").args(args).current_dir(dir).output().unwrap()
}

fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "Cargo.toml", "[workspace]\nmembers = [\"crates/*\"]\nresolver = \"2\"\n");
    for member in ["alpha", "beta"] {
        let manifest = format!("[package]\nname = \"{member}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n");
        write(dir.path(), &format!("crates/{member}/Cargo.toml"), manifest);
        write(dir.path(), &format!("crates/{member}/src/lib.rs"), format!("{BLOCKING}{CLEAN}"));
    }
    // Not a member: not checked.
    write(dir.path(), "scratch/lib.rs", BLOCKING);
    dir
}

fn reported_paths(output: &Output) -> Vec<String> {
    let value: serde_json::Value =
        serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}{}", stdout(output), stderr(output)));
    common::path_rules(&value).into_iter().map(|(path, _)| path).collect()
}

#[test]
fn checks_every_member_of_the_workspace() {
    let dir = workspace();
    let output = cargo_async_lint(&["--format", "json"], dir.path());
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(reported_paths(&output), ["crates/alpha/src/lib.rs", "crates/beta/src/lib.rs"]);

    // From inside a member, and with check's options passed through.
    let output = cargo_async_lint(&["--color", "never"], &dir.path().join("crates/alpha"));
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).starts_with("Found 2 findings (2 errors, 0 warnings) in 2 files"), "{}", stderr(&output));
}

#[test]
fn manifest_path_names_the_workspace_and_outside_one_the_run_fails() {
    let dir = workspace();
    let outside = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("crates/beta/Cargo.toml");
    let output = cargo_async_lint(&["--manifest-path", manifest.to_str().unwrap(), "--format", "json"], outside.path());
    // The whole workspace the manifest belongs to, like `cargo clippy --workspace`.
    let expected = ["alpha", "beta"].map(|m| dir.path().join(format!("crates/{m}/src/lib.rs")).display().to_string());
    assert_eq!(reported_paths(&output), expected, "{}", stderr(&output));

    let output = cargo_async_lint(&[], outside.path());
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("error: `cargo metadata` failed"), "{}", stderr(&output));
}

#[test]
fn the_configuration_is_the_workspace_roots_not_the_first_members() {
    let dir = workspace();
    // The first member (in sorted order) has a file of its own that turns the rule off; the
    // workspace's file does not. One configuration per run: the workspace's.
    write(dir.path(), "crates/alpha/async-lint.toml", "ignore = [\"block-on-in-async\"]\n");
    write(dir.path(), "async-lint.toml", "test-code = \"relaxed\"\n");
    let output = cargo_async_lint(&["--format", "json"], dir.path());
    assert_eq!(reported_paths(&output), ["crates/alpha/src/lib.rs", "crates/beta/src/lib.rs"], "{}", stderr(&output));
    // An explicit --config still wins.
    let config = dir.path().join("crates/alpha/async-lint.toml");
    let output = cargo_async_lint(&["--format", "json", "--config", config.to_str().unwrap()], dir.path());
    assert_eq!(reported_paths(&output), Vec::<String>::new(), "{}", stderr(&output));
}
