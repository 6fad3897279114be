use std::ops::Range;

use syn::visit::{self, Visit};
use syn::{Block, Expr, FnArg, Pat, Stmt, Type};

use super::spawn_without_join::spawner;
use super::{Context, Node};
use crate::engine::index::Condition;
use crate::engine::macros::expressions;
use crate::engine::resolve::{pat_idents, Origin};
use crate::engine::syntax::{discarded_value, for_each_ident, peel, Discarded};

declare_rule! {
    /// ## What it does
    /// Flags a statement that throws away what awaiting a task yields: `let _ = handle.await;`,
    /// `handle.await;`, `handle.await.ok();` or a `let` whose name is never used, where `handle`
    /// is a Tokio `JoinHandle` (bound to `tokio::spawn(..)`, `spawn_blocking(..)`, `rt.spawn(..)`,
    /// typed `JoinHandle<..>`, or a loop variable over a collection of them); and
    /// `join_all(handles).await;` / `let _ = join_all(..).await;` over such handles or over futures
    /// that return a `Result` (`async { ..; Ok(()) }`, or the crate's own fns that return one).
    ///
    /// ## Why is this bad?
    /// Awaiting a Tokio `JoinHandle` yields `Result<T, JoinError>`: if the task panicked, the panic
    /// is in that `Err`, and if the task returns a `Result`, its error is in the `Ok`. Discarding
    /// the outcome makes both silent, so a crashed worker looks like one that finished.
    /// `join_all` returns a `Vec` of outcomes, which the compiler does not ask you to use.
    ///
    /// ## Example
    /// ```rust
    /// async fn run(job: Job) {
    ///     let handle = tokio::spawn(async move { job.process().await });
    ///     let _ = handle.await;
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```rust
    /// async fn run(job: Job) -> anyhow::Result<()> {
    ///     let handle = tokio::spawn(async move { job.process().await });
    ///     match handle.await {
    ///         Ok(()) => Ok(()),
    ///         Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
    ///         Err(e) => Err(e.into()),
    ///     }
    /// }
    /// ```
    ///
    /// ## Known problems
    /// Not flagged, on purpose: a handle aborted (`.abort()`, or an `.abort_handle()` taken) in
    /// the same code, since awaiting an aborted task to wait until it has stopped is the documented
    /// pattern and its `Err` is the expected cancellation (a panic that happened before the abort
    /// is lost all the same); the handles of smol, async-executor and async-std, whose await yields
    /// the task's value and resumes its panic; `JoinSet::join_all`, which resumes panics too;
    /// anything in a `#[should_panic]` test. Other test code is checked: a test that discards the
    /// outcome of a task passes even when an assertion inside the task fails.
    ///
    /// Handles are recognised only where the code shows them: a binding initialised by a spawn
    /// call, a collection the code fills with spawn calls (`push`, `extend`, `.map(..).collect()`),
    /// a binding or parameter typed `JoinHandle<..>`, `&mut JoinHandle<..>` or
    /// `Vec<JoinHandle<..>>`, a `for` variable over such a collection. A handle kept in a struct
    /// field (`self.handle.take()`) or an `Option`, returned by the crate's own spawn wrapper or
    /// moved to another binding is not seen, nor is a discard written as `tokio::join!(a, b);`,
    /// `drop(handle.await)` or `let _ = handle.await.unwrap();` (which drops the task's own
    /// `Result`). Futures count as returning a `Result` when their async block ends in `Ok(..)` /
    /// `Err(..)`, or when they call a fn or `self` method that every declaration in the crate with
    /// that name declares as returning a future of a `Result` (judged by the type's last name, so
    /// `io::Result` and a crate `Result` alias count). A name is followed only after the statement
    /// that binds it, in that block and the code nested in it; a pattern that binds the same name
    /// again stops the following until the end of its block.
    id: "discarded-task-result",
    category: Suspicious,
    fix: Never,
    tests: Checked,
    nodes: [Fn, Stmt],
    check: check,
}

