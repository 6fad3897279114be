use std::collections::HashSet;
use std::ops::Range;

use syn::visit::{self, Visit};
use syn::{Block, Expr, Lifetime, Pat};

use super::{Context, Node};
use crate::engine::resolve::pat_idents;
use crate::engine::syntax::{expr_mentions, peel, OwnCode};

declare_rule! {
    /// ## What it does
    /// Flags a `for` loop (or `while let Some(x) = iter.next()` over a sync iterator) in async code
    /// that awaits a call using the loop variable, one item at a time, when no awaited call depends
    /// on a value written by an earlier iteration.
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
    /// Not flagged: loops that `break` or `return`, awaits whose order matters by their name
    /// (`send`, `write*`, `flush`, `recv`, `next`, `tick`, `sleep`, `lock`, `acquire`, `read*`),
    /// awaited calls that take a `&mut` borrow or read a variable the loop writes, and method calls
    /// on a `mut` binding or through `&mut self` (such calls usually need exclusive access, as a
    /// database connection does). Without types, a method that needs `&mut self` on a receiver
    /// not declared `mut` (a `&mut` parameter, a field) cannot be told apart, and is flagged.
    id: "sequential-await-in-loop",
    category: Perf,
    fix: Never,
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
    if own.breaks || own.returns || !own.awaiting_macros.is_empty() || own.awaits.is_empty() {
        return;
    }
    let mut loop_vars = Vec::new();
    pat_idents(pat, &mut loop_vars);
    if loop_vars.is_empty() {
        return;
    }
    let written = written_variables(body);
    let mut independent = None;
    for awaited in &own.awaits {
        let base = peel(&awaited.base);
        let Some(name) = called_name(base) else { continue };
        if cx.catalog().is_order_dependent(&name) || takes_mut_borrow(base) || on_mutable_receiver(cx, base) {
            return;
        }
        if written.iter().any(|w| expr_mentions(base, w)) {
            return;
        }
        if independent.is_none() && loop_vars.iter().any(|v| expr_mentions(base, v)) {
            independent = Some((awaited, name));
        }
    }
    let Some((awaited, name)) = independent else { return };
    let await_range = cx.range(*awaited);
    cx.report(header, format!("`{name}` is awaited one item at a time in this loop"))
        .label("each iteration waits for the previous one to finish")
        .secondary(await_range, "awaited here, in sequence")
        .help("run the calls concurrently with `futures::future::join_all` / `try_join_all`, or bound concurrency with `stream::iter(..).map(..).buffer_unordered(N)`");
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
/// needs `&mut` access, so the calls could not run at the same time anyway.
fn on_mutable_receiver(cx: &Context<'_>, expr: &Expr) -> bool {
    let Expr::MethodCall(call) = expr else { return false };
    let mut receiver = peel(&call.receiver);
    loop {
        match receiver {
            Expr::Field(f) => receiver = peel(&f.base),
            Expr::MethodCall(m) => receiver = peel(&m.receiver),
            Expr::Unary(u) => receiver = peel(&u.expr),
            Expr::Path(p) => {
                let Some(ident) = p.path.get_ident() else { return false };
                return cx.names().binding(&ident.to_string()).is_some_and(|b| b.mutable);
            }
            _ => return false,
        }
    }
}

fn takes_mut_borrow(expr: &Expr) -> bool {
    struct Finder(bool);
    impl Visit<'_> for Finder {
        fn visit_expr_reference(&mut self, r: &syn::ExprReference) {
            self.0 |= r.mutability.is_some();
            visit::visit_expr_reference(self, r);
        }
    }
    let mut finder = Finder(false);
    finder.visit_expr(expr);
    finder.0
}

/// Variables the loop body assigns to or borrows mutably: a value carried between iterations.
fn written_variables(body: &Block) -> HashSet<String> {
    struct Writes(HashSet<String>);
    impl Writes {
        fn add(&mut self, place: &Expr) {
            let mut place = peel(place);
            loop {
                match place {
                    Expr::Field(f) => place = peel(&f.base),
                    Expr::Index(i) => place = peel(&i.expr),
                    Expr::Unary(u) => place = peel(&u.expr),
                    Expr::Path(p) => {
                        if let Some(ident) = p.path.get_ident() {
                            self.0.insert(ident.to_string());
                        }
                        return;
                    }
                    _ => return,
                }
            }
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
    let mut writes = Writes(HashSet::new());
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
