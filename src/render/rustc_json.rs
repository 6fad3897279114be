//! `--format rustc-json`: one `{"reason":"compiler-message",..}` line per finding, the shape
//! `cargo check --message-format=json` prints. rust-analyzer reads it from
//! `rust-analyzer.check.overrideCommand` and shows the findings inline, with the fixes as quick
//! fixes; it only reads `message`, a rustc diagnostic. The package fields are filled from the
//! nearest `Cargo.toml` so that other readers of cargo's messages accept the lines too.

use std::io::{self, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};

use codespan_reporting::term::termcolor::Buffer;
use serde::Serialize;

use crate::diagnostic::{floor_char_boundary, Applicability, Diagnostic, LineIndex};
use crate::engine::files::crate_groups;
use crate::engine::manifest::Manifests;
use crate::engine::{FileReport, Report};
use crate::render::{encode_uri_path, full, relative_path};

pub fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let paths: Vec<PathBuf> = report.files.iter().map(|f| f.path.clone()).collect();
    let (groups, roots) = crate_groups(&paths);
    let mut manifests = Manifests::default();
    let mut packages: Vec<Option<Package>> = (0..roots.len()).map(|_| None).collect();
    for (file, &group) in report.files.iter().zip(&groups) {
        let package =
            packages[group].get_or_insert_with(|| package(roots[group].as_deref(), &file.path, &mut manifests));
        let source = File::new(file);
        for d in &file.diagnostics {
            let line = CompilerMessage {
                reason: "compiler-message",
                package_id: &package.id,
                manifest_path: &package.manifest_path,
                target: &package.target,
                message: source.diagnostic(d),
            };
            serde_json::to_writer(&mut *out, &line)?;
            writeln!(out)?;
        }
    }
    Ok(())
}

/// A line of `cargo check --message-format=json`, fields in cargo's order.
#[derive(Serialize)]
struct CompilerMessage<'a> {
    reason: &'static str,
    package_id: &'a str,
    manifest_path: &'a str,
    target: &'a Target,
    message: RustcDiagnostic<'a>,
}

struct Package {
    id: String,
    manifest_path: String,
    target: Target,
}

#[derive(Serialize)]
struct Target {
    kind: [&'static str; 1],
    crate_types: [&'static str; 1],
    name: String,
    src_path: String,
    edition: String,
    doc: bool,
    doctest: bool,
    test: bool,
}

/// The crate whose `Cargo.toml` is in `root`: name, version and edition from its `[package]` (the
/// folder's name when it has none), the target its `src/lib.rs` or `src/main.rs`. A file in no
/// crate is a crate of its own folder.
fn package(root: Option<&Path>, file: &Path, manifests: &mut Manifests) -> Package {
    let folder = absolute(root.unwrap_or_else(|| file.parent().unwrap_or(Path::new(""))));
    let fields = root.and_then(|root| manifests.get(root)).and_then(|m| m.get("package")).cloned();
    let field = |key: &str| fields.as_ref().and_then(|p| p.get(key)).and_then(|v| v.as_str()).map(str::to_string);
    let folder_name = folder.file_name().map_or("crate".into(), |n| n.to_string_lossy().into_owned());
    let name = field("name").unwrap_or(folder_name);
    let version = field("version").unwrap_or_else(|| "0.0.0".into());
    let (kind, src_path) = match ["lib", "main"].map(|stem| folder.join(format!("src/{stem}.rs"))) {
        [lib, _] if lib.is_file() => ("lib", lib),
        [_, main] if main.is_file() => ("bin", main),
        _ => ("lib", absolute(file)),
    };
    let target = Target {
        kind: [kind],
        crate_types: [kind],
        name: if kind == "lib" { name.replace('-', "_") } else { name.clone() },
        src_path: src_path.display().to_string(),
        edition: field("edition").unwrap_or_else(|| "2021".into()),
        doc: true,
        doctest: kind == "lib",
        test: true,
    };
    Package {
        id: format!("path+file://{}#{name}@{version}", encode_uri_path(&relative_path(&folder))),
        manifest_path: folder.join("Cargo.toml").display().to_string(),
        target,
    }
}

/// `path` from the filesystem root, as cargo gives every path in its messages.
fn absolute(path: &Path) -> PathBuf {
    let path = if path.as_os_str().is_empty() { Path::new(".") } else { path };
    path.canonicalize().or_else(|_| std::path::absolute(path)).unwrap_or_else(|_| path.to_path_buf())
}

/// rustc's JSON diagnostic (`rustc_errors::json`), fields in rustc's order.
#[derive(Serialize)]
struct RustcDiagnostic<'a> {
    /// Only on the top-level diagnostic, not on its children.
    #[serde(rename = "$message_type", skip_serializing_if = "Option::is_none")]
    message_type: Option<&'static str>,
    message: &'a str,
    code: Option<Code<'a>>,
    level: &'static str,
    spans: Vec<Span<'a>>,
    children: Vec<RustcDiagnostic<'a>>,
    rendered: Option<String>,
}

#[derive(Serialize)]
struct Code<'a> {
    code: &'a str,
    explanation: Option<&'a str>,
}

#[derive(Serialize)]
struct Span<'a> {
    file_name: &'a str,
    byte_start: usize,
    byte_end: usize,
    line_start: usize,
    line_end: usize,
    column_start: usize,
    column_end: usize,
    is_primary: bool,
    text: Vec<SpanLine<'a>>,
    label: Option<&'a str>,
    suggested_replacement: Option<&'a str>,
    suggestion_applicability: Option<&'static str>,
    /// Findings are never inside a macro expansion: always `null`.
    expansion: Option<()>,
}

