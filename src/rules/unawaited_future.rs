use syn::{Expr, Stmt};

use super::{Context, Node};
use crate::diagnostic::{Applicability, Edit};
use crate::engine::index::Condition;
use crate::engine::resolve::{pat_idents, Origin, Resolved};
use crate::engine::syntax::{discarded_value, peel};

declare_rule! {
    /// ## What it does
    /// Flags a future that is created and then dropped without being awaited, polled, returned,
    /// stored, passed on or spawned: a call of one of the crate's `async fn`s or async methods as
    /// a statement, `let _ = fetch();`, `let x = fetch();` with `x` never used, an `async { .. }`
    /// block as a statement, and `.map(..)` / `.then(..)` / `.for_each(..)` with a closure that
    /// makes futures (`|x| async { .. }`, `|x| fetch(x)`) whose futures are thrown away.
    ///
    /// ## Why is this bad?
    /// Futures are lazy: nothing in an `async fn` runs until its future is awaited or polled. A
    /// dropped future is work that silently never happens.
    ///
    /// ## Example
    /// ```rust
    /// async fn save(record: Record) { /* ... */ }
    ///
    /// async fn handler(record: Record) {
    ///     save(record);
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```rust
    /// async fn save(record: Record) { /* ... */ }
    ///
    /// async fn handler(record: Record) {
    ///     save(record).await;
    /// }
    /// ```
    ///
    /// ## Fix safety
    /// Adding `.await` (offered only where `.await` is allowed: directly in an `async fn`, async
    /// block or async closure, not in a plain closure within one) is unsafe: the work now runs,
    /// and the enclosing future waits for it.
    ///
    /// ## Known problems
    /// Calls are matched by name against the crate's own `async fn`s and async methods (and fns
    /// returning `impl Future`, `BoxFuture`, `Pin<Box<dyn Future>>`):
    /// - a name that is also declared as a sync fn or method anywhere in the crate is never
    ///   flagged, and neither are futures returned by other crates' functions;
    /// - fns declared inside `macro_rules!` bodies or other macros are unknown to the index, so a
    ///   macro-generated sync fn does not make its name ambiguous;
    /// - a path through a crate module that re-exports another crate's module (`pub use
    ///   std::thread;` then `thread::yield_now()`) looks like a crate fn.
    ///
    /// Without types, a method call is only checked on `self` (`self.flush();`), since
    /// `tx.send(..)` may be a sync method of another crate's type; so `other.flush();` and future
    /// adapters (`fetch().boxed();`, `fetch().instrument(span);`) are missed. A method reached on
    /// `self` through `Deref` or another crate's trait is flagged if one of the crate's async
    /// methods has its name. `<Self as Trait>::save(self)` is not checked.
    ///
    /// `#[allow(clippy::let_underscore_future)]` on a `let` or on an enclosing fn, impl, trait or
    /// module (of the same file) is respected for `let` bindings, and `#[allow(unused_must_use)]`
    /// (rustc's lint for the statement form) for statements.
    id: "unawaited-future",
    category: Correctness,
    fix: Sometimes,
    tests: Checked,
    nodes: [Stmt],
    check: check,
}

fn check(node: Node<'_>, cx: &mut Context<'_>) {
    let Node::Stmt { block, index } = node else { return };
    let Some(discarded) = discarded_value(&block.stmts, index, |e| dropped_future(cx, e)) else { return };
    let unused = discarded.unused.map(|ident| cx.range(ident));
    let range = match discarded.local {
        // rustc's own lint for a dropped future statement.
        None if cx.lint_allowed("unused_must_use") => return,
        None => cx.range(discarded.expr),
        Some(local) => {
            if allows_dropped_future(&local.attrs) || cx.lint_allowed(LET_UNDERSCORE_FUTURE) {
                return;
            }
            cx.range(&local.let_token).start..cx.range(&local.semi_token).end
        }
    };
    let dropped = discarded.found;
    let await_at = dropped.awaitable().then(|| cx.range(peel(discarded.expr)).end);
    report(cx, range, dropped.message(), unused, dropped.condition(), await_at);
}

