use rustc_hash::FxHashSet as HashSet;
use std::ops::Range;

use syn::visit::{self, Visit};
use syn::{Block, Expr, ExprAwait, Lifetime, Pat};

use super::{Context, Node};
use crate::engine::macros::expressions;
use crate::engine::resolve::pat_idents;
use crate::engine::syntax::{expr_mentions, peel, OwnCode};

declare_rule! {
    /// ## What it does
    /// Flags independent awaits run one at a time in a loop. That is a `for` loop (or
    /// `while let Some(x) = iter.next()` over a sync iterator) in async code that awaits a call
    /// using the loop variable (or a value computed from it), one item at a time, when no awaited
    /// call depends on a value written by an earlier iteration.
    ///
    /// ## Why is this bad?
    /// Each iteration waits for its request to finish before the next one starts, so N independent
    /// requests take N round trips instead of about one.
    ///
    /// ## Example
    /// ```rust
    /// async fn load(ids: Vec<u64>) -> Vec<User> {
    ///     let mut users = Vec::new();
    ///     for id in ids {
    ///         users.push(fetch_user(id).await);
    ///     }
    ///     users
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```rust
    /// async fn load(ids: Vec<u64>) -> Vec<User> {
    ///     futures::future::join_all(ids.into_iter().map(fetch_user)).await
    /// }
    /// ```
    ///
    /// ## Known problems
    /// Not flagged, on purpose: loops that `break` (also to an outer loop's label) or `return`;
    /// loops with `select!` or `join!`; awaits whose name says their order matters (the prefixes in
    /// `rules/ordering.toml`: `send`, `write`, `recv`, `next`, `sleep`, `lock`, database statements
    /// and writes, acks, AMQP channel methods, `before_` / `after_` hooks, ...); awaited calls that
    /// borrow `&mut` something that outlives the iteration or read a variable the loop writes;
    /// method calls on a `mut` binding, a `&mut` parameter or `&mut self` (such calls usually need
    /// exclusive access, as a database connection does). Awaiting a variable (a `JoinHandle`) is
    /// not a call. An await inside a nested loop is that loop's finding, or a retry / polling loop.
    ///
    /// Names decide, not types. A `.send()` that sends a request (`reqwest`, AWS SDK builders) is
    /// taken as ordered and not flagged. A call whose order matters for a reason its name does not
    /// show is flagged: a state machine fed one event at a time, a cache the previous call filled,
    /// events the loop body also emits. So is a method needing `&mut self` on a receiver reached
    /// through a shared reference. Test code (`#[test]` / `#[tokio::test]` fns, `#[cfg(test)]`
    /// modules, files under `tests/`, `benches/` or `examples/` or named `tests.rs`) is not checked
    /// unless `test-code = "check"`: tests often await one step at a time on purpose.
    id: "sequential-await-in-loop",
    category: Perf,
    fix: Never,
    tests: Relaxed,
    nodes: [ForLoop, While],
    check: check,
}

fn check(node: Node<'_>, cx: &mut Context<'_>) {
    if !cx.in_async() {
        return;
    }
    match node {
        Node::ForLoop(f) => {
            let header = cx.range(&f.for_token).start..cx.range(&*f.expr).end;
            check_loop(cx, header, &f.pat, &f.body, f.label.as_ref().map(|l| &l.name));
        }
        Node::While(w) => {
            let Expr::Let(cond) = peel(&w.cond) else { return };
            let Pat::TupleStruct(some) = &*cond.pat else { return };
            let is_sync_next = matches!(peel(&cond.expr), Expr::MethodCall(m) if m.method == "next");
            if !some.path.is_ident("Some") || !is_sync_next {
                return;
            }
            let header = cx.range(&w.while_token).start..cx.range(&*cond.expr).end;
            check_loop(cx, header, &cond.pat, &w.body, w.label.as_ref().map(|l| &l.name));
        }
        _ => {}
    }
}

