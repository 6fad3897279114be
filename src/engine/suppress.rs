//! Suppression comments. syn drops comments, so they are found in the text ([`scan`]); what each
//! one covers is then measured on the syntax tree.
//!
//! - `// async-lint: allow(rule-id, ..) -- reason` on a line of its own covers all of the
//!   statement, item, impl or trait item, match arm, enum variant, struct field or struct-literal
//!   field that starts at the next token (outer attributes and doc comments included). If the next
//!   token starts none of those (a `}`, tokens inside a macro call), it covers that token's line.
//! - The same comment after code covers its own line: the findings whose primary range starts or
//!   ends on that line.
//! - `// async-lint: file-allow(rule-id, ..) -- reason` anywhere covers the whole file.
//!
//! Only `//` comments count: not doc comments, not `/* .. */`, not text in a string. A comment
//! that starts with `async-lint:` but is malformed is an `invalid-suppression`; a listed rule that
//! covers no finding is an `unused-suppression`. These two cannot be suppressed by a comment, nor
//! can `parse-error`, `io-error` and `internal-error`.

pub mod add;
mod scan;

use std::ops::Range;

use syn::spanned::Spanned;
use syn::visit::{self, Visit};

use super::engine_diagnostic;
use super::walker::is_test_item;
use crate::config::TestCode;
use crate::diagnostic::{Applicability, Diagnostic, Edit, Fix};
use crate::rules;
use scan::{Kind, Lexeme};

/// Every suppression comment starts with this; a file without it costs one substring search.
const MARKER: &str = "async-lint:";

/// The suppression comments of one file.
#[derive(Debug, Default)]
pub struct Suppressions {
    directives: Vec<Directive>,
    /// One `invalid-suppression` per malformed comment or unusable rule id.
    invalid: Vec<Diagnostic>,
    /// Which rules ran on the test code the directives marked `in_test_code` cover.
    test_code: TestCode,
}

#[derive(Debug)]
struct Directive {
    scope: Scope,
    /// Every id listed, as written; only those with a `rule` suppress anything.
    ids: Vec<Id>,
    /// Between the parentheses.
    list: Range<usize>,
    /// What deleting the comment deletes: its whole line if it has one of its own, else the
    /// comment and the blanks before it.
    removal: Range<usize>,
    /// It covers test code, where the `test-code` setting may not have run the rules it lists.
    in_test_code: bool,
}

#[derive(Debug)]
struct Id {
    name: String,
    range: Range<usize>,
    /// The rule it names, if that rule exists and may be suppressed.
    rule: Option<&'static str>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Scope {
    File,
    /// A node: the findings whose primary range starts inside it.
    Node(Range<usize>),
    /// A line, from its first byte to its line break: the findings whose primary range starts or
    /// ends on it.
    Line(Range<usize>),
}

impl Scope {
    fn covers(&self, finding: &Range<usize>) -> bool {
        match self {
            Scope::File => true,
            Scope::Node(node) => node.contains(&finding.start),
            Scope::Line(line) => {
                (line.start..=line.end).contains(&finding.start)
                    || (finding.end > line.start && finding.end <= line.end)
            }
        }
    }
}

/// A comment that starts with `async-lint:` and is well formed. Offsets are in the comment.
#[derive(Debug, PartialEq, Eq)]
struct Written<'c> {
    file: bool,
    ids: Vec<(&'c str, Range<usize>)>,
    list: Range<usize>,
}

