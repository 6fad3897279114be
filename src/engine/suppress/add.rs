//! `check --add-suppressions`: a suppression comment for every finding, so that a codebase with
//! findings can adopt async-lint and hold new code to it. Each comment is as narrow as the syntax
//! allows: on a line of its own above the smallest statement, item, arm or field that holds the
//! finding and starts its line; else at the end of the finding's line; else above a larger node;
//! else (never seen in practice) a `file-allow` at the top of the file.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::process::ExitCode;

use rayon::prelude::*;

use super::scan::{self, Kind, Lexeme};
use super::{coverable_nodes, line_break_end, line_of, parse};
use crate::engine::{files, parser_offset, thread_pool, FileReport, Report};
use crate::rules;

/// The reason every added comment gives.
pub const REASON: &str = "existing finding, suppressed by --add-suppressions";

/// Where a comment goes. Insertions are made from the end of the text backwards, so each offset is
/// one of the original text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Place {
    /// On a line of its own, above the node starting at `node`, indented like it.
    Above { line_start: usize, node: usize },
    /// After the code of a line.
    Trailing { at: usize },
    /// Into the list of an `allow(..)` already ending the line, before its `)`.
    Merge { at: usize },
    /// A `file-allow` at the top of the file.
    File { at: usize },
}

impl Place {
    fn offset(self) -> usize {
        match self {
            Place::Above { line_start: at, .. } | Place::Trailing { at } | Place::Merge { at } | Place::File { at } => {
                at
            }
        }
    }
}

