use syn::Expr;

use super::{Context, Node};
use crate::diagnostic::{Applicability, Edit};
use crate::engine::index::Condition;
use crate::engine::syntax::{ident_in, peel};

declare_rule! {
    /// ## What it does
    /// Flags `block_on(..)` of an executor called inside async code. The entry points are
    /// `futures::executor::block_on`, `pollster::block_on`, `Runtime::block_on`,
    /// `Handle::block_on` and the like, called inside an `async fn`, `async` block or async
    /// closure. Also flags there a call of one of the crate's own sync fns or `self` methods that
    /// calls `block_on`, itself or through other sync fns of the crate, with a note saying where
    /// the `block_on` is.
    ///
    /// ## Why is this bad?
    /// `block_on` parks the current thread until the future completes. Inside async code that
    /// thread is an executor worker: Tokio panics ("Cannot start a runtime from within a
    /// runtime"), and single-threaded executors deadlock because the future being waited for
    /// can never be polled.
    ///
    /// ## Example
    /// ```rust
    /// use futures::executor::block_on;
    ///
    /// async fn handler() {
    ///     let body = block_on(fetch());
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```rust
    /// async fn handler() {
    ///     let body = fetch().await;
    /// }
    /// ```
    ///
    /// ## Fix safety
    /// `block_on(f)` -> `f.await` is unsafe: it changes when `f` runs relative to the code around
    /// it, and can change whether the enclosing future is `Send`. It is not offered inside a plain
    /// closure nested in async code, where `.await` is not allowed.
    ///
    /// ## Known problems
    /// Functions are matched by resolved path and `.block_on(..)` methods by name, not by type, so
    /// a method of the crate's own that is named `block_on` is reported too. A closure passed to
    /// `spawn_blocking`, `block_in_place`, `std::thread::spawn`, `smol::unblock` or to any
    /// `.spawn(..)` / `.spawn_blocking(..)` method, directly or as the value of a block argument,
    /// is not async context and is not checked; a closure first bound to a variable and then
    /// handed over is still checked, and the crate's own thread-spawning wrappers are not known to offload. Code inside
    /// macros other than `select!`, `join!`, `vec!`, the format family and `assert*!` is not
    /// checked.
    ///
    /// The crate's own fns are followed by name, without types, within one crate (`Cargo.toml`):
    /// a call is flagged only if every fn and method of that name in the crate is a sync fn that
    /// blocks, so a name that is also async, does not block, or is a trait method declared
    /// without a body anywhere in the crate is never flagged. Methods are followed only on
    /// `self` (`self.load()`), and a call awaited at once (`self.load().await`) is taken to be
    /// another, async fn; a `self.load()` that reaches another crate's trait method of that name
    /// is still flagged. Calls through fn pointers, trait objects, closures stored in variables
    /// and `Drop` impls are not followed. A sync fn that also runs a `block_on` inside
    /// `block_in_place` or another offload function is taken to know when it is on an executor,
    /// and never counts as blocking.
    id: "block-on-in-async",
    category: Correctness,
    fix: Sometimes,
    tests: Checked,
    nodes: [Call, MethodCall],
    check: check,
}

