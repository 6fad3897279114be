use std::ops::Range;

use syn::visit::{self, Visit};
use syn::{Block, Expr, ExprClosure, ExprMethodCall};

use super::spawn_without_join::spawner;
use super::{Context, Node};
use crate::engine::macros::expressions;
use crate::engine::resolve::{pat_idents, Origin, Resolved, Source};
use crate::engine::syntax::{expr_mentions, ident_in, is_awaiting_macro, peel, OwnCode};

declare_rule! {
    /// ## What it does
    /// Flags a task spawned per item of a collection with no bound on how many run at once. The
    /// spawn is in a `for` loop, a `while let Some(x) = iter.next()` loop or a `.map(..)` /
    /// `.for_each(..)` closure over an iterator, with nothing in sight that limits how many run at once: no `Semaphore` permit
    /// acquired in the loop or in the spawned future, no `buffer_unordered(N)` / `buffered(N)`
    /// after the `.map`, no window kept on the handles (awaiting `set.join_next()`, or comparing
    /// `set.len()`, in the loop). Spawners are the spawn functions of `rules/executors.toml`
    /// (`tokio::spawn`, `spawn_local`, `spawn_blocking`, `async_std::task::spawn`, `smol::spawn`,
    /// ...), `.spawn(..)` on a runtime, handle or executor, and `.spawn(..)` on a `JoinSet` or
    /// `TaskTracker`: a task set keeps the handles but does not limit how many tasks run.
    ///
    /// ## Why is this bad?
    /// As many tasks run at the same time as there are items. A large input opens thousands of
    /// connections or files at once, exhausts sockets, memory or the rate limit of the service
    /// called, and gives no backpressure to whoever produces the items.
    ///
    /// ## Example
    /// ```rust
    /// async fn fetch_all(urls: Vec<String>) {
    ///     let mut handles = Vec::new();
    ///     for url in urls {
    ///         handles.push(tokio::spawn(fetch(url)));
    ///     }
    ///     futures::future::join_all(handles).await;
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```rust
    /// async fn fetch_all(urls: Vec<String>) {
    ///     futures::stream::iter(urls)
    ///         .map(|url| tokio::spawn(fetch(url)))
    ///         .buffer_unordered(16)
    ///         .collect::<Vec<_>>()
    ///         .await;
    /// }
    /// ```
    ///
    /// ## Known problems
    /// Only a task per item of a collection whose size the code does not show is flagged. Not
    /// flagged, on purpose:
    /// - loops over an array or `vec![..]` literal, a `CONSTANT`, `.take(n)`, a slice `&v[i..j]`
    ///   or an item of `v.chunks(n)` (a batch), or a variable set to one of these;
    /// - loops over a range (`for i in 0..workers`): they spawn a number of tasks the code chose,
    ///   mostly a worker pool (a range up to `items.len()` walks the items and is checked);
    /// - a spawn that uses nothing computed from the item (`if i == 0 { spawn(monitor()) }`);
    /// - a loop that awaits a timer or a rate limiter (`sleep(d).await`, `interval.tick().await`,
    ///   `limiter.until_ready().await`): it starts at most one task per tick;
    /// - loops whose items arrive over time: `while let Some(conn) = listener.accept().await`,
    ///   `rx.recv().await`, `stream.next().await`, a blocking `rx.recv()` or
    ///   `listener.incoming()`, `loop { .. }`. The sender paces them, and a server that spawns
    ///   a task per connection is the intended pattern; its limit, if any, belongs to the
    ///   listener. On the corpus, test code included, such loops were all that a rule counting
    ///   them reported (17 findings), every one the textbook accept or dispatch loop;
    /// - test code, unless `test-code = "check"`: tests spawn fixed, small numbers of tasks on
    ///   purpose.
    ///
    /// A bound the code does not show is not seen: a permit taken inside the spawned function
    /// (`tokio::spawn(handle(x))` where `handle` acquires it), a pool or limiter whose method is
    /// not named `acquire*`, a collection small by construction (one task per configured
    /// listener). `spawn_blocking` is flagged too, although the blocking pool caps its threads
    /// (512 by default): the rest queue without limit. Any await that mentions the variable
    /// holding the handles counts as a window on them. Not seen: a `.map(..)` whose iterator is
    /// stored and consumed later, a `.map(..)` on an iterator the chain does not show (`iter()`,
    /// `into_iter()`, `drain(..)`, `values()`, `stream::iter(..)`, a range ...), a `.spawn(..)` on
    /// a field (`self.tasks.spawn(..)`) or a builder.
    id: "unbounded-concurrency",
    category: Suspicious,
    fix: Never,
    tests: Relaxed,
    nodes: [Call, MethodCall, ForLoop, While],
    check: check,
}

