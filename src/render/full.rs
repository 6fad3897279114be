//! Human output in rustc's style, through codespan-reporting.

use std::io::{self, Write};

use codespan_reporting::diagnostic::{Diagnostic as Cs, Label, Severity as CsSeverity};
use codespan_reporting::files::SimpleFile;
use codespan_reporting::term::termcolor::WriteColor;
use codespan_reporting::term::{self, Config};

use crate::diagnostic::{Diagnostic, Severity};
use crate::engine::{FileReport, Report};

pub fn render(report: &Report, out: &mut dyn WriteColor) -> io::Result<()> {
    for file in &report.files {
        let source = Source::new(file);
        for diagnostic in &file.diagnostics {
            source.emit(diagnostic, out)?;
        }
    }
    Ok(())
}

/// One file's text as the human output shows it; built once per file, as it indexes the lines.
pub struct Source<'a> {
    file: SimpleFile<String, &'a str>,
    /// codespan would count a byte order mark as a column: it shows the text after it.
    bom: usize,
}

impl<'a> Source<'a> {
    pub fn new(file: &'a FileReport) -> Self {
        let bom = if file.source.starts_with('\u{feff}') { '\u{feff}'.len_utf8() } else { 0 };
        Source { file: SimpleFile::new(file.path.display().to_string(), &file.source[bom..]), bom }
    }

    /// Writes one of the file's findings, with its snippet.
    pub fn emit(&self, diagnostic: &Diagnostic, out: &mut dyn WriteColor) -> io::Result<()> {
        let cs = to_codespan(diagnostic, self.bom, self.file.source().len());
        term::emit_to_write_style(out, &Config::default(), &self.file, &cs).map_err(to_io)
    }
}

/// `d` with its byte ranges moved back by `shift` and kept inside `0..len`.
fn to_codespan(d: &Diagnostic, shift: usize, len: usize) -> Cs<()> {
    let severity = match d.severity {
        Severity::Error => CsSeverity::Error,
        Severity::Warning => CsSeverity::Warning,
    };
    let clamp = |r: &std::ops::Range<usize>| {
        let at = |offset: usize| offset.saturating_sub(shift).min(len);
        at(r.start)..at(r.end)
    };
    // A file that could not be read has no source to point into, but its label still names it.
    let mut labels = vec![Label::primary((), clamp(&d.range)).with_message(&d.label)];
    labels.extend(d.secondary.iter().map(|l| Label::secondary((), clamp(&l.range)).with_message(&l.message)));
    let mut notes: Vec<String> = d.notes.iter().map(|note| format!("note: {note}")).collect();
    if let Some(help) = &d.help {
        notes.push(format!("help: {help}"));
    }
    if let Some(fix) = &d.fix {
        notes.push(format!("fix ({}): {}", fix.applicability.as_str(), fix.message));
    }
    Cs::new(severity).with_code(d.rule).with_message(&d.message).with_labels(labels).with_notes(notes)
}

fn to_io(err: codespan_reporting::files::Error) -> io::Error {
    match err {
        codespan_reporting::files::Error::Io(e) => e,
        other => io::Error::other(other.to_string()),
    }
}

/// `Found 3 findings (2 errors, 1 warning) in 12 files in 0.04s.`
pub fn summary(report: &Report, seconds: f64, out: &mut dyn Write) -> io::Result<()> {
    let count = |s: Severity| report.files.iter().flat_map(|f| &f.diagnostics).filter(|d| d.severity == s).count();
    let (errors, warnings) = (count(Severity::Error), count(Severity::Warning));
    let files = plural(report.files_analysed, "file");
    if errors + warnings == 0 {
        return writeln!(out, "No findings in {files} ({seconds:.2}s).");
    }
    writeln!(
        out,
        "Found {} ({}, {}) in {files} ({seconds:.2}s).",
        plural(errors + warnings, "finding"),
        plural(errors, "error"),
        plural(warnings, "warning"),
    )
}

pub fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}