fn check(node: Node<'_>, cx: &mut Context<'_>) {
    if !cx.in_async() {
        return;
    }
    // Ranges leave out outer attributes (`#[cfg(..)] block_on(f);`), which the fix must keep. A
    // method call is reported from its name on, so that in a chain split over lines the finding
    // is on the `.block_on(..)` line; its fix still replaces the whole call.
    let (name, future, call_range, primary) = match node {
        Node::Call(call) => {
            let Some(path) = cx.callee(call) else { return };
            if !path.is_in(&cx.catalog().executors.block_on) {
                // An awaited call returns a future: not a sync fn.
                if path.may_be_own() && !cx.is_awaited(call) {
                    let range = cx.range(&call.func).start..cx.span_range(call.paren_token.span.close()).end;
                    check_helper_call(cx, path.last(), range);
                }
                return;
            }
            let range = cx.range(&call.func).start..cx.range(call).end;
            (path.joined(), call.args.first(), range.clone(), range)
        }
        Node::MethodCall(call) => {
            if !ident_in(&call.method, &cx.catalog().executors.block_on_methods) {
                // Without types, only `self.method()` is known to call one of the crate's methods.
                let on_self = matches!(peel(&call.receiver), Expr::Path(p) if p.path.is_ident("self"));
                if on_self && !cx.is_awaited(call) {
                    let range = cx.range(&call.method).start..cx.span_range(call.paren_token.span.close()).end;
                    check_helper_call(cx, &call.method.to_string(), range);
                }
                return;
            }
            let range = cx.range(&call.receiver).start..cx.range(call).end;
            let primary = cx.range(&call.method).start..range.end;
            // `LocalSet::block_on(&rt, f)` blocks too, but `f.await` would not run it on the set.
            let future = if call.args.len() == 1 { call.args.first() } else { None };
            (format!(".{}", call.method), future, range, primary)
        }
        _ => return,
    };
    let async_label = cx.async_label();
    // Inside a plain closure nested in async code `.await` does not compile: no fix there.
    let await_fix = future.filter(|_| cx.can_await()).map(|f| format!("{}.await", awaitable_text(cx, f)));
    let mut report = cx
        .report(primary, format!("`{name}` called inside async code"))
        .label("blocks the executor thread until the future completes")
        .help("await the future instead of blocking on it");
    if let Some((range, what)) = async_label {
        report = report.secondary(range, what);
    }
    if let Some(replacement) = await_fix {
        let message = format!("replace with `{replacement}`");
        report.fix(Applicability::Unsafe, message, vec![Edit { range: call_range, replacement }]);
    }
}

/// A call of the crate's own fn or method `name` in async code: flagged if every fn of that name
/// blocks on a future, which only the crate index can tell. Most calls are not, so the finding
/// is kept cheap until then; the index adds the note saying where the `block_on` is.
fn check_helper_call(cx: &mut Context<'_>, name: &str, range: std::ops::Range<usize>) {
    let blocks = Condition::BlocksOn(name.to_string());
    // In a closure passed to the crate's own fn, which may run it on a blocking thread.
    let condition = match cx.async_site().and_then(|site| site.passed_to.clone()) {
        Some(helper) => Condition::All(vec![blocks, Condition::CalleeDoesNotOffload(helper)]),
        None => blocks,
    };
    let async_label = cx.async_label();
    let report = cx
        .report(range, format!("`{name}` blocks on a future and is called inside async code"))
        .label("blocks the executor thread until that future completes")
        .help(format!("make `{name}` async and await the future, or call it on a blocking thread (`spawn_blocking`)"))
        .when(condition);
    if let Some((range, what)) = async_label {
        report.secondary(range, what);
    }
}

/// The future's source, parenthesised if `.await` would bind tighter than it.
fn awaitable_text(cx: &Context<'_>, future: &Expr) -> String {
    let text = cx.text(cx.range(future));
    let needs_parens = !matches!(
        future,
        Expr::Call(_) | Expr::MethodCall(_) | Expr::Path(_) | Expr::Paren(_) | Expr::Field(_) | Expr::Async(_) | Expr::Macro(_) | Expr::Await(_) | Expr::Index(_) | Expr::Try(_) | Expr::Block(_)
    );
    if needs_parens {
        format!("({text})")
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::lint_source;

    fn fixes(source: &str) -> Vec<Option<String>> {
        let report = lint_source(std::path::Path::new("t.rs"), source);
        report.diagnostics.iter().map(|d| d.fix.as_ref().map(|f| f.edits[0].replacement.clone())).collect()
    }

    #[test]
    fn offers_await_only_where_await_compiles() {
        let direct = "async fn f() { futures::executor::block_on(a + b); }";
        assert_eq!(fixes(direct), [Some("(a + b).await".to_string())]);
        let in_closure = "async fn f() { let g = || futures::executor::block_on(a()); }";
        assert_eq!(fixes(in_closure), [None]);
    }
}