/// Suppresses every finding of `report` that a comment can suppress, writing the files in place,
/// and says on stderr how many suppressions went into how many files (unless `quiet`). Exit status 2
/// if a file could not be changed.
pub fn run(report: &Report, quiet: bool) -> ExitCode {
    let results: Vec<(&FileReport, Result<usize, String>)> = match thread_pool(None) {
        // Parsing deeply nested code needs the workers' large stacks.
        Ok(pool) => pool.install(|| report.files.par_iter().map(|file| (file, suppress_file(file))).collect()),
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    let (mut suppressions, mut changed, mut failed) = (0, 0, false);
    for (file, result) in results {
        match result {
            Ok(0) => {}
            Ok(added) => (suppressions, changed) = (suppressions + added, changed + 1),
            Err(message) => {
                eprintln!("error: {}: {message}", file.path.display());
                failed = true;
            }
        }
    }
    if !quiet {
        eprintln!("added {} to {}", plural(suppressions, "suppression"), plural(changed, "file"));
    }
    if failed {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}

fn plural(count: usize, noun: &str) -> String {
    format!("{count} {noun}{}", if count == 1 { "" } else { "s" })
}

/// Adds the comments to one file; returns how many rule ids it wrote.
fn suppress_file(file: &FileReport) -> Result<usize, String> {
    let findings: Vec<(&'static str, usize)> =
        file.diagnostics.iter().filter(|d| !rules::is_engine_id(d.rule)).map(|d| (d.rule, d.range.start)).collect();
    if findings.is_empty() {
        return Ok(0);
    }
    let (text, added) = with_suppressions(&file.source, &findings)?;
    let parsed = syn::parse_str::<syn::File>(&text[parser_offset(&text)..]);
    proc_macro2::extra::invalidate_current_thread_spans();
    parsed.map_err(|e| format!("the file would no longer parse ({e}), so it was left as it was"))?;
    files::write_atomically(&file.path, &text).map_err(|e| format!("cannot write the file: {e}"))?;
    Ok(added)
}

/// `text` with a suppression for each `(rule id, start of the finding)`, and how many rule ids
/// were written (findings of one rule that share a comment count once).
pub fn with_suppressions(text: &str, findings: &[(&'static str, usize)]) -> Result<(String, usize), String> {
    let base = parser_offset(text);
    let file = syn::parse_str::<syn::File>(&text[base..]).map_err(|e| format!("cannot parse the file: {e}"))?;
    let lexemes = scan::scan(text, base);
    let mut starts: Vec<usize> = findings.iter().map(|&(_, start)| start).collect();
    starts.sort_unstable();
    starts.dedup();
    let mut nodes = coverable_nodes(&file, base, &starts);
    proc_macro2::extra::invalidate_current_thread_spans();
    // Outer before inner: the last node holding an offset is the smallest.
    nodes.sort_by_key(|node| (node.start, std::cmp::Reverse(node.end)));
    let mut places: BTreeMap<Place, BTreeSet<&str>> = BTreeMap::new();
    for &(rule, start) in findings {
        places.entry(place(text, start, &nodes, &lexemes)).or_default().insert(rule);
    }
    let newline = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let mut out = text.to_string();
    let mut added = 0;
    let mut ordered: Vec<_> = places.into_iter().collect();
    ordered.sort_by_key(|(place, _)| std::cmp::Reverse(place.offset()));
    for (place, ids) in ordered {
        added += ids.len();
        let ids = ids.into_iter().collect::<Vec<_>>().join(", ");
        let insertion = match place {
            Place::Above { line_start, node } => {
                format!("{}// async-lint: allow({ids}) -- {REASON}{newline}", &text[line_start..node])
            }
            Place::Trailing { .. } => format!(" // async-lint: allow({ids}) -- {REASON}"),
            Place::Merge { .. } => format!(", {ids}"),
            Place::File { .. } => format!("// async-lint: file-allow({ids}) -- {REASON}{newline}"),
        };
        out.insert_str(place.offset(), &insertion);
    }
    Ok((out, added))
}

/// Where the comment for a finding starting at `start` goes; `nodes` are the coverable nodes
/// that hold a finding, outer before inner.
fn place(text: &str, start: usize, nodes: &[Range<usize>], lexemes: &[Lexeme]) -> Place {
    let line_start = |offset: usize| line_of(text, offset).start;
    let starts_its_line = |node: &Range<usize>| text[line_start(node.start)..node.start].trim().is_empty();
    let above = |node: &Range<usize>| Place::Above { line_start: line_start(node.start), node: node.start };
    let holding: Vec<&Range<usize>> = nodes.iter().filter(|node| node.contains(&start)).collect();
    if let Some(smallest) = holding.last().filter(|node| starts_its_line(node)) {
        return above(smallest);
    }
    if let Some(place) = end_of_line(text, start, lexemes) {
        return place;
    }
    match holding.iter().rev().find(|node| starts_its_line(node)) {
        Some(node) => above(node),
        None => Place::File { at: line_break_end(text, parser_offset(text)) },
    }
}

/// A comment at the end of `offset`'s line, if one can go there: not when the line break is inside
/// a string or a block comment, and not after another `//` comment (unless that is an `allow`
/// to merge into).
fn end_of_line(text: &str, offset: usize, lexemes: &[Lexeme]) -> Option<Place> {
    let line = line_of(text, offset);
    let is_line_comment = |l: &Lexeme| matches!(l.kind, Kind::LineComment | Kind::DocLineComment);
    let spans_the_break = |l: &Lexeme| l.range.start < line.end && line.end < l.range.end;
    if lexemes.iter().any(|l| !is_line_comment(l) && spans_the_break(l)) {
        return None;
    }
    let Some(comment) = lexemes.iter().find(|l| is_line_comment(l) && line.contains(&l.range.start)) else {
        return Some(Place::Trailing { at: line.start + text[line.clone()].trim_end().len() });
    };
    let after_code = !text[line.start..comment.range.start].trim().is_empty();
    match parse(&text[comment.range.clone()]) {
        Some(Ok(written)) if comment.kind == Kind::LineComment && after_code && !written.file => {
            Some(Place::Merge { at: comment.range.start + written.list.end })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::with_suppressions;

    /// `text` with the findings `(rule, marker)` suppressed, each finding starting where `marker`
    /// first occurs.
    fn suppressed(text: &str, findings: &[(&'static str, &str)]) -> String {
        let findings: Vec<_> = findings.iter().map(|&(rule, at)| (rule, text.find(at).unwrap())).collect();
        with_suppressions(text, &findings).unwrap().0.replace(super::REASON, "R")
    }

    #[test]
    fn a_comment_goes_above_the_statement_indented_like_it() {
        let text = "async fn f() {\n    let x = g(\n        block_on(h()),\n    );\n}\n";
        let expected = "async fn f() {\n    // async-lint: allow(block-on-in-async) -- R\n    let x = g(\n        block_on(h()),\n    );\n}\n";
        assert_eq!(suppressed(text, &[("block-on-in-async", "block_on")]), expected);
    }

    #[test]
    fn findings_on_one_line_share_a_comment() {
        let text = "async fn f() {\n    block_on(a(b()));\n}\n";
        let found = suppressed(text, &[("block-on-in-async", "block_on"), ("unawaited-future", "b()")]);
        assert!(
            found.contains("    // async-lint: allow(block-on-in-async, unawaited-future) -- R\n    block_on"),
            "{found}"
        );
    }

    #[test]
    fn a_node_that_does_not_start_its_line_gets_a_trailing_comment() {
        let text = "async fn f() { a(); block_on(b()); }\n";
        let expected = "async fn f() { a(); block_on(b()); } // async-lint: allow(block-on-in-async) -- R\n";
        assert_eq!(suppressed(text, &[("block-on-in-async", "block_on")]), expected);
    }

    #[test]
    fn a_line_ending_in_a_comment_gets_its_comment_above_or_merged() {
        let text = "async fn f() { a(); block_on(b()); } // note\n";
        let found = suppressed(text, &[("block-on-in-async", "block_on")]);
        assert_eq!(found, format!("// async-lint: allow(block-on-in-async) -- R\n{text}"));
        let text = "fn g() {}\nasync fn f() { a(); block_on(b()); } // async-lint: allow(x) -- y\n";
        let found = suppressed(text, &[("block-on-in-async", "block_on")]);
        assert!(found.ends_with("// async-lint: allow(x, block-on-in-async) -- y\n"), "{found}");
    }

    #[test]
    fn a_line_ending_inside_a_string_gets_no_trailing_comment() {
        let text = "async fn f() { a(); block_on(b(\"one\ntwo\")); }\n";
        let found = suppressed(text, &[("block-on-in-async", "block_on")]);
        assert_eq!(found, format!("// async-lint: allow(block-on-in-async) -- R\n{text}"));
    }

    #[test]
    fn crlf_files_get_crlf_lines() {
        let text = "async fn f() {\r\n    block_on(b());\r\n}\r\n";
        let expected =
            "async fn f() {\r\n    // async-lint: allow(block-on-in-async) -- R\r\n    block_on(b());\r\n}\r\n";
        assert_eq!(suppressed(text, &[("block-on-in-async", "block_on")]), expected);
    }
}
