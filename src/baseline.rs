//! `--write-baseline FILE` records today's findings; `--baseline FILE` then reports only the others,
//! so a codebase can adopt async-lint without fixing everything first.
//!
//! An entry names a finding by what survives unrelated edits: its file (relative to the baseline's
//! folder, `/`-separated), its rule, and the code of the line where it starts, whitespace
//! normalised — never a line number. Entries are a multiset: two identical findings in the baseline
//! absorb two, a third is reported. `parse-error`, `io-error` and `internal-error` are never
//! recorded: they mean a file was not checked at all, which a baseline must not hide.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Component, Path, PathBuf};
use std::process::ExitCode;

use serde::{Deserialize, Serialize};

use crate::diagnostic::{floor_char_boundary, Diagnostic};
use crate::engine::{files, Report};
use crate::render::full::plural;

/// The format's version; a baseline of another version is refused, not misread.
pub const VERSION: u32 = 1;

const NEVER_RECORDED: [&str; 3] = ["parse-error", "io-error", "internal-error"];

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BaselineFile {
    version: u32,
    findings: Vec<Entry>,
}

/// Fields in this order, sorted by them: a baseline diffs well in review.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    path: String,
    rule: String,
    code: String,
    count: usize,
}

/// (path, rule, code)
type Key = (String, String, String);

pub struct Baseline {
    /// The canonical folder the entries' paths are relative to.
    dir: PathBuf,
    counts: BTreeMap<Key, usize>,
    /// How many findings the last [`Baseline::filter`] removed.
    hidden: Cell<usize>,
}

impl Baseline {
    pub fn load(path: &Path) -> Result<Baseline, String> {
        let text =
            std::fs::read_to_string(path).map_err(|e| format!("cannot read the baseline `{}`: {e}", path.display()))?;
        let file: BaselineFile = serde_json::from_str(&text)
            .map_err(|e| format!("`{}` is not an async-lint baseline: {e}", path.display()))?;
        if file.version != VERSION {
            return Err(format!(
                "`{}` is a version {} baseline; this async-lint reads version {VERSION}",
                path.display(),
                file.version
            ));
        }
        let mut counts = BTreeMap::new();
        for entry in file.findings {
            *counts.entry((entry.path, entry.rule, entry.code)).or_default() += entry.count;
        }
        Ok(Baseline { dir: folder_of(path)?, counts, hidden: Cell::new(0) })
    }

    /// `report` without the findings the baseline holds, each entry absorbing at most `count`.
    pub fn filter(&self, mut report: Report) -> Report {
        let mut left = self.counts.clone();
        let mut hidden = 0;
        for file in &mut report.files {
            let path = relative(&file.path, &self.dir);
            file.diagnostics.retain(|d| {
                let Some(key) = key(&path, &file.source, d) else { return true };
                match left.get_mut(&key) {
                    Some(count) if *count > 0 => {
                        *count -= 1;
                        hidden += 1;
                        false
                    }
                    _ => true,
                }
            });
        }
        report.files.retain(|file| !file.diagnostics.is_empty());
        self.hidden.set(hidden);
        report
    }

    /// `3 findings hidden by the baseline.`, if the last [`Baseline::filter`] removed any.
    pub fn hint(&self) -> Option<String> {
        let hidden = self.hidden.get();
        (hidden > 0).then(|| format!("{} hidden by the baseline.", plural(hidden, "finding")))
    }
}

/// `report` filtered by the baseline, if there is one.
pub fn filtered(baseline: Option<&Baseline>, report: Report) -> Report {
    match baseline {
        Some(baseline) => baseline.filter(report),
        None => report,
    }
}

