//! What a finding is. Diagnostics hold byte ranges, never `Span`s: proc-macro2 span data lives in
//! the thread that parsed the file and is dropped once the file is analysed.

use std::ops::Range;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// Whether a fix may be applied without a human looking at it (ruff's safe / unsafe split).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applicability {
    /// Keeps the meaning of the code.
    Safe,
    /// Changes behaviour in a way that is almost always intended, but can matter.
    Unsafe,
}

impl Applicability {
    pub fn as_str(self) -> &'static str {
        match self {
            Applicability::Safe => "safe",
            Applicability::Unsafe => "unsafe",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edit {
    pub range: Range<usize>,
    pub replacement: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fix {
    pub applicability: Applicability,
    /// Imperative description of the edit, e.g. "replace with `fetch().await`".
    pub message: String,
    pub edits: Vec<Edit>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    pub range: Range<usize>,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub rule: &'static str,
    pub severity: Severity,
    /// Why the code is wrong, rustc style: lowercase, no final period.
    pub message: String,
    /// The construct the user must change.
    pub range: Range<usize>,
    /// What the primary span does.
    pub label: String,
    /// The context that makes it wrong.
    pub secondary: Vec<Label>,
    /// Facts the reader needs that no span of this file shows (`block_on` in another file).
    pub notes: Vec<String>,
    pub help: Option<String>,
    pub fix: Option<Fix>,
}

impl Diagnostic {
    pub fn new(rule: &'static str, severity: Severity, range: Range<usize>, message: String) -> Self {
        Diagnostic {
            rule,
            severity,
            message,
            range,
            label: String::new(),
            secondary: Vec::new(),
            notes: Vec::new(),
            help: None,
            fix: None,
        }
    }
}

/// 1-based line and column (columns count characters) of byte offsets in one source text.
pub struct LineIndex<'a> {
    source: &'a str,
    line_starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub fn new(source: &'a str) -> Self {
        // Editors and rustc do not count a byte order mark as a column.
        let first = if source.starts_with('\u{feff}') { '\u{feff}'.len_utf8() } else { 0 };
        let mut line_starts = vec![first];
        line_starts.extend(source.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { source, line_starts }
    }

    /// (line, column), both 1-based. An offset past the end or inside a char is clamped.
    pub fn position(&self, offset: usize) -> (usize, usize) {
        let offset = floor_char_boundary(self.source, offset).max(self.line_starts[0]);
        let line = self.line_starts.partition_point(|&start| start <= offset) - 1;
        let column = self.source[self.line_starts[line]..offset].chars().count();
        (line + 1, column + 1)
    }
}

pub fn floor_char_boundary(source: &str, offset: usize) -> usize {
    let mut offset = offset.min(source.len());
    while !source.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

#[cfg(test)]
mod tests {
    use super::LineIndex;

    #[test]
    fn columns_count_chars_and_lines_split_on_newline() {
        let index = LineIndex::new("é = 1;\r\nfoo()\n");
        assert_eq!(index.position(0), (1, 1));
        assert_eq!(index.position(2), (1, 2)); // after the two-byte `é`
        assert_eq!(index.position(9), (2, 1)); // `\r\n` ends line 1
        assert_eq!(index.position(10), (2, 2));
        assert_eq!(index.position(1), (1, 1)); // inside `é`: clamped to its start
        assert_eq!(index.position(100), (3, 1));
    }

    #[test]
    fn a_byte_order_mark_is_not_a_column() {
        let index = LineIndex::new("\u{feff}fn f() {}");
        assert_eq!(index.position(0), (1, 1));
        assert_eq!(index.position(3), (1, 1));
        assert_eq!(index.position(6), (1, 4));
    }
}
