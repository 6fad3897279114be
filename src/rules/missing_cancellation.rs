use rustc_hash::FxHashSet as HashSet;

use syn::visit::{self, Visit};
use syn::{Expr, ExprAsync, ExprCall, ExprLoop, FnArg, Pat, Stmt, Type, Visibility};

use super::{Context, FnKind, FnNode, Node};
use crate::diagnostic::{Applicability, Edit};
use crate::engine::index::Condition;
use crate::engine::resolve::Origin;
use crate::engine::syntax::{peel, OwnCode};

declare_rule! {
    /// ## What it does
    /// Flags long-running async work that nothing can stop: (a) an `async fn` that is public, a
    /// trait method, or spawned as a task, with a `loop` that awaits and never breaks or returns,
    /// when no parameter is a cancellation input (`CancellationToken`, a `watch`, `broadcast` or
    /// `oneshot` receiver, a `*Shutdown` / `*Token` / `*Signal` type, an `impl Future`) and the
    /// loop does not `select!`; (b) such a loop in an `async` block passed to `tokio::spawn` whose
    /// handle is discarded (or, for `smol::spawn`, that is detached); (c) a fresh
    /// `CancellationToken::new()` (or a `Default::default()` where the crate's callee takes a
    /// token) passed on while a token parameter is in scope.
    ///
    /// ## Why is this bad?
    /// A task that cannot be told to stop keeps running through shutdown: connections stay open,
    /// and buffered work is cut off mid-way when the runtime is dropped. A fresh token passed to a
    /// callee is never cancelled, so the callee ignores the shutdown of its caller.
    ///
    /// ## Example
    /// ```rust
    /// pub async fn poll_forever(client: Client) {
    ///     loop {
    ///         client.poll().await;
    ///     }
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```rust
    /// pub async fn poll_forever(client: Client, token: CancellationToken) {
    ///     loop {
    ///         tokio::select! {
    ///             _ = token.cancelled() => break,
    ///             _ = client.poll() => {}
    ///         }
    ///     }
    /// }
    /// ```
    ///
    /// ## Fix safety
    /// Replacing `CancellationToken::new()` with `token.child_token()` (case c) is unsafe: the
    /// callee now stops when the caller's token is cancelled, which is the point, but changes
    /// behaviour.
    ///
    /// ## Known problems
    /// A loop counts as stoppable if it has a `break`, `return` or `?` at loop level, or selects; a
    /// parameter counts as a cancellation input by its type or by its name (`cancel`, `stop`,
    /// `token`, ...), so `api_token: String` hides a finding. Dropping a future also cancels it, so
    /// a public `async fn` whose callers wrap it in a `select!` or a timeout is flagged anyway.
    /// Test code (`#[test]` fns, `#[cfg(test)]` items, test files) is not checked unless
    /// `test-code = "check"`: the test's runtime cancels its tasks. A trait method is taken to be as public as a `pub` fn whatever its
    /// trait's visibility. A private fn counts as spawned when the crate spawns any fn of that name
    /// (`tokio::spawn(name(..))`, `tokio::spawn(self.name())`); a method spawned through another
    /// receiver (`tokio::spawn(conn.run())`) is not seen. `Default::default()` is recognised only
    /// as an argument of a crate fn all of whose declarations of that name take a
    /// `CancellationToken` at that position, so a method of another crate that shares the name can
    /// be mistaken for it. A fresh token stored in a struct field is not flagged; one passed on
    /// after the fn cancelled its own token parameter is. (b) looks at spawn functions, not at
    /// spawn methods (`handle.spawn(..)`, `executor.spawn(..)`).
    id: "missing-cancellation",
    category: Suspicious,
    fix: Sometimes,
    tests: Relaxed,
    nodes: [Fn, Stmt, Call, MethodCall],
    check: check,
}

fn check(node: Node<'_>, cx: &mut Context<'_>) {
    match node {
        Node::Fn(f) => check_fn(f, cx),
        Node::Stmt { block, index } => check_spawned_block(&block.stmts[index], cx),
        Node::Call(call) => check_fresh_tokens(|cx| crate_callee(cx, call), call.args.iter(), cx),
        Node::MethodCall(call) => check_fresh_tokens(|_| Some((call.method.to_string(), true)), call.args.iter(), cx),
        _ => {}
    }
}

