//! `--format json`: one object, schema documented in README.md ("JSON output", version 1).

use std::io::{self, Write};

use serde_json::{json, Value};

use crate::diagnostic::{Diagnostic, LineIndex};
use crate::engine::Report;

pub const SCHEMA_VERSION: u32 = 1;

pub fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let mut diagnostics = Vec::new();
    for file in &report.files {
        let index = LineIndex::new(&file.source);
        let path = file.path.display().to_string();
        diagnostics.extend(file.diagnostics.iter().map(|d| diagnostic(d, &path, &index)));
    }
    let value = json!({
        "version": SCHEMA_VERSION,
        "diagnostics": diagnostics,
        "summary": {
            "findings": report.diagnostic_count(),
            "files_analysed": report.files_analysed,
            "files_with_findings": report.files.len(),
        },
    });
    serde_json::to_writer_pretty(&mut *out, &value)?;
    writeln!(out)
}

fn diagnostic(d: &Diagnostic, path: &str, index: &LineIndex) -> Value {
    let (line, column) = index.position(d.range.start);
    let (end_line, end_column) = index.position(d.range.end);
    let labels: Vec<Value> = d
        .secondary
        .iter()
        .map(|l| {
            let (line, column) = index.position(l.range.start);
            json!({"message": l.message, "line": line, "column": column, "byte_start": l.range.start, "byte_end": l.range.end})
        })
        .collect();
    let fix = d.fix.as_ref().map(|f| {
        let edits: Vec<Value> = f
            .edits
            .iter()
            .map(|e| json!({"byte_start": e.range.start, "byte_end": e.range.end, "replacement": e.replacement}))
            .collect();
        json!({"applicability": f.applicability.as_str(), "message": f.message, "edits": edits})
    });
    json!({
        "rule": d.rule,
        "severity": d.severity.as_str(),
        "message": d.message,
        "label": d.label,
        "help": d.help,
        "path": path,
        "line": line,
        "column": column,
        "end_line": end_line,
        "end_column": end_column,
        "byte_start": d.range.start,
        "byte_end": d.range.end,
        "labels": labels,
        "notes": d.notes,
        "fix": fix,
    })
}
