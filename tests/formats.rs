//! Every `--format` on one small crate whose findings have a secondary label, a note, a help and an
//! unsafe fix; the machine formats read back the way their consumers read them (cargo_metadata
//! for rust-analyzer's messages, the SARIF 2.1.0 schema for code scanning). Review snapshot
//! changes with `cargo insta review`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use cargo_metadata::diagnostic::{Applicability, DiagnosticLevel};
use cargo_metadata::Message;
use common::{run, stderr, stdout, write, CLEAN};
use serde_json::Value;

const SAMPLE: &str = r#"use futures::executor::block_on;

fn load() -> u32 {
    block_on(fetch())
}

async fn fetch() -> u32 {
    1
}

pub async fn handler() -> u32 {
    let first = block_on(fetch());
    first + load()
}

pub async fn start() {
    tokio::spawn(fetch());
}
"#;

const FORMATS: &[&str] = &["full", "concise", "json", "rustc-json", "sarif", "github"];

/// A crate named `sample` holding `source` as `src/lib.rs`.
fn sample_crate(source: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "Cargo.toml", "[package]\nname = \"sample-app\"\nversion = \"0.3.1\"\nedition = \"2021\"\n");
    write(dir.path(), "src/lib.rs", source);
    dir
}

/// `check src ARGS` in `dir`: exit code, stdout with the crate's absolute path as `[ROOT]`, stderr.
fn check(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["check", "src", "--color", "never"];
    all.extend_from_slice(args);
    let output = run(&all, dir);
    let mut out = stdout(&output);
    for root in [dir.canonicalize().unwrap(), dir.to_path_buf()] {
        out = out.replace(&root.display().to_string(), "[ROOT]");
    }
    (output.status.code().unwrap(), out, stderr(&output))
}

fn format(dir: &Path, name: &str) -> String {
    let (code, out, _) = check(dir, &["--format", name]);
    assert_eq!(code, 1, "--format {name}: {out}");
    out
}

#[test]
fn full() {
    insta::assert_snapshot!(format(sample_crate(SAMPLE).path(), "full"));
}

#[test]
fn concise() {
    insta::assert_snapshot!(format(sample_crate(SAMPLE).path(), "concise"));
}

#[test]
fn json() {
    insta::assert_snapshot!(format(sample_crate(SAMPLE).path(), "json"));
}

#[test]
fn rustc_json() {
    insta::assert_snapshot!(format(sample_crate(SAMPLE).path(), "rustc-json"));
}

/// The rules' texts come from their docs (checked in `sarif_is_valid_against_the_sarif_2_1_0_schema`)
/// and the version from Cargo.toml: the snapshot keeps their place, not their words.
#[test]
fn sarif() {
    let mut document: Value = serde_json::from_str(&format(sample_crate(SAMPLE).path(), "sarif")).unwrap();
    let driver = &mut document["runs"][0]["tool"]["driver"];
    for key in ["version", "semanticVersion"] {
        driver[key] = "[VERSION]".into();
    }
    for rule in driver["rules"].as_array_mut().unwrap() {
        for key in ["shortDescription", "fullDescription", "help"] {
            rule[key] = "[from the rule's doc]".into();
        }
    }
    insta::assert_snapshot!(serde_json::to_string_pretty(&document).unwrap());
}

#[test]
fn github() {
    insta::assert_snapshot!(format(sample_crate(SAMPLE).path(), "github"));
}

#[test]
fn statistics() {
    let (code, out, err) = check(sample_crate(SAMPLE).path(), &["--statistics"]);
    assert_eq!(code, 1);
    assert!(err.starts_with("Found 3 findings (2 errors, 1 warning) in 1 file"), "{err}");
    insta::assert_snapshot!(out);
}

#[test]
fn a_clean_crate_prints_no_findings_in_any_format() {
    let dir = sample_crate(CLEAN);
    for name in FORMATS {
        let (code, out, _) = check(dir.path(), &["--format", name]);
        assert_eq!(code, 0, "--format {name}: {out}");
        match *name {
            "json" => assert_eq!(serde_json::from_str::<Value>(&out).unwrap()["diagnostics"], serde_json::json!([])),
            "sarif" => {
                let document = serde_json::from_str::<Value>(&out).unwrap();
                assert_eq!(document["runs"][0]["results"], serde_json::json!([]));
                assert_valid_sarif(&document);
            }
            _ => assert_eq!(out, "", "--format {name}"),
        }
    }
    let (code, out, _) = check(dir.path(), &["--statistics"]);
    assert_eq!((code, out.as_str()), (0, ""));
}

