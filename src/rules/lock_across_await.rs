use std::ops::Range;

use proc_macro2::TokenTree;
use syn::visit::{self, Visit};
use syn::{Expr, ExprMethodCall, Local, Macro, Pat, Stmt};

use super::{Context, Node};
use crate::engine::macros::expressions;
use crate::engine::resolve::{pat_idents, Resolved};
use crate::engine::syntax::{expr_mentions, is_awaiting_macro, mentions, peel};

declare_rule! {
    /// ## What it does
    /// Flags a guard of a sync lock or `RefCell` that is still alive at a later `.await` in async
    /// code: a `let` that binds the guard of `Mutex::lock`, `RwLock::read` / `write` (std,
    /// `parking_lot`, `spin`, ...) or `RefCell::borrow` / `borrow_mut`, followed in the same block
    /// by an `.await` (or `select!` / `join!`) before the guard is dropped or moved; a temporary
    /// guard followed by an `.await` in the same statement (`tx.send(m.lock().unwrap().clone())
    /// .await`); and a temporary guard in the scrutinee of a `match`, `if let`, `while let` or
    /// `for`, which lives through the arms or the body, when they await. Guards of async locks (`tokio::sync`,
    /// `futures::lock`, `async_lock`: `.lock().await`) may be held across an `.await` and are not
    /// flagged.
    ///
    /// ## Why is this bad?
    /// An `.await` suspends the task with the guard still held: the lock stays taken for as long
    /// as the awaited operation takes, and any other task that locks it meanwhile blocks its
    /// executor thread (a sync lock blocks, it does not yield). The lock is released only when the
    /// suspended task is polled again, so if that needs a thread now stuck in `lock()` (always on
    /// a current-thread executor such as `#[tokio::test]`'s; on a multi-threaded one once every
    /// worker is stuck) it is a deadlock. std's `Mutex` may also panic when the thread holding it
    /// locks it again. A `RefCell` borrow held across an `.await` makes a conflicting borrow by
    /// another task on the same thread panic (`already borrowed`).
    ///
    /// std's guards, `parking_lot`'s (without its `send_guard` feature) and `RefCell`'s are not
    /// `Send`, so a future holding one across an `.await` is not `Send` either: `tokio::spawn`
    /// rejects it ("future cannot be sent between threads safely"), often far from the `let`
    /// that causes it. Where no `Send` bound applies (`spawn_local`, a `LocalSet`, `block_on`,
    /// `#[tokio::main]`'s own body, current-thread tests) and with `Send` guards (`spin`,
    /// `parking_lot` with `send_guard`) it compiles, and can deadlock as above.
    ///
    /// ## Example
    /// ```rust
    /// use std::sync::Mutex;
    ///
    /// async fn bump(counter: &Mutex<u64>, client: &Client) {
    ///     let mut count = counter.lock().unwrap();
    ///     *count += 1;
    ///     client.report(*count).await;
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```rust
    /// use std::sync::Mutex;
    ///
    /// async fn bump(counter: &Mutex<u64>, client: &Client) {
    ///     let count = {
    ///         let mut count = counter.lock().unwrap();
    ///         *count += 1;
    ///         *count
    ///     };
    ///     client.report(count).await;
    /// }
    /// ```
    /// or `drop(count)` before the `.await`, or, if the lock must be held across the `.await`,
    /// an async lock such as `tokio::sync::Mutex` (`counter.lock().await`).
    ///
    /// ## Known problems
    /// Without types, a lock is recognised by what the file shows:
    /// - a receiver whose binding (`m: &Mutex<T>`, `let m = Arc::new(Mutex::new(..))`), `static`,
    ///   or struct field has one of the types in `rules/locks.toml`, resolved through `use` and
    ///   seen through `&`, `Arc`, `Rc` and `Box`. Fields are looked up by name among the structs
    ///   declared in the same file (in the module or a module around it), since which struct
    ///   `self.state` belongs to is not known: a field is taken as a lock only if every struct
    ///   there that has a field of that name declares the same lock type. A `parking_lot` lock or
    ///   a `RefCell` whose type is declared in another file, or under a type alias, is missed;
    /// - otherwise, a `.lock()` with no arguments whose result is unwrapped (`.unwrap()`,
    ///   `.expect(..)`, `.unwrap_or_else(..)`, `.map_err(..)`, `.ok()`, `?`, an `Ok(..)`
    ///   pattern): a `LockResult`, which the async locks' `lock()` does not return. `.read()` /
    ///   `.write()` count so only where a sync `RwLock` is imported. A type declared by the file to
    ///   be another crate's (`tokio::sync::Mutex`, `std::fs::File`) is never taken for a lock, but
    ///   a type of the crate itself with a `lock()` returning a `Result` is.
    ///
    /// A guard is taken as released at the first statement that moves it (`drop(guard)`,
    /// passing it to a function, capturing it in a closure or async block, an unknown macro
    /// naming it), even if that happens on one branch only, or it is moved into a future that is
    /// then awaited (`process(guard).await`). A later mention of the name inside a nested block
    /// that rebinds it counts as a move too. Shadowing the guard's name does not release it (the
    /// first guard lives to the end of the block), and neither does assigning it a new guard.
    ///
    /// A temporary guard lives to the end of its statement, so an `.await` later in the same
    /// statement is flagged, except where a temporary scope ends sooner: an `if` or `while`
    /// condition, an operand of `&&` / `||`, a match guard or arm, a block (`let n = { .. };`).
    /// `*m.lock().unwrap() += f().await` is taken to evaluate the right side first, as it does
    /// for numbers. A `match`, `if let`, `while let` or `for` scrutinee's guard lives through
    /// the arms or the body; of an `if let` only the `then` block is checked, though before
    /// edition 2024 the guard lives through the `else` block too. Temporaries in macro
    /// arguments are not followed.
    ///
    /// `#[allow(clippy::await_holding_lock)]` (or `await_holding_refcell_ref` for a `RefCell`),
    /// or `#[expect(..)]`, on the `let` or on an enclosing fn, impl, trait or module of the same
    /// file, is respected: clippy's lints for the same mistake.
    ///
    /// Awaits are seen in code and in the arguments of `select!`, `join!`, `println!`-like
    /// macros and `vec!`, not in other macros. Test code is checked too: `#[tokio::test]` runs
    /// on a current-thread runtime, where this can deadlock. Holding a `RefCell` borrow across
    /// an `.await` is flagged even where only one task ever uses the cell, so that no other
    /// borrow can conflict with it.
    id: "lock-across-await",
    category: Correctness,
    fix: Never,
    tests: Checked,
    nodes: [Stmt],
    check: check,
}

