use syn::{Expr, Pat, Stmt};

use super::{Context, Node};
use crate::engine::resolve::{pat_idents, Resolved};
use crate::engine::syntax::{expr_mentions, mentions, peel};

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
    /// is reported as unused.
    id: "spawn-without-join",
    category: Suspicious,
    fix: Never,
    check: check,
}

fn check(node: Node<'_>, cx: &mut Context<'_>) {
    let Node::Stmt { block, index } = node else { return };
    let (expr, unused) = match &block.stmts[index] {
        // `_ = tokio::spawn(..);` discards it as surely as `let _ =`.
        Stmt::Expr(Expr::Assign(assign), Some(_)) if matches!(peel(&assign.left), Expr::Infer(_)) => {
            (&*assign.right, None)
        }
        Stmt::Expr(expr, Some(_)) => (expr, None),
        Stmt::Local(local) => {
            let Some(init) = local.init.as_ref().filter(|i| i.diverge.is_none()) else { return };
            let pat = match &local.pat {
                Pat::Type(typed) => &*typed.pat,
                pat => pat,
            };
            match pat {
                Pat::Wild(_) => (&*init.expr, None),
                Pat::Ident(p) if p.subpat.is_none() && !used_later(&block.stmts[index + 1..], &p.ident.to_string()) => {
                    (&*init.expr, Some(cx.range(&p.ident)))
                }
                _ => return,
            }
        }
        _ => return,
    };
    let Some(spawner) = spawner(cx, expr) else { return };
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

/// Is the binding `name` used by `stmts`? A later `let` that binds the same name again ends the
/// search (after its initialiser, which may still use the old binding); anything else is
/// conservative: any mention counts as a use.
fn used_later(stmts: &[Stmt], name: &str) -> bool {
    for stmt in stmts {
        if let Stmt::Local(local) = stmt {
            let mut bound = Vec::new();
            pat_idents(&local.pat, &mut bound);
            if bound.iter().any(|b| b == name) {
                return local.init.as_ref().is_some_and(|init| {
                    expr_mentions(&init.expr, name) || init.diverge.as_ref().is_some_and(|(_, d)| expr_mentions(d, name))
                });
            }
        }
        if mentions(std::slice::from_ref(stmt), name) {
            return true;
        }
    }
    false
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
                path.segments.pop();
                path
            })
        }
        _ => None,
    }
}