/// (a) `pub async fn run() { loop { x.await; } }`
fn check_fn(f: FnNode<'_>, cx: &mut Context<'_>) {
    if f.sig.asyncness.is_none() || f.sig.inputs.iter().any(|arg| is_cancellation_input(cx, f, arg)) {
        return;
    }
    // `#[tokio::main]`: the program ends when it returns, and with it everything it runs.
    let is_main = f.attrs.iter().any(|a| a.path().segments.last().is_some_and(|s| s.ident == "main"));
    if is_main {
        return;
    }
    let Some(endless) = endless_loops(&f.body.stmts).first().map(|l| cx.range(&l.loop_token)) else { return };
    let name = f.sig.ident.to_string();
    // A trait method is as public as its trait, whose visibility is not looked at.
    let (label, spawned) = match (f.kind, f.vis) {
        (FnKind::TraitImpl | FnKind::TraitDefault, _) => ("trait method with no cancellation input", false),
        (_, Some(Visibility::Public(_))) => ("public async fn with no cancellation input", false),
        _ => ("spawned as a task with no cancellation input", true),
    };
    let report = cx
        .report(cx.range(f.sig), format!("`{name}` loops forever with no way to cancel it"))
        .label(label)
        .secondary(endless, "this loop awaits and never breaks, returns or selects")
        .help("accept a `CancellationToken` and `select!` on `token.cancelled()` in the loop");
    if spawned {
        report.when(Condition::FnIsSpawned(name));
    }
}

/// (b) `tokio::spawn(async move { loop { x.await; } });`, `smol::spawn(async { .. }).detach();`
fn check_spawned_block(stmt: &Stmt, cx: &mut Context<'_>) {
    let expr = match stmt {
        Stmt::Expr(expr, Some(_)) => expr,
        Stmt::Local(local) if matches!(local.pat, Pat::Wild(_)) => match &local.init {
            Some(init) => &*init.expr,
            None => return,
        },
        _ => return,
    };
    // A `JoinHandle` detaches its task when dropped; a `Task` (smol) cancels it unless detached.
    let (call, detached) = match peel(expr) {
        Expr::Call(call) => (call, false),
        Expr::MethodCall(m) if m.method == "detach" && m.args.is_empty() => match peel(&m.receiver) {
            Expr::Call(call) => (call, true),
            _ => return,
        },
        _ => return,
    };
    let Some(spawner) = cx.callee(call) else { return };
    let catalog = cx.catalog();
    let cancels_on_drop = spawner.is_in(&catalog.cancellation.cancel_on_drop_spawn);
    if !spawner.is_in(&catalog.executors.spawn) || cancels_on_drop != detached {
        return;
    }
    let Some(task) = call.args.first() else { return };
    let Some(block) = spawned_block(task) else { return };
    if mentions_cancellation(task) {
        return;
    }
    let Some(endless) = endless_loops(&block.block.stmts).first().map(|l| cx.range(&l.loop_token)) else { return };
    let label = if detached {
        "the task is detached, so it cannot be cancelled either"
    } else {
        "the handle is discarded, so the task cannot be aborted either"
    };
    cx.report(cx.range(call), "spawned task loops forever with no way to cancel it")
        .label(label)
        .secondary(endless, "this loop awaits and never breaks, returns or selects")
        .help("move a `CancellationToken` (or a child of one) into the task and `select!` on `token.cancelled()`");
}

/// The `async` block a spawned future is made of: `async { .. }`, also behind adapters such as
/// `async { .. }.instrument(span)`.
fn spawned_block(task: &Expr) -> Option<&ExprAsync> {
    match peel(task) {
        Expr::Async(block) => Some(block),
        Expr::MethodCall(call) => spawned_block(&call.receiver),
        _ => None,
    }
}

/// (c) `callee(CancellationToken::new())` with a token in scope; also `callee(Default::default())`
/// when every crate fn named `callee` takes a `CancellationToken` there. `callee` is asked only for
/// an argument that is such a call: most calls have none.
fn check_fresh_tokens<'a>(
    callee: impl Fn(&Context<'_>) -> Option<(String, bool)>,
    args: impl Iterator<Item = &'a Expr>,
    cx: &mut Context<'_>,
) {
    for (index, arg) in args.enumerate() {
        let arg = match peel(arg) {
            Expr::Reference(r) => peel(&r.expr),
            arg => arg,
        };
        let Expr::Call(call) = arg else { continue };
        let Some(path) = cx.callee(call) else { continue };
        let tokens = &cx.catalog().cancellation;
        let tail = path.last_two();
        let fresh_token = path.is_in(&tokens.fresh_token) || tokens.fresh_token_names.contains(tail);
        let default = matches!(path.origin, Origin::External | Origin::Unknown) && tokens.default_calls.contains(&path.joined());
        let condition = match (fresh_token, default) {
            (true, _) => None,
            (false, true) => match callee(cx) {
                Some((callee, method)) => {
                    Some(Condition::ParamHasType { callee, method, index, ty: "CancellationToken".into() })
                }
                None => continue,
            },
            (false, false) => continue,
        };
        let Some(token) = token_in_scope(cx) else { continue };
        let replacement = format!("{token}.child_token()");
        let range = cx.range(call);
        let report = cx
            .report(range.clone(), format!("a fresh `CancellationToken` is passed on while `{token}` is in scope"))
            .label("nothing ever cancels this token")
            .help(format!("pass `{token}` or `{replacement}` so cancellation reaches the callee"))
            .fix(Applicability::Unsafe, format!("replace with `{replacement}`"), vec![Edit { range, replacement }]);
        if let Some(condition) = condition {
            report.when(condition);
        }
    }
}