fn check_loop(cx: &mut Context<'_>, header: Range<usize>, pat: &Pat, body: &Block, label: Option<&Lifetime>) {
    let own = OwnCode::of_loop_body(body, label);
    if own.breaks || own.returns || !own.awaiting_macros.is_empty() {
        return;
    }
    let mut loop_vars = Vec::new();
    pat_idents(pat, &mut loop_vars);
    if loop_vars.is_empty() {
        return;
    }
    let locals = Locals::of(body, &loop_vars);
    let per_iteration = per_iteration_awaits(body);
    // Awaits written in the arguments of `println!`, `vec![..]` and the like are the loop's too.
    let macro_code = macro_code(body);
    let mut awaits: Vec<(&ExprAwait, bool)> =
        own.awaits.iter().map(|&a| (a, per_iteration.iter().any(|&p| std::ptr::eq(a, p)))).collect();
    for (expr, in_nested_loop) in &macro_code {
        awaits.extend(OwnCode::of_expr(expr).awaits.into_iter().map(|a| (a, !in_nested_loop)));
    }
    let written: Vec<String> = written_variables(body).into_iter().filter(|w| !locals.fresh(w)).collect();
    let mut independent = None;
    for (awaited, once_per_iteration) in awaits {
        let base = peel(&awaited.base);
        let Some(name) = called_name(base) else { continue };
        if cx.catalog().is_order_dependent(&name)
            || takes_mut_borrow(base, &locals)
            || on_mutable_receiver(cx, base, &locals)
        {
            return;
        }
        if written.iter().any(|w| expr_mentions(base, w)) {
            return;
        }
        // An await in a nested loop is that loop's finding, or a retry / polling loop.
        let uses_item = locals.item.iter().any(|v| expr_mentions(base, v));
        if independent.is_none() && once_per_iteration && uses_item {
            independent = Some((awaited, name));
        }
    }
    let Some((awaited, name)) = independent else { return };
    let await_range = cx.range(awaited);
    cx.report(header, format!("`{name}` is awaited one item at a time in this loop"))
        .label("each iteration waits for the previous one to finish")
        .secondary(await_range, "awaited here, in sequence")
        .help("run the calls concurrently with `futures::future::join_all` / `try_join_all`, or bound concurrency with `stream::iter(..).map(..).buffer_unordered(N)`");
}

/// Names bound inside one iteration: the loop pattern and every pattern in the body's own code.
/// Such a value is made fresh each time round, so writing it or borrowing it mutably carries
/// nothing over to the next iteration.
#[derive(Default)]
struct Locals {
    fresh: HashSet<String>,
    /// `let c = &mut shared;`: fresh names that stand for something shared by every iteration.
    aliases: HashSet<String>,
    /// The loop variables and the names computed from them (`let url = format!("/{id}")`).
    item: Vec<String>,
}

impl Locals {
    fn of(body: &Block, loop_vars: &[String]) -> Self {
        struct Finder<'l>(&'l mut Locals);
        impl Finder<'_> {
            /// Binds the names of `pat`, computed from `source` (if any).
            fn bind(&mut self, pat: &Pat, source: Option<&Expr>) {
                let mut names = Vec::new();
                pat_idents(pat, &mut names);
                if let Some(source) = source {
                    let from = |vars: &[String]| vars.iter().any(|v| expr_mentions(source, v));
                    if mut_borrowed_roots(source).next().is_some() {
                        self.0.aliases.extend(names.iter().cloned());
                    }
                    if from(&self.0.item) {
                        self.0.item.extend(names.iter().cloned());
                    }
                }
                self.0.fresh.extend(names);
            }
        }
        impl Visit<'_> for Finder<'_> {
            fn visit_local(&mut self, local: &syn::Local) {
                visit::visit_local(self, local);
                self.bind(&local.pat, local.init.as_ref().map(|init| &*init.expr));
            }
            fn visit_expr_let(&mut self, e: &syn::ExprLet) {
                visit::visit_expr_let(self, e);
                self.bind(&e.pat, Some(&e.expr));
            }
            fn visit_expr_match(&mut self, e: &syn::ExprMatch) {
                self.visit_expr(&e.expr);
                for arm in &e.arms {
                    self.bind(&arm.pat, Some(&e.expr));
                    self.visit_arm(arm);
                }
            }
            fn visit_expr_for_loop(&mut self, e: &syn::ExprForLoop) {
                self.visit_expr(&e.expr);
                self.bind(&e.pat, None);
                self.visit_block(&e.body);
            }
            fn visit_expr_closure(&mut self, _: &syn::ExprClosure) {}
            fn visit_expr_async(&mut self, _: &syn::ExprAsync) {}
            fn visit_item(&mut self, _: &syn::Item) {}
        }
        let mut locals = Locals { item: loop_vars.to_vec(), ..Locals::default() };
        locals.fresh.extend(loop_vars.iter().cloned());
        Finder(&mut locals).visit_block(body);
        locals
    }

    /// Made fresh each iteration, and not standing for something shared.
    fn fresh(&self, name: &str) -> bool {
        self.fresh.contains(name) && !self.aliases.contains(name)
    }
}