/// A dropped expression that may be a future nobody awaits. Its message and condition are made
/// only for a statement that is reported: most dropped calls are not, their value is used later.
enum Dropped<'e> {
    /// `async { .. }`: always a future.
    AsyncBlock,
    /// A call of a path that may name one of the crate's fns, a future if that fn is async.
    Call(Resolved),
    /// `self.method()`, a future if the crate's method of that name is async.
    SelfMethod(&'e syn::Ident),
    /// An adapter in a method chain (`.map(..)`) whose closure makes futures, always (`None`) or
    /// under a condition.
    Chain(&'e syn::ExprMethodCall, Option<Condition>),
}

impl Dropped<'_> {
    fn message(&self) -> String {
        match self {
            Dropped::AsyncBlock => "this async block is never awaited, so its body never runs".to_string(),
            Dropped::Call(path) => format!("the future returned by `{}` is never awaited", path.last()),
            Dropped::SelfMethod(method) => format!("the future returned by `.{method}()` is never awaited"),
            Dropped::Chain(map, _) => format!("the futures created by this `.{}` closure are never awaited", map.method),
        }
    }

    /// When the crate index must confirm it (the callee is async).
    fn condition(self) -> Option<Condition> {
        match self {
            Dropped::AsyncBlock => None,
            Dropped::Call(path) => Some(Condition::CalleeIsAsync(path.last().to_string())),
            Dropped::SelfMethod(method) => Some(Condition::CalleeIsAsync(method.to_string())),
            Dropped::Chain(_, condition) => condition,
        }
    }

    /// Can `.await` be added after the expression itself?
    fn awaitable(&self) -> bool {
        !matches!(self, Dropped::Chain(..))
    }
}

fn dropped_future<'e>(cx: &Context<'_>, expr: &'e Expr) -> Option<Dropped<'e>> {
    let expr = peel(expr);
    match expr {
        Expr::Async(_) => Some(Dropped::AsyncBlock),
        Expr::Call(call) => {
            let path = cx.callee(call)?;
            matches!(path.origin, Origin::Crate | Origin::Unknown).then_some(Dropped::Call(path))
        }
        Expr::MethodCall(call) => {
            if let Some((map, condition)) = futures_in_chain(cx, expr) {
                return Some(Dropped::Chain(map, condition));
            }
            // Without types, only `self.method()` is known to call one of the crate's methods:
            // `tx.send(..)` may well be a sync method of another crate's type.
            matches!(peel(&call.receiver), Expr::Path(p) if p.path.is_ident("self")).then_some(Dropped::SelfMethod(&call.method))
        }
        _ => None,
    }
}

fn report(
    cx: &mut Context<'_>,
    range: std::ops::Range<usize>,
    message: String,
    binding: Option<std::ops::Range<usize>>,
    condition: Option<Condition>,
    await_at: Option<usize>,
) {
    // Not `in_async()`: a plain closure inside async code cannot use `.await`.
    let can_await = cx.can_await();
    let help = if can_await {
        "add `.await`: a future does nothing until it is awaited or polled"
    } else {
        "await it from async code, spawn it as a task, or drive it with an executor: a future does nothing until polled"
    };
    let mut report = cx.report(range, message).label("the future is dropped here without running").help(help);
    if let Some(binding) = binding {
        report = report.secondary(binding, "bound here and never used");
    }
    if let (true, Some(at)) = (can_await, await_at) {
        report = report.fix(Applicability::Unsafe, "add `.await`", vec![Edit { range: at..at, replacement: ".await".into() }]);
    }
    if let Some(condition) = condition {
        report.when(condition);
    }
}

const LET_UNDERSCORE_FUTURE: &str = "clippy::let_underscore_future";

/// `#[allow(clippy::let_underscore_future)] let _ = ..` says the drop is on purpose (so does the
/// same attribute on an enclosing fn, impl or module: see `Context::lint_allowed`).
fn allows_dropped_future(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|attr| {
        attr.path().is_ident("allow") && attr.meta.require_list().is_ok_and(|l| l.tokens.to_string().contains("let_underscore_future"))
    })
}