fn check(node: Node<'_>, cx: &mut Context<'_>) {
    let Node::Stmt { block, index } = node else { return };
    if !cx.can_await() {
        return;
    }
    let stmt = &block.stmts[index];
    let attrs = match stmt {
        Stmt::Local(local) => local.attrs.as_slice(),
        _ => &[],
    };
    if let Stmt::Local(local) = stmt {
        check_let(cx, local, &block.stmts[index + 1..]);
    }
    if let Some(site) = temporary_site(cx, stmt).filter(|site| !site.guard.allowed(cx, attrs)) {
        report_temporary(cx, site);
    }
}

/// A call that returns a guard (or a `Result` / `Option` holding one).
#[derive(Clone)]
struct Guard<'a> {
    /// The whole call chain: `m.lock().unwrap()`.
    expr: &'a Expr,
    /// The lock's type when the file shows it (`std::sync::Mutex`).
    lock: Option<String>,
    borrow: bool,
}

impl Guard<'_> {
    fn what(&self) -> String {
        match &self.lock {
            _ if self.borrow => "`RefCell` borrow".into(),
            Some(lock) => format!("`{}` guard", short(lock)),
            None => "lock guard".into(),
        }
    }

    /// What is held: a guard, or a borrow.
    fn noun(&self) -> &'static str {
        if self.borrow {
            "borrow"
        } else {
            "guard"
        }
    }

    /// Is clippy's lint for the same thing (`await_holding_lock`, `await_holding_refcell_ref`)
    /// allowed or expected here: on an enclosing item or on the statement itself?
    fn allowed(&self, cx: &Context<'_>, stmt_attrs: &[syn::Attribute]) -> bool {
        let lint = if self.borrow { "await_holding_refcell_ref" } else { "await_holding_lock" };
        let on_stmt = stmt_attrs.iter().any(|attr| {
            (attr.path().is_ident("allow") || attr.path().is_ident("expect"))
                && attr.meta.require_list().is_ok_and(|l| l.tokens.to_string().contains(lint))
        });
        on_stmt || cx.lint_allowed(&format!("clippy::{lint}"))
    }

    fn help(&self) -> &'static str {
        if self.borrow {
            "end the borrow before awaiting: in a block that ends before the `.await`, or with `drop(..)`"
        } else {
            "drop the guard before awaiting (end its block or call `drop(guard)`), or use an async lock such as `tokio::sync::Mutex` if it must be held across the `.await`"
        }
    }
}