/// rust-analyzer reads `check.overrideCommand`'s output as cargo's messages: each line must be a
/// compiler message, the fix a primary span with a replacement.
#[test]
fn rustc_json_lines_are_cargo_compiler_messages() {
    let out = format(sample_crate(SAMPLE).path(), "rustc-json");
    let messages: Vec<_> = out
        .lines()
        .map(|line| match serde_json::from_str::<Message>(line).unwrap() {
            Message::CompilerMessage(message) => message,
            other => panic!("not a compiler message: {other:?}"),
        })
        .collect();
    assert_eq!(messages.len(), 3);
    assert!(messages.iter().all(|m| m.package_id.repr.ends_with("#sample-app@0.3.1")), "{:?}", messages[0].package_id);
    assert_eq!(messages[0].target.name, "sample_app");
    assert_eq!(messages[0].target.src_path, "[ROOT]/src/lib.rs");

    let direct = &messages[0].message;
    assert_eq!(direct.code.as_ref().unwrap().code, "block-on-in-async");
    assert_eq!(direct.level, DiagnosticLevel::Error);
    let [primary, secondary] = direct.spans.as_slice() else { panic!("{:?}", direct.spans) };
    assert!(primary.is_primary && !secondary.is_primary);
    assert_eq!((primary.file_name.as_str(), primary.line_start, primary.column_start), ("src/lib.rs", 12, 17));
    assert_eq!(primary.column_end, 34);
    assert_eq!(primary.text[0].text, "    let first = block_on(fetch());");
    assert_eq!(&SAMPLE[primary.byte_start as usize..primary.byte_end as usize], "block_on(fetch())");
    assert_eq!(secondary.label.as_deref(), Some("this function is async"));
    let [help, fix] = direct.children.as_slice() else { panic!("{:?}", direct.children) };
    assert_eq!((help.level, help.spans.len()), (DiagnosticLevel::Help, 0));
    assert_eq!(fix.level, DiagnosticLevel::Help);
    let [edit] = fix.spans.as_slice() else { panic!("{:?}", fix.spans) };
    assert!(edit.is_primary);
    assert_eq!(edit.suggested_replacement.as_deref(), Some("fetch().await"));
    assert_eq!(edit.suggestion_applicability, Some(Applicability::MaybeIncorrect));
    assert!(direct.rendered.as_deref().unwrap().starts_with("error[block-on-in-async]: "));

    let transitive = &messages[1].message;
    let levels: Vec<_> = transitive.children.iter().map(|c| c.level).collect();
    assert_eq!(levels, [DiagnosticLevel::Note, DiagnosticLevel::Help]);
    assert!(transitive.children[0].message.starts_with("`load` calls `futures::executor::block_on`"));
    assert_eq!(messages[2].message.level, DiagnosticLevel::Warning);
}

#[test]
fn sarif_is_valid_against_the_sarif_2_1_0_schema() {
    let out = format(sample_crate(SAMPLE).path(), "sarif");
    let document: Value = serde_json::from_str(&out).unwrap();
    assert_valid_sarif(&document);
    let run = &document["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
    for rule in async_lint::rules::ALL {
        assert!(ids.contains(&rule.id), "{} is not described", rule.id);
    }
    for engine in async_lint::rules::ENGINE {
        assert!(ids.contains(&engine.id), "{} is not described", engine.id);
    }
    for rule in async_lint::rules::ALL {
        let descriptor = rules.iter().find(|r| r["id"] == rule.id).unwrap();
        assert_eq!(descriptor["shortDescription"]["text"], rule.summary());
        assert_eq!(descriptor["help"]["markdown"], rule.doc());
        assert!(rule
            .doc()
            .contains(descriptor["fullDescription"]["text"].as_str().unwrap().split(' ').next().unwrap()));
    }
    for result in run["results"].as_array().unwrap() {
        let index = result["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], result["ruleId"]);
    }
}

fn assert_valid_sarif(document: &Value) {
    let errors = sarif_errors(document);
    assert!(errors.is_empty(), "not valid SARIF 2.1.0:\n{}", errors.join("\n"));
}

#[test]
fn the_sarif_check_rejects_what_code_scanning_would() {
    let mut document: Value = serde_json::from_str(&format(sample_crate(SAMPLE).path(), "sarif")).unwrap();
    document["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startColumn"] = 0.into();
    document["runs"][0]["results"][1]["level"] = "fatal".into();
    assert_eq!(sarif_errors(&document).len(), 2, "{:?}", sarif_errors(&document));
}

fn sarif_errors(document: &Value) -> Vec<String> {
    let mut schema: Value = serde_json::from_str(&std::fs::read_to_string(sarif_schema()).unwrap()).unwrap();
    // The published pattern of `language` has a stray `]`, so the schema itself fails the
    // draft-07 meta-schema's `format: regex`; async-lint never writes a `language`.
    for object in ["run", "toolComponent"] {
        let language = &mut schema["definitions"][object]["properties"]["language"];
        assert!(language["pattern"].as_str().unwrap().ends_with("]?$"), "the schema changed: {language}");
        language.as_object_mut().unwrap().remove("pattern");
    }
    let validator = jsonschema::options().should_validate_formats(true).build(&schema).unwrap();
    validator.iter_errors(document).map(|e| format!("{}: {e}", e.instance_path())).collect()
}

/// The SARIF 2.1.0 schema that the `serde-sarif` crate (a dev-dependency) ships and generates its
/// types from: found through `cargo metadata`, which needs no network for the host platform's
/// packages once they have been fetched.
fn sarif_schema() -> PathBuf {
    let rustc = Command::new(std::env::var("RUSTC").unwrap_or("rustc".into())).arg("-vV").output().unwrap();
    let host = String::from_utf8(rustc.stdout).unwrap();
    let host = host.lines().find_map(|l| l.strip_prefix("host: ")).unwrap().to_string();
    let metadata = Command::new(std::env::var("CARGO").unwrap_or("cargo".into()))
        .args(["metadata", "--format-version", "1", "--offline", "--filter-platform", &host])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(metadata.status.success(), "{}", String::from_utf8_lossy(&metadata.stderr));
    let metadata: Value = serde_json::from_slice(&metadata.stdout).unwrap();
    let package = metadata["packages"].as_array().unwrap().iter().find(|p| p["name"] == "serde-sarif").unwrap();
    let manifest = Path::new(package["manifest_path"].as_str().unwrap());
    manifest.parent().unwrap().join("src/schema.json")
}