fn check(node: Node<'_>, cx: &mut Context<'_>) {
    // A `#[should_panic]` test expects the panic; the task's outcome is beside the point.
    if cx.has_enclosing_attr("should_panic") {
        return;
    }
    match node {
        Node::Fn(f) => {
            let params = f.sig.inputs.iter().filter_map(|input| match input {
                FnArg::Typed(arg) => tracked_param(cx, &arg.pat, &arg.ty),
                FnArg::Receiver(_) => None,
            });
            let tracked: Vec<Tracked> = params.collect();
            if !tracked.is_empty() {
                scan(cx, tracked, &f.body.stmts);
            }
        }
        Node::Stmt { block, index } => {
            if let Some(discarded) = discarded_value(&block.stmts, index, awaited) {
                check_direct(cx, &block.stmts[index], &discarded);
            }
            if let Stmt::Local(local) = &block.stmts[index] {
                let rest = &block.stmts[index + 1..];
                if let Some(tracked) = tracked_local(cx, local, rest) {
                    scan(cx, vec![tracked], rest);
                }
            }
        }
        _ => {}
    }
}

/// What awaiting a handle, or each future of a collection, yields.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Outcome {
    /// A Tokio task's `Result<T, JoinError>`.
    Task,
    /// A `Result`, as the code shows (`async { ..; Ok(()) }`).
    Result,
    /// A `Result` if the crate's fns of this name return futures of one.
    ResultOf(String),
}