/// The awaits of the body's own code that are not inside a nested loop: they run once per
/// iteration of this loop.
fn per_iteration_awaits(body: &Block) -> Vec<&ExprAwait> {
    #[derive(Default)]
    struct Finder<'a>(Vec<&'a ExprAwait>);
    impl<'a> Visit<'a> for Finder<'a> {
        fn visit_expr_await(&mut self, e: &'a ExprAwait) {
            self.0.push(e);
            visit::visit_expr_await(self, e);
        }
        fn visit_expr_for_loop(&mut self, e: &'a syn::ExprForLoop) {
            self.visit_expr(&e.expr);
        }
        fn visit_expr_while(&mut self, _: &'a syn::ExprWhile) {}
        fn visit_expr_loop(&mut self, _: &'a syn::ExprLoop) {}
        fn visit_expr_closure(&mut self, _: &'a syn::ExprClosure) {}
        fn visit_expr_async(&mut self, _: &'a syn::ExprAsync) {}
        fn visit_item(&mut self, _: &'a syn::Item) {}
    }
    let mut finder = Finder::default();
    finder.visit_block(body);
    finder.0
}

/// The expressions inside the known macros (`println!`, `vec!`, `info!` ...) of the loop body's
/// own code, nested macros included, each with whether it sits in a nested loop.
fn macro_code(body: &Block) -> Vec<(Expr, bool)> {
    #[derive(Default)]
    struct Macros {
        found: Vec<(Expr, bool)>,
        loop_depth: usize,
    }
    impl Macros {
        fn nested_loop(&mut self, f: impl FnOnce(&mut Self)) {
            self.loop_depth += 1;
            f(self);
            self.loop_depth -= 1;
        }
    }
    impl Visit<'_> for Macros {
        fn visit_macro(&mut self, mac: &syn::Macro) {
            let in_nested_loop = self.loop_depth > 0;
            self.found.extend(expressions(mac).unwrap_or_default().into_iter().map(|e| (e, in_nested_loop)));
        }
        fn visit_expr_for_loop(&mut self, e: &syn::ExprForLoop) {
            self.visit_expr(&e.expr);
            self.nested_loop(|m| m.visit_block(&e.body));
        }
        fn visit_expr_while(&mut self, e: &syn::ExprWhile) {
            self.nested_loop(|m| visit::visit_expr_while(m, e));
        }
        fn visit_expr_loop(&mut self, e: &syn::ExprLoop) {
            self.nested_loop(|m| visit::visit_expr_loop(m, e));
        }
        fn visit_expr_closure(&mut self, _: &syn::ExprClosure) {}
        fn visit_expr_async(&mut self, _: &syn::ExprAsync) {}
        fn visit_item(&mut self, _: &syn::Item) {}
    }
    let mut macros = Macros::default();
    macros.visit_block(body);
    let mut code = Vec::new();
    while let Some((expr, in_nested_loop)) = macros.found.pop() {
        macros.loop_depth = usize::from(in_nested_loop);
        macros.visit_expr(&expr);
        code.push((expr, in_nested_loop));
    }
    code
}

/// The name of the function or method whose future is awaited; `None` for an awaited variable
/// (a `JoinHandle` awaited in order is fine: the tasks already run concurrently).
fn called_name(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Call(call) => match peel(&call.func) {
            Expr::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
            _ => None,
        },
        Expr::MethodCall(m) => Some(m.method.to_string()),
        _ => None,
    }
}

/// `conn.query(x).await` with `let mut conn` or in a `&mut self` method: the call most likely
/// needs `&mut` access, so the calls could not run at the same time anyway. A receiver made fresh
/// in each iteration (`for mut conn in conns`) is not shared, whatever its outer namesake is.
fn on_mutable_receiver(cx: &Context<'_>, expr: &Expr, locals: &Locals) -> bool {
    let Expr::MethodCall(call) = expr else { return false };
    let mut receiver = peel(&call.receiver);
    loop {
        match receiver {
            Expr::Field(f) => receiver = peel(&f.base),
            Expr::MethodCall(m) => receiver = peel(&m.receiver),
            Expr::Unary(u) => receiver = peel(&u.expr),
            Expr::Path(p) => {
                let Some(ident) = p.path.get_ident() else { return false };
                let name = ident.to_string();
                if locals.aliases.contains(&name) {
                    return true;
                }
                // The engine binds the loop's own names only after the loop is dispatched, so
                // `names()` answers for what is visible outside the loop.
                return !locals.fresh.contains(&name) && cx.names().binding(&name).is_some_and(|b| b.mutable);
            }
            _ => return false,
        }
    }
}

/// `&mut x` in the awaited call, where `x` outlives the iteration (a fresh buffer does not count).
fn takes_mut_borrow(expr: &Expr, locals: &Locals) -> bool {
    let roots: Vec<String> = mut_borrowed_roots(expr).collect();
    roots.iter().any(|root| !locals.fresh(root))
}

/// The variables an expression borrows mutably: `&mut conn`, `&mut *self.conn` -> `conn`, `self`;
/// `"_"` stands for a place that is not rooted in a variable (`&mut make()`).
fn mut_borrowed_roots(expr: &Expr) -> impl Iterator<Item = String> {
    struct Finder(Vec<String>);
    impl Visit<'_> for Finder {
        fn visit_expr_reference(&mut self, r: &syn::ExprReference) {
            if r.mutability.is_some() {
                self.0.push(place_root(&r.expr).unwrap_or_else(|| "_".into()));
            }
            visit::visit_expr_reference(self, r);
        }
    }
    let mut finder = Finder(Vec::new());
    finder.visit_expr(expr);
    finder.0.into_iter()
}