#[derive(Serialize)]
struct SpanLine<'a> {
    text: &'a str,
    highlight_start: usize,
    highlight_end: usize,
}

/// One file's findings as rustc diagnostics.
struct File<'a> {
    path: String,
    text: &'a str,
    lines: LineIndex<'a>,
    snippets: full::Source<'a>,
}

impl<'a> File<'a> {
    fn new(file: &'a FileReport) -> Self {
        File {
            path: relative_path(&file.path),
            text: &file.source,
            lines: LineIndex::new(&file.source),
            snippets: full::Source::new(file),
        }
    }

    /// The primary span and secondary labels as spans, each note as a `note` child, the help and
    /// the fix as `help` children; the fix's spans carry the replacement, which is what makes
    /// rust-analyzer offer it as a quick fix.
    fn diagnostic<'d>(&'d self, d: &'d Diagnostic) -> RustcDiagnostic<'d> {
        let label = Some(d.label.as_str()).filter(|l| !l.is_empty());
        let mut spans = vec![self.span(&d.range, true, label)];
        spans.extend(d.secondary.iter().map(|l| self.span(&l.range, false, Some(&l.message))));
        let mut children: Vec<RustcDiagnostic> = d.notes.iter().map(|note| child("note", note, Vec::new())).collect();
        if let Some(help) = &d.help {
            children.push(child("help", help, Vec::new()));
        }
        if let Some(fix) = &d.fix {
            let applicability = match fix.applicability {
                Applicability::Safe => "MachineApplicable",
                Applicability::Unsafe => "MaybeIncorrect",
            };
            let spans = fix
                .edits
                .iter()
                .map(|edit| Span {
                    suggested_replacement: Some(&edit.replacement),
                    suggestion_applicability: Some(applicability),
                    ..self.span(&edit.range, true, None)
                })
                .collect();
            children.push(child("help", &fix.message, spans));
        }
        RustcDiagnostic {
            message_type: Some("diagnostic"),
            message: &d.message,
            code: Some(Code { code: d.rule, explanation: None }),
            level: d.severity.as_str(),
            spans,
            children,
            rendered: Some(self.rendered(d)),
        }
    }

    fn span<'d>(&'d self, range: &Range<usize>, is_primary: bool, label: Option<&'d str>) -> Span<'d> {
        let (line_start, column_start) = self.lines.position(range.start);
        let (line_end, column_end) = self.lines.position(range.end);
        Span {
            file_name: &self.path,
            byte_start: range.start,
            byte_end: range.end,
            line_start,
            line_end,
            column_start,
            column_end,
            is_primary,
            text: self.span_lines(range.start, (line_start, column_start), (line_end, column_end)),
            label,
            suggested_replacement: None,
            suggestion_applicability: None,
            expansion: None,
        }
    }

    /// Each source line the span covers, with the span's part of it (1-based char columns, end
    /// exclusive), as rustc gives them.
    fn span_lines(
        &self,
        start: usize,
        (line_start, column_start): (usize, usize),
        end: (usize, usize),
    ) -> Vec<SpanLine<'a>> {
        let (line_end, column_end) = end;
        let start = floor_char_boundary(self.text, start);
        let bom = if self.text.starts_with('\u{feff}') { '\u{feff}'.len_utf8() } else { 0 };
        let first_line_start = self.text[..start].rfind('\n').map_or(bom, |i| i + 1).max(bom);
        self.text[first_line_start..]
            .split('\n')
            .take(line_end + 1 - line_start)
            .enumerate()
            .map(|(i, text)| {
                let text = text.strip_suffix('\r').unwrap_or(text);
                let line = line_start + i;
                let highlight_start = if line == line_start { column_start } else { 1 };
                let highlight_end = if line == line_end { column_end } else { text.chars().count() + 1 };
                SpanLine { text, highlight_start, highlight_end }
            })
            .collect()
    }

    /// The finding as the human output shows it, without colour.
    fn rendered(&self, d: &Diagnostic) -> String {
        let mut buffer = Buffer::no_color();
        // Writing to memory cannot fail; a failure would only lose the human text.
        let _ = self.snippets.emit(d, &mut buffer);
        String::from_utf8_lossy(buffer.as_slice()).into_owned()
    }
}

fn child<'a>(level: &'static str, message: &'a str, spans: Vec<Span<'a>>) -> RustcDiagnostic<'a> {
    RustcDiagnostic { message_type: None, message, code: None, level, spans, children: Vec::new(), rendered: None }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::File;
    use crate::engine::FileReport;

    #[test]
    fn a_span_over_lines_highlights_its_part_of_each() {
        let report = FileReport { path: PathBuf::from("./a.rs"), source: "x\n  bc\r\nd\n".into(), diagnostics: vec![] };
        let file = File::new(&report);
        let span = file.span(&(4..9), true, None);
        assert_eq!(
            (span.file_name, span.line_start, span.column_start, span.line_end, span.column_end),
            ("a.rs", 2, 3, 3, 2)
        );
        let lines: Vec<_> = span.text.iter().map(|l| (l.text, l.highlight_start, l.highlight_end)).collect();
        assert_eq!(lines, [("  bc", 3, 5), ("d", 1, 2)]);
    }
}