/// A name bound to a handle (`many: false`) or to a collection of handles or futures.
struct Tracked {
    name: String,
    many: bool,
    outcome: Outcome,
    /// The spawn call, typed binding or collection that makes it one, and what to say about it.
    origin: (Range<usize>, &'static str),
    /// The collection a loop variable comes from: aborting one of its handles counts for it.
    parent: Option<usize>,
    aborted: bool,
}

/// `h: JoinHandle<T>`, `h: &mut JoinHandle<T>`, `handles: Vec<JoinHandle<T>>`.
fn tracked_param(cx: &Context<'_>, pat: &Pat, ty: &Type) -> Option<Tracked> {
    let Pat::Ident(ident) = pat else { return None };
    let many = handle_type(cx, ty)?;
    let origin = (cx.range(pat).start..cx.range(ty).end, if many { "these are task handles" } else { "this is a task handle" });
    Some(Tracked { name: ident.ident.to_string(), many, outcome: Outcome::Task, origin, parent: None, aborted: false })
}

/// `Some(false)` for a Tokio `JoinHandle` (or `&mut` one), `Some(true)` for a `Vec` / `VecDeque`
/// of them.
fn handle_type(cx: &Context<'_>, ty: &Type) -> Option<bool> {
    match ty {
        Type::Reference(r) if r.mutability.is_some() => handle_type(cx, &r.elem).filter(|many| !many),
        Type::Paren(p) => handle_type(cx, &p.elem),
        Type::Group(g) => handle_type(cx, &g.elem),
        Type::Path(p) if p.qself.is_none() => {
            let resolved = cx.resolve(&p.path);
            if resolved.is_in(&cx.catalog().executors.join_error_handles) {
                return Some(false);
            }
            let last = p.path.segments.last()?;
            if last.ident != "Vec" && last.ident != "VecDeque" {
                return None;
            }
            let syn::PathArguments::AngleBracketed(args) = &last.arguments else { return None };
            match args.args.first()? {
                syn::GenericArgument::Type(item) => (!handle_type(cx, item)?).then_some(true),
                _ => None,
            }
        }
        _ => None,
    }
}

/// A `let` that binds a handle or a collection of handles / `Result` futures; `rest` are the
/// statements after it, where a collection may be filled.
fn tracked_local(cx: &Context<'_>, local: &syn::Local, rest: &[Stmt]) -> Option<Tracked> {
    let (pat, ty) = match &local.pat {
        Pat::Type(typed) => (&*typed.pat, Some(&*typed.ty)),
        pat => (pat, None),
    };
    let Pat::Ident(ident) = pat else { return None };
    if ident.subpat.is_some() {
        return None;
    }
    let init = local.init.as_ref().filter(|i| i.diverge.is_none()).map(|i| &*i.expr);
    // Most `let`s track nothing: the name is made only for one that does.
    let tracked = |many, outcome, origin| Tracked { name: ident.ident.to_string(), many, outcome, origin, parent: None, aborted: false };
    if let Some(many) = ty.and_then(|ty| handle_type(cx, ty)) {
        let what = if many { "these are task handles" } else { "this is a task handle" };
        return Some(tracked(many, Outcome::Task, (cx.range(&local.pat), what)));
    }
    let init = init?;
    if task_spawner(cx, init).is_some() {
        return Some(tracked(false, Outcome::Task, (cx.range(peel(init)), "the task is spawned here")));
    }
    let outcome = match items(cx, init, &[]) {
        Some((outcome, _)) => outcome,
        None if ident.mutability.is_some() && is_empty_collection(init) => filled_with(cx, &ident.ident.to_string(), rest)?,
        None => return None,
    };
    let what = match outcome {
        Outcome::Task => "this holds the handles of spawned tasks",
        Outcome::Result | Outcome::ResultOf(_) => "this holds futures that return a `Result`",
    };
    Some(tracked(true, outcome, (cx.range(&local.pat), what)))
}

/// The spawner of a call that returns a Tokio `JoinHandle`.
fn task_spawner(cx: &Context<'_>, expr: &Expr) -> Option<String> {
    spawner(cx, expr).filter(|s| cx.catalog().executors.join_error_spawn.contains(s))
}

/// What each future of an iterable expression yields, and the tracked collection it comes from:
/// a tracked name (also `&mut name`, `name.drain(..)`), `vec![..]` / `[..]` of futures, or
/// `xs.map(|x| tokio::spawn(..))` (and the adapters that keep the items: `.collect()`, ...).
fn items(cx: &Context<'_>, expr: &Expr, scope: &[Entry]) -> Option<(Outcome, Option<usize>)> {
    match peel(expr) {
        Expr::Reference(r) => items(cx, &r.expr, scope),
        Expr::Path(p) => {
            let name = p.path.get_ident()?.to_string();
            let (index, many, outcome) = lookup(scope, &name)?;
            many.then_some((outcome, Some(index)))
        }
        Expr::Array(array) => elements(cx, array.elems.iter()).map(|o| (o, None)),
        Expr::Macro(m) if m.mac.path.is_ident("vec") => {
            let exprs = expressions(&m.mac)?;
            elements(cx, exprs.iter()).map(|o| (o, None))
        }
        Expr::MethodCall(call) => match call.method.to_string().as_str() {
            "map" if call.args.len() == 1 => mapped(cx, &call.args[0]).map(|o| (o, None)),
            "into_iter" | "iter_mut" | "drain" | "collect" | "filter" | "take" | "skip" | "rev" | "fuse" | "chain" => {
                items(cx, &call.receiver, scope)
            }
            _ => None,
        },
        _ => None,
    }
}

/// The outcome every element of a list yields, taken from the first; `None` if any is unknown.
fn elements<'e>(cx: &Context<'_>, mut exprs: impl Iterator<Item = &'e Expr>) -> Option<Outcome> {
    let first = element(cx, exprs.next()?)?;
    exprs.all(|e| element(cx, e).is_some()).then_some(first)
}

/// What awaiting the value of `expr` yields, when it is a future the code shows.
fn element(cx: &Context<'_>, expr: &Expr) -> Option<Outcome> {
    if task_spawner(cx, expr).is_some() {
        return Some(Outcome::Task);
    }
    match peel(expr) {
        Expr::Async(a) => match tail(&a.block).map(peel) {
            Some(Expr::Call(call)) if is_ok_or_err(&call.func) => Some(Outcome::Result),
            Some(Expr::Await(awaited)) => match element(cx, &awaited.base)? {
                Outcome::ResultOf(name) => Some(Outcome::ResultOf(name)),
                _ => None,
            },
            _ => None,
        },
        Expr::Call(call) => match peel(&call.func) {
            Expr::Path(p) if p.qself.is_none() => crate_fn(cx, &p.path),
            _ => None,
        },
        Expr::MethodCall(call) if matches!(peel(&call.receiver), Expr::Path(p) if p.path.is_ident("self")) => {
            Some(Outcome::ResultOf(call.method.to_string()))
        }
        _ => None,
    }
}