/// `a.b[i].c`, `*a` -> `a`.
fn place_root(place: &Expr) -> Option<String> {
    let mut place = peel(place);
    loop {
        match place {
            Expr::Field(f) => place = peel(&f.base),
            Expr::Index(i) => place = peel(&i.expr),
            Expr::Unary(u) => place = peel(&u.expr),
            Expr::Path(p) => return p.path.get_ident().map(|i| i.to_string()),
            _ => return None,
        }
    }
}

/// Variables the loop body assigns to or borrows mutably: a value carried between iterations.
fn written_variables(body: &Block) -> HashSet<String> {
    struct Writes(HashSet<String>);
    impl Writes {
        fn add(&mut self, place: &Expr) {
            self.0.extend(place_root(place));
        }
    }
    impl Visit<'_> for Writes {
        fn visit_expr_assign(&mut self, e: &syn::ExprAssign) {
            self.add(&e.left);
            visit::visit_expr_assign(self, e);
        }
        fn visit_expr_binary(&mut self, e: &syn::ExprBinary) {
            if is_compound_assign(&e.op) {
                self.add(&e.left);
            }
            visit::visit_expr_binary(self, e);
        }
        fn visit_expr_reference(&mut self, e: &syn::ExprReference) {
            if e.mutability.is_some() {
                self.add(&e.expr);
            }
            visit::visit_expr_reference(self, e);
        }
    }
    let mut writes = Writes(HashSet::default());
    writes.visit_block(body);
    writes.0
}

fn is_compound_assign(op: &syn::BinOp) -> bool {
    use syn::BinOp::*;
    matches!(
        op,
        AddAssign(_) | SubAssign(_) | MulAssign(_) | DivAssign(_) | RemAssign(_) | BitXorAssign(_) | BitAndAssign(_) | BitOrAssign(_) | ShlAssign(_) | ShrAssign(_)
    )
}