fn check(node: Node<'_>, cx: &mut Context<'_>) {
    match node {
        Node::ForLoop(f) => {
            if !per_item_source(cx, &f.expr) {
                return;
            }
            let header = cx.range(&f.for_token).start..cx.range(&*f.expr).end;
            check_loop(cx, header, &f.pat, &f.body);
        }
        Node::While(w) => {
            // A plain `while cond` counts or polls; `while let Some(conn) = listener.accept().await`
            // takes items as they arrive, paced by whoever sends them.
            let Expr::Let(cond) = peel(&w.cond) else { return };
            if OwnCode::of_expr(&cond.expr).awaits_anything() || !per_item_source(cx, &cond.expr) {
                return;
            }
            let header = cx.range(&w.while_token).start..cx.range(&*cond.expr).end;
            check_loop(cx, header, &cond.pat, &w.body);
        }
        Node::MethodCall(call) => {
            if call.method == "for_each" || call.method == "try_for_each" {
                check_per_item_call(cx, call);
            }
            // `.collect()`, `.count()` ...: whatever pulls the items out of the chain. Only a chain
            // of method calls can have a `.map(..)` in it: tested first, it spares the names.
            if is_method_call(&call.receiver) {
                let concurrency = &cx.catalog().concurrency;
                let method = call.method.to_string();
                if !concurrency.lazy_adapters.contains(&method) && !concurrency.bounding_adapters.contains(&method) {
                    check_chain(cx, &call.receiver);
                }
            }
            for arg in &call.args {
                check_chain(cx, arg);
            }
        }
        // `join_all(ids.iter().map(|id| tokio::spawn(..)))`
        Node::Call(call) => {
            for arg in &call.args {
                check_chain(cx, arg);
            }
        }
        _ => {}
    }
}

/// A `for` / `while let` loop over a collection: report its first spawn that nothing bounds.
fn check_loop(cx: &mut Context<'_>, header: Range<usize>, pat: &syn::Pat, body: &Block) {
    if acquires_permit(cx, |f| f.visit_block(body)) {
        return;
    }
    let mut finder = Spawns::new(cx, [pat]);
    finder.visit_block(body);
    let Some(spawn) = finder.unbounded() else { return };
    report(cx, spawn, header, "for every item of this loop");
}

/// `.for_each(|x| { tokio::spawn(..); })`: the closure is the loop body.
fn check_per_item_call(cx: &mut Context<'_>, call: &ExprMethodCall) {
    let Some(closure) = sync_closure(call) else { return };
    let Some(spawn) = closure_spawn(cx, &call.receiver, closure) else { return };
    let header = cx.range(&call.method);
    report(cx, spawn, header, format!("for every item `.{}` is given", call.method));
}

/// The end of an iterator chain, where its items are pulled: walks back through lazy adapters to
/// a `.map(..)` whose closure spawns, unless a bounding adapter (`buffer_unordered`) comes first.
fn check_chain(cx: &mut Context<'_>, end: &Expr) {
    let concurrency = &cx.catalog().concurrency;
    let mut expr = peel(end);
    let (map, closure) = loop {
        let Expr::MethodCall(call) = expr else { return };
        if let Some(closure) = sync_closure(call).filter(|_| call.method == "map") {
            break (call, closure);
        }
        // A receiver that is no method call ends the chain anyway: spares the name.
        if !is_method_call(&call.receiver) || !ident_in(&call.method, &concurrency.lazy_adapters) {
            return;
        }
        expr = peel(&call.receiver);
    };
    match closure_spawn(cx, &map.receiver, closure) {
        Some(spawn) => {
            let header = cx.range(&map.method);
            report(cx, spawn, header, "for every item `.map` is given");
        }
        // A `.map(..)` that does not spawn may come after one that does: `.map(spawn).map(..)`.
        None => check_chain(cx, &map.receiver),
    }
}

