//! Any text: linting it must not panic (an `internal-error` finding counts as a crash), and every
//! span must lie inside the text on char boundaries. Suppressing every finding as
//! `--add-suppressions` does must give text that parses and has none of those findings left.
#![no_main]

use std::path::Path;

use async_lint::engine::{lint_source, suppress::add::with_suppressions};
use async_lint::rules;
use libfuzzer_sys::fuzz_target;

/// Built with `--cfg fuzzing` (cargo fuzz's default), proc-macro2 records no source positions:
/// every span is `0..0` and the checks below would hold vacuously.
fn spans_are_recorded() {
    static CHECKED: std::sync::Once = std::sync::Once::new();
    CHECKED.call_once(|| {
        let report = lint_source(Path::new("fuzz.rs"), "async fn f() { futures::executor::block_on(g()); }");
        let range = report.diagnostics.first().map(|d| d.range.clone());
        assert_eq!(range, Some(15..47), "run `cargo fuzz run --no-cfg-fuzzing ..` (see fuzz/Cargo.toml)");
    });
}

fuzz_target!(|data: &[u8]| {
    spans_are_recorded();
    let Ok(text) = std::str::from_utf8(data) else { return };
    let report = lint_source(Path::new("fuzz.rs"), text);
    let valid = |r: &std::ops::Range<usize>| {
        r.start <= r.end && r.end <= text.len() && text.is_char_boundary(r.start) && text.is_char_boundary(r.end)
    };
    for d in &report.diagnostics {
        assert_ne!(d.rule, "internal-error", "{}", d.message);
        assert!(valid(&d.range), "{} {:?}", d.rule, d.range);
        assert!(d.secondary.iter().all(|l| valid(&l.range)), "{}", d.rule);
        assert!(d.fix.iter().flat_map(|f| &f.edits).all(|e| valid(&e.range)), "{}", d.rule);
    }
    let findings: Vec<(&'static str, usize)> = report
        .diagnostics
        .iter()
        .filter(|d| !rules::ENGINE_IDS.contains(&d.rule))
        .map(|d| (d.rule, d.range.start))
        .collect();
    if findings.is_empty() {
        return;
    }
    let (suppressed, _) = with_suppressions(text, &findings).expect("a file with rule findings parses");
    let left = lint_source(Path::new("fuzz.rs"), &suppressed);
    let unsuppressed: Vec<_> = left.diagnostics.iter().filter(|d| !rules::ENGINE_IDS.contains(&d.rule)).collect();
    assert!(unsuppressed.is_empty(), "{unsuppressed:#?}\n{suppressed}");
});
