//! `--format concise`: one line per finding, `path:line:col: rule-id message` (ruff's concise).

use std::io::{self, Write};

use crate::diagnostic::LineIndex;
use crate::engine::Report;
use crate::render::relative_path;

pub fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    for file in &report.files {
        let index = LineIndex::new(&file.source);
        let path = relative_path(&file.path);
        for d in &file.diagnostics {
            let (line, column) = index.position(d.range.start);
            writeln!(out, "{path}:{line}:{column}: {} {}", d.rule, d.message)?;
        }
    }
    Ok(())
}
