//! Keeps the rule set honest: ids, registration, docs, fixtures and catalogs.

use std::fs;
use std::path::Path;

use async_lint::engine::{lint_source, lint_source_with};
use async_lint::rules::{self, NodeKind, Rule};

const SECTIONS: &[&str] = &["## What it does", "## Why is this bad?", "## Example", "## Use instead"];

#[test]
fn ids_are_unique_kebab_case_and_match_their_files() {
    let mut ids: Vec<&str> = rules::ALL.iter().map(|r| r.id).collect();
    for id in &ids {
        assert!(id.chars().all(|c| c.is_ascii_lowercase() || c == '-'), "`{id}` is not kebab-case");
        let file = format!("src/rules/{}.rs", id.replace('-', "_"));
        assert!(Path::new(&file).is_file(), "rule `{id}` has no file {file}");
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), rules::ALL.len(), "duplicate rule ids");
}

#[test]
fn every_rule_file_is_registered() {
    for entry in fs::read_dir("src/rules").unwrap() {
        let stem = entry.unwrap().path().file_stem().unwrap().to_string_lossy().to_string();
        if stem == "mod" {
            continue;
        }
        let id = stem.replace('_', "-");
        assert!(rules::by_id(&id).is_some(), "src/rules/{stem}.rs is not registered in src/rules/mod.rs");
    }
}

#[test]
fn docs_have_every_section_in_order() {
    for rule in rules::ALL {
        let doc = rule.doc();
        let positions: Vec<usize> =
            SECTIONS.iter().map(|s| doc.find(s).unwrap_or_else(|| panic!("`{}` lacks `{s}`", rule.id))).collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "`{}`: sections out of order", rule.id);
        assert!(doc.contains("## Known problems"), "`{}` lacks `## Known problems`", rule.id);
        let has_fix_section = doc.contains("## Fix safety");
        let has_fix = rule.fix != rules::FixAvailability::Never;
        assert_eq!(has_fix_section, has_fix, "`{}`: a `## Fix safety` section iff the rule has fixes", rule.id);
    }
}

/// The first ```rust block after `heading`.
fn code_after(doc: &str, heading: &str) -> String {
    let after = &doc[doc.find(heading).unwrap()..];
    let start = after.find("```rust\n").expect("a ```rust block") + "```rust\n".len();
    let end = after[start..].find("```").unwrap();
    after[start..start + end].to_string()
}

fn findings_of(rule: &Rule, code: &str) -> usize {
    lint_source(Path::new("doc.rs"), code).diagnostics.iter().filter(|d| d.rule == rule.id).count()
}

#[test]
fn doc_examples_are_flagged_and_their_fixes_are_not() {
    for rule in rules::ALL {
        let doc = rule.doc();
        let example = code_after(&doc, "## Example");
        let fixed = code_after(&doc, "## Use instead");
        assert!(findings_of(rule, &example) > 0, "`{}`: its Example is not flagged:\n{example}", rule.id);
        assert_eq!(findings_of(rule, &fixed), 0, "`{}`: its Use instead is flagged:\n{fixed}", rule.id);
    }
}

#[test]
fn every_rule_has_enough_fixtures_to_flag_and_to_leave_alone() {
    for rule in rules::ALL {
        let dir = Path::new("fixtures").join(rule.id);
        let mut flagged = 0;
        let mut ok = 0;
        for entry in fs::read_dir(&dir).unwrap_or_else(|_| panic!("no {}", dir.display())) {
            let text = fs::read_to_string(entry.unwrap().path()).unwrap();
            flagged += text
                .lines()
                .filter(|l| l.contains(&format!("//~ {}", rule.id)) || l.contains(&format!("//~^ {}", rule.id)))
                .count();
            ok += text.lines().filter(|l| l.contains("// ok:")).count();
        }
        assert!(flagged >= 10, "`{}`: {flagged} flagged fixture cases, want at least 10", rule.id);
        assert!(ok >= 10, "`{}`: {ok} `// ok:` look-alikes, want at least 10", rule.id);
    }
}

/// A rule is called only on the kinds of node it declares (`nodes: [..]`): one that left out a kind
/// its `check` looks at would silently lose findings. Called on every kind, each rule must find
/// exactly what it finds now, on every fixture.
#[test]
fn every_rule_declares_every_kind_of_node_it_looks_at() {
    const EVERY_KIND: &[NodeKind] =
        &[NodeKind::Fn, NodeKind::Stmt, NodeKind::Call, NodeKind::MethodCall, NodeKind::ForLoop, NodeKind::While];
    assert_eq!(EVERY_KIND.len(), NodeKind::COUNT);
    let fixtures: Vec<_> = fs::read_dir("fixtures")
        .unwrap()
        .flat_map(|dir| fs::read_dir(dir.unwrap().path()).unwrap())
        .map(|file| file.unwrap().path())
        .collect();
    for &rule in rules::ALL {
        let everywhere: &'static Rule = Box::leak(Box::new(Rule {
            id: rule.id,
            category: rule.category,
            fix: rule.fix,
            tests: rule.tests,
            doc: rule.doc,
            nodes: EVERY_KIND,
            check: rule.check,
        }));
        for path in &fixtures {
            let text = fs::read_to_string(path).unwrap();
            let declared = lint_source_with(path, &text, &[rule]).diagnostics;
            let every = lint_source_with(path, &text, &[everywhere]).diagnostics;
            assert_eq!(declared, every, "`{}` on {}: declare the kinds of node it looks at", rule.id, path.display());
        }
    }
}

#[test]
fn the_embedded_catalogs_parse() {
    async_lint::catalog::Catalog::parse().unwrap();
}

/// The README's rule table is what `async-lint rules` prints, row for row.
#[test]
fn the_readme_rule_table_matches_the_rules() {
    let readme = fs::read_to_string("README.md").unwrap();
    let table: Vec<&str> = readme.lines().filter(|l| l.starts_with("| `") && l.matches(" | ").count() == 5).collect();
    let expected: Vec<String> = rules::ALL
        .iter()
        .map(|r| {
            let (category, severity) = (r.category.as_str(), r.category.default_severity().as_str());
            let (fix, tests) = (r.fix.as_str(), r.tests.as_str());
            format!("| `{}` | {category} | {severity} | {fix} | {tests} | {} |", r.id, r.summary())
        })
        .collect();
    assert_eq!(table, expected, "update the table in README.md (## Rules) from `async-lint rules`");
}
