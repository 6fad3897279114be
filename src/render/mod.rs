//! Output formats, all built from the same `Report`.

pub mod concise;
pub mod full;
pub mod github;
pub mod json;
pub mod rustc_json;
pub mod sarif;
pub mod statistics;

use std::io;
use std::path::{Component, Path};

use codespan_reporting::term::termcolor::Buffer;

use crate::diagnostic::Diagnostic;
use crate::engine::Report;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// rustc-style diagnostics with source snippets, then a summary line on stderr
    Full,
    /// One line per finding: `path:line:col: rule-id message`, then a summary line on stderr
    Concise,
    /// One JSON document (schema: README.md, "JSON output")
    Json,
    /// One cargo `compiler-message` JSON line per finding, as `cargo check --message-format=json`
    /// prints: for rust-analyzer's `check.overrideCommand`
    RustcJson,
    /// A SARIF 2.1.0 document, e.g. for GitHub code scanning
    Sarif,
    /// GitHub Actions workflow commands: an annotation per finding, then a summary line on stderr
    Github,
}

impl Format {
    /// Whether a person reads this output, so a summary line on stderr helps.
    pub fn has_summary(self) -> bool {
        matches!(self, Format::Full | Format::Concise | Format::Github)
    }
}

/// What `check` prints on stdout.
pub struct Output {
    pub format: Format,
    /// Colour the `full` output.
    pub colored: bool,
    /// A count per rule instead of the findings: JSON with `--format json`, else a table.
    pub statistics: bool,
}

/// The stdout of `check`: the findings in `output.format`, or the statistics.
pub fn to_bytes(report: &Report, output: &Output) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    if output.statistics {
        match output.format {
            Format::Json => statistics::render_json(report, &mut out)?,
            _ => statistics::render(report, &mut out)?,
        }
        return Ok(out);
    }
    match output.format {
        Format::Full => {
            let mut buffer = if output.colored { Buffer::ansi() } else { Buffer::no_color() };
            full::render(report, &mut buffer)?;
            out = buffer.into_inner();
        }
        Format::Concise => concise::render(report, &mut out)?,
        Format::Json => json::render(report, &mut out)?,
        Format::RustcJson => rustc_json::render(report, &mut out)?,
        Format::Sarif => sarif::render(report, &mut out)?,
        Format::Github => github::render(report, &mut out)?,
    }
    Ok(out)
}

/// `path` as the machine formats give it: without a leading `./`, with `/` between components
/// (GitHub, SARIF and rust-analyzer all read paths relative to the project root).
pub fn relative_path(path: &Path) -> String {
    let mut text = String::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::RootDir => text.push('/'),
            Component::Prefix(prefix) => text.push_str(&prefix.as_os_str().to_string_lossy()),
            Component::ParentDir | Component::Normal(_) => {
                if !text.is_empty() && !text.ends_with('/') {
                    text.push('/');
                }
                text.push_str(&component.as_os_str().to_string_lossy());
            }
        }
    }
    if text.is_empty() {
        text.push('.');
    }
    text
}

/// `path` (with `/` separators) as the path of a URI: bytes other than unreserved characters and
/// `/` are percent-encoded.
pub fn encode_uri_path(path: &str) -> String {
    let mut uri = String::with_capacity(path.len());
    for byte in path.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            uri.push(char::from(byte));
        } else {
            uri.push_str(&format!("%{byte:02X}"));
        }
    }
    uri
}

/// The message, then each note and the help on lines of their own, for formats that show one text
/// per finding (GitHub annotations, SARIF results).
pub fn message_with_context(d: &Diagnostic) -> String {
    let mut text = d.message.clone();
    for note in &d.notes {
        text.push_str(&format!("\nnote: {note}"));
    }
    if let Some(help) = &d.help {
        text.push_str(&format!("\nhelp: {help}"));
    }
    text
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::{encode_uri_path, relative_path};

    #[test]
    fn relative_paths_lose_the_leading_dot_and_use_slashes() {
        assert_eq!(relative_path(Path::new("./src/lib.rs")), "src/lib.rs");
        assert_eq!(relative_path(Path::new("src/./lib.rs")), "src/lib.rs");
        assert_eq!(relative_path(Path::new("../x/lib.rs")), "../x/lib.rs");
        assert_eq!(relative_path(Path::new("/abs/lib.rs")), "/abs/lib.rs");
        assert_eq!(relative_path(Path::new(".")), ".");
    }

    #[test]
    fn uri_paths_encode_all_but_unreserved_characters() {
        assert_eq!(encode_uri_path("src/my file#1%.rs"), "src/my%20file%231%25.rs");
        assert_eq!(encode_uri_path("src/é.rs"), "src/%C3%A9.rs");
    }
}