/// The name a call's callee is declared under in this crate, and whether it is a method; `None`
/// when the callee is not a crate fn that the crate index could know.
fn crate_callee(cx: &Context<'_>, call: &ExprCall) -> Option<(String, bool)> {
    let path = cx.callee(call)?;
    matches!(path.origin, Origin::Crate | Origin::Unknown).then(|| (path.last().to_string(), false))
}

/// The innermost parameter typed `CancellationToken` that no later binding shadows: a token this
/// code was given, so its caller can cancel it.
fn token_in_scope(cx: &Context<'_>) -> Option<String> {
    let mut seen = HashSet::default();
    cx.names()
        .bindings()
        .filter(|b| seen.insert(b.name.as_str()))
        .find(|b| b.param && b.ty.as_ref().is_some_and(|t| t.last() == "CancellationToken"))
        .map(|b| b.name.clone())
}

fn is_cancellation_input(cx: &Context<'_>, f: FnNode<'_>, arg: &FnArg) -> bool {
    let FnArg::Typed(arg) = arg else { return false };
    if let Pat::Ident(p) = &*arg.pat {
        if is_cancellation_name(&p.ident.to_string()) {
            return true;
        }
    }
    type_is_cancellation(cx, f, &arg.ty)
}

fn type_is_cancellation(cx: &Context<'_>, f: FnNode<'_>, ty: &Type) -> bool {
    match ty {
        Type::Reference(r) => type_is_cancellation(cx, f, &r.elem),
        Type::Paren(p) => type_is_cancellation(cx, f, &p.elem),
        Type::ImplTrait(t) => t.bounds.iter().any(|b| matches!(b, syn::TypeParamBound::Trait(t) if t.path.segments.last().is_some_and(|s| s.ident == "Future"))),
        Type::Path(p) => {
            let resolved = cx.resolve(&p.path);
            if cx.catalog().is_cancellation_type(&resolved) {
                return true;
            }
            // A generic parameter bounded by `Future` is a shutdown signal.
            let Some(ident) = p.path.get_ident() else { return false };
            let generics = &f.sig.generics;
            let bounded_by_future = |bounds: &syn::punctuated::Punctuated<syn::TypeParamBound, syn::Token![+]>| {
                bounds.iter().any(|b| matches!(b, syn::TypeParamBound::Trait(t) if t.path.segments.last().is_some_and(|s| s.ident == "Future")))
            };
            let in_params = generics.type_params().any(|tp| tp.ident == *ident && bounded_by_future(&tp.bounds));
            let in_where = generics.where_clause.iter().flat_map(|w| &w.predicates).any(|pred| {
                matches!(pred, syn::WherePredicate::Type(pt) if matches!(&pt.bounded_ty, Type::Path(b) if b.path.is_ident(ident)) && bounded_by_future(&pt.bounds))
            });
            in_params || in_where
        }
        _ => false,
    }
}

fn is_cancellation_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["cancel", "shutdown", "stop", "token", "signal", "quit", "terminate", "kill", "exit"].iter().any(|w| name.contains(w))
}

/// Does the spawned future mention anything that looks like a cancellation input?
fn mentions_cancellation(task: &Expr) -> bool {
    struct Finder(bool);
    impl Visit<'_> for Finder {
        fn visit_ident(&mut self, ident: &proc_macro2::Ident) {
            self.0 |= is_cancellation_name(&ident.to_string());
        }
        fn visit_macro(&mut self, mac: &syn::Macro) {
            visit::visit_macro(self, mac);
            self.0 |= is_cancellation_name(&mac.tokens.to_string());
        }
    }
    let mut finder = Finder(false);
    finder.visit_expr(task);
    finder.0
}

/// `loop`s in these statements' own code that await and never stop.
fn endless_loops(stmts: &[Stmt]) -> Vec<&ExprLoop> {
    struct Loops<'a>(Vec<&'a ExprLoop>);
    impl<'a> Visit<'a> for Loops<'a> {
        fn visit_expr_loop(&mut self, e: &'a ExprLoop) {
            let own = OwnCode::of_loop_body(&e.body, e.label.as_ref().map(|l| &l.name));
            if own.awaits_anything() && !own.breaks && !own.returns && !own.tries && !own.selects {
                self.0.push(e);
            }
            visit::visit_expr_loop(self, e);
        }
        fn visit_expr_closure(&mut self, _: &'a syn::ExprClosure) {}
        fn visit_expr_async(&mut self, _: &'a syn::ExprAsync) {}
        fn visit_item(&mut self, _: &'a syn::Item) {}
    }
    let mut loops = Loops(Vec::new());
    stmts.iter().for_each(|s| loops.visit_stmt(s));
    loops.0
}

