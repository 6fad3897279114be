use syn::Expr;

use super::{Context, Node};
use crate::engine::resolve::Resolved;
use crate::engine::syntax::{discarded_value, peel};

declare_rule! {
    /// ## What it does
    /// Flags a spawned task whose handle is thrown away: `tokio::spawn(..)` (and `task::spawn`,
    /// `spawn_local`, `spawn_blocking`, `async_std::task::spawn`, `smol::spawn`,
    /// `Executor::spawn`, ...) as a statement, as `let _ = ..`, or bound to a name that is never
    /// used.
    ///
    /// ## Why is this bad?
    /// Without its `JoinHandle` nobody learns that the task panicked or failed, and shutdown
    /// cannot wait for it to finish, so its work can be cut off half-way. With smol and
    /// async-executor it is worse: dropping the `Task` handle cancels the task at once.
    ///
    /// ## Example
    /// ```rust
    /// async fn start(queue: Queue) {
    ///     tokio::spawn(async move { queue.drain().await });
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```rust
    /// async fn start(queue: Queue) -> tokio::task::JoinHandle<()> {
    ///     let handle = tokio::spawn(async move { queue.drain().await });
    ///     handle
    /// }
    /// ```
    ///
    /// ## Known problems
    /// A handle that is awaited, returned, stored, passed on, aborted or `.detach()`ed is fine, and
    /// so are `JoinSet::spawn` and `TaskTracker::spawn`. A `.spawn(..)` method is only recognised on
    /// a receiver the file shows to be an executor or runtime (a typed parameter, a
    /// `let rt = Runtime::new()?`, `Handle::current()`), not on a field or a builder chain. Any
    /// later mention of a bound handle counts as a use, even in a closure that never runs. A
    /// handle thrown away as the value of an `if` or `match` statement is not seen. With smol, a
    /// `let _task = ex.spawn(..)` that keeps the task alive until the end of the scope on purpose
    /// is reported as unused. Test code is not checked unless `test-code = "check"`: tests spawn
    /// servers and mocks whose handles they drop on purpose, and the test's runtime cancels them
    /// when the test ends.
    id: "spawn-without-join",
    category: Suspicious,
    fix: Never,
    tests: Relaxed,
    nodes: [Stmt],
    check: check,
}

fn check(node: Node<'_>, cx: &mut Context<'_>) {
    let Node::Stmt { block, index } = node else { return };
    let Some(discarded) = discarded_value(&block.stmts, index, |e| spawner(cx, e)) else { return };
    let (expr, unused) = (discarded.expr, discarded.unused.map(|ident| cx.range(ident)));
    let spawner = discarded.found;
    // From the callee on: outer attributes (`#[cfg(..)] tokio::spawn(f);`) are not the spawn.
    let start = match peel(expr) {
        Expr::Call(call) => cx.range(&call.func).start,
        Expr::MethodCall(call) => cx.range(&call.receiver).start,
        other => cx.range(other).start,
    };
    let range = start..cx.range(peel(expr)).end;
    let cancels_on_drop = spawner.starts_with("smol") || spawner.starts_with("async_executor");
    let help = if cancels_on_drop {
        "keep the `Task` and await it, or call `.detach()` to let it run in the background: a dropped `Task` is cancelled"
    } else {
        "keep the handle and await it (or abort it on shutdown), or spawn into a `JoinSet` / `TaskTracker`"
    };
    let report = cx
        .report(range, format!("the handle of the task spawned by `{spawner}` is discarded"))
        .label("this task's panics and errors are never observed")
        .help(help);
    if let Some(binding) = unused {
        report.secondary(binding, "the handle is bound here and never used");
    }
}

/// The spawner `expr` calls: a spawn function, or `.spawn(..)` on a known executor.
pub fn spawner(cx: &Context<'_>, expr: &Expr) -> Option<String> {
    let executors = &cx.catalog().executors;
    match peel(expr) {
        Expr::Call(call) => cx.callee(call).filter(|p| p.is_in(&executors.spawn)).map(|p| p.joined()),
        Expr::MethodCall(call) if call.method == "spawn" => {
            let receiver = receiver_type(cx, &call.receiver)?;
            executors.spawn_receivers.contains(&receiver.joined()).then(|| format!("{}::spawn", receiver.joined()))
        }
        _ => None,
    }
}

/// The type of `rt` in `rt.spawn(..)` when the file states it, or `Handle` for `Handle::current()`.
fn receiver_type(cx: &Context<'_>, receiver: &Expr) -> Option<Resolved> {
    match peel(receiver) {
        Expr::Path(p) => {
            let name = p.path.get_ident()?.to_string();
            cx.names().binding(&name)?.ty.clone().filter(|t| t.is_external())
        }
        Expr::Call(call) => {
            let mut path = cx.callee(call)?;
            (path.is_external() && path.last() == "current").then(|| {
                path.pop();
                path
            })
        }
        _ => None,
    }
}