/// `parking_lot::Mutex` stays as it is; std's and core's types are known by their last segment.
fn short(path: &str) -> &str {
    match path.strip_prefix("std::").or_else(|| path.strip_prefix("core::")) {
        Some(rest) => rest.rsplit("::").next().unwrap_or(rest),
        None => path,
    }
}

// ---- `let guard = m.lock().unwrap();` -------------------------------------------------------

fn check_let(cx: &mut Context<'_>, local: &Local, rest: &[Stmt]) {
    let Some(init) = &local.init else { return };
    let Some((name, ok_pattern)) = guard_binding(&local.pat) else { return };
    let Some(guard) = bound_guard(cx, &init.expr, ok_pattern).filter(|g| !g.allowed(cx, &local.attrs)) else {
        return;
    };
    let Some(await_range) = first_await_while_alive(cx, rest, &name) else { return };
    let (what, noun, help) = (guard.what(), guard.noun(), guard.help());
    let start = cx.range(&local.let_token).start;
    let range = start..cx.range(&local.semi_token).end;
    cx.report(range, format!("`{name}` holds a {what} across an `.await`"))
        .label(format!("`{name}` holds the {noun} until the end of its block"))
        .secondary(await_range, format!("the {noun} is still held here"))
        .help(help);
}

/// The name a `let` pattern binds the value to: `g`, `mut g`, `g: T`, `Ok(g)`, `Some(g)` (the
/// bool says `Ok`, which is evidence of a `LockResult`).
fn guard_binding(pat: &Pat) -> Option<(String, bool)> {
    match pat {
        Pat::Ident(p) if p.subpat.is_none() => Some((p.ident.to_string(), false)),
        Pat::Type(t) => guard_binding(&t.pat),
        Pat::TupleStruct(t) if t.elems.len() == 1 => {
            let variant = t.path.get_ident()?;
            if variant != "Ok" && variant != "Some" {
                return None;
            }
            let (name, _) = guard_binding(&t.elems[0])?;
            Some((name, variant == "Ok"))
        }
        _ => None,
    }
}

/// The guard a `let` initialiser evaluates to: `m.lock().unwrap()`, and `&*m.lock().unwrap()` /
/// `&mut m.lock().unwrap()`, whose temporary guard lives as long as the reference.
fn bound_guard<'a>(cx: &Context<'_>, init: &'a Expr, ok_pattern: bool) -> Option<Guard<'a>> {
    let mut expr = peel(init);
    if let Expr::Reference(r) = expr {
        expr = peel(&r.expr);
        if let Expr::Unary(u) = expr {
            if matches!(u.op, syn::UnOp::Deref(_)) {
                expr = peel(&u.expr);
            }
        }
    }
    guard_chain(cx, expr, ok_pattern)
}