impl Suppressions {
    /// The suppressions of a file whose `text[base..]` was parsed as `file`, linted with
    /// `test_code` (`test_file`: the whole file is test code).
    pub fn find(text: &str, base: usize, file: &syn::File, test_code: TestCode, test_file: bool) -> Suppressions {
        let mut found = Suppressions { test_code, ..Suppressions::default() };
        // Most files have no suppression comment: a vectorised search says so fastest.
        if memchr::memmem::find(&text.as_bytes()[base..], MARKER.as_bytes()).is_none() {
            return found;
        }
        let lexemes = scan::scan(text, base);
        // Comments on lines of their own, waiting to learn what starts at their next token.
        let mut targets: Vec<(usize, usize)> = Vec::new();
        for comment in lexemes.iter().filter(|l| l.kind == Kind::LineComment) {
            match parse(&text[comment.range.clone()]) {
                None => {}
                Some(Err(message)) => found.invalid.push(invalid(comment.range.clone(), message, None)),
                Some(Ok(written)) => {
                    if let Some(target) = found.add(text, comment.range.clone(), &written, &lexemes) {
                        targets.push((found.directives.len() - 1, target));
                    }
                }
            }
        }
        let mut offsets: Vec<usize> = targets.iter().map(|&(_, target)| target).collect();
        offsets.sort_unstable();
        offsets.dedup();
        let nodes = coverable_nodes(file, base, &offsets);
        for (directive, target) in targets {
            let end = nodes.iter().filter(|node| node.start == target).map(|node| node.end).max();
            found.directives[directive].scope = match end {
                Some(end) => Scope::Node(target..end),
                None => Scope::Line(line_of(text, target)),
            };
        }
        if test_code != TestCode::Check && !found.directives.is_empty() {
            let tests = test_code_ranges(file, base, test_file);
            for directive in &mut found.directives {
                let at = match &directive.scope {
                    Scope::File => None,
                    Scope::Node(node) => Some(node.start),
                    Scope::Line(_) => Some(directive.list.start),
                };
                directive.in_test_code = match at {
                    Some(at) => tests.iter().any(|range| range.contains(&at)),
                    None => tests.contains(&WHOLE_FILE),
                };
            }
        }
        found
    }

    /// Adds the directive of the comment at `comment`. For a comment on a line of its own, returns
    /// its next token, where the node it covers starts (if one does).
    fn add(&mut self, text: &str, comment: Range<usize>, written: &Written, lexemes: &[Lexeme]) -> Option<usize> {
        let at = comment.start;
        let ids = written.ids.iter().map(|(name, range)| self.id(name, at + range.start)).collect();
        let list = at + written.list.start..at + written.list.end;
        let line = line_of(text, at);
        let own_line = text[line.start..at].trim().is_empty();
        let removal = if own_line {
            line.start..line_break_end(text, comment.end)
        } else {
            at - (text[..at].len() - text[..at].trim_end().len())..comment.end
        };
        let (scope, target) = match (written.file, own_line) {
            (true, _) => (Scope::File, None),
            // The line until the node at the target is measured.
            (false, true) => (Scope::Line(line), Some(next_token(text, comment.end, lexemes))),
            (false, false) => (Scope::Line(line), None),
        };
        self.directives.push(Directive { scope, ids, list, removal, in_test_code: false });
        target
    }

    /// A listed id at `at`; an unknown or unsuppressible one is reported.
    fn id(&mut self, name: &str, at: usize) -> Id {
        let range = at..at + name.len();
        let rule = match rules::by_id(name) {
            Some(rule) => Some(rule.id),
            None if rules::is_engine_id(name) => {
                let message = format!("`{name}` cannot be suppressed by a comment");
                self.invalid.push(invalid(range.clone(), message, None));
                None
            }
            None => {
                let help = rules::nearest(name).map(|r| format!("did you mean `{}`?", r.id));
                self.invalid.push(invalid(range.clone(), format!("unknown rule `{name}` in a suppression"), help));
                None
            }
        };
        Id { name: name.to_string(), range, rule }
    }

    pub fn is_empty(&self) -> bool {
        self.directives.is_empty() && self.invalid.is_empty()
    }

    /// Drops the findings the comments cover and adds one `unused-suppression` per listed rule
    /// that covers none, unless the rule did not run where the comment applies (`rule_enabled`
    /// says it did not run on this file; the `test-code` setting, in test code), and the
    /// `invalid-suppression` findings.
    pub fn apply(&self, mut diagnostics: Vec<Diagnostic>, rule_enabled: impl Fn(&str) -> bool) -> Vec<Diagnostic> {
        if self.is_empty() {
            return diagnostics;
        }
        let mut used: Vec<Vec<bool>> = self.directives.iter().map(|d| vec![false; d.ids.len()]).collect();
        diagnostics.retain(|finding| {
            let mut suppressed = false;
            for (directive, used) in self.directives.iter().zip(&mut used) {
                if !directive.scope.covers(&finding.range) {
                    continue;
                }
                for (id, used) in directive.ids.iter().zip(used.iter_mut()) {
                    if id.rule == Some(finding.rule) && !rules::is_engine_id(finding.rule) {
                        (*used, suppressed) = (true, true);
                    }
                }
            }
            !suppressed
        });
        for (directive, used) in self.directives.iter().zip(&used) {
            let unused: Vec<&Id> = directive
                .ids
                .iter()
                .zip(used)
                .filter(|(id, &used)| {
                    !used && id.rule.is_some_and(|rule| rule_enabled(rule) && self.ran(directive, rule))
                })
                .map(|(id, _)| id)
                .collect();
            if unused.is_empty() {
                continue;
            }
            let fix = directive.removing(&unused);
            for id in unused {
                let message = format!("unused suppression: no `{}` finding here", id.name);
                let mut diagnostic = engine_diagnostic("unused-suppression", id.range.clone(), message);
                diagnostic.label = "this suppresses nothing".into();
                diagnostic.fix = Some(fix.clone());
                diagnostics.push(diagnostic);
            }
        }
        diagnostics.extend(self.invalid.iter().cloned());
        diagnostics
    }
}