/// The spawn nothing bounds in a closure run once per item of `receiver`, an iterator over a
/// collection.
fn closure_spawn(cx: &Context<'_>, receiver: &Expr, closure: &ExprClosure) -> Option<Spawn> {
    if !is_iterator(cx, receiver, 0) || !per_item_source(cx, receiver) {
        return None;
    }
    if acquires_permit(cx, |f| f.visit_expr(&closure.body)) {
        return None;
    }
    let mut finder = Spawns::new(cx, &closure.inputs);
    finder.visit_expr(&closure.body);
    finder.unbounded()
}

fn report(cx: &mut Context<'_>, spawn: Spawn, header: Range<usize>, header_label: impl Into<String>) {
    cx.report(spawn.range, format!("`{}` spawns a task per item with no limit on how many run at once", spawn.name))
        .label("as many tasks run at the same time as there are items")
        .secondary(header, header_label)
        .help("bound the concurrency: `stream::iter(..).map(..).buffer_unordered(N)`, or acquire a `Semaphore` permit before spawning");
}

/// The plain closure argument of a `.map(..)` / `.for_each(..)`; an `async` closure yields futures
/// that do not run until awaited.
fn sync_closure(call: &ExprMethodCall) -> Option<&ExprClosure> {
    match call.args.first().map(peel) {
        Some(Expr::Closure(c)) if c.asyncness.is_none() && call.args.len() == 1 => Some(c),
        _ => None,
    }
}

/// Does `expr` iterate a collection whose size the code does not show? Not: an array or
/// `vec![..]` literal, a `CONSTANT`, a range that counts (`0..workers`), `.take(n)`, a batch
/// (`&ids[i..j]`, an item of `ids.chunks(50)`), items that arrive over time (`rx.recv()`,
/// `listener.incoming()`), or a variable set to one of these.
fn per_item_source(cx: &Context<'_>, expr: &Expr) -> bool {
    per_item(cx, expr, 0)
}

/// How many `let` initialisers to follow back: `let a = ..; let b = a.iter(); for x in b`.
const MAX_DEPTH: usize = 4;

fn per_item(cx: &Context<'_>, expr: &Expr, depth: usize) -> bool {
    let concurrency = &cx.catalog().concurrency;
    match peel(expr) {
        Expr::Reference(r) => per_item(cx, &r.expr, depth),
        Expr::Array(_) | Expr::Repeat(_) | Expr::Lit(_) => false,
        Expr::Macro(m) => !m.mac.path.is_ident("vec"),
        Expr::Range(r) => r.end.as_deref().is_some_and(is_len_call),
        Expr::Index(i) => !matches!(peel(&i.index), Expr::Range(r) if r.start.is_some() && r.end.is_some()),
        Expr::Path(p) => {
            let Some(last) = p.path.segments.last() else { return true };
            if is_constant_name(&last.ident.to_string()) {
                return false;
            }
            match source_of(cx, &p.path) {
                Some((Source::Init(_), init)) if depth < MAX_DEPTH => per_item(cx, &init, depth + 1),
                Some((Source::Item(_), collection)) => !is_batched(cx, &collection, depth),
                _ => true,
            }
        }
        Expr::MethodCall(call) => {
            let method = call.method.to_string();
            !concurrency.bounding_adapters.contains(&method)
                && !concurrency.arrivals.contains(&method)
                && per_item(cx, &call.receiver, depth)
        }
        Expr::Call(call) => match (cx.callee(call), call.args.first()) {
            (Some(path), Some(arg)) if path.is_in(&concurrency.iter_wrappers) => per_item(cx, arg, depth),
            _ => true,
        },
        _ => true,
    }
}