/// `recv.lock()` with any of `?`, `.unwrap()`, `.expect(..)`, ... after it, when it is a guard.
fn guard_chain<'a>(cx: &Context<'_>, expr: &'a Expr, mut unwrapped: bool) -> Option<Guard<'a>> {
    let locks = &cx.catalog().locks;
    let chain = peel(expr);
    let mut expr = chain;
    loop {
        match expr {
            Expr::Try(t) => expr = peel(&t.expr),
            Expr::MethodCall(m) if locks.unwrapping.contains(&m.method.to_string()) => expr = peel(&m.receiver),
            Expr::MethodCall(_) => break,
            _ => return None,
        }
        unwrapped = true;
    }
    let Expr::MethodCall(call) = expr else { return None };
    if call.turbofish.is_some() {
        return None;
    }
    let method = call.method.to_string();
    let borrow = locks.borrow_methods.contains(&method);
    match receiver_type(cx, &call.receiver) {
        TypeInfo::Known(ty) => {
            let lock = ty.joined();
            let methods = locks.guards.get(&lock)?;
            methods.contains(&method).then_some(Guard { expr: chain, lock: Some(lock), borrow })
        }
        TypeInfo::Other => None,
        TypeInfo::Unknown => {
            let needs = locks.unwrapped.get(&method).filter(|_| unwrapped && call.args.is_empty())?;
            let imported = |name: &String| {
                let ty = cx.names().resolve_name(name);
                ty.is_external() && locks.guards.contains_key(&ty.joined())
            };
            (needs.is_empty() || needs.iter().any(imported)).then_some(Guard { expr: chain, lock: None, borrow: false })
        }
    }
}

enum TypeInfo {
    /// A type listed in `rules/locks.toml`.
    Known(Resolved),
    /// A type the file shows, and it is not a sync lock (`tokio::sync::Mutex`, `std::fs::File`).
    Other,
    Unknown,
}

/// What the file says about the type of the receiver of `.lock()`.
fn receiver_type(cx: &Context<'_>, receiver: &Expr) -> TypeInfo {
    let names = cx.names();
    match peel(receiver) {
        Expr::Unary(u) if matches!(u.op, syn::UnOp::Deref(_)) => receiver_type(cx, &u.expr),
        Expr::Reference(r) => receiver_type(cx, &r.expr),
        Expr::Path(p) if p.qself.is_none() => {
            let Some(ident) = p.path.get_ident() else { return TypeInfo::Unknown };
            let name = ident.to_string();
            match names.binding(&name) {
                Some(binding) => classify(cx, binding.ty.as_ref()),
                None => classify(cx, names.item_type(&name)),
            }
        }
        Expr::Field(f) => {
            let name = match &f.member {
                syn::Member::Named(ident) => ident.to_string(),
                syn::Member::Unnamed(index) => index.index.to_string(),
            };
            // Without the struct's type, every field of that name in the file is a candidate.
            let types: Vec<TypeInfo> = names.field_types(&name).into_iter().map(|t| classify(cx, t)).collect();
            if !types.is_empty() && types.iter().all(|t| matches!(t, TypeInfo::Other)) {
                return TypeInfo::Other;
            }
            let mut known = types.into_iter().map(|t| match t {
                TypeInfo::Known(ty) => Some(ty),
                _ => None,
            });
            match known.next().flatten() {
                Some(first) if known.all(|t| t.as_ref() == Some(&first)) => TypeInfo::Known(first),
                _ => TypeInfo::Unknown,
            }
        }
        _ => TypeInfo::Unknown,
    }
}

fn classify(cx: &Context<'_>, ty: Option<&Resolved>) -> TypeInfo {
    match ty {
        Some(ty) if cx.catalog().locks.guards.contains_key(&ty.joined()) => TypeInfo::Known(ty.clone()),
        Some(ty) if ty.is_external() => TypeInfo::Other,
        _ => TypeInfo::Unknown,
    }
}

