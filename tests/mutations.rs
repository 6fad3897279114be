//! A stable property test: the fixtures, cut, duplicated and shuffled by tokens and by lines, must
//! never make the linter panic, and every span it reports must lie inside the file on char
//! boundaries. (The coverage-guided fuzz target in fuzz/ explores further, outside CI.)

use std::fs;
use std::path::{Path, PathBuf};

use async_lint::engine::lint_source;

/// xorshift64*: deterministic, so a failure replays exactly.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn fixtures() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir("fixtures")
        .unwrap()
        .flat_map(|dir| fs::read_dir(dir.unwrap().path()).unwrap())
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "rs"))
        .collect();
    files.sort();
    files
}

/// Whitespace-separated pieces, whitespace kept, so joining them gives the text back.
fn pieces(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if c.is_whitespace() && i > start {
            out.push(&text[start..i]);
            start = i;
        }
    }
    out.push(&text[start..]);
    out
}

fn mutate(text: &str, rng: &mut Rng) -> String {
    let mut parts: Vec<&str> = if rng.below(2) == 0 { text.split_inclusive('\n').collect() } else { pieces(text) };
    if parts.is_empty() {
        return String::new();
    }
    match rng.below(5) {
        0 => parts.truncate(rng.below(parts.len())),
        1 => {
            let (a, b) = (rng.below(parts.len()), rng.below(parts.len()));
            let (from, to) = (a.min(b), a.max(b));
            let copy: Vec<&str> = parts[from..=to].to_vec();
            let at = rng.below(parts.len());
            parts.splice(at..at, copy);
        }
        2 => {
            for _ in 0..1 + rng.below(8) {
                let (a, b) = (rng.below(parts.len()), rng.below(parts.len()));
                parts.swap(a, b);
            }
        }
        3 => {
            let at = rng.below(parts.len());
            parts.remove(at);
        }
        _ => {
            // Cut the text itself at a char boundary, mid-token.
            let joined = parts.concat();
            let mut cut = rng.below(joined.len() + 1);
            while !joined.is_char_boundary(cut) {
                cut -= 1;
            }
            return joined[..cut].to_string();
        }
    }
    parts.concat()
}

/// Checks every span; returns (parse errors, rule findings) to show the mutants exercise both.
fn check_spans(path: &Path, text: &str) -> (usize, usize) {
    let report = lint_source(path, text);
    let valid = |start: usize, end: usize| {
        start <= end && end <= text.len() && text.is_char_boundary(start) && text.is_char_boundary(end)
    };
    for d in &report.diagnostics {
        assert_ne!(d.rule, "internal-error", "{}: {}\n--- input ---\n{text}", path.display(), d.message);
        assert!(valid(d.range.start, d.range.end), "{} {:?} in {} bytes\n{text}", d.rule, d.range, text.len());
        for label in &d.secondary {
            assert!(valid(label.range.start, label.range.end), "{} label {:?}\n{text}", d.rule, label.range);
        }
        for edit in d.fix.iter().flat_map(|f| &f.edits) {
            assert!(valid(edit.range.start, edit.range.end), "{} edit {:?}\n{text}", d.rule, edit.range);
        }
    }
    let parse_errors = report.diagnostics.iter().filter(|d| d.rule == "parse-error").count();
    (parse_errors, report.diagnostics.len() - parse_errors)
}

#[test]
fn mutated_fixtures_never_panic_and_spans_stay_inside_the_file() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let files = fixtures();
    assert!(files.len() >= 5);
    let (mut mutants, mut unparsable, mut with_findings) = (0, 0, 0);
    for path in &files {
        let text = fs::read_to_string(path).unwrap();
        check_spans(path, &text);
        for _ in 0..40 {
            let (parse_errors, findings) = check_spans(path, &mutate(&text, &mut rng));
            mutants += 1;
            unparsable += usize::from(parse_errors > 0);
            with_findings += usize::from(findings > 0);
        }
    }
    // The mutants must reach both the parser's error paths and the rules.
    assert!(unparsable > mutants / 10 && with_findings > mutants / 10, "{mutants} {unparsable} {with_findings}");
}

#[test]
fn mutation_keeps_text_when_nothing_is_cut() {
    let text = "fn f() {\n    g(1, 2);\n}\n";
    assert_eq!(pieces(text).concat(), text);
    assert_eq!(text.split_inclusive('\n').collect::<String>(), text);
}
