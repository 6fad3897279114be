//! `--format sarif`: a SARIF 2.1.0 document, as GitHub code scanning (`upload-sarif`) and other
//! SARIF viewers read it. Every rule is described in `tool.driver.rules`, with its documentation as
//! the help; paths are relative to `%SRCROOT%`, the folder `check` ran in.

use std::collections::HashMap;
use std::io::{self, Write};
use std::ops::Range;
use std::path::Path;

use serde_json::{json, Map, Value};

use crate::diagnostic::{Diagnostic, Edit, LineIndex, Severity};
use crate::engine::{self, Report};
use crate::render::{encode_uri_path, message_with_context, relative_path};
use crate::rules::{self, Rule};

pub const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

pub fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let rules = rule_descriptors(report);
    let rule_index: HashMap<String, usize> =
        rules.iter().enumerate().map(|(i, rule)| (rule["id"].as_str().unwrap_or_default().to_string(), i)).collect();
    let mut results = Vec::new();
    for file in &report.files {
        let located = File { artifact: artifact_location(&file.path), lines: LineIndex::new(&file.source) };
        results.extend(file.diagnostics.iter().map(|d| located.result(d, rule_index[d.rule])));
    }
    let mut driver = json!({
        "name": "async-lint",
        "version": env!("CARGO_PKG_VERSION"),
        "semanticVersion": env!("CARGO_PKG_VERSION"),
        "rules": rules,
    });
    // Cargo.toml names no repository or homepage yet; the key appears once it does.
    if let Some(uri) = [env!("CARGO_PKG_HOMEPAGE"), env!("CARGO_PKG_REPOSITORY")].into_iter().find(|u| !u.is_empty()) {
        driver["informationUri"] = json!(uri);
    }
    let document = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": driver},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    });
    serde_json::to_writer_pretty(&mut *out, &document)?;
    writeln!(out)
}

/// Every rule, then the engine's own ids, then any other id the report holds (so that every
/// result's `ruleIndex` points at its rule).
fn rule_descriptors(report: &Report) -> Vec<Value> {
    let mut descriptors: Vec<Value> = rules::ALL.iter().map(|rule| rule_descriptor(rule)).collect();
    descriptors.extend(rules::ENGINE_IDS.iter().map(|id| engine_descriptor(id)));
    for d in report.files.iter().flat_map(|f| &f.diagnostics) {
        if !descriptors.iter().any(|known| known["id"] == d.rule) {
            descriptors.push(engine_descriptor(d.rule));
        }
    }
    descriptors
}

fn rule_descriptor(rule: &Rule) -> Value {
    let doc = rule.doc();
    json!({
        "id": rule.id,
        "name": pascal_case(rule.id),
        "shortDescription": {"text": rule.summary()},
        "fullDescription": {"text": what_it_does(&doc)},
        "help": {"text": doc, "markdown": doc},
        "defaultConfiguration": {"level": level(rule.category.default_severity())},
        "properties": {"tags": [rule.category.as_str()]},
    })
}

/// The ids the engine reports itself (a file that cannot be read or parsed) have no rule file.
fn engine_descriptor(id: &str) -> Value {
    let description = match id {
        "parse-error" => "The file is not valid Rust syntax, so it was not checked",
        "io-error" => "The file could not be read, or is not UTF-8, so it was not checked",
        "internal-error" => "async-lint failed while checking the file; this is a bug in async-lint",
        "unused-suppression" => "A suppression comment lists a rule that has no finding where the comment applies",
        "invalid-suppression" => {
            "A suppression comment is malformed or names a rule that does not exist or cannot be suppressed"
        }
        _ => "Reported by async-lint itself rather than by a rule",
    };
    json!({
        "id": id,
        "name": pascal_case(id),
        "shortDescription": {"text": description},
        "fullDescription": {"text": description},
        "help": {"text": description, "markdown": description},
        "defaultConfiguration": {"level": level(engine::engine_severity(id))},
    })
}