/// The first `.await` (or awaiting macro) the statements reach while the guard bound to `name`
/// is alive: before any statement moves it. `None` if it is moved first, or nothing awaits.
fn first_await_while_alive(cx: &Context<'_>, stmts: &[Stmt], name: &str) -> Option<Range<usize>> {
    let mut scan = Liveness { name, shadowed: false, event: None };
    for stmt in stmts {
        match stmt {
            Stmt::Local(local) => {
                scan.visit_local(local);
                let mut bound = Vec::new();
                pat_idents(&local.pat, &mut bound);
                scan.shadowed |= bound.iter().any(|b| b == name);
            }
            _ => scan.visit_stmt(stmt),
        }
        match scan.event {
            Some(Event::Await(mark)) => return Some(mark.range(cx)),
            Some(Event::Moved) => return None,
            None => {}
        }
    }
    None
}

enum Event {
    Await(Mark),
    Moved,
}

/// Where something awaits: `.await`, or `select!` / `join!`.
#[derive(Clone, Copy)]
struct Mark {
    start: proc_macro2::Span,
    end: proc_macro2::Span,
}

impl Mark {
    fn of_await(e: &syn::ExprAwait) -> Self {
        Mark { start: e.dot_token.span, end: e.await_token.span }
    }

    fn of_macro(mac: &Macro) -> Self {
        let start = mac.path.segments.first().map_or(mac.bang_token.span, |s| s.ident.span());
        Mark { start, end: mac.bang_token.span }
    }

    fn range(self, cx: &Context<'_>) -> Range<usize> {
        cx.span_range(self.start).start..cx.span_range(self.end).end
    }
}

/// Walks code in evaluation order until the guard is moved or something awaits.
struct Liveness<'n> {
    name: &'n str,
    /// A later `let` bound the name again: the guard lives on, but the name means another value.
    shadowed: bool,
    event: Option<Event>,
}

impl Liveness<'_> {
    fn is_guard(&self, expr: &Expr) -> bool {
        !self.shadowed && matches!(peel(expr), Expr::Path(p) if p.path.is_ident(self.name))
    }

    fn record(&mut self, event: Event) {
        self.event.get_or_insert(event);
    }

    /// Visits `expr` unless it is the guard itself used as a place (`guard.x`, `*guard`, `&guard`).
    fn visit_place(&mut self, expr: &Expr) {
        if !self.is_guard(expr) {
            self.visit_expr(expr);
        }
    }

    fn named_in(&self, tokens: proc_macro2::TokenStream) -> bool {
        !self.shadowed
            && tokens.into_iter().any(|tt| match tt {
                TokenTree::Ident(i) => i == self.name,
                TokenTree::Group(g) => self.named_in(g.stream()),
                _ => false,
            })
    }
}

impl Visit<'_> for Liveness<'_> {
    fn visit_expr(&mut self, e: &Expr) {
        if self.event.is_none() {
            visit::visit_expr(self, e);
        }
    }
    fn visit_expr_await(&mut self, e: &syn::ExprAwait) {
        self.visit_expr(&e.base);
        self.record(Event::Await(Mark::of_await(e)));
    }
    fn visit_expr_path(&mut self, p: &syn::ExprPath) {
        if !self.shadowed && p.path.is_ident(self.name) {
            self.record(Event::Moved);
        }
    }
    fn visit_expr_method_call(&mut self, m: &ExprMethodCall) {
        self.visit_place(&m.receiver);
        m.args.iter().for_each(|a| self.visit_expr(a));
    }
    fn visit_expr_field(&mut self, f: &syn::ExprField) {
        self.visit_place(&f.base);
    }
    fn visit_expr_index(&mut self, i: &syn::ExprIndex) {
        self.visit_place(&i.expr);
        self.visit_expr(&i.index);
    }
    fn visit_expr_unary(&mut self, u: &syn::ExprUnary) {
        match u.op {
            syn::UnOp::Deref(_) => self.visit_place(&u.expr),
            _ => self.visit_expr(&u.expr),
        }
    }
    fn visit_expr_reference(&mut self, r: &syn::ExprReference) {
        self.visit_place(&r.expr);
    }
    fn visit_expr_assign(&mut self, a: &syn::ExprAssign) {
        // The right side is evaluated first; assigning to the guard keeps a guard there.
        self.visit_expr(&a.right);
        self.visit_place(&a.left);
    }
    fn visit_expr_closure(&mut self, c: &syn::ExprClosure) {
        if !self.shadowed && expr_mentions(&c.body, self.name) {
            self.record(Event::Moved);
        }
    }
    fn visit_expr_async(&mut self, a: &syn::ExprAsync) {
        if !self.shadowed && mentions(&a.block.stmts, self.name) {
            self.record(Event::Moved);
        }
    }
    fn visit_local(&mut self, local: &Local) {
        if let Some(init) = &local.init {
            self.visit_expr(&init.expr);
            if let Some((_, diverge)) = &init.diverge {
                self.visit_expr(diverge);
            }
        }
    }
    fn visit_macro(&mut self, mac: &Macro) {
        match expressions(mac) {
            // Format-like macros take their arguments by reference: a mention is not a move.
            Some(exprs) => {
                let shadowed = std::mem::replace(&mut self.shadowed, true);
                exprs.iter().for_each(|e| self.visit_expr(e));
                self.shadowed = shadowed;
            }
            None if self.named_in(mac.tokens.clone()) => self.record(Event::Moved),
            None => {}
        }
        if is_awaiting_macro(mac) {
            self.record(Event::Await(Mark::of_macro(mac)));
        }
    }
    fn visit_item(&mut self, _: &syn::Item) {}
}