/// What the futures made by a `.map(..)` argument yield: a closure's value, or a fn by path
/// (`.map(tokio::spawn)`, `.map(save)`).
fn mapped(cx: &Context<'_>, arg: &Expr) -> Option<Outcome> {
    match peel(arg) {
        Expr::Closure(closure) if closure.asyncness.is_none() => {
            let body = match peel(&closure.body) {
                Expr::Block(b) if b.label.is_none() => peel(tail(&b.block)?),
                body => body,
            };
            // `|fetch| fetch(1)` calls the closure's own parameter.
            if let Expr::Call(call) = body {
                let mut params = Vec::new();
                closure.inputs.iter().for_each(|input| pat_idents(input, &mut params));
                if matches!(peel(&call.func), Expr::Path(p) if p.path.get_ident().is_some_and(|i| params.iter().any(|n| i == n))) {
                    return None;
                }
            }
            element(cx, body)
        }
        Expr::Path(p) if p.qself.is_none() => {
            let resolved = cx.resolve(&p.path);
            if resolved.is_in(&cx.catalog().executors.join_error_spawn) {
                return Some(Outcome::Task);
            }
            crate_fn(cx, &p.path)
        }
        _ => None,
    }
}

/// A path to one of the crate's fns, which returns a `Result` future if the index agrees.
fn crate_fn(cx: &Context<'_>, path: &syn::Path) -> Option<Outcome> {
    let resolved = cx.resolve(path);
    matches!(resolved.origin, Origin::Crate | Origin::Unknown).then(|| Outcome::ResultOf(resolved.last().to_string()))
}

fn tail(block: &Block) -> Option<&Expr> {
    match block.stmts.last() {
        Some(Stmt::Expr(tail, None)) => Some(tail),
        _ => None,
    }
}

fn is_ok_or_err(func: &Expr) -> bool {
    matches!(peel(func), Expr::Path(p) if p.path.segments.len() == 1 && (p.path.segments[0].ident == "Ok" || p.path.segments[0].ident == "Err"))
}

/// `Vec::new()`, `VecDeque::with_capacity(n)`, `Default::default()`, `vec![]`.
fn is_empty_collection(init: &Expr) -> bool {
    match peel(init) {
        Expr::Call(call) => matches!(peel(&call.func), Expr::Path(p) if p.path.segments.last().is_some_and(|s| {
            s.ident == "new" || s.ident == "with_capacity" || s.ident == "default"
        })),
        Expr::Macro(m) => m.mac.path.is_ident("vec") && m.mac.tokens.is_empty(),
        _ => false,
    }
}

/// A collection (`let mut handles = Vec::new()`) the statements after it fill with spawned tasks
/// or futures: `handles.push(tokio::spawn(..))`, `handles.push(handle)` with
/// `let handle = tokio::spawn(..)`, `handles.extend(xs.map(|x| tokio::spawn(..)))`.
fn filled_with(cx: &Context<'_>, name: &str, rest: &[Stmt]) -> Option<Outcome> {
    const FILLS: [&str; 3] = ["push", "push_back", "extend"];
    struct Pushes<'c, 'w, 'n> {
        cx: &'c Context<'w>,
        name: &'n str,
        spawned: Vec<String>,
        outcome: Option<Outcome>,
    }
    impl<'ast> Visit<'ast> for Pushes<'_, '_, '_> {
        fn visit_local(&mut self, local: &'ast syn::Local) {
            if let (Pat::Ident(p), Some(init)) = (&local.pat, &local.init) {
                if task_spawner(self.cx, &init.expr).is_some() {
                    self.spawned.push(p.ident.to_string());
                }
            }
            visit::visit_local(self, local);
        }
        fn visit_expr_method_call(&mut self, call: &'ast syn::ExprMethodCall) {
            let on_name = matches!(peel(&call.receiver), Expr::Path(p) if p.path.is_ident(self.name));
            if on_name && self.outcome.is_none() && call.args.len() == 1 {
                let arg = &call.args[0];
                // Only these methods (`FILLS`) fill the collection.
                self.outcome = match call.method.to_string().as_str() {
                    "push" | "push_back" => match peel(arg) {
                        Expr::Path(p) if p.path.get_ident().is_some_and(|i| self.spawned.iter().any(|s| i == s)) => {
                            Some(Outcome::Task)
                        }
                        _ => element(self.cx, arg),
                    },
                    "extend" => items(self.cx, arg, &[]).map(|(outcome, _)| outcome),
                    _ => None,
                };
            }
            visit::visit_expr_method_call(self, call);
        }
        fn visit_macro(&mut self, mac: &'ast syn::Macro) {
            // Only a call that fills the collection or a `let` (of a spawned task) can change what
            // is found, and nothing can once it is found: parsing the arguments is the costly part.
            if self.outcome.is_some() {
                return;
            }
            let (mut binds, mut names, mut fills) = (false, false, false);
            for_each_ident(&mac.tokens, |ident| {
                binds |= ident == "let";
                names |= ident == self.name;
                fills |= FILLS.iter().any(|method| ident == method);
            });
            if !(binds || names && fills) {
                return;
            }
            for expr in expressions(mac).iter().flatten() {
                self.visit_expr(expr);
            }
        }
        fn visit_item(&mut self, _: &'ast syn::Item) {}
    }
    let mut pushes = Pushes { cx, name, spawned: Vec::new(), outcome: None };
    rest.iter().for_each(|stmt| pushes.visit_stmt(stmt));
    pushes.outcome
}

