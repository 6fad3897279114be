use proc_macro2::{Span, TokenStream, TokenTree};
use syn::visit::{self, Visit};
use syn::{Attribute, Block, Expr, Stmt, Visibility};

use super::{Context, FnKind, Node};
use crate::engine::index::Condition;
use crate::engine::macros;
use crate::engine::resolve::Origin;
use crate::engine::syntax::{awaited_call, is_awaiting_macro, macro_name, peel};

declare_rule! {
    /// ## What it does
    /// Flags an `async fn` or async method whose body never awaits: no `.await` (also none inside
    /// the arguments of a macro, as in `println!("{}", f().await)`) and no awaiting macro
    /// (`select!`, `join!`, `try_join!`). An `.await` inside a nested async block or closure does
    /// not count: that block is a future of its own and does not need the fn around it to be
    /// async. Only fns the crate itself can change without breaking anyone are checked: not
    /// `pub`, not a trait method, with no attribute that may need it to be async, and whose name
    /// the crate never uses as a value.
    ///
    /// ## Why is this bad?
    /// An `async fn` that never awaits runs to completion on its first poll: `async` only wraps a
    /// synchronous computation in a future. Every caller must `.await` it and be async itself, the
    /// work runs at the first poll instead of where the call is written, and the fn cannot be
    /// called from sync code. Often it is also the trace of a forgotten `.await` on another
    /// crate's future, which is then dropped without running.
    ///
    /// ## Example
    /// ```rust
    /// async fn parse_config(text: &str) -> Config {
    ///     toml::from_str(text).unwrap()
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```rust
    /// fn parse_config(text: &str) -> Config {
    ///     toml::from_str(text).unwrap()
    /// }
    /// ```
    ///
    /// ## Known problems
    /// Left alone, because their signature is often someone else's contract: `pub` fns (a
    /// library may keep a fn async so that it can await later without breaking its API; so `pub`
    /// fns of a binary, or of a private module, are missed), trait methods and their impls
    /// (`#[async_trait]` included), fns or `impl` blocks with an attribute other than built-in
    /// ones and `#[instrument]` (`#[tokio::main]`, `#[get("/")]`, `#[tauri::command]`, async-graphql's
    /// `#[Object]`, ...), and fns whose name the crate uses as a value: a path that is not called
    /// (`get(handler)`, `tokio::spawn(run)`, `.map(Self::parse)`), a call whose future is not
    /// awaited at once (`tokio::spawn(run())`, `|req| handle(req)`, `join!(a(), b())`,
    /// `Box::pin(f())`; for methods only `self.name()`), or an identifier in a macro async-lint
    /// does not parse (`routes![index]`). Also left alone: a fn when the crate declares another
    /// fn or method of that name that returns a future (a `cfg` variant, or the same API on
    /// another type), test code (unless `test-code = "check"`), empty bodies, bodies that only `todo!()`, `unimplemented!()`,
    /// `unreachable!()` or `panic!(..)`, bodies that call a macro async-lint does not know and
    /// that `rules/macros.toml` does not list as never awaiting (it may expand to an `.await`, as
    /// `combine::decode_tokio!` or a crate's own `macro_rules!` may), and fns where
    /// `clippy::unused_async` is allowed.
    ///
    /// Names are matched, not resolved items: a sync fn of the same name that some code calls
    /// without `.await`, or any item of that name used as a value, spares the async fn too
    /// (every `Foo::new()` of the crate spares an `async fn new`). A method reached through
    /// another receiver and not awaited (`tokio::spawn(conn.run())`) is not seen as a use, and
    /// neither are uses in other crates of a workspace (only `pub` fns could have those).
    ///
    /// Removing `async` is not always a drop-in change, which is why no fix is offered: callers
    /// must drop their `.await`, and the work runs at the call instead of at the first poll,
    /// which matters to code that relies on a runtime being present (a body that calls
    /// `tokio::spawn` panics outside one).
    id: "async-without-await",
    category: Suspicious,
    fix: Never,
    tests: Relaxed,
    nodes: [Fn],
    check: check,
}