/// Does the chain show an iterator or stream over a collection (`ids.iter()`, `stream::iter(ids)`,
/// `0..n`), rather than an `Option`, `Result` or future whose `.map` runs once?
fn is_iterator(cx: &Context<'_>, expr: &Expr, depth: usize) -> bool {
    let concurrency = &cx.catalog().concurrency;
    match peel(expr) {
        Expr::MethodCall(call) => {
            concurrency.iterator_methods.contains(&call.method.to_string()) || is_iterator(cx, &call.receiver, depth)
        }
        Expr::Range(_) => true,
        Expr::Call(call) => cx.callee(call).is_some_and(|path| path.is_in(&concurrency.iter_wrappers)),
        Expr::Path(p) if depth < MAX_DEPTH => match source_of(cx, &p.path) {
            Some((Source::Init(_), init)) => is_iterator(cx, &init, depth + 1),
            _ => false,
        },
        _ => false,
    }
}

/// Is `expr` split into batches: `ids.chunks(50)`, `ids.chunks(50).enumerate()`, or a variable set
/// to such an iterator?
fn is_batched(cx: &Context<'_>, expr: &Expr, depth: usize) -> bool {
    match peel(expr) {
        Expr::MethodCall(call) => {
            cx.catalog().concurrency.batch_methods.contains(&call.method.to_string())
                || is_batched(cx, &call.receiver, depth)
        }
        Expr::Reference(r) => is_batched(cx, &r.expr, depth),
        Expr::Path(p) if depth < MAX_DEPTH => match source_of(cx, &p.path) {
            Some((Source::Init(_), init)) => is_batched(cx, &init, depth + 1),
            _ => false,
        },
        _ => false,
    }
}

/// The expression a local variable's value comes from, parsed again from the source text.
fn source_of(cx: &Context<'_>, path: &syn::Path) -> Option<(Source, Expr)> {
    let source = cx.names().binding(&path.get_ident()?.to_string())?.source.clone()?;
    let (Source::Init(range) | Source::Item(range)) = &source;
    let expr = syn::parse_str(cx.text(range.clone())).ok()?;
    Some((source, expr))
}

fn is_method_call(expr: &Expr) -> bool {
    matches!(peel(expr), Expr::MethodCall(_))
}

fn is_len_call(expr: &Expr) -> bool {
    matches!(peel(expr), Expr::MethodCall(m) if m.method == "len")
}

/// `SERVERS`, `NODE_IDS`: a `const` or `static`, whose size is fixed when the code is written.
fn is_constant_name(name: &str) -> bool {
    name.chars().any(|c| c.is_ascii_uppercase())
        && name.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// Does the code `walk` visits take a permit anywhere, the spawned futures included?
fn acquires_permit(cx: &Context<'_>, walk: impl FnOnce(&mut Permits<'_>)) -> bool {
    let mut finder = Permits { methods: &cx.catalog().concurrency.permit_methods, found: false };
    walk(&mut finder);
    finder.found
}

struct Permits<'c> {
    methods: &'c rustc_hash::FxHashSet<String>,
    found: bool,
}

impl Visit<'_> for Permits<'_> {
    fn visit_expr_method_call(&mut self, call: &ExprMethodCall) {
        self.found |= ident_in(&call.method, self.methods);
        visit::visit_expr_method_call(self, call);
    }
    fn visit_macro(&mut self, mac: &syn::Macro) {
        for expr in expressions(mac).unwrap_or_default() {
            self.visit_expr(&expr);
        }
    }
    fn visit_item(&mut self, _: &syn::Item) {}
}

/// A spawn call found in a loop body.
struct Spawn {
    range: Range<usize>,
    name: String,
    /// The variable that keeps the handle: `let h = spawn(..)`, `handles.push(spawn(..))`,
    /// `set.spawn(..)`.
    holder: Option<String>,
    /// `spawn(..).await`: the loop waits for the task.
    awaited: bool,
}