/// `let _ = tokio::spawn(..).await;`, `join_all(xs.map(|x| tokio::spawn(..))).await;`: the
/// discarded outcome comes straight from the statement.
fn check_direct(cx: &mut Context<'_>, stmt: &Stmt, discarded: &Discarded<'_, &Expr>) {
    let base = discarded.found;
    let range = cx.range(stmt);
    let unused = discarded.unused.map(|ident| cx.range(ident));
    if let Some(spawner) = task_spawner(cx, base) {
        let message = format!("the outcome of the task spawned by `{spawner}` is discarded");
        emit(cx, range, message, &Outcome::Task, false, None, unused);
        return;
    }
    if let Some(arg) = join_all_arg(cx, base) {
        if let Some((outcome, _)) = items(cx, arg, &[]) {
            emit(cx, range, joined_message(&outcome), &outcome, true, None, unused);
        }
    }
}

/// `x` in a discarded `x.await` or `x.await.ok()`: the shapes of an awaited outcome being thrown
/// away.
fn awaited(expr: &Expr) -> Option<&Expr> {
    match peel(expr) {
        Expr::Await(a) => Some(&a.base),
        Expr::MethodCall(m) if m.method == "ok" && m.args.is_empty() => match peel(&m.receiver) {
            Expr::Await(a) => Some(&a.base),
            _ => None,
        },
        _ => None,
    }
}

/// The argument of a `futures::future::join_all(..)` call.
fn join_all_arg<'e>(cx: &Context<'_>, expr: &'e Expr) -> Option<&'e Expr> {
    let Expr::Call(call) = peel(expr) else { return None };
    let path = cx.callee(call)?;
    (path.is_in(&cx.catalog().executors.join_all) && call.args.len() == 1).then(|| &call.args[0])
}

fn joined_message(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Task => "the outcomes of the tasks joined by `join_all` are discarded".into(),
        Outcome::Result => "the `Result`s of the futures joined by `join_all` are discarded".into(),
        Outcome::ResultOf(name) => format!("the `Result`s of the `{name}` futures joined by `join_all` are discarded"),
    }
}

/// A name in scope during a scan: the tracked entry it stands for, or `None` when a pattern
/// binds it again.
type Entry = (String, Option<(usize, bool, Outcome)>);

fn lookup(scope: &[Entry], name: &str) -> Option<(usize, bool, Outcome)> {
    scope.iter().rev().find(|(n, _)| n == name).and_then(|(_, e)| e.clone())
}

/// A discard of a tracked name found by a scan.
struct Finding {
    tracked: usize,
    range: Range<usize>,
    many: bool,
    unused: Option<Range<usize>>,
}