fn check(node: Node<'_>, cx: &mut Context<'_>) {
    let Node::Fn(f) = node else { return };
    let Some(async_kw) = &f.sig.asyncness else { return };
    // A trait fixes its methods' signatures; a `pub` fn may be async to keep its API stable.
    if matches!(f.kind, FnKind::TraitImpl | FnKind::TraitDefault) || matches!(f.vis, Some(Visibility::Public(_))) {
        return;
    }
    // clippy's lint for the same thing, allowed on this fn or an enclosing item.
    let allowed = cx.lint_allowed("clippy::unused_async");
    let attrs_transparent = f.attrs.iter().chain(f.container_attrs).all(is_transparent);
    if allowed || !attrs_transparent || is_placeholder(f.body) {
        return;
    }
    let awaits = Awaits::of(cx, f.body);
    // `block_on(..)`: the body waits for a future, the wrong way (`block-on-in-async`).
    if awaits.direct || awaits.unknown_macro || awaits.blocks_on {
        return;
    }
    // A call of one of the crate's async fns that is not awaited at once: the body rather misses
    // an `.await` (`unawaited-future`), or hands the future on; either way it may need `async`.
    let mut conditions: Vec<Condition> = awaits
        .not_awaited
        .into_iter()
        .map(|callee| Condition::Not(Box::new(Condition::CalleeIsAsync(callee))))
        .collect();
    let nested = awaits.nested.map(|(start, end)| cx.span_range(start).start..cx.span_range(end).end);
    let name = f.sig.ident.to_string();
    let range = cx.span_range(async_kw.span).start..cx.range(f.sig).end;
    let mut report = cx
        .report(range, format!("`{name}` is an `async fn` that never awaits"))
        .label("declared `async`, but its body has no `.await`")
        .help("remove `async` (and the `.await` at its call sites), or await the future it was meant to wait for");
    if let Some(at) = nested {
        report = report.secondary(at, "this `.await` belongs to a nested async block or closure, not to the fn");
    }
    conditions.extend([Condition::NotUsedAsValue(name.clone()), Condition::SingleAsyncDecl(name)]);
    report.when(Condition::All(conditions));
}

/// Attributes that do not make a fn's signature part of someone else's contract: the built-in
/// ones, and tracing's `#[instrument]`, which keeps the fn as it is. Anything else may be a
/// macro that needs the fn to be async (`#[tokio::main]`, `#[get("/")]`, `#[async_trait]`).
const TRANSPARENT_ATTRIBUTES: &[&str] = &[
    "doc",
    "allow",
    "warn",
    "deny",
    "forbid",
    "expect",
    "cfg",
    "inline",
    "cold",
    "must_use",
    "deprecated",
    "track_caller",
];

fn is_transparent(attr: &Attribute) -> bool {
    let path = attr.path();
    if path.is_ident("cfg_attr") {
        // `#[cfg_attr(feature = "x", attr, ..)]`: every attribute it may apply must be transparent.
        let Ok(metas) = attr.parse_args_with(syn::punctuated::Punctuated::<syn::Meta, syn::Token![,]>::parse_terminated)
        else {
            return false;
        };
        return metas.iter().skip(1).all(|meta| is_transparent_path(meta.path()));
    }
    is_transparent_path(path)
}

fn is_transparent_path(path: &syn::Path) -> bool {
    let (Some(first), Some(last)) = (path.segments.first(), path.segments.last()) else { return false };
    // `#[instrument]`, `#[tracing::instrument(..)]`; tool attributes: `#[rustfmt::skip]`.
    path.get_ident().is_some_and(|ident| TRANSPARENT_ATTRIBUTES.iter().any(|a| ident == a))
        || last.ident == "instrument"
        || first.ident == "rustfmt"
        || first.ident == "clippy"
}

/// An empty body, or one that only panics: `todo!()`, `unimplemented!()`, `unreachable!()`,
/// `panic!(..)`. Its signature is the point; the body is still to be written.
fn is_placeholder(body: &Block) -> bool {
    match body.stmts.as_slice() {
        [] => true,
        [Stmt::Macro(m)] => is_placeholder_macro(&m.mac),
        [Stmt::Expr(Expr::Macro(m), _)] => is_placeholder_macro(&m.mac),
        _ => false,
    }
}

fn is_placeholder_macro(mac: &syn::Macro) -> bool {
    matches!(macro_name(mac).as_str(), "todo" | "unimplemented" | "unreachable" | "panic")
}

