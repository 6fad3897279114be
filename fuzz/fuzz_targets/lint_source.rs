//! Any text: linting it must not panic (an `internal-error` finding counts as a crash), and every
//! span must lie inside the text on char boundaries.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let report = async_lint::engine::lint_source(Path::new("fuzz.rs"), text);
    let valid = |r: &std::ops::Range<usize>| {
        r.start <= r.end && r.end <= text.len() && text.is_char_boundary(r.start) && text.is_char_boundary(r.end)
    };
    for d in &report.diagnostics {
        assert_ne!(d.rule, "internal-error", "{}", d.message);
        assert!(valid(&d.range), "{} {:?}", d.rule, d.range);
        assert!(d.secondary.iter().all(|l| valid(&l.range)), "{}", d.rule);
        assert!(d.fix.iter().flat_map(|f| &f.edits).all(|e| valid(&e.range)), "{}", d.rule);
    }
});