/// [`write`], saying on stderr what was recorded unless `quiet`. Exit 0, or 2 if the file cannot be
/// written.
pub fn write_and_tell(path: &Path, report: &Report, quiet: bool) -> ExitCode {
    match write(path, report) {
        Ok(_) if quiet => ExitCode::SUCCESS,
        Ok((recorded, skipped)) => {
            eprintln!("Recorded {} in `{}`.", plural(recorded, "finding"), path.display());
            if skipped > 0 {
                let what = plural(skipped, "finding");
                eprintln!("note: {what} not recorded: parse-error, io-error and internal-error are always reported");
            }
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

/// Records every finding of `report` but those never recorded. Returns how many were recorded and
/// how many were not.
pub fn write(path: &Path, report: &Report) -> Result<(usize, usize), String> {
    let dir = folder_of(path)?;
    let mut counts: BTreeMap<Key, usize> = BTreeMap::new();
    let (mut recorded, mut skipped) = (0, 0);
    for file in &report.files {
        let relative = relative(&file.path, &dir);
        for diagnostic in &file.diagnostics {
            match key(&relative, &file.source, diagnostic) {
                Some(key) => {
                    *counts.entry(key).or_default() += 1;
                    recorded += 1;
                }
                None => skipped += 1,
            }
        }
    }
    let findings = counts.into_iter().map(|((path, rule, code), count)| Entry { path, rule, code, count }).collect();
    let mut text = serde_json::to_string_pretty(&BaselineFile { version: VERSION, findings })
        .map_err(|e| format!("cannot encode the baseline: {e}"))?;
    text.push('\n');
    let written = if path.exists() { files::write_atomically(path, &text) } else { std::fs::write(path, text) };
    written.map_err(|e| format!("cannot write the baseline `{}`: {e}", path.display()))?;
    Ok((recorded, skipped))
}

fn key(path: &str, source: &str, diagnostic: &Diagnostic) -> Option<Key> {
    if NEVER_RECORDED.contains(&diagnostic.rule) {
        return None;
    }
    Some((path.to_string(), diagnostic.rule.to_string(), code(source, &diagnostic.range)))
}

/// The line where `range` starts, its whitespace runs made single spaces: lines above it and other
/// lines of a multi-line construct may change without the finding coming back.
fn code(source: &str, range: &Range<usize>) -> String {
    let start = floor_char_boundary(source, range.start);
    let line_start = source[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = source[start..].find('\n').map_or(source.len(), |i| start + i);
    let line = source[line_start..line_end].trim_start_matches('\u{feff}');
    // A suppression comment added to or removed from the line (`--add-suppressions`, `--fix` of an
    // unused one) does not change the code.
    let line = line.find("// async-lint:").map_or(line, |at| &line[..at]);
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The canonical folder holding the baseline file, which must exist.
fn folder_of(path: &Path) -> Result<PathBuf, String> {
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    parent.canonicalize().map_err(|e| format!("cannot use the folder of the baseline `{}`: {e}", path.display()))
}

/// `path` relative to the canonical folder `dir`, `/`-separated (`../` where it is outside).
fn relative(path: &Path, dir: &Path) -> String {
    let absolute = path.canonicalize().or_else(|_| std::path::absolute(path)).unwrap_or_else(|_| path.to_path_buf());
    let ours: Vec<Component> = absolute.components().collect();
    let theirs: Vec<Component> = dir.components().collect();
    let common = ours.iter().zip(&theirs).take_while(|(a, b)| a == b).count();
    let up = std::iter::repeat_n("..".to_string(), theirs.len() - common);
    let down = ours[common..].iter().map(|c| c.as_os_str().to_string_lossy().into_owned());
    up.chain(down).collect::<Vec<_>>().join("/")
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::{code, relative};

    #[test]
    fn code_is_the_starting_line_with_whitespace_normalised() {
        let source = "\u{feff}fn f() {\n    let x =   block_on(\n        g());\n}\n";
        let at = source.find("block_on").unwrap();
        assert_eq!(code(source, &(at..source.len())), "let x = block_on(");
        assert_eq!(code(source, &(3..5)), "fn f() {");
        assert_eq!(code(source, &(source.len()..source.len())), "");
        let suppressed = "    g(block_on(x)); // async-lint: allow(unused-future) -- why\n";
        assert_eq!(code(suppressed, &(6..7)), "g(block_on(x));");
    }

    #[test]
    fn paths_are_relative_to_the_baseline_folder() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join("a/src")).unwrap();
        std::fs::write(root.join("a/src/lib.rs"), "").unwrap();
        assert_eq!(relative(&root.join("a/src/lib.rs"), &root), "a/src/lib.rs");
        assert_eq!(relative(&root.join("a/src/lib.rs"), &root.join("b")), "../a/src/lib.rs");
        assert_eq!(relative(Path::new("/no/such/file.rs"), Path::new("/no")), "such/file.rs");
    }
}