/// `xs.iter().map(|x| async { .. })...`, `.then(|x| fetch(x))` or `.for_each(|x| async { .. })`
/// in the receiver chain of a method call whose result is dropped, with the condition under which
/// its closure makes futures. A later adapter that takes a closure or a fn
/// (`.for_each(|f| handles.push(tokio::spawn(f)))`, `.map(tokio::spawn)`) is handed the futures,
/// so it may await, spawn or keep them: the chain is then not reported.
fn futures_in_chain<'e>(cx: &Context<'_>, expr: &'e Expr) -> Option<(&'e syn::ExprMethodCall, Option<Condition>)> {
    let mut expr = peel(expr);
    while let Expr::MethodCall(call) = expr {
        if call.method == "map" || call.method == "for_each" || call.method == "then" {
            if let Some(condition) = call.args.first().and_then(|arg| makes_futures(cx, arg)) {
                return Some((call, condition));
            }
        }
        if call.args.iter().any(|arg| matches!(peel(arg), Expr::Closure(_) | Expr::Path(_))) {
            return None;
        }
        expr = peel(&call.receiver);
    }
    None
}

/// Does this closure or fn argument return a future? `Some(None)`: always (an async closure or
/// block); `Some(Some(condition))`: if the crate fn or `self` method it calls is async.
fn makes_futures(cx: &Context<'_>, arg: &Expr) -> Option<Option<Condition>> {
    let closure = match peel(arg) {
        Expr::Path(p) if p.qself.is_none() => return crate_callee(cx, &p.path).map(Some),
        Expr::Closure(closure) => closure,
        _ => return None,
    };
    if closure.asyncness.is_some() {
        return Some(None);
    }
    let body = match peel(&closure.body) {
        Expr::Block(b) if b.label.is_none() => match b.block.stmts.as_slice() {
            [Stmt::Expr(tail, None)] => peel(tail),
            _ => return None,
        },
        body => body,
    };
    match body {
        Expr::Async(_) => Some(None),
        Expr::Call(call) => {
            let Expr::Path(p) = peel(&call.func) else { return None };
            // `|fetch| fetch(1)` calls the closure's own parameter.
            let mut params = Vec::new();
            closure.inputs.iter().for_each(|input| pat_idents(input, &mut params));
            if p.qself.is_some() || p.path.get_ident().is_some_and(|ident| params.iter().any(|param| ident == param)) {
                return None;
            }
            crate_callee(cx, &p.path).map(Some)
        }
        Expr::MethodCall(call) if matches!(peel(&call.receiver), Expr::Path(p) if p.path.is_ident("self")) => {
            Some(Some(Condition::CalleeIsAsync(call.method.to_string())))
        }
        _ => None,
    }
}

/// The condition for `path` to name one of the crate's async fns, unless it resolves elsewhere.
fn crate_callee(cx: &Context<'_>, path: &syn::Path) -> Option<Condition> {
    let resolved = cx.resolve(path);
    matches!(resolved.origin, Origin::Crate | Origin::Unknown).then(|| Condition::CalleeIsAsync(resolved.last().to_string()))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::engine::lint_source;

    /// The lines (1-based) that got a finding, and whether each offers the `.await` fix.
    fn fixes(source: &str) -> Vec<(usize, bool)> {
        let report = lint_source(Path::new("t.rs"), source);
        let line = |at: usize| source[..at].lines().count();
        report.diagnostics.iter().map(|d| (line(d.range.start), d.fix.is_some())).collect()
    }

    #[test]
    fn await_is_offered_only_where_it_is_allowed() {
        let source = "async fn ping() {}
async fn direct() {
    ping();
}
async fn in_plain_closure(ids: Vec<u32>) {
    ids.iter().for_each(|_| {
        ping();
    });
}
fn sync_code() {
    ping();
}
fn block_in_closure(ids: Vec<u32>) {
    ids.iter().for_each(|_| {
        let _ = async {
            ping();
        };
    });
}
";
        assert_eq!(fixes(source), vec![(3, true), (7, false), (11, false), (15, false), (16, true)]);
    }
}