/// What a fn body awaits, found by walking it: its own `.await`s and awaiting macros, the first
/// `.await` of a nested async block or closure, calls of macros that may hide an `.await`, and
/// the signs of a missing `.await`: `block_on(..)`, and calls whose future is not awaited at once.
struct Awaits<'c, 'w> {
    cx: &'c Context<'w>,
    direct: bool,
    nested: Option<(Span, Span)>,
    unknown_macro: bool,
    blocks_on: bool,
    /// Names of the fns (and methods called on `self`) called without awaiting the call at once.
    not_awaited: Vec<String>,
    /// How many async blocks and closures enclose the code being walked.
    depth: usize,
    /// The call or method call the `.await` being walked awaits.
    awaited: Option<*const ()>,
}

impl<'c, 'w> Awaits<'c, 'w> {
    fn of(cx: &'c Context<'w>, body: &Block) -> Self {
        let mut awaits = Awaits {
            cx,
            direct: false,
            nested: None,
            unknown_macro: false,
            blocks_on: false,
            not_awaited: Vec::new(),
            depth: 0,
            awaited: None,
        };
        awaits.visit_block(body);
        awaits.not_awaited.sort();
        awaits.not_awaited.dedup();
        awaits
    }

    fn found(&mut self, start: Span, end: Span) {
        if self.depth == 0 {
            self.direct = true;
        } else {
            self.nested.get_or_insert((start, end));
        }
    }

    fn nested(&mut self, f: impl FnOnce(&mut Self)) {
        self.depth += 1;
        f(self);
        self.depth -= 1;
    }

    fn is_awaited<T>(&self, call: &T) -> bool {
        self.awaited.is_some_and(|a| std::ptr::eq(a, call as *const T as *const ()))
    }
}

impl Visit<'_> for Awaits<'_, '_> {
    fn visit_expr_await(&mut self, e: &syn::ExprAwait) {
        self.found(e.dot_token.span, e.await_token.span);
        let awaited = awaited_call(&e.base);
        let outer = std::mem::replace(&mut self.awaited, awaited);
        self.visit_expr(&e.base);
        self.awaited = outer;
    }
    fn visit_expr_call(&mut self, call: &syn::ExprCall) {
        if let Expr::Path(p) = peel(&call.func) {
            let path = self.cx.resolve(&p.path);
            self.blocks_on |= path.is_in(&self.cx.catalog().executors.block_on);
            if matches!(path.origin, Origin::Crate | Origin::Unknown) && !self.is_awaited(call) {
                self.not_awaited.push(path.last().to_string());
            }
        }
        visit::visit_expr_call(self, call);
    }
    fn visit_expr_method_call(&mut self, call: &syn::ExprMethodCall) {
        let method = call.method.to_string();
        self.blocks_on |= self.cx.catalog().executors.block_on_methods.contains(&method);
        let on_self = matches!(peel(&call.receiver), Expr::Path(p) if p.path.is_ident("self"));
        if on_self && !self.is_awaited(call) {
            self.not_awaited.push(method);
        }
        visit::visit_expr_method_call(self, call);
    }
    fn visit_expr_async(&mut self, e: &syn::ExprAsync) {
        self.nested(|s| visit::visit_expr_async(s, e));
    }
    fn visit_expr_closure(&mut self, e: &syn::ExprClosure) {
        self.nested(|s| visit::visit_expr_closure(s, e));
    }
    /// A nested fn item awaits for itself.
    fn visit_item(&mut self, _: &syn::Item) {}
    fn visit_macro(&mut self, mac: &syn::Macro) {
        let start = mac.path.segments.last().map_or_else(Span::call_site, |s| s.ident.span());
        let end = mac.delimiter.span().close();
        if is_awaiting_macro(mac) {
            self.found(start, end);
        }
        let never_await = &self.cx.catalog().macros.never_await;
        if let Some(exprs) = macros::expressions(mac) {
            exprs.iter().for_each(|expr| self.visit_expr(expr));
        } else if has_await_token(mac.tokens.clone()) {
            self.found(start, end);
        } else if !(macros::is_known(mac) || is_awaiting_macro(mac) || never_await.contains(&macro_name(mac))) {
            // `combine::decode_tokio!(..)` or a crate's own `macro_rules!` may expand to `.await`.
            self.unknown_macro = true;
        }
    }
}

/// `.await` written anywhere in these tokens.
fn has_await_token(tokens: TokenStream) -> bool {
    let mut after_dot = false;
    for tt in tokens {
        match &tt {
            TokenTree::Group(g) if has_await_token(g.stream()) => return true,
            TokenTree::Ident(i) if after_dot && i == "await" => return true,
            _ => {}
        }
        after_dot = matches!(&tt, TokenTree::Punct(p) if p.as_char() == '.');
    }
    false
}