/// The spawns of a loop body's own code (not inside closures or async blocks, which run at another
/// time, nor in a nested loop over a collection, which is that loop's finding), and the ways the
/// body keeps a window on their handles: awaits on the holder, comparisons of `holder.len()`.
struct Spawns<'c, 'w> {
    cx: &'c Context<'w>,
    spawns: Vec<Spawn>,
    /// The variables each await of the own code (nested loops included) mentions.
    awaited: Vec<Vec<String>>,
    /// `x` in `x.len() >= N`.
    len_compared: Vec<String>,
    /// An awaited timer or rate limiter (`sleep(d).await`, `interval.tick().await`) paces the loop.
    paced: bool,
    /// Inside a nested loop that reports its own spawns.
    nested: usize,
    /// The loop variables and the variables computed from them: a spawn that mentions none of
    /// them is not one per item (`if i == 0 { spawn(monitor()) }`).
    items: Vec<String>,
}

impl<'c, 'w> Spawns<'c, 'w> {
    fn new<'p>(cx: &'c Context<'w>, item_patterns: impl IntoIterator<Item = &'p syn::Pat>) -> Self {
        let mut items = Vec::new();
        item_patterns.into_iter().for_each(|pat| pat_idents(pat, &mut items));
        Spawns { cx, spawns: Vec::new(), awaited: Vec::new(), len_compared: Vec::new(), paced: false, nested: 0, items }
    }

    fn mentions_item(&self, expr: &Expr) -> bool {
        self.items.iter().any(|item| expr_mentions(expr, item))
    }

    /// The first spawn whose tasks nothing limits.
    fn unbounded(self) -> Option<Spawn> {
        if self.paced {
            return None;
        }
        let windowed = |holder: &String| {
            self.len_compared.contains(holder) || self.awaited.iter().any(|names| names.contains(holder))
        };
        self.spawns.into_iter().find(|s| !s.awaited && !s.holder.as_ref().is_some_and(windowed))
    }

    /// Records `expr` if it spawns; the range identifies it when it is met again.
    fn record(&mut self, expr: &Expr, holder: Option<String>) {
        if self.nested > 0 {
            return;
        }
        let Some((name, own_holder)) = spawn_call(self.cx, expr) else { return };
        if !self.mentions_item(expr) {
            return;
        }
        let range = self.cx.range(peel(expr));
        if self.spawns.iter().any(|s| s.range == range) {
            return;
        }
        self.spawns.push(Spawn { range, name, holder: own_holder.or(holder), awaited: false });
    }

    fn in_nested_loop(&mut self, reports_itself: bool, f: impl FnOnce(&mut Self)) {
        self.nested += usize::from(reports_itself);
        f(self);
        self.nested -= usize::from(reports_itself);
    }
}

impl Visit<'_> for Spawns<'_, '_> {
    fn visit_local(&mut self, local: &syn::Local) {
        if let (Some(init), syn::Pat::Ident(p)) = (&local.init, strip_type(&local.pat)) {
            self.record(&init.expr, Some(p.ident.to_string()));
        }
        visit::visit_local(self, local);
        if local.init.as_ref().is_some_and(|init| self.mentions_item(&init.expr)) {
            pat_idents(&local.pat, &mut self.items);
        }
    }
    fn visit_expr_await(&mut self, e: &syn::ExprAwait) {
        self.record(&e.base, None);
        let range = self.cx.range(peel(&e.base));
        if let Some(spawn) = self.spawns.iter_mut().find(|s| s.range == range) {
            spawn.awaited = true;
        }
        self.awaited.push(idents(&e.base));
        self.paced |= called_name(&e.base).is_some_and(|name| self.cx.catalog().concurrency.pacing.contains(&name));
        visit::visit_expr_await(self, e);
    }
    fn visit_expr(&mut self, e: &Expr) {
        self.record(e, None);
        visit::visit_expr(self, e);
    }
    /// `handles.push(tokio::spawn(..))`: the receiver holds the handle.
    fn visit_expr_method_call(&mut self, call: &ExprMethodCall) {
        let holder = root(&call.receiver);
        for arg in &call.args {
            self.record(arg, holder.clone());
        }
        visit::visit_expr_method_call(self, call);
    }
    fn visit_expr_binary(&mut self, e: &syn::ExprBinary) {
        use syn::BinOp::*;
        if matches!(e.op, Lt(_) | Le(_) | Gt(_) | Ge(_) | Eq(_) | Ne(_)) {
            for side in [&*e.left, &*e.right] {
                if let Expr::MethodCall(m) = peel(side) {
                    if m.method == "len" {
                        self.len_compared.extend(root(&m.receiver));
                    }
                }
            }
        }
        visit::visit_expr_binary(self, e);
    }
    fn visit_expr_for_loop(&mut self, e: &syn::ExprForLoop) {
        let reports_itself = per_item_source(self.cx, &e.expr);
        self.in_nested_loop(reports_itself, |s| visit::visit_expr_for_loop(s, e));
    }
    fn visit_expr_while(&mut self, e: &syn::ExprWhile) {
        self.in_nested_loop(true, |s| visit::visit_expr_while(s, e));
    }
    fn visit_macro(&mut self, mac: &syn::Macro) {
        let awaits = is_awaiting_macro(mac);
        for expr in expressions(mac).unwrap_or_default() {
            if awaits {
                self.awaited.push(idents(&expr));
            }
            self.visit_expr(&expr);
        }
    }
    fn visit_expr_closure(&mut self, _: &ExprClosure) {}
    fn visit_expr_async(&mut self, _: &syn::ExprAsync) {}
    fn visit_item(&mut self, _: &syn::Item) {}
}