// ---- temporaries: `match m.lock().unwrap().get(k) { .. => f().await }` -----------------------

/// A temporary guard that lives through code that awaits.
struct TemporarySite<'a> {
    guard: Guard<'a>,
    construct: Construct,
    await_mark: Mark,
}

fn report_temporary(cx: &mut Context<'_>, site: TemporarySite<'_>) {
    let (what, noun) = (site.guard.what(), site.guard.noun());
    let (construct, until, help) = match site.construct {
        Construct::Match => ("`match`", "the end of the `match`", "bind what you need with a `let` before the `match`, so the guard is dropped at the end of that statement"),
        Construct::IfLet => ("`if let`", "the end of the `if let` block", "bind what you need with a `let` before the `if let`, so the guard is dropped at the end of that statement"),
        Construct::WhileLet => ("`while let` loop", "the end of each iteration", "write `loop { let Some(x) = .. else { break }; .. }`: a `let` drops the temporary guard at its `;`"),
        Construct::For => ("`for` loop", "the end of the loop", "collect what you need with a `let` before the loop, so the guard is dropped at the end of that statement"),
        Construct::Statement => ("statement", "the end of the statement", "take what you need from the guard in a `let` of its own before the statement that awaits"),
    };
    let range = cx.range(site.guard.expr);
    let await_range = site.await_mark.range(cx);
    cx.report(range, format!("a temporary {what} is held across an `.await` in this {construct}"))
        .label(format!("this temporary lives until {until}"))
        .secondary(await_range, format!("the {noun} is still held here"))
        .help(help);
}

/// What keeps a temporary guard alive.
#[derive(Clone, Copy)]
enum Construct {
    Match,
    IfLet,
    WhileLet,
    For,
    /// Made earlier in the statement.
    Statement,
}

/// The first temporary guard of a statement's own code that lives across an `.await`. The
/// statement is walked once, in evaluation order; blocks are only searched for awaits while a
/// guard is alive (their own statements are checked on their own).
fn temporary_site<'a>(cx: &Context<'_>, stmt: &'a Stmt) -> Option<TemporarySite<'a>> {
    let mut scan = Temporaries { cx, live: None, site: None };
    match stmt {
        // A `let`'s temporaries are dropped before its `else` block runs.
        Stmt::Local(local) => scan.visit_expr(&local.init.as_ref()?.expr),
        Stmt::Expr(expr, _) => scan.visit_expr(expr),
        Stmt::Item(_) | Stmt::Macro(_) => {}
    }
    scan.site
}

struct Temporaries<'a, 'c, 'w> {
    cx: &'c Context<'w>,
    /// The temporary guard made so far in the statement, if any, and still alive.
    live: Option<Guard<'a>>,
    site: Option<TemporarySite<'a>>,
}