/// Follows tracked names through `stmts` (and the blocks, closures and known macros inside them)
/// and reports each statement that discards what awaiting them yields.
fn scan(cx: &mut Context<'_>, tracked: Vec<Tracked>, stmts: &[Stmt]) {
    let scope = tracked.iter().enumerate().map(|(i, t)| (t.name.clone(), Some((i, t.many, t.outcome.clone())))).collect();
    let mut scan = Scan { cx, tracked, scope, findings: Vec::new() };
    scan.stmts(stmts);
    let Scan { tracked, findings, .. } = scan;
    for finding in findings {
        let entry = &tracked[finding.tracked];
        let root = entry.parent.map_or(entry, |p| &tracked[p]);
        if entry.aborted || root.aborted {
            continue;
        }
        let message = if finding.many {
            joined_message(&entry.outcome)
        } else {
            format!("the outcome of awaiting the task handle `{}` is discarded", entry.name)
        };
        let origin = Some(root.origin.clone());
        emit(cx, finding.range, message, &entry.outcome, finding.many, origin, finding.unused);
    }
}

fn emit(
    cx: &mut Context<'_>,
    range: Range<usize>,
    message: String,
    outcome: &Outcome,
    many: bool,
    origin: Option<(Range<usize>, &'static str)>,
    unused: Option<Range<usize>>,
) {
    let (label, help) = match (outcome, many) {
        (Outcome::Task, false) => (
            "a panic or error in the task goes unnoticed",
            "match the `Result<_, JoinError>` (`JoinError::is_panic` tells a panic from a cancellation), or propagate it with `?`",
        ),
        (Outcome::Task, true) => (
            "panics and errors in these tasks go unnoticed",
            "check each `Result<_, JoinError>`, or use `futures::future::try_join_all` to fail on the first one",
        ),
        _ => (
            "errors of these futures go unnoticed",
            "check each `Result`, or use `futures::future::try_join_all` to stop at the first error",
        ),
    };
    let mut report = cx.report(range, message).label(label).help(help);
    if let Some((range, what)) = origin {
        report = report.secondary(range, what);
    }
    if let Some(binding) = unused {
        report = report.secondary(binding, "the outcome is bound here and never used");
    }
    if let Outcome::ResultOf(name) = outcome {
        report.when(Condition::CalleeReturnsResult(name.clone()));
    }
}

struct Scan<'c, 'w> {
    cx: &'c Context<'w>,
    tracked: Vec<Tracked>,
    scope: Vec<Entry>,
    findings: Vec<Finding>,
}

impl Scan<'_, '_> {
    fn stmts(&mut self, stmts: &[Stmt]) {
        let depth = self.scope.len();
        for (index, stmt) in stmts.iter().enumerate() {
            if let Some(discarded) = discarded_value(stmts, index, awaited) {
                self.discard(stmt, &discarded);
            }
            match stmt {
                Stmt::Local(local) => {
                    if let Some(init) = &local.init {
                        self.visit_expr(&init.expr);
                        if let Some((_, diverge)) = &init.diverge {
                            self.visit_expr(diverge);
                        }
                    }
                    self.shadow(&local.pat);
                }
                stmt => self.visit_stmt(stmt),
            }
        }
        self.scope.truncate(depth);
    }

    fn discard(&mut self, stmt: &Stmt, discarded: &Discarded<'_, &Expr>) {
        let found = match peel(discarded.found) {
            Expr::Path(p) => p.path.get_ident().and_then(|i| lookup(&self.scope, &i.to_string())).filter(|(_, many, _)| !many).map(|(i, ..)| (i, false)),
            base => join_all_arg(self.cx, base).and_then(|arg| items(self.cx, arg, &self.scope)).and_then(|(_, index)| index).map(|i| (i, true)),
        };
        if let Some((tracked, many)) = found {
            let unused = discarded.unused.map(|ident| self.cx.range(ident));
            self.findings.push(Finding { tracked, range: self.cx.range(stmt), many, unused });
        }
    }

    /// Names a pattern binds stop standing for what they were tracked as.
    fn shadow(&mut self, pat: &Pat) {
        let mut names = Vec::new();
        pat_idents(pat, &mut names);
        for name in names {
            if lookup(&self.scope, &name).is_some() {
                self.scope.push((name, None));
            }
        }
    }

    fn mark_aborted(&mut self, index: usize) {
        self.tracked[index].aborted = true;
        if let Some(parent) = self.tracked[index].parent {
            self.tracked[parent].aborted = true;
        }
    }
}

impl<'ast> Visit<'ast> for Scan<'_, '_> {
    fn visit_block(&mut self, block: &'ast Block) {
        self.stmts(&block.stmts);
    }

    fn visit_expr_for_loop(&mut self, f: &'ast syn::ExprForLoop) {
        self.visit_expr(&f.expr);
        let depth = self.scope.len();
        let over = items(self.cx, &f.expr, &self.scope).and_then(|(outcome, index)| Some((outcome, index?)));
        match (&*f.pat, over) {
            (Pat::Ident(p), Some((Outcome::Task, parent))) if p.subpat.is_none() => {
                let name = p.ident.to_string();
                let origin = self.tracked[parent].origin.clone();
                let index = self.tracked.len();
                self.tracked.push(Tracked { name: name.clone(), many: false, outcome: Outcome::Task, origin, parent: Some(parent), aborted: false });
                self.scope.push((name, Some((index, false, Outcome::Task))));
            }
            (pat, _) => self.shadow(pat),
        }
        self.visit_block(&f.body);
        self.scope.truncate(depth);
    }

    fn visit_expr_closure(&mut self, c: &'ast syn::ExprClosure) {
        let depth = self.scope.len();
        c.inputs.iter().for_each(|input| self.shadow(input));
        self.visit_expr(&c.body);
        self.scope.truncate(depth);
    }

    fn visit_arm(&mut self, arm: &'ast syn::Arm) {
        let depth = self.scope.len();
        self.shadow(&arm.pat);
        visit::visit_arm(self, arm);
        self.scope.truncate(depth);
    }

    /// `if let` / `while let`: the names stay shadowed until the end of the enclosing block.
    fn visit_expr_let(&mut self, e: &'ast syn::ExprLet) {
        self.visit_expr(&e.expr);
        self.shadow(&e.pat);
    }

    fn visit_expr_method_call(&mut self, call: &'ast syn::ExprMethodCall) {
        if call.method == "abort" || call.method == "abort_handle" {
            // `handle.abort()`, or `handles.iter().for_each(|h| h.abort())` (a closure that aborts
            // in a chain over a tracked collection).
            let receiver = match peel(&call.receiver) {
                Expr::Reference(r) => peel(&r.expr),
                receiver => receiver,
            };
            if let Expr::Path(p) = receiver {
                if let Some((index, ..)) = p.path.get_ident().and_then(|i| lookup(&self.scope, &i.to_string())) {
                    self.mark_aborted(index);
                }
            }
        }
        if let Some(root) = chain_root(&call.receiver).and_then(|name| lookup(&self.scope, &name)) {
            if call.args.iter().any(aborts) {
                self.mark_aborted(root.0);
            }
        }
        visit::visit_expr_method_call(self, call);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        for expr in expressions(mac).iter().flatten() {
            self.visit_expr(expr);
        }
    }

    fn visit_item(&mut self, _: &'ast syn::Item) {}
}

/// `name` in `name.iter().for_each(..)`.
fn chain_root(expr: &Expr) -> Option<String> {
    match peel(expr) {
        Expr::MethodCall(m) => chain_root(&m.receiver),
        Expr::Reference(r) => chain_root(&r.expr),
        Expr::Path(p) => p.path.get_ident().map(|i| i.to_string()),
        _ => None,
    }
}

/// Does this expression call `.abort()` or `.abort_handle()` anywhere?
fn aborts(expr: &Expr) -> bool {
    struct Aborts(bool);
    impl<'ast> Visit<'ast> for Aborts {
        fn visit_expr_method_call(&mut self, call: &'ast syn::ExprMethodCall) {
            self.0 |= call.method == "abort" || call.method == "abort_handle";
            visit::visit_expr_method_call(self, call);
        }
    }
    let mut finder = Aborts(false);
    finder.visit_expr(expr);
    finder.0
}