impl Suppressions {
    fn ran(&self, directive: &Directive, rule: &str) -> bool {
        !directive.in_test_code || rules::by_id(rule).is_some_and(|rule| self.test_code.runs(rule))
    }
}

impl Directive {
    /// Removes the `unused` ids from the list, or the comment if nothing else is listed. Every
    /// unused id of one comment carries this same fix, so that applying any one of them leaves
    /// no overlap for the others.
    fn removing(&self, unused: &[&Id]) -> Fix {
        let kept: Vec<&str> = self
            .ids
            .iter()
            .filter(|id| !unused.iter().any(|u| std::ptr::eq(*u, *id)))
            .map(|id| id.name.as_str())
            .collect();
        if kept.is_empty() {
            let edit = Edit { range: self.removal.clone(), replacement: String::new() };
            return Fix {
                applicability: Applicability::Safe,
                message: "remove the suppression".into(),
                edits: vec![edit],
            };
        }
        let names: Vec<String> = unused.iter().map(|id| format!("`{}`", id.name)).collect();
        let edit = Edit { range: self.list.clone(), replacement: kept.join(", ") };
        let message = format!("remove {} from the suppression", names.join(", "));
        Fix { applicability: Applicability::Safe, message, edits: vec![edit] }
    }
}

fn invalid(range: Range<usize>, message: String, help: Option<String>) -> Diagnostic {
    let mut diagnostic = engine_diagnostic("invalid-suppression", range, message);
    diagnostic.label = "this suppresses nothing".into();
    if help.is_some() {
        diagnostic.help = help;
    }
    diagnostic
}

/// `None` unless the comment starts with `async-lint:`; then the directive or what is wrong.
fn parse(comment: &str) -> Option<Result<Written<'_>, String>> {
    let rest = comment.strip_prefix("//")?.trim_start().strip_prefix(MARKER)?;
    Some(parse_directive(comment, comment.len() - rest.len()))
}

/// `allow(a, b) -- reason` or `file-allow(..) -- reason`, from `comment[at..]`.
fn parse_directive(comment: &str, at: usize) -> Result<Written<'_>, String> {
    let word_start = at + blanks(&comment[at..]);
    let word_len = comment[word_start..]
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        .unwrap_or(comment.len() - word_start);
    let file = match &comment[word_start..word_start + word_len] {
        "allow" => false,
        "file-allow" => true,
        "" => return Err(format!("expected `allow(..)` or `file-allow(..)` after `{MARKER}`")),
        word => return Err(format!("unknown suppression `{word}`: expected `allow` or `file-allow`")),
    };
    let open = word_start + word_len + blanks(&comment[word_start + word_len..]);
    if !comment[open..].starts_with('(') {
        return Err("expected `(` and the rule ids after `allow`".into());
    }
    let close = comment[open..].find(')').map(|i| open + i).ok_or("expected `)` after the rule ids")?;
    let list = open + 1..close;
    if comment[list.clone()].trim().is_empty() {
        return Err("a suppression must name at least one rule".into());
    }
    let mut ids = Vec::new();
    let mut start = list.start;
    for part in comment[list.clone()].split(',') {
        let name = part.trim();
        if name.is_empty() {
            return Err("an empty rule id in the list".into());
        }
        let name_start = start + blanks(part);
        ids.push((name, name_start..name_start + name.len()));
        start += part.len() + 1;
    }
    let after = comment[close + 1..].trim();
    match after.strip_prefix("--").map(str::trim) {
        Some(reason) if !reason.is_empty() => Ok(Written { file, ids, list }),
        _ if after.is_empty() || after == "--" => Err("a suppression needs a reason: add ` -- why` after it".into()),
        _ => Err("expected ` -- reason` after the rule ids".into()),
    }
}

fn blanks(text: &str) -> usize {
    text.len() - text.trim_start().len()
}

