//! Questions about syntax that several rules ask: does this code await, can this loop end, is this
//! name used later. "Own code" means code that runs as part of the expression itself: the bodies of
//! closures, async blocks and nested items run at another time and are not looked into.

use proc_macro2::{TokenStream, TokenTree};
use syn::visit::{self, Visit};
use syn::{Expr, ExprAwait, Lifetime, Local, Macro, Pat, Stmt};

use super::resolve::pat_idents;

/// Macros that await their arguments (`tokio::select!`, `join!`, ...).
pub fn is_awaiting_macro(mac: &Macro) -> bool {
    matches!(macro_name(mac).as_str(), "select" | "select_biased" | "join" | "try_join" | "join_all")
}

pub fn is_select_macro(mac: &Macro) -> bool {
    matches!(macro_name(mac).as_str(), "select" | "select_biased")
}

/// Is `ident` one of `names`? Compared in place: `Ident::to_string` goes through `Display` and
/// allocates, which costs more than going through the catalog's short lists of method names.
pub fn ident_in(ident: &proc_macro2::Ident, names: &rustc_hash::FxHashSet<String>) -> bool {
    names.iter().any(|name| ident == name)
}

pub fn macro_name(mac: &Macro) -> String {
    mac.path.segments.last().map(|s| s.ident.to_string()).unwrap_or_default()
}

/// Strips parentheses and invisible groups.
pub fn peel(mut expr: &Expr) -> &Expr {
    loop {
        match expr {
            Expr::Paren(p) => expr = &p.expr,
            Expr::Group(g) => expr = &g.expr,
            _ => return expr,
        }
    }
}

/// What a piece of own code contains.
#[derive(Default)]
pub struct OwnCode<'a> {
    pub awaits: Vec<&'a ExprAwait>,
    /// Awaiting macros (`select!`, `join!`), which await without a `.await` token.
    pub awaiting_macros: Vec<&'a Macro>,
    pub selects: bool,
    pub returns: bool,
    pub tries: bool,
    /// A `break` (or a labelled `continue`) that leaves the loop whose body this is.
    pub breaks: bool,
    /// Labels of the loops and blocks inside the body: a labelled `break` to any other label
    /// leaves this loop, whether it names this loop or one around it.
    inner_labels: Vec<&'a Lifetime>,
    loop_depth: usize,
}

impl<'a> OwnCode<'a> {
    pub fn of_expr(expr: &'a Expr) -> Self {
        let mut own = OwnCode::default();
        own.visit_expr(expr);
        own
    }

    /// The own code of a loop body; `breaks` tells whether any `break` leaves this loop. The
    /// loop's own label needs no special case: a labelled `break` leaves the loop whenever its
    /// label is not declared inside the body.
    pub fn of_loop_body(body: &'a syn::Block, _label: Option<&'a Lifetime>) -> Self {
        let mut own = OwnCode::default();
        own.visit_block(body);
        own
    }

    pub fn awaits_anything(&self) -> bool {
        !self.awaits.is_empty() || !self.awaiting_macros.is_empty()
    }

    fn nested_loop(&mut self, label: Option<&'a syn::Label>, f: impl FnOnce(&mut Self)) {
        self.loop_depth += 1;
        self.labelled(label, f);
        self.loop_depth -= 1;
    }

    fn labelled(&mut self, label: Option<&'a syn::Label>, f: impl FnOnce(&mut Self)) {
        self.inner_labels.extend(label.map(|l| &l.name));
        f(self);
        if label.is_some() {
            self.inner_labels.pop();
        }
    }

    fn leaves(&self, label: Option<&Lifetime>) -> bool {
        match label {
            Some(label) => !self.inner_labels.iter().any(|l| l.ident == label.ident),
            None => self.loop_depth == 0,
        }
    }
}

