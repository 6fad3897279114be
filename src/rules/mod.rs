//! The rules. Adding one = a file here, a line in `rules!` below, and `fixtures/<rule-id>/`.

use crate::diagnostic::Severity;
pub use crate::engine::context::{Context, FnKind, FnNode, Node, NodeKind};

/// A rule's family; it sets the default severity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Category {
    /// Code that is wrong: it deadlocks, panics or silently does nothing.
    Correctness,
    /// Code that is most likely wrong, or that hides failures.
    Suspicious,
    /// Code that is slower than it needs to be.
    Perf,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Correctness => "correctness",
            Category::Suspicious => "suspicious",
            Category::Perf => "perf",
        }
    }

    pub fn default_severity(self) -> Severity {
        match self {
            Category::Correctness => Severity::Error,
            Category::Suspicious | Category::Perf => Severity::Warning,
        }
    }
}

/// Whether findings of a rule carry a machine-applicable edit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FixAvailability {
    Never,
    Sometimes,
    Always,
}

impl FixAvailability {
    pub fn as_str(self) -> &'static str {
        match self {
            FixAvailability::Never => "none",
            FixAvailability::Sometimes => "sometimes",
            FixAvailability::Always => "always",
        }
    }
}

/// Does a rule report in test code under the default `test-code = "relaxed"`?
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InTests {
    /// The bug it finds is as real in a test: a test that deadlocks or never runs its assertion.
    Checked,
    /// What it finds is deliberate or harmless in a test (blocking on fixtures, a fixed handful of
    /// tasks, work the test's runtime cancels when the test ends): silent in test code.
    Relaxed,
}

impl InTests {
    pub fn as_str(self) -> &'static str {
        match self {
            InTests::Checked => "checked",
            InTests::Relaxed => "relaxed",
        }
    }
}

pub struct Rule {
    pub id: &'static str,
    pub category: Category,
    pub fix: FixAvailability,
    /// How test code is treated; the `test-code` setting decides what that means.
    pub tests: InTests,
    /// The rule's documentation, from its doc comment: What it does, Why is this bad?, ...
    pub doc: &'static str,
    /// The kinds of node `check` looks at; it is not called on the others.
    pub nodes: &'static [NodeKind],
    pub check: fn(Node<'_>, &mut Context<'_>),
}

impl Rule {
    /// The first sentence of "What it does" (up to a `.` or `:`), on one line.
    pub fn summary(&self) -> String {
        let doc = self.doc();
        let body = doc.split("## What it does").nth(1).unwrap_or(&doc);
        let paragraph = body.trim_start().split("\n\n").next().unwrap_or("");
        let line = paragraph.split_whitespace().collect::<Vec<_>>().join(" ");
        let end = [". ", ": "].iter().filter_map(|stop| line.find(stop)).min().unwrap_or(line.len());
        line[..end].trim_end_matches('.').to_string()
    }

    /// The doc comment as written, without the one space `///` leaves before each line.
    pub fn doc(&self) -> String {
        let lines: Vec<&str> = self.doc.lines().map(|l| l.strip_prefix(' ').unwrap_or(l)).collect();
        lines.join("\n").trim().to_string()
    }
}

impl std::fmt::Debug for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rule").field("id", &self.id).finish()
    }
}

/// Declares a rule: its `///` doc comment becomes the text `async-lint rule <id>` prints.
macro_rules! declare_rule {
    (
        $(#[doc = $doc:literal])*
        id: $id:literal,
        category: $category:ident,
        fix: $fix:ident,
        tests: $tests:ident,
        nodes: [$($node:ident),* $(,)?],
        check: $check:path $(,)?
    ) => {
        pub static RULE: $crate::rules::Rule = $crate::rules::Rule {
            id: $id,
            category: $crate::rules::Category::$category,
            fix: $crate::rules::FixAvailability::$fix,
            tests: $crate::rules::InTests::$tests,
            doc: concat!($($doc, "\n"),*),
            nodes: &[$($crate::rules::NodeKind::$node),*],
            check: $check,
        };
    };
}

macro_rules! rules {
    ($($module:ident),* $(,)?) => {
        $(mod $module;)*
        /// Every rule, in the order `async-lint rules` lists them.
        pub static ALL: &[&Rule] = &[$(&$module::RULE),*];
    };
}

rules! {
    block_on_in_async,
    unawaited_future,
    spawn_without_join,
    missing_cancellation,
    sequential_await_in_loop,
    discarded_task_result,
    blocking_in_async,
    unbounded_concurrency,
    async_without_await,
    lock_across_await,
}

/// A finding the engine reports itself, about a file or a suppression comment rather than the code.
pub struct EngineId {
    pub id: &'static str,
    pub severity: Severity,
    /// One sentence for rule lists (SARIF's descriptions).
    pub description: &'static str,
    /// The `help` every finding of this id carries.
    pub help: &'static str,
}

/// The engine's own ids: they have no rule file and cannot be suppressed by a comment.
pub static ENGINE: &[EngineId] = &[
    EngineId {
        id: "parse-error",
        severity: Severity::Error,
        description: "The file is not valid Rust syntax, so it was not checked",
        help: "async-lint checks code that rustc accepts; fix the syntax or exclude the file",
    },
    EngineId {
        id: "io-error",
        severity: Severity::Error,
        description: "The file could not be read, or is not UTF-8, so it was not checked",
        help: "check that the file exists, is readable and is UTF-8 encoded",
    },
    EngineId {
        id: "internal-error",
        severity: Severity::Error,
        description: "async-lint failed while checking the file; this is a bug in async-lint",
        help: "this is a bug in async-lint, not in your code",
    },
    EngineId {
        id: "unused-suppression",
        severity: Severity::Warning,
        description: "A suppression comment names a rule that has no finding where the comment applies",
        help: "remove it: nothing of that rule is found where it applies",
    },
    EngineId {
        id: "invalid-suppression",
        severity: Severity::Warning,
        description: "A suppression comment is malformed or names a rule that does not exist or cannot be suppressed",
        help: "write `// async-lint: allow(rule-id) -- reason` (or `file-allow(..)` for the whole file)",
    },
];

pub fn engine_id(id: &str) -> Option<&'static EngineId> {
    ENGINE.iter().find(|e| e.id == id)
}

pub fn is_engine_id(id: &str) -> bool {
    engine_id(id).is_some()
}

pub fn by_id(id: &str) -> Option<&'static Rule> {
    ALL.iter().copied().find(|r| r.id == id)
}

/// The rule whose id is nearest to `id` (a misspelling), if one is near enough.
pub fn nearest(id: &str) -> Option<&'static Rule> {
    ALL.iter().copied().min_by_key(|r| edit_distance(id, r.id)).filter(|r| edit_distance(id, r.id) <= r.id.len() / 2)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let next = (diagonal + usize::from(ca != cb)).min(row[j] + 1).min(row[j + 1] + 1);
            diagonal = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    #[test]
    fn suggests_the_nearest_rule_id() {
        assert_eq!(super::nearest("block-on-async").map(|r| r.id), Some("block-on-in-async"));
        assert_eq!(super::nearest("xyz").map(|r| r.id), None);
    }
}
