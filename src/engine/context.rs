//! What a rule sees: the node it is called on, and through `Context` the answers the engine can
//! give about it (async or not, what a path resolves to, the catalogs) and a way to report.

use std::cell::OnceCell;
use std::ops::Range;

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{Attribute, Block, ExprCall, ExprForLoop, ExprMethodCall, ExprWhile, Signature, Visibility};

use super::index::{Condition, Deferred, FileFacts};
use super::manifest::Runtime;
use super::resolve::{Chain, Names, Resolved};
use crate::catalog::Catalog;
use crate::config::TestCode;
use crate::diagnostic::{Applicability, Diagnostic, Edit, Fix, Label};
use crate::rules::Rule;

/// The syntax nodes rules are called on.
#[derive(Clone, Copy)]
pub enum Node<'a> {
    /// An fn or method with a body, before its body is walked.
    Fn(FnNode<'a>),
    /// A statement, with its block so a rule can look at what follows it.
    Stmt {
        block: &'a Block,
        index: usize,
    },
    Call(&'a ExprCall),
    MethodCall(&'a ExprMethodCall),
    ForLoop(&'a ExprForLoop),
    While(&'a ExprWhile),
}

/// What kind of node a [`Node`] is: a rule declares the kinds it looks at and is called on no
/// other (`Rule::nodes`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeKind {
    Fn,
    Stmt,
    Call,
    MethodCall,
    ForLoop,
    While,
}

impl NodeKind {
    pub const COUNT: usize = 6;
}

impl Node<'_> {
    pub fn kind(&self) -> NodeKind {
        match self {
            Node::Fn(_) => NodeKind::Fn,
            Node::Stmt { .. } => NodeKind::Stmt,
            Node::Call(_) => NodeKind::Call,
            Node::MethodCall(_) => NodeKind::MethodCall,
            Node::ForLoop(_) => NodeKind::ForLoop,
            Node::While(_) => NodeKind::While,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FnKind {
    Free,
    /// In an `impl Type` block.
    Inherent,
    /// In an `impl Trait for Type` block.
    TraitImpl,
    /// A default method body in a trait.
    TraitDefault,
}

#[derive(Clone, Copy)]
pub struct FnNode<'a> {
    pub attrs: &'a [Attribute],
    /// The attributes of the enclosing `impl` or `trait` block (none for a free fn).
    pub container_attrs: &'a [Attribute],
    pub vis: Option<&'a Visibility>,
    pub sig: &'a Signature,
    pub body: &'a Block,
    pub kind: FnKind,
}

/// Where the code being walked runs.
#[derive(Clone, Debug)]
pub enum Exec {
    /// Plain synchronous code (also: a nested `fn` item inside async code).
    Sync,
    /// Inside an `async fn`, `async` block or async closure, or a plain closure within one.
    Async(AsyncSite),
    /// In a closure handed to `spawn_blocking`, `std::thread::spawn` and the like.
    Offloaded,
}

#[derive(Clone, Debug)]
pub struct AsyncSite {
    pub kind: AsyncKind,
    /// From the `async` keyword to the fn name / closure bars, for a label.
    pub start: Span,
    pub end: Span,
    /// False inside a plain closure within the async code: `.await` is not allowed there.
    pub can_await: bool,
    /// The body of a `#[tokio::main]` / `#[async_std::main]` / `#[tokio::test]` fn, or an async
    /// block passed straight to `block_on` (not an async block inside them): it runs on the thread
    /// that starts the runtime, not on a worker.
    pub entry_point: bool,
    /// Inside a plain closure passed to a call of the crate's own fn or method of this name,
    /// which may run it on another thread (see `Condition::CalleeDoesNotOffload`).
    pub passed_to: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AsyncKind {
    Fn,
    Block,
    Closure,
}

/// One file's source, as the spans of its syntax tree see it.
pub struct SourceText<'s> {
    pub text: &'s str,
    /// Bytes before what was handed to the parser (a UTF-8 BOM, a `#!` line).
    pub base: usize,
    /// The whole file is test code (an integration test or a benchmark).
    pub test_file: bool,
    /// The async runtime the file's crate depends on.
    pub runtime: Runtime,
    /// The run's API lists (the built-in ones and the configuration's extensions).
    pub catalog: &'s Catalog,
    /// Which rules report in test code.
    pub test_code: TestCode,
    /// Byte offsets of the starts of the parser's lines, made on first use (`span_range`).
    line_starts: OnceCell<Vec<usize>>,
}

impl<'s> SourceText<'s> {
    pub fn new(
        text: &'s str,
        base: usize,
        test_file: bool,
        runtime: Runtime,
        catalog: &'s Catalog,
        test_code: TestCode,
    ) -> Self {
        SourceText { text, base, test_file, runtime, catalog, test_code, line_starts: OnceCell::new() }
    }

    /// The bytes of `text` a span covers. Not `Span::byte_range`: proc-macro2 answers it by
    /// counting chars and remembers every offset asked for in a map, while the line and column it
    /// has at hand (a column counts chars) make the offset with one look at the line.
    pub fn span_range(&self, span: Span) -> Range<usize> {
        self.offset(span.start())..self.offset(span.end())
    }

    fn offset(&self, at: proc_macro2::LineColumn) -> usize {
        let parsed = &self.text[self.base..];
        let starts = self.line_starts.get_or_init(|| {
            std::iter::once(0).chain(memchr::memchr_iter(b'\n', parsed.as_bytes()).map(|i| i + 1)).collect()
        });
        let Some(&line_start) = starts.get(at.line.saturating_sub(1)) else { return self.text.len() };
        let line = &parsed[line_start..];
        let column = match line.as_bytes().get(..at.column) {
            Some(prefix) if prefix.is_ascii() => at.column,
            _ => line.char_indices().nth(at.column).map_or(line.len(), |(i, _)| i),
        };
        self.base + line_start + column
    }
}

/// Everything a file's analysis produces.
#[derive(Default)]
pub struct Sink {
    pub diagnostics: Vec<Diagnostic>,
    pub deferred: Vec<Deferred>,
    pub facts: FileFacts,
}

pub struct Context<'w> {
    pub(super) rule: &'static Rule,
    pub(super) source: &'w SourceText<'w>,
    pub(super) names: &'w Names,
    pub(super) exec: &'w [Exec],
    pub(super) allowed: &'w [String],
    pub(super) attrs: &'w [String],
    pub(super) in_test_code: bool,
    /// The call or method call whose future the `.await` being walked awaits.
    pub(super) awaited: Option<*const ()>,
    pub(super) sink: &'w mut Sink,
}

impl<'w> Context<'w> {
    pub fn in_async(&self) -> bool {
        self.async_site().is_some()
    }

    /// May the code here use `.await`? Not in a plain closure inside async code.
    pub fn can_await(&self) -> bool {
        self.async_site().is_some_and(|site| site.can_await)
    }

    /// Inside a test (`#[test]`, `#[tokio::test]`, ...), a `#[cfg(test)]` item, or a test file
    /// (under `tests/`, `test/` or `benches/`, or named `tests.rs` / `test.rs`).
    pub fn in_test_code(&self) -> bool {
        self.in_test_code
    }

    /// Is this call (`ExprCall` / `ExprMethodCall`) awaited at once (`f(..).await`)?
    pub fn is_awaited<T>(&self, call: &T) -> bool {
        self.awaited.is_some_and(|a| std::ptr::eq(a, call as *const T as *const ()))
    }

    pub fn async_site(&self) -> Option<&AsyncSite> {
        match self.exec.last() {
            Some(Exec::Async(site)) => Some(site),
            _ => None,
        }
    }

    /// A label for the innermost async fn / block / closure: `(range, "this async block")`.
    pub fn async_label(&self) -> Option<(Range<usize>, &'static str)> {
        let site = self.async_site()?;
        let range = self.span_range(site.start).start..self.span_range(site.end).end;
        let what = match site.kind {
            AsyncKind::Fn => "this function is async",
            AsyncKind::Block => "this block is async",
            AsyncKind::Closure => "this closure is async",
        };
        Some((range, what))
    }

    /// Is `lint` (`unused_must_use`, `clippy::let_underscore_future`) named in an `#[allow(..)]`
    /// or `#[expect(..)]` on an enclosing fn, impl, trait, module or the file?
    pub fn lint_allowed(&self, lint: &str) -> bool {
        self.allowed.iter().any(|l| l == lint)
    }

    /// Does an enclosing fn, impl, trait, module or the file carry an attribute with this path
    /// (`should_panic`, `tokio::test`), as written?
    pub fn has_enclosing_attr(&self, path: &str) -> bool {
        self.attrs.iter().any(|a| a == path)
    }

    /// The async runtime the crate depends on (from its `Cargo.toml`), for runtime-specific help.
    pub fn runtime(&self) -> Runtime {
        self.source.runtime
    }

    pub fn names(&self) -> &Names {
        self.names
    }

    pub fn resolve(&self, path: &syn::Path) -> Resolved {
        self.names.resolve(path)
    }

    /// `expr` as a chain of method calls on a call or a path (`Command::new("ls").arg("-l")`).
    pub fn chain(&self, expr: &syn::Expr) -> Option<Chain> {
        self.names.chain(expr)
    }

    /// What the called expression resolves to, when it is a path (`tokio::spawn(..)`).
    pub fn callee(&self, call: &ExprCall) -> Option<Resolved> {
        callee(self.names, call)
    }

    pub fn catalog(&self) -> &'w Catalog {
        self.source.catalog
    }

    pub fn range<T: Spanned + ?Sized>(&self, node: &T) -> Range<usize> {
        self.span_range(node.span())
    }

    pub fn span_range(&self, span: Span) -> Range<usize> {
        self.source.span_range(span)
    }

    pub fn text(&self, range: Range<usize>) -> &'w str {
        self.source.text.get(range).unwrap_or("")
    }

    /// Starts a finding of the current rule; it is recorded when the builder is dropped.
    pub fn report(&mut self, range: Range<usize>, message: impl Into<String>) -> Report<'_> {
        let diagnostic = Diagnostic::new(self.rule.id, self.rule.category.default_severity(), range, message.into());
        Report { sink: self.sink, diagnostic: Some(diagnostic), condition: None }
    }
}