impl<'a> Visit<'a> for OwnCode<'a> {
    fn visit_expr_await(&mut self, e: &'a ExprAwait) {
        self.awaits.push(e);
        visit::visit_expr_await(self, e);
    }
    fn visit_expr_return(&mut self, e: &'a syn::ExprReturn) {
        self.returns = true;
        visit::visit_expr_return(self, e);
    }
    fn visit_expr_try(&mut self, e: &'a syn::ExprTry) {
        self.tries = true;
        visit::visit_expr_try(self, e);
    }
    fn visit_expr_break(&mut self, e: &'a syn::ExprBreak) {
        self.breaks |= self.leaves(e.label.as_ref());
        visit::visit_expr_break(self, e);
    }
    fn visit_expr_continue(&mut self, e: &'a syn::ExprContinue) {
        // `continue 'outer` leaves this loop too; a plain `continue` stays in it.
        self.breaks |= e.label.is_some() && self.leaves(e.label.as_ref());
    }
    fn visit_expr_loop(&mut self, e: &'a syn::ExprLoop) {
        self.nested_loop(e.label.as_ref(), |s| visit::visit_expr_loop(s, e));
    }
    fn visit_expr_while(&mut self, e: &'a syn::ExprWhile) {
        self.nested_loop(e.label.as_ref(), |s| visit::visit_expr_while(s, e));
    }
    fn visit_expr_for_loop(&mut self, e: &'a syn::ExprForLoop) {
        self.nested_loop(e.label.as_ref(), |s| visit::visit_expr_for_loop(s, e));
    }
    fn visit_expr_block(&mut self, e: &'a syn::ExprBlock) {
        self.labelled(e.label.as_ref(), |s| visit::visit_expr_block(s, e));
    }
    fn visit_expr_call(&mut self, e: &'a syn::ExprCall) {
        if let Expr::Path(p) = peel(&e.func) {
            let last = p.path.segments.last().map(|s| s.ident.to_string());
            self.selects |= matches!(last.as_deref(), Some("select" | "select_biased"));
        }
        visit::visit_expr_call(self, e);
    }
    fn visit_macro(&mut self, mac: &'a Macro) {
        if is_awaiting_macro(mac) {
            self.awaiting_macros.push(mac);
            self.selects |= is_select_macro(mac);
        }
        // A `break` or `return` written inside a macro still leaves the loop.
        let mut found = (false, false);
        scan_tokens(mac.tokens.clone(), &mut |tt| {
            if let TokenTree::Ident(i) = tt {
                found.0 |= i == "break";
                found.1 |= i == "return";
            }
        });
        self.breaks |= found.0 && self.loop_depth == 0;
        self.returns |= found.1;
    }
    fn visit_expr_closure(&mut self, _: &'a syn::ExprClosure) {}
    fn visit_expr_async(&mut self, _: &'a syn::ExprAsync) {}
    fn visit_item(&mut self, _: &'a syn::Item) {}
}

/// Calls `f` on every identifier in `tokens`, at any depth: a cheap test before parsing a
/// macro's arguments to look for something named.
pub fn for_each_ident(tokens: &TokenStream, mut f: impl FnMut(&proc_macro2::Ident)) {
    scan_tokens(tokens.clone(), &mut |tt| {
        if let TokenTree::Ident(ident) = tt {
            f(ident);
        }
    });
}

fn scan_tokens(tokens: TokenStream, f: &mut impl FnMut(&TokenTree)) {
    for tt in tokens {
        if let TokenTree::Group(g) = &tt {
            scan_tokens(g.stream(), f);
        }
        f(&tt);
    }
}

/// The call or method call a `.await` awaits directly, as an identity to compare nodes by
/// (`ExprCall` / `ExprMethodCall` address), or `None` when it awaits something else.
pub fn awaited_call(base: &Expr) -> Option<*const ()> {
    match peel(base) {
        Expr::Call(call) => Some(call as *const syn::ExprCall as *const ()),
        Expr::MethodCall(call) => Some(call as *const syn::ExprMethodCall as *const ()),
        _ => None,
    }
}

/// A value a statement throws away.
pub struct Discarded<'a, T> {
    pub expr: &'a Expr,
    /// The `let` it was bound by, if any (`let _ = ..`, `let x = ..`).
    pub local: Option<&'a Local>,
    /// The name it was bound to and that nothing after uses.
    pub unused: Option<&'a proc_macro2::Ident>,
    /// What `wanted` found in `expr`.
    pub found: T,
}

/// `expr;`, `_ = expr;`, `let _ = expr;` (also typed), or `let x = expr;` with `x` never used by
/// the statements after it in the block, for an `expr` in which `wanted` finds something (asked
/// first: the search for later uses is the expensive part, and most statements are not wanted).
pub fn discarded_value<'a, T>(
    stmts: &'a [Stmt],
    index: usize,
    wanted: impl FnOnce(&'a Expr) -> Option<T>,
) -> Option<Discarded<'a, T>> {
    match &stmts[index] {
        Stmt::Expr(Expr::Assign(assign), Some(_)) if matches!(peel(&assign.left), Expr::Infer(_)) => {
            let found = wanted(&assign.right)?;
            Some(Discarded { expr: &assign.right, local: None, unused: None, found })
        }
        Stmt::Expr(expr, Some(_)) => Some(Discarded { expr, local: None, unused: None, found: wanted(expr)? }),
        Stmt::Local(local) => {
            let init = local.init.as_ref().filter(|i| i.diverge.is_none())?;
            let pat = match &local.pat {
                Pat::Type(typed) => &*typed.pat,
                pat => pat,
            };
            // Only these patterns can discard: anything else is rejected before `wanted` is asked.
            let bound = match pat {
                Pat::Wild(_) => None,
                Pat::Ident(p) if p.subpat.is_none() => Some(&p.ident),
                _ => return None,
            };
            let found = wanted(&init.expr)?;
            let unused = match bound {
                None => None,
                Some(ident) if !used_later(&stmts[index + 1..], &ident.to_string()) => Some(ident),
                Some(_) => return None,
            };
            Some(Discarded { expr: &init.expr, local: Some(local), unused, found })
        }
        _ => None,
    }
}