impl<'a> Temporaries<'a, '_, '_> {
    /// `code` runs while the live guard, if any, is held.
    fn held_through(&mut self, construct: Construct, code: Awaits<'_>) {
        let Some(guard) = self.live.as_ref().filter(|_| self.site.is_none()) else { return };
        if let Some(await_mark) = code.first() {
            self.site = Some(TemporarySite { guard: guard.clone(), construct, await_mark });
        }
    }

    /// An `if` condition, a match guard or arm, an operand of `&&`: what it makes is dropped at
    /// its end.
    fn terminating(&mut self, expr: &'a Expr) {
        let outer = self.live.clone();
        self.visit_expr(expr);
        self.live = outer;
    }

    /// Walks a scrutinee; says which construct keeps a guard made in it alive, and returns the
    /// guard that was alive before.
    fn scrutinee(&mut self, expr: &'a Expr, ok_pattern: bool, construct: Construct) -> (Construct, Option<Guard<'a>>) {
        let outer = self.live.clone();
        if outer.is_none() && ok_pattern {
            self.live = guard_chain(self.cx, expr, true);
        }
        if self.live.is_none() {
            self.visit_expr(expr);
        }
        let made_here = outer.is_none() && self.live.is_some();
        (if made_here { construct } else { Construct::Statement }, outer)
    }
}