/// From the first byte of `offset`'s line to its line break (or the end of the text). The first
/// line starts after a byte order mark, which is not code.
fn line_of(text: &str, offset: usize) -> Range<usize> {
    let bom = if text.starts_with('\u{feff}') { '\u{feff}'.len_utf8().min(offset) } else { 0 };
    let start = text[..offset].rfind('\n').map_or(bom, |i| i + 1);
    let end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    start..end
}

/// Past the line break that follows `offset` (`\n` or `\r\n`), if one does at once.
fn line_break_end(text: &str, offset: usize) -> usize {
    let rest = &text[offset..];
    offset + if rest.starts_with("\r\n") { 2 } else { usize::from(rest.starts_with('\n')) }
}

/// The first token after `offset`: past blanks and the comments the parser drops.
fn next_token(text: &str, mut offset: usize, lexemes: &[Lexeme]) -> usize {
    loop {
        offset += blanks(&text[offset..]);
        match lexemes.binary_search_by_key(&offset, |l| l.range.start) {
            Ok(i) if lexemes[i].is_plain_comment() => offset = lexemes[i].range.end,
            _ => return offset,
        }
    }
}

const WHOLE_FILE: Range<usize> = 0..usize::MAX;

/// The test code of a file (`test_file`: all of it): the ranges of its test fns and `#[cfg(test)]`
/// items, as the walker tells test code.
fn test_code_ranges(file: &syn::File, base: usize, test_file: bool) -> Vec<Range<usize>> {
    if test_file || is_test_item(&file.attrs) {
        return vec![WHOLE_FILE];
    }
    let mut finder = TestCodeRanges { base, found: Vec::new() };
    finder.visit_file(file);
    finder.found
}

struct TestCodeRanges {
    base: usize,
    found: Vec<Range<usize>>,
}

impl TestCodeRanges {
    /// Records `node` if its attributes make it test code, and says whether they do.
    fn is_test<T: Spanned>(&mut self, node: &T, attrs: &[syn::Attribute]) -> bool {
        let test = is_test_item(attrs);
        if test {
            let range = node.span().byte_range();
            self.found.push(range.start + self.base..range.end + self.base);
        }
        test
    }
}

macro_rules! test_code_if_attributed {
    ($($visit:ident($ty:ty);)*) => {
        impl<'ast> Visit<'ast> for TestCodeRanges {
            $(fn $visit(&mut self, node: &'ast $ty) {
                if !self.is_test(node, &node.attrs) {
                    visit::$visit(self, node);
                }
            })*
        }
    };
}

test_code_if_attributed! {
    visit_item_fn(syn::ItemFn);
    visit_item_mod(syn::ItemMod);
    visit_item_impl(syn::ItemImpl);
    visit_item_trait(syn::ItemTrait);
    visit_impl_item_fn(syn::ImplItemFn);
    visit_trait_item_fn(syn::TraitItemFn);
}

/// The ranges of the nodes a suppression comment can cover (statements, items, impl and trait
/// items, foreign items, match arms, enum variants, struct and struct-literal fields) that hold
/// one of the sorted `offsets`. A node's span costs a walk of its tokens, so only the nodes on
/// the way to an offset are measured.
fn coverable_nodes(file: &syn::File, base: usize, offsets: &[usize]) -> Vec<Range<usize>> {
    let mut finder = Coverable { base, offsets, found: Vec::new() };
    if !offsets.is_empty() {
        finder.visit_file(file);
    }
    finder.found
}

struct Coverable<'o> {
    base: usize,
    offsets: &'o [usize],
    found: Vec<Range<usize>>,
}

impl Coverable<'_> {
    /// Records `node` if it holds an offset, and says whether it does.
    fn holds_offset<T: Spanned>(&mut self, node: &T) -> bool {
        let range = node.span().byte_range();
        let range = range.start + self.base..range.end + self.base;
        let first = self.offsets.partition_point(|&o| o < range.start);
        let holds = self.offsets.get(first).is_some_and(|&o| o < range.end);
        if holds {
            self.found.push(range);
        }
        holds
    }
}

macro_rules! enter_if_it_holds_an_offset {
    ($($visit:ident($ty:ty);)*) => {
        impl<'ast> Visit<'ast> for Coverable<'_> {
            $(fn $visit(&mut self, node: &'ast $ty) {
                if self.holds_offset(node) {
                    visit::$visit(self, node);
                }
            })*
        }
    };
}