fn strip_type(pat: &syn::Pat) -> &syn::Pat {
    match pat {
        syn::Pat::Type(t) => &t.pat,
        pat => pat,
    }
}

/// The spawner `expr` calls and, for a task set, the variable that holds it.
fn spawn_call(cx: &Context<'_>, expr: &Expr) -> Option<(String, Option<String>)> {
    if let Some(name) = spawner(cx, expr) {
        return Some((name, None));
    }
    let Expr::MethodCall(call) = peel(expr) else { return None };
    let concurrency = &cx.catalog().concurrency;
    if !concurrency.task_set_spawn.contains(&call.method.to_string()) {
        return None;
    }
    let holder = root(&call.receiver)?;
    let ty = cx.names().binding(&holder)?.ty.clone()?;
    let set = task_set(&ty, &concurrency.task_sets)?;
    Some((format!("{set}::{}", call.method), Some(holder)))
}

/// `tokio::task::JoinSet` -> `JoinSet`; also a `JoinSet` of unknown origin (a glob import), never
/// the crate's own type of that name.
fn task_set(ty: &Resolved, sets: &rustc_hash::FxHashSet<String>) -> Option<String> {
    let known = match ty.origin {
        Origin::External => sets.contains(&ty.joined()),
        Origin::Unknown => sets.iter().any(|s| s.rsplit("::").next() == Some(ty.last())),
        Origin::Crate | Origin::Local => false,
    };
    known.then(|| ty.last().to_string())
}

/// `handles`, `self.tasks` -> `handles`, `self`: the variable a place starts from.
fn root(expr: &Expr) -> Option<String> {
    let mut expr = peel(expr);
    loop {
        match expr {
            Expr::Field(f) => expr = peel(&f.base),
            Expr::Index(i) => expr = peel(&i.expr),
            Expr::Unary(u) => expr = peel(&u.expr),
            Expr::Reference(r) => expr = peel(&r.expr),
            Expr::MethodCall(m) if m.args.is_empty() => expr = peel(&m.receiver),
            Expr::Path(p) => return p.path.get_ident().map(|i| i.to_string()),
            _ => return None,
        }
    }
}

/// The fn or method an awaited expression calls: `sleep` in `tokio::time::sleep(d)`.
fn called_name(expr: &Expr) -> Option<String> {
    match peel(expr) {
        Expr::Call(call) => match peel(&call.func) {
            Expr::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
            _ => None,
        },
        Expr::MethodCall(call) => Some(call.method.to_string()),
        _ => None,
    }
}

/// Every identifier an expression mentions.
fn idents(expr: &Expr) -> Vec<String> {
    struct Idents(Vec<String>);
    impl Visit<'_> for Idents {
        fn visit_ident(&mut self, ident: &proc_macro2::Ident) {
            self.0.push(ident.to_string());
        }
    }
    let mut found = Idents(Vec::new());
    found.visit_expr(expr);
    found.0
}
