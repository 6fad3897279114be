//! Running the binary the way users do, shared by the CLI test files.
#![allow(dead_code)] // each test file uses a different part

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

pub fn command(args: &[&str], dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_async-lint"));
    command.args(args).current_dir(dir);
    command
}

pub fn run(args: &[&str], dir: &Path) -> Output {
    command(args, dir).output().expect("the binary runs")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub fn write(dir: &Path, path: &str, content: impl AsRef<[u8]>) {
    let path = dir.join(path);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, content).unwrap();
}

/// `check --format json ARGS` in `dir`: the exit code and the parsed document.
pub fn json(args: &[&str], dir: &Path) -> (i32, serde_json::Value) {
    let mut all = vec!["check", "--format", "json"];
    all.extend_from_slice(args);
    let output = run(&all, dir);
    let value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\nstderr: {}", stdout(&output), stderr(&output)));
    (output.status.code().unwrap(), value)
}

pub fn diagnostics(value: &serde_json::Value) -> &Vec<serde_json::Value> {
    value["diagnostics"].as_array().unwrap()
}

/// `(path, rule)` of every finding, in output order.
pub fn path_rules(value: &serde_json::Value) -> Vec<(String, String)> {
    diagnostics(value)
        .iter()
        .map(|d| (d["path"].as_str().unwrap().to_string(), d["rule"].as_str().unwrap().to_string()))
        .collect()
}

pub const BLOCKING: &str = "async fn f() { futures::executor::block_on(g()); }\n";
pub const CLEAN: &str = "async fn f() { g().await; }\n";
