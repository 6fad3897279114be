//! `--format github`: one GitHub Actions workflow command per finding, which the runner shows as an
//! annotation on the file and line (in the job summary and on the pull request's diff).

use std::io::{self, Write};

use crate::diagnostic::LineIndex;
use crate::engine::Report;
use crate::render::{message_with_context, relative_path};

pub fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    for file in &report.files {
        let index = LineIndex::new(&file.source);
        let path = escape_property(&relative_path(&file.path));
        for d in &file.diagnostics {
            let (line, column) = index.position(d.range.start);
            let (end_line, end_column) = index.position(d.range.end);
            writeln!(
                out,
                "::{} file={path},line={line},col={column},endLine={end_line},endColumn={end_column},title={}::{}",
                d.severity.as_str(),
                escape_property(&format!("async-lint ({})", d.rule)),
                escape_data(&message_with_context(d)),
            )?;
        }
    }
    Ok(())
}

/// The message of a command: `%`, `\r` and `\n` are percent-encoded (GitHub's `escapeData`).
fn escape_data(text: &str) -> String {
    text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// A `key=value` property: `:` and `,` also end one, so they are encoded too (`escapeProperty`).
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::{escape_data, escape_property};

    #[test]
    fn escapes_what_would_end_a_command_or_a_property() {
        assert_eq!(escape_data("100% sure\r\nnext: a, b"), "100%25 sure%0D%0Anext: a, b");
        assert_eq!(escape_property("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
    }
}