impl<'a> Visit<'a> for Temporaries<'a, '_, '_> {
    fn visit_expr(&mut self, e: &'a Expr) {
        if self.site.is_some() {
            return;
        }
        if self.live.is_none() {
            if let Some(guard) = guard_chain(self.cx, e, false) {
                self.live = Some(guard);
                return;
            }
            // Not a guard, so no shorter chain to the same call is one: `x.f().unwrap().unwrap()`
            // is checked once, not once per `unwrap`.
            let mut steps = Vec::new();
            let mut base = peel(e);
            loop {
                match base {
                    Expr::Try(t) => base = peel(&t.expr),
                    Expr::MethodCall(m) if self.cx.catalog().locks.unwrapping.contains(&m.method.to_string()) => {
                        steps.push(m);
                        base = peel(&m.receiver);
                    }
                    _ => break,
                }
            }
            if !std::ptr::eq(base, peel(e)) {
                visit::visit_expr(self, base);
                steps.iter().rev().flat_map(|m| &m.args).for_each(|arg| self.visit_expr(arg));
                return;
            }
        }
        visit::visit_expr(self, e);
    }
    fn visit_expr_await(&mut self, e: &'a syn::ExprAwait) {
        self.visit_expr(&e.base);
        if let Some(guard) = self.live.as_ref().filter(|_| self.site.is_none()) {
            let await_mark = Mark::of_await(e);
            self.site = Some(TemporarySite { guard: guard.clone(), construct: Construct::Statement, await_mark });
        }
    }
    fn visit_expr_match(&mut self, m: &'a syn::ExprMatch) {
        let ok = m.arms.iter().any(|arm| is_ok_pattern(&arm.pat));
        // The scrutinee's temporaries live to the end of the statement.
        let (construct, _) = self.scrutinee(&m.expr, ok, Construct::Match);
        self.held_through(construct, Awaits::Arms(&m.arms));
        for arm in &m.arms {
            if let Pat::Guard(guarded) = &arm.pat {
                self.terminating(&guarded.guard);
            }
            self.terminating(&arm.body);
        }
    }
    fn visit_expr_if(&mut self, i: &'a syn::ExprIf) {
        match peel(&i.cond) {
            Expr::Let(cond) => {
                let (construct, outer) = self.scrutinee(&cond.expr, is_ok_pattern(&cond.pat), Construct::IfLet);
                self.held_through(construct, Awaits::Block(&i.then_branch));
                // Through the `else` block too before edition 2024, not since: not checked.
                self.live = outer;
            }
            cond => {
                self.terminating(cond);
                self.visit_block(&i.then_branch);
            }
        }
        if let Some((_, otherwise)) = &i.else_branch {
            self.visit_expr(otherwise);
        }
    }
    fn visit_expr_while(&mut self, w: &'a syn::ExprWhile) {
        match peel(&w.cond) {
            Expr::Let(cond) => {
                let (construct, outer) = self.scrutinee(&cond.expr, is_ok_pattern(&cond.pat), Construct::WhileLet);
                self.held_through(construct, Awaits::Block(&w.body));
                self.live = outer;
            }
            cond => {
                self.terminating(cond);
                self.visit_block(&w.body);
            }
        }
    }
    fn visit_expr_for_loop(&mut self, f: &'a syn::ExprForLoop) {
        let (construct, _) = self.scrutinee(&f.expr, false, Construct::For);
        self.held_through(construct, Awaits::Block(&f.body));
    }
    fn visit_expr_binary(&mut self, b: &'a syn::ExprBinary) {
        use syn::BinOp::*;
        match b.op {
            // Each operand of `&&` / `||` drops its temporaries at its end.
            And(_) | Or(_) => {
                self.terminating(&b.left);
                self.terminating(&b.right);
            }
            // `*m.lock().unwrap() += f().await`: for primitives the right side comes first.
            AddAssign(_) | SubAssign(_) | MulAssign(_) | DivAssign(_) | RemAssign(_) | BitXorAssign(_)
            | BitAndAssign(_) | BitOrAssign(_) | ShlAssign(_) | ShrAssign(_) => {
                self.visit_expr(&b.right);
                self.visit_expr(&b.left);
            }
            _ => {
                self.visit_expr(&b.left);
                self.visit_expr(&b.right);
            }
        }
    }
    fn visit_expr_assign(&mut self, a: &'a syn::ExprAssign) {
        // The right side is evaluated before the place it is assigned to.
        self.visit_expr(&a.right);
        self.visit_expr(&a.left);
    }
    fn visit_block(&mut self, b: &'a syn::Block) {
        self.held_through(Construct::Statement, Awaits::Block(b));
    }
    fn visit_expr_closure(&mut self, _: &'a syn::ExprClosure) {}
    fn visit_expr_async(&mut self, _: &'a syn::ExprAsync) {}
    fn visit_item(&mut self, _: &'a syn::Item) {}
    fn visit_macro(&mut self, _: &'a Macro) {}
}

fn is_ok_pattern(pat: &Pat) -> bool {
    match pat {
        Pat::TupleStruct(t) => t.path.is_ident("Ok"),
        Pat::Guard(g) => is_ok_pattern(&g.pat),
        _ => false,
    }
}

/// Code in which a temporary guard is alive.
enum Awaits<'a> {
    Arms(&'a [syn::Arm]),
    Block(&'a syn::Block),
}

impl Awaits<'_> {
    /// The first `.await` or awaiting macro in this code (nested blocks included; closures,
    /// async blocks and items excluded).
    fn first(&self) -> Option<Mark> {
        let mut finder = FirstAwait(None);
        match self {
            Awaits::Arms(arms) => arms.iter().for_each(|arm| finder.visit_arm(arm)),
            Awaits::Block(block) => finder.visit_block(block),
        }
        finder.0
    }
}

struct FirstAwait(Option<Mark>);

impl Visit<'_> for FirstAwait {
    fn visit_expr_await(&mut self, e: &syn::ExprAwait) {
        visit::visit_expr_await(self, e);
        self.0.get_or_insert(Mark::of_await(e));
    }
    fn visit_macro(&mut self, mac: &Macro) {
        for expr in expressions(mac).unwrap_or_default() {
            self.visit_expr(&expr);
        }
        if is_awaiting_macro(mac) {
            self.0.get_or_insert(Mark::of_macro(mac));
        }
    }
    fn visit_expr_closure(&mut self, _: &syn::ExprClosure) {}
    fn visit_expr_async(&mut self, _: &syn::ExprAsync) {}
    fn visit_item(&mut self, _: &syn::Item) {}
}