pub(super) fn callee(names: &Names, call: &ExprCall) -> Option<Resolved> {
    match super::syntax::peel(&call.func) {
        syn::Expr::Path(p) if p.qself.is_none() => Some(names.resolve(&p.path)),
        _ => None,
    }
}

/// A finding being built; recorded on drop.
pub struct Report<'s> {
    sink: &'s mut Sink,
    diagnostic: Option<Diagnostic>,
    condition: Option<Condition>,
}

impl Report<'_> {
    fn diagnostic(&mut self) -> &mut Diagnostic {
        self.diagnostic.as_mut().expect("a report is built once")
    }

    /// What the primary span does.
    pub fn label(mut self, message: impl Into<String>) -> Self {
        self.diagnostic().label = message.into();
        self
    }

    /// The context that makes it wrong.
    pub fn secondary(mut self, range: Range<usize>, message: impl Into<String>) -> Self {
        self.diagnostic().secondary.push(Label { range, message: message.into() });
        self
    }

    pub fn help(mut self, message: impl Into<String>) -> Self {
        self.diagnostic().help = Some(message.into());
        self
    }

    pub fn fix(mut self, applicability: Applicability, message: impl Into<String>, edits: Vec<Edit>) -> Self {
        self.diagnostic().fix = Some(Fix { applicability, message: message.into(), edits });
        self
    }

    /// Keeps the finding only if the crate index agrees once every file has been read.
    pub fn when(mut self, condition: Condition) -> Self {
        self.condition = Some(condition);
        self
    }
}

impl Drop for Report<'_> {
    fn drop(&mut self) {
        let Some(diagnostic) = self.diagnostic.take() else {
            return;
        };
        match self.condition.take() {
            Some(condition) => self.sink.deferred.push(Deferred { condition, diagnostic }),
            None => self.sink.diagnostics.push(diagnostic),
        }
    }
}