/// The body of a rule doc's "What it does" section, on one line.
fn what_it_does(doc: &str) -> String {
    let body = doc.split("## What it does").nth(1).unwrap_or(doc);
    let section = body.split("\n## ").next().unwrap_or(body);
    section.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `block-on-in-async` -> `BlockOnInAsync`: SARIF's `name` is one word.
fn pascal_case(id: &str) -> String {
    id.split('-')
        .flat_map(|word| {
            let mut chars = word.chars();
            chars.next().map(|c| c.to_ascii_uppercase()).into_iter().chain(chars)
        })
        .collect()
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

/// One file's findings as SARIF results.
struct File<'a> {
    artifact: Value,
    lines: LineIndex<'a>,
}

impl File<'_> {
    fn result(&self, d: &Diagnostic, rule_index: usize) -> Value {
        let mut primary = self.location(&d.range);
        if !d.label.is_empty() {
            primary["message"] = json!({"text": d.label});
        }
        let mut result = Map::new();
        result.insert("ruleId".into(), json!(d.rule));
        result.insert("ruleIndex".into(), json!(rule_index));
        result.insert("level".into(), json!(level(d.severity)));
        result.insert("message".into(), json!({"text": message_with_context(d)}));
        result.insert("locations".into(), json!([primary]));
        if !d.secondary.is_empty() {
            let related: Vec<Value> = d
                .secondary
                .iter()
                .enumerate()
                .map(|(id, label)| {
                    let mut related = self.location(&label.range);
                    related["id"] = json!(id);
                    related["message"] = json!({"text": label.message});
                    related
                })
                .collect();
            result.insert("relatedLocations".into(), json!(related));
        }
        if let Some(fix) = &d.fix {
            let replacements: Vec<Value> = fix.edits.iter().map(|edit| self.replacement(edit)).collect();
            let fix = json!({
                "description": {"text": fix.message},
                "artifactChanges": [{"artifactLocation": self.artifact, "replacements": replacements}],
                "properties": {"applicability": fix.applicability.as_str()},
            });
            result.insert("fixes".into(), json!([fix]));
        }
        Value::Object(result)
    }

    fn location(&self, range: &Range<usize>) -> Value {
        json!({"physicalLocation": {"artifactLocation": self.artifact, "region": region(&self.lines, range)}})
    }

    fn replacement(&self, edit: &Edit) -> Value {
        json!({"deletedRegion": region(&self.lines, &edit.range), "insertedContent": {"text": edit.replacement}})
    }
}

/// Lines and columns (1-based, columns in characters) and the exact byte range.
fn region(lines: &LineIndex, range: &Range<usize>) -> Value {
    let (start_line, start_column) = lines.position(range.start);
    let (end_line, end_column) = lines.position(range.end);
    json!({
        "startLine": start_line,
        "startColumn": start_column,
        "endLine": end_line,
        "endColumn": end_column,
        "byteOffset": range.start,
        "byteLength": range.end.saturating_sub(range.start),
    })
}

/// A path under the folder `check` ran in is relative to `%SRCROOT%`; any other is a `file:` URI.
fn artifact_location(path: &Path) -> Value {
    let under_root = if path.is_absolute() {
        std::env::current_dir().ok().and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf))
    } else {
        Some(path.to_path_buf())
    };
    match under_root {
        Some(relative) => json!({"uri": encode_uri_path(&relative_path(&relative)), "uriBaseId": "%SRCROOT%"}),
        None => json!({"uri": format!("file://{}", encode_uri_path(&relative_path(path)))}),
    }
}

#[cfg(test)]
mod tests {
    use super::{pascal_case, what_it_does};

    #[test]
    fn names_are_pascal_case_ids() {
        assert_eq!(pascal_case("block-on-in-async"), "BlockOnInAsync");
        assert_eq!(pascal_case("io-error"), "IoError");
    }

    #[test]
    fn the_full_description_is_the_what_it_does_section() {
        let doc = "## What it does\nFlags `x`\nin async code.\n\n## Why is this bad?\nBecause.";
        assert_eq!(what_it_does(doc), "Flags `x` in async code.");
    }
}