/// Is the binding `name` used by `stmts`? A later `let` that binds the same name again ends the
/// search (after its initialiser, which may still use the old binding); anything else is
/// conservative: any mention counts as a use.
pub fn used_later(stmts: &[Stmt], name: &str) -> bool {
    for stmt in stmts {
        if let Stmt::Local(local) = stmt {
            let mut bound = Vec::new();
            pat_idents(&local.pat, &mut bound);
            if bound.iter().any(|b| b == name) {
                return local.init.as_ref().is_some_and(|init| {
                    expr_mentions(&init.expr, name)
                        || init.diverge.as_ref().is_some_and(|(_, d)| expr_mentions(d, name))
                });
            }
        }
        if mentions(std::slice::from_ref(stmt), name) {
            return true;
        }
    }
    false
}

/// Is `name` mentioned anywhere in `stmts` (as an identifier, inside macros, or as an inline
/// format argument such as `"{name}"`)? Conservative: any mention counts as a use.
pub fn mentions(stmts: &[Stmt], name: &str) -> bool {
    let mut finder = Mentions { name, found: false };
    for stmt in stmts {
        finder.visit_stmt(stmt);
        if finder.found {
            return true;
        }
    }
    false
}

pub fn expr_mentions(expr: &Expr, name: &str) -> bool {
    let mut finder = Mentions { name, found: false };
    finder.visit_expr(expr);
    finder.found
}

struct Mentions<'n> {
    name: &'n str,
    found: bool,
}

impl Visit<'_> for Mentions<'_> {
    fn visit_ident(&mut self, ident: &proc_macro2::Ident) {
        self.found |= ident == self.name;
    }
    fn visit_macro(&mut self, mac: &Macro) {
        visit::visit_macro(self, mac);
        let name = self.name;
        let mut found = false;
        scan_tokens(mac.tokens.clone(), &mut |tt| match tt {
            TokenTree::Ident(i) => found |= i == name,
            TokenTree::Literal(lit) => found |= format_string_mentions(&lit.to_string(), name),
            _ => {}
        });
        self.found |= found;
    }
}

/// `"{name}"`, `"{name:?}"`: inline format arguments name a variable inside a string.
fn format_string_mentions(literal: &str, name: &str) -> bool {
    literal.match_indices(name).any(|(i, _)| {
        let before = literal[..i].chars().next_back();
        let after = literal[i + name.len()..].chars().next();
        before == Some('{') && matches!(after, Some('}' | ':'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(src: &str) -> syn::Block {
        syn::parse_str(src).unwrap()
    }

    #[test]
    fn loop_exits_see_only_breaks_that_leave_this_loop() {
        let b = block("{ for x in y { break; } inner.await; }");
        let own = OwnCode::of_loop_body(&b, None);
        assert!(!own.breaks);
        assert_eq!(own.awaits.len(), 1);
        let label: syn::Lifetime = syn::parse_str("'outer").unwrap();
        let b = block("{ for x in y { break 'outer; } }");
        assert!(OwnCode::of_loop_body(&b, Some(&label)).breaks);
        let b = block("{ for x in y { continue 'outer; } }");
        assert!(OwnCode::of_loop_body(&b, Some(&label)).breaks);
        // `'top` is a loop around this one: breaking out of it leaves this loop too.
        let b = block("{ loop { if x.await { break 'top; } } }");
        assert!(OwnCode::of_loop_body(&b, None).breaks);
        let b = block("{ 'inner: for x in y { break 'inner; } 'blk: { break 'blk; } for x in y { continue; } }");
        assert!(!OwnCode::of_loop_body(&b, Some(&label)).breaks);
        let b = block("{ let f = || { return 1; }; async { x.await }; }");
        let own = OwnCode::of_loop_body(&b, None);
        assert!(!own.returns && own.awaits.is_empty());
        let b = block("{ tokio::select! { _ = a => break, } }");
        let own = OwnCode::of_loop_body(&b, None);
        assert!(own.breaks && own.selects && own.awaits_anything());
    }

    #[test]
    fn mentions_finds_macro_and_inline_format_uses() {
        assert!(mentions(&block("{ println!(\"{h:?}\"); }").stmts, "h"));
        assert!(mentions(&block("{ foo(h); }").stmts, "h"));
        assert!(mentions(&block("{ dbg!(h); }").stmts, "h"));
        assert!(!mentions(&block("{ println!(\"{hh}\"); foo(hx); }").stmts, "h"));
    }
}