enter_if_it_holds_an_offset! {
    visit_stmt(syn::Stmt);
    visit_item(syn::Item);
    visit_impl_item(syn::ImplItem);
    visit_trait_item(syn::TraitItem);
    visit_foreign_item(syn::ForeignItem);
    visit_arm(syn::Arm);
    visit_variant(syn::Variant);
    visit_field(syn::Field);
    visit_field_value(syn::FieldValue);
}

#[cfg(test)]
mod tests {
    use super::{parse, Scope, Suppressions, Written};
    use crate::config::TestCode;

    fn written(comment: &str) -> Written<'_> {
        parse(comment).expect("an async-lint comment").expect("well formed")
    }

    fn error(comment: &str) -> String {
        parse(comment).expect("an async-lint comment").expect_err("malformed")
    }

    #[test]
    fn parses_ids_with_their_offsets() {
        let comment = "// async-lint: allow(a, b-c) -- why";
        let parsed = written(comment);
        assert!(!parsed.file);
        assert_eq!(parsed.ids, [("a", 21..22), ("b-c", 24..27)]);
        assert_eq!(&comment[parsed.list], "a, b-c");
        assert!(written("//async-lint:file-allow( x )--why").file);
        assert_eq!(written("//async-lint:file-allow( x )--why").ids, [("x", 25..26)]);
    }

    #[test]
    fn other_comments_are_no_directives() {
        assert_eq!(parse("// see async-lint: allow(x)"), None);
        assert_eq!(parse("// plain"), None);
        assert_eq!(parse("/// async-lint: allow(x) -- doc"), None);
    }

    #[test]
    fn every_malformation_has_its_own_message() {
        assert_eq!(
            error("// async-lint: alow(x) -- r"),
            "unknown suppression `alow`: expected `allow` or `file-allow`"
        );
        assert_eq!(error("// async-lint:"), "expected `allow(..)` or `file-allow(..)` after `async-lint:`");
        assert_eq!(error("// async-lint: allow x -- r"), "expected `(` and the rule ids after `allow`");
        assert_eq!(error("// async-lint: allow(x -- r"), "expected `)` after the rule ids");
        assert_eq!(error("// async-lint: allow( ) -- r"), "a suppression must name at least one rule");
        assert_eq!(error("// async-lint: allow(a,,b) -- r"), "an empty rule id in the list");
        let no_reason = "a suppression needs a reason: add ` -- why` after it";
        assert_eq!(error("// async-lint: allow(x)"), no_reason);
        assert_eq!(error("// async-lint: allow(x) --   "), no_reason);
        assert_eq!(error("// async-lint: allow(x) because"), "expected ` -- reason` after the rule ids");
    }

    fn scopes(text: &str) -> Vec<Scope> {
        let file = syn::parse_str::<syn::File>(text).unwrap();
        Suppressions::find(text, 0, &file, TestCode::Check, false).directives.into_iter().map(|d| d.scope).collect()
    }

    /// The range of `part`, which occurs once in `text`.
    fn range_of(text: &str, part: &str) -> std::ops::Range<usize> {
        let start = text.find(part).unwrap();
        start..start + part.len()
    }

    #[test]
    fn an_own_line_comment_covers_the_node_at_the_next_token() {
        let text = "// async-lint: allow(blocking-in-async) -- r\n/* skipped */\n#[inline]\nfn f() {}\nfn g() {}";
        assert_eq!(scopes(text), [Scope::Node(range_of(text, "#[inline]\nfn f() {}"))]);
    }

    #[test]
    fn a_comment_before_what_starts_no_node_covers_the_next_line() {
        let text = "fn f() {\n    g();\n    // async-lint: allow(blocking-in-async) -- r\n}\n";
        let closing = text.rfind('}').unwrap();
        assert_eq!(scopes(text), [Scope::Line(closing..closing + 1)]);
    }

    #[test]
    fn a_trailing_comment_covers_its_line() {
        let text = "fn f() {\n    g(); // async-lint: allow(blocking-in-async) -- r\n}\n";
        let line = range_of(text, "    g(); // async-lint: allow(blocking-in-async) -- r");
        assert_eq!(scopes(text), [Scope::Line(line.clone())]);
        let scope = Scope::Line(line.clone());
        assert!(scope.covers(&range_of(text, "g()")));
        assert!(scope.covers(&(0..line.start + 6)), "ends on the line");
        assert!(!scope.covers(&(0..text.len())));
    }

    #[test]
    fn files_without_the_marker_are_not_scanned() {
        let text = "fn f() {} // async-lint allow(x)";
        assert!(Suppressions::find(text, 0, &syn::parse_str(text).unwrap(), TestCode::Check, false).is_empty());
    }
}
